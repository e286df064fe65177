//! `secrets status` and `secrets disable` (issue 9 §6): who reads which
//! version, no disabling of a version a serving revision reads, the
//! permissions both ask up front, and their Markdown; plus the config's
//! refusal of regional secrets.

use crate::harness::*;

fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"\d{4}-\d\d-\d\dT[0-9:.]+Z", "[TIME]"),
        (r"(autosre-\d{5})-[a-z]{3}", "$1-[RND]"),
    ]
}

/// The caller of every run (`staging_world`'s owner).
const CALLER: &str = "user:owner@example.com";

/// Deployed twice into `world`: revision 1 pins gemini-api-key 1, revision
/// 2 (serving 100%) pins version 2.
async fn two_revisions_in(world: autosre_emulator::WorldBuilder) -> Harness {
    let h = Harness::start_staging(world.build()).await;
    assert_eq!(tool(&h, &["deploy", "--env", "staging"]).await.code, 0);
    h.emulator.with_state(|s| {
        s.add_secret_version(PROJECT, "gemini-api-key", PAYLOAD);
    });
    let run = tool(&h, &["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    h.emulator.clear_journal();
    h
}

async fn two_revisions() -> Harness {
    two_revisions_in(staging_world()).await
}

/// [`two_revisions`] deployed by the owner in a world that enforces the
/// caller's permissions; then the caller holds only `roles` on the project.
async fn two_revisions_with_roles(roles: &[&str]) -> Harness {
    let h = two_revisions_in(
        staging_world()
            .caller("owner@example.com")
            .enforce_caller_permissions(),
    )
    .await;
    let project = format!("projects/{PROJECT}");
    h.emulator.with_state(|s| {
        s.remove_binding(&project, "roles/owner", CALLER);
        for role in roles {
            s.add_binding(&project, role, CALLER);
        }
    });
    h
}

/// One run of the tool, boxed: a whole run is a large future, and a test
/// awaits many.
async fn tool(h: &Harness, args: &[&str]) -> Run {
    Box::pin(h.run(args)).await
}

/// `secrets disable --env staging SECRET VERSION [extra...]`.
async fn disable(h: &Harness, secret: &str, version: &str, extra: &[&str]) -> Run {
    let args = [
        &["secrets", "disable", "--env", "staging", secret, version][..],
        extra,
    ]
    .concat();
    // Boxed: a whole run of the tool is a large future.
    tool(h, &args).await
}

/// `secrets status --output json`, and the entry of `secret` in it.
async fn status_of(h: &Harness, secret: &str) -> serde_json::Value {
    let run = tool(
        h,
        &["secrets", "status", "--env", "staging", "--output", "json"],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(v["schema_version"], 1);
    v["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["secret"] == secret)
        .unwrap_or_else(|| panic!("{secret} in {v:#}"))
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_versions_their_readers_and_what_disabling_breaks() {
    let h = two_revisions().await;
    let run = tool(&h, &["secrets", "status", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    insta::with_settings!({filters => filters()}, {
        insta::assert_snapshot!("secrets_status", run.stdout);
    });
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());

    let gemini = status_of(&h, "gemini-api-key").await;
    assert_eq!(gemini["latest"], 2);
    assert_eq!(gemini["versions"][0]["version"], 2);
    assert_eq!(gemini["versions"][0]["used_by"][0]["serving"], true);
    assert_eq!(gemini["versions"][0]["used_by"][0]["percent"], 100);
    assert_eq!(gemini["versions"][1]["breaks"][0]["kind"], "rollback");
}

/// `--output markdown` is Markdown (a table of versions per secret), not
/// the terminal text.
#[tokio::test(flavor = "multi_thread")]
async fn status_in_markdown_is_a_table_per_secret() {
    let h = two_revisions().await;
    let run = tool(
        &h,
        &[
            "secrets", "status", "--env", "staging", "--output", "markdown",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    run.assert_stdout_contains("| Version | State | Created | Read by | Disabling it |");
    insta::with_settings!({filters => filters()}, {
        insta::assert_snapshot!("secrets_status_markdown", run.stdout);
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn disabling_a_version_a_serving_revision_pins_is_refused() {
    let h = two_revisions().await;
    let run = disable(&h, "gemini-api-key", "2", &[]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains("refusing to disable version 2 of secret `gemini-api-key`");
    run.assert_stderr_contains("(100% of traffic) reads it as GOOGLE_API_KEY (pinned)");
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_version_no_serving_revision_reads_is_disabled() {
    let h = two_revisions().await;
    let dry = disable(&h, "gemini-api-key", "1", &["--dry-run"]).await;
    assert_eq!(dry.code, 0, "{}", dry.all());
    dry.assert_stdout_contains("would disable version 1 of secret `gemini-api-key`");
    dry.assert_stderr_contains("could no longer be rolled back to");
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());

    let run = disable(&h, "gemini-api-key", "1", &[]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    run.assert_stdout_contains("disabled version 1 of secret `gemini-api-key`");
    assert_eq!(
        h.count("secretmanager.projects.secrets.versions.disable"),
        1
    );
    let gemini = status_of(&h, "gemini-api-key").await;
    assert_eq!(gemini["versions"][1]["state"], "DISABLED");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_version_latest_resolves_to_for_a_serving_revision_is_refused() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.write_config("staging", &staging_unpinned());
    assert_eq!(tool(&h, &["deploy", "--env", "staging"]).await.code, 0);
    let run = disable(&h, "sre-agent-encryption-key", "1", &[]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains("reads it as SRE_AGENT_ENCRYPTION_KEY (via `latest`)");
    // A version number is required: versions.disable takes no alias.
    let run = disable(&h, "gemini-api-key", "latest", &[]).await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        h.writes()
            .iter()
            .all(|w| !w.rpc.contains("versions.disable"))
    );
}

/// Without the permissions, both commands stop before reading anything but
/// their testIamPermissions answers, naming the permission, its role and
/// the grant command: not a raw 403 from the first refused read.
#[tokio::test(flavor = "multi_thread")]
async fn missing_permissions_are_named_before_any_read() {
    // Cloud Run readable, Secret Manager not at all.
    let h = two_revisions_with_roles(&["roles/run.viewer"]).await;
    let run = tool(&h, &["secrets", "status", "--env", "staging"]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains("preflight failed");
    run.assert_stderr_contains("`secretmanager.versions.list`");
    run.assert_stderr_contains("roles/secretmanager.viewer");
    run.assert_stderr_contains(
        "gcloud secrets add-iam-policy-binding gemini-api-key --project=acme-sre-staging",
    );
    assert_eq!(h.count("secretmanager.projects.secrets.versions.list"), 0);
    assert_eq!(h.count("run.projects.locations.services.revisions.list"), 0);

    // Readers, but no version manager: status works, disable is refused.
    let h = two_revisions_with_roles(&["roles/run.viewer", "roles/secretmanager.viewer"]).await;
    let run = tool(&h, &["secrets", "status", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    h.emulator.clear_journal();
    let run = disable(&h, "gemini-api-key", "1", &[]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains("`secretmanager.versions.disable`");
    run.assert_stderr_contains("roles/secretmanager.secretVersionManager");
    assert!(!run.stderr.contains("run.revisions.list"), "{}", run.stderr);
    assert_eq!(h.count("secretmanager.projects.secrets.versions.list"), 0);
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());

    // No Cloud Run role: the service's reads are named.
    let h = two_revisions_with_roles(&["roles/secretmanager.admin"]).await;
    let run = tool(&h, &["secrets", "status", "--env", "staging"]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains("`run.revisions.list`");
    run.assert_stderr_contains("roles/run.viewer");
    assert_eq!(h.count("run.projects.locations.services.revisions.list"), 0);
}

/// A regional secret (`projects/P/locations/L/secrets/S`) cannot be read by
/// Cloud Run's `secretKeyRef`: the config names it, offline, as
/// unsupported, at its file, line and key.
#[tokio::test(flavor = "multi_thread")]
async fn a_regional_secret_is_a_config_error() {
    let h = Harness::start_staging(staging_world().build()).await;
    let regional = "projects/acme-sre-staging/locations/us-central1/secrets/gemini-api-key";
    let yaml = staging().replace(
        "GOOGLE_API_KEY: gemini-api-key:latest",
        &format!("GOOGLE_API_KEY: {regional}:3"),
    );
    assert!(yaml.contains(regional));
    h.write_config("staging", &yaml);
    let line = yaml
        .lines()
        .position(|l| l.contains(regional))
        .expect("the line")
        + 1;
    for command in ["validate", "plan", "deploy"] {
        let run = tool(&h, &[command, "--env", "staging"]).await;
        assert_eq!(run.code, 2, "{command}: {}", run.all());
        run.assert_stderr_contains(&format!("staging.yaml:{line}:"));
        run.assert_stderr_contains("service.secrets.GOOGLE_API_KEY");
        run.assert_stderr_contains("regional secrets are not supported yet");
        run.assert_stderr_contains("hint:");
    }
    assert!(h.journal().is_empty(), "nothing sent: {:?}", h.journal());
}

/// A secret the environment does not reference may be read by other
/// services: `disable` warns, names those of the project and region that
/// read it (their current template, from `services.list`), and says so in
/// its one JSON document.
#[tokio::test(flavor = "multi_thread")]
async fn disabling_a_secret_the_environment_does_not_reference_names_its_readers() {
    let reader = serde_json::json!({
        "name": "billing",
        "template": {
            "serviceAccount": SA,
            "containers": [{
                "image": "us-docker.pkg.dev/acme-sre-staging/billing/billing:1",
                "env": [{"name": "DB_PASSWORD", "valueSource": {"secretKeyRef": {"secret": "db-password", "version": "latest"}}}],
            }],
        },
    });
    let world = staging_world()
        .secret(PROJECT, "db-password")
        .secret_version(PROJECT, "db-password", VersionState::Enabled, PAYLOAD)
        .secret_version(PROJECT, "db-password", VersionState::Enabled, PAYLOAD)
        .service(PROJECT, "us-central1", reader);
    let h = two_revisions_in(world).await;
    let run = disable(&h, "db-password", "1", &["--dry-run", "--output", "json"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    run.assert_stderr_contains(
        "warning: environment `staging` does not reference secret `db-password`",
    );
    run.assert_stderr_contains(
        "warning: other services in project acme-sre-staging (region us-central1) read secret `db-password`: billing",
    );
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect(&run.stdout);
    assert_eq!(v["action"], "would_disable");
    assert_eq!(v["referenced_by_config"], false);
    assert_eq!(v["other_services"], serde_json::json!(["billing"]));
    assert_eq!(h.count("run.projects.locations.services.list"), 1);
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());
}
