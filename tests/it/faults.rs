//! The fault matrix: real Google fails in ways a friendly emulator never
//! does. Each test injects one kind of failure through the emulator and
//! checks the exit code, what the tool says, and the emulator's final state.
//! Retry waits are shortened (AUTOSRE_DEPLOY_RETRY_INITIAL_MS=5 in the
//! harness); nothing waits on the emulator's clock.

use crate::harness::*;
use autosre_emulator::Fault;

fn accessor_granted(h: &Harness, secret: &str) -> bool {
    h.emulator
        .policy(&format!("projects/{PROJECT}/secrets/{secret}"))
        .unwrap()
        .bindings
        .iter()
        .any(|b| {
            b.role == "roles/secretmanager.secretAccessor"
                && b.members.contains(&format!("serviceAccount:{SA}"))
        })
}

fn faulted(h: &Harness) -> usize {
    h.journal().iter().filter(|e| e.faulted).count()
}

/// 503 and 429 on every kind of read, 500/502/504 too, with and without
/// Google's error body: each is retried, and the deploy succeeds.
#[tokio::test(flavor = "multi_thread")]
async fn transient_errors_on_every_kind_of_read_are_retried() {
    let h = Harness::start_staging(staging_world().build()).await;
    for f in [
        Fault::status(Some("GET"), "/secrets/gemini-api-key", 503, 2),
        Fault::status(Some("GET"), "/versions/latest", 429, 2).with_retry_after(0),
        Fault::status(Some("GET"), "/serviceAccounts/", 500, 1),
        Fault::html(Some("GET"), "/services/autosre", 502, 1),
        Fault::status(Some("GET"), "/projects/acme-sre-staging", 504, 1),
        // The POST-shaped reads: getIamPolicy on the project and the account.
        Fault::status(Some("POST"), "acme-sre-staging:getIamPolicy", 503, 2),
        Fault::status(Some("POST"), ".com:getIamPolicy", 429, 1),
        // And Cloud Run's validation.
        Fault::status(Some("PATCH"), "validateOnly=true", 503, 1),
    ] {
        h.emulator.inject_fault(f);
    }
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(faulted(&h) >= 8, "every fault was served");
    assert!(accessor_granted(&h, "gemini-api-key"));
    assert_eq!(h.emulator.revisions(SERVICE).len(), 1);
}

/// setIamPolicy carries the etag it was computed from, so a repeat after a
/// 5xx or 429 is safe: retried, and every binding lands exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn transient_errors_on_guarded_writes_are_retried() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.emulator
        .inject_fault(Fault::status(Some("POST"), ":setIamPolicy", 503, 2));
    h.emulator
        .inject_fault(Fault::status(Some("POST"), ":setIamPolicy", 429, 1));
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    for s in SECRETS {
        assert!(accessor_granted(&h, s), "{s}");
    }

    // A PATCH with the live etag is guarded too.
    let changed = staging().replace("LOG_LEVEL: INFO", "LOG_LEVEL: DEBUG");
    h.write_config("staging", &changed);
    h.emulator
        .inject_fault(Fault::status(Some("PATCH"), "validateOnly=false", 503, 1));
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let refused = h
        .journal()
        .iter()
        .filter(|e| e.rpc.ends_with("services.patch") && e.status == 503 && !e.validate_only)
        .count();
    assert_eq!(refused, 1, "the real PATCH met the 503 and was sent again");
    assert_eq!(h.emulator.revisions(SERVICE).len(), 2, "one new revision");
}

/// When retries run out, the message names the call, the status and that
/// it was transient; a proxy's HTML page is summarised, never dumped.
#[tokio::test(flavor = "multi_thread")]
async fn retries_that_run_out_say_what_was_transient() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.emulator.inject_fault(Fault::html(
        Some("GET"),
        "/secrets/gemini-api-key",
        502,
        100,
    ));
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    // The call (on the secret, its policy or its version: whichever read
    // the fault met first) and the resource.
    assert!(
        run.stderr.contains("error: secrets.")
            && run
                .stderr
                .contains("`projects/acme-sre-staging/secrets/gemini-api-key"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("HTTP 502") && run.stderr.contains("transient"),
        "{}",
        run.stderr
    );
    run.assert_stderr_contains("gave up after 5 attempts");
    run.assert_stderr_contains("not a Google error (text/html");
    assert!(!run.stderr.contains("<html"), "{}", run.stderr);
    assert!(h.writes().is_empty(), "nothing was written");
}

/// A non-JSON answer where JSON was due is a clear failure, not a panic.
#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_is_not_json_fails_clearly() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.emulator.inject_fault(Fault::body(
        Some("GET"),
        "/secrets/gemini-api-key",
        200,
        "<not json>",
        100,
    ));
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains("cannot deserialize the response");
    assert!(h.writes().is_empty());
}

/// 409 ABORTED three times in a row, each from a real concurrent writer:
/// the read-modify-write is redone each time and nobody's binding is lost.
#[tokio::test(flavor = "multi_thread")]
async fn three_concurrent_writers_in_a_row_lose_nothing() {
    let h = Harness::start_staging(staging_world().build()).await;
    for i in 0..3 {
        h.emulator.before_request(
            "POST",
            &format!("projects/{PROJECT}:setIamPolicy"),
            move |st| {
                st.add_binding(
                    &format!("projects/{PROJECT}"),
                    "roles/viewer",
                    &format!("user:writer{i}@example.com"),
                )
            },
        );
    }
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let p = h.emulator.policy(&format!("projects/{PROJECT}")).unwrap();
    for i in 0..3 {
        assert!(
            p.bindings
                .iter()
                .any(|b| b.members.contains(&format!("user:writer{i}@example.com"))),
            "writer {i} kept"
        );
    }
    assert!(p.bindings.iter().any(|b| b.role == "roles/cloudtrace.agent"
        && b.members.contains(&format!("serviceAccount:{SA}"))));
    let aborted = h
        .journal()
        .iter()
        .filter(|e| e.rpc.ends_with("projects.setIamPolicy") && e.status == 409)
        .count();
    assert_eq!(aborted, 3, "three stale etags, three re-reads");
}

/// Eight `grant` runs at once, each for its own runtime account, on one
/// project policy: every binding lands.
#[tokio::test(flavor = "multi_thread")]
async fn eight_concurrent_grants_on_one_policy_lose_no_binding() {
    let accounts: Vec<String> = (0..8)
        .map(|i| format!("run{i}@{PROJECT}.iam.gserviceaccount.com"))
        .collect();
    let mut world = staging_world();
    for a in &accounts {
        world = world.service_account(a);
    }
    let h = Harness::start(world.build()).await;
    for (i, a) in accounts.iter().enumerate() {
        h.write_config(&format!("env{i}"), &staging().replace(SA, a));
    }
    let runs = futures::future::join_all((0..8).map(|i| {
        let env = format!("env{i}");
        let h = &h;
        async move { h.run(&["grant", "--env", &env]).await }
    }))
    .await;
    for r in &runs {
        assert_eq!(r.code, 0, "{}", r.all());
    }
    let p = h.emulator.policy(&format!("projects/{PROJECT}")).unwrap();
    for a in &accounts {
        assert!(
            p.bindings.iter().any(|b| b.role == "roles/cloudtrace.agent"
                && b.members.contains(&format!("serviceAccount:{a}"))),
            "{a} lost"
        );
    }
}

/// Two first deploys at once: the plan said "create", so the loser's
/// services.create is refused (ALREADY_EXISTS) instead of silently replacing
/// the winner's service. The race is made deterministic: the other deploy's
/// service appears after this one's plan read it as missing (when Cloud Run
/// is asked to validate, the plan's second phase) and before its create.
#[tokio::test(flavor = "multi_thread")]
async fn a_first_deploy_that_loses_the_race_replaces_nothing() {
    let h = Harness::start_staging(staging_world().build()).await;
    let other_image = "us-docker.pkg.dev/acme-sre-staging/autosre/autosre:other";
    let service = serde_json::json!({
        "name": "autosre",
        "template": {"containers": [{"image": other_image}]}
    });
    h.emulator
        .before_request("PATCH", "/services/autosre", move |st| {
            st.seed_service(PROJECT, "us-central1", service)
                .expect("the other deploy's service");
        });
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains("the service was created by someone else since the plan");
    let svc = h.emulator.service(SERVICE).unwrap();
    assert_eq!(svc["template"]["containers"][0]["image"], other_image);
}

/// A policy answer without an etag is never written back (Google would
/// apply it over any concurrent change): it is read again, and when the
/// etag stays missing the run fails without writing that policy.
#[tokio::test(flavor = "multi_thread")]
async fn a_policy_without_an_etag_is_never_written_blindly() {
    let h = Harness::start_staging(staging_world().build()).await;
    // Once: the re-read has its etag, and the grant lands.
    h.emulator.inject_fault(Fault::strip_field(
        Some("POST"),
        &format!("projects/{PROJECT}:getIamPolicy"),
        "etag",
        1,
    ));
    let run = h.run(&["grant", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let project_writes: Vec<_> = h
        .journal()
        .into_iter()
        .filter(|e| e.rpc.ends_with("projects.setIamPolicy"))
        .collect();
    assert_eq!(project_writes.len(), 1);

    // Always: no write of that policy at all, and a clear failure.
    let h = Harness::start_staging(staging_world().build()).await;
    h.emulator.inject_fault(Fault::strip_field(
        Some("POST"),
        &format!("projects/{PROJECT}:getIamPolicy"),
        "etag",
        100,
    ));
    let run = h.run(&["grant", "--env", "staging"]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains("no etag");
    assert!(
        !h.write_rpcs()
            .iter()
            .any(|r| r == "cloudresourcemanager.projects.setIamPolicy"),
        "{:?}",
        h.write_rpcs()
    );
}

/// An operation that never finishes: `--timeout` bounds the wait, and the
/// message names the operation and how to watch it. (The deadline bounds the
/// reads before it too: it leaves them time enough on a loaded machine.)
#[tokio::test(flavor = "multi_thread")]
async fn an_operation_that_never_finishes_is_bounded_by_the_timeout() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.emulator.set_operation_polls(u32::MAX);
    let run = h
        .run(&["deploy", "--env", "staging", "--timeout", "3s"])
        .await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains("did not finish within the deadline");
    run.assert_stderr_contains("/operations/");
    run.assert_stderr_contains(
        "gcloud run services describe autosre --project=acme-sre-staging --region=us-central1",
    );
}

/// One bad answer to a poll is not a failed rollout: the next read goes on.
#[tokio::test(flavor = "multi_thread")]
async fn one_failed_poll_does_not_fail_the_rollout() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.emulator
        .inject_fault(Fault::body(Some("POST"), "/operations/", 200, "", 1));
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("service: autosre ready"),
        "{}",
        run.stdout
    );
    assert_eq!(faulted(&h), 1);
}

/// When the operation cannot be read at all, the tool asks the service and
/// reports what is true: the rollout is in progress, not "failed".
#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_operation_is_reported_from_the_services_state() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.emulator
        .inject_fault(Fault::status(None, "/operations/", 404, 100));
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("still in progress")
            || run.stderr.contains("watching the rollout failed"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("traffic stays on"), "{}", run.stderr);
}

/// A black-hole endpoint (accepts, never answers) costs one request timeout,
/// then the retry goes through.
#[tokio::test(flavor = "multi_thread")]
async fn a_request_that_never_answers_times_out_and_is_retried() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.emulator
        .inject_fault(Fault::hang(Some("GET"), "/serviceAccounts/", 1));
    let run = h
        .run(&["check", "--env", "staging", "--request-timeout", "200ms"])
        .await;
    assert_eq!(run.code, 0, "{}", run.all());
}

/// An API whose endpoint refuses connections fails fast with the call named.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_connection_names_the_call() {
    let h = Harness::start_staging(staging_world().build()).await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", l.local_addr().unwrap())
    };
    let run = h
        .run_with(
            &["check", "--env", "staging"],
            &[("CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM", &closed)],
        )
        .await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains("serviceAccounts.get");
    run.assert_stderr_contains("transient");
}

/// 401 is about the caller's credentials: one line naming the source that
/// was refused (an expired GOOGLE_OAUTH_ACCESS_TOKEN), and the fix for it.
#[tokio::test(flavor = "multi_thread")]
async fn unauthenticated_names_the_refused_token_and_its_fix() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.emulator.inject_fault(Fault::status(None, "/", 401, 1000));
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains(
        "error: the token in GOOGLE_OAUTH_ACCESS_TOKEN was refused (expired?): ",
    );
    run.assert_stderr_contains(
        "hint: set a fresh token: export GOOGLE_OAUTH_ACCESS_TOKEN=\"$(gcloud auth print-access-token)\"",
    );
    assert!(
        !run.stderr.contains("application-default login"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("caused by"), "{}", run.stderr);
    assert!(h.writes().is_empty());
}

/// With `--output json`, stdout is exactly one JSON document, also when the
/// run fails before it has a plan, and when there is nothing to grant.
#[tokio::test(flavor = "multi_thread")]
async fn json_output_is_one_document_on_failure_and_on_no_op() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.emulator.inject_fault(Fault::status(None, "/", 403, 1000));
    let run = h
        .run(&["deploy", "--env", "staging", "--output", "json"])
        .await;
    assert_eq!(run.code, 1, "{}", run.all());
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect(&run.stdout);
    assert_eq!(v["schema_version"], 1);
    assert!(v["failure"]["message"].is_string(), "{v}");

    // A preflight refusal: the plan and the failure together.
    let h = Harness::start_staging(staging_world().build()).await;
    h.emulator
        .with_state(|st| st.disable_secret_version(PROJECT, "sre-agent-encryption-key", 1));
    let run = h
        .run(&["deploy", "--env", "staging", "--output", "json"])
        .await;
    assert_eq!(run.code, 1, "{}", run.all());
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect(&run.stdout);
    assert!(
        v["plan"]["preflight"]["problems"][0]["kind"].is_string(),
        "{v}"
    );
    assert!(v["outcome"]["failure"]["message"].is_string(), "{v}");

    // Nothing to grant: still one document.
    let h = Harness::start_staging(staging_world().build()).await;
    assert_eq!(h.run(&["grant", "--env", "staging"]).await.code, 0);
    let run = h
        .run(&["grant", "--env", "staging", "--output", "json"])
        .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect(&run.stdout);
    assert_eq!(v["schema_version"], 1);
    assert!(v["outcome"]["iam"].as_array().unwrap().is_empty());
}

/// A denied write is reported as not granted, with the attempts made; never
/// under `added`.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_grant_is_reported_as_failed_not_added() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.emulator.inject_fault(Fault::status(
        Some("POST"),
        &format!("projects/{PROJECT}:setIamPolicy"),
        500,
        100,
    ));
    let run = h
        .run(&["grant", "--env", "staging", "--output", "json"])
        .await;
    assert_eq!(run.code, 1, "{}", run.all());
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect(&run.stdout);
    let project = v["outcome"]["iam"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["resource"]["kind"] == "project")
        .unwrap()
        .clone();
    assert_eq!(project["status"], "failed", "{project}");
    assert!(project["added"].as_array().unwrap().is_empty(), "{project}");
    assert!(!project["not_added"].as_array().unwrap().is_empty());
    assert_eq!(project["writes"], 0);
}

/// `--detailed-exitcode` follows Terraform exactly: any error is 1, also a
/// bad flag or an unknown environment.
#[tokio::test(flavor = "multi_thread")]
async fn detailed_exitcode_says_one_for_every_error() {
    let h = Harness::start_staging(staging_world().build()).await;
    let run = h
        .run(&["plan", "--env", "staging", "--detailed-exitcode"])
        .await;
    assert_eq!(run.code, 2, "changes: {}", run.all());
    for args in [
        &["plan", "--env", "nope", "--detailed-exitcode"][..],
        &["plan", "--env", "staging", "--detailed-exitcode", "--bogus"][..],
    ] {
        let run = h.run(args).await;
        assert_eq!(run.code, 1, "{args:?}: {}", run.all());
    }
    h.write_config("staging", "project: [not yaml");
    let run = h
        .run(&["plan", "--env", "staging", "--detailed-exitcode"])
        .await;
    assert_eq!(run.code, 1, "{}", run.all());
}

/// A missing runtime account is the preflight problem it is, with the
/// command that creates it; nothing is written.
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_runtime_account_is_a_preflight_problem() {
    let h = Harness::start_staging(
        World::builder()
            .project(PROJECT, NUMBER)
            .secret(PROJECT, "sre-agent-encryption-key")
            .secret_version(
                PROJECT,
                "sre-agent-encryption-key",
                VersionState::Enabled,
                KEY,
            )
            .secret(PROJECT, "gemini-api-key")
            .secret_version(PROJECT, "gemini-api-key", VersionState::Enabled, PAYLOAD)
            .secret(PROJECT, "google-client-id")
            .secret_version(PROJECT, "google-client-id", VersionState::Enabled, PAYLOAD)
            .image(&format!("{STAGING_IMAGE}:2026.11.28"), None)
            .build(),
    )
    .await;
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains("preflight failed");
    run.assert_stderr_contains("gcloud iam service-accounts create autosre-run");
    assert!(!run.stderr.contains("validateOnly"), "{}", run.stderr);
    assert!(h.writes().is_empty());
}

/// An empty GOOGLE_OAUTH_ACCESS_TOKEN is an error that says so, not a
/// silent fall-back to Application Default Credentials.
#[tokio::test(flavor = "multi_thread")]
async fn an_empty_token_is_an_error_not_a_fall_back() {
    let h = Harness::start_staging(staging_world().build()).await;
    let run = h
        .run_with(
            &["check", "--env", "staging"],
            &[("GOOGLE_OAUTH_ACCESS_TOKEN", "  ")],
        )
        .await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains("GOOGLE_OAUTH_ACCESS_TOKEN is set but empty");
    assert!(h.journal().is_empty());
}

/// `--log-format json`: every line on stderr is one JSON object with Cloud
/// Logging's field names, errors included.
#[tokio::test(flavor = "multi_thread")]
async fn json_logs_are_json_on_every_line() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.emulator
        .inject_fault(Fault::status(Some("PATCH"), "validateOnly=true", 503, 1));
    let run = h
        .run(&["deploy", "--env", "staging", "--log-format", "json", "-v"])
        .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let run2 = h
        .run(&["deploy", "--env", "nope", "--log-format", "json"])
        .await;
    assert_eq!(run2.code, 2);
    for line in run.stderr.lines().chain(run2.stderr.lines()) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            v["severity"].is_string() && v["message"].is_string(),
            "{line}"
        );
        assert!(v["time"].is_string(), "{line}");
    }
    run2.assert_stderr_contains("\"severity\":\"ERROR\"");
}
