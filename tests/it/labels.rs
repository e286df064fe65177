//! End-to-end: labels. The service and its revisions carry
//! `managed-by=autosre-deploy` and the commit deployed (`commit-sha`, from
//! `GITHUB_SHA` or `--label`), the config's `service.labels` and `--label`;
//! labels set by others stay; `labels: false` leaves out the tool's own; a
//! bad label is refused before any request; a new commit alone is no change.

use serde_json::{Value, json};

use crate::harness::*;

/// `config/staging.yaml` with `labels` (YAML, indented under `service:`).
fn staging_with_labels(labels: &str) -> String {
    let config = staging().replace("service:\n", &format!("service:\n  labels: {labels}\n"));
    assert!(config.contains("  labels: "), "{config}");
    config
}

/// A label map, sorted (Cloud Run keeps no order).
fn labels(v: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_service_and_its_revision_carry_the_tools_labels_and_keep_others() {
    // A service someone else labelled `owner: platform`.
    let world = staging_world()
        .service(
            PROJECT,
            "us-central1",
            json!({"name": "autosre", "labels": {"owner": "platform"},
                "template": {"labels": {"owner": "platform"},
                    "containers": [{"image": format!("{STAGING_IMAGE}:1")}]}}),
        )
        .build();
    let h = Harness::start(world).await;
    h.write_config("staging", &staging_with_labels("{team: sre}"));
    let run = h
        .run_with(
            &["deploy", "--env", "staging", "--label", "tier=agent"],
            &[("GITHUB_SHA", "0A1B2C3D4E5F")],
        )
        .await;
    run.assert_code(0);
    let svc = h.emulator.service(SERVICE).unwrap();
    let expected = pairs(&[
        ("commit-sha", "0a1b2c3d4e5f"),
        ("managed-by", "autosre-deploy"),
        ("owner", "platform"),
        ("team", "sre"),
        ("tier", "agent"),
    ]);
    assert_eq!(labels(&svc["labels"]), expected, "{svc}");
    assert_eq!(labels(&svc["template"]["labels"]), expected, "{svc}");
    // The revision keeps them: `history` names the commit.
    let history = h.run(&["history", "--env", "staging"]).await;
    history.assert_stdout_contains("0a1b2c3d4e5f");
}

#[tokio::test(flavor = "multi_thread")]
async fn labels_false_leaves_out_the_tools_own() {
    let h = Harness::start(staging_world().build()).await;
    h.write_config("staging", &staging_with_labels("false"));
    h.run_with(&["deploy", "--env", "staging"], &[("GITHUB_SHA", "abc123")])
        .await
        .assert_code(0);
    let svc = h.emulator.service(SERVICE).unwrap();
    assert_eq!(labels(&svc["labels"]), [], "{svc}");
    assert_eq!(labels(&svc["template"]["labels"]), [], "{svc}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_label_is_refused_before_any_request() {
    let h = Harness::start(staging_world().build()).await;
    h.write_config("staging", &staging());
    for bad in ["Team=sre", "team=SRE", "run.googleapis.com/x=1", "team"] {
        let run = h.run(&["deploy", "--env", "staging", "--label", bad]).await;
        assert_eq!(run.code, 2, "{bad}: {}", run.all());
        run.assert_stderr_contains("--label");
    }
    let run = h
        .run_with(
            &["plan", "--env", "staging"],
            &[("GITHUB_SHA", "not a sha")],
        )
        .await;
    assert_eq!(run.code, 2, "{}", run.all());
    run.assert_stderr_contains("commit-sha");

    h.write_config("staging", &staging_with_labels("{Team: sre}"));
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 2, "{}", run.all());
    // `staging.yaml:7:...: service.labels.Team`
    run.assert_stderr_contains("staging.yaml:7");
    run.assert_stderr_contains("service.labels.Team");
    assert!(h.journal().is_empty(), "{:#?}", h.journal());
}

/// A redeploy of the same config at a new commit is no change: 0 writes.
/// With a real change, the new commit is written with it.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_commit_alone_is_no_change() {
    let h = Harness::start_staging(staging_world().build()).await;
    async fn deploy(h: &Harness, sha: &str, extra: &[&str]) -> Run {
        let mut args = vec!["deploy", "--env", "staging"];
        args.extend_from_slice(extra);
        h.run_with(&args, &[("GITHUB_SHA", sha)]).await
    }
    deploy(&h, "aaaa111", &[]).await.assert_code(0);
    h.emulator.clear_journal();
    let run = deploy(&h, "bbbb222", &[]).await;
    run.assert_code(0);
    run.assert_stderr_contains("No changes");
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());
    let svc = h.emulator.service(SERVICE).unwrap();
    assert_eq!(svc["labels"]["commit-sha"], "aaaa111");

    let next = format!("{STAGING_IMAGE}:next");
    deploy(&h, "cccc333", &["--image", &next])
        .await
        .assert_code(0);
    let svc = h.emulator.service(SERVICE).unwrap();
    assert_eq!(svc["labels"]["commit-sha"], "cccc333");
    assert_eq!(svc["template"]["labels"]["commit-sha"], "cccc333");
}
