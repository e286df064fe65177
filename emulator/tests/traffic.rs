//! Cloud Run's traffic as the emulator models it: LATEST follows the latest ready revision,
//! named targets stay, tags get URLs, percents total 100, a too-long tag is refused with
//! Google's message, `revisions.list` pages in no particular order, and traffic cannot move
//! to a revision pinned to a secret version that is no longer enabled.

use autosre_emulator::{Options, VersionState, World};
use serde_json::{Value, json};

mod common;
use common::{call, start};

const SVC: &str = "projects/acme/locations/us-central1/services/api";

async fn world() -> String {
    let world = World::builder()
        .project("acme", 42)
        .service(
            "acme",
            "us-central1",
            json!({"name": "api", "template": {"containers": [{"image": "x/y:1"}]}}),
        )
        .build();
    let options = Options {
        operation_polls: 0,
        ..Options::default()
    };
    start(world, options).await.1
}

async fn patch(url: &str, body: Value) -> (u16, Value) {
    call(url, "PATCH", &format!("/v2/{SVC}"), Some(body)).await
}

async fn service(url: &str) -> Value {
    call(url, "GET", &format!("/v2/{SVC}"), None).await.1
}

fn short(name: &Value) -> String {
    name.as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string()
}

fn image(i: &str) -> Value {
    json!({"containers": [{"image": i}]})
}

#[tokio::test]
async fn latest_follows_new_revisions_and_named_targets_stay() {
    let url = world().await;
    let first = short(&service(&url).await["latestReadyRevision"]);
    // Pin all traffic to the first revision by name, then deploy a second.
    let (status, body) = patch(
        &url,
        json!({"template": image("x/y:1"), "traffic": [
            {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": first, "percent": 100}]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = patch(
        &url,
        json!({"template": image("x/y:2"), "traffic": service(&url).await["traffic"]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let svc = service(&url).await;
    let second = short(&svc["latestReadyRevision"]);
    assert_ne!(first, second);
    assert_eq!(svc["trafficStatuses"][0]["revision"], first.as_str());
    assert_eq!(svc["trafficStatuses"][0]["percent"], 100);

    // Back to LATEST: it resolves to the newest ready revision, and a tag gets its URL.
    let (status, body) = patch(
        &url,
        json!({"template": image("x/y:2"), "traffic": [
            {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100},
            {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": first, "tag": "old"}]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let svc = service(&url).await;
    let statuses = svc["trafficStatuses"].as_array().unwrap();
    assert_eq!(statuses[0]["revision"], second.as_str());
    assert_eq!(statuses[0]["type"], "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST");
    let host = svc["uri"]
        .as_str()
        .unwrap()
        .strip_prefix("https://")
        .unwrap();
    assert_eq!(statuses[1]["uri"], format!("https://old---{host}"));
    assert!(statuses[1].get("percent").is_none_or(|p| p == 0));
}

#[tokio::test]
async fn a_split_must_total_100_and_name_revisions_that_exist() {
    let url = world().await;
    let first = short(&service(&url).await["latestReadyRevision"]);
    let (status, body) = patch(
        &url,
        json!({"template": image("x/y:1"), "traffic": [
            {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": first, "percent": 90}]}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
    let (status, body) = patch(
        &url,
        json!({"template": image("x/y:1"), "traffic": [
            {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": "api-99999-zzz", "percent": 100}]}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn a_tag_too_long_for_the_service_name_is_refused_with_googles_message() {
    let url = world().await;
    // "api" (3) + 44 = 47 > 46.
    let tag = "t".repeat(44);
    let (status, body) = patch(
        &url,
        json!({"template": image("x/y:1"), "traffic": [
            {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100, "tag": tag}]}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Combined traffic tag and service name cannot exceed 46 characters"),
        "{body}"
    );
    let (status, _) = patch(
        &url,
        json!({"template": image("x/y:1"), "traffic": [
            {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100, "tag": &tag[1..]}]}),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn revisions_list_pages_and_every_revision_is_listed_once() {
    let url = world().await;
    for i in 2..=13 {
        let (status, _) = patch(&url, json!({"template": image(&format!("x/y:{i}"))})).await;
        assert_eq!(status, 200);
    }
    let mut names = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let (status, page) = call(
            &url,
            "GET",
            &format!("/v2/{SVC}/revisions?pageSize=5&pageToken={token}"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        for r in page["revisions"].as_array().unwrap() {
            names.push(short(&r["name"]));
        }
        match page["nextPageToken"].as_str() {
            Some(t) => token = t.to_string(),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 13);
    // No order: the listing is not newest first.
    assert_ne!(names, {
        let mut by_age = sorted.clone();
        by_age.reverse();
        by_age
    });
}

/// A revision pinned to a secret version disabled since cannot start an instance, so traffic
/// cannot move to it (cloud.google.com/run/docs/configuring/services/secrets: "If the secret
/// retrieval process fails, the instance doesn't start"): the operation fails, the service's
/// Ready condition fails with SECRETS_ACCESS_CHECK_FAILED, and traffic keeps serving where it
/// did. With the version enabled again, the same move succeeds.
#[tokio::test]
async fn traffic_cannot_move_to_a_revision_pinned_to_a_disabled_version() {
    let sa = "run@acme.iam.gserviceaccount.com";
    let with_version = |v: &str, i: &str| {
        json!({"serviceAccount": sa, "containers": [{"image": i, "env": [
            {"name": "K", "valueSource": {"secretKeyRef": {"secret": "k", "version": v}}}]}]})
    };
    let world = World::builder()
        .project("acme", 42)
        .service_account(sa)
        .secret("acme", "k")
        .secret_version("acme", "k", VersionState::Enabled, b"one")
        .secret_version("acme", "k", VersionState::Enabled, b"two")
        .project_binding(
            "acme",
            "roles/secretmanager.secretAccessor",
            &format!("serviceAccount:{sa}"),
        )
        .build();
    let options = Options {
        operation_polls: 0,
        ..Options::default()
    };
    let (emu, url) = start(world, options).await;
    let (status, body) = call(
        &url,
        "PATCH",
        &format!("/v2/{SVC}?allowMissing=true"),
        Some(json!({"template": with_version("1", "x/y:1")})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let svc = service(&url).await;
    assert!(svc["latestReadyRevision"].is_string(), "{svc}");
    let first = short(&svc["latestReadyRevision"]);
    let (status, body) = patch(&url, json!({"template": with_version("2", "x/y:2")})).await;
    assert_eq!(status, 200, "{body}");
    let second = short(&service(&url).await["latestReadyRevision"]);
    assert_ne!(first, second);

    emu.with_state(|st| st.disable_secret_version("acme", "k", 1));
    let to_first = json!({"template": with_version("2", "x/y:2"), "traffic": [
        {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": first, "percent": 100}]});
    let (status, op) = patch(&url, to_first.clone()).await;
    assert_eq!(status, 200, "{op}");
    assert_eq!(op["done"], true, "{op}");
    assert_eq!(op["error"]["code"], 13, "{op}");
    let message = op["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "Revision '{first}' is not ready and cannot serve traffic."
        )),
        "{message}"
    );
    assert!(
        message.contains("versions/1] is in DISABLED state"),
        "{message}"
    );
    let svc = service(&url).await;
    assert_eq!(
        svc["terminalCondition"]["state"], "CONDITION_FAILED",
        "{svc}"
    );
    assert_eq!(
        svc["terminalCondition"]["reason"],
        "SECRETS_ACCESS_CHECK_FAILED"
    );
    // The request is kept; what serves is what served.
    assert_eq!(svc["traffic"][0]["revision"], first.as_str());
    assert_eq!(
        svc["trafficStatuses"][0]["revision"],
        second.as_str(),
        "{svc}"
    );
    assert_eq!(svc["trafficStatuses"][0]["percent"], 100);

    emu.with_state(|st| st.enable_secret_version("acme", "k", 1));
    let (status, op) = patch(&url, to_first).await;
    assert_eq!(status, 200, "{op}");
    assert!(op.get("error").is_none(), "{op}");
    let svc = service(&url).await;
    assert_eq!(
        svc["terminalCondition"]["state"], "CONDITION_SUCCEEDED",
        "{svc}"
    );
    assert_eq!(
        svc["trafficStatuses"][0]["revision"],
        first.as_str(),
        "{svc}"
    );
}
