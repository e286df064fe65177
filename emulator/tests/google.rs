//! Real-Google behaviours that are world options (emulator/README.md, "World options"): the
//! caller's permissions, domain-restricted sharing, system annotations, the undocumented
//! validateOnly answers, failed revisions' codes and reasons, and Resource Manager v1.

use autosre_emulator::{Clock, Emulator, MissingServiceValidation, Options, VersionState, World};
use serde_json::{Value, json};
use std::time::Duration;

mod common;
use common::{call, start};

const DEPLOYER: &str = "deployer@acme.iam.gserviceaccount.com";
const RUNNER: &str = "runner@acme.iam.gserviceaccount.com";
const SVC: &str = "projects/acme/locations/us-central1/services/api";

fn base() -> autosre_emulator::WorldBuilder {
    World::builder()
        .project("acme", 42)
        .service_account(DEPLOYER)
        .service_account(RUNNER)
        .secret("acme", "key")
        .secret_version("acme", "key", VersionState::Enabled, b"k")
        .service(
            "acme",
            "us-central1",
            json!({"name": "api", "template": {"serviceAccount": RUNNER,
                "containers": [{"image": "x/y:1"}]}}),
        )
}

/// PATCH the service to a new image (`x/y:2`): the status and the operation or error.
async fn update_image(url: &str) -> (u16, Value) {
    call(url, "PATCH", &format!("/v2/{SVC}"), Some(template("x/y:2"))).await
}

fn template(image: &str) -> Value {
    json!({"template": {"serviceAccount": RUNNER, "containers": [{"image": image}]}})
}

#[tokio::test]
async fn a_caller_without_the_permission_gets_googles_403() {
    let world = base()
        .caller(DEPLOYER)
        .enforce_caller_permissions()
        .project_binding(
            "acme",
            "roles/run.viewer",
            &format!("serviceAccount:{DEPLOYER}"),
        )
        .build();
    let (_emu, url) = start(world, Options::default()).await;
    let (status, _) = call(&url, "GET", &format!("/v2/{SVC}"), None).await;
    assert_eq!(status, 200);
    let (status, body) = update_image(&url).await;
    assert_eq!(status, 403);
    let e = &body["error"];
    assert_eq!(e["status"], "PERMISSION_DENIED");
    assert_eq!(
        e["message"],
        format!(
            "Permission 'run.services.update' denied on resource '{SVC}' (or it may not exist)."
        )
    );
    assert_eq!(
        e["details"][0],
        json!({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "IAM_PERMISSION_DENIED",
            "domain": "run.googleapis.com",
            "metadata": {"permission": "run.services.update", "resource": SVC}})
    );
    let (status, body) = call(
        &url,
        "GET",
        "/v1/projects/acme/secrets/key/versions/1:access",
        None,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["error"]["details"][0]["metadata"]["permission"],
        "secretmanager.versions.access"
    );
}

#[tokio::test]
async fn deploying_needs_act_as_on_the_runtime_account() {
    let deployer = format!("serviceAccount:{DEPLOYER}");
    let world = base()
        .caller(DEPLOYER)
        .enforce_caller_permissions()
        .project_binding("acme", "roles/run.developer", &deployer)
        .build();
    let (emu, url) = start(world, Options::default()).await;
    let (status, body) = update_image(&url).await;
    assert_eq!(status, 403);
    assert_eq!(
        body["error"]["details"][0]["metadata"]["permission"],
        "iam.serviceAccounts.actAs"
    );
    emu.with_state(|st| {
        st.add_binding(
            &format!("projects/acme/serviceAccounts/{RUNNER}"),
            "roles/iam.serviceAccountUser",
            &deployer,
        )
    });
    let (status, body) = update_image(&url).await;
    assert_eq!(status, 200, "{body}");
    // Creating through allowMissing needs run.services.create, which run.developer has.
    let new = "/v2/projects/acme/locations/us-central1/services/new?allowMissing=true";
    let (status, body) = call(&url, "PATCH", new, Some(template("x/y:1"))).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn test_iam_permissions_answers_the_truth_and_custom_roles_count() {
    let deployer = format!("serviceAccount:{DEPLOYER}");
    let world = base()
        .caller(DEPLOYER)
        .enforce_caller_permissions()
        .custom_role("acme", "reader", &["secretmanager.secrets.get"])
        .project_binding("acme", "projects/acme/roles/reader", &deployer)
        .secret_binding(
            "acme",
            "key",
            "roles/secretmanager.secretAccessor",
            &deployer,
        )
        .build();
    let (_emu, url) = start(world, Options::default()).await;
    let asked = json!({"permissions": ["secretmanager.secrets.get", "secretmanager.versions.access",
        "secretmanager.secrets.setIamPolicy"]});
    let (status, body) = call(
        &url,
        "POST",
        "/v1/projects/acme/secrets/key:testIamPermissions",
        Some(asked),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"permissions": ["secretmanager.secrets.get", "secretmanager.versions.access"]})
    );
    let (status, _) = call(&url, "GET", "/v1/projects/acme/secrets/key", None).await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &url,
        "GET",
        "/v1/projects/acme/secrets/key/versions/1:access",
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &url,
        "POST",
        "/v1/projects/acme/secrets/key:getIamPolicy",
        None,
    )
    .await;
    assert_eq!(status, 404, "getIamPolicy on secrets is a GET");
    let (status, _) = call(
        &url,
        "GET",
        "/v1/projects/acme/secrets/key:getIamPolicy",
        None,
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn the_callers_new_grants_wait_for_propagation_on_the_emulator_clock() {
    let deployer = format!("serviceAccount:{DEPLOYER}");
    let world = base()
        .caller(DEPLOYER)
        .enforce_caller_permissions()
        .project_binding("acme", "roles/resourcemanager.projectIamAdmin", &deployer)
        .build();
    let options = Options {
        iam_propagation: Duration::from_secs(120),
        clock: Clock::Manual,
        ..Options::default()
    };
    let (emu, url) = start(world, options).await;
    let (_, policy) = call(
        &url,
        "POST",
        "/v3/projects/acme:getIamPolicy",
        Some(json!({})),
    )
    .await;
    let mut bindings = policy["bindings"].as_array().unwrap().clone();
    bindings.push(json!({"role": "roles/run.viewer", "members": [deployer]}));
    let set = json!({"policy": {"bindings": bindings, "etag": policy["etag"]}});
    let (status, body) = call(&url, "POST", "/v3/projects/acme:setIamPolicy", Some(set)).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = call(&url, "GET", &format!("/v2/{SVC}"), None).await;
    assert_eq!(status, 403, "not propagated yet");
    emu.advance(Duration::from_secs(120));
    let (status, _) = call(&url, "GET", &format!("/v2/{SVC}"), None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn domain_restricted_sharing_refuses_all_users_but_not_invoker_iam_disabled() {
    let world = base().domain_restricted_sharing("acme").build();
    let (emu, url) = start(world, Options::default()).await;
    let set =
        json!({"policy": {"bindings": [{"role": "roles/run.invoker", "members": ["allUsers"]}]}});
    let (status, body) = call(&url, "POST", &format!("/v2/{SVC}:setIamPolicy"), Some(set)).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["status"], "FAILED_PRECONDITION");
    assert_eq!(
        body["error"]["message"],
        "One or more users named in the policy do not belong to a permitted customer, perhaps due to an organization policy."
    );
    let v = &body["error"]["details"][0];
    assert_eq!(
        v["@type"],
        "type.googleapis.com/google.rpc.PreconditionFailure"
    );
    assert_eq!(
        v["violations"][0]["type"],
        "constraints/iam.allowedPolicyMemberDomains"
    );
    assert!(emu.policy(SVC).unwrap().bindings.is_empty());
    // Google's recommended route to public access works under the policy.
    let mut body = template("x/y:2");
    body["invokerIamDisabled"] = true.into();
    body["client"] = "autosre-deploy".into();
    body["clientVersion"] = "1.2.3".into();
    let (status, _) = call(&url, "PATCH", &format!("/v2/{SVC}"), Some(body)).await;
    assert_eq!(status, 200);
    let svc = emu.service(SVC).unwrap();
    assert_eq!(
        (
            &svc["invokerIamDisabled"],
            &svc["client"],
            &svc["clientVersion"]
        ),
        (&json!(true), &json!("autosre-deploy"), &json!("1.2.3"))
    );
}

#[tokio::test]
async fn seeded_system_annotations_are_kept_and_sending_them_is_400() {
    let world = World::builder()
        .project("acme", 42)
        .service(
            "acme",
            "us-central1",
            json!({"name": "api",
            "annotations": {"run.googleapis.com/client-name": "gcloud"},
            "template": {"annotations": {"autoscaling.knative.dev/maxScale": "3"},
                "containers": [{"image": "x/y:1"}]}}),
        )
        .build();
    let (emu, url) = start(world, Options::default()).await;
    let live = emu.service(SVC).unwrap();
    assert_eq!(
        live["annotations"]["run.googleapis.com/client-name"],
        "gcloud"
    );
    let (status, body) = call(&url, "PATCH", &format!("/v2/{SVC}"), Some(live)).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
    let m = body["error"]["message"].as_str().unwrap();
    assert!(
        m.starts_with("Violation in UpdateServiceRequest.service."),
        "{m}"
    );
    assert!(
        m.ends_with("system annotations are not supported in Cloud Run API v2."),
        "{m}"
    );
    assert_eq!(
        body["error"]["details"][0]["@type"],
        "type.googleapis.com/google.rpc.BadRequest"
    );
}

async fn validate_missing(missing: MissingServiceValidation) -> (u16, Value) {
    let world = base().validate_only(missing, false).build();
    let (_emu, url) = start(world, Options::default()).await;
    let path =
        "/v2/projects/acme/locations/us-central1/services/new?validateOnly=true&allowMissing=true";
    call(&url, "PATCH", path, Some(template("x/y:1"))).await
}

#[tokio::test]
async fn validate_only_on_a_missing_service_answers_as_the_world_says() {
    let (status, op) = validate_missing(MissingServiceValidation::DoneOperation).await;
    assert_eq!((status, &op["done"]), (200, &json!(true)));
    let (status, op) = validate_missing(MissingServiceValidation::PendingOperation).await;
    assert_eq!((status, &op["done"]), (200, &json!(false)));
    let (status, _) = validate_missing(MissingServiceValidation::NotFound).await;
    assert_eq!(status, 404);
    let (status, body) = validate_missing(MissingServiceValidation::PermissionDenied).await;
    assert_eq!(status, 403);
    assert_eq!(
        body["error"]["details"][0]["metadata"]["permission"],
        "run.services.create"
    );
}

/// `validateOnly.missingImage`: with an Artifact Registry image that was never pushed,
/// validateOnly goes on (`notResolved`, the default), answers 404, or ends its operation
/// NOT_FOUND; an image that was pushed, or one of another registry, is never "not found".
#[tokio::test]
async fn validate_only_on_a_missing_image_answers_as_the_world_says() {
    use autosre_emulator::MissingImageValidation;
    const MISSING: &str = "us-central1-docker.pkg.dev/acme/repo/agent:1";
    let path =
        "/v2/projects/acme/locations/us-central1/services/new?validateOnly=true&allowMissing=true";
    for (answer, want) in [
        (MissingImageValidation::NotResolved, (200, None)),
        (MissingImageValidation::NotFound, (404, None)),
        (MissingImageValidation::FailedOperation, (200, Some(5))),
    ] {
        let world = base().validate_missing_image(answer).build();
        let (_emu, url) = start(world, Options::default()).await;
        let (status, v) = call(&url, "PATCH", path, Some(template(MISSING))).await;
        let code = v["error"]["code"].as_i64();
        assert_eq!(
            (status, code),
            (want.0, want.1.or((status == 404).then_some(404))),
            "{answer:?}: {v}"
        );
        let (status, v) = call(&url, "PATCH", path, Some(template("x/y:1"))).await;
        assert_eq!(
            (status, &v["error"]),
            (200, &Value::Null),
            "{answer:?}: {v}"
        );
    }
}

#[tokio::test]
async fn validate_only_can_check_secret_access() {
    let world = base()
        .validate_only(MissingServiceValidation::DoneOperation, true)
        .build();
    let (emu, url) = start(world, Options::default()).await;
    let body = json!({"template": {"serviceAccount": RUNNER, "containers": [{"image": "x/y:2",
        "env": [{"name": "K", "valueSource": {"secretKeyRef": {"secret": "key", "version": "1"}}}]}]}});
    let (status, op) = call(
        &url,
        "PATCH",
        &format!("/v2/{SVC}?validateOnly=true"),
        Some(body),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(op["done"], true);
    assert_eq!(op["error"]["code"], 9);
    assert!(
        op["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Permission denied on secret")
    );
    assert_eq!(emu.revisions(SVC).len(), 1, "validateOnly creates nothing");
}

async fn fail_once(world: World) -> (Value, Value) {
    let (emu, url) = start(world, Options::default()).await;
    let body = json!({"template": {"serviceAccount": RUNNER, "containers": [{"image": "x/y:2",
        "env": [{"name": "K", "valueSource": {"secretKeyRef": {"secret": "key", "version": "1"}}}]}]}});
    let (_, op) = call(&url, "PATCH", &format!("/v2/{SVC}"), Some(body)).await;
    let (_, op) = call(
        &url,
        "GET",
        &format!(
            "/v2/{}?$alt=json;enum-encoding=int",
            op["name"].as_str().unwrap()
        ),
        None,
    )
    .await;
    let (_, svc) = call(
        &url,
        "GET",
        &format!("/v2/{SVC}?$alt=json;enum-encoding=int"),
        None,
    )
    .await;
    assert!(!emu.revisions(SVC).last().unwrap().ready);
    (op, svc)
}

#[tokio::test]
async fn failed_revisions_carry_the_configured_code_form_and_structured_reason() {
    let (op, svc) = fail_once(base().build()).await;
    assert_eq!(op["error"]["code"], 9);
    assert!(
        op["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Revision '")
    );
    // SECRETS_ACCESS_CHECK_FAILED is 12 in run.v2's CommonReason.
    assert_eq!(svc["terminalCondition"]["reason"], 12);
    let (op, _) = fail_once(base().revision_failure(Some(13), false).build()).await;
    assert_eq!(op["error"]["code"], 13);
    assert!(
        op["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("spec.template.spec.containers[0]")
    );
}

#[tokio::test]
async fn fail_revisions_fails_every_new_revision_with_its_reason() {
    let world = base()
        .fail_revisions("CONTAINER_MISSING", "Image 'x/y:2' not found.")
        .build();
    let (emu, url) = start(world, Options::default()).await;
    let (_, op) = update_image(&url).await;
    let (_, op) = call(
        &url,
        "GET",
        &format!("/v2/{}", op["name"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(op["error"]["code"], 13);
    let rev = emu.revisions(SVC).pop().unwrap();
    assert_eq!(rev.reason, "CONTAINER_MISSING");
    let (_, r) = call(
        &url,
        "GET",
        &format!("/v2/{SVC}/revisions/{}", rev.name),
        None,
    )
    .await;
    assert_eq!(r["conditions"][0]["reason"], "CONTAINER_MISSING");
    assert!(World::from_yaml("failRevisions: {reason: NOPE, message: x}\n").is_err());
}

#[tokio::test]
async fn resource_manager_v1_describes_projects() {
    let (_emu, url) = start(base().build(), Options::default()).await;
    let (status, p) = call(&url, "GET", "/v1/projects/acme", None).await;
    assert_eq!(status, 200);
    assert_eq!(p["projectNumber"], "42");
    assert_eq!(p["projectId"], "acme");
    assert_eq!(p["lifecycleState"], "ACTIVE");
}

#[test]
fn world_files_spell_the_options() {
    let yaml = r#"
caller: deployer@acme.iam.gserviceaccount.com
enforceCallerPermissions: true
validateOnly: {missingService: pendingOperation, checkSecrets: true, missingImage: failedOperation}
defaultBuildAccount: legacy
revisionFailure: {code: 13, revisionPrefix: false}
failRevisions: {reason: CONTAINER_MISSING, message: gone}
projects:
  - id: acme
    number: 42
    orgPolicy: {domainRestrictedSharing: true}
    customRoles:
      - {id: deployer, permissions: [run.services.get]}
    iam:
      - role: projects/acme/roles/deployer
        members: [serviceAccount:deployer@acme.iam.gserviceaccount.com]
"#;
    let w = World::from_yaml(yaml).unwrap();
    Emulator::try_new(w, Options::default()).unwrap();
    assert!(
        World::from_yaml("enforceCallerPermissions: true\n").is_err(),
        "needs a caller"
    );
}
