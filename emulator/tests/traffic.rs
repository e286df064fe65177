//! Cloud Run's traffic as the emulator models it: LATEST follows the latest ready revision,
//! named targets stay, tags get URLs, percents total 100, a too-long tag is refused with
//! Google's message, and `revisions.list` pages in no particular order.

use autosre_emulator::{Options, World};
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
