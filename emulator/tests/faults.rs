//! Fault injection and operations that never finish: the shapes the reliability tests of the
//! deploy tool are built on. Each test pins one fault kind and checks it is journalled.

use autosre_emulator::{Emulator, Fault, Options, World};
use serde_json::{Value, json};

const SVC: &str = "projects/acme/locations/us-central1/services/api";

fn world() -> World {
    World::builder()
        .project("acme", 42)
        .project_binding("acme", "roles/owner", "user:alice@example.com")
        .service(
            "acme",
            "us-central1",
            json!({"name": "api", "template": {"containers": [{"image": "x/y:1"}]}}),
        )
        .build()
}

struct Raw {
    status: u16,
    content_type: String,
    retry_after: Option<String>,
    text: String,
}

async fn call(url: &str, method: &str, path: &str, body: Option<Value>) -> Raw {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = reqwest::Client::new().request(m, format!("{url}{path}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let header = |h: &str| {
        resp.headers()
            .get(h)
            .map(|v| v.to_str().unwrap().to_string())
    };
    Raw {
        status: resp.status().as_u16(),
        content_type: header("content-type").unwrap_or_default(),
        retry_after: header("retry-after"),
        text: resp.text().await.unwrap(),
    }
}

/// Start a rollout of the service (a new image); the name of its operation.
async fn roll_out(url: &str) -> String {
    let op = call(
        url,
        "PATCH",
        &format!("/v2/{SVC}"),
        Some(json!({"template": {"containers": [{"image": "x/y:2"}]}})),
    )
    .await;
    serde_json::from_str::<Value>(&op.text).unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_status_fault_carries_retry_after_and_retry_info() {
    let emu = Emulator::new(world(), Options::default());
    let server = emu.serve().await.unwrap();
    emu.inject_fault(Fault::status(Some("POST"), ":getIamPolicy", 429, 1).with_retry_after(7));
    let r = call(
        &server.url(),
        "POST",
        "/v3/projects/acme:getIamPolicy",
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status, 429);
    assert_eq!(r.retry_after.as_deref(), Some("7"));
    let v: Value = serde_json::from_str(&r.text).unwrap();
    assert_eq!(v["error"]["status"], "RESOURCE_EXHAUSTED");
    assert_eq!(v["error"]["code"], 429);
    assert_eq!(
        v["error"]["details"][0],
        json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"})
    );
    let r = call(
        &server.url(),
        "POST",
        "/v3/projects/acme:getIamPolicy",
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status, 200);
    let j = emu.journal();
    assert_eq!(
        j.iter().map(|e| (e.status, e.faulted)).collect::<Vec<_>>(),
        [(429, true), (200, false)]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn html_and_raw_body_faults_are_not_json() {
    let emu = Emulator::new(world(), Options::default());
    let server = emu.serve().await.unwrap();
    emu.inject_fault(Fault::html(None, "/v3/projects/acme", 502, 1));
    let r = call(&server.url(), "GET", "/v3/projects/acme", None).await;
    assert_eq!(r.status, 502);
    assert!(
        r.content_type.starts_with("text/html"),
        "{}",
        r.content_type
    );
    assert!(r.text.contains("<title>Error 502"), "{}", r.text);
    emu.inject_fault(Fault::body(Some("GET"), "/operations/", 200, "", 1));
    let name = roll_out(&server.url()).await;
    let r = call(&server.url(), "GET", &format!("/v2/{name}"), None).await;
    assert_eq!((r.status, r.text.as_str()), (200, ""));
    let last = emu.journal().pop().unwrap();
    assert_eq!(
        (last.status, last.faulted, last.rpc.as_str()),
        (200, true, "run.projects.locations.operations.get")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn strip_field_serves_the_request_without_the_field() {
    let emu = Emulator::new(world(), Options::default());
    let server = emu.serve().await.unwrap();
    emu.inject_fault(Fault::strip_field(Some("POST"), ":getIamPolicy", "etag", 1));
    let r = call(
        &server.url(),
        "POST",
        "/v3/projects/acme:getIamPolicy",
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status, 200);
    let v: Value = serde_json::from_str(&r.text).unwrap();
    assert!(v.get("etag").is_none(), "{v}");
    assert_eq!(v["bindings"][0]["role"], "roles/owner");
    assert!(emu.journal()[0].faulted);
    server.shutdown().await;
}

#[tokio::test]
async fn a_hang_never_answers_and_does_not_block_shutdown() {
    let emu = Emulator::new(world(), Options::default());
    let server = emu.serve().await.unwrap();
    emu.inject_fault(Fault::hang(Some("GET"), "/v3/projects/", 1));
    let (arrived_tx, arrived_rx) = tokio::sync::oneshot::channel();
    emu.before_request("GET", "/v3/projects/", move |_| {
        let _ = arrived_tx.send(());
    });
    let url = server.url();
    let pending = tokio::spawn(async move { call(&url, "GET", "/v3/projects/acme", None).await });
    arrived_rx.await.unwrap();
    let j = emu.journal();
    assert_eq!(
        (j[0].status, j[0].faulted),
        (0, true),
        "journalled on arrival"
    );
    assert!(!pending.is_finished());
    server.shutdown().await;
    // Released by the shutdown, never with the real answer.
    if let Ok(r) = pending.await {
        assert_ne!(r.status, 200);
    }
}

#[tokio::test]
async fn operations_that_never_finish_stay_pending_through_get_and_wait() {
    let emu = Emulator::new(world(), Options::default());
    let server = emu.serve().await.unwrap();
    emu.set_operation_polls(u32::MAX);
    let name = roll_out(&server.url()).await;
    for _ in 0..5 {
        let r = call(&server.url(), "GET", &format!("/v2/{name}"), None).await;
        let v: Value = serde_json::from_str(&r.text).unwrap();
        assert_eq!(v["done"], false, "{v}");
    }
    let r = call(
        &server.url(),
        "POST",
        &format!("/v2/{name}:wait"),
        Some(json!({"timeout": "30s"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v: Value = serde_json::from_str(&r.text).unwrap();
    assert_eq!(v["done"], false);
    assert_eq!(emu.service(SVC).unwrap()["reconciling"], true);
    server.shutdown().await;
}

#[tokio::test]
async fn wait_settles_an_operation_that_can_finish() {
    let emu = Emulator::new(
        world().clone(),
        Options {
            operation_polls: 5,
            ..Options::default()
        },
    );
    let server = emu.serve().await.unwrap();
    let name = roll_out(&server.url()).await;
    let r = call(
        &server.url(),
        "POST",
        &format!("/v2/{name}:wait"),
        Some(json!({"timeout": "10s"})),
    )
    .await;
    let v: Value = serde_json::from_str(&r.text).unwrap();
    assert_eq!(v["done"], true, "{v}");
    assert!(v["response"].is_object());
    let r = call(
        &server.url(),
        "POST",
        &format!("/v2/{name}:wait"),
        Some(json!({"timeout": "soon"})),
    )
    .await;
    assert_eq!(r.status, 400);
    server.shutdown().await;
}

#[test]
fn the_world_file_can_make_operations_never_finish() {
    let w = World::from_yaml("operationPolls: never\nprojects: []\n").unwrap();
    Emulator::try_new(w, Options::default()).unwrap();
    assert!(World::from_yaml("operationPolls: sometimes\n").is_err());
    assert!(World::from_yaml("operationPolls: 3\n").is_ok());
}
