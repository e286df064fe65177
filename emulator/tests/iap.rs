//! Identity-Aware Proxy v1: the IAM policy of a Cloud Run service's `iap_web` resource
//! (`projects/NUMBER/iap_web/cloud_run-REGION/services/SERVICE`), and Cloud Run's
//! `iapEnabled`, which turns IAP on for the service.

use autosre_emulator::{Fault, Options, World};
use serde_json::{Value, json};

mod common;
use common::{call, start};

const DEPLOYER: &str = "deployer@acme.iam.gserviceaccount.com";
const SVC: &str = "projects/acme/locations/us-central1/services/api";
/// The IAP resource of `SVC`: the project by number, as IAP names it.
const IAP: &str = "projects/42/iap_web/cloud_run-us-central1/services/api";
const ACCESSOR: &str = "roles/iap.httpsResourceAccessor";

fn base() -> autosre_emulator::WorldBuilder {
    World::builder()
        .project("acme", 42)
        .service_account(DEPLOYER)
        .service(
            "acme",
            "us-central1",
            json!({"name": "api", "template": {"containers": [{"image": "x/y:1"}]}}),
        )
}

async fn get_policy(url: &str, resource: &str) -> (u16, Value) {
    call(
        url,
        "POST",
        &format!("/v1/{resource}:getIamPolicy"),
        Some(json!({"options": {"requestedPolicyVersion": 3}})),
    )
    .await
}

async fn set_policy(url: &str, body: Value) -> (u16, Value) {
    call(url, "POST", &format!("/v1/{IAP}:setIamPolicy"), Some(body)).await
}

fn grant(etag: &Value, member: &str) -> Value {
    json!({"policy": {"version": 3, "etag": etag,
        "bindings": [{"role": ACCESSOR, "members": [member]}]}})
}

#[tokio::test]
async fn a_read_modify_write_with_the_etag_lands_and_a_stale_etag_is_aborted() {
    let (emu, url) = start(base().build(), Options::default()).await;
    let (status, p) = get_policy(&url, IAP).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["etag"], "ACAB", "a policy nobody wrote");
    assert!(p.get("bindings").is_none());

    let (status, written) = set_policy(&url, grant(&p["etag"], "user:a@example.com")).await;
    assert_eq!(status, 200, "{written}");
    assert_eq!(written["bindings"][0]["role"], ACCESSOR);
    assert_ne!(written["etag"], p["etag"]);
    let stored = emu.policy(IAP).unwrap();
    assert_eq!(stored.bindings[0].members, ["user:a@example.com"]);
    // The project id names the same resource.
    let (_, by_id) = get_policy(
        &url,
        "projects/acme/iap_web/cloud_run-us-central1/services/api",
    )
    .await;
    assert_eq!(by_id["etag"], written["etag"]);

    let (status, stale) = set_policy(&url, grant(&p["etag"], "user:b@example.com")).await;
    assert_eq!(status, 409);
    assert_eq!(stale["error"]["status"], "ABORTED");
    assert_eq!(emu.policy(IAP).unwrap().bindings[0].members.len(), 1);
    let j = emu.journal();
    assert!(
        j.iter().all(|e| e.api == autosre_emulator::Api::Iap),
        "{j:?}"
    );
    assert_eq!(j[1].rpc, "iap.setIamPolicy");
}

/// IAP's `SetIamPolicyRequest` declares no `updateMask` (iap.v1.json), and Google's JSON
/// front end refuses undeclared fields.
#[tokio::test]
async fn an_update_mask_is_an_unknown_field() {
    let (emu, url) = start(base().build(), Options::default()).await;
    let (_, p) = get_policy(&url, IAP).await;
    let mut body = grant(&p["etag"], "user:a@example.com");
    body["updateMask"] = "bindings,etag".into();
    let (status, e) = set_policy(&url, body).await;
    assert_eq!(status, 400);
    assert_eq!(e["error"]["status"], "INVALID_ARGUMENT");
    assert!(emu.policy(IAP).unwrap().bindings.is_empty());
}

#[tokio::test]
async fn a_missing_service_or_another_resource_type_is_not_found() {
    let (_emu, url) = start(base().build(), Options::default()).await;
    for resource in [
        "projects/42/iap_web/cloud_run-us-central1/services/nope",
        "projects/42/iap_web/cloud_run-europe-west1/services/api",
        "projects/7/iap_web/cloud_run-us-central1/services/api",
        "projects/42/iap_web/compute/services/api",
    ] {
        let (status, e) = get_policy(&url, resource).await;
        assert_eq!(status, 404, "{resource}: {e}");
        assert_eq!(e["error"]["status"], "NOT_FOUND");
    }
}

/// With caller permissions enforced, reading and writing the policy needs
/// `iap.webServices.getIamPolicy` / `.setIamPolicy` (roles/iap.admin), and
/// testIamPermissions answers the held subset.
#[tokio::test]
async fn the_caller_needs_iap_admin() {
    let member = format!("serviceAccount:{DEPLOYER}");
    let perms =
        json!({"permissions": ["iap.webServices.getIamPolicy", "iap.webServices.setIamPolicy"]});
    let world = base().caller(DEPLOYER).enforce_caller_permissions().build();
    let (_emu, url) = start(world, Options::default()).await;
    let (status, e) = get_policy(&url, IAP).await;
    assert_eq!(status, 403);
    assert_eq!(
        e["error"]["details"][0]["metadata"]["permission"],
        "iap.webServices.getIamPolicy"
    );
    let test = format!("/v1/{IAP}:testIamPermissions");
    let (status, held) = call(&url, "POST", &test, Some(perms.clone())).await;
    assert_eq!((status, &held), (200, &json!({})));

    let world = base()
        .caller(DEPLOYER)
        .enforce_caller_permissions()
        .project_binding("acme", "roles/iap.admin", &member)
        .build();
    let (_emu, url) = start(world, Options::default()).await;
    let (status, p) = get_policy(&url, IAP).await;
    assert_eq!(status, 200);
    let (status, _) = set_policy(&url, grant(&p["etag"], "user:a@example.com")).await;
    assert_eq!(status, 200);
    let (_, held) = call(&url, "POST", &test, Some(perms.clone())).await;
    assert_eq!(held, perms);
}

#[tokio::test]
async fn faults_apply_to_iap_routes() {
    let (emu, url) = start(base().build(), Options::default()).await;
    emu.inject_fault(Fault::status(Some("POST"), ":getIamPolicy", 503, 1));
    let (status, _) = get_policy(&url, IAP).await;
    assert_eq!(status, 503);
    let (status, _) = get_policy(&url, IAP).await;
    assert_eq!(status, 200);
}

/// Cloud Run's `iapEnabled` (run.v2 `Service.iapEnabled`) is a field of the service, not of
/// its template: stored and returned, and no new revision.
#[tokio::test]
async fn iap_enabled_is_stored_without_a_new_revision() {
    let (emu, url) = start(base().build(), Options::default()).await;
    let before = emu.revisions(SVC).len();
    let body = json!({"iapEnabled": true, "template": {"containers": [{"image": "x/y:1"}]}});
    let (status, op) = call(&url, "PATCH", &format!("/v2/{SVC}"), Some(body)).await;
    assert_eq!(status, 200, "{op}");
    assert_eq!(emu.service(SVC).unwrap()["iapEnabled"], true);
    assert_eq!(emu.revisions(SVC).len(), before, "no new revision");
    let (_, svc) = call(&url, "GET", &format!("/v2/{SVC}"), None).await;
    assert_eq!(svc["iapEnabled"], true);
}

/// `iapAgentPending: N`: the next N setIamPolicy calls that add IAP's service agent are
/// 400 INVALID_ARGUMENT and write nothing; then the agent exists. A write that does not
/// add the agent is not affected.
#[tokio::test]
async fn the_iap_agent_is_refused_until_it_exists() {
    let (emu, url) = start(
        base().iap_agent_pending("acme", 2).build(),
        Options::default(),
    )
    .await;
    let agent = "serviceAccount:service-42@gcp-sa-iap.iam.gserviceaccount.com";
    let invoker = |etag: &Value, member: &str| {
        json!({"policy": {"etag": etag,
            "bindings": [{"role": "roles/run.invoker", "members": [member]}]}})
    };
    let path = format!("/v2/{SVC}:setIamPolicy");
    let read = format!("/v2/{SVC}:getIamPolicy");
    let (_, p) = call(&url, "GET", &read, None).await;
    let (status, _) = call(
        &url,
        "POST",
        &path,
        Some(invoker(&p["etag"], "user:a@example.com")),
    )
    .await;
    assert_eq!(status, 200);
    let (_, p) = call(&url, "GET", &read, None).await;
    for _ in 0..2 {
        let (status, body) = call(&url, "POST", &path, Some(invoker(&p["etag"], agent))).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
    }
    let stored = emu.policy(SVC).unwrap();
    assert!(
        !stored
            .bindings
            .iter()
            .any(|b| b.members.iter().any(|m| m == agent))
    );
    let (status, body) = call(&url, "POST", &path, Some(invoker(&p["etag"], agent))).await;
    assert_eq!(status, 200, "{body}");
}
