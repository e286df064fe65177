//! `secrets status` and `secrets disable` (issue 9 §6): who reads which
//! version, and no disabling of a version a serving revision reads.

use crate::harness::*;

fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"\d{4}-\d\d-\d\dT[0-9:.]+Z", "[TIME]"),
        (r"(autosre-\d{5})-[a-z]{3}", "$1-[RND]"),
    ]
}

/// Deployed twice: revision 1 pins gemini-api-key 1, revision 2 (serving
/// 100%) pins version 2.
async fn two_revisions() -> Harness {
    let h = Harness::start_staging(staging_world().build()).await;
    assert_eq!(h.run(&["deploy", "--env", "staging"]).await.code, 0);
    h.emulator.with_state(|s| {
        s.add_secret_version(PROJECT, "gemini-api-key", PAYLOAD);
    });
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    h
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_versions_their_readers_and_what_disabling_breaks() {
    let h = two_revisions().await;
    h.emulator.clear_journal();
    let run = h.run(&["secrets", "status", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    insta::with_settings!({filters => filters()}, {
        insta::assert_snapshot!("secrets_status", run.stdout);
    });
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());
    assert!(!run.all().contains(std::str::from_utf8(PAYLOAD).unwrap()));

    let run = h
        .run(&["secrets", "status", "--env", "staging", "--output", "json"])
        .await;
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(v["schema_version"], 1);
    let gemini = v["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["secret"] == "gemini-api-key")
        .expect("gemini-api-key");
    assert_eq!(gemini["latest"], 2);
    assert_eq!(gemini["versions"][0]["version"], 2);
    assert_eq!(gemini["versions"][0]["used_by"][0]["serving"], true);
    assert_eq!(gemini["versions"][0]["used_by"][0]["percent"], 100);
    assert_eq!(gemini["versions"][1]["breaks"][0]["kind"], "rollback");
}

#[tokio::test(flavor = "multi_thread")]
async fn disabling_a_version_a_serving_revision_pins_is_refused() {
    let h = two_revisions().await;
    h.emulator.clear_journal();
    let run = h
        .run(&[
            "secrets",
            "disable",
            "--env",
            "staging",
            "gemini-api-key",
            "2",
        ])
        .await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains("refusing to disable version 2 of secret `gemini-api-key`");
    run.assert_stderr_contains("(100% of traffic) reads it as GOOGLE_API_KEY (pinned)");
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_version_no_serving_revision_reads_is_disabled() {
    let h = two_revisions().await;
    h.emulator.clear_journal();
    let dry = h
        .run(&[
            "secrets",
            "disable",
            "--env",
            "staging",
            "gemini-api-key",
            "1",
            "--dry-run",
        ])
        .await;
    assert_eq!(dry.code, 0, "{}", dry.all());
    dry.assert_stderr_contains("would disable version 1 of secret `gemini-api-key`");
    dry.assert_stderr_contains("could no longer be rolled back to");
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());

    let run = h
        .run(&[
            "secrets",
            "disable",
            "--env",
            "staging",
            "gemini-api-key",
            "1",
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.all());
    run.assert_stderr_contains("disabled version 1 of secret `gemini-api-key`");
    assert_eq!(
        h.count("secretmanager.projects.secrets.versions.disable"),
        1
    );
    let v: serde_json::Value = serde_json::from_str(
        &h.run(&["secrets", "status", "--env", "staging", "--output", "json"])
            .await
            .stdout,
    )
    .unwrap();
    let gemini = v["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["secret"] == "gemini-api-key")
        .unwrap()
        .clone();
    assert_eq!(gemini["versions"][1]["state"], "DISABLED");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_version_latest_resolves_to_for_a_serving_revision_is_refused() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.write_config(
        "staging",
        &staging().replace(
            "  allow_unauthenticated: false\n",
            "  allow_unauthenticated: false\n  pin_secret_versions: false\n",
        ),
    );
    assert_eq!(h.run(&["deploy", "--env", "staging"]).await.code, 0);
    let run = h
        .run(&[
            "secrets",
            "disable",
            "--env",
            "staging",
            "sre-agent-encryption-key",
            "1",
        ])
        .await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains("reads it as SRE_AGENT_ENCRYPTION_KEY (via `latest`)");
    // A version number is required: versions.disable takes no alias.
    let run = h
        .run(&[
            "secrets",
            "disable",
            "--env",
            "staging",
            "gemini-api-key",
            "latest",
        ])
        .await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        h.writes()
            .iter()
            .all(|w| !w.rpc.contains("versions.disable"))
    );
}
