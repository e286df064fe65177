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

/// True when the environment variable `name` looks like it holds a credential: its value is
/// never shown, and it may be a plain value only when explicitly allowed.
pub fn is_sensitive_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let last = upper.rsplit('_').next().unwrap_or("");
    LAST_WORDS.contains(&last) || ANYWHERE.iter().any(|m| upper.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

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
