//! `service.secrets` values: which Secret Manager secret version feeds an env var.
//!
//! Two spellings, both with an optional `:version` (default `latest`; a number, or a version
//! alias, which the deploy resolves to the number it names unless pinning is off):
//!
//! - `NAME[:VERSION]`: a secret in the environment's own project;
//! - `projects/PROJECT/secrets/NAME[:VERSION]`: a secret in any project (id or number).
//!
//! This is gcloud's `--set-secrets` value syntax, so a line can be copied between the two.

use super::validate::{self, InvalidValue};

/// A parsed secret reference.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct SecretRef {
    /// `Some` only for the `projects/P/secrets/S` form; `None` means the environment's project.
    pub(crate) project: Option<String>,
    /// Secret id: `[A-Za-z0-9_-]{1,255}`.
    pub(crate) secret: String,
    /// `latest`, a positive integer as text, or a version alias (`Secret.versionAliases`).
    pub(crate) version: String,
}

impl SecretRef {
    /// The reference as a user would write it, version always explicit:
    /// `name:version` or `projects/P/secrets/S:version`.
    pub(crate) fn display(&self) -> String {
        match &self.project {
            Some(project) => format!(
                "projects/{project}/secrets/{}:{}",
                self.secret, self.version
            ),
            None => format!("{}:{}", self.secret, self.version),
        }
    }

    /// Parses either spelling; the error says what is wrong and how to write it instead.
    pub(crate) fn parse(text: &str) -> Result<SecretRef, InvalidValue> {
        let text = text.trim();
        if text.is_empty() {
            return Err(InvalidValue::new(
                "empty secret reference",
                "write the secret's name, optionally with a version: `my-secret` or `my-secret:3`",
            ));
        }
        if let Some(rest) = text.strip_prefix("projects/") {
            return parse_full(text, rest);
        }
        if text.contains('/') {
            return Err(InvalidValue::new(
                format!("malformed secret reference `{text}`"),
                "write `name[:version]`, or `projects/PROJECT/secrets/NAME[:version]` for a \
                 secret in another project",
            ));
        }
        let (secret, version) = split_version(text)?;
        validate::secret_id(secret)?;
        Ok(SecretRef {
            project: None,
            secret: secret.to_owned(),
            version,
        })
    }
}

/// `projects/P/secrets/S[:V]`, with `rest` = everything after `projects/`.
fn parse_full(text: &str, rest: &str) -> Result<SecretRef, InvalidValue> {
    let incomplete = || {
        InvalidValue::new(
            format!("incomplete secret reference `{text}`"),
            "the full form is `projects/PROJECT/secrets/NAME[:version]`, e.g. \
             `projects/acme-shared/secrets/gemini-api-key:latest`",
        )
    };
    let (path, version) = split_version(rest)?;
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        [project, "secrets", secret] if !project.is_empty() && !secret.is_empty() => {
            // Syntax only (lowercase letters, digits, hyphens): a project id or number.
            // Length rules are left to Secret Manager so short fixture names keep working.
            let project_ok = project
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !project_ok {
                return Err(InvalidValue::new(
                    format!("invalid project `{project}` in secret reference `{text}`"),
                    "use the project id (lowercase letters, digits, hyphens) or the project \
                     number",
                ));
            }
            validate::secret_id(secret)?;
            Ok(SecretRef {
                project: Some((*project).to_owned()),
                secret: (*secret).to_owned(),
                version,
            })
        }
        // Regional secrets (Secret Manager's `locations` resources) have their own endpoint
        // per location and cannot be read by Cloud Run's `secretKeyRef`, which takes
        // `projects/P/secrets/S` (run.v2 SecretKeySelector); not supported yet.
        [project, "locations", location, "secrets", secret, ..] => Err(InvalidValue::new(
            format!("regional secrets are not supported yet: `{text}`"),
            format!(
                "use a global secret (automatic or user-managed replication), e.g. \
                 `projects/{project}/secrets/{secret}`, with user-managed replication in \
                 `{location}` if its data must stay there"
            ),
        )),
        [project, "secrets", secret, "versions", v] => Err(InvalidValue::new(
            format!("secret version resource names are not accepted here: `{text}`"),
            format!("write `projects/{project}/secrets/{secret}:{v}`"),
        )),
        _ => Err(incomplete()),
    }
}

/// Splits `x:version`; no colon means `latest`.
fn split_version(text: &str) -> Result<(&str, String), InvalidValue> {
    let mut parts = text.split(':');
    let name = parts.next().unwrap_or_default();
    let version = parts.next();
    if parts.next().is_some() {
        return Err(InvalidValue::new(
            format!("malformed secret reference `{text}`: more than one `:`"),
            "write `name` or `name:version`, where version is `latest`, a number like `3` or an alias",
        ));
    }
    if name.is_empty() {
        return Err(InvalidValue::new(
            format!("secret reference `{text}` has no secret name"),
            "write `name` or `name:version`",
        ));
    }
    let version = match version {
        None => "latest".to_owned(),
        Some(v) => {
            validate::secret_version(v)?;
            v.to_owned()
        }
    };
    Ok((name, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> SecretRef {
        SecretRef::parse(text).unwrap_or_else(|e| panic!("{text}: {}", e.message()))
    }

    fn err(text: &str) -> String {
        match SecretRef::parse(text) {
            Ok(r) => panic!("{text} parsed as {r:?}"),
            Err(e) => e.message().to_owned(),
        }
    }

    #[test]
    fn regional_secrets_are_refused_by_name() {
        for text in [
            "projects/p/locations/us-central1/secrets/key",
            "projects/p/locations/us-central1/secrets/key:3",
        ] {
            let message = err(text);
            assert!(
                message.contains("regional secrets are not supported yet"),
                "{message}"
            );
        }
    }

    #[test]
    fn short_forms_default_to_latest() {
        let r = ok("gemini-api-key");
        assert_eq!(
            (r.project, r.secret.as_str(), r.version.as_str()),
            (None, "gemini-api-key", "latest")
        );
        assert_eq!(ok("name:3").version, "3");
        assert_eq!(ok("name:latest").version, "latest");
        // A version alias (Secret.versionAliases), resolved at deploy time.
        assert_eq!(ok("name:current").version, "current");
        assert_eq!(ok("projects/p/secrets/s:blue_2").version, "blue_2");
        assert_eq!(ok("name").display(), "name:latest");
    }

    #[test]
    fn full_form_keeps_the_project() {
        let r = ok("projects/p/secrets/s:2");
        assert_eq!(r.project.as_deref(), Some("p"));
        assert_eq!((r.secret.as_str(), r.version.as_str()), ("s", "2"));
        assert_eq!(r.display(), "projects/p/secrets/s:2");
        assert_eq!(ok("projects/123456789012/secrets/s").version, "latest");
    }

    #[test]
    fn malformed_references_are_rejected() {
        assert!(err("a:b:c").contains("more than one `:`"));
        assert!(err("").contains("empty"));
        assert!(err("projects/P/secrets/").contains("incomplete"));
        assert!(err("projects/acme-prod/secrets").contains("incomplete"));
        assert!(err("name:0").contains("version"));
        assert!(err("name:1v").contains("version"));
        assert!(err("name:NEW").contains("version"));
        assert!(err("name:-x").contains("version"));
        assert!(err("name:01").contains("version"));
        assert!(err("bad.name").contains("secret id"));
        assert!(err(&"x".repeat(256)).contains("secret id"));
        assert!(err(":3").contains("no secret name"));
        assert!(err("projects/acme-prod/secrets/s/versions/2").contains("not accepted"));
    }
}
