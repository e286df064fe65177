//! Single values and the rules across them: project, region, names, quantities, env vars,
//! secret references, roles and members, instance counts, the encryption key's wiring.

use super::syntax::assert_edits_refused;
use super::*;

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
    assert_edits_refused! {
        "project: acme-sre-staging" => "project: Acme-SRE-Staging",
            "config/prod.yaml:1:10: project: invalid project id `Acme-SRE-Staging`",
            "`acme-sre-staging`";
        "project: acme-sre-staging" => "project: sre",
            "config/prod.yaml:1:10: project: invalid project id `sre`",
            "6-30";
    }
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
    assert_edits_refused! {
        "cpu: \"4\"" => "cpu: four",
            "config/prod.yaml:7:8: service.cpu: invalid CPU limit `four`",
            "`\"2\"`";
        "memory: 16Gi" => "memory: 16GB",
            "config/prod.yaml:8:11: service.memory: invalid memory quantity `16GB`",
            "`16Gi`";
        "timeout: 300s" => "timeout: 300",
            "config/prod.yaml:9:12: service.timeout: timeout `300` has no unit",
            "`300s`";
        "timeout: 300s" => "timeout: 90m",
            "config/prod.yaml:9:12: service.timeout: timeout `90m` is above Cloud Run's maximum \
             of 60 minutes",
            "`3600s`";
        "concurrency: 80" => "concurrency: 1001",
            "config/prod.yaml:10:16: service.concurrency: concurrency `1001` is outside Cloud \
             Run's range 1..=1000",
            "1 to 1000";
    }
}

#[test]
fn env_var_names_are_checked() {
    assert_edits_refused! {
        "    LOG_FORMAT: JSON" => "    PORT: \"8081\"",
            "config/prod.yaml:15:5: service.env.PORT: `PORT` is reserved: Cloud Run sets it in \
             every container",
            "remove it";
        "    LOG_FORMAT: JSON" => "    K_REVISION: x",
            "config/prod.yaml:15:5: service.env.K_REVISION: `K_REVISION` is reserved: Cloud Run \
             sets it in every container",
            "remove it";
        "    LOG_FORMAT: JSON" => "    X_GOOGLE_TRACE: x",
            "config/prod.yaml:15:5: service.env.X_GOOGLE_TRACE: `X_GOOGLE_TRACE` uses the prefix \
             `X_GOOGLE_`, which Cloud Run reserves",
            "rename";
        "    LOG_FORMAT: JSON" => "    \"LOG=FORMAT\": JSON",
            "config/prod.yaml:15:5: service.env.\"LOG=FORMAT\": invalid environment variable name \
             `LOG=FORMAT`",
            "`LOG_FORMAT`";
        "    LOG_FORMAT: JSON" => "    log-format: JSON",
            "config/prod.yaml:15:5: service.env.log-format: invalid environment variable name \
             `log-format`",
            "`log_format`";
        "    GOOGLE_CLIENT_ID: google" => "    1GOOGLE_CLIENT_ID: google",
            "config/prod.yaml:20:5: service.secrets.1GOOGLE_CLIENT_ID: invalid environment \
             variable name `1GOOGLE_CLIENT_ID`",
            "not starting with a digit";
        "  env: SRE_AGENT_ENCRYPTION_KEY" => "  env: SRE-AGENT-KEY",
            "config/prod.yaml:24:8: encryption_key.env: invalid environment variable name \
             `SRE-AGENT-KEY`",
            "`SRE_AGENT_KEY`";
    }
}

#[test]
fn env_values_must_be_quoted_text() {
    assert_edits_refused! {
        "STRICT_EUC_ENFORCEMENT: \"true\"" => "STRICT_EUC_ENFORCEMENT: true",
            "config/prod.yaml:17:29: service.env.STRICT_EUC_ENFORCEMENT: env values must be text; \
             YAML reads `true` as a boolean",
            "`STRICT_EUC_ENFORCEMENT: \"true\"`";
        "LOG_LEVEL: INFO" => "LOG_LEVEL: 1.10",
            "config/prod.yaml:16:16: service.env.LOG_LEVEL: env values must be text; YAML reads \
             `1.10` as a number",
            "`LOG_LEVEL: \"1.10\"`";
        "LOG_LEVEL: INFO" => "LOG_LEVEL:",
            "config/prod.yaml:16:14: service.env.LOG_LEVEL: `LOG_LEVEL` has no value",
            "`LOG_LEVEL: \"\"`";
        "LOG_LEVEL: INFO" => "LOG_LEVEL: [INFO, DEBUG]",
            "config/prod.yaml:16:16: service.env.LOG_LEVEL: env values must be text, found a list",
            "one quoted value";
    }
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
        ("gemini-api-key:2v", "invalid secret version `2v`"),
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
    assert_edits_refused! {
        "roles/logging.logWriter" => "logging.logWriter",
            "config/prod.yaml:26:43: iam.project_roles[1]: invalid IAM role `logging.logWriter`",
            "`roles/logging.logWriter`";
        "    - serviceAccount:service-" => "    - robot:service-",
            "config/prod.yaml:29:7: iam.service_account_users[0]: invalid IAM member \
             `robot:service-{project_number}@gcp-sa-aiplatform.iam.gserviceaccount.com`",
            "`serviceAccount:EMAIL`";
        "{project_number}" => "{project_id}",
            "config/prod.yaml:29:7: iam.service_account_users[0]: unknown placeholder in IAM \
             member `serviceAccount:service-{project_id}@gcp-sa-aiplatform.iam.gserviceaccount.com`",
            "`{project_number}`";
    }
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
    const SHIPPED: &str = "SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key:latest";
    let wiring = |from: &str, to: &str| {
        parse_text(&example_with(from, to))
            .unwrap()
            .encryption_key_wiring()
    };
    assert_eq!(
        wiring(SHIPPED, "SRE_AGENT_ENCRYPTION_KEY: old-key:3"),
        KeyWiring::WiredToOtherSecret("old-key:3".to_owned())
    );
    assert_eq!(wiring(&format!("    {SHIPPED}\n"), ""), KeyWiring::NotWired);
    assert_eq!(
        wiring(
            SHIPPED,
            "SRE_AGENT_ENCRYPTION_KEY: projects/acme-sre-staging/secrets/sre-agent-encryption-key:2"
        ),
        KeyWiring::Wired
    );
    assert_eq!(
        wiring(
            SHIPPED,
            "SRE_AGENT_ENCRYPTION_KEY: projects/acme-shared/secrets/sre-agent-encryption-key"
        ),
        KeyWiring::WiredToOtherSecret(
            "projects/acme-shared/secrets/sre-agent-encryption-key:latest".to_owned()
        )
    );
}

#[test]
fn iap_members_are_checked_and_iap_is_not_public() {
    let with = |iap: &str| format!("{EXAMPLE}iap:\n{iap}");
    let env = parse_text(&with(
        "  members: [group:sre@example.com, domain:example.com]\n",
    ))
    .unwrap();
    let iap = env.iap.expect("iap");
    assert_eq!(iap.members.len(), 2);
    assert!(!iap.exclusive, "add-only by default");
    assert!(parse_text(EXAMPLE).unwrap().iap.is_none());
    let (display, hint) = error_of(&with("  members: [allUsers]\n"));
    assert!(
        display.contains("iap.members[0]: `allUsers` would let anyone past IAP"),
        "{display}"
    );
    assert!(hint.contains("domain:example.com"), "{hint}");
    let (display, _) = error_of(&with("  members: [alice@example.com]\n"));
    assert!(
        display.contains("iap.members[0]: invalid IAM member `alice@example.com`"),
        "{display}"
    );
    let (display, _) = error_of(&with("  exclusive: \"true\"\n"));
    assert!(
        display.contains("iap.exclusive: expected `true` or `false`"),
        "{display}"
    );
    let public = example_with(
        "allow_unauthenticated: false",
        "allow_unauthenticated: true",
    );
    let (display, hint) = error_of(&format!("{public}iap:\n  members: [user:a@example.com]\n"));
    assert!(
        display.contains(
            "service.allow_unauthenticated: `allow_unauthenticated: true` cannot be combined with `iap`"
        ),
        "{display}"
    );
    assert!(hint.contains("remove"), "{hint}");
}

/// `build:`: the Cloud Build region (default `global`, as gcloud builds), a
/// private pool named in full and in that region, the build's account as an
/// email; each refusal at its file, line and key.
#[test]
fn the_build_section_is_checked() {
    let env = parse_text(EXAMPLE).unwrap();
    assert_eq!(env.build.location(), "global");
    let with = |build: &str| format!("{EXAMPLE}build:\n{build}");
    let env = parse_text(&with(
        "  worker_pool: projects/acme-sre-staging/locations/europe-west1/workerPools/pool\n  service_account: builder@acme-sre-staging.iam.gserviceaccount.com\n",
    ))
    .unwrap();
    assert_eq!(env.build.location(), "europe-west1");
    assert_eq!(
        env.build.service_account.as_deref(),
        Some("builder@acme-sre-staging.iam.gserviceaccount.com")
    );
    let env = parse_text(&with("  region: us-east1\n")).unwrap();
    assert_eq!(env.build.location(), "us-east1");
    let line = EXAMPLE.lines().count() + 2;
    assert_error(
        &with("  region: us-east1-b\n"),
        &format!("config/prod.yaml:{line}:11: build.region: invalid region `us-east1-b`"),
        "is a zone",
    );
    assert_error(
        &with("  worker_pool: pool\n"),
        &format!("config/prod.yaml:{line}:16: build.worker_pool: `pool` is not a worker pool name"),
        "projects/PROJECT/locations/REGION/workerPools/POOL",
    );
    assert_error(
        &with(
            "  region: us-east1\n  worker_pool: projects/p/locations/europe-west1/workerPools/x\n",
        ),
        &format!(
            "config/prod.yaml:{}:16: build.worker_pool: the worker pool is in `europe-west1`, not in build.region `us-east1`",
            line + 1
        ),
        "its own region",
    );
    assert_error(
        &with("  service_account: builder\n"),
        &format!(
            "config/prod.yaml:{line}:20: build.service_account: service account `builder` is not an email address"
        ),
        "builder@acme-sre-staging.iam.gserviceaccount.com",
    );
    assert_error(
        &with("  pool: x\n"),
        &format!("config/prod.yaml:{line}:3: build.pool: unknown key `pool`"),
        "",
    );
}
