//! Behaviour of `parse`, `load` and `load_all` on whole files, by topic. Each validation
//! test pins the exact `file:line:col: key:` prefix, since pointing at the right place is
//! the point. Shared fixtures and helpers are here.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;

mod files;
mod fuzz;
mod guardrails;
mod regions;
mod syntax;
mod values;

/// The documented example file; it must load unchanged.
pub(super) const EXAMPLE: &str = r#"project: acme-sre-staging
region: us-central1
service:
  name: autosre
  image: us-docker.pkg.dev/acme-sre-staging/autosre/autosre:2026.11.28
  service_account: autosre-run@acme-sre-staging.iam.gserviceaccount.com  # optional
  cpu: "4"
  memory: 16Gi
  timeout: 300s
  concurrency: 80
  min_instances: 0
  max_instances: 10
  allow_unauthenticated: false
  env:
    LOG_FORMAT: JSON
    LOG_LEVEL: INFO
    STRICT_EUC_ENFORCEMENT: "true"
  secrets:                      # ENV_NAME: secret[:version]; version defaults to latest;
    GOOGLE_API_KEY: gemini-api-key:latest          # projects/P/secrets/S[:version] also allowed
    GOOGLE_CLIENT_ID: google-client-id:latest
    SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key:latest
encryption_key:                 # defaults shown; the deploy refuses to run without it
  secret: sre-agent-encryption-key
  env: SRE_AGENT_ENCRYPTION_KEY
iam:
  project_roles: [roles/cloudtrace.agent, roles/logging.logWriter, roles/monitoring.metricWriter]
  secret_access: per-secret     # per-secret (default, least privilege) | project
  service_account_users:        # get roles/iam.serviceAccountUser on the runtime account
    - serviceAccount:service-{project_number}@gcp-sa-aiplatform.iam.gserviceaccount.com
"#;

pub(super) const SOURCE: &str = "config/prod.yaml";

pub(super) fn parse_text(text: &str) -> Result<Environment, ConfigError> {
    parse(Path::new(SOURCE), "prod", text)
}

/// The example with `from` replaced by `to` (exactly one occurrence).
pub(super) fn example_with(from: &str, to: &str) -> String {
    assert_eq!(EXAMPLE.matches(from).count(), 1, "`{from}` must occur once");
    EXAMPLE.replace(from, to)
}

/// `Display` and hint of the error `text` produces.
pub(super) fn error_of(text: &str) -> (String, String) {
    match parse_text(text) {
        Ok(env) => panic!("expected an error, got {env:#?}"),
        Err(e) => (e.to_string(), e.hint().unwrap_or_default().to_owned()),
    }
}

pub(super) fn assert_error(text: &str, display: &str, hint_contains: &str) {
    let (shown, hint) = error_of(text);
    assert_eq!(shown, display);
    assert!(
        hint.contains(hint_contains),
        "hint `{hint}` does not contain `{hint_contains}`"
    );
}

pub(super) fn map<V: Clone>(pairs: &[(&str, V)]) -> BTreeMap<String, V> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// Parses a typed value in a test.
pub(super) fn p<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().unwrap()
}

pub(super) fn secret(name: &str, version: &str) -> SecretRef {
    SecretRef {
        project: None,
        secret: name.to_owned(),
        version: version.to_owned(),
    }
}
