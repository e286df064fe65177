//! Whose identity a run uses: the `-v` line and the JSON `identity`, for each
//! source whose account can be known, and impersonation end to end (the
//! emulator's journal names the impersonated account as the caller of every
//! call after `generateAccessToken`). A refused impersonation fails with its
//! reason and never falls back to the source's own identity.

use crate::harness::*;
use serde_json::{Value, json};

const DEPLOYER: &str = "deployer@acme-sre-staging.iam.gserviceaccount.com";

/// The staging world, with a deployer account (an owner of the project) that
/// the world's caller, Alice, who holds no role of her own, may (or may not)
/// impersonate.
fn world(may_impersonate: bool) -> World {
    let mut b = staging_world().service_account(DEPLOYER);
    if may_impersonate {
        b = b.service_account_binding(
            PROJECT,
            DEPLOYER,
            "roles/iam.serviceAccountTokenCreator",
            "user:alice@example.com",
        );
    }
    b.caller("alice@example.com")
        .enforce_caller_permissions()
        .project_binding(
            PROJECT,
            "roles/owner",
            &format!("serviceAccount:{DEPLOYER}"),
        )
        .build()
}

/// An `authorized_user` file, as `gcloud auth application-default login`
/// writes it, whose token endpoint is the emulator's.
fn adc_file(h: &Harness) -> String {
    let path = h.dir.path().join("adc.json");
    let file = json!({
        "type": "authorized_user",
        "client_id": "c.apps.googleusercontent.com",
        "client_secret": "s",
        "refresh_token": "r",
        "token_uri": format!("{}/token", h.server.url()),
    });
    std::fs::write(&path, file.to_string()).unwrap();
    path.display().to_string()
}

fn impersonating(h: &Harness, adc: &str) -> Vec<(String, String)> {
    let iamcredentials = format!("{}/", h.server.url());
    [
        ("GOOGLE_OAUTH_ACCESS_TOKEN", UNSET.to_string()),
        ("GOOGLE_APPLICATION_CREDENTIALS", adc.to_string()),
        (
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS",
            iamcredentials,
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// `deploy --env staging --impersonate-service-account DEPLOYER` and `extra`,
/// from an `authorized_user` file; returns the run and the file's path.
async fn deploy_impersonating(h: &Harness, extra: &[&str]) -> (Run, String) {
    let adc = adc_file(h);
    let env = impersonating(h, &adc);
    let args = [
        "deploy",
        "--env",
        "staging",
        "--impersonate-service-account",
        DEPLOYER,
    ];
    let args: Vec<&str> = args.iter().chain(extra).copied().collect();
    (h.run_with(&args, &vars(&env)).await, adc)
}

/// `plan --env staging --impersonate-service-account ACCOUNT` with `env`.
async fn plan_impersonating(h: &Harness, account: &str, env: &[(&str, &str)]) -> Run {
    let args = [
        "plan",
        "--env",
        "staging",
        "--impersonate-service-account",
        account,
    ];
    h.run_with(&args, env).await
}

fn vars(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[tokio::test]
async fn an_access_token_says_how_credentials_were_found() {
    let h = Harness::start_staging(staging_world().build()).await;
    let run = h.run(&["plan", "--env", "staging", "-v"]).await;
    run.assert_stderr_contains(
        "identity: not known before a call (credentials from GOOGLE_OAUTH_ACCESS_TOKEN)",
    );
    let run = h
        .run(&["plan", "--env", "staging", "--output", "json"])
        .await;
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        v["identity"],
        json!({"email": null, "impersonated": false, "source": "GOOGLE_OAUTH_ACCESS_TOKEN"})
    );
}

#[tokio::test]
async fn deploy_impersonates_and_every_call_is_made_as_the_account() {
    let h = Harness::start_staging(world(true)).await;
    let (run, adc) = deploy_impersonating(&h, &["-v", "--output", "json"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    run.assert_stderr_contains(&format!(
        "identity: {DEPLOYER} (impersonated; credentials from GOOGLE_APPLICATION_CREDENTIALS ({adc}, authorized_user))"
    ));
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["identity"]["email"], DEPLOYER);
    assert_eq!(v["identity"]["impersonated"], true);
    let journal = h.journal();
    assert_eq!(
        journal[0].rpc,
        "iamcredentials.projects.serviceAccounts.generateAccessToken"
    );
    assert_eq!(journal[0].principal, "alice@example.com");
    assert!(journal.len() > 5);
    for e in &journal[1..] {
        assert_eq!(e.principal, DEPLOYER, "{} {}", e.method, e.path);
    }
    assert!(!h.writes().is_empty());
}

#[tokio::test]
async fn the_environment_variable_impersonates_and_the_flag_wins() {
    let h = Harness::start_staging(world(true)).await;
    let adc = adc_file(&h);
    let mut env = impersonating(&h, &adc);
    env.push((
        "CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT".into(),
        DEPLOYER.into(),
    ));
    let run = h
        .run_with(
            &["plan", "--env", "staging", "--output", "json"],
            &vars(&env),
        )
        .await;
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["identity"]["email"], DEPLOYER, "{}", run.all());

    // The flag names an account nobody may impersonate: refused, not the variable's.
    let run = plan_impersonating(&h, SA, &vars(&env)).await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains(&format!("cannot impersonate `{SA}`"));
}

#[tokio::test]
async fn a_refused_impersonation_fails_with_its_reason_and_sends_nothing_else() {
    let h = Harness::start_staging(world(false)).await;
    let (run, _) = deploy_impersonating(&h, &[]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains(&format!("cannot impersonate `{DEPLOYER}`"));
    run.assert_stderr_contains("iam.serviceAccounts.getAccessToken");
    run.assert_stderr_contains("roles/iam.serviceAccountTokenCreator");
    // Only the refused generateAccessToken (perhaps retried): no call as anyone else.
    let journal = h.journal();
    assert!(
        journal
            .iter()
            .all(|e| e.rpc == "iamcredentials.projects.serviceAccounts.generateAccessToken"),
        "{journal:#?}"
    );
}

/// `run` failed (exit 1) naming each of `texts` on stderr, before it sent
/// any request.
#[track_caller]
fn assert_refused_before_any_call(h: &Harness, run: &Run, texts: &[&str]) {
    assert_eq!(run.code, 1, "{}", run.all());
    for text in texts {
        run.assert_stderr_contains(text);
    }
    assert!(h.journal().is_empty(), "{:#?}", h.journal());
}

#[tokio::test]
async fn impersonating_from_a_token_through_an_overridden_endpoint_is_refused() {
    let h = Harness::start_staging(world(true)).await;
    let url = format!("{}/", h.server.url());
    let run = plan_impersonating(
        &h,
        DEPLOYER,
        &[("CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS", &url)],
    )
    .await;
    assert_refused_before_any_call(
        &h,
        &run,
        &["cannot impersonate", "from GOOGLE_OAUTH_ACCESS_TOKEN"],
    );
}

#[tokio::test]
async fn an_unreadable_credentials_file_fails_naming_it() {
    let h = Harness::start_staging(world(true)).await;
    let run = h
        .run_with(
            &["plan", "--env", "staging"],
            &[
                ("GOOGLE_OAUTH_ACCESS_TOKEN", UNSET),
                ("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/adc.json"),
            ],
        )
        .await;
    assert_refused_before_any_call(&h, &run, &["/nonexistent/adc.json"]);
}

#[tokio::test]
async fn an_empty_impersonation_variable_is_an_error_not_the_own_identity() {
    let h = Harness::start_staging(world(true)).await;
    let run = h
        .run_with(
            &["plan", "--env", "staging"],
            &[("CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT", "")],
        )
        .await;
    assert_refused_before_any_call(&h, &run, &["CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT"]);
}

/// A service-account key file, as `gcloud iam service-accounts keys create`
/// writes it, for `email`, with an RSA key made for this test. Returns its path
/// and the private key's PEM (to check it is printed nowhere).
fn key_file(h: &Harness, email: &str) -> (String, String) {
    use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    use base64::Engine as _;
    let key = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let der: Pkcs8V1Der<'_> = key.as_der().unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    let file = json!({
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": email,
        "client_id": "123456789",
        "token_uri": format!("{}/token", h.server.url()),
    });
    let path = h.dir.path().join("key.json");
    std::fs::write(&path, file.to_string()).unwrap();
    (path.display().to_string(), lines[1].to_string())
}

#[tokio::test]
async fn a_service_account_key_file_names_its_account_and_every_call_is_made_as_it() {
    // The world's caller, Alice, holds no role: only the key's account could deploy.
    let h = Harness::start_staging(world(false)).await;
    let (key, key_line) = key_file(&h, DEPLOYER);
    let run = h
        .run_with(
            &["deploy", "--env", "staging", "-v", "--output", "json"],
            &[
                ("GOOGLE_OAUTH_ACCESS_TOKEN", UNSET),
                ("GOOGLE_APPLICATION_CREDENTIALS", &key),
            ],
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.all());
    run.assert_stderr_contains(&format!(
        "identity: {DEPLOYER} (credentials from GOOGLE_APPLICATION_CREDENTIALS ({key}, service_account))"
    ));
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        v["identity"],
        json!({"email": DEPLOYER, "impersonated": false, "source": format!("GOOGLE_APPLICATION_CREDENTIALS ({key}, service_account)")})
    );
    let journal = h.journal();
    assert!(!h.writes().is_empty());
    for e in &journal {
        assert_eq!(e.principal, DEPLOYER, "{} {}", e.method, e.path);
    }
    assert!(!run.all().contains(&key_line), "the private key is printed");
}
