//! `plan`, `deploy --dry-run` and saved plans, end to end.
//!
//! Six scenarios (first deploy, no-op, image change, env var removal, a new
//! secret version behind `latest`, missing role), each in the three outputs, pinned by
//! snapshots. Every plan run is checked through the emulator journal to have
//! sent no mutating request (only validateOnly ones).

use crate::harness::*;

/// Values that differ between runs: the emulator's port, etags, the random
/// suffix of revision names.
fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"http://127\.0\.0\.1:\d+", "http://[EMULATOR]"),
        (r#""etag": "(?:[^"\\]|\\.)*""#, r#""etag": "[ETAG]""#),
        (r"(autosre-\d{5})-[a-z]{3}", "$1-[RND]"),
    ]
}

/// Run `plan` in all three outputs (and `deploy --dry-run` in human), assert
/// that none of them wrote anything, and snapshot each.
async fn snapshot_plans(h: &Harness, scenario: &str, extra: &[&str]) {
    h.emulator.clear_journal();
    for (output, ext) in [("human", "txt"), ("json", "json"), ("markdown", "md")] {
        let mut args = vec!["plan", "--env", "staging", "--output", output];
        args.extend_from_slice(extra);
        let run = h.run(&args).await;
        assert_eq!(run.code, 0, "{scenario} {output}: {}", run.all());
        if output == "json" {
            let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("plan JSON parses");
            assert_eq!(v["schema_version"], 1);
            assert!(v["changes"]["add"].is_u64());
        }
        insta::with_settings!({filters => filters(), snapshot_suffix => format!("{scenario}.{ext}")}, {
            insta::assert_snapshot!("plan", run.stdout);
        });
    }
    let mut args = vec!["deploy", "--env", "staging", "--dry-run"];
    args.extend_from_slice(extra);
    let dry = h.run(&args).await;
    assert_eq!(dry.code, 0, "{}", dry.all());
    let plan = h
        .run(&[&["plan", "--env", "staging"][..], extra].concat())
        .await;
    assert_eq!(
        dry.stdout, plan.stdout,
        "--dry-run prints the same plan as `plan`"
    );
    let writes = h.writes();
    assert!(writes.is_empty(), "{scenario}: a plan wrote: {writes:#?}");
}

async fn deployed() -> Harness {
    let h = Harness::start_staging(staging_world().build()).await;
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    h
}

#[tokio::test(flavor = "multi_thread")]
async fn first_deploy() {
    let h = Harness::start_staging(staging_world().build()).await;
    snapshot_plans(&h, "first_deploy", &[]).await;
    assert!(
        h.journal().iter().any(|e| e.validate_only),
        "Cloud Run validated the service"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_op() {
    let h = deployed().await;
    snapshot_plans(&h, "no_op", &[]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn image_change() {
    let h = deployed().await;
    snapshot_plans(
        &h,
        "image_change",
        &[
            "--image",
            "us-docker.pkg.dev/acme-sre-staging/autosre/autosre:2026.12.01",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn env_var_removal() {
    let h = deployed().await;
    h.write_config("staging", &staging().replace("    LOG_LEVEL: INFO\n", ""));
    snapshot_plans(&h, "env_var_removal", &[]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn secret_version_change() {
    // A new version behind `latest`: the deployed revision pins version 1, so
    // the plan is a one-line change to 2 and a new revision (issue 9 §4).
    let h = deployed().await;
    h.emulator.with_state(|s| {
        s.add_secret_version(PROJECT, "google-client-id", PAYLOAD);
    });
    snapshot_plans(&h, "secret_version_change", &[]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_role() {
    let h = deployed().await;
    h.emulator.with_state(|s| {
        s.remove_binding(
            &format!("projects/{PROJECT}"),
            "roles/logging.logWriter",
            &format!("serviceAccount:{SA}"),
        )
    });
    snapshot_plans(&h, "missing_role", &[]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cpu_memory_outside_cloud_runs_table_is_a_config_error() {
    // 32 GiB with 1 CPU: Cloud Run refuses it, and the config checks the same table offline
    // (issue 7 §14), so nothing is sent.
    let h = Harness::start(staging_world().build()).await;
    h.write_config(
        "staging",
        &staging()
            .replace("cpu: \"4\"", "cpu: \"1\"")
            .replace("memory: 16Gi", "memory: 32Gi"),
    );
    let run = h.run(&["plan", "--env", "staging"]).await;
    assert_eq!(run.code, 2, "{}", run.all());
    // `service.memory: Invalid value specified for memory. For 1.0 CPU ...`
    assert_run_snapshot!(run);
    assert!(h.journal().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn detailed_exitcode_follows_terraform() {
    // The exit codes of the real process.
    let h = Harness::start_staging(staging_world().build()).await;
    assert_eq!(
        h.spawn(&["plan", "--env", "staging", "--detailed-exitcode"])
            .await
            .code,
        2
    );
    assert_eq!(h.spawn(&["deploy", "--env", "staging"]).await.code, 0);
    assert_eq!(
        h.spawn(&["plan", "--env", "staging", "--detailed-exitcode"])
            .await
            .code,
        0
    );
    h.emulator
        .with_state(|s| s.disable_secret_version(PROJECT, "sre-agent-encryption-key", 1));
    assert_eq!(
        h.spawn(&["plan", "--env", "staging", "--detailed-exitcode"])
            .await
            .code,
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_applies_exactly() {
    let h = Harness::start_staging(staging_world().build()).await;
    let file = h.dir.path().join("staging.plan.json");
    let file_s = file.to_str().unwrap();
    let run = h.run(&["plan", "--env", "staging", "--out", file_s]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains(std::str::from_utf8(PAYLOAD).unwrap()),
        "no secret value in a saved plan"
    );
    assert!(h.writes().is_empty());

    let run = h.run(&["deploy", "--plan", file_s]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(h.emulator.service(SERVICE).is_some());
    assert_eq!(h.writes().len(), 6, "{:?}", h.write_rpcs());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_is_refused_after_a_concurrent_change() {
    let h = Harness::start_staging(staging_world().build()).await;
    let file = h.dir.path().join("p.json");
    let file_s = file.to_str().unwrap();
    assert_eq!(
        h.run(&["plan", "--env", "staging", "--out", file_s])
            .await
            .code,
        0
    );

    // Someone edits the project policy after the plan was made.
    h.emulator.with_state(|s| {
        s.add_binding(
            &format!("projects/{PROJECT}"),
            "roles/viewer",
            "user:bob@example.com",
        )
    });
    h.emulator.clear_journal();
    let run = h.run(&["deploy", "--plan", file_s]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    // `live state changed since the plan was made`: `the IAM policy of project ... changed`
    assert_run_snapshot!("saved_plan_stale_policy", run);
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());

    // A new secret version behind `latest` is a change too.
    assert_eq!(
        h.run(&["plan", "--env", "staging", "--out", file_s])
            .await
            .code,
        0
    );
    h.emulator.with_state(|s| {
        s.add_secret_version(PROJECT, "google-client-id", PAYLOAD);
    });
    let run = h.run(&["deploy", "--plan", file_s]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    // `secret google-client-id:latest was version 1 ...`
    assert_run_snapshot!("saved_plan_stale_secret_version", run);
    assert!(h.writes().is_empty());
}

/// A deploy between the plan and its apply changes the live service: the
/// saved plan is stale (its etag and generation, and the service it would
/// send, are not what the plan read), and nothing is written.
#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_is_refused_after_the_service_changed() {
    let h = Harness::start_staging(staging_world().build()).await;
    let first = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(first.code, 0, "{}", first.all());
    let file = h.dir.path().join("p.json");
    let file_s = file.to_str().unwrap();
    let plan = h
        .run(&[
            "plan",
            "--env",
            "staging",
            "--set-env",
            "LOG_LEVEL=DEBUG",
            "--out",
            file_s,
        ])
        .await;
    assert_eq!(plan.code, 0, "{}", plan.all());
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(saved["reads"]["service_sha256"].is_string(), "{saved:#}");
    assert_eq!(saved["reads"]["service"]["generation"], 1, "{saved:#}");

    // Someone deploys another image meanwhile.
    let other = h
        .run(&[
            "deploy",
            "--env",
            "staging",
            "--image",
            "us-docker.pkg.dev/acme-sre-staging/autosre/autosre:other",
        ])
        .await;
    assert_eq!(other.code, 0, "{}", other.all());
    h.emulator.clear_journal();
    let run = h.run(&["deploy", "--plan", file_s]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains("live state changed since the plan was made");
    run.assert_stderr_contains("the Cloud Run service autosre changed (generation 1 -> 2)");
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());
}

/// A plan file made by another version of autosre-deploy is refused before
/// anything is read, with what to do, as Terraform refuses a plan file of
/// another Terraform version.
#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_of_another_version_is_refused() {
    let h = Harness::start_staging(staging_world().build()).await;
    let file = h.dir.path().join("p.json");
    let file_s = file.to_str().unwrap();
    let plan = h.run(&["plan", "--env", "staging", "--out", file_s]).await;
    assert_eq!(plan.code, 0, "{}", plan.all());
    let mut saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["tool_version"], env!("CARGO_PKG_VERSION"));
    saved["tool_version"] = "0.0.1".into();
    std::fs::write(&file, serde_json::to_string_pretty(&saved).unwrap()).unwrap();
    h.emulator.clear_journal();
    let run = h.run(&["deploy", "--plan", file_s]).await;
    assert_eq!(run.code, 2, "{}", run.all());
    run.assert_stderr_contains(&format!(
        "was made by autosre-deploy 0.0.1, and this is autosre-deploy {}",
        env!("CARGO_PKG_VERSION")
    ));
    run.assert_stderr_contains("autosre-deploy plan --env ENV --out FILE");
    assert!(h.journal().is_empty(), "refused before any request");

    // The JSON document says the same.
    let json = h
        .run(&["deploy", "--plan", file_s, "--output", "json"])
        .await;
    assert_eq!(json.code, 2, "{}", json.all());
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect(&json.stdout);
    let message = v["failure"]["message"].as_str().unwrap();
    assert!(
        message.contains("was made by autosre-deploy 0.0.1"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_is_refused_for_another_environment_an_edit_or_a_config_change() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.write_config("prod", &staging());
    let file = h.dir.path().join("p.json");
    let file_s = file.to_str().unwrap();
    assert_eq!(
        h.run(&["plan", "--env", "staging", "--out", file_s])
            .await
            .code,
        0
    );
    h.emulator.clear_journal();

    let run = h.run(&["deploy", "--env", "prod", "--plan", file_s]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    // `the saved plan is for environment `staging`, not `prod``
    assert_run_snapshot!("saved_plan_other_environment", run);

    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("autosre:2026.11.28", "autosre:evil")).unwrap();
    let run = h.run(&["deploy", "--plan", file_s]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    // `... was edited after it was made`
    assert_run_snapshot!("saved_plan_edited", run);

    std::fs::write(&file, text).unwrap();
    h.write_config(
        "staging",
        &staging().replace("LOG_LEVEL: INFO", "LOG_LEVEL: DEBUG"),
    );
    let run = h.run(&["deploy", "--plan", file_s]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    // `... staging.yaml changed since the plan was made`
    assert_run_snapshot!("saved_plan_config_changed", run);
    assert!(h.journal().is_empty(), "refused before any request");
}

#[tokio::test(flavor = "multi_thread")]
async fn colour_only_on_a_terminal_and_never_with_no_color() {
    let h = Harness::start_staging(staging_world().build()).await;
    let args = ["plan", "--env", "staging"];
    // NO_COLOR set but empty counts as unset (no-color.org).
    let tty = h.run_in_terminal(&args, &[("NO_COLOR", "")]).await;
    assert_eq!(tty.code, 0, "{}", tty.all());
    assert!(
        tty.stdout.contains("\x1b[32m+\x1b[0m roles/"),
        "{:?}",
        tty.stdout
    );

    let no_color = h.run_in_terminal(&args, &[("NO_COLOR", "1")]).await;
    assert!(!no_color.stdout.contains("\x1b["), "{:?}", no_color.stdout);
    // Meaning is never carried by colour alone: the markers stay.
    assert!(
        no_color
            .stdout
            .contains("+ roles/secretmanager.secretAccessor")
    );

    let piped = h.run_with(&args, &[("NO_COLOR", "")]).await;
    assert!(!piped.all().contains("\x1b["), "{:?}", piped.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_wait_spins_on_a_terminal_and_logs_plain_lines_elsewhere() {
    let slow = || Options {
        operation_polls: 4,
        ..fast_options()
    };
    let h = Harness::start_staging_with(staging_world().build(), slow()).await;
    let poll = [("AUTOSRE_DEPLOY_POLL_INTERVAL_MS", "200")];
    let tty = h
        .run_in_terminal(&["deploy", "--env", "staging"], &poll)
        .await;
    assert_eq!(tty.code, 0, "{}", tty.all());
    // Redrawn in place: carriage return, clear line, a spinner frame.
    assert!(
        tty.stdout.contains("\r\x1b[2K")
            && tty.stdout.contains("Creating Cloud Run service autosre: "),
        "{:?}",
        tty.stdout
    );

    let h = Harness::start_staging_with(staging_world().build(), slow()).await;
    let piped = h.run_with(&["deploy", "--env", "staging"], &poll).await;
    assert_eq!(piped.code, 0, "{}", piped.all());
    assert!(!piped.stderr.contains('\r'), "{:?}", piped.stderr);
    assert!(
        piped.stderr.lines().any(|l| l
            .starts_with("Creating Cloud Run service autosre: waiting for revision")
            && l.ends_with("elapsed)")),
        "{}",
        piped.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_is_refused_after_someone_else_deploys() {
    let h = deployed().await;
    let file = h.dir.path().join("p.json");
    let file_s = file.to_str().unwrap();
    let next = "us-docker.pkg.dev/acme-sre-staging/autosre/autosre:2026.12.01";
    let run = h
        .run(&["plan", "--env", "staging", "--image", next, "--out", file_s])
        .await;
    assert_eq!(run.code, 0, "{}", run.all());

    // A colleague deploys a hotfix in between.
    let hotfix = "us-docker.pkg.dev/acme-sre-staging/autosre/autosre:hotfix";
    assert_eq!(
        h.run(&["deploy", "--env", "staging", "--image", hotfix])
            .await
            .code,
        0
    );
    h.emulator.clear_journal();

    let run = h.run(&["deploy", "--plan", file_s]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    // `the Cloud Run service autosre changed (generation 1 -> 2)`
    assert_run_snapshot!(run);
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());
    let svc = h.emulator.service(SERVICE).unwrap();
    assert_eq!(
        svc["template"]["containers"][0]["image"],
        format!("{STAGING_IMAGE}@{}", staging_digest("hotfix")),
        "the hotfix stays"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn quantities_spelled_differently_are_not_changes() {
    // Deployed by someone else, with the same limits in other spellings.
    let live = serde_json::json!({
        "name": "autosre",
        "template": {
            "serviceAccount": SA,
            "containers": [{
                "image": "us-docker.pkg.dev/acme-sre-staging/autosre/autosre:2026.11.27",
                "resources": {"limits": {"cpu": "4000m", "memory": "16384Mi"}}
            }]
        }
    });
    let h = Harness::start_staging(
        staging_world()
            .service(PROJECT, "us-central1", live)
            .build(),
    )
    .await;
    let run = h
        .run(&["plan", "--env", "staging", "--output", "json"])
        .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let fields: Vec<&str> = plan["service"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"image"), "{fields:?}");
    assert!(
        !fields.contains(&"cpu") && !fields.contains(&"memory"),
        "{fields:?}"
    );
}

/// A saved plan is judged against the environment the config resolves to,
/// not the file's bytes: a comment or a re-indented line changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_comment_only_edit_does_not_make_a_saved_plan_stale() {
    let h = Harness::start_staging(staging_world().build()).await;
    let file = h.dir.path().join("p.json");
    let file_s = file.to_str().unwrap();
    let run = h.run(&["plan", "--env", "staging", "--out", file_s]).await;
    run.assert_code(0);
    h.write_config(
        "staging",
        &format!("# reviewed in PR 42\n{}\n# end\n", staging()),
    );
    let run = h.run(&["deploy", "--plan", file_s]).await;
    run.assert_code(0);
    assert!(h.emulator.service(SERVICE).is_some());
}

/// `plan --out` into a directory that does not exist fails before any
/// request: exit 2 means nothing was sent.
#[tokio::test(flavor = "multi_thread")]
async fn an_unwritable_plan_file_is_refused_before_any_request() {
    let h = Harness::start_staging(staging_world().build()).await;
    let file = h.dir.path().join("no-such-dir/p.json");
    let run = h
        .run(&["plan", "--env", "staging", "--out", file.to_str().unwrap()])
        .await;
    run.assert_code(2);
    run.assert_stderr_contains("cannot write the plan file");
    assert_eq!(h.journal().len(), 0, "{:?}", h.journal());
    // A file that can be written is not left behind when the plan is refused.
    let dir = h.dir.path().join("ok");
    std::fs::create_dir(&dir).unwrap();
    h.emulator
        .with_state(|s| s.disable_secret_version(PROJECT, "gemini-api-key", 1));
    let ok = dir.join("p.json");
    let run = h
        .run(&["plan", "--env", "staging", "--out", ok.to_str().unwrap()])
        .await;
    run.assert_code(1);
    assert!(!ok.exists());
}

/// A plain value holding a URL with credentials, and its removal: the
/// userinfo is never shown (plans, JSON, saved plans), whatever the
/// variable's name, and the summary counts the removal the diff shows.
#[tokio::test(flavor = "multi_thread")]
async fn url_credentials_are_redacted_and_a_removal_is_counted() {
    const PASSWORD: &str = "s3cr3t-pw";
    let h = Harness::start_staging(staging_world().build()).await;
    h.write_config(
        "staging",
        &staging().replace(
            "    LOG_LEVEL: INFO\n",
            "    LOG_LEVEL: INFO\n    DATABASE_URL: postgres://app:s3cr3t-pw@db/x\n",
        ),
    );
    let run = h.run(&["deploy", "--env", "staging"]).await;
    run.assert_code(0);
    run.assert_all_contains("postgres://<redacted>@db/x");
    assert!(!run.all().contains(PASSWORD), "{}", run.all());

    h.write_config("staging", &staging());
    let run = h.run(&["plan", "--env", "staging"]).await;
    run.assert_code(0);
    run.assert_stdout_contains("- env.DATABASE_URL: \"postgres://<redacted>@db/x\"");
    run.assert_stdout_contains("Plan: 0 to add, 0 to change, 1 to remove.");
    let json = h
        .run(&["plan", "--env", "staging", "--output", "json"])
        .await;
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect(&json.stdout);
    assert_eq!(v["changes"]["remove"], 1, "{}", json.stdout);
    let file = h.dir.path().join("p.json");
    let saved = h
        .run(&["plan", "--env", "staging", "--out", file.to_str().unwrap()])
        .await;
    saved.assert_code(0);
    let text = std::fs::read_to_string(&file).unwrap();
    for shown in [&run.all(), &json.all(), &text] {
        assert!(!shown.contains(PASSWORD), "{shown}");
    }
}
