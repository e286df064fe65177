//! End-to-end: release engineering. `deploy --no-traffic`, `--tag`,
//! `--to-latest` and `service.traffic: keep`; `promote`, `rollback` and
//! `history`; the real split reported after every rollout.

use serde_json::Value;

use crate::harness::*;

const IMAGE: &str = "us-docker.pkg.dev/acme-sre-staging/autosre/autosre";

/// A staging harness with its first revision deployed; that revision's name.
async fn deployed() -> (Harness, String) {
    let h = Harness::start_staging(staging_world().build()).await;
    h.run(&["deploy", "--env", "staging"]).await.assert_code(0);
    let first = latest_ready(&h);
    (h, first)
}

/// The service's latest ready revision, short.
fn latest_ready(h: &Harness) -> String {
    short(&h.emulator.service(SERVICE).unwrap()["latestReadyRevision"])
}

fn short(v: &Value) -> String {
    v.as_str().unwrap().rsplit('/').next().unwrap().to_string()
}

/// Revision -> percent, from the emulator's `trafficStatuses`.
fn split(h: &Harness) -> Vec<(String, i64)> {
    let svc = h.emulator.service(SERVICE).unwrap();
    let mut out: Vec<(String, i64)> = svc["trafficStatuses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["percent"].as_i64().unwrap_or(0) > 0)
        .map(|s| (short(&s["revision"]), s["percent"].as_i64().unwrap()))
        .collect();
    out.sort();
    out
}

/// The emulator's requested targets with a tag: (tag, revision or "LATEST").
fn tags(h: &Harness) -> Vec<(String, String)> {
    let svc = h.emulator.service(SERVICE).unwrap();
    svc["traffic"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| {
            let tag = t["tag"].as_str()?.to_string();
            let rev = t["revision"].as_str().unwrap_or("LATEST").to_string();
            Some((tag, rev))
        })
        .collect()
}

async fn deploy(h: &Harness, image_tag: &str, extra: &[&str]) -> Run {
    let image = format!("{IMAGE}:{image_tag}");
    let mut args = vec!["deploy", "--env", "staging", "--image", &image];
    args.extend_from_slice(extra);
    h.run(&args).await
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

#[tokio::test(flavor = "multi_thread")]
async fn no_traffic_is_refused_on_a_first_deploy_before_any_write() {
    let h = Harness::start_staging(staging_world().build()).await;
    let run = h.run(&["deploy", "--env", "staging", "--no-traffic"]).await;
    run.assert_code(1);
    run.assert_stderr_contains("--no-traffic is refused on a first deploy");
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());
}

#[tokio::test(flavor = "multi_thread")]
async fn no_traffic_keeps_the_split_by_name_and_names_the_new_revision() {
    let (h, first) = deployed().await;
    let run = deploy(&h, "2", &["--no-traffic", "--output", "json"]).await;
    run.assert_code(0);
    let new = latest_ready(&h);
    assert_ne!(new, first);
    // Traffic stays on the first revision, by name.
    assert_eq!(split(&h), [(first.clone(), 100)]);
    let out = json(&run);
    let svc = &out["outcome"]["service"];
    assert_eq!(svc["revision"], new.as_str());
    assert_eq!(svc["serving"], first.as_str());
    assert_eq!(svc["traffic"][0]["revision"], first.as_str());
    assert_eq!(svc["traffic"][0]["percent"], 100);
    run.assert_stderr_contains(&format!(
        "Deployed revision {new} of autosre without traffic"
    ));
    // The human report says the same.
    let run = deploy(&h, "3", &["--no-traffic"]).await;
    run.assert_code(0);
    let newer = latest_ready(&h);
    run.assert_stdout_contains(&format!("revision={newer} serving={first}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tag_gives_the_new_revision_a_url_and_moves_from_the_old_one() {
    let (h, _) = deployed().await;
    let run = deploy(&h, "2", &["--no-traffic", "--tag", "canary"]).await;
    run.assert_code(0);
    let second = latest_ready(&h);
    assert_eq!(tags(&h), [("canary".to_string(), second.clone())]);
    let url = h.emulator.service(SERVICE).unwrap()["uri"]
        .as_str()
        .unwrap()
        .strip_prefix("https://")
        .unwrap()
        .to_string();
    run.assert_stdout_contains(&format!("tag canary: {second} https://canary---{url}"));
    run.assert_stderr_contains(&format!("Tagged URL `canary`: https://canary---{url}"));

    // The plan for the next tagged deploy says the tag moves; the deploy moves it.
    let image = format!("{IMAGE}:3");
    let plan = h
        .run(&[
            "deploy",
            "--env",
            "staging",
            "--image",
            &image,
            "--no-traffic",
            "--tag",
            "canary",
            "--dry-run",
        ])
        .await;
    plan.assert_code(0);
    plan.assert_stdout_contains(&format!("tag canary: {second}"));
    plan.assert_stdout_contains("tag canary: autosre-");
    let run = deploy(&h, "3", &["--no-traffic", "--tag", "canary"]).await;
    run.assert_code(0);
    let third = latest_ready(&h);
    assert_eq!(tags(&h), [("canary".to_string(), third)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tag_too_long_is_refused_before_any_request() {
    let h = Harness::start_staging(staging_world().build()).await;
    // "autosre" is 7 characters: 40 more is 47, over Cloud Run's 46.
    let tag = "t".repeat(40);
    let run = h.run(&["deploy", "--env", "staging", "--tag", &tag]).await;
    run.assert_code(2);
    run.assert_stderr_contains("at most 46 characters");
    assert!(h.journal().is_empty(), "{:?}", h.journal());
}

#[tokio::test(flavor = "multi_thread")]
async fn pinned_traffic_is_shown_with_keep_and_to_latest_restores_latest() {
    let (h, first) = deployed().await;
    h.write_config(
        "staging",
        &staging().replace(
            "  allow_unauthenticated: false\n",
            "  allow_unauthenticated: false\n  traffic: keep\n",
        ),
    );
    deploy(&h, "2", &["--no-traffic"]).await.assert_code(0);
    let image = format!("{IMAGE}:3");
    let plan = h
        .run(&["plan", "--env", "staging", "--image", &image])
        .await;
    plan.assert_code(0);
    plan.assert_all_contains("traffic is pinned to named revisions");
    plan.assert_all_contains("autosre-deploy promote --env staging");
    plan.assert_stdout_contains("none to the new revision");

    // A plain deploy with `keep` leaves it pinned, and says so.
    let run = deploy(&h, "3", &[]).await;
    run.assert_code(0);
    assert_eq!(split(&h), [(first.clone(), 100)]);
    run.assert_stdout_contains(&format!("serving={first}"));

    // --to-latest: the plan shows the traffic change; the deploy serves the new revision.
    let image = format!("{IMAGE}:4");
    let plan = h
        .run(&[
            "deploy",
            "--env",
            "staging",
            "--image",
            &image,
            "--to-latest",
            "--dry-run",
        ])
        .await;
    plan.assert_stdout_contains(&format!("100% {first}"));
    plan.assert_stdout_contains("100% LATEST");
    let run = deploy(&h, "4", &["--to-latest"]).await;
    run.assert_code(0);
    let fourth = latest_ready(&h);
    assert_eq!(split(&h), [(fourth, 100)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn by_default_a_deploy_restores_latest_as_a_planned_change() {
    let (h, first) = deployed().await;
    deploy(&h, "2", &["--no-traffic"]).await.assert_code(0);
    assert_eq!(split(&h), [(first, 100)]);
    let run = deploy(&h, "3", &[]).await;
    run.assert_code(0);
    run.assert_stderr_contains("100% LATEST");
    let third = latest_ready(&h);
    assert_eq!(split(&h), [(third, 100)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unchanged_deploy_reports_the_service_in_json() {
    let (h, first) = deployed().await;
    let run = h
        .run(&["deploy", "--env", "staging", "--output", "json"])
        .await;
    run.assert_code(0);
    let out = json(&run);
    let svc = &out["outcome"]["service"];
    assert!(
        svc["url"].as_str().unwrap().starts_with("https://autosre-"),
        "{out}"
    );
    assert_eq!(svc["serving"], first.as_str());
    assert_eq!(svc["traffic"][0]["percent"], 100);
    assert!(svc.get("revision").is_none());
}
