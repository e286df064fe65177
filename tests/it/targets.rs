//! Many targets in one run: `regions:`, `--env` repeated, `--all`, `--target`, the
//! `targets` matrix, one IAM write per policy, `--fail-fast` / `--keep-going`, saved plans of
//! several targets, two processes sharing a policy, and a sequential depth that does not grow
//! with the number of targets (counted from the emulator's journal, never timed).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::harness::*;

mod depth;
mod json;

const EUROPE: &str = "projects/acme-sre-staging/locations/europe-west1/services/autosre";

/// `config/staging.yaml` deploying to us-central1 and europe-west1, with one more warm
/// instance in Europe.
fn two_regions() -> String {
    let yaml = staging().replace(
        "region: us-central1\n",
        "regions:\n  - us-central1\n  - europe-west1:\n      min_instances: 1\n",
    );
    assert!(yaml.contains("regions:"), "{yaml}");
    yaml
}

/// The staging file as another environment in the same project: another service, another
/// project role.
fn second_env() -> String {
    staging()
        .replace("  name: autosre\n", "  name: autosre-two\n")
        .replace(
            "project_roles: [roles/cloudtrace.agent,",
            "project_roles: [roles/logging.viewer, roles/cloudtrace.agent,",
        )
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.all()))
}

/// How many requests of discovery method `rpc` went to each path.
fn per_path(h: &Harness, rpc: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for e in h.journal().into_iter().filter(|e| e.rpc == rpc) {
        *out.entry(e.path).or_default() += 1;
    }
    out
}

fn min_instances(h: &Harness, service: &str) -> i64 {
    let svc = h.emulator.service(service).expect("the service");
    svc["template"]["scaling"]["minInstanceCount"]
        .as_i64()
        .unwrap_or(0)
}

#[tokio::test]
async fn two_regions_from_one_file_deploy_to_both_with_their_overrides() {
    let h = Harness::start(staging_world().build()).await;
    h.write_config("staging", &two_regions());
    let run = h
        .run(&["deploy", "--env", "staging", "--output", "json"])
        .await;
    run.assert_code(0);
    let doc = json(&run);
    let targets: Vec<&str> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["staging/us-central1", "staging/europe-west1"]);
    assert_eq!(doc["totals"]["targets"], 2);
    assert_eq!(doc["totals"]["done"], 2);
    for t in doc["targets"].as_array().unwrap() {
        assert_eq!(t["status"], "done", "{t}");
        assert!(t["outcome"]["service"]["ready"].as_bool().unwrap(), "{t}");
    }
    assert_eq!(min_instances(&h, SERVICE), 0);
    assert_eq!(min_instances(&h, EUROPE), 1);
    // Both regions' services read their secrets with the one runtime account, whose
    // per-secret grants are written once each.
    for (path, n) in per_path(&h, "secretmanager.projects.secrets.setIamPolicy") {
        assert_eq!(n, 1, "{path} written {n} times");
    }
    assert_eq!(h.count("cloudresourcemanager.projects.setIamPolicy"), 1);
}

#[tokio::test]
async fn two_environments_in_one_project_read_and_write_the_project_policy_once() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.write_config("second", &second_env());
    let run = h
        .run(&["deploy", "--env", "staging", "--env", "second"])
        .await;
    run.assert_code(0);
    run.assert_stdout_contains("2 targets: 2 done, 0 failed, 0 not rolled out, 0 unchanged.");
    assert_eq!(h.count("cloudresourcemanager.projects.getIamPolicy"), 1);
    assert_eq!(h.count("cloudresourcemanager.projects.setIamPolicy"), 1);
    assert_eq!(h.count("cloudresourcemanager.projects.get"), 1);
    let policy = h.policy("projects/acme-sre-staging");
    for role in [
        "roles/logging.viewer",
        "roles/cloudtrace.agent",
        "roles/logging.logWriter",
    ] {
        assert!(binds(&policy, role, SA_MEMBER), "{role}: {policy:?}");
    }
    assert!(binds(&policy, "roles/owner", "user:owner@example.com"));
    assert!(h.emulator.service(SERVICE).is_some());
    assert!(
        h.emulator
            .service("projects/acme-sre-staging/locations/us-central1/services/autosre-two")
            .is_some()
    );
}

#[tokio::test]
async fn a_plan_of_several_targets_is_one_document_with_a_total() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.write_config("second", &second_env());
    let run = h.run(&["plan", "--all"]).await;
    run.assert_code(0);
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());
    run.assert_stdout_contains("Plan for environment `second`");
    run.assert_stdout_contains("Plan for environment `staging`");
    let total = run.stdout.lines().last().unwrap();
    assert!(total.starts_with("Plan: 2 targets, "), "{total}");
    let md = h.run(&["plan", "--all", "--output", "markdown"]).await;
    md.assert_code(0);
    assert!(
        md.stdout.starts_with("## autosre-deploy plan: 2 targets"),
        "{}",
        md.stdout
    );
    assert_eq!(
        md.stdout.matches("### autosre-deploy plan: ").count(),
        2,
        "{}",
        md.stdout
    );
    let j = h.run(&["plan", "--all", "--output", "json"]).await;
    let doc = json(&j);
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["targets"][0]["target"], "second/us-central1");
    assert_eq!(doc["targets"][0]["environment"], "second");
    assert!(doc["targets"][1]["preflight"].is_object());
}

#[tokio::test]
async fn all_deploys_every_environment() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.write_config("second", &second_env());
    let run = h.run(&["deploy", "--all"]).await;
    run.assert_code(0);
    assert_eq!(h.count("run.projects.locations.services.create"), 2);
    assert_eq!(h.count("cloudresourcemanager.projects.setIamPolicy"), 1);
}

#[tokio::test]
async fn targets_prints_the_ci_matrix_and_deploy_target_deploys_one() {
    let h = Harness::start(staging_world().build()).await;
    h.write_config("staging", &two_regions());
    h.write_config("second", &second_env());
    let run = h.run(&["targets", "--output", "json"]).await;
    run.assert_code(0);
    assert_eq!(
        run.stdout.trim().lines().count(),
        1,
        "one line for a step output"
    );
    let matrix = json(&run);
    assert_eq!(
        matrix,
        serde_json::json!([
            {"target": "second/us-central1", "env": "second", "project": "acme-sre-staging",
             "region": "us-central1", "service": "autosre-two"},
            {"target": "staging/us-central1", "env": "staging", "project": "acme-sre-staging",
             "region": "us-central1", "service": "autosre"},
            {"target": "staging/europe-west1", "env": "staging", "project": "acme-sre-staging",
             "region": "europe-west1", "service": "autosre"},
        ])
    );
    assert!(h.journal().is_empty(), "`targets` reads only the config");
    let run = h.run(&["deploy", "--target", "staging/europe-west1"]).await;
    run.assert_code(0);
    // One target prints what a single-region deploy prints.
    assert!(!run.stdout.contains("targets"), "{}", run.stdout);
    assert!(h.emulator.service(EUROPE).is_some());
    assert!(h.emulator.service(SERVICE).is_none());
    let bad = h.run(&["deploy", "--target", "staging/asia-east1"]).await;
    bad.assert_code(2);
    bad.assert_stderr_contains("does not deploy to `asia-east1`");
    bad.assert_stderr_contains("`us-central1`, `europe-west1`");
}

#[tokio::test]
async fn a_command_on_one_region_of_a_regions_file_asks_which() {
    let h = Harness::start(staging_world().build()).await;
    h.write_config("staging", &two_regions());
    let run = h.run(&["history", "--env", "staging"]).await;
    run.assert_code(2);
    run.assert_stderr_contains("deploys to 2 regions");
    run.assert_stderr_contains("--region");
    assert!(h.journal().is_empty());
}

/// Both regions deployed once, then a new image whose Europe revision fails.
async fn deployed_then_europe_fails() -> Harness {
    let h = Harness::start(staging_world().build()).await;
    h.write_config(
        "staging",
        &two_regions().replace(
            "  - us-central1\n  - europe-west1:\n      min_instances: 1\n",
            "  - europe-west1\n  - us-central1\n",
        ),
    );
    h.run(&["deploy", "--env", "staging"]).await.assert_code(0);
    h.emulator.fail_revisions_of(
        "/locations/europe-west1/",
        "CONTAINER_MISSING",
        "Image 'us-docker.pkg.dev/acme-sre-staging/autosre/autosre:next' not found.",
    );
    h.emulator.clear_journal();
    h
}

fn latest_ready(h: &Harness, service: &str) -> String {
    h.emulator.service(service).unwrap()["latestReadyRevision"]
        .as_str()
        .unwrap()
        .to_string()
}

const NEXT: &str = "us-docker.pkg.dev/acme-sre-staging/autosre/autosre:next";

/// What a deploy of [`NEXT`] sends: its tag resolved to the digest.
fn next_by_digest() -> String {
    format!("{STAGING_IMAGE}@{}", staging_digest("next"))
}

#[tokio::test]
async fn fail_fast_rolls_out_no_target_after_a_failed_one() {
    let h = deployed_then_europe_fails().await;
    let (europe, us) = (latest_ready(&h, EUROPE), latest_ready(&h, SERVICE));
    let args = ["deploy", "--env", "staging", "--image", NEXT, "--jobs", "1"];
    let run = h
        .run_with(&[&args[..], &["--output", "json"]].concat(), &[])
        .await;
    run.assert_code(1);
    let doc = json(&run);
    assert_eq!(doc["targets"][0]["status"], "failed");
    assert_eq!(doc["targets"][1]["status"], "not_rolled_out");
    assert!(
        doc["targets"][1]["outcome"]["failure"]["message"]
            .as_str()
            .unwrap()
            .contains("--fail-fast")
    );
    // Neither region's traffic moved: Europe's failed revision never serves, and the
    // us-central1 service was not sent anything.
    assert_eq!(latest_ready(&h, EUROPE), europe);
    assert_eq!(latest_ready(&h, SERVICE), us);
    assert!(
        h.writes()
            .iter()
            .all(|e| !e.path.contains("/locations/us-central1/")),
        "{:?}",
        h.write_rpcs()
    );
    // The same in text: the target left alone says so, and each line says its target.
    let h = deployed_then_europe_fails().await;
    let human = h.run(&args).await;
    human.assert_code(1);
    human.assert_stdout_contains("staging/us-central1: NOT ROLLED OUT");
    human.assert_stderr_contains("[staging/europe-west1] error:");
}

#[tokio::test]
async fn keep_going_rolls_out_the_others_and_still_fails() {
    let h = deployed_then_europe_fails().await;
    let europe = latest_ready(&h, EUROPE);
    let run = h
        .run(&[
            "deploy",
            "--env",
            "staging",
            "--image",
            NEXT,
            "--jobs",
            "1",
            "--keep-going",
            "--output",
            "json",
        ])
        .await;
    run.assert_code(1);
    let doc = json(&run);
    assert_eq!(doc["targets"][0]["status"], "failed");
    assert_eq!(doc["targets"][1]["status"], "done");
    assert_eq!(doc["totals"]["failed"], 1);
    assert_eq!(
        latest_ready(&h, EUROPE),
        europe,
        "a failed target's traffic never moves"
    );
    let us = h.emulator.service(SERVICE).unwrap();
    assert_eq!(us["template"]["containers"][0]["image"], next_by_digest());
}

#[tokio::test]
async fn a_saved_plan_of_several_targets_is_refused_when_one_drifted() {
    let h = Harness::start(staging_world().build()).await;
    h.write_config("staging", &two_regions());
    h.run(&["deploy", "--env", "staging"]).await.assert_code(0);
    let file = h.dir.path().join("fleet.json");
    let file = file.to_str().unwrap();
    let plan = h
        .run(&["plan", "--env", "staging", "--image", NEXT, "--out", file])
        .await;
    plan.assert_code(0);
    plan.assert_stderr_contains("Saved the plan of 2 targets");
    // Someone deploys Europe alone meanwhile.
    h.run(&[
        "deploy",
        "--target",
        "staging/europe-west1",
        "--image",
        NEXT,
    ])
    .await
    .assert_code(0);
    h.emulator.clear_journal();
    let run = h.run(&["deploy", "--plan", file]).await;
    run.assert_code(1);
    run.assert_stderr_contains("staging/europe-west1");
    assert!(
        h.writes().is_empty(),
        "all or nothing: {:?}",
        h.write_rpcs()
    );
    // A fresh plan of both applies both.
    h.run(&["plan", "--env", "staging", "--image", NEXT, "--out", file])
        .await
        .assert_code(0);
    h.run(&["deploy", "--plan", file]).await.assert_code(0);
    assert_eq!(
        h.emulator.service(SERVICE).unwrap()["template"]["containers"][0]["image"],
        next_by_digest()
    );
    // An edited file is refused.
    let text = std::fs::read_to_string(file).unwrap();
    std::fs::write(
        file,
        text.replace("staging/europe-west1", "staging/us-east1"),
    )
    .unwrap();
    let edited = h.run(&["deploy", "--plan", file]).await;
    edited.assert_code(1);
    edited.assert_stderr_contains("edited");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_sharing_a_policy_both_succeed_with_both_bindings() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.write_config("second", &second_env());
    // Both read the project policy before either writes it: one write meets a stale etag and
    // is redone on the policy as the other left it.
    h.emulator.set_latency(Duration::from_millis(100));
    let (a, b) = tokio::join!(
        h.spawn(&["deploy", "--target", "staging/us-central1"]),
        h.spawn(&["deploy", "--target", "second/us-central1"])
    );
    a.assert_code(0);
    b.assert_code(0);
    let policy = h.policy("projects/acme-sre-staging");
    assert!(
        binds(&policy, "roles/logging.viewer", SA_MEMBER),
        "{policy:?}"
    );
    assert!(
        binds(&policy, "roles/logging.logWriter", SA_MEMBER),
        "{policy:?}"
    );
    assert!(binds(&policy, "roles/owner", "user:owner@example.com"));
}

/// `n` environments (`env-P` in project `proj-P`), each deploying to `regions`.
#[tokio::test]
async fn grant_over_two_environments_writes_each_policy_once() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.write_config("second", &second_env());
    let dry = h
        .run(&["grant", "--env", "staging", "--env", "second", "--dry-run"])
        .await;
    dry.assert_code(0);
    assert!(h.writes().is_empty());
    let run = h
        .run(&[
            "grant", "--env", "staging", "--env", "second", "--output", "json",
        ])
        .await;
    run.assert_code(0);
    let doc = json(&run);
    assert_eq!(doc["totals"]["done"], 2, "{doc}");
    assert_eq!(h.count("cloudresourcemanager.projects.setIamPolicy"), 1);
    for (path, n) in per_path(&h, "secretmanager.projects.secrets.setIamPolicy") {
        assert_eq!(n, 1, "{path} written {n} times");
    }
    assert!(h.rollouts().is_empty(), "grant rolls nothing out");
    let policy = h.policy("projects/acme-sre-staging");
    assert!(binds(&policy, "roles/logging.viewer", SA_MEMBER));
    assert!(binds(&policy, "roles/logging.logWriter", SA_MEMBER));
}

#[tokio::test]
async fn check_secrets_status_and_key_check_take_several_environments() {
    let h = Harness::start(staging_world().build()).await;
    h.write_config("staging", &two_regions());
    h.write_config("second", &second_env());
    for args in [
        &["check", "--all"][..],
        &["secrets", "status", "--env", "staging", "--env", "second"],
        &["key", "check", "--all"],
    ] {
        let run = h.run(args).await;
        run.assert_code(0);
        for target in [
            "second/us-central1",
            "staging/us-central1",
            "staging/europe-west1",
        ] {
            if args.contains(&"--all") || target.starts_with("staging") {
                run.assert_stderr_contains(&format!("[{target}]"));
            }
        }
    }
    assert!(h.writes().is_empty());
    // A failing target fails the run, after every target was checked.
    h.write_config(
        "broken",
        &staging().replace("acme-sre-staging", "acme-sre-missing"),
    );
    let run = h.run(&["check", "--all"]).await;
    run.assert_code(1);
    run.assert_stderr_contains("[broken/us-central1] error:");
    run.assert_stderr_contains("[staging/europe-west1]");
}

#[tokio::test(flavor = "multi_thread")]
async fn progress_is_a_live_line_per_target_on_a_terminal_and_prefixed_lines_elsewhere() {
    let h = Harness::start(staging_world().build()).await;
    h.write_config("staging", &two_regions());
    let args = ["deploy", "--env", "staging"];
    let tty = h.run_in_terminal(&args, &[("TERM", "xterm")]).await;
    tty.assert_code(0);
    // Each target's line is redrawn in place (cursor moves), ending at its last phase;
    // the phases are not also written as prefixed lines.
    assert!(tty.stdout.contains("\x1b[2K"), "{:?}", tty.stdout);
    // The targets' names are padded to one width, so the phases line up.
    for line in ["staging/us-central1  done (", "staging/europe-west1 done ("] {
        assert!(tty.stdout.contains(line), "{:?}", tty.stdout);
    }
    for target in ["staging/us-central1", "staging/europe-west1"] {
        assert!(
            !tty.stdout.contains(&format!("[{target}] rolling out")),
            "{:?}",
            tty.stdout
        );
    }

    let h = Harness::start(staging_world().build()).await;
    h.write_config("staging", &two_regions());
    let piped = h.run(&args).await;
    piped.assert_code(0);
    assert!(!piped.stderr.contains('\x1b'), "{:?}", piped.stderr);
    for target in ["staging/us-central1", "staging/europe-west1"] {
        for phase in ["reading live state", "granting", "rolling out", "done"] {
            piped.assert_stderr_contains(&format!("[{target}] {phase}\n"));
        }
    }
    let quiet = h
        .run(&["deploy", "--env", "staging", "--quiet", "--image", NEXT])
        .await;
    quiet.assert_code(0);
    assert!(!quiet.stderr.contains("rolling out"), "{}", quiet.stderr);
}

#[tokio::test]
async fn two_targets_deploying_one_service_are_refused_before_any_request() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.write_config("copy", &staging());
    let run = h.run(&["deploy", "--all"]).await;
    run.assert_code(2);
    run.assert_stderr_contains(
        "`copy/us-central1` and `staging/us-central1` both deploy `projects/acme-sre-staging/locations/us-central1/services/autosre`",
    );
    assert!(h.journal().is_empty());
}
