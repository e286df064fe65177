//! The credential-name rule: which environment variable names look like they hold a secret.
//!
//! One rule, used twice. The `service.env` guardrail refuses a plain variable with such a name
//! unless `service.plain_env_allow` lists it (a credential belongs in `service.secrets`), and
//! every message and plan redacts the values of such variables: an error about an env value
//! never shows the value, it shows `<redacted>`.
//!
//! The rule (on the upper-cased name): the last `_`-separated word is `KEY`, `TOKEN` or
//! `APIKEY` (`GOOGLE_API_KEY`, `GITHUB_TOKEN`), or the name contains `PASSWORD`, `PASSWD`,
//! `CREDENTIAL`, `SECRET` or `PRIVATE_KEY` anywhere (`CLIENT_SECRET`, `DB_PASSWORD_FILE`,
//! `GOOGLE_APPLICATION_CREDENTIALS`, `SECRET_KEY_BASE`). Whole words,
//! not substrings, for `KEY` and `TOKEN`, so `KEYBOARD_LAYOUT` and `MONKEY_MODE` stay plain.

/// What a redacted value is printed as.
pub(super) const REDACTED: &str = "<redacted>";

/// Last words that mark a credential: `*_KEY`, `*_TOKEN`, `*_APIKEY`. (A last word that is one
/// of [`ANYWHERE`], such as `*_SECRET`, is caught there.)
const LAST_WORDS: &[&str] = &["KEY", "TOKEN", "APIKEY"];

/// Fragments that mark a credential wherever they appear: `*PASSWORD*`, `*CREDENTIALS*`, ...
const ANYWHERE: &[&str] = &["PASSWORD", "PASSWD", "CREDENTIAL", "SECRET", "PRIVATE_KEY"];

/// `value` with the userinfo of every URL in it (`postgres://app:PASSWORD@db/x`,
/// `https://TOKEN@host/`) replaced by `<redacted>`, whatever the variable's name: a URL
/// carries its credentials in that part (RFC 3986, section 3.2.1). The rest of the URL stays,
/// so a reviewer still sees which host and database a value points at.
pub(crate) fn redact_url_userinfo(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.contains("://") || !value.contains('@') {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // The authority ends at the path, query or fragment (or a space or comma between
        // several URLs in one value).
        let end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#' | ',' | ';') || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) if at > 0 => {
                out.push_str(REDACTED);
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// True when the environment variable `name` looks like it holds a credential: its value is
/// never shown, and it may be a plain value only when explicitly allowed.
pub(crate) fn is_sensitive_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let last = upper.rsplit('_').next().unwrap_or("");
    LAST_WORDS.contains(&last) || ANYWHERE.iter().any(|m| upper.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_userinfo_is_redacted_whatever_the_name() {
        for (value, shown) in [
            ("postgres://app:PASSWORD@db/x", "postgres://<redacted>@db/x"),
            (
                "https://TOKEN@github.com/o/r.git",
                "https://<redacted>@github.com/o/r.git",
            ),
            (
                "redis://:pw@a:6379,redis://u:pw@b:6379",
                "redis://<redacted>@a:6379,redis://<redacted>@b:6379",
            ),
            ("https://example.com/a@b", "https://example.com/a@b"),
            ("user@example.com", "user@example.com"),
            ("plain", "plain"),
        ] {
            assert_eq!(redact_url_userinfo(value), shown, "{value}");
        }
    }

    #[test]
    fn credential_names_are_recognised() {
        for name in [
            "GOOGLE_API_KEY",
            "github_token",
            "DB_PASSWORD",
            "CLIENT_SECRET",
            "SRE_AGENT_ENCRYPTION_KEY",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "SECRET_KEY_BASE",
            "SMTP_PASSWORD_FILE",
            "KEY",
            "STRIPE_APIKEY",
            "SSH_PRIVATE_KEY_PEM",
        ] {
            assert!(is_sensitive_name(name), "{name}");
        }
        for name in [
            "LOG_LEVEL",
            "LOG_FORMAT",
            "STRICT_EUC_ENFORCEMENT",
            "KEYBOARD_LAYOUT",
            "MONKEY_MODE",
            "TOKENIZER_MODEL",
            "GOOGLE_CLIENT_ID",
            "USE_ARIZE",
        ] {
            assert!(!is_sensitive_name(name), "{name}");
        }
    }
}
