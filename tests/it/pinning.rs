//! Secret version pinning (issue 9 §4, §7): `plan`/`deploy` deploy the version
//! number `latest` or an alias resolves to, so every instance of a revision
//! reads the same value and a new version makes a new revision.

use crate::harness::*;

fn json(run: &Run) -> serde_json::Value {
    assert_eq!(run.code, 0, "{}", run.all());
    serde_json::from_str(&run.stdout).expect("JSON output")
}

/// The version the live service's template reads for `var`.
fn template_version(h: &Harness, var: &str) -> String {
    let svc = h.emulator.service(SERVICE).expect("the service exists");
    let env = svc["template"]["containers"][0]["env"]
        .as_array()
        .expect("env")
        .clone();
    let e = env.iter().find(|e| e["name"] == var).expect("the env var");
    e["valueSource"]["secretKeyRef"]["version"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The version the newest revision resolved `var` to when it started.
fn revision_version(h: &Harness, var: &str) -> u64 {
    let revs = h.emulator.revisions(SERVICE);
    let last = revs.last().expect("a revision");
    last.secret_versions
        .iter()
        .find(|s| s.env == var)
        .expect("the env var's secret")
        .version
}

#[tokio::test(flavor = "multi_thread")]
async fn latest_is_pinned_in_the_plan_and_the_deployed_revision() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.emulator.with_state(|s| {
        s.add_secret_version(PROJECT, "gemini-api-key", PAYLOAD);
    });
    h.emulator.clear_journal();
    let plan = h.run(&["plan", "--env", "staging"]).await;
    assert_eq!(plan.code, 0, "{}", plan.all());
    plan.assert_stdout_contains(
        "secret gemini-api-key: latest -> 2 (pinned), ENABLED (GOOGLE_API_KEY)",
    );
    plan.assert_stdout_contains("+ env.GOOGLE_API_KEY: secret gemini-api-key:2");
    // Pinning costs no request: the preflight's versions.get of each
    // reference already answers with the number (one per reference, no list).
    assert_eq!(h.count("secretmanager.projects.secrets.versions.get"), 3);
    assert_eq!(h.count("secretmanager.projects.secrets.versions.list"), 0);

    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(template_version(&h, "GOOGLE_API_KEY"), "2");
    assert_eq!(template_version(&h, "SRE_AGENT_ENCRYPTION_KEY"), "1");
    assert_eq!(revision_version(&h, "GOOGLE_API_KEY"), 2);

    // Deployed: nothing to change.
    let v = json(
        &h.run(&["plan", "--env", "staging", "--output", "json"])
            .await,
    );
    assert_eq!(v["service"]["action"], "none", "{v:#}");
    assert_eq!(v["preflight"]["secrets"][0]["pinned"], "2");
    assert_eq!(v["preflight"]["secrets"][0]["version"], "latest");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_version_is_a_one_line_change_and_a_new_revision() {
    let h = Harness::start_staging(staging_world().build()).await;
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let revisions = h.emulator.revisions(SERVICE).len();
    h.emulator.with_state(|s| {
        s.add_secret_version(PROJECT, "sre-agent-encryption-key", KEY);
    });

    let v = json(
        &h.run(&["plan", "--env", "staging", "--output", "json"])
            .await,
    );
    let fields = v["service"]["fields"].as_array().expect("fields");
    assert_eq!(fields.len(), 1, "{v:#}");
    assert_eq!(fields[0]["field"], "env.SRE_AGENT_ENCRYPTION_KEY");
    assert_eq!(fields[0]["before"], "secret sre-agent-encryption-key:1");
    assert_eq!(fields[0]["after"], "secret sre-agent-encryption-key:2");
    assert_eq!(v["service"]["new_revision"], true);
    let text = h.run(&["plan", "--env", "staging"]).await;
    text.assert_stdout_contains("~ env.SRE_AGENT_ENCRYPTION_KEY: secret sre-agent-encryption-key:1 -> secret sre-agent-encryption-key:2");

    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(h.emulator.revisions(SERVICE).len(), revisions + 1);
    assert_eq!(revision_version(&h, "SRE_AGENT_ENCRYPTION_KEY"), 2);
    assert_eq!(template_version(&h, "SRE_AGENT_ENCRYPTION_KEY"), "2");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alias_is_resolved_and_pinned() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.emulator.with_state(|s| {
        s.add_secret_version(PROJECT, "gemini-api-key", PAYLOAD);
        s.add_secret_version(PROJECT, "gemini-api-key", PAYLOAD);
        s.set_version_alias(PROJECT, "gemini-api-key", "current", 2);
    });
    h.write_config(
        "staging",
        &staging().replace(
            "GOOGLE_API_KEY: gemini-api-key:latest",
            "GOOGLE_API_KEY: gemini-api-key:current",
        ),
    );
    let plan = h.run(&["plan", "--env", "staging"]).await;
    plan.assert_stdout_contains("secret gemini-api-key: current -> 2 (pinned), ENABLED");
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(template_version(&h, "GOOGLE_API_KEY"), "2");
    assert_eq!(revision_version(&h, "GOOGLE_API_KEY"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_in_another_project_is_checked_pinned_and_granted_there() {
    const SHARED: &str = "acme-shared";
    let world = staging_world()
        .project(SHARED, 987_654_321_098)
        .secret(SHARED, "shared-token")
        .secret_version(SHARED, "shared-token", VersionState::Enabled, PAYLOAD)
        .secret_version(SHARED, "shared-token", VersionState::Enabled, PAYLOAD)
        .build();
    let h = Harness::start_staging(world).await;
    h.write_config(
        "staging",
        &staging().replace(
            "    GOOGLE_CLIENT_ID: google-client-id:latest\n",
            "    GOOGLE_CLIENT_ID: google-client-id:latest\n    SHARED_TOKEN: projects/acme-shared/secrets/shared-token\n",
        ),
    );
    let plan = h.run(&["plan", "--env", "staging"]).await;
    plan.assert_stdout_contains(
        "secret shared-token: latest -> 2 (pinned) in project acme-shared, ENABLED (SHARED_TOKEN)",
    );
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(template_version(&h, "SHARED_TOKEN"), "2");
    assert_eq!(revision_version(&h, "SHARED_TOKEN"), 2);
    let policy = h
        .emulator
        .policy("projects/acme-shared/secrets/shared-token")
        .expect("the shared secret's policy");
    assert!(
        policy
            .bindings
            .iter()
            .any(|b| b.role == "roles/secretmanager.secretAccessor"
                && b.members
                    .iter()
                    .any(|m| m == &format!("serviceAccount:{SA}"))),
        "{policy:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn opting_out_keeps_latest_and_warns_about_the_unpinned_key() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.write_config("staging", &staging_unpinned());
    let plan = h.run(&["plan", "--env", "staging"]).await;
    assert_eq!(plan.code, 0, "{}", plan.all());
    plan.assert_stdout_contains("secret sre-agent-encryption-key:latest -> version 1 ENABLED");
    plan.assert_stdout_contains("the encryption key `sre-agent-encryption-key:latest` is not pinned (`service.pin_secret_versions: false`) and up to 10 instances may run");
    let v = json(
        &h.run(&["plan", "--env", "staging", "--output", "json"])
            .await,
    );
    assert_eq!(v["warnings"][0]["kind"], "encryption_key_unpinned", "{v:#}");
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(template_version(&h, "SRE_AGENT_ENCRYPTION_KEY"), "latest");
}
