//! Source deploy builds: Artifact Registry repositories, Cloud Build builds and Cloud Run's
//! `builds:submit`, driven by the official google-cloud-rust clients (artifactregistry-v1,
//! build-v1, run-v2) and over raw HTTP, with the world options `failBuilds` and
//! `submitBuild`, and faults on the new routes.

use autosre_emulator::{Api, Clock, Emulator, Fault, Options, SubmitBuild, World};
use google_cloud_auth::credentials::anonymous::Builder as Anonymous;
use google_cloud_lro::Poller as _;
use serde_json::{Value, json};

mod common;
use common::{call, start, tarball};

const BUCKET: &str = "run-sources-acme-us-central1";
const OBJECT: &str = "services/api/src.tgz";
const PARENT: &str = "projects/acme/locations/us-central1";
const REPO: &str = "projects/acme/locations/us-central1/repositories/cloud-run-source-deploy";
const IMAGE: &str = "us-central1-docker.pkg.dev/acme/cloud-run-source-deploy/api";

/// The emulator with the staging bucket holding `files` as the source archive, and the
/// repository when `repo`.
async fn setup(
    world: World,
    polls: u32,
    files: &[(&str, &[u8])],
    repo: bool,
) -> (Emulator, String) {
    let (emu, url) = start(
        world,
        Options {
            operation_polls: polls,
            clock: Clock::Manual,
            ..Options::default()
        },
    )
    .await;
    let archive = tarball(files);
    emu.with_state(|st| {
        st.create_bucket("acme", BUCKET);
        if repo {
            st.create_repository("acme", "us-central1", "cloud-run-source-deploy");
        }
    });
    let resp = reqwest::Client::new()
        .post(format!(
            "{url}/upload/storage/v1/b/{BUCKET}/o?uploadType=media&name=services%2Fapi%2Fsrc.tgz"
        ))
        .body(archive)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    (emu, url)
}

fn world() -> World {
    World::builder().project("acme", 42).build()
}

const DOCKERFILE: (&str, &[u8]) = ("Dockerfile", b"FROM scratch\n");

/// `builds:submit` of the staged archive (docker when `docker`, else buildpacks).
async fn submit(url: &str, docker: bool) -> (u16, Value) {
    call(
        url,
        "POST",
        &format!("/v2/{PARENT}/builds:submit"),
        Some(submit_body(docker)),
    )
    .await
}

/// The log Cloud Build wrote for build `id`.
fn build_log(emu: &Emulator, id: &str) -> String {
    let log = emu
        .object(
            "42.cloudbuild-logs.googleusercontent.com",
            &format!("log-{id}.txt"),
        )
        .unwrap();
    String::from_utf8(log).unwrap()
}

fn submit_body(docker: bool) -> Value {
    let mut b = json!({"storageSource": {"bucket": BUCKET, "object": OBJECT},
        "imageUri": format!("{IMAGE}:b1"), "tags": ["deploy"]});
    if docker {
        b["dockerBuild"] = json!({});
    } else {
        b["buildpackBuild"] = json!({});
    }
    b
}

#[tokio::test]
async fn the_official_clients_create_a_repository_submit_a_build_and_read_it() {
    let (emu, url) = setup(world(), 0, &[DOCKERFILE, ("main.py", b"print(1)")], false).await;
    let ar = google_cloud_artifactregistry_v1::client::ArtifactRegistry::builder()
        .with_endpoint(&url)
        .with_credentials(Anonymous::new().build())
        .build()
        .await
        .unwrap();
    let err = ar.get_repository().set_name(REPO).send().await.unwrap_err();
    assert_eq!(err.http_status_code(), Some(404), "{err:?}");
    let repo = ar
        .create_repository()
        .set_parent(PARENT)
        .set_repository_id("cloud-run-source-deploy")
        .set_repository(
            google_cloud_artifactregistry_v1::model::Repository::new()
                .set_format(google_cloud_artifactregistry_v1::model::repository::Format::Docker),
        )
        .poller()
        .until_done()
        .await
        .unwrap();
    assert_eq!(repo.name, REPO);
    assert_eq!(
        ar.get_repository()
            .set_name(REPO)
            .send()
            .await
            .unwrap()
            .registry_uri,
        "us-central1-docker.pkg.dev/acme/cloud-run-source-deploy"
    );

    let run = google_cloud_run_v2::client::Builds::builder()
        .with_endpoint(&url)
        .with_credentials(Anonymous::new().build())
        .build()
        .await
        .unwrap();
    let submitted = run
        .submit_build()
        .set_parent(PARENT)
        .set_storage_source(
            google_cloud_run_v2::model::StorageSource::new()
                .set_bucket(BUCKET)
                .set_object(OBJECT),
        )
        .set_image_uri(format!("{IMAGE}:b1"))
        .set_docker_build(google_cloud_run_v2::model::submit_build_request::DockerBuild::new())
        .send()
        .await
        .unwrap();
    let op_name = submitted.build_operation.unwrap().name;
    assert!(
        op_name.starts_with("projects/42/locations/us-central1/operations/"),
        "{op_name}"
    );

    let cb = google_cloud_build_v1::client::CloudBuild::builder()
        .with_endpoint(&url)
        .with_credentials(Anonymous::new().build())
        .build()
        .await
        .unwrap();
    let op = cb.get_operation().set_name(&op_name).send().await.unwrap();
    assert!(op.done);
    let meta = op
        .metadata
        .unwrap()
        .to_msg::<google_cloud_build_v1::model::BuildOperationMetadata>()
        .unwrap();
    let build = meta.build.unwrap();
    assert_eq!(
        build.status,
        google_cloud_build_v1::model::build::Status::Success
    );
    let image = &build.results.as_ref().unwrap().images[0];
    assert_eq!(image.name, format!("{IMAGE}:b1"));
    assert!(image.digest.starts_with("sha256:") && image.digest.len() == 71);
    let got = cb
        .get_build()
        .set_name(format!("{PARENT}/builds/{}", build.id))
        .send()
        .await
        .unwrap();
    assert_eq!(got.id, build.id);
    assert_eq!(
        got.steps[0].status,
        google_cloud_build_v1::model::build::Status::Success
    );
    // The image is in the repository, with its tag; the log is in the logs bucket.
    let pushed = emu.images(REPO);
    assert_eq!(pushed.len(), 1);
    assert_eq!(
        (pushed[0].uri.as_str(), pushed[0].digest.as_str()),
        (IMAGE, image.digest.as_str())
    );
    assert_eq!(pushed[0].tags, ["b1"]);
    assert!(build_log(&emu, &build.id).contains("DONE"));
    // The journal names each API.
    let apis: Vec<(Api, String)> = emu.journal().into_iter().map(|e| (e.api, e.rpc)).collect();
    for (api, rpc) in [
        (
            Api::ArtifactRegistry,
            "artifactregistry.projects.locations.repositories.create",
        ),
        (Api::Run, "run.projects.locations.builds.submit"),
        (
            Api::CloudBuild,
            "cloudbuild.projects.locations.operations.get",
        ),
        (Api::CloudBuild, "cloudbuild.projects.locations.builds.get"),
    ] {
        assert!(apis.contains(&(api, rpc.to_string())), "{rpc} in {apis:?}");
    }

    // Cloud Build's own builds.create, the fallback, through its poller.
    let built = cb
        .create_build()
        .set_parent(PARENT)
        .set_build(
            google_cloud_build_v1::model::Build::new()
                .set_source(
                    google_cloud_build_v1::model::Source::new().set_storage_source(
                        google_cloud_build_v1::model::StorageSource::new()
                            .set_bucket(BUCKET)
                            .set_object(OBJECT),
                    ),
                )
                .set_steps([google_cloud_build_v1::model::BuildStep::new()
                    .set_name("gcr.io/cloud-builders/docker")
                    .set_args(["build", "-t", &format!("{IMAGE}:b2"), "."])])
                .set_images([format!("{IMAGE}:b2")]),
        )
        .poller()
        .until_done()
        .await
        .unwrap();
    let digest = &built.results.unwrap().images[0].digest;
    // The same archive built into the same image: the digest the first build
    // pushed, now tagged `b2` as well.
    let pushed = emu.images(REPO);
    assert!(
        pushed
            .iter()
            .any(|i| &i.digest == digest && i.tags == ["b1", "b2"]),
        "{pushed:?}"
    );
}

/// Polls an operation over HTTP until it is done; the statuses the build went through.
async fn poll(url: &str, op: &str) -> (Value, Vec<String>) {
    let mut seen = Vec::new();
    for _ in 0..10 {
        let (status, v) = call(url, "GET", &format!("/v1/{op}"), None).await;
        assert_eq!(status, 200, "{v}");
        seen.push(
            v["metadata"]["build"]["status"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        if v["done"] == true {
            return (v, seen);
        }
    }
    panic!("{op} never finished");
}

/// With a build duration, polls alone do not finish a build: it is done at the first poll
/// once that much time has passed on the emulator clock (the benchmark's builds take time).
#[tokio::test]
async fn a_build_with_a_duration_is_done_only_once_its_time_has_passed() {
    let (emu, url) = setup(world(), 1, &[DOCKERFILE], true).await;
    emu.set_build_duration(std::time::Duration::from_secs(30));
    let (status, v) = submit(&url, true).await;
    assert_eq!(status, 200, "{v}");
    let op = v["buildOperation"]["name"].as_str().unwrap().to_string();
    let status = async || {
        let (code, v) = call(&url, "GET", &format!("/v1/{op}"), None).await;
        assert_eq!(code, 200, "{v}");
        (v["done"] == true, v["metadata"]["build"]["status"].clone())
    };
    assert_eq!(status().await, (false, json!("WORKING")));
    emu.advance(std::time::Duration::from_secs(29));
    assert_eq!(status().await, (false, json!("WORKING")));
    emu.advance(std::time::Duration::from_secs(1));
    assert_eq!(status().await, (true, json!("SUCCESS")));
}

#[tokio::test]
async fn a_build_progresses_by_polls_and_times_follow_the_emulator_clock() {
    let (emu, url) = setup(world(), 3, &[DOCKERFILE], true).await;
    let (status, v) = submit(&url, true).await;
    assert_eq!(status, 200, "{v}");
    let op = v["buildOperation"]["name"].as_str().unwrap().to_string();
    assert_eq!(v["buildOperation"]["metadata"]["build"]["status"], "QUEUED");
    emu.advance(std::time::Duration::from_secs(95));
    let (done, seen) = poll(&url, &op).await;
    assert_eq!(seen, ["WORKING", "WORKING", "SUCCESS"]);
    let b = &done["response"];
    assert_eq!(b["createTime"], "2025-01-01T00:00:00.000000Z");
    assert_eq!(b["finishTime"], "2025-01-01T00:01:35.000000Z");
    assert_eq!(b["steps"][0]["status"], "SUCCESS");
    assert_eq!(b["tags"], json!(["deploy"]));
    assert!(
        b["logUrl"]
            .as_str()
            .unwrap()
            .contains(b["id"].as_str().unwrap())
    );
    // Integer enums when asked, as the official clients ask.
    let (_, v) = call(
        &url,
        "GET",
        &format!(
            "/v1/{}?%24alt=json%3Benum-encoding%3Dint",
            b["name"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(v["status"], 3);
}

#[tokio::test]
async fn a_missing_dockerfile_or_repository_fails_the_build_the_way_google_does() {
    let (emu, url) = setup(world(), 1, &[("main.py", b"x")], false).await;
    let (_, v) = submit(&url, true).await;
    let (done, _) = poll(&url, v["buildOperation"]["name"].as_str().unwrap()).await;
    assert_eq!(done["error"]["code"], 2, "{done}");
    let b = &done["metadata"]["build"];
    assert_eq!(b["status"], "FAILURE");
    assert_eq!(b["failureInfo"]["type"], "USER_BUILD_STEP");
    assert_eq!(b["steps"][0]["status"], "FAILURE");
    assert!(
        build_log(&emu, b["id"].as_str().unwrap())
            .contains("lstat /workspace/Dockerfile: no such file or directory")
    );

    // Buildpacks need no Dockerfile, but the push needs the repository.
    let (_, v) = submit(&url, false).await;
    assert_eq!(v["baseImageUri"], "gcr.io/buildpacks/builder:latest");
    let (done, _) = poll(&url, v["buildOperation"]["name"].as_str().unwrap()).await;
    let b = &done["metadata"]["build"];
    assert_eq!(b["failureInfo"]["type"], "PUSH_FAILED", "{b}");
    assert!(
        b["failureInfo"]["detail"]
            .as_str()
            .unwrap()
            .contains("Repository \"cloud-run-source-deploy\" not found")
    );
    assert!(emu.images(REPO).is_empty());
}

#[tokio::test]
async fn world_option_fail_builds_fails_the_chosen_step_with_its_log() {
    let world = World::from_yaml(
        r#"
projects: [{id: acme, number: 42}]
failBuilds: {step: 0, logLines: ["npm ERR! missing script: build", "npm ERR! exit 1"], status: FAILURE}
"#,
    )
    .unwrap();
    let (emu, url) = setup(world, 1, &[DOCKERFILE], true).await;
    let (_, v) = submit(&url, true).await;
    let (done, _) = poll(&url, v["buildOperation"]["name"].as_str().unwrap()).await;
    let b = &done["metadata"]["build"];
    assert_eq!(b["status"], "FAILURE");
    assert_eq!(b["steps"][0]["status"], "FAILURE");
    assert!(b.get("results").is_none());
    let log = build_log(&emu, b["id"].as_str().unwrap());
    assert!(
        log.contains("Step #0: npm ERR! missing script: build"),
        "{log}"
    );
    assert!(emu.images(REPO).is_empty());
    assert!(World::from_yaml("failBuilds: {status: NOPE}").is_err());
}

#[tokio::test]
async fn world_option_submit_build_not_found_leaves_builds_create() {
    let world = World::builder()
        .project("acme", 42)
        .submit_build(SubmitBuild::NotFound)
        .build();
    let (emu, url) = setup(world, 1, &[DOCKERFILE], true).await;
    let (status, v) = submit(&url, true).await;
    assert_eq!(
        (status, v["error"]["status"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    let (status, v) = call(
        &url,
        "POST",
        &format!("/v1/{PARENT}/builds"),
        Some(json!({"source": {"storageSource": {"bucket": BUCKET, "object": OBJECT}},
            "steps": [{"name": "gcr.io/cloud-builders/docker", "args": ["build", "-t", IMAGE, "."]}],
            "images": [IMAGE]})),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let (done, _) = poll(&url, v["name"].as_str().unwrap()).await;
    assert_eq!(done["response"]["status"], "SUCCESS");
    assert_eq!(emu.images(REPO)[0].tags, ["latest"]);
}

#[tokio::test]
async fn faults_apply_to_the_new_routes() {
    let (emu, url) = setup(world(), 1, &[DOCKERFILE], true).await;
    emu.inject_fault(Fault::status(Some("POST"), "builds:submit", 503, 1));
    emu.inject_fault(Fault::status(Some("GET"), "/storage/v1/b/", 429, 1));
    let (status, _) = submit(&url, true).await;
    assert_eq!(status, 503);
    let (status, _) = submit(&url, true).await;
    assert_eq!(status, 200);
    let (status, _) = call(&url, "GET", &format!("/storage/v1/b/{BUCKET}"), None).await;
    assert_eq!(status, 429);
    let faulted: Vec<_> = emu
        .journal()
        .into_iter()
        .filter(|e| e.faulted)
        .map(|e| e.api)
        .collect();
    assert_eq!(faulted, [Api::Run, Api::Storage]);
}

/// Cloud Build's default substitutions apply to `images` and steps, and every tag of one
/// build's image has one digest: `IMAGE:$BUILD_ID` and `IMAGE:commit` are one image.
#[tokio::test]
async fn builds_create_substitutes_the_build_id_and_tags_one_image_twice() {
    let (emu, url) = setup(world(), 1, &[DOCKERFILE], true).await;
    let body = json!({
        "source": {"storageSource": {"bucket": BUCKET, "object": OBJECT}},
        "steps": [{"name": "gcr.io/cloud-builders/docker",
                   "args": ["build", "-t", format!("{IMAGE}:$BUILD_ID"), "-t", format!("{IMAGE}:c0ffee"), "."]}],
        "images": [format!("{IMAGE}:$BUILD_ID"), format!("{IMAGE}:c0ffee")],
    });
    let (status, op) = call(&url, "POST", &format!("/v1/{PARENT}/builds"), Some(body)).await;
    assert_eq!(status, 200, "{op}");
    let id = op["metadata"]["build"]["id"].as_str().unwrap().to_string();
    let (done, _) = poll(&url, op["name"].as_str().unwrap()).await;
    let images = done["response"]["results"]["images"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        images[0]["name"],
        format!("{IMAGE}:{id}").as_str(),
        "{done:#}"
    );
    assert_eq!(images[0]["digest"], images[1]["digest"], "{done:#}");
    let pushed = emu.images(REPO);
    assert_eq!(pushed.len(), 1, "{pushed:?}");
    assert_eq!(pushed[0].tags, [id.as_str(), "c0ffee"]);
}

/// `getDefaultServiceAccount` names the world's default build account
/// (`defaultBuildAccount`: the Compute Engine default, the legacy Cloud Build account, or
/// none), and a build pinned to a generation the object no longer has fails to fetch it.
#[tokio::test]
async fn world_option_default_build_account_and_the_source_generation() {
    use autosre_emulator::DefaultBuildAccount;
    for (account, want) in [
        (
            DefaultBuildAccount::Compute,
            "projects/acme/serviceAccounts/42-compute@developer.gserviceaccount.com",
        ),
        (
            DefaultBuildAccount::Legacy,
            "projects/acme/serviceAccounts/42@cloudbuild.gserviceaccount.com",
        ),
        (DefaultBuildAccount::None, ""),
    ] {
        let world = World::builder()
            .project("acme", 42)
            .default_build_account(account)
            .build();
        let (_emu, url) = setup(world, 0, &[DOCKERFILE], true).await;
        let (status, v) = call(
            &url,
            "GET",
            "/v1/projects/acme/locations/global/defaultServiceAccount",
            None,
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["serviceAccountEmail"], want, "{account:?}");
        assert_eq!(
            v["name"],
            "projects/acme/locations/global/defaultServiceAccount"
        );
    }
    let (emu, url) = setup(world(), 0, &[DOCKERFILE], true).await;
    let generation = emu
        .with_state(|st| st.object_generation(BUCKET, OBJECT))
        .unwrap();
    for (pinned, status) in [(generation, "SUCCESS"), (generation - 1, "FAILURE")] {
        let mut body = submit_body(true);
        body["storageSource"]["generation"] = json!(pinned.to_string());
        let (code, v) = call(
            &url,
            "POST",
            &format!("/v2/{PARENT}/builds:submit"),
            Some(body),
        )
        .await;
        assert_eq!(code, 200, "{v}");
        let (done, _) = poll(&url, v["buildOperation"]["name"].as_str().unwrap()).await;
        let build = match done.get("response") {
            Some(b) => b.clone(),
            None => done["metadata"]["build"].clone(),
        };
        assert_eq!(build["status"], status, "{pinned}: {done:#}");
    }
}
