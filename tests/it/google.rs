//! End-to-end: what real Google answers and the emulator models through world options
//! (issue 8): failed revisions in each of Cloud Run's forms, system annotations on a
//! gcloud-deployed service, who deployed it, a rollout retry that must change the template,
//! and `validateOnly` on a service that does not exist yet.

use autosre_emulator::MissingServiceValidation;
use serde_json::{Value, json};

use crate::harness::*;

const NEXT_IMAGE: &str = "us-docker.pkg.dev/acme-sre-staging/autosre/autosre:next";
/// The template annotation a rollout retry sets (`src/apply/rollout.rs`).
const RETRY_ANNOTATION: &str = "autosre-deploy/rollout-attempt";
/// The staging service as an earlier deploy (with gcloud) left it, as a run.v2 Service
/// with `extra` merged in at the top level and into the template.
fn seeded_service(extra: Value, template_extra: Value) -> Value {
    let secret = |name: &str, secret: &str| json!({"name": name, "valueSource": {"secretKeyRef": {"secret": secret, "version": "latest"}}});
    let mut template = json!({
        "serviceAccount": SA,
        "containers": [{
            "image": "us-docker.pkg.dev/acme-sre-staging/autosre/autosre:2026.11.28",
            "env": [
                secret("GOOGLE_API_KEY", "gemini-api-key"),
                secret("GOOGLE_CLIENT_ID", "google-client-id"),
                {"name": "LOG_FORMAT", "value": "JSON"},
                {"name": "LOG_LEVEL", "value": "INFO"},
                secret("SRE_AGENT_ENCRYPTION_KEY", "sre-agent-encryption-key"),
                {"name": "STRICT_EUC_ENFORCEMENT", "value": "true"},
            ],
        }],
    });
    merge(&mut template, template_extra);
    let mut service = json!({"name": "autosre", "template": template});
    merge(&mut service, extra);
    service
}

fn merge(into: &mut Value, extra: Value) {
    if let (Some(into), Value::Object(extra)) = (into.as_object_mut(), extra) {
        into.extend(extra);
    }
}

/// A deploy of [`NEXT_IMAGE`] that retries rollouts every 10 ms, for up to
/// `timeout` seconds.
async fn deploy_next_image(h: &Harness, timeout: &str) -> Run {
    h.run(&[
        "deploy",
        "--env",
        "staging",
        "--image",
        NEXT_IMAGE,
        "--propagation-retry-ms",
        "10",
        "--iam-propagation-timeout",
        timeout,
    ])
    .await
}

/// The staging world with the service an earlier deploy left, serving, whose
/// every new revision fails with `reason` and `message`.
fn failing_revisions(reason: &str, message: &str) -> World {
    staging_world()
        .service(PROJECT, "us-central1", seeded_service(json!({}), json!({})))
        .fail_revisions(reason, message)
        .build()
}

// 1. Failed revisions.

/// A first deploy whose secret grants have not propagated when Cloud Run checks them:
/// whatever code (9 or 13) and message form the failed rollout carries, the tool reads
/// SECRETS_ACCESS_CHECK_FAILED and rolls out again once.
async fn retried_on_unpropagated_grants(code: i32, revision_prefix: bool) {
    let world = staging_world()
        .revision_failure(Some(code), revision_prefix)
        .build();
    let (h, run) = deploy_retried_once(world).await;
    assert_eq!(
        run.code,
        0,
        "code {code}, prefix {revision_prefix}: {}",
        run.all()
    );
    run.assert_stderr_contains("The new secret grants have not propagated yet");
    run.assert_stderr_contains("ok: Deployed autosre to ");
    let revisions = h.emulator.revisions(SERVICE);
    assert_eq!(revisions.len(), 2, "{revisions:?}");
    assert!(!revisions[0].ready);
    assert_eq!(revisions[0].reason, "SECRETS_ACCESS_CHECK_FAILED");
    assert!(revisions[1].ready);
    assert_eq!(
        h.rollouts(),
        [
            "run.projects.locations.services.create",
            "run.projects.locations.services.patch"
        ]
    );
    h.assert_latest_ready(&revisions[1].name);
    // Every form reads the same to the user.
    assert_run_snapshot!("retried_on_unpropagated_grants", run);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_access_failure_with_code_9_and_the_revision_prefix_is_retried() {
    retried_on_unpropagated_grants(9, true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_access_failure_with_code_9_without_the_revision_prefix_is_retried() {
    retried_on_unpropagated_grants(9, false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_access_failure_with_code_13_and_the_revision_prefix_is_retried() {
    retried_on_unpropagated_grants(13, true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_access_failure_with_code_13_without_the_revision_prefix_is_retried() {
    retried_on_unpropagated_grants(13, false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_structured_reason_decides_without_the_documented_words() {
    // Every new revision fails with SECRETS_ACCESS_CHECK_FAILED but a message without
    // "Permission denied on secret": the reason alone makes the tool retry, until its
    // own timeout (1 s, real time; how many retries fit is not asserted).
    let world = failing_revisions("SECRETS_ACCESS_CHECK_FAILED", "The secret check failed.");
    let h = Harness::start_staging(world).await;
    let run = deploy_next_image(&h, "1").await;
    run.assert_code(1);
    run.assert_stderr_contains("The new secret grants have not propagated yet");
    run.assert_stderr_contains("The secret check failed.");
    assert!(h.rollouts().len() >= 2, "{:?}", h.rollouts());
    let revisions = h.emulator.revisions(SERVICE);
    assert!(revisions[0].ready && revisions[1..].iter().all(|r| !r.ready));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_container_image_is_not_retried_and_traffic_stays() {
    // A service deployed and serving; every new revision fails with CONTAINER_MISSING.
    let message = format!("Image '{NEXT_IMAGE}' not found.");
    let h = Harness::start_staging(failing_revisions("CONTAINER_MISSING", &message)).await;
    let serving = h.emulator.revisions(SERVICE)[0].name.clone();

    let run = deploy_next_image(&h, "10").await;
    run.assert_code(1);
    run.assert_stderr_contains(&message);
    run.assert_stderr_contains(&format!("traffic stays on revision {serving}"));
    assert!(
        !run.stderr.contains("have not propagated"),
        "not retried: {}",
        run.stderr
    );
    assert_run_snapshot!(run);
    // One rollout, one failed revision, traffic on the first.
    assert_eq!(h.rollouts(), ["run.projects.locations.services.patch"]);
    let revisions = h.emulator.revisions(SERVICE);
    assert_eq!(revisions.len(), 2, "{revisions:?}");
    assert!(!revisions[1].ready);
    assert_eq!(revisions[1].reason, "CONTAINER_MISSING");
    h.assert_latest_ready(&serving);
    let svc = h.emulator.service(SERVICE).unwrap();
    assert_eq!(
        svc["traffic"][0]["type"], "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST",
        "{svc}"
    );
}

// 2. System annotations and labels.

#[tokio::test(flavor = "multi_thread")]
async fn system_annotations_of_a_gcloud_deploy_are_dropped_and_the_plan_says_so() {
    let service = seeded_service(
        json!({
            "annotations": {
                "run.googleapis.com/client-name": "gcloud",
                "run.googleapis.com/ingress": "all",
                "team-note": "kept",
            },
            "labels": {"cloud.googleapis.com/location": "us-central1", "team": "sre"},
        }),
        json!({
            "annotations": {
                "autoscaling.knative.dev/maxScale": "10",
                "run.googleapis.com/startup-cpu-boost": "true",
            },
            "labels": {"serving.knative.dev/route": "autosre", "tier": "agent"},
        }),
    );
    let world = staging_world()
        .service(PROJECT, "us-central1", service)
        .build();
    let h = Harness::start_staging(world).await;
    let before = h.emulator.service(SERVICE).unwrap();
    assert_eq!(
        before["annotations"]["run.googleapis.com/client-name"],
        "gcloud"
    );

    let plan = h
        .run(&["plan", "--env", "staging", "--image", NEXT_IMAGE])
        .await;
    plan.assert_code(0);
    plan.assert_all_contains("the update drops system annotations and labels");
    for key in [
        "run.googleapis.com/client-name",
        "run.googleapis.com/ingress",
        "cloud.googleapis.com/location",
        "autoscaling.knative.dev/maxScale",
        "run.googleapis.com/startup-cpu-boost",
        "serving.knative.dev/route",
    ] {
        assert!(plan.all().contains(key), "{key}: {}", plan.all());
    }
    assert_run_snapshot!("system_keys_plan", plan);

    let run = h
        .run(&["deploy", "--env", "staging", "--image", NEXT_IMAGE])
        .await;
    run.assert_code(0);
    assert_run_snapshot!("system_keys_deploy", run);
    assert_eq!(
        h.journal()
            .iter()
            .filter(|e| e.rpc == "run.projects.locations.services.patch" && e.status == 400)
            .count(),
        0,
        "no patch was refused"
    );

    let svc = h.emulator.service(SERVICE).unwrap();
    assert_eq!(
        svc["template"]["containers"][0]["image"],
        format!("{STAGING_IMAGE}@{}", staging_digest("next")),
        "{svc}"
    );
    let system = |key: &str| {
        [
            "run.googleapis.com/",
            "cloud.googleapis.com/",
            "serving.knative.dev/",
            "autoscaling.knative.dev/",
        ]
        .iter()
        .any(|ns| key.starts_with(ns))
    };
    for (at, map) in [
        ("annotations", &svc["annotations"]),
        ("labels", &svc["labels"]),
        ("template.annotations", &svc["template"]["annotations"]),
        ("template.labels", &svc["template"]["labels"]),
    ] {
        let keys: Vec<&String> = map
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert!(
            !keys.iter().any(|k| system(k)),
            "{at} keeps a system key: {keys:?}"
        );
    }
    // The deployer's own keys stay.
    assert_eq!(svc["annotations"]["team-note"], "kept", "{svc}");
    assert_eq!(svc["labels"]["team"], "sre", "{svc}");
    assert_eq!(svc["template"]["labels"]["tier"], "agent", "{svc}");
}

// 3. Who deployed it.

#[tokio::test(flavor = "multi_thread")]
async fn the_service_names_autosre_deploy_and_its_version_as_its_client() {
    let service = seeded_service(
        json!({"client": "gcloud", "clientVersion": "500.0.0"}),
        json!({}),
    );
    let world = staging_world()
        .service(PROJECT, "us-central1", service)
        .build();
    let h = Harness::start_staging(world).await;
    assert_eq!(h.emulator.service(SERVICE).unwrap()["client"], "gcloud");

    let run = h
        .run(&["deploy", "--env", "staging", "--image", NEXT_IMAGE])
        .await;
    run.assert_code(0);
    let svc = h.emulator.service(SERVICE).unwrap();
    assert_eq!(svc["client"], "autosre-deploy", "{svc}");
    assert_eq!(svc["clientVersion"], env!("CARGO_PKG_VERSION"), "{svc}");

    // And on a service the tool creates.
    let h = Harness::start_staging(staging_world().build()).await;
    let run = h.run(&["deploy", "--env", "staging"]).await;
    run.assert_code(0);
    let svc = h.emulator.service(SERVICE).unwrap();
    assert_eq!(svc["client"], "autosre-deploy", "{svc}");
    assert_eq!(svc["clientVersion"], env!("CARGO_PKG_VERSION"), "{svc}");
}

// 4. The rollout-retry annotation.

fn retry_annotation(h: &Harness) -> String {
    let svc = h.emulator.service(SERVICE).unwrap();
    svc["template"]["annotations"][RETRY_ANNOTATION]
        .as_str()
        .unwrap_or_else(|| panic!("no {RETRY_ANNOTATION} on the template: {svc}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_deploys_rollout_retry_marks_the_template_with_its_own_value() {
    let (h, run) = deploy_retried_once(staging_world().build()).await;
    run.assert_code(0);
    assert_eq!(h.emulator.revisions(SERVICE).len(), 2);
    let first = retry_annotation(&h);

    // Someone removes the runtime account's access to one secret: the next deploy
    // (a new image) grants it again, and its first rollout fails on the new grant.
    h.emulator.with_state(|st| {
        st.remove_binding(
            &format!("projects/{PROJECT}/secrets/gemini-api-key"),
            "roles/secretmanager.secretAccessor",
            &format!("serviceAccount:{SA}"),
        )
    });
    propagate_after_the_first_rollout(&h);
    let args: Vec<&str> = RETRY_ARGS
        .iter()
        .copied()
        .chain(["--image", NEXT_IMAGE])
        .collect();
    let run = h.run(&args).await;
    run.assert_code(0);
    run.assert_stderr_contains("The new secret grants have not propagated yet");
    let revisions = h.emulator.revisions(SERVICE);
    assert_eq!(revisions.len(), 4, "{revisions:?}");
    assert!(!revisions[2].ready && revisions[3].ready, "{revisions:?}");
    let second = retry_annotation(&h);
    assert!(
        first.ends_with("-2") && second.ends_with("-2"),
        "{first} {second}"
    );
    assert_ne!(
        first, second,
        "a later deploy's retry repeats an earlier one's value"
    );
}

// 5. validateOnly on a service that does not exist yet.

async fn first_deploy_with_validation(
    missing: MissingServiceValidation,
    check_secrets: bool,
) -> (Harness, Run) {
    let world = staging_world()
        .validate_only(missing, check_secrets)
        .build();
    let h = Harness::start_staging(world).await;
    let plan = h.run(&["plan", "--env", "staging"]).await;
    assert_eq!(plan.code, 0, "{missing:?}: {}", plan.all());
    assert!(h.writes().is_empty(), "a plan writes nothing");
    (h, plan)
}

/// Then the deploy goes on and creates the service.
async fn deploys(h: &Harness) {
    let run = h.run(&["deploy", "--env", "staging"]).await;
    run.assert_code(0);
    let revisions = h.emulator.revisions(SERVICE);
    assert_eq!(revisions.len(), 1, "{revisions:?}");
    assert!(revisions[0].ready);
}

#[tokio::test(flavor = "multi_thread")]
async fn validation_that_is_not_found_is_a_warning_not_a_failure() {
    let (h, plan) = first_deploy_with_validation(MissingServiceValidation::NotFound, false).await;
    plan.assert_all_contains("Cloud Run did not validate");
    assert_run_snapshot!(plan);
    deploys(&h).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn validation_that_is_permission_denied_is_a_warning_not_a_failure() {
    let (h, plan) =
        first_deploy_with_validation(MissingServiceValidation::PermissionDenied, false).await;
    plan.assert_all_contains("Cloud Run did not validate");
    assert_run_snapshot!(plan);
    deploys(&h).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn validation_as_a_pending_operation_is_polled_to_its_answer() {
    // The operation finishes after the emulator's `operation_polls` (2) reads.
    let (h, plan) =
        first_deploy_with_validation(MissingServiceValidation::PendingOperation, false).await;
    assert!(
        !plan.all().contains("Cloud Run did not validate"),
        "{}",
        plan.all()
    );
    assert!(!plan.all().contains("warning"), "{}", plan.all());
    deploys(&h).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn validation_as_an_operation_that_never_finishes_is_a_warning() {
    let world = staging_world()
        .validate_only(MissingServiceValidation::PendingOperation, false)
        .operation_polls(u32::MAX)
        .build();
    let h = Harness::start_staging(world).await;
    let plan = h.run(&["plan", "--env", "staging"]).await;
    plan.assert_code(0);
    plan.assert_all_contains("Cloud Run did not validate");
    assert!(h.writes().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn validation_that_checks_secrets_before_the_grants_is_expected() {
    let (h, plan) =
        first_deploy_with_validation(MissingServiceValidation::DoneOperation, true).await;
    plan.assert_all_contains("as expected before the secret grants this plan makes");
    assert_run_snapshot!(plan);
    deploys(&h).await;
}
