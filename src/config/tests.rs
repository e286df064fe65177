//! Behaviour of `parse`, `load` and `load_all` on whole files. Each validation test pins the
//! exact `file:line:col: key:` prefix, since pointing at the right place is the point.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::*;

/// The documented example file; it must load unchanged.
const EXAMPLE: &str = r#"project: acme-sre-staging
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

const SOURCE: &str = "config/prod.yaml";

fn parse_text(text: &str) -> Result<Environment, ConfigError> {
    parse(Path::new(SOURCE), "prod", text)
}

/// The example with `from` replaced by `to` (exactly one occurrence).
fn example_with(from: &str, to: &str) -> String {
    assert_eq!(EXAMPLE.matches(from).count(), 1, "`{from}` must occur once");
    EXAMPLE.replace(from, to)
}

/// `Display` and hint of the error `text` produces.
fn error_of(text: &str) -> (String, String) {
    match parse_text(text) {
        Ok(env) => panic!("expected an error, got {env:#?}"),
        Err(e) => (e.to_string(), e.hint().unwrap_or_default().to_owned()),
    }
}

fn assert_error(text: &str, display: &str, hint_contains: &str) {
    let (shown, hint) = error_of(text);
    assert_eq!(shown, display);
    assert!(
        hint.contains(hint_contains),
        "hint `{hint}` does not contain `{hint_contains}`"
    );
}

fn map<V: Clone>(pairs: &[(&str, V)]) -> BTreeMap<String, V> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// Parses a typed value in a test.
fn p<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().unwrap()
}

fn secret(name: &str, version: &str) -> SecretRef {
    SecretRef {
        project: None,
        secret: name.to_owned(),
        version: version.to_owned(),
    }
}

#[test]
fn example_file_loads_unchanged() {
    let env = parse_text(EXAMPLE).unwrap_or_else(|e| panic!("{e}\nhint: {:?}", e.hint()));
    let expected = Environment {
        name: "prod".to_owned(),
        source: PathBuf::from(SOURCE),
        project: p("acme-sre-staging"),
        region: p("us-central1"),
        production: false,
        service: ServiceSpec {
            name: p("autosre"),
            image: Some(p(
                "us-docker.pkg.dev/acme-sre-staging/autosre/autosre:2026.11.28",
            )),
            service_account: Some(
                "autosre-run@acme-sre-staging.iam.gserviceaccount.com".to_owned(),
            ),
            cpu: p("4"),
            memory: p("16Gi"),
            timeout: p("300s"),
            concurrency: 80,
            min_instances: 0,
            max_instances: 10,
            allow_unauthenticated: false,
            public_ack: None,
            plain_env_allow: vec![],
            pin_secret_versions: true,
            env: map(&[
                ("LOG_FORMAT", "JSON".to_owned()),
                ("LOG_LEVEL", "INFO".to_owned()),
                ("STRICT_EUC_ENFORCEMENT", "true".to_owned()),
            ]),
            secrets: map(&[
                ("GOOGLE_API_KEY", secret("gemini-api-key", "latest")),
                ("GOOGLE_CLIENT_ID", secret("google-client-id", "latest")),
                (
                    "SRE_AGENT_ENCRYPTION_KEY",
                    secret("sre-agent-encryption-key", "latest"),
                ),
            ]),
        },
        encryption_key: EncryptionKey {
            secret: "sre-agent-encryption-key".to_owned(),
            env: "SRE_AGENT_ENCRYPTION_KEY".to_owned(),
        },
        iam: IamSpec {
            project_roles: vec![
                p("roles/cloudtrace.agent"),
                p("roles/logging.logWriter"),
                p("roles/monitoring.metricWriter"),
            ],
            secret_access: SecretAccess::PerSecret,
            service_account_users: vec![p(
                "serviceAccount:service-{project_number}@gcp-sa-aiplatform.iam.gserviceaccount.com",
            )],
        },
    };
    assert_eq!(env, expected);
    assert_eq!(env.encryption_key_wiring(), KeyWiring::Wired);
}

#[test]
fn defaults_fill_a_minimal_file() {
    let env = parse_text("project: acme-sre-prod\n").unwrap();
    let expected = Environment {
        name: "prod".to_owned(),
        source: PathBuf::from(SOURCE),
        project: p("acme-sre-prod"),
        region: p("us-central1"),
        production: false,
        service: ServiceSpec {
            name: p("autosre"),
            image: None,
            service_account: None,
            cpu: p("1"),
            memory: p("512Mi"),
            timeout: p("300s"),
            concurrency: 80,
            min_instances: 0,
            max_instances: 100,
            allow_unauthenticated: false,
            public_ack: None,
            env: BTreeMap::new(),
            plain_env_allow: vec![],
            secrets: BTreeMap::new(),
            pin_secret_versions: true,
        },
        encryption_key: EncryptionKey {
            secret: "sre-agent-encryption-key".to_owned(),
            env: "SRE_AGENT_ENCRYPTION_KEY".to_owned(),
        },
        iam: IamSpec {
            project_roles: vec![],
            secret_access: SecretAccess::PerSecret,
            service_account_users: vec![],
        },
    };
    assert_eq!(env, expected);
    // Well-formed but unwired: not a parse error, reported by the deploy's preflight.
    assert_eq!(env.encryption_key_wiring(), KeyWiring::NotWired);
}

#[test]
fn empty_sections_take_defaults() {
    let env = parse_text("project: acme-sre-prod\nservice:\n  env:\n  image:\niam:\n").unwrap();
    assert_eq!(env.service.image, None);
    assert!(env.service.env.is_empty());
    assert_eq!(env.iam.secret_access, SecretAccess::PerSecret);
}

#[test]
fn cpu_may_be_written_as_a_number() {
    let env = parse_text(&example_with("cpu: \"4\"", "cpu: 4")).unwrap();
    assert_eq!(env.service.cpu, p("4"));
    let text = example_with("cpu: \"4\"", "cpu: 0.5").replace("memory: 16Gi", "memory: 1Gi");
    let env = parse_text(&text).unwrap();
    assert_eq!(env.service.cpu, p("500m"));
}

#[test]
fn timeout_accepts_minutes() {
    let env = parse_text(&example_with("timeout: 300s", "timeout: 5m")).unwrap();
    assert_eq!(env.service.timeout.seconds(), 300);
}

#[test]
fn malformed_yaml_is_a_syntax_error() {
    let (shown, hint) = error_of("region: us-central1\nproject: [acme-sre-prod\n");
    assert_eq!(
        shown,
        "config/prod.yaml:2:10: invalid YAML: unclosed bracket '['"
    );
    assert!(hint.contains("syntax"));
    let (shown, _) = error_of("project: acme-sre-prod\n  region: us-central1\n");
    assert_error(
        "project: acme-sre-prod\n---\nproject: acme-sre-dev\n",
        "config/prod.yaml:2:1: invalid YAML: more than one YAML document (`---`) in the file",
        "one environment per file",
    );
    // The parser reports the bad indentation somewhere on line 2.
    assert!(shown.starts_with("config/prod.yaml:2:"), "{shown}");
    assert!(shown.contains(": invalid YAML: "), "{shown}");
}

#[test]
fn a_file_that_is_not_a_mapping_is_rejected() {
    assert_error(
        "- project: acme-sre-prod\n",
        "config/prod.yaml:1:1: (document): expected a mapping of `key: value` lines, found a list",
        "indent",
    );
}

#[test]
fn alias_bombs_are_refused() {
    let mut text = String::from(
        "project: acme-sre-prod\nx0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..10 {
        let prev = i - 1;
        text.push_str(&format!(
            "x{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
        ));
    }
    let error = parse_text(&text).unwrap_err();
    assert!(
        matches!(error, ConfigError::Syntax { .. }),
        "an alias bomb must be refused by the parser budget, got: {error}"
    );
}

#[test]
fn unknown_keys_are_rejected_at_every_level_with_a_suggestion() {
    assert_error(
        &example_with("region: us-central1", "regoin: us-central1"),
        "config/prod.yaml:2:1: regoin: unknown key `regoin`",
        "did you mean `region`?",
    );
    assert_error(
        &example_with("memory: 16Gi", "memroy: 16Gi"),
        "config/prod.yaml:8:3: service.memroy: unknown key `memroy`",
        "did you mean `memory`?",
    );
    assert_error(
        &example_with("min_instances: 0", "minInstances: 0"),
        "config/prod.yaml:11:3: service.minInstances: unknown key `minInstances`",
        "did you mean `min_instances`?",
    );
    assert_error(
        &example_with("  secret: sre-agent", "  secert: sre-agent"),
        "config/prod.yaml:23:3: encryption_key.secert: unknown key `secert`",
        "did you mean `secret`?",
    );
    assert_error(
        &example_with("  secret_access:", "  secrets_access:"),
        "config/prod.yaml:27:3: iam.secrets_access: unknown key `secrets_access`",
        "did you mean `secret_access`?",
    );
    assert_error(
        "project: acme-sre-prod\nservice:\n  frobnicate: 1\n",
        "config/prod.yaml:3:3: service.frobnicate: unknown key `frobnicate`",
        "valid keys here: `name`, `image`",
    );
}

#[test]
fn misplaced_keys_point_at_their_section() {
    assert_error(
        "project: acme-sre-prod\nimage: us-docker.pkg.dev/p/r/i:1\n",
        "config/prod.yaml:2:1: image: unknown key `image`",
        "`image` belongs under `service:`",
    );
    assert_error(
        "project: acme-sre-prod\nservice:\n  region: us-east1\n",
        "config/prod.yaml:3:3: service.region: unknown key `region`",
        "`region` is a top-level key",
    );
}

#[test]
fn wrong_types_name_the_key_and_what_was_found() {
    assert_error(
        &example_with("concurrency: 80", "concurrency: eighty"),
        "config/prod.yaml:10:16: service.concurrency: expected a whole number (0 or more), \
         found the text `eighty`",
        "whole number",
    );
    assert_error(
        &example_with("min_instances: 0", "min_instances: -1"),
        "config/prod.yaml:11:18: service.min_instances: expected a whole number (0 or more), \
         found the number `-1`",
        "whole number",
    );
    assert_error(
        &example_with("allow_unauthenticated: false", "allow_unauthenticated: yes"),
        "config/prod.yaml:13:26: service.allow_unauthenticated: expected `true` or `false`, \
         found the text `yes`",
        "`true` or `false`",
    );
    assert_error(
        "project: acme-sre-prod\nservice: autosre\n",
        "config/prod.yaml:2:10: service: expected a mapping of `key: value` lines, found the \
         text `autosre`",
        "indent",
    );
    assert_error(
        "project: acme-sre-prod\niam:\n  project_roles: roles/run.invoker\n",
        "config/prod.yaml:3:18: iam.project_roles: expected a list, found the text \
         `roles/run.invoker`",
        "`[a, b]`",
    );
    assert_error(
        "project: [a, b]\n",
        "config/prod.yaml:1:10: project: expected text, found a list",
        "single value",
    );
    assert_error(
        &example_with("secret_access: per-secret", "secret_access: per_secret"),
        "config/prod.yaml:27:18: iam.secret_access: unknown value `per_secret`",
        "did you mean `per-secret`?",
    );
}

#[test]
fn duplicate_keys_are_rejected() {
    assert_error(
        "project: acme-sre-prod\nservice:\n  memory: 1Gi\n  memory: 2Gi\n",
        "config/prod.yaml:4:3: service.memory: key `memory` appears more than once in this mapping",
        "keep one",
    );
}

#[test]
fn project_is_required_and_checked() {
    assert_error(
        "region: us-central1\n",
        "config/prod.yaml:1:1: project: missing required key `project`",
        "project: acme-sre-staging",
    );
    assert_error(
        "",
        "config/prod.yaml:1:1: project: missing required key `project`",
        "project:",
    );
    assert_error(
        &example_with("project: acme-sre-staging", "project: Acme-SRE-Staging"),
        "config/prod.yaml:1:10: project: invalid project id `Acme-SRE-Staging`",
        "`acme-sre-staging`",
    );
    assert_error(
        &example_with("project: acme-sre-staging", "project: sre"),
        "config/prod.yaml:1:10: project: invalid project id `sre`",
        "6-30",
    );
}

#[test]
fn region_syntax_is_checked() {
    assert_error(
        &example_with("region: us-central1", "region: us-central1-a"),
        "config/prod.yaml:2:9: region: invalid region `us-central1-a`",
        "is a zone",
    );
}

#[test]
fn service_name_follows_cloud_run_rules() {
    assert_error(
        &example_with("name: autosre", "name: Auto_SRE"),
        "config/prod.yaml:4:9: service.name: invalid Cloud Run service name `Auto_SRE`",
        "`auto-sre`",
    );
    let long = format!("a{}", "b".repeat(49));
    assert_error(
        &example_with("name: autosre", &format!("name: {long}")),
        &format!("config/prod.yaml:4:9: service.name: invalid Cloud Run service name `{long}`"),
        "at most 49",
    );
}

#[test]
fn quantities_are_checked() {
    assert_error(
        &example_with("cpu: \"4\"", "cpu: four"),
        "config/prod.yaml:7:8: service.cpu: invalid CPU limit `four`",
        "`\"2\"`",
    );
    assert_error(
        &example_with("memory: 16Gi", "memory: 16GB"),
        "config/prod.yaml:8:11: service.memory: invalid memory quantity `16GB`",
        "`16Gi`",
    );
    assert_error(
        &example_with("timeout: 300s", "timeout: 300"),
        "config/prod.yaml:9:12: service.timeout: timeout `300` has no unit",
        "`300s`",
    );
    assert_error(
        &example_with("timeout: 300s", "timeout: 90m"),
        "config/prod.yaml:9:12: service.timeout: timeout `90m` is above Cloud Run's maximum \
         of 60 minutes",
        "`3600s`",
    );
    assert_error(
        &example_with("concurrency: 80", "concurrency: 1001"),
        "config/prod.yaml:10:16: service.concurrency: concurrency `1001` is outside Cloud \
         Run's range 1..=1000",
        "1 to 1000",
    );
}

#[test]
fn env_var_names_are_checked() {
    assert_error(
        &example_with("    LOG_FORMAT: JSON", "    PORT: \"8081\""),
        "config/prod.yaml:15:5: service.env.PORT: `PORT` is reserved: Cloud Run sets it in \
         every container",
        "remove it",
    );
    assert_error(
        &example_with("    LOG_FORMAT: JSON", "    K_REVISION: x"),
        "config/prod.yaml:15:5: service.env.K_REVISION: `K_REVISION` is reserved: Cloud Run \
         sets it in every container",
        "remove it",
    );
    assert_error(
        &example_with("    LOG_FORMAT: JSON", "    X_GOOGLE_TRACE: x"),
        "config/prod.yaml:15:5: service.env.X_GOOGLE_TRACE: `X_GOOGLE_TRACE` uses the prefix \
         `X_GOOGLE_`, which Cloud Run reserves",
        "rename",
    );
    assert_error(
        &example_with("    LOG_FORMAT: JSON", "    \"LOG=FORMAT\": JSON"),
        "config/prod.yaml:15:5: service.env.\"LOG=FORMAT\": invalid environment variable name \
         `LOG=FORMAT`",
        "`LOG_FORMAT`",
    );
    assert_error(
        &example_with("    LOG_FORMAT: JSON", "    log-format: JSON"),
        "config/prod.yaml:15:5: service.env.log-format: invalid environment variable name \
         `log-format`",
        "`log_format`",
    );
    assert_error(
        &example_with(
            "    GOOGLE_CLIENT_ID: google",
            "    1GOOGLE_CLIENT_ID: google",
        ),
        "config/prod.yaml:20:5: service.secrets.1GOOGLE_CLIENT_ID: invalid environment \
         variable name `1GOOGLE_CLIENT_ID`",
        "not starting with a digit",
    );
    assert_error(
        &example_with("  env: SRE_AGENT_ENCRYPTION_KEY", "  env: SRE-AGENT-KEY"),
        "config/prod.yaml:24:8: encryption_key.env: invalid environment variable name \
         `SRE-AGENT-KEY`",
        "`SRE_AGENT_KEY`",
    );
}

#[test]
fn env_values_must_be_quoted_text() {
    assert_error(
        &example_with(
            "STRICT_EUC_ENFORCEMENT: \"true\"",
            "STRICT_EUC_ENFORCEMENT: true",
        ),
        "config/prod.yaml:17:29: service.env.STRICT_EUC_ENFORCEMENT: env values must be text; \
         YAML reads `true` as a boolean",
        "`STRICT_EUC_ENFORCEMENT: \"true\"`",
    );
    assert_error(
        &example_with("LOG_LEVEL: INFO", "LOG_LEVEL: 1.10"),
        "config/prod.yaml:16:16: service.env.LOG_LEVEL: env values must be text; YAML reads \
         `1.10` as a number",
        "`LOG_LEVEL: \"1.10\"`",
    );
    assert_error(
        &example_with("LOG_LEVEL: INFO", "LOG_LEVEL:"),
        "config/prod.yaml:16:14: service.env.LOG_LEVEL: `LOG_LEVEL` has no value",
        "`LOG_LEVEL: \"\"`",
    );
    assert_error(
        &example_with("LOG_LEVEL: INFO", "LOG_LEVEL: [INFO, DEBUG]"),
        "config/prod.yaml:16:16: service.env.LOG_LEVEL: env values must be text, found a list",
        "one quoted value",
    );
}

#[test]
fn secret_looking_env_values_are_redacted() {
    let text = example_with("LOG_LEVEL: INFO", "API_TOKEN: 918273645");
    let (shown, hint) = error_of(&text);
    assert_eq!(
        shown,
        "config/prod.yaml:16:16: service.env.API_TOKEN: env values must be text; YAML reads \
         `<redacted>` as a number"
    );
    assert!(hint.contains("service.secrets"), "{hint}");
    assert!(!shown.contains("918273645") && !hint.contains("918273645"));
    let debug = format!("{:?}", parse_text(&text).unwrap_err());
    assert!(!debug.contains("918273645"), "{debug}");
}

#[test]
fn encryption_key_as_a_plain_env_value_is_rejected_without_echoing_it() {
    let value = "c3VwZXItc2VjcmV0LWtleS1tYXRlcmlhbA==";
    let text = example_with(
        "    LOG_LEVEL: INFO\n",
        &format!("    LOG_LEVEL: INFO\n    SRE_AGENT_ENCRYPTION_KEY: \"{value}\"\n"),
    )
    // Keep the example otherwise valid: the variable now comes from `env` only.
    .replace(
        "    SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key:latest\n",
        "",
    );
    let error = parse_text(&text).unwrap_err();
    let (shown, hint) = (error.to_string(), error.hint().unwrap().to_owned());
    assert_eq!(
        shown,
        "config/prod.yaml:17:5: service.env.SRE_AGENT_ENCRYPTION_KEY: \
         `SRE_AGENT_ENCRYPTION_KEY` is the encryption key's variable (`encryption_key.env`) \
         and must not be a plain value"
    );
    assert!(hint.contains("`SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key:latest`"));
    assert!(hint.contains("written in this file"));
    for output in [shown, hint, format!("{error:?}")] {
        assert!(!output.contains(value), "key material leaked: {output}");
    }
}

#[test]
fn a_variable_in_both_env_and_secrets_is_rejected() {
    assert_error(
        &example_with("    LOG_FORMAT: JSON", "    GOOGLE_API_KEY: \"abc\""),
        "config/prod.yaml:19:5: service.secrets.GOOGLE_API_KEY: `GOOGLE_API_KEY` is set both \
         in `service.env` (line 15) and in `service.secrets`",
        "keep one",
    );
}

#[test]
fn malformed_secret_references_are_rejected() {
    let cases = [
        (
            "gemini-api-key:a:b",
            "malformed secret reference `gemini-api-key:a:b`: more than one `:`",
        ),
        ("\"\"", "empty secret reference"),
        (
            "projects/P/secrets/",
            "incomplete secret reference `projects/P/secrets/`",
        ),
        ("gemini-api-key:v2", "invalid secret version `v2`"),
        ("gemini-api-key:0", "invalid secret version `0`"),
        ("gemini.api.key", "invalid secret id `gemini.api.key`"),
    ];
    for (written, message) in cases {
        let text = example_with(
            "GOOGLE_API_KEY: gemini-api-key:latest",
            &format!("GOOGLE_API_KEY: {written}"),
        );
        let (shown, hint) = error_of(&text);
        assert_eq!(
            shown,
            format!("config/prod.yaml:19:21: service.secrets.GOOGLE_API_KEY: {message}")
        );
        assert!(!hint.is_empty());
    }
    assert_error(
        &example_with("  secret: sre-agent-encryption-key", "  secret: sre/agent"),
        "config/prod.yaml:23:11: encryption_key.secret: invalid secret id `sre/agent`",
        "1-255",
    );
}

#[test]
fn secret_references_in_the_file_resolve() {
    let text = example_with(
        "GOOGLE_API_KEY: gemini-api-key:latest",
        "GOOGLE_API_KEY: projects/acme-shared/secrets/gemini-api-key:7",
    )
    .replace("google-client-id:latest", "google-client-id");
    let env = parse_text(&text).unwrap();
    assert_eq!(
        env.service.secrets["GOOGLE_API_KEY"],
        SecretRef {
            project: Some("acme-shared".to_owned()),
            secret: "gemini-api-key".to_owned(),
            version: "7".to_owned(),
        }
    );
    assert_eq!(env.service.secrets["GOOGLE_CLIENT_ID"].version, "latest");
}

#[test]
fn roles_and_members_are_checked() {
    assert_error(
        &example_with("roles/logging.logWriter", "logging.logWriter"),
        "config/prod.yaml:26:43: iam.project_roles[1]: invalid IAM role `logging.logWriter`",
        "`roles/logging.logWriter`",
    );
    assert_error(
        &example_with("    - serviceAccount:service-", "    - robot:service-"),
        "config/prod.yaml:29:7: iam.service_account_users[0]: invalid IAM member \
         `robot:service-{project_number}@gcp-sa-aiplatform.iam.gserviceaccount.com`",
        "`serviceAccount:EMAIL`",
    );
    assert_error(
        &example_with("{project_number}", "{project_id}"),
        "config/prod.yaml:29:7: iam.service_account_users[0]: unknown placeholder in IAM \
         member `serviceAccount:service-{project_id}@gcp-sa-aiplatform.iam.gserviceaccount.com`",
        "`{project_number}`",
    );
}

#[test]
fn service_account_must_be_an_email() {
    assert_error(
        &example_with(
            "service_account: autosre-run@acme-sre-staging.iam.gserviceaccount.com",
            "service_account: autosre-run",
        ),
        "config/prod.yaml:6:20: service.service_account: service account `autosre-run` is not \
         an email address",
        "`autosre-run@acme-sre-staging.iam.gserviceaccount.com`",
    );
}

#[test]
fn min_instances_cannot_exceed_max_instances() {
    assert_error(
        &example_with("min_instances: 0", "min_instances: 20"),
        "config/prod.yaml:12:18: service.max_instances: min_instances (20) is greater than \
         max_instances (10)",
        "at least 20",
    );
    assert_error(
        "project: acme-sre-prod\nservice:\n  min_instances: 200\n",
        "config/prod.yaml:3:18: service.min_instances: min_instances (200) is greater than \
         max_instances (100 (the default))",
        "at least 200",
    );
}

#[test]
fn the_first_problem_in_file_order_is_reported() {
    let text = example_with("memory: 16Gi", "memory: 16GB")
        .replace("region: us-central1", "region: nowhere");
    let (shown, _) = error_of(&text);
    assert!(
        shown.starts_with("config/prod.yaml:2:9: region:"),
        "{shown}"
    );
}

#[test]
fn encryption_key_wiring_is_reported_not_rejected() {
    let other = example_with(
        "SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key:latest",
        "SRE_AGENT_ENCRYPTION_KEY: old-key:3",
    );
    assert_eq!(
        parse_text(&other).unwrap().encryption_key_wiring(),
        KeyWiring::WiredToOtherSecret("old-key:3".to_owned())
    );
    let missing = example_with(
        "    SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key:latest\n",
        "",
    );
    assert_eq!(
        parse_text(&missing).unwrap().encryption_key_wiring(),
        KeyWiring::NotWired
    );
    let same_project = example_with(
        "SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key:latest",
        "SRE_AGENT_ENCRYPTION_KEY: projects/acme-sre-staging/secrets/sre-agent-encryption-key:2",
    );
    assert_eq!(
        parse_text(&same_project).unwrap().encryption_key_wiring(),
        KeyWiring::Wired
    );
    let other_project = example_with(
        "SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key:latest",
        "SRE_AGENT_ENCRYPTION_KEY: projects/acme-shared/secrets/sre-agent-encryption-key",
    );
    assert_eq!(
        parse_text(&other_project).unwrap().encryption_key_wiring(),
        KeyWiring::WiredToOtherSecret(
            "projects/acme-shared/secrets/sre-agent-encryption-key:latest".to_owned()
        )
    );
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn load_reads_env_yaml_and_yml() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "staging.yaml", EXAMPLE);
    write(dir.path(), "dev.yml", "project: acme-sre-dev\n");
    let env = load(dir.path(), "staging").unwrap();
    assert_eq!(env.name, "staging");
    assert_eq!(env.source, dir.path().join("staging.yaml"));
    assert_eq!(load(dir.path(), "dev").unwrap().project, "acme-sre-dev");
}

#[test]
fn load_of_a_missing_environment_lists_the_existing_ones() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "staging.yaml", EXAMPLE);
    write(dir.path(), "prod.yaml", "project: acme-sre-prod\n");
    write(dir.path(), "notes.txt", "not an environment");
    let error = load(dir.path(), "stagin").unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}: environment `stagin` not found",
            dir.path().join("stagin.yaml").display()
        )
    );
    let ConfigError::NotFound { available, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(available, &["prod", "staging"]);
    let hint = error.hint().unwrap();
    assert!(hint.starts_with("did you mean `staging`?"), "{hint}");
    assert!(hint.contains("`prod`, `staging`"), "{hint}");
    // Path-like names never escape the directory.
    assert!(matches!(
        load(dir.path(), "../staging"),
        Err(ConfigError::NotFound { .. })
    ));
}

#[test]
fn load_refuses_two_files_for_one_environment() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "prod.yaml", "project: acme-sre-prod\n");
    write(dir.path(), "prod.yml", "project: acme-sre-prod\n");
    assert!(matches!(
        load(dir.path(), "prod"),
        Err(ConfigError::Ambiguous { .. })
    ));
    let errors = load_all(dir.path()).errors;
    assert_eq!(errors.len(), 1);
    assert!(matches!(errors[0], ConfigError::Ambiguous { .. }));
}

#[test]
fn load_all_returns_every_environment_sorted() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "staging.yaml", EXAMPLE);
    write(dir.path(), "dev.yml", "project: acme-sre-dev\n");
    write(dir.path(), "prod.yaml", "project: acme-sre-prod\n");
    write(dir.path(), ".draft.yaml", "not: valid: yaml: at: all\n");
    write(dir.path(), "README.md", "# environments\n");
    let loaded = load_all(dir.path());
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let names: Vec<String> = loaded.environments.into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["dev", "prod", "staging"]);
}

#[test]
fn load_all_collects_every_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a-good.yaml", "project: acme-sre-good\n");
    write(
        dir.path(),
        "b-typo.yaml",
        "project: acme-sre-prod\nservice:\n  memroy: 1Gi\n",
    );
    write(dir.path(), "c-syntax.yaml", "project: [\n");
    write(dir.path(), "d-missing.yml", "region: us-east1\n");
    let loaded = load_all(dir.path());
    let good: Vec<&str> = loaded
        .environments
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(good, ["a-good"], "the good file still loads");
    let shown: Vec<String> = loaded
        .errors
        .iter()
        .map(|e| {
            e.to_string()
                .replace(&format!("{}/", dir.path().display()), "")
        })
        .collect();
    assert_eq!(shown.len(), 3, "{shown:#?}");
    assert_eq!(
        shown[0],
        "b-typo.yaml:3:3: service.memroy: unknown key `memroy`"
    );
    assert!(shown[1].starts_with("c-syntax.yaml:"), "{}", shown[1]);
    assert_eq!(
        shown[2],
        "d-missing.yml:1:1: project: missing required key `project`"
    );
}

#[test]
fn load_all_of_a_missing_directory_is_one_error() {
    let dir = tempfile::tempdir().unwrap();
    let errors = load_all(&dir.path().join("nope")).errors;
    assert_eq!(errors.len(), 1);
    assert!(matches!(errors[0], ConfigError::Unreadable { .. }));
    assert!(errors[0].hint().unwrap().contains("<env>.yaml"));
}

#[test]
fn quoted_booleans_and_numeric_names_are_type_errors() {
    assert_error(
        &example_with(
            "allow_unauthenticated: false",
            "allow_unauthenticated: \"false\"",
        ),
        "config/prod.yaml:13:26: service.allow_unauthenticated: expected `true` or `false`, \
         found the text `\"false\"`",
        "without quotes",
    );
    assert_error(
        &example_with("  secret: sre-agent-encryption-key", "  secret: 12"),
        "config/prod.yaml:23:11: encryption_key.secret: expected text, found the number `12`",
        "quote",
    );
    assert_error(
        &example_with(
            "GOOGLE_API_KEY: gemini-api-key:latest",
            "GOOGLE_API_KEY: 12",
        ),
        "config/prod.yaml:19:21: service.secrets.GOOGLE_API_KEY: expected text, found the \
         number `12`",
        "quote",
    );
}
