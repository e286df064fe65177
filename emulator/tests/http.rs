//! The emulator over raw HTTP: each test pins one behaviour the deploy tool or its tests rely
//! on (IAM etags and versions, Cloud Run rollouts and secret checks, Secret Manager naming,
//! and the emulator's own controls: journal, latency, faults, auth, enum encoding).

use autosre_emulator::{Clock, Emulator, Fault, Options, VersionState, World};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const TOKEN: &str = "test-token";
const RUNNER: &str = "runner@acme.iam.gserviceaccount.com";
const SVC: &str = "projects/acme/locations/us-central1/services/api";

fn world() -> World {
    let runner = format!("serviceAccount:{RUNNER}");
    World::builder()
        .project("acme", 123456789012)
        .service_account(RUNNER)
        .secret("acme", "db-password")
        .secret_version("acme", "db-password", VersionState::Enabled, b"hunter2")
        .secret("acme", "api-key")
        .secret_version("acme", "api-key", VersionState::Enabled, b"k1")
        .secret_version("acme", "api-key", VersionState::Disabled, b"k2")
        .secret("acme", "unread")
        .secret_version("acme", "unread", VersionState::Enabled, b"u1")
        .secret_binding(
            "acme",
            "db-password",
            "roles/secretmanager.secretAccessor",
            &runner,
        )
        .secret_binding(
            "acme",
            "api-key",
            "roles/secretmanager.secretAccessor",
            &runner,
        )
        .project_binding("acme", "roles/owner", "user:alice@example.com")
        .service(
            "acme",
            "us-central1",
            json!({"name": "api", "template": {"serviceAccount": RUNNER,
                "containers": [{"image": "us-docker.pkg.dev/acme/api:1"}]}}),
        )
        .build()
}

struct Env {
    emu: Emulator,
    url: String,
    http: reqwest::Client,
}

impl Env {
    async fn new(options: Options) -> Env {
        let emu = Emulator::new(
            world(),
            Options {
                token: Some(TOKEN.into()),
                ..options
            },
        );
        let server = emu.serve().await.unwrap();
        let url = server.url();
        // The server lives as long as the test's runtime.
        std::mem::forget(server);
        Env {
            emu,
            url,
            http: reqwest::Client::new(),
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(m, format!("{}{path}", self.url))
            .bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn patch_env(&self, env: Value, query: &str) -> (u16, Value) {
        let body = json!({"template": {"serviceAccount": RUNNER, "containers": [
            {"image": "us-docker.pkg.dev/acme/api:2", "env": env}]}});
        self.call("PATCH", &format!("/v2/{SVC}?{query}"), Some(body))
            .await
    }

    async fn settle(&self, op: &Value) -> Value {
        let name = op["name"].as_str().unwrap();
        let (status, op) = self.call("GET", &format!("/v2/{name}"), None).await;
        assert_eq!(status, 200, "{op}");
        assert_eq!(op["done"], true, "{op}");
        op
    }
}

fn secret_env(secret: &str, version: &str) -> Value {
    json!([{"name": "SECRET", "valueSource": {"secretKeyRef": {"secret": secret, "version": version}}}])
}

#[tokio::test]
async fn requests_without_the_bearer_token_are_unauthenticated() {
    let env = Env::new(Options::default()).await;
    let resp = env
        .http
        .get(format!("{}/v1/projects/acme/secrets/db-password", env.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
    assert_eq!(body["error"]["code"], 401);
}

#[tokio::test]
async fn unknown_routes_answer_googles_404_body() {
    let env = Env::new(Options::default()).await;
    let (status, body) = env.call("GET", "/v9/nothing/here", None).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["status"], "NOT_FOUND");
}

#[tokio::test]
async fn etags_compare_as_bytes_across_base64_alphabets() {
    let env = Env::new(Options::default()).await;
    let path = "/v1/projects/acme/secrets/db-password";
    let (_, policy) = env
        .call(
            "GET",
            &format!("{path}:getIamPolicy?options.requestedPolicyVersion=3"),
            None,
        )
        .await;
    let etag = policy["etag"].as_str().unwrap();
    // gcloud sends URL-safe base64 without padding.
    let url_safe = etag
        .replace('+', "-")
        .replace('/', "_")
        .trim_end_matches('=')
        .to_string();
    let mut new_policy = policy.clone();
    new_policy["etag"] = url_safe.into();
    new_policy["bindings"][0]["members"]
        .as_array_mut()
        .unwrap()
        .push("user:bob@example.com".into());
    let (status, body) = env
        .call(
            "POST",
            &format!("{path}:setIamPolicy"),
            Some(json!({"policy": new_policy})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(body["etag"], policy["etag"], "every write changes the etag");
}

#[tokio::test]
async fn a_stale_etag_is_409_aborted_with_googles_body() {
    let env = Env::new(Options::default()).await;
    let path = "/v3/projects/acme";
    let (_, policy) = env
        .call("POST", &format!("{path}:getIamPolicy"), Some(json!({})))
        .await;
    // A concurrent writer changes the policy between our read and our write.
    env.emu.before_request("POST", ":setIamPolicy", |st| {
        st.add_binding("projects/acme", "roles/viewer", "user:carol@example.com");
    });
    let (status, body) = env
        .call(
            "POST",
            &format!("{path}:setIamPolicy"),
            Some(json!({"policy": policy})),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], 409);
    assert_eq!(body["error"]["status"], "ABORTED");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("concurrent policy changes")
    );
    // Without an etag the write is a blind overwrite, as on Google.
    let blind = json!({"policy": {"bindings": policy["bindings"]}});
    let (status, _) = env
        .call("POST", &format!("{path}:setIamPolicy"), Some(blind))
        .await;
    assert_eq!(status, 200);
    let members: Vec<String> = env
        .emu
        .policy("projects/acme")
        .unwrap()
        .bindings
        .iter()
        .flat_map(|b| b.members.clone())
        .collect();
    assert!(!members.contains(&"user:carol@example.com".to_string()));
}

#[tokio::test]
async fn conditional_bindings_survive_and_show_withcond_at_version_1() {
    let env = Env::new(Options::default()).await;
    let path = "/v3/projects/acme";
    let (_, policy) = env
        .call(
            "POST",
            &format!("{path}:getIamPolicy"),
            Some(json!({"options": {"requestedPolicyVersion": 3}})),
        )
        .await;
    let mut p = policy.clone();
    p["version"] = 3.into();
    p["bindings"].as_array_mut().unwrap().push(json!({"role": "roles/viewer", "members": ["user:dana@example.com"],
        "condition": {"title": "until 2030", "expression": "request.time < timestamp('2030-01-01T00:00:00Z')"}}));
    let (status, body) = env
        .call(
            "POST",
            &format!("{path}:setIamPolicy"),
            Some(json!({"policy": p})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 3);

    let (_, v3) = env
        .call(
            "POST",
            &format!("{path}:getIamPolicy"),
            Some(json!({"options": {"requestedPolicyVersion": 3}})),
        )
        .await;
    assert_eq!(v3["version"], 3);
    assert!(
        v3["bindings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["condition"]["title"] == "until 2030")
    );

    let (_, v1) = env
        .call("POST", &format!("{path}:getIamPolicy"), Some(json!({})))
        .await;
    assert_eq!(v1["version"], 1);
    let hidden = v1["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["role"].as_str().unwrap().contains("_withcond_"))
        .unwrap();
    assert!(
        hidden["role"]
            .as_str()
            .unwrap()
            .starts_with("roles/viewer_withcond_")
    );
    assert!(hidden.get("condition").is_none());

    let (status, body) = env
        .call(
            "POST",
            &format!("{path}:setIamPolicy"),
            Some(json!({"policy": v1})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
    // The conditional binding is still there.
    let stored = env.emu.policy("projects/acme").unwrap();
    assert!(stored.bindings.iter().any(|b| b.condition.is_some()));
}

#[tokio::test]
async fn project_policies_reject_service_accounts_that_do_not_exist() {
    let env = Env::new(Options::default()).await;
    for (member, ok) in [
        ("serviceAccount:ghost@acme.iam.gserviceaccount.com", false),
        ("serviceAccount:runner@acme.iam.gserviceaccount.com", true),
        (
            "serviceAccount:123456789012-compute@developer.gserviceaccount.com",
            true,
        ),
        (
            "serviceAccount:service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com",
            true,
        ),
        ("not-a-member", false),
    ] {
        let body = json!({"policy": {"bindings": [{"role": "roles/viewer", "members": [member]}]}});
        let (status, resp) = env
            .call("POST", "/v3/projects/acme:setIamPolicy", Some(body))
            .await;
        assert_eq!(status == 200, ok, "{member}: {resp}");
        if !ok {
            assert_eq!(resp["error"]["status"], "INVALID_ARGUMENT");
        }
    }
}

#[tokio::test]
async fn operations_are_done_after_the_configured_number_of_polls() {
    let env = Env::new(Options {
        operation_polls: 2,
        ..Options::default()
    })
    .await;
    let (status, op) = env.patch_env(secret_env("db-password", "1"), "").await;
    assert_eq!(status, 200, "{op}");
    assert_eq!(op["done"], false);
    assert_eq!(
        op["metadata"]["@type"],
        "type.googleapis.com/google.cloud.run.v2.Service"
    );
    assert!(
        op["name"]
            .as_str()
            .unwrap()
            .starts_with("projects/acme/locations/us-central1/operations/")
    );
    let name = op["name"].as_str().unwrap();
    let (_, first) = env.call("GET", &format!("/v2/{name}"), None).await;
    assert_eq!(first["done"], false);
    let (_, second) = env.call("GET", &format!("/v2/{name}"), None).await;
    assert_eq!(second["done"], true);
    assert_eq!(
        second["response"]["@type"],
        "type.googleapis.com/google.cloud.run.v2.Service"
    );
    let svc = &second["response"];
    assert_eq!(svc["terminalCondition"]["state"], "CONDITION_SUCCEEDED");
    let rev = svc["latestReadyRevision"].as_str().unwrap();
    let short = rev.rsplit('/').next().unwrap();
    // <service>-<5-digit generation>-<3 lowercase letters>
    assert!(
        short.starts_with("api-00002-") && short.len() == "api-00002-abc".len(),
        "{short}"
    );
    assert_eq!(svc["generation"], "2");
    assert_eq!(svc["observedGeneration"], "2");
}

#[tokio::test]
async fn identical_patch_makes_no_revision_and_traffic_only_patch_bumps_generation() {
    let env = Env::new(Options::default()).await;
    let before = env.emu.service(SVC).unwrap();
    let body = json!({"template": before["template"]});
    let (_, op) = env.call("PATCH", &format!("/v2/{SVC}"), Some(body)).await;
    env.settle(&op).await;
    assert_eq!(env.emu.revisions(SVC).len(), 1);
    assert_eq!(env.emu.service(SVC).unwrap()["generation"], "1");
    let (_, op) = env
        .call(
            "PATCH",
            &format!("/v2/{SVC}?updateMask=labels"),
            Some(json!({"labels": {"team": "sre"}})),
        )
        .await;
    env.settle(&op).await;
    assert_eq!(env.emu.revisions(SVC).len(), 1);
    assert_eq!(env.emu.service(SVC).unwrap()["generation"], "2");
}

async fn failed_rollout(env: &Env, secret: &str, version: &str) -> String {
    let before = env.emu.service(SVC).unwrap();
    let (status, op) = env.patch_env(secret_env(secret, version), "").await;
    assert_eq!(status, 200, "{op}");
    let op = env.settle(&op).await;
    let message = op["error"]["message"]
        .as_str()
        .expect("operation error")
        .to_string();
    let svc = env.emu.service(SVC).unwrap();
    assert_eq!(svc["terminalCondition"]["state"], "CONDITION_FAILED");
    assert_eq!(svc["terminalCondition"]["message"], message.as_str());
    assert_eq!(
        svc["latestReadyRevision"], before["latestReadyRevision"],
        "old revision keeps serving"
    );
    assert_ne!(
        svc["latestCreatedRevision"],
        before["latestCreatedRevision"]
    );
    let revs = env.emu.revisions(SVC);
    let last = revs.last().unwrap();
    assert!(!last.ready);
    assert_eq!(last.message, message);
    assert!(
        message.starts_with(&format!(
            "Revision '{}' is not ready and cannot serve traffic. ",
            last.name
        )),
        "{message}"
    );
    assert!(
        message
            .contains("spec.template.spec.containers[0].env[0].value_from.secret_key_ref.name: "),
        "{message}"
    );
    message
}

#[tokio::test]
async fn a_missing_secret_fails_the_revision() {
    let env = Env::new(Options::default()).await;
    let m = failed_rollout(&env, "nope", "latest").await;
    assert!(
        m.ends_with("Secret projects/123456789012/secrets/nope/versions/latest was not found"),
        "{m}"
    );
}

#[tokio::test]
async fn a_disabled_version_fails_the_revision() {
    let env = Env::new(Options::default()).await;
    // `latest` is version 2, which is disabled: latest does not skip it.
    let m = failed_rollout(&env, "api-key", "latest").await;
    assert!(m.contains("Secret Version [projects/123456789012/secrets/api-key/versions/2] is in DISABLED state."), "{m}");
}

#[tokio::test]
async fn a_secret_the_service_account_cannot_read_fails_the_revision() {
    let env = Env::new(Options::default()).await;
    let m = failed_rollout(&env, "projects/acme/secrets/unread", "1").await;
    assert!(m.contains(&format!("Permission denied on secret: projects/123456789012/secrets/unread/versions/1 for Revision service account {RUNNER}.")), "{m}");
    assert!(m.contains("roles/secretmanager.secretAccessor"), "{m}");
}

#[tokio::test]
async fn fresh_grants_do_not_count_until_iam_has_propagated() {
    let env = Env::new(Options {
        iam_propagation: Duration::from_secs(300),
        clock: Clock::Manual,
        ..Options::default()
    })
    .await;
    let grant = json!({"policy": {"bindings": [{"role": "roles/secretmanager.secretAccessor",
        "members": [format!("serviceAccount:{RUNNER}")]}]}});
    let (status, _) = env
        .call(
            "POST",
            "/v1/projects/acme/secrets/unread:setIamPolicy",
            Some(grant),
        )
        .await;
    assert_eq!(status, 200);
    let m = failed_rollout(&env, "unread", "1").await;
    assert!(m.contains("Permission denied on secret"), "{m}");
    // The emulator clock, not the real one, decides: one second short is still denied.
    env.emu.advance(Duration::from_secs(299));
    let (_, op) = env
        .patch_env(secret_env("unread", "1"), "forceNewRevision=true")
        .await;
    let op = env.settle(&op).await;
    let m = op["error"]["message"].as_str().unwrap();
    assert!(m.contains("Permission denied on secret"), "{m}");
    env.emu.advance(Duration::from_secs(1));
    let (_, op) = env
        .patch_env(secret_env("unread", "1"), "forceNewRevision=true")
        .await;
    let op = env.settle(&op).await;
    assert!(op.get("error").is_none(), "{op}");
    assert!(env.emu.revisions(SVC).last().unwrap().ready);
}

#[tokio::test]
async fn validate_only_fills_defaults_without_persisting() {
    let env = Env::new(Options::default()).await;
    let before = env.emu.service(SVC).unwrap();
    env.emu.clear_journal();
    let (status, op) = env
        .patch_env(secret_env("db-password", "latest"), "validateOnly=true")
        .await;
    assert_eq!(status, 200, "{op}");
    let svc = &op["response"];
    assert_eq!(svc["template"]["timeout"], "300s");
    assert_eq!(svc["template"]["maxInstanceRequestConcurrency"], 80);
    assert_eq!(
        svc["template"]["containers"][0]["resources"]["limits"]["memory"],
        "512Mi"
    );
    assert_eq!(env.emu.service(SVC).unwrap(), before);
    assert_eq!(env.emu.revisions(SVC).len(), 1);
    let j = env.emu.journal();
    assert_eq!(j.len(), 1);
    assert_eq!(j[0].rpc, "run.projects.locations.services.patch");
    assert!(j[0].validate_only && !j[0].write);
    // The same checks as a real write.
    let bad = json!([{"name": "PORT", "value": "1"}]);
    let (status, body) = env.patch_env(bad, "validateOnly=true").await;
    assert_eq!(status, 400, "{body}");
    let bad = json!([{"name": "X", "valueSource": {"secretKeyRef": {"secret": "projects/acme/oops", "version": "1"}}}]);
    let (status, _) = env.patch_env(bad, "validateOnly=true").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn patching_a_missing_service_needs_allow_missing() {
    let env = Env::new(Options::default()).await;
    let body = json!({"template": {"containers": [{"image": "x/y:1"}]}});
    let path = "/v2/projects/acme/locations/us-central1/services/fresh";
    let (status, resp) = env.call("PATCH", path, Some(body.clone())).await;
    assert_eq!(status, 404, "{resp}");
    assert_eq!(resp["error"]["status"], "NOT_FOUND");
    let (status, op) = env
        .call("PATCH", &format!("{path}?allowMissing=true"), Some(body))
        .await;
    assert_eq!(status, 200);
    let op = env.settle(&op).await;
    let svc = &op["response"];
    assert_eq!(
        svc["template"]["serviceAccount"],
        "123456789012-compute@developer.gserviceaccount.com"
    );
    assert_eq!(
        svc["traffic"][0]["type"],
        "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
    );
    assert!(svc["uri"].as_str().unwrap().ends_with("-uc.a.run.app"));
}

#[tokio::test]
async fn secret_manager_names_use_the_project_number() {
    let env = Env::new(Options::default()).await;
    let (_, s) = env
        .call("GET", "/v1/projects/acme/secrets/api-key", None)
        .await;
    assert_eq!(s["name"], "projects/123456789012/secrets/api-key");
    let (_, v) = env
        .call(
            "GET",
            "/v1/projects/acme/secrets/api-key/versions/latest",
            None,
        )
        .await;
    assert_eq!(
        v["name"],
        "projects/123456789012/secrets/api-key/versions/2"
    );
    assert_eq!(v["state"], "DISABLED");
    let (status, e) = env
        .call(
            "GET",
            "/v1/projects/acme/secrets/api-key/versions/latest:access",
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(e["error"]["status"], "FAILED_PRECONDITION");
    let (status, a) = env
        .call(
            "GET",
            "/v1/projects/123456789012/secrets/api-key/versions/1:access",
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(a["payload"]["data"], "azE="); // "k1"
    // Payloads never reach the journal.
    let journal = format!("{:?}", env.emu.journal());
    assert!(!journal.contains("azE=") && !journal.contains("k1"));
}

#[tokio::test]
async fn enums_are_integers_only_when_asked() {
    let env = Env::new(Options::default()).await;
    let path = "/v1/projects/acme/secrets/db-password/versions/1";
    let (_, names) = env.call("GET", path, None).await;
    assert_eq!(names["state"], "ENABLED");
    let (_, ints) = env
        .call(
            "GET",
            &format!("{path}?%24alt=json%3Benum-encoding%3Dint"),
            None,
        )
        .await;
    assert_eq!(ints["state"], 1);
    let (_, svc) = env
        .call(
            "GET",
            &format!("/v2/{SVC}?$alt=json;enum-encoding=int"),
            None,
        )
        .await;
    assert_eq!(svc["terminalCondition"]["state"], 4);
    assert_eq!(svc["terminalCondition"]["type"], "Ready");
    assert_eq!(svc["ingress"], 1);
    // Integer input is accepted too.
    let body = json!({"template": svc["template"], "ingress": 2});
    let (status, _) = env.call("PATCH", &format!("/v2/{SVC}"), Some(body)).await;
    assert_eq!(status, 200);
    assert_eq!(
        env.emu.service(SVC).unwrap()["ingress"],
        "INGRESS_TRAFFIC_INTERNAL_ONLY"
    );
}

#[tokio::test]
async fn latency_is_injected_and_journaled() {
    let env = Env::new(Options::default()).await;
    env.emu.set_latency(Duration::from_millis(150));
    env.emu.clear_journal();
    let t = Instant::now();
    let (status, _) = env.call("GET", "/v3/projects/acme", None).await;
    assert_eq!(status, 200);
    assert!(t.elapsed() >= Duration::from_millis(150));
    let j = env.emu.journal();
    assert!(j[0].ended - j[0].started >= Duration::from_millis(150));
    assert_eq!(j[0].rpc, "cloudresourcemanager.projects.get");
    assert!(!j[0].write);
}

#[tokio::test]
async fn faults_answer_the_configured_error_then_stop() {
    let env = Env::new(Options::default()).await;
    env.emu.inject_fault(Fault {
        method: Some("GET".into()),
        path_contains: "/secrets/db-password".into(),
        times: 1,
        code: 503,
        status: "UNAVAILABLE".into(),
        message: "The service is currently unavailable.".into(),
        ..Fault::default()
    });
    let (status, body) = env
        .call("GET", "/v1/projects/acme/secrets/db-password", None)
        .await;
    assert_eq!(status, 503);
    assert_eq!(
        body,
        json!({"error": {"code": 503, "message": "The service is currently unavailable.", "status": "UNAVAILABLE"}})
    );
    let (status, _) = env
        .call("GET", "/v1/projects/acme/secrets/db-password", None)
        .await;
    assert_eq!(status, 200);
    let statuses: Vec<u16> = env.emu.journal().iter().map(|e| e.status).collect();
    assert_eq!(statuses, [503, 200]);
}

#[tokio::test]
async fn projects_answer_with_their_number_and_hide_missing_ones() {
    let env = Env::new(Options::default()).await;
    let (_, p) = env.call("GET", "/v3/projects/acme", None).await;
    assert_eq!(p["name"], "projects/123456789012");
    assert_eq!(p["projectId"], "acme");
    assert_eq!(p["state"], "ACTIVE");
    let (status, _) = env.call("GET", "/v3/projects/elsewhere", None).await;
    assert_eq!(status, 403);
    let (status, sa) = env
        .call(
            "GET",
            &format!("/v1/projects/-/serviceAccounts/{RUNNER}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        sa["name"],
        format!("projects/acme/serviceAccounts/{RUNNER}")
    );
}

#[test]
fn the_example_world_loads() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/worlds/example.yaml"))
        .unwrap();
    let world = World::from_yaml(&text).unwrap();
    let emu = Emulator::new(world, Options::default());
    assert!(emu.policy("projects/acme-prod").is_some());
    // Debug output of the world never shows payloads.
    let dbg = format!("{:?}", World::from_yaml(&text).unwrap());
    assert!(!dbg.contains("example-only-password"), "{dbg}");
}
