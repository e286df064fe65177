//! Secret Manager for the encryption key work: payload checksums, version aliases, version
//! state changes under the caller's permissions, and the versions a revision resolved.

use autosre_emulator::{Options, ResolvedSecret, VersionState, World};
use serde_json::json;

mod common;
use common::{call, start};

const DEPLOYER: &str = "deployer@acme.iam.gserviceaccount.com";
const RUNNER: &str = "runner@acme.iam.gserviceaccount.com";
const SVC: &str = "projects/acme/locations/us-central1/services/api";

fn world() -> autosre_emulator::WorldBuilder {
    World::builder()
        .project("acme", 42)
        .service_account(DEPLOYER)
        .service_account(RUNNER)
        .secret("acme", "key")
        .secret_version("acme", "key", VersionState::Enabled, b"a\n")
        .secret_version("acme", "key", VersionState::Enabled, b"second")
        .secret_binding(
            "acme",
            "key",
            "roles/secretmanager.secretAccessor",
            &format!("serviceAccount:{RUNNER}"),
        )
        .service(
            "acme",
            "us-central1",
            json!({"name": "api", "template": {"serviceAccount": RUNNER,
            "containers": [{"image": "x/y:1"}]}}),
        )
}

#[tokio::test]
async fn access_returns_the_crc32c_as_an_int64_string() {
    let (_emu, url) = start(world().build(), Options::default()).await;
    let (status, v) = call(
        &url,
        "GET",
        "/v1/projects/acme/secrets/key/versions/1:access",
        None,
    )
    .await;
    assert_eq!(status, 200);
    // cloud.google.com/secret-manager/docs/data-integrity: "YQo=" has CRC32C 163439259.
    assert_eq!(v["payload"]["data"], "YQo=");
    assert_eq!(v["payload"]["dataCrc32c"], "163439259");
    assert_eq!(v["name"], "projects/42/secrets/key/versions/1");
}

#[tokio::test]
async fn aliases_are_set_by_patch_and_resolve_on_get_and_access_only() {
    let (_emu, url) = start(world().build(), Options::default()).await;
    let path = "/v1/projects/acme/secrets/key?updateMask=versionAliases";
    let (status, s) = call(
        &url,
        "PATCH",
        path,
        Some(json!({"versionAliases": {"current": "1"}})),
    )
    .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["versionAliases"], json!({"current": "1"}));
    let (_, v) = call(
        &url,
        "GET",
        "/v1/projects/acme/secrets/key/versions/current",
        None,
    )
    .await;
    assert_eq!(v["name"], "projects/42/secrets/key/versions/1");
    let (_, v) = call(
        &url,
        "GET",
        "/v1/projects/acme/secrets/key/versions/current:access",
        None,
    )
    .await;
    assert_eq!(v["name"], "projects/42/secrets/key/versions/1");
    let (status, _) = call(
        &url,
        "POST",
        "/v1/projects/acme/secrets/key/versions/current:disable",
        None,
    )
    .await;
    assert_eq!(status, 400, "state changes do not take aliases");
    for bad in [
        json!({"latest": "1"}),
        json!({"1st": "1"}),
        json!({"gone": "9"}),
    ] {
        let (status, _) = call(&url, "PATCH", path, Some(json!({"versionAliases": bad}))).await;
        assert_eq!(status, 400, "{bad}");
    }
    let (status, _) = call(
        &url,
        "PATCH",
        "/v1/projects/acme/secrets/key",
        Some(json!({"labels": {}})),
    )
    .await;
    assert_eq!(status, 400, "updateMask is required");
    let (status, _) = call(
        &url,
        "PATCH",
        "/v1/projects/acme/secrets/key?updateMask=replication",
        Some(json!({"replication": {"automatic": {}}})),
    )
    .await;
    assert_eq!(status, 400, "replication is immutable");
}

#[tokio::test]
async fn version_changes_follow_the_callers_permissions() {
    let deployer = format!("serviceAccount:{DEPLOYER}");
    let world = world()
        .caller(DEPLOYER)
        .enforce_caller_permissions()
        .secret_binding("acme", "key", "roles/secretmanager.viewer", &deployer)
        .build();
    let (emu, url) = start(world, Options::default()).await;
    let disable = "/v1/projects/acme/secrets/key/versions/1:disable";
    let (status, body) = call(&url, "POST", disable, None).await;
    assert_eq!(status, 403);
    assert_eq!(
        body["error"]["details"][0]["metadata"]["permission"],
        "secretmanager.versions.disable"
    );
    let add = json!({"payload": {"data": "YQo="}});
    let (status, _) = call(
        &url,
        "POST",
        "/v1/projects/acme/secrets/key:addVersion",
        Some(add.clone()),
    )
    .await;
    assert_eq!(status, 403);
    emu.with_state(|st| {
        st.add_binding(
            "projects/acme/secrets/key",
            "roles/secretmanager.secretVersionManager",
            &deployer,
        )
    });
    let (status, v) = call(&url, "POST", disable, None).await;
    assert_eq!((status, &v["state"]), (200, &json!("DISABLED")));
    let (status, v) = call(
        &url,
        "POST",
        "/v1/projects/acme/secrets/key/versions/1:enable",
        None,
    )
    .await;
    assert_eq!((status, &v["state"]), (200, &json!("ENABLED")));
    let (status, v) = call(
        &url,
        "POST",
        "/v1/projects/acme/secrets/key:addVersion",
        Some(add),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["name"], "projects/42/secrets/key/versions/3");
}

#[tokio::test]
async fn a_revision_records_the_versions_its_secrets_resolved_to() {
    let (emu, url) = start(world().build(), Options::default()).await;
    emu.with_state(|st| {
        let n = st.add_secret_version("acme", "key", b"third");
        assert_eq!(n, 3);
    });
    let env = json!([
        {"name": "LATEST", "valueSource": {"secretKeyRef": {"secret": "key", "version": "latest"}}},
        {"name": "PINNED", "valueSource": {"secretKeyRef": {"secret": "projects/acme/secrets/key", "version": "1"}}},
    ]);
    let body = json!({"template": {"serviceAccount": RUNNER, "containers": [{"image": "x/y:2", "env": env}]}});
    let (status, op) = call(&url, "PATCH", &format!("/v2/{SVC}"), Some(body)).await;
    assert_eq!(status, 200, "{op}");
    let (_, op) = call(
        &url,
        "GET",
        &format!("/v2/{}", op["name"].as_str().unwrap()),
        None,
    )
    .await;
    assert!(op.get("error").is_none(), "{op}");
    let rev = emu.revisions(SVC).pop().unwrap();
    let secret = "projects/acme/secrets/key".to_string();
    assert_eq!(
        rev.secret_versions,
        [
            ResolvedSecret {
                env: "LATEST".into(),
                secret: secret.clone(),
                version: 3
            },
            ResolvedSecret {
                env: "PINNED".into(),
                secret,
                version: 1
            },
        ]
    );
}
