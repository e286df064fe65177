//! Guardrails and the offline gaps of issue 7 §14: CPU/memory outside Cloud Run's table,
//! credential-looking plain env vars, production rules, custom roles, `domain:` members, a
//! directory at `config/X.yaml`.

use std::path::Path;

use super::*;

fn parse_text(text: &str) -> Result<Environment, ConfigError> {
    parse(Path::new("config/prod.yaml"), "prod", text)
}

fn error(text: &str) -> (String, String) {
    let e = parse_text(text).expect_err("expected an error");
    (e.to_string(), e.hint().unwrap_or_default().to_owned())
}

const BASE: &str = "project: acme-sre-prod\nservice:\n";

#[test]
fn cpu_and_memory_follow_cloud_runs_table() {
    let (shown, hint) = error(&format!("{BASE}  memory: 16Gi\n"));
    assert_eq!(
        shown,
        "config/prod.yaml:3:11: service.memory: Invalid value specified for memory. For 1.0 \
         CPU, memory must be between 128Mi and 4Gi inclusive."
    );
    assert!(hint.contains("at least 4 CPU"), "{hint}");
    let (shown, _) = error(&format!("{BASE}  cpu: 8\n"));
    assert!(
        shown.starts_with("config/prod.yaml:3:8: service.cpu: "),
        "{shown}"
    );
    assert!(parse_text(&format!("{BASE}  cpu: 0.5\n  memory: 0.5Gi\n")).is_ok());
}

#[test]
fn credential_names_in_plain_env_need_the_allow_list() {
    let text = format!("{BASE}  env:\n    STRIPE_API_KEY: \"sk_live_xyz\"\n");
    let (shown, hint) = error(&text);
    assert_eq!(
        shown,
        "config/prod.yaml:4:5: service.env.STRIPE_API_KEY: `STRIPE_API_KEY` looks like a \
         credential and is set as a plain value, readable by anyone who can read this file or \
         the service"
    );
    assert!(hint.contains("service.plain_env_allow"), "{hint}");
    assert!(!shown.contains("sk_live") && !hint.contains("sk_live"));
    let allowed = format!("{text}  plain_env_allow: [STRIPE_API_KEY]\n");
    let env = parse_text(&allowed).unwrap();
    assert_eq!(env.service.plain_env_allow, ["STRIPE_API_KEY"]);
    let (shown, _) = error(&format!("{allowed}  plain_env_allow: [OTHER]\n"));
    assert!(shown.contains("appears more than once"), "{shown}");
    let (shown, _) = error(&format!("{BASE}  plain_env_allow: [NOPE]\n"));
    assert!(shown.contains("`service.env` does not set it"), "{shown}");
}

#[test]
fn production_requires_strict_euc_and_a_public_ack() {
    let (shown, _) = error("project: acme-sre-prod\nproduction: true\n");
    assert_eq!(
        shown,
        "config/prod.yaml:2:13: production: `production: true` requires \
         `STRICT_EUC_ENFORCEMENT: \"true\"` in `service.env`"
    );
    let strict = "project: acme-sre-prod\nproduction: true\nservice:\n  env:\n    \
                  STRICT_EUC_ENFORCEMENT: \"true\"\n";
    assert!(parse_text(strict).unwrap().production);
    let (shown, _) = error(&strict.replace("\"true\"", "\"false\""));
    assert!(
        shown.starts_with("config/prod.yaml:5:5: service.env.STRICT_EUC_ENFORCEMENT:"),
        "{shown}"
    );
    let public = format!("{strict}  allow_unauthenticated: true\n");
    let (shown, hint) = error(&public);
    assert!(
        shown.starts_with("config/prod.yaml:6:26: service.allow_unauthenticated:"),
        "{shown}"
    );
    assert!(hint.contains("public_ack"), "{hint}");
    let acked = format!("{public}  public_ack: \"status page, no user data\"\n");
    let env = parse_text(&acked).unwrap();
    assert_eq!(
        env.service.public_ack.as_deref(),
        Some("status page, no user data")
    );
    // Outside production a public service needs no acknowledgement.
    assert!(parse_text(&format!("{BASE}  allow_unauthenticated: true\n")).is_ok());
}

#[test]
fn pin_secret_versions_defaults_to_true() {
    assert!(parse_text(BASE).unwrap().service.pin_secret_versions);
    let env = parse_text(&format!("{BASE}  pin_secret_versions: false\n")).unwrap();
    assert!(!env.service.pin_secret_versions);
}

#[test]
fn custom_roles_and_domain_members() {
    let text = "project: acme-sre-prod\niam:\n  project_roles:\n    - \
                projects/acme-sre-prod/roles/autosreAgent\n    - \
                organizations/123456/roles/sre.reader\n";
    let env = parse_text(text).unwrap();
    assert_eq!(env.iam.project_roles.len(), 2);
    let (shown, _) =
        error("project: acme-sre-prod\niam:\n  service_account_users:\n    - domain:example.com\n");
    assert_eq!(
        shown,
        "config/prod.yaml:4:7: iam.service_account_users[0]: `domain:example.com` would let \
         everyone in `example.com` act as the agent's service account"
    );
}

#[test]
fn a_directory_named_like_an_environment_is_not_a_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("prod.yaml")).unwrap();
    let e = load(dir.path(), "prod").unwrap_err();
    assert!(matches!(e, ConfigError::NotAFile { .. }), "{e}");
    assert!(
        e.to_string()
            .ends_with("prod.yaml: not a file (a directory)"),
        "{e}"
    );
    let errors = load_all(dir.path()).errors;
    assert!(
        matches!(errors[..], [ConfigError::NotAFile { .. }]),
        "{errors:?}"
    );
}

#[test]
fn the_shipped_examples_load() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let loaded = load_all(&root);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    assert_eq!(loaded.environments.len(), 2);
}

/// Every section's schema properties are exactly the keys the parser accepts, so the
/// published schema cannot drift from the types.
#[test]
fn schema_lists_exactly_the_keys_the_parser_accepts() {
    let schema = json_schema();
    let sections = [
        ("", "zz_unknown: 1\n"),
        ("service", "service:\n  zz_unknown: 1\n"),
        ("encryption_key", "encryption_key:\n  zz_unknown: 1\n"),
        ("iam", "iam:\n  zz_unknown: 1\n"),
    ];
    for (section, text) in sections {
        let accepted: Vec<String> = match yaml::parse_raw(Path::new("x.yaml"), text) {
            Err(ConfigError::Invalid { hint, .. }) => hint
                .strip_prefix("valid keys here: ")
                .unwrap_or_else(|| panic!("{section}: {hint}"))
                .split(", ")
                .map(|k| k.trim_matches('`').to_owned())
                .collect(),
            other => panic!("{section}: expected an unknown-key error, got {other:?}"),
        };
        let node = if section.is_empty() {
            &schema
        } else {
            &schema["properties"][section]
        };
        let listed: Vec<String> = node["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(listed, accepted, "section `{section}`");
    }
}
