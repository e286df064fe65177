//! Drives the real `gcloud` CLI against an in-process emulator, so the emulator is checked
//! against a second, independent client of the same REST APIs.
//!
//! gcloud reads `CLOUDSDK_API_ENDPOINT_OVERRIDES_<API>` (properties `api_endpoint_overrides/
//! <api>` in `googlecloudsdk/core/properties.py`); for APIs whose base URL path is `/`
//! (all four here) the override is used as is and requests carry the `v1/`, `v3/` prefix
//! themselves (`_BuildEndpointOverride` in `googlecloudsdk/api_lib/util/apis_internal.py`),
//! so the override is `<url>/`. gcloud's IAM commands do their own read-modify-write at
//! policy version 3 and retry a 409 from setIamPolicy.
//!
//! Compiled only with the `gcloud-tests` feature (`cargo test -p autosre-emulator --features
//! gcloud-tests`), which `.ci/run` turns on when gcloud is installed; with the feature and no
//! gcloud on PATH the tests fail.

use autosre_emulator::{Emulator, Options, VersionState, World};
use serde_json::Value;

const TOKEN: &str = "gcloud-test-token";
const DEPLOYER: &str = "deployer@acme.iam.gserviceaccount.com";

fn gcloud_available() -> bool {
    autosre_emulator::gcloud::path();
    true
}

fn world() -> World {
    World::builder()
        .project("acme", 555000111222)
        .service_account(DEPLOYER)
        .secret("acme", "db-password")
        .secret_version("acme", "db-password", VersionState::Disabled, b"old-value")
        .secret_version("acme", "db-password", VersionState::Enabled, b"new-value")
        .secret_binding(
            "acme",
            "db-password",
            "roles/secretmanager.secretAccessor",
            "user:alice@example.com",
        )
        .build()
}

struct Gcloud {
    config: tempfile::TempDir,
    token_file: tempfile::NamedTempFile,
    url: String,
}

impl Gcloud {
    fn new(url: String) -> Gcloud {
        let token_file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(token_file.path(), TOKEN).unwrap();
        Gcloud {
            config: tempfile::tempdir().unwrap(),
            token_file,
            url,
        }
    }

    /// Runs gcloud on a blocking thread (the emulator serves on this test's runtime) and
    /// returns its parsed JSON output; fails the test if gcloud fails.
    async fn run(&self, args: &[&str]) -> Value {
        let (ok, stdout, stderr) = self.output(args).await;
        assert!(
            ok,
            "gcloud {args:?} failed\nstdout: {stdout}\nstderr: {stderr}"
        );
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("gcloud {args:?} printed non-JSON ({e}): {stdout}"))
    }

    async fn output(&self, args: &[&str]) -> (bool, String, String) {
        let mut cmd = autosre_emulator::gcloud::command(
            &self.url,
            self.config.path(),
            self.token_file.path(),
        );
        cmd.args(args)
            .arg("--format=json")
            .env("CLOUDSDK_CORE_PROJECT", "acme");
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .unwrap()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

async fn start() -> Option<(Emulator, autosre_emulator::Server, Gcloud)> {
    start_with(world()).await
}

async fn start_with(world: World) -> Option<(Emulator, autosre_emulator::Server, Gcloud)> {
    if !gcloud_available() {
        return None;
    }
    let emu = Emulator::new(
        world,
        Options {
            token: Some(TOKEN.into()),
            ..Options::default()
        },
    );
    let server = emu.serve().await.unwrap();
    let g = Gcloud::new(server.url());
    Some((emu, server, g))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcloud_describes_secrets_and_versions() {
    let Some((emu, server, g)) = start().await else {
        return;
    };
    let secret = g.run(&["secrets", "describe", "db-password"]).await;
    assert_eq!(secret["name"], "projects/555000111222/secrets/db-password");
    assert_eq!(secret["replication"]["automatic"], serde_json::json!({}));
    let latest = g
        .run(&[
            "secrets",
            "versions",
            "describe",
            "latest",
            "--secret",
            "db-password",
        ])
        .await;
    assert_eq!(
        latest["name"],
        "projects/555000111222/secrets/db-password/versions/2"
    );
    assert_eq!(latest["state"], "ENABLED");
    let rpcs: Vec<String> = emu.journal().iter().map(|e| e.rpc.clone()).collect();
    assert_eq!(
        rpcs,
        [
            "secretmanager.projects.secrets.get",
            "secretmanager.projects.secrets.versions.get"
        ]
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcloud_adds_a_secret_binding_with_a_versioned_read_modify_write() {
    let Some((emu, server, g)) = start().await else {
        return;
    };
    let policy = g
        .run(&[
            "secrets",
            "add-iam-policy-binding",
            "db-password",
            "--member=serviceAccount:deployer@acme.iam.gserviceaccount.com",
            "--role=roles/secretmanager.secretAccessor",
        ])
        .await;
    let members = policy["bindings"][0]["members"].as_array().unwrap();
    assert!(members.contains(&Value::from("user:alice@example.com")));
    assert!(members.contains(&Value::from(format!("serviceAccount:{DEPLOYER}"))));
    let stored = emu.policy("projects/acme/secrets/db-password").unwrap();
    assert_eq!(stored.bindings[0].members.len(), 2);
    let journal = emu.journal();
    let rpcs: Vec<&str> = journal.iter().map(|e| e.rpc.as_str()).collect();
    assert_eq!(
        rpcs,
        [
            "secretmanager.projects.secrets.getIamPolicy",
            "secretmanager.projects.secrets.setIamPolicy"
        ]
    );
    assert!(
        journal[0]
            .query
            .contains("options.requestedPolicyVersion=3"),
        "{}",
        journal[0].query
    );
    assert!(!journal[0].write && journal[1].write);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcloud_sends_the_etag_so_a_concurrent_change_aborts_its_write() {
    let Some((emu, server, g)) = start().await else {
        return;
    };
    let args = [
        "iam",
        "service-accounts",
        "add-iam-policy-binding",
        DEPLOYER,
        "--member=user:bob@example.com",
        "--role=roles/iam.serviceAccountUser",
    ];
    // Another writer changes the policy between gcloud's read and its write. Had gcloud
    // omitted the etag, its write would blindly overwrite; it sends it, so the emulator
    // answers 409 ABORTED (gcloud 528 does not retry this command).
    emu.before_request("POST", ":setIamPolicy", |st| {
        st.add_binding(
            &format!("projects/acme/serviceAccounts/{DEPLOYER}"),
            "roles/iam.serviceAccountTokenCreator",
            "user:carol@example.com",
        );
    });
    let (ok, _, stderr) = g.output(&args).await;
    assert!(!ok);
    assert!(
        stderr.contains("ABORTED: There were concurrent policy changes."),
        "{stderr}"
    );
    let calls: Vec<(String, u16)> = emu
        .journal()
        .iter()
        .map(|e| (e.rpc.clone(), e.status))
        .collect();
    assert_eq!(
        calls,
        [
            ("iam.projects.serviceAccounts.getIamPolicy".to_string(), 200),
            ("iam.projects.serviceAccounts.setIamPolicy".to_string(), 409),
        ]
    );
    // Run again without interference: the read-modify-write keeps the other grant.
    let policy = g.run(&args).await;
    let roles: Vec<&str> = policy["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["role"].as_str().unwrap())
        .collect();
    assert!(roles.contains(&"roles/iam.serviceAccountUser"), "{policy}");
    assert!(
        roles.contains(&"roles/iam.serviceAccountTokenCreator"),
        "{policy}"
    );
    server.shutdown().await;
}

/// `gcloud projects describe`, the old grant script's first command, reads the project
/// through Resource Manager v1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcloud_describes_the_project() {
    let Some((emu, server, g)) = start().await else {
        return;
    };
    let project = g.run(&["projects", "describe", "acme"]).await;
    assert_eq!(project["projectId"], "acme");
    assert_eq!(project["projectNumber"], "555000111222");
    assert_eq!(project["lifecycleState"], "ACTIVE");
    let rpcs: Vec<String> = emu.journal().iter().map(|e| e.rpc.clone()).collect();
    assert_eq!(rpcs, ["cloudresourcemanager.projects.get"]);
    assert!(emu.journal()[0].path.starts_with("/v1/"));
    server.shutdown().await;
}

/// `gcloud beta iap web add-iam-policy-binding --resource-type=cloud-run`, what the old
/// deploy_web.py ran for each IAP member: the project number from Resource Manager, then one
/// read-modify-write of the service's IAP policy (<https://cloud.google.com/run/docs/securing/identity-aware-proxy-cloud-run>), which the emulator's IAP
/// routes serve under `projects/NUMBER/iap_web/cloud_run-REGION/services/SERVICE`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcloud_grants_an_iap_member_on_a_cloud_run_service() {
    let world = World::builder()
        .project("acme", 555000111222)
        .service(
            "acme",
            "us-central1",
            serde_json::json!({"name": "api", "template": {"containers": [{"image": "x/y:1"}]}}),
        )
        .build();
    let Some((emu, server, g)) = start_with(world).await else {
        return;
    };
    let resource = [
        "--resource-type=cloud-run",
        "--region=us-central1",
        "--service=api",
    ];
    // gcloud 528 offers `--resource-type=cloud-run` in its beta track.
    let mut add = vec![
        "beta",
        "iap",
        "web",
        "add-iam-policy-binding",
        "--member=user:alice@example.com",
        "--role=roles/iap.httpsResourceAccessor",
    ];
    add.extend(resource);
    g.run(&add).await;
    let stored = emu
        .policy("projects/555000111222/iap_web/cloud_run-us-central1/services/api")
        .unwrap();
    assert_eq!(stored.bindings[0].role, "roles/iap.httpsResourceAccessor");
    assert_eq!(stored.bindings[0].members, ["user:alice@example.com"]);
    let journal = emu.journal();
    let iap: Vec<(&str, &str)> = journal
        .iter()
        .filter(|e| e.rpc.starts_with("iap."))
        .map(|e| (e.rpc.as_str(), e.path.as_str()))
        .collect();
    assert_eq!(
        iap,
        [
            (
                "iap.getIamPolicy",
                "/v1/projects/555000111222/iap_web/cloud_run-us-central1/services/api:getIamPolicy"
            ),
            (
                "iap.setIamPolicy",
                "/v1/projects/555000111222/iap_web/cloud_run-us-central1/services/api:setIamPolicy"
            ),
        ]
    );
    let mut get = vec!["beta", "iap", "web", "get-iam-policy"];
    get.extend(resource);
    let policy = g.run(&get).await;
    assert_eq!(
        policy["bindings"][0]["members"],
        serde_json::json!(["user:alice@example.com"])
    );
    server.shutdown().await;
}

/// `gcloud storage` (its own JSON API client: LF-separated multipart uploads with a quoted
/// boundary, unescaped `/` in object paths, `objects.list` lookups, downloads through
/// `/download/storage/v1/...`) creates the staging bucket, uploads, reads back, describes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcloud_storage_uploads_and_downloads_objects() {
    let Some((emu, server, g)) = start().await else {
        return;
    };
    let bucket = "gs://run-sources-acme-us-central1";
    let (ok, _, err) = g
        .output(&[
            "storage",
            "buckets",
            "create",
            bucket,
            "--location=us-central1",
        ])
        .await;
    assert!(ok, "{err}");
    let b = g.run(&["storage", "buckets", "describe", bucket]).await;
    assert_eq!(b["location"], "US-CENTRAL1");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("src.tgz");
    std::fs::write(&file, b"archive bytes").unwrap();
    let object = format!("{bucket}/services/api/src.tgz");
    let (ok, _, err) = g
        .output(&["storage", "cp", file.to_str().unwrap(), &object])
        .await;
    assert!(ok, "{err}");
    assert_eq!(
        emu.object("run-sources-acme-us-central1", "services/api/src.tgz")
            .as_deref(),
        Some(&b"archive bytes"[..])
    );
    let (ok, out, err) = g.output(&["storage", "cat", &object]).await;
    assert!(ok, "{err}");
    // `--format=json` adds an empty list after the bytes.
    assert!(out.starts_with("archive bytes"), "{out}");
    let described = g.run(&["storage", "objects", "describe", &object]).await;
    assert_eq!(described["size"], 13, "{described}");
    server.shutdown().await;
}

/// `gcloud artifacts repositories create` (which waits on the create operation through
/// Artifact Registry's operations.get) and `describe`: the repository a source deploy pushes
/// to exists once its operation is done, with gcloud reading the same fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcloud_creates_and_describes_a_docker_repository() {
    let Some((emu, server, g)) = start().await else {
        return;
    };
    let (ok, out, err) = g
        .output(&[
            "artifacts",
            "repositories",
            "describe",
            "cloud-run-source-deploy",
            "--location=us-central1",
        ])
        .await;
    assert!(!ok, "a missing repository is an error: {out}");
    assert!(
        err.contains("NOT_FOUND") || err.contains("not found"),
        "{err}"
    );
    let (ok, _, err) = g
        .output(&[
            "artifacts",
            "repositories",
            "create",
            "cloud-run-source-deploy",
            "--repository-format=docker",
            "--location=us-central1",
            "--description=Cloud Run source deployments",
        ])
        .await;
    assert!(ok, "{err}");
    let repo = g
        .run(&[
            "artifacts",
            "repositories",
            "describe",
            "cloud-run-source-deploy",
            "--location=us-central1",
        ])
        .await;
    assert_eq!(
        repo["name"], "projects/acme/locations/us-central1/repositories/cloud-run-source-deploy",
        "{repo:#}"
    );
    assert_eq!(repo["format"], "DOCKER", "{repo:#}");
    assert_eq!(repo["description"], "Cloud Run source deployments");
    assert_eq!(
        emu.journal()
            .iter()
            .filter(|e| e.rpc == "artifactregistry.projects.locations.repositories.create")
            .count(),
        1
    );
    server.shutdown().await;
}

/// A build made through Cloud Run's `builds:submit`, then read by `gcloud builds describe
/// --region` (Cloud Build's regional builds.get): its status, steps and pushed image digest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcloud_describes_a_regional_build() {
    let Some((emu, server, g)) = start().await else {
        return;
    };
    const BUCKET: &str = "run-sources-acme-us-central1";
    emu.with_state(|st| {
        st.create_bucket("acme", BUCKET);
        st.create_repository("acme", "us-central1", "cloud-run-source-deploy");
    });
    let archive = {
        let mut tar = tar::Builder::new(Vec::new());
        let data = b"FROM scratch\n";
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, "Dockerfile", &data[..]).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar.into_inner().unwrap()).unwrap();
        gz.finish().unwrap()
    };
    let http = reqwest::Client::new();
    let url = server.url();
    let resp = http
        .post(format!(
            "{url}/upload/storage/v1/b/{BUCKET}/o?uploadType=media&name=services%2Fapi%2Fsrc.tgz"
        ))
        .bearer_auth(TOKEN)
        .body(archive)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let image = "us-central1-docker.pkg.dev/acme/cloud-run-source-deploy/api";
    let submitted: Value = http
        .post(format!(
            "{url}/v2/projects/acme/locations/us-central1/builds:submit"
        ))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({
            "storageSource": {"bucket": BUCKET, "object": "services/api/src.tgz"},
            "imageUri": image,
            "dockerBuild": {},
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = submitted["buildOperation"]["metadata"]["build"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no build id: {submitted:#}"))
        .to_string();
    // Read it until it is done (each builds.get moves it on).
    let mut build = Value::Null;
    for _ in 0..10 {
        build = g
            .run(&["builds", "describe", &id, "--region=us-central1"])
            .await;
        if build["status"] == "SUCCESS" {
            break;
        }
    }
    assert_eq!(build["status"], "SUCCESS", "{build:#}");
    assert_eq!(build["id"], id.as_str());
    let pushed =
        emu.images("projects/acme/locations/us-central1/repositories/cloud-run-source-deploy");
    assert_eq!(pushed.len(), 1, "{pushed:?}");
    assert_eq!(
        build["results"]["images"][0]["digest"],
        pushed[0].digest.as_str(),
        "{build:#}"
    );
    assert!(
        build["logUrl"].as_str().is_some_and(|u| u.contains(&id)),
        "{build:#}"
    );
    server.shutdown().await;
}
