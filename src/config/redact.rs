//! Which `service.env` values must never be echoed.
//!
//! Plain env values are configuration, not secrets (secrets go through `service.secrets`), but
//! people do paste keys into them. So an error about an env value never shows the value when
//! the variable's name looks secret-like; it shows `<redacted>` instead. Over-matching is
//! harmless (a message shows less), so the test is a generous substring match on the
//! upper-cased name.

/// What a redacted value is printed as.
pub(super) const REDACTED: &str = "<redacted>";

/// Name fragments that mark a variable as secret-like: `…KEY`, `…TOKEN`, `…SECRET`,
/// `…PASSWORD` as the brief asks, plus close relatives.
const SECRET_MARKERS: &[&str] = &[
    "KEY",
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "CREDENTIAL",
    "PRIVATE",
];

/// True when values of the variable `name` must not appear in messages.
pub(crate) fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_MARKERS.iter().any(|m| upper.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_like_names_are_recognised() {
        for name in [
            "GOOGLE_API_KEY",
            "github_token",
            "DB_PASSWORD",
            "CLIENT_SECRET",
            "SRE_AGENT_ENCRYPTION_KEY",
        ] {
            assert!(looks_secret(name), "{name}");
        }
        for name in ["LOG_LEVEL", "LOG_FORMAT", "STRICT_EUC_ENFORCEMENT"] {
            assert!(!looks_secret(name), "{name}");
        }
    }
}
