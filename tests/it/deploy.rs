//! End-to-end: `deploy` against the emulator, with budgets checked through
//! the emulator's journal.

use crate::harness::*;

/// The staging world for the preflight tests: the encryption-key secret holds
/// `key_versions` (there is no such secret when that is empty), and with
/// `account: false` there is no runtime account.
fn preflight_world(account: bool, key_versions: &[(VersionState, &[u8])]) -> World {
    let mut b = World::builder().project(PROJECT, NUMBER);
    if account {
        b = b.service_account(SA);
    }
    for s in ["gemini-api-key", "google-client-id"] {
        b = b
            .secret(PROJECT, s)
            .secret_version(PROJECT, s, VersionState::Enabled, PAYLOAD);
    }
    let key = "sre-agent-encryption-key";
    if !key_versions.is_empty() {
        b = b.secret(PROJECT, key);
    }
    for (state, payload) in key_versions {
        b = b.secret_version(PROJECT, key, *state, payload);
    }
    with_staging_images(b).build()
}

/// A staging deploy of `image` instead of the config's.
async fn deploy_image(h: &Harness, image: &str) -> Run {
    h.run(&["deploy", "--env", "staging", "--image", image])
        .await
}

/// A staging deploy into `world` that the preflight stops (exit 1) before
/// any write.
async fn stopped_before_any_write(world: World) -> Run {
    let h = Harness::start_staging(world).await;
    let run = h.run(&["deploy", "--env", "staging"]).await;
    run.assert_code(1);
    assert!(h.writes().is_empty(), "writes: {:?}", h.write_rpcs());
    run
}

#[tokio::test(flavor = "multi_thread")]
async fn first_deploy_writes_each_changed_policy_once_and_creates_the_service() {
    let h = Harness::start_staging(staging_world().build()).await;
    let run = h.run(&["deploy", "--env", "staging"]).await;
    run.assert_code(0);

    // One write per policy that changes (project, three secrets, the runtime
    // account), and one services.create: the plan found no service.
    let mut writes = h.write_rpcs();
    writes.sort();
    assert_eq!(
        writes,
        [
            "cloudresourcemanager.projects.setIamPolicy",
            "iam.projects.serviceAccounts.setIamPolicy",
            "run.projects.locations.services.create",
            "secretmanager.projects.secrets.setIamPolicy",
            "secretmanager.projects.secrets.setIamPolicy",
            "secretmanager.projects.secrets.setIamPolicy",
        ]
    );

    // The service runs the config's image, as the runtime account, with
    // every secret wired as an env var by reference.
    let svc = h.emulator.service(SERVICE).expect("service created");
    let c = &svc["template"]["containers"][0];
    // By the digest its tag names (issue: images by digest).
    assert_eq!(
        c["image"],
        format!("{STAGING_IMAGE}@{}", staging_digest("2026.11.28"))
    );
    assert_eq!(svc["template"]["serviceAccount"], SA);
    let key = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "SRE_AGENT_ENCRYPTION_KEY")
        .expect("key wired");
    assert_eq!(
        key["valueSource"]["secretKeyRef"]["secret"],
        "sre-agent-encryption-key"
    );
    // Pinned: `latest` deployed as the number it resolves to (issue 9 §4).
    assert_eq!(key["valueSource"]["secretKeyRef"]["version"], "1");
    assert_eq!(h.emulator.revisions(SERVICE).len(), 1);
    // The log shows what was about to change before it changed; stdout says it is ready.
    assert_run_snapshot!(run);

    // The runtime account can read each secret; the AI Platform agent can act as it.
    for s in SECRETS {
        let p = h.policy(&format!("projects/{PROJECT}/secrets/{s}"));
        assert!(
            binds(&p, "roles/secretmanager.secretAccessor", SA_MEMBER),
            "{s}"
        );
    }
    let sa_policy = h.policy(&format!("projects/{PROJECT}/serviceAccounts/{SA}"));
    assert!(
        sa_policy
            .bindings
            .iter()
            .any(|b| b.role == "roles/iam.serviceAccountUser"
                && b.members
                    == [format!(
                        "serviceAccount:service-{NUMBER}@gcp-sa-aiplatform.iam.gserviceaccount.com"
                    )])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn redeploy_with_nothing_changed_writes_nothing_and_creates_no_revision() {
    let h = Harness::start_staging(staging_world().build()).await;
    assert_eq!(h.run(&["deploy", "--env", "staging"]).await.code, 0);
    h.emulator.clear_journal();

    let run = h.run(&["deploy", "--env", "staging"]).await;
    run.assert_code(0);
    assert!(h.writes().is_empty(), "writes: {:?}", h.write_rpcs());
    assert_eq!(h.emulator.revisions(SERVICE).len(), 1);
    assert_run_snapshot!(run);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_encryption_key_secret_stops_the_deploy_before_any_write() {
    let run = stopped_before_any_write(preflight_world(true, &[])).await;
    // Says what is missing and the command that creates it: the tool's own
    // `key init`, which stores a Fernet key without a trailing newline.
    run.assert_stderr_contains("hint: autosre-deploy key init --env staging");
    assert!(!run.all().contains("python3"), "{}", run.all());
    assert_run_snapshot!(run);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_encryption_key_with_only_disabled_versions_stops_the_deploy() {
    let disabled = (VersionState::Disabled, PAYLOAD);
    let run = stopped_before_any_write(preflight_world(true, &[disabled, disabled])).await;
    // `latest` resolves to version 2, DISABLED: a new key by `key rotate`
    // first, or `gcloud secrets versions enable 2`.
    run.assert_stderr_contains("hint: autosre-deploy key rotate --env staging");
    assert_run_snapshot!(run);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unwired_encryption_key_stops_the_deploy() {
    let h = Harness::start(staging_world().build()).await;
    h.write_config(
        "staging",
        &staging().replace(
            "    SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key:latest\n",
            "",
        ),
    );
    // The rule and the exit code of `validate`, before any request.
    let validate = h.run(&["validate", "--env", "staging"]).await;
    validate.assert_code(2);
    for args in [
        &["deploy", "--env", "staging"][..],
        &["deploy", "--env", "staging", "--dry-run"],
    ] {
        let run = h.run(args).await;
        run.assert_code(2);
        assert_eq!(run.stderr, validate.stderr, "{args:?}");
    }
    assert!(h.journal().is_empty(), "{:?}", h.journal());
}

#[tokio::test(flavor = "multi_thread")]
async fn other_bindings_and_conditions_are_preserved() {
    let world = staging_world()
        .project_binding(PROJECT, "roles/cloudtrace.agent", "user:alice@example.com")
        .conditional_binding(
            &format!("projects/{PROJECT}"),
            "roles/logging.logWriter",
            &format!("serviceAccount:{SA}"),
            autosre_emulator::Condition {
                expression: "request.time < timestamp('2030-01-01T00:00:00Z')".into(),
                title: "until 2030".into(),
                description: String::new(),
            },
        )
        .secret_binding(
            PROJECT,
            "gemini-api-key",
            "roles/secretmanager.admin",
            "group:sec@example.com",
        )
        .build();
    let h = Harness::start_staging(world).await;
    let before = h.policy(&format!("projects/{PROJECT}"));
    let run = h.run(&["deploy", "--env", "staging"]).await;
    run.assert_code(0);

    let after = h.policy(&format!("projects/{PROJECT}"));
    // Every binding that was there is still there, condition and all.
    for b in &before.bindings {
        assert!(
            after.bindings.iter().any(|a| a.role == b.role
                && a.condition == b.condition
                && b.members.iter().all(|m| a.members.contains(m))),
            "lost {b:?} in {after:?}"
        );
    }
    // The conditional grant did not count: an unconditional one was added.
    assert!(
        after
            .bindings
            .iter()
            .any(|b| b.role == "roles/logging.logWriter"
                && b.condition.is_none()
                && b.members.iter().any(|m| m == SA_MEMBER))
    );
    let secret = h.policy(&format!("projects/{PROJECT}/secrets/gemini-api-key"));
    assert!(binds(
        &secret,
        "roles/secretmanager.admin",
        "group:sec@example.com"
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_concurrent_policy_writer_loses_nothing() {
    let h = Harness::start_staging(staging_world().build()).await;
    // Just before our write, someone else edits the project policy: our etag
    // is now stale and Google answers 409 ABORTED.
    h.emulator.before_request("POST", ":setIamPolicy", |state| {
        state.add_binding(
            &format!("projects/{PROJECT}"),
            "roles/viewer",
            "user:concurrent@example.com",
        );
    });
    let run = h.run(&["deploy", "--env", "staging"]).await;
    run.assert_code(0);
    let aborted = h.journal().into_iter().filter(|e| e.status == 409).count();
    assert_eq!(aborted, 1, "one write hit the stale etag");
    let p = h.policy(&format!("projects/{PROJECT}"));
    assert!(binds(&p, "roles/viewer", "user:concurrent@example.com"));
    for role in [
        "roles/cloudtrace.agent",
        "roles/logging.logWriter",
        "roles/monitoring.metricWriter",
    ] {
        assert!(binds(&p, role, SA_MEMBER), "{role} missing");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_sends_no_write_and_lists_the_changes() {
    let h = Harness::start_staging(staging_world().build()).await;
    let run = h.run(&["deploy", "--env", "staging", "--dry-run"]).await;
    run.assert_code(0);
    assert!(h.writes().is_empty(), "writes: {:?}", h.write_rpcs());
    assert!(h.emulator.service(SERVICE).is_none());
    run.assert_stdout_contains("+ roles/secretmanager.secretAccessor");
    run.assert_stdout_contains("Cloud Run service autosre will be created");
    run.assert_stdout_contains("Plan: ");
}

#[tokio::test(flavor = "multi_thread")]
async fn image_flag_overrides_the_config() {
    let h = Harness::start_staging(staging_world().build()).await;
    assert_eq!(h.run(&["deploy", "--env", "staging"]).await.code, 0);
    h.emulator.clear_journal();
    let run = deploy_image(
        &h,
        "us-docker.pkg.dev/acme-sre-staging/autosre/autosre:hotfix",
    )
    .await;
    run.assert_code(0);
    // Only the service changes: no IAM write.
    assert_eq!(h.write_rpcs(), ["run.projects.locations.services.patch"]);
    let svc = h.emulator.service(SERVICE).unwrap();
    assert_eq!(
        svc["template"]["containers"][0]["image"],
        format!("{STAGING_IMAGE}@{}", staging_digest("hotfix"))
    );
    assert_eq!(h.emulator.revisions(SERVICE).len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn project_wide_secret_access_grants_once_on_the_project() {
    let h = Harness::start(staging_world().build()).await;
    h.write_config(
        "staging",
        &staging().replace("secret_access: per-secret", "secret_access: project"),
    );
    let run = h.run(&["deploy", "--env", "staging"]).await;
    run.assert_code(0);
    assert_eq!(h.count("secretmanager.projects.secrets.setIamPolicy"), 0);
    assert_eq!(h.count("cloudresourcemanager.projects.setIamPolicy"), 1);
    let p = h.policy(&format!("projects/{PROJECT}"));
    assert!(binds(&p, "roles/secretmanager.secretAccessor", SA_MEMBER));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_compute_account_is_used_when_none_is_configured() {
    let default_sa = format!("{NUMBER}-compute@developer.gserviceaccount.com");
    let h = Harness::start(staging_world().service_account(&default_sa).build()).await;
    h.write_config(
        "staging",
        &staging().replace(
            "  service_account: autosre-run@acme-sre-staging.iam.gserviceaccount.com  # optional\n",
            "",
        ),
    );
    let run = h.run(&["deploy", "--env", "staging"]).await;
    run.assert_code(0);
    let svc = h.emulator.service(SERVICE).unwrap();
    assert_eq!(svc["template"]["serviceAccount"], default_sa.as_str());
    let p = h.policy(&format!(
        "projects/{PROJECT}/secrets/sre-agent-encryption-key"
    ));
    assert!(
        p.bindings
            .iter()
            .any(|b| b.members.contains(&format!("serviceAccount:{default_sa}")))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_revision_reports_googles_message_and_keeps_traffic() {
    let h = Harness::start_staging(staging_world().build()).await;
    assert_eq!(h.run(&["deploy", "--env", "staging"]).await.code, 0);
    let first = h.emulator.revisions(SERVICE)[0].name.clone();

    // Between the plan and the rollout, someone disables the key's version:
    // the new revision cannot start.
    h.emulator
        .before_request("PATCH", "/services/autosre", |state| {
            state.disable_secret_version(PROJECT, "sre-agent-encryption-key", 1);
        });
    let run = deploy_image(
        &h,
        "us-docker.pkg.dev/acme-sre-staging/autosre/autosre:next",
    )
    .await;
    run.assert_code(1);
    // Google's message, and that traffic stays on the first revision.
    run.assert_stderr_contains(&format!("traffic stays on revision {first}"));
    assert_run_snapshot!(run);
    h.assert_latest_ready(&first);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_runtime_account_stops_the_deploy() {
    let world = preflight_world(false, &[(VersionState::Enabled, KEY)]);
    let run = stopped_before_any_write(world).await;
    // The gcloud command that creates it.
    assert_run_snapshot!(run);
}

fn deny(h: &Harness, method: &str, path: &str) {
    h.emulator.inject_fault(Fault {
        method: Some(method.to_string()),
        path_contains: path.to_string(),
        times: 100,
        code: 403,
        status: "PERMISSION_DENIED".to_string(),
        message: "The caller does not have permission".to_string(),
        ..Default::default()
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_secret_grant_fails_with_the_bindings_an_admin_must_add() {
    let h = Harness::start_staging(staging_world().build()).await;
    deny(&h, "POST", "/secrets/sre-agent-encryption-key:setIamPolicy");
    let run = h.run(&["deploy", "--env", "staging"]).await;
    run.assert_code(1);
    run.assert_stderr_contains(&format!(
            "gcloud secrets add-iam-policy-binding sre-agent-encryption-key --project={PROJECT} --member=serviceAccount:{SA} --role=roles/secretmanager.secretAccessor"
        ));
    assert_run_snapshot!(run);
    assert!(
        h.emulator.service(SERVICE).is_none(),
        "no rollout after a required grant failed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_project_grant_is_a_warning_unless_strict() {
    let h = Harness::start_staging(staging_world().build()).await;
    deny(&h, "POST", "projects/acme-sre-staging:setIamPolicy");
    let run = h.run(&["deploy", "--env", "staging", "--strict-iam"]).await;
    run.assert_code(1);
    assert!(h.emulator.service(SERVICE).is_none());
    assert_run_snapshot!("project_grant_denied_strict", run);

    let run = h.run(&["deploy", "--env", "staging"]).await;
    run.assert_code(0);
    assert!(h.emulator.service(SERVICE).is_some());
    // `warning: could not grant roles/cloudtrace.agent ...`, and the deploy goes on.
    assert_run_snapshot!("project_grant_denied_warning", run);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollout_is_retried_while_this_deploys_grants_propagate() {
    // The first rollout (services.create) fails on the unpropagated grants; they have
    // propagated by the time the tool, told the rollout failed, reads the service.
    let (h, run) = deploy_retried_once(staging_world().build()).await;
    run.assert_code(0);
    assert_run_snapshot!(run);
    let revisions = h.emulator.revisions(SERVICE);
    assert_eq!(revisions.len(), 2, "{revisions:?}");
    assert!(
        !revisions[0].ready,
        "the first revision could not read its secrets"
    );
    assert!(revisions[1].ready);
    // Grants were written once; only the rollout was repeated.
    assert_eq!(h.count("secretmanager.projects.secrets.setIamPolicy"), 3);
    assert_eq!(
        h.rollouts(),
        [
            "run.projects.locations.services.create",
            "run.projects.locations.services.patch"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollout_gives_up_when_propagation_outlasts_the_timeout() {
    // The emulator's clock never moves: the grants never propagate. The tool's own timeout
    // (1 s, real time) ends the retries; how many fit in it is not asserted.
    let h = propagating(staging_world().build()).await;
    let run = h
        .run(&[
            "deploy",
            "--env",
            "staging",
            "--propagation-retry-ms",
            "300",
            "--iam-propagation-timeout",
            "1",
        ])
        .await;
    run.assert_code(1);
    run.assert_stderr_contains("Permission denied on secret");
    let revisions = h.emulator.revisions(SERVICE);
    assert!(
        !revisions.is_empty() && revisions.iter().all(|r| !r.ready),
        "{revisions:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_file_authenticates_as_gcloud_reads_it() {
    /// `check` with no token in the environment, only the file.
    async fn check_with_token_file(h: &Harness, file: &str) -> Run {
        h.run_with(
            &["check", "--env", "staging"],
            &[
                ("GOOGLE_OAUTH_ACCESS_TOKEN", UNSET),
                ("CLOUDSDK_AUTH_ACCESS_TOKEN_FILE", file),
            ],
        )
        .await
    }

    let h = Harness::start_staging(staging_world().build()).await;
    let file = h.dir.path().join("token");
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    let file = file.to_str().unwrap();
    let run = check_with_token_file(&h, file).await;
    run.assert_code(0);

    // A wrong token is refused by the emulator, and the tool says how to authenticate.
    std::fs::write(h.dir.path().join("token"), "wrong").unwrap();
    let run = check_with_token_file(&h, file).await;
    run.assert_code(1);
    assert!(!run.all().contains("wrong"), "the token is never printed");
    // Which of the concurrent reads is refused first varies: no snapshot.
    // One line naming the source refused, and the fix for that source.
    run.assert_stderr_contains("error: the token in CLOUDSDK_AUTH_ACCESS_TOKEN_FILE (`");
    run.assert_stderr_contains("was refused (expired?): ");
    run.assert_stderr_contains("answered HTTP 401 UNAUTHENTICATED\n  hint: write a fresh token to the file: gcloud auth print-access-token > ");
    assert!(!run.stderr.contains("caused by"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_is_a_read_only_preflight() {
    let h = Harness::start_staging(staging_world().build()).await;
    let run = h.run(&["check", "--env", "staging"]).await;
    run.assert_code(0);
    assert_run_snapshot!("check_passed", run);

    h.emulator
        .with_state(|s| s.disable_secret_version(PROJECT, "google-client-id", 1));
    let run = h.run(&["check", "--env", "staging"]).await;
    run.assert_code(1);
    // `FAIL secret google-client-id:latest -> version 1 DISABLED`
    assert_run_snapshot!("check_failed", run);
    assert!(h.writes().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sandbox_can_be_seeded_from_a_world_file() {
    // The harness's emulator is not used: --sandbox-world starts the tool's own.
    let h = Harness::start_staging(World::builder().build()).await;
    let world = |key_state: &str| {
        format!(
            "projects:
  - id: {PROJECT}
    number: {NUMBER}
    serviceAccounts:
      - email: {SA}
    secrets:
      - id: gemini-api-key
        versions: [{{data: a}}]
      - id: google-client-id
        versions: [{{data: b}}]
      - id: sre-agent-encryption-key
        versions: [{{data: {key}, state: {key_state}}}]
images:
  - image: {STAGING_IMAGE}:2026.11.28
",
            key = std::str::from_utf8(KEY).unwrap()
        )
    };
    /// Writes `yaml` as the world file and deploys staging into a sandbox seeded from it.
    async fn deploy_in_sandbox(h: &Harness, yaml: String) -> Run {
        let file = h.dir.path().join("world.yaml");
        std::fs::write(&file, yaml).unwrap();
        h.run(&[
            "deploy",
            "--env",
            "staging",
            "--sandbox-world",
            file.to_str().unwrap(),
        ])
        .await
    }

    let run = deploy_in_sandbox(&h, world("DISABLED")).await;
    run.assert_code(1);
    // `... resolves to version 1, which is DISABLED`, `(0 writes) served by the in-process emulator`
    assert_run_snapshot!("sandbox_world_disabled_key", run);

    let run = deploy_in_sandbox(&h, world("ENABLED")).await;
    run.assert_code(0);
    // `(6 writes) served by the in-process emulator`
    assert_run_snapshot!("sandbox_world_enabled_key", run);
    assert!(h.journal().is_empty(), "the harness emulator saw nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_credentials_is_one_clear_error_before_any_request() {
    let h = Harness::start_staging(staging_world().build()).await;
    // No token, no ADC file, and a metadata server that does not answer. A real process: the
    // auth library reads HOME and GCE_METADATA_HOST from the process environment.
    let home = h.dir.path().to_str().unwrap();
    let run = h
        .spawn_with(
            &["deploy", "--env", "staging"],
            &[
                ("GOOGLE_OAUTH_ACCESS_TOKEN", UNSET),
                ("HOME", home),
                ("GCE_METADATA_HOST", "127.0.0.1:9"),
            ],
        )
        .await;
    run.assert_code(1);
    // One line naming every source tried, no repeated cause chain.
    run.assert_stderr_contains("error: no Google credentials: GOOGLE_OAUTH_ACCESS_TOKEN, CLOUDSDK_AUTH_ACCESS_TOKEN_FILE and GOOGLE_APPLICATION_CREDENTIALS are unset");
    run.assert_stderr_contains("hint: run `gcloud auth application-default login`");
    assert!(!run.stderr.contains("caused by"), "{}", run.stderr);
    assert!(!run.stderr.contains("future attempts"), "{}", run.stderr);
    assert!(h.journal().is_empty(), "nothing was sent");
}

mod public_access;
