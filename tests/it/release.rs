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

/// Revisions of the service in the emulator.
fn revision_count(h: &Harness) -> usize {
    h.emulator.revisions(SERVICE).len()
}

#[tokio::test(flavor = "multi_thread")]
async fn promote_10_then_50_then_all_restores_latest_without_a_new_revision() {
    let (h, first) = deployed().await;
    deploy(&h, "2", &["--no-traffic", "--tag", "canary"])
        .await
        .assert_code(0);
    let second = latest_ready(&h);
    let revisions = revision_count(&h);

    // A dry run plans and writes nothing.
    let writes = h.writes().len();
    let run = h
        .run(&[
            "promote",
            "--env",
            "staging",
            "--tag",
            "canary",
            "--percent",
            "10",
            "--dry-run",
        ])
        .await;
    run.assert_code(0);
    run.assert_stdout_contains(&format!("10% {second} (tag canary), 90% {first}"));
    assert_eq!(h.writes().len(), writes);

    let run = h
        .run(&[
            "promote",
            "--env",
            "staging",
            "--tag",
            "canary",
            "--percent",
            "10",
        ])
        .await;
    run.assert_code(0);
    assert_eq!(split(&h), {
        let mut v = vec![(first.clone(), 90), (second.clone(), 10)];
        v.sort();
        v
    });
    // A deploy with traffic split 90 named / 10 LATEST... here all named: the
    // outcome names what really serves, in JSON too.
    let run = h
        .run(&[
            "promote",
            "--env",
            "staging",
            "--revision",
            &second,
            "--percent",
            "50",
            "--output",
            "json",
        ])
        .await;
    run.assert_code(0);
    let out = json(&run);
    assert_eq!(out["plan"]["after"][0]["percent"], 50);
    let shares = out["outcome"]["service"]["traffic"].as_array().unwrap();
    assert_eq!(
        shares
            .iter()
            .map(|s| s["percent"].as_i64().unwrap())
            .sum::<i64>(),
        100
    );

    // Plain promote: the newest ready revision gets all, as LATEST again.
    let run = h.run(&["promote", "--env", "staging"]).await;
    run.assert_code(0);
    assert_eq!(split(&h), [(second.clone(), 100)]);
    let svc = h.emulator.service(SERVICE).unwrap();
    assert!(
        svc["traffic"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t.get("revision").is_none() && t["percent"] == 100),
        "{svc}"
    );
    // The tag stays; no move made a revision.
    assert_eq!(tags(&h), [("canary".to_string(), second)]);
    assert_eq!(revision_count(&h), revisions);
    // Later deploys serve again.
    deploy(&h, "3", &[]).await.assert_code(0);
    assert_eq!(split(&h), [(latest_ready(&h), 100)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_split_with_latest_is_reported_as_it_serves_after_a_deploy() {
    let (h, first) = deployed().await;
    h.write_config(
        "staging",
        &staging().replace(
            "  allow_unauthenticated: false\n",
            "  allow_unauthenticated: false\n  traffic: keep\n",
        ),
    );
    deploy(&h, "2", &[]).await.assert_code(0);
    let second = latest_ready(&h);
    // 90% named on the first, 10% on LATEST (the second).
    h.run(&[
        "promote",
        "--env",
        "staging",
        "--revision",
        &first,
        "--percent",
        "90",
    ])
    .await
    .assert_code(0);
    let plan = h
        .run(&["plan", "--env", "staging", "--image", &format!("{IMAGE}:3")])
        .await;
    plan.assert_stdout_contains("10% to the new revision (LATEST)");
    let run = deploy(&h, "3", &["--output", "json"]).await;
    run.assert_code(0);
    let third = latest_ready(&h);
    assert_ne!(third, second);
    let out = json(&run);
    let svc = &out["outcome"]["service"];
    assert_eq!(svc["serving"], first.as_str());
    let latest = svc["traffic"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["latest"] == true)
        .unwrap();
    assert_eq!(latest["revision"], third.as_str());
    assert_eq!(latest["percent"], 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn promote_refuses_a_revision_that_is_not_ready() {
    // The first rollout fails (the grants have not propagated), the retry is ready.
    let (h, run) = deploy_retried_once(staging_world().build()).await;
    run.assert_code(0);
    let failed = h.emulator.revisions(SERVICE)[0].name.clone();
    assert!(!h.emulator.revisions(SERVICE)[0].ready);
    let writes = h.writes().len();
    let run = h
        .run(&[
            "promote",
            "--env",
            "staging",
            "--revision",
            &failed,
            "--output",
            "json",
        ])
        .await;
    run.assert_code(1);
    let out = json(&run);
    assert_eq!(out["plan"]["problems"][0]["kind"], "revision_cannot_start");
    assert_eq!(h.writes().len(), writes);
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_goes_back_and_a_second_rollback_undoes_it() {
    let (h, first) = deployed().await;
    deploy(&h, "2", &[]).await.assert_code(0);
    let second = latest_ready(&h);
    let revisions = revision_count(&h);

    let run = h.run(&["rollback", "--env", "staging", "--dry-run"]).await;
    run.assert_code(0);
    run.assert_stdout_contains(&format!("all traffic to {first}"));

    let run = h.run(&["rollback", "--env", "staging"]).await;
    run.assert_code(0);
    assert_eq!(split(&h), [(first.clone(), 100)]);
    run.assert_stderr_contains("Undo with `autosre-deploy rollback --env staging`");
    let run = h.run(&["rollback", "--env", "staging"]).await;
    run.assert_code(0);
    assert_eq!(split(&h), [(second.clone(), 100)]);
    // Traffic moves only.
    assert_eq!(revision_count(&h), revisions);

    // With --to, any ready revision.
    let run = h
        .run(&[
            "rollback", "--env", "staging", "--to", &first, "--output", "json",
        ])
        .await;
    run.assert_code(0);
    assert_eq!(json(&run)["outcome"]["service"]["serving"], first.as_str());
    let run = h
        .run(&["rollback", "--env", "staging", "--to", "autosre-99999-zzz"])
        .await;
    run.assert_code(1);
    run.assert_stderr_contains("has no revision `autosre-99999-zzz`");
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_refuses_a_revision_pinned_to_a_disabled_version() {
    let (h, first) = deployed().await;
    // A new key version, deployed; then the first revision's version disabled.
    h.run(&["key", "rotate", "--env", "staging", "--no-deploy"])
        .await
        .assert_code(0);
    deploy(&h, "2", &[]).await.assert_code(0);
    h.run(&[
        "secrets",
        "disable",
        "--env",
        "staging",
        "sre-agent-encryption-key",
        "1",
    ])
    .await
    .assert_code(0);
    let writes = h.writes().len();
    let run = h.run(&["rollback", "--env", "staging"]).await;
    run.assert_code(1);
    run.assert_all_contains(&format!(
        "revision {first} reads SRE_AGENT_ENCRYPTION_KEY from secret `sre-agent-encryption-key` version 1, which is DISABLED"
    ));
    run.assert_all_contains("gcloud secrets versions enable 1 --secret sre-agent-encryption-key");
    assert_eq!(h.writes().len(), writes, "nothing was written");
    let run = h
        .run(&["rollback", "--env", "staging", "--output", "json"])
        .await;
    run.assert_code(1);
    assert_eq!(
        json(&run)["plan"]["problems"][0]["kind"],
        "revision_cannot_start"
    );
}

/// The version disabled between the plan and the write: the tool's check
/// passed, Cloud Run refuses to route to a revision that cannot start, the
/// rollback fails with Google's words and traffic stays where it was.
#[tokio::test(flavor = "multi_thread")]
async fn a_rollback_to_a_revision_whose_version_is_disabled_meanwhile_fails_and_traffic_stays() {
    let (h, first) = deployed().await;
    h.run(&["key", "rotate", "--env", "staging", "--no-deploy"])
        .await
        .assert_code(0);
    deploy(&h, "2", &[]).await.assert_code(0);
    let second = latest_ready(&h);
    h.emulator
        .before_request("PATCH", "/services/autosre", |state| {
            state.disable_secret_version(PROJECT, "sre-agent-encryption-key", 1);
        });
    let run = h.run(&["rollback", "--env", "staging"]).await;
    run.assert_code(1);
    run.assert_all_contains(&format!(
        "Revision '{first}' is not ready and cannot serve traffic."
    ));
    run.assert_all_contains("is in DISABLED state");
    assert_eq!(split(&h), [(second, 100)]);
    let svc = h.emulator.service(SERVICE).unwrap();
    assert_eq!(
        svc["terminalCondition"]["reason"],
        "SECRETS_ACCESS_CHECK_FAILED"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn history_lists_revisions_newest_first_in_each_format() {
    let (h, first) = deployed().await;
    deploy(&h, "2", &["--no-traffic", "--tag", "canary"])
        .await
        .assert_code(0);
    let second = latest_ready(&h);

    let run = h.run(&["history", "--env", "staging"]).await;
    run.assert_code(0);
    let out = &run.stdout;
    let (a, b) = (out.find(&second).unwrap(), out.find(&first).unwrap());
    assert!(a < b, "newest first:\n{out}");
    run.assert_stdout_contains(&format!("{first} 100% ready"));
    // The build each revision runs: the digest `:2` named at its deploy.
    run.assert_stdout_contains(&format!("{IMAGE}@{}", staging_digest("2")));
    run.assert_stdout_contains("tag: canary https://canary---autosre-");
    run.assert_stdout_contains("SRE_AGENT_ENCRYPTION_KEY=sre-agent-encryption-key:1");
    run.assert_stdout_contains(&format!("autosre-deploy {}", env!("CARGO_PKG_VERSION")));
    run.assert_stdout_contains("<- rollback target");

    let run = h
        .run(&[
            "history", "--env", "staging", "--output", "json", "--limit", "1",
        ])
        .await;
    run.assert_code(0);
    let j = json(&run);
    assert_eq!(j["revisions"].as_array().unwrap().len(), 1);
    assert_eq!(j["revisions"][0]["name"], second.as_str());
    assert_eq!(j["revisions"][0]["tags"][0]["tag"], "canary");
    assert_eq!(j["rollback_target"], first.as_str());
    assert_eq!(j["more"], 1);

    let run = h
        .run(&["history", "--env", "staging", "--output", "markdown"])
        .await;
    run.assert_code(0);
    run.assert_stdout_contains("| revision | created |");
    run.assert_stdout_contains(&format!("| `{first}` |"));
}
