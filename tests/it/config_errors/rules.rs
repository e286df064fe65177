//! The rules a well-formed file can still break: a variable both plain and secret, the
//! encryption key as a plain value, instance bounds, the guardrails and Cloud Run's limits.
//! Each is refused offline at the offending line and key, before any request.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn env_var_both_plain_and_secret() {
    let yaml = with_env_line("    GOOGLE_CLIENT_ID: plain-client-id");
    let env_line = line_of(&yaml, "GOOGLE_CLIENT_ID: plain-client-id");
    // Reported at the second definition (the secret), pointing back at the first.
    let run = Case {
        yaml,
        at: "GOOGLE_CLIENT_ID: google-client-id:latest",
        key: Some("service.secrets.GOOGLE_CLIENT_ID"),
        message: "both in `service.env`",
        hint: "keep one",
    }
    .check()
    .await;
    assert!(
        the_error(&run).rest.contains(&format!("line {env_line}")),
        "the message should name the other definition's line {env_line}\n{}",
        run.stderr
    );
}

/// A plain value for the encryption key would ship the key in the config file; the error must
/// say so without echoing the value.
const PLAIN_KEY: &str = "plain-fernet-key-in-the-config-do-not-print";

/// `yaml` with `SRE_AGENT_ENCRYPTION_KEY` as the plain env value [`PLAIN_KEY`] is refused at
/// that line with a hint containing `hint`, and the value appears nowhere in the output.
async fn refuses_the_plain_key_without_printing_it(yaml: String, hint: &'static str) {
    let run = Case {
        yaml,
        at: PLAIN_KEY,
        key: Some("service.env.SRE_AGENT_ENCRYPTION_KEY"),
        message: "must not be a plain value",
        hint,
    }
    .check()
    .await;
    assert!(
        !run.all().contains(PLAIN_KEY),
        "the value was printed:\n{}",
        run.all()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn encryption_key_moved_from_secrets_to_a_plain_value() {
    let yaml = replace_once(
        &with_env_line(&format!("    SRE_AGENT_ENCRYPTION_KEY: {PLAIN_KEY}")),
        "    SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key:latest\n",
        "",
    );
    refuses_the_plain_key_without_printing_it(
        yaml,
        "SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key:latest",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn encryption_key_as_a_plain_value_next_to_the_secret() {
    refuses_the_plain_key_without_printing_it(
        with_env_line(&format!("    SRE_AGENT_ENCRYPTION_KEY: {PLAIN_KEY}")),
        "delete it from `env`",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn min_instances_above_max_instances() {
    let yaml = replace_once(&staging(), "min_instances: 0", "min_instances: 20");
    let run = rejected(&yaml).await;
    let e = the_error(&run);
    // A cross-field error: either of the two lines is the offending one, as long as the key
    // named is the one on that line.
    let min = line_of(&yaml, "min_instances: 20");
    let max = line_of(&yaml, "max_instances: 10");
    let key = if e.line == min {
        "service.min_instances"
    } else {
        assert_eq!(
            e.line, max,
            "neither the min nor the max line\n{}",
            run.stderr
        );
        "service.max_instances"
    };
    assert!(e.rest.starts_with(&format!("{key}: ")), "{}", run.stderr);
    assert!(
        e.rest.contains("20") && e.rest.contains("10"),
        "{}",
        run.stderr
    );
    assert!(e.hint.contains("max_instances"), "{}", run.stderr);
}

// The guardrails of issue 9 §7: well-formed files that would deploy something unsafe. Each is
// refused by `validate`, `plan` and `deploy` alike, at the offending line and key, before any
// request.

/// `yaml` marked `production: true`.
fn production(yaml: &str) -> String {
    insert_after(yaml, "region: us-central1", "production: true")
}

case_tests! { check_everywhere:
    guardrail_a_credential_named_plain_env_var:
        with_env_line("    STRIPE_API_KEY: sk_live_not_a_real_key")
        => ("STRIPE_API_KEY: sk_live", Some("service.env.STRIPE_API_KEY"),
            "looks like a credential", "service.plain_env_allow");
    guardrail_production_needs_strict_euc_enforcement: production(&replaced(
            "    STRICT_EUC_ENFORCEMENT: \"true\"",
            "    STRICT_EUC_ENFORCEMENT: \"false\"",
        ))
        => ("STRICT_EUC_ENFORCEMENT: \"false\"", Some("service.env.STRICT_EUC_ENFORCEMENT"),
            "`production: true` requires", "STRICT_EUC_ENFORCEMENT: \"true\"");
    guardrail_a_public_production_service_needs_an_acknowledgement: production(&replaced(
            "  allow_unauthenticated: false",
            "  allow_unauthenticated: true",
        ))
        => ("allow_unauthenticated: true", Some("service.allow_unauthenticated"),
            "only with `service.public_ack`", "public_ack:");
}

#[tokio::test(flavor = "multi_thread")]
async fn guardrail_the_allow_list_lets_a_credential_looking_name_through() {
    let yaml = insert_after(
        &with_env_line("    PUBLIC_KEY_ID: kid-2026"),
        "  allow_unauthenticated: false",
        "  plain_env_allow: [PUBLIC_KEY_ID]",
    );
    let h = Harness::start(staging_world().build()).await;
    h.write_config("staging", &yaml);
    let run = h.run(&["validate", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
}

/// Cloud Run's limits, offline: an env value over 32768 bytes (run.v2
/// `EnvVar.value`) and a region Cloud Run does not serve fail `validate` at
/// their line, the value never echoed, the nearest region named.
#[tokio::test(flavor = "multi_thread")]
async fn cloud_run_limits_are_checked_offline() {
    let h = Harness::start(staging_world().build()).await;
    let big = "y".repeat(40_000);
    h.write_config(
        "staging",
        &replace_once(&staging(), "LOG_LEVEL: INFO", &format!("LOG_LEVEL: {big}")),
    );
    let run = h.run(&["validate", "--env", "staging"]).await;
    run.assert_code(2);
    run.assert_stderr_contains("service.env.LOG_LEVEL: the value of `LOG_LEVEL` is 40000 bytes");
    assert!(!run.all().contains(&big[..100]), "the value is not echoed");

    h.write_config(
        "staging",
        &replace_once(&staging(), "region: us-central1", "region: mars-north1"),
    );
    let run = h.run(&["validate", "--env", "staging"]).await;
    run.assert_code(2);
    run.assert_stderr_contains("region: unknown region `mars-north1`");
    run.assert_stderr_contains("the nearest Cloud Run region by name is `");
    let run = h.run(&["deploy", "--env", "staging"]).await;
    run.assert_code(2);
    assert!(h.journal().is_empty());
}
