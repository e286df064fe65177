//! Typed values of an environment file, each parsed once with the checks in `validate.rs`.
//!
//! A value of one of these types is valid by construction, so code downstream never re-checks
//! syntax. They compare by value, print as written, serialize as plain strings and deref to
//! `&str` for the places that only need the text (request paths, messages). The Cloud Run
//! quantities (CPU, memory, timeout) are in the `autosre-types` crate, shared with the emulator.

use std::fmt;
use std::str::FromStr;

use super::validate::{self, InvalidValue};

macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
        #[serde(transparent)]
        pub(crate) struct $name(String);

        impl FromStr for $name {
            type Err = InvalidValue;

            fn from_str(s: &str) -> Result<Self, InvalidValue> {
                let check: fn(&str) -> Result<(), InvalidValue> = $check;
                check(s)?;
                Ok($name(s.to_owned()))
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

text_value!(
    /// A Google Cloud project id: `acme-sre-staging` (6-30 lowercase letters, digits, hyphens).
    ProjectId,
    validate::project_id
);
text_value!(
    /// A Cloud Run region: `us-central1`.
    Region,
    validate::region
);
text_value!(
    /// A Cloud Run service name: lowercase letters, digits and hyphens, at most 49 characters.
    ServiceName,
    validate::service_name
);
text_value!(
    /// A container image reference: `[REGISTRY/]PATH[:TAG][@DIGEST]`. Use [`parse_image`] to
    /// check an `--image` flag with the same rule as `service.image`.
    ImageRef,
    validate::image
);
text_value!(
    /// An IAM role: `roles/run.invoker`, `projects/P/roles/R` or `organizations/N/roles/R`.
    Role,
    validate::role
);
text_value!(
    /// An IAM member: `user:`, `serviceAccount:`, `group:`, `domain:`, `principal://`,
    /// `principalSet://`, `allUsers` or `allAuthenticatedUsers`. May hold the
    /// `{project_number}` placeholder, which the plan substitutes.
    Member,
    validate::member
);

/// Parses a container image reference with the rule `service.image` uses, so the CLI's
/// `--image` is checked the same way (an empty value is an error).
pub(crate) fn parse_image(s: &str) -> Result<ImageRef, InvalidValue> {
    s.parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_compare_by_text_and_deref_to_str() {
        let a: ProjectId = "acme-sre-prod".parse().unwrap();
        assert_eq!(a, "acme-sre-prod");
        assert_eq!(a.len(), "acme-sre-prod".len());
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"acme-sre-prod\"");
        assert!("Acme".parse::<ProjectId>().is_err());
    }

    #[test]
    fn broad_members() {
        for broad in ["allUsers", "allAuthenticatedUsers", "domain:example.com"] {
            assert!(validate::is_broad_member(broad), "{broad}");
        }
        assert!(!validate::is_broad_member("user:alice@example.com"));
    }

    #[test]
    fn image_flag_uses_the_config_rule() {
        assert!(parse_image("").is_err());
        assert!(parse_image("us-docker.pkg.dev/p/r/i:1").is_ok());
    }
}
