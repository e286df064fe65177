//! IAM Credentials `generateAccessToken` and the tokens it issues: the permission it needs,
//! and requests made with such a token acting as the service account; a service-account
//! key's self-signed JWT acting as its account.

use autosre_emulator::{Emulator, Options, Server, World};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

const TOKEN: &str = "test-token";
const DEPLOYER: &str = "deployer@acme.iam.gserviceaccount.com";
const NAME: &str = "/v1/projects/-/serviceAccounts/deployer@acme.iam.gserviceaccount.com";

/// Alice may impersonate the deployer account, which may read services but not secrets.
fn world(alice_may_impersonate: bool) -> World {
    let mut b = World::builder()
        .caller("alice@example.com")
        .enforce_caller_permissions()
        .project("acme", 42)
        .service_account(DEPLOYER)
        .secret("acme", "s")
        .project_binding(
            "acme",
            "roles/run.viewer",
            &format!("serviceAccount:{DEPLOYER}"),
        )
        .project_binding(
            "acme",
            "roles/secretmanager.viewer",
            "user:alice@example.com",
        );
    if alice_may_impersonate {
        b = b.service_account_binding(
            "acme",
            DEPLOYER,
            "roles/iam.serviceAccountTokenCreator",
            "user:alice@example.com",
        );
    }
    b.build()
}

async fn post(url: &str, token: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn get(url: &str, token: &str) -> u16 {
    let r = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    r.status().as_u16()
}

/// The emulator serving `world`; with `token`, every request must carry it (or a token
/// standing for a service account).
async fn start(world: World, token: bool) -> (Emulator, Server) {
    let options = Options {
        token: token.then(|| TOKEN.into()),
        ..Options::default()
    };
    let emu = Emulator::new(world, options);
    let server = emu.serve().await.unwrap();
    (emu, server)
}

fn scope() -> Value {
    json!({"scope": ["https://www.googleapis.com/auth/cloud-platform"], "lifetime": "3600s"})
}

#[tokio::test]
async fn a_token_creator_gets_a_token_that_acts_as_the_account() {
    let (emu, server) = start(world(true), true).await;
    let url = server.url();
    let (status, body) = post(&format!("{url}{NAME}:generateAccessToken"), TOKEN, scope()).await;
    assert_eq!(status, 200, "{body}");
    let token = body["accessToken"].as_str().unwrap().to_string();
    assert!(body["expireTime"].as_str().unwrap().ends_with('Z'));

    // As the deployer: services readable (run.viewer), secrets not (Alice's viewer role is hers).
    let services = format!("{url}/v2/projects/acme/locations/us-central1/services");
    let secret = format!("{url}/v1/projects/acme/secrets/s");
    assert_eq!(get(&services, &token).await, 200);
    assert_eq!(get(&secret, &token).await, 403);
    // As Alice, the other way round.
    assert_eq!(get(&services, TOKEN).await, 403);
    assert_eq!(get(&secret, TOKEN).await, 200);
    // A token the emulator never issued is refused.
    assert_eq!(get(&secret, "ya29.made-up").await, 401);

    let principals: Vec<(String, String)> = emu
        .journal()
        .into_iter()
        .map(|e| (e.rpc, e.principal))
        .collect();
    assert_eq!(
        principals[0],
        (
            "iamcredentials.projects.serviceAccounts.generateAccessToken".into(),
            "alice@example.com".into()
        )
    );
    assert_eq!(principals[1].1, DEPLOYER);
    assert_eq!(principals[2].1, DEPLOYER);
    assert_eq!(principals[3].1, "alice@example.com");
    server.shutdown().await;
}

#[tokio::test]
async fn impersonation_without_the_role_is_refused_as_google_does() {
    let (_emu, server) = start(world(false), false).await;
    let (status, body) = post(
        &format!("{}{NAME}:generateAccessToken", server.url()),
        TOKEN,
        scope(),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["status"], "PERMISSION_DENIED");
    assert_eq!(
        body["error"]["details"][0]["metadata"]["permission"],
        "iam.serviceAccounts.getAccessToken"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn requests_need_a_scope_and_the_wildcard_project() {
    let (_emu, server) = start(world(true), false).await;
    let url = server.url();
    let (status, _) = post(
        &format!("{url}{NAME}:generateAccessToken"),
        TOKEN,
        json!({}),
    )
    .await;
    assert_eq!(status, 400);
    let named = NAME.replace("/-/", "/acme/");
    let (status, _) = post(&format!("{url}{named}:generateAccessToken"), TOKEN, scope()).await;
    assert_eq!(status, 400);
    server.shutdown().await;
}

#[tokio::test]
async fn the_oauth_endpoint_answers_a_refresh_grant_with_the_callers_token() {
    let (_emu, server) = start(world(true), true).await;
    let (status, body) = post(
        &format!("{}/token", server.url()),
        "",
        json!({"grant_type": "refresh_token", "refresh_token": "r", "client_id": "c", "client_secret": "s"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["access_token"], TOKEN);
    assert_eq!(body["token_type"], "Bearer");
    server.shutdown().await;
}

/// A JWT as a service-account key signs it (the signature is not checked: the world holds
/// no keys), with `claims` over the usual ones.
fn self_signed(claims: Value) -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let mut all = json!({"iss": DEPLOYER, "sub": DEPLOYER, "exp": exp, "iat": exp - 3600,
        "scope": "https://www.googleapis.com/auth/cloud-platform"});
    for (k, v) in claims.as_object().unwrap() {
        all[k] = v.clone();
    }
    let part = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.c2lnbmF0dXJl",
        part(json!({"alg": "RS256", "typ": "JWT", "kid": "k1"})),
        part(all)
    )
}

#[tokio::test]
async fn a_self_signed_jwt_acts_as_its_service_account() {
    let (emu, server) = start(world(false), true).await;
    let services = format!(
        "{}/v2/projects/acme/locations/us-central1/services",
        server.url()
    );
    assert_eq!(get(&services, &self_signed(json!({}))).await, 200);
    assert_eq!(emu.journal()[0].principal, DEPLOYER);
    // An account the world does not have, an expired JWT, or one for nothing: refused.
    for claims in [
        json!({"iss": "nobody@acme.iam.gserviceaccount.com", "sub": "nobody@acme.iam.gserviceaccount.com"}),
        json!({"exp": 1}),
        json!({"scope": null}),
        json!({"sub": "alice@example.com"}),
    ] {
        assert_eq!(
            get(&services, &self_signed(claims.clone())).await,
            401,
            "{claims}"
        );
    }
    server.shutdown().await;
}
