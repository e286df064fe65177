//! Holds the emulator to Google's discovery documents, vendored in `emulator/discovery/`
//! (see its README): every served route must exist there with the same id, HTTP method and
//! flatPath, and every field name the emulator emits for the resources the deploy tool reads
//! must be declared in the response schema.

use autosre_emulator::{Emulator, Options, VersionState, World, routes};
use serde_json::{Value, json};
use std::path::PathBuf;

mod common;
use common::{ok, tarball};

fn vendored_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("discovery")
}

fn load(file: &str) -> Value {
    let path = vendored_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read discovery document {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// With `GCP_DISCOVERY_DIR` naming another copy of the same documents (for instance a fresh
/// download), every vendored file must be byte-identical to its namesake there. Without the
/// variable there is nothing to compare with and the test passes.
#[test]
fn vendored_documents_match_an_outside_copy_when_given() {
    let Some(dir) = std::env::var_os("GCP_DISCOVERY_DIR").map(PathBuf::from) else {
        return;
    };
    if !dir.is_dir() {
        return;
    }
    for entry in std::fs::read_dir(vendored_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let other = dir.join(path.file_name().unwrap());
        if !other.exists() {
            continue;
        }
        assert!(
            std::fs::read(&path).unwrap() == std::fs::read(&other).unwrap(),
            "{} differs from {}",
            path.display(),
            other.display()
        );
    }
}

fn methods(resources: &Value, out: &mut Vec<Value>) {
    for r in resources.as_object().into_iter().flat_map(|o| o.values()) {
        for m in r
            .get("methods")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|o| o.values())
        {
            out.push(m.clone());
        }
        if let Some(sub) = r.get("resources") {
            methods(sub, out);
        }
    }
}

#[test]
fn every_route_exists_in_its_discovery_document() {
    let served = routes();
    assert!(served.len() >= 30);
    for route in served {
        let doc = load(route.discovery_file);
        let mut all = Vec::new();
        methods(&doc["resources"], &mut all);
        let m = all
            .iter()
            .find(|m| m["id"] == route.method_id)
            .unwrap_or_else(|| panic!("{} is not in {}", route.method_id, route.discovery_file));
        // Cloud Storage's methods have no `flatPath`: the served path is `servicePath` +
        // `path`, or for uploads the `mediaUpload` protocol's path.
        let upload = m
            .pointer("/mediaUpload/protocols/simple/path")
            .and_then(Value::as_str)
            .map(|p| p.trim_start_matches('/').to_string());
        let expected = match m.get("flatPath").and_then(Value::as_str) {
            Some(flat) => flat.to_string(),
            None if upload.as_deref() == Some(route.flat_path) => upload.clone().unwrap(),
            // `useMediaDownloadService`: the media download service's prefix.
            None if m["useMediaDownloadService"] == true
                && route.flat_path.starts_with("download/") =>
            {
                format!(
                    "download/{}{}",
                    doc["servicePath"].as_str().unwrap(),
                    m["path"].as_str().unwrap()
                )
            }
            None => format!(
                "{}{}",
                doc["servicePath"].as_str().unwrap(),
                m["path"].as_str().unwrap()
            ),
        };
        assert_eq!(expected, route.flat_path, "{}", route.method_id);
        // A resumable upload's chunks are PUT to the session URI, which is the upload path
        // (cloud.google.com/storage/docs/performing-resumable-uploads): the one method
        // served under two HTTP methods.
        let resumable_chunk = route.http_method == "PUT"
            && upload.as_deref() == Some(route.flat_path)
            && m.pointer("/mediaUpload/protocols/resumable").is_some();
        if !resumable_chunk {
            assert_eq!(m["httpMethod"], route.http_method, "{}", route.method_id);
        }
    }
}

/// Checks every key of `v` against schema `name`, following `$ref`, arrays and maps.
fn check(doc: &Value, v: &Value, schema: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return check(doc, v, &doc["schemas"][r], at, errors);
    }
    match v {
        Value::Object(map) => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (k, child) in map {
                    match props.get(k) {
                        Some(s) => check(doc, child, s, &format!("{at}.{k}"), errors),
                        None => errors.push(format!("{at}.{k} is not declared")),
                    }
                }
            } else if let Some(add) = schema.get("additionalProperties") {
                // A map, or `Any` (`{"@type": ...}` payloads are checked separately).
                if add.get("description").is_none()
                    || add.get("$ref").is_some()
                    || add.get("type").is_some_and(|t| t != "any")
                {
                    for (k, child) in map {
                        check(doc, child, add, &format!("{at}[{k}]"), errors);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(items_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(doc, item, items_schema, &format!("{at}[{i}]"), errors);
                }
            }
        }
        _ => {}
    }
}

fn assert_declared(file: &str, schema: &str, v: &Value) {
    let doc = load(file);
    let s = &doc["schemas"][schema];
    assert!(s.is_object(), "{schema} not in {file}");
    let mut errors = Vec::new();
    check(&doc, v, s, schema, &mut errors);
    assert!(errors.is_empty(), "{file} {schema}: {errors:#?}\n{v:#}");
}

#[tokio::test]
async fn emitted_fields_are_declared_in_the_schemas() {
    let runner = "runner@acme.iam.gserviceaccount.com";
    let world = World::builder()
        .project("acme", 42)
        .service_account(runner)
        .secret("acme", "s")
        .secret_version("acme", "s", VersionState::Enabled, b"v")
        .project_binding("acme", "roles/viewer", "user:a@example.com")
        .conditional_binding(
            "projects/acme/secrets/s",
            "roles/secretmanager.secretAccessor",
            &format!("serviceAccount:{runner}"),
            autosre_emulator::Condition {
                expression: "true".into(),
                title: "t".into(),
                description: "d".into(),
            },
        )
        .service("acme", "us-central1", json!({"name": "api", "labels": {"a": "b"},
            "template": {"containers": [{"image": "x/y:1", "env": [{"name": "A", "value": "1"}]}]}}))
        .build();
    let emu = Emulator::new(world, Options::default());
    let server = emu.serve().await.unwrap();
    let get = |path: String, method: &'static str, body: Option<Value>| {
        ok(server.url(), method, path, body)
    };
    let svc_path = "/v2/projects/acme/locations/us-central1/services/api";
    let svc = get(svc_path.into(), "GET", None).await;
    assert_declared("run.v2.json", "GoogleCloudRunV2Service", &svc);
    let revs = get(format!("{svc_path}/revisions"), "GET", None).await;
    assert_declared(
        "run.v2.json",
        "GoogleCloudRunV2ListRevisionsResponse",
        &revs,
    );
    let mut patch = svc.clone();
    patch["template"]["containers"][0]["image"] = "x/y:2".into();
    let op = get(svc_path.into(), "PATCH", Some(patch)).await;
    assert_declared("run.v2.json", "GoogleLongrunningOperation", &op);
    assert_declared(
        "run.v2.json",
        "GoogleCloudRunV2Service",
        &strip_type(&op["metadata"]),
    );
    let done = get(format!("/v2/{}", op["name"].as_str().unwrap()), "GET", None).await;
    assert_declared("run.v2.json", "GoogleLongrunningOperation", &done);
    assert_declared(
        "run.v2.json",
        "GoogleCloudRunV2Service",
        &strip_type(&done["response"]),
    );
    let p = get(format!("{svc_path}:getIamPolicy"), "GET", None).await;
    assert_declared("run.v2.json", "GoogleIamV1Policy", &p);

    let secret = get("/v1/projects/acme/secrets/s".into(), "GET", None).await;
    assert_declared("secretmanager.v1.json", "Secret", &secret);
    let version = get(
        "/v1/projects/acme/secrets/s/versions/latest".into(),
        "GET",
        None,
    )
    .await;
    assert_declared("secretmanager.v1.json", "SecretVersion", &version);
    let access = get(
        "/v1/projects/acme/secrets/s/versions/1:access".into(),
        "GET",
        None,
    )
    .await;
    assert_declared(
        "secretmanager.v1.json",
        "AccessSecretVersionResponse",
        &access,
    );
    let p = get(
        "/v1/projects/acme/secrets/s:getIamPolicy?options.requestedPolicyVersion=3".into(),
        "GET",
        None,
    )
    .await;
    assert!(p["bindings"][0]["condition"].is_object());
    assert_declared("secretmanager.v1.json", "Policy", &p);

    let sa = get(
        format!("/v1/projects/-/serviceAccounts/{runner}"),
        "GET",
        None,
    )
    .await;
    assert_declared("iam.v1.json", "ServiceAccount", &sa);
    let list = get("/v1/projects/acme/serviceAccounts".into(), "GET", None).await;
    assert_declared("iam.v1.json", "ListServiceAccountsResponse", &list);
    let p = get(
        format!("/v1/projects/acme/serviceAccounts/{runner}:getIamPolicy"),
        "POST",
        None,
    )
    .await;
    assert_declared("iam.v1.json", "Policy", &p);

    let patched = get(
        "/v1/projects/acme/secrets/s?updateMask=versionAliases".into(),
        "PATCH",
        Some(json!({"versionAliases": {"current": "1"}})),
    )
    .await;
    assert_declared("secretmanager.v1.json", "Secret", &patched);
    let v1 = get("/v1/projects/acme".into(), "GET", None).await;
    assert_declared("cloudresourcemanager.v1.json", "Project", &v1);
    let project = get("/v3/projects/acme".into(), "GET", None).await;
    assert_declared("cloudresourcemanager.v3.json", "Project", &project);
    let p = get(
        "/v3/projects/acme:getIamPolicy".into(),
        "POST",
        Some(json!({})),
    )
    .await;
    assert_declared("cloudresourcemanager.v3.json", "Policy", &p);
    // IAP v1: the policy of the service's IAP resource, and Cloud Run's `iapEnabled`.
    let iap = "/v1/projects/42/iap_web/cloud_run-us-central1/services/api";
    let p = get(
        format!("{iap}:getIamPolicy"),
        "POST",
        Some(json!({"options": {"requestedPolicyVersion": 3}})),
    )
    .await;
    let p = get(
        format!("{iap}:setIamPolicy"),
        "POST",
        Some(
            json!({"policy": {"etag": p["etag"], "version": 3, "bindings": [
            {"role": "roles/iap.httpsResourceAccessor", "members": ["user:a@example.com"]}]}}),
        ),
    )
    .await;
    assert_declared("iap.v1.json", "Policy", &p);
    let mut enable = get(svc_path.into(), "GET", None).await;
    enable["iapEnabled"] = true.into();
    get(svc_path.into(), "PATCH", Some(enable)).await;
    let svc = get(svc_path.into(), "GET", None).await;
    assert_eq!(svc["iapEnabled"], true);
    assert_declared("run.v2.json", "GoogleCloudRunV2Service", &svc);
    let token = get(
        format!("/v1/projects/-/serviceAccounts/{runner}:generateAccessToken"),
        "POST",
        Some(json!({"scope": ["https://www.googleapis.com/auth/cloud-platform"]})),
    )
    .await;
    assert_declared(
        "iamcredentials.v1.json",
        "GenerateAccessTokenResponse",
        &token,
    );
    server.shutdown().await;
}

/// The resources of a source deploy: bucket, object, repository, build, their operations,
/// and Cloud Run's SubmitBuildResponse.
#[tokio::test]
async fn source_deploy_fields_are_declared_in_the_schemas() {
    let world = World::builder().project("acme", 42).build();
    let emu = Emulator::new(world, Options::default());
    let server = emu.serve().await.unwrap();
    let url = server.url();
    let http = reqwest::Client::new();
    let send = |method: &'static str, path: String, body: Option<Value>| {
        ok(url.clone(), method, path, body)
    };
    let bucket = send(
        "POST",
        "/storage/v1/b?project=acme".into(),
        Some(json!({"name": "src", "labels": {"a": "b"}})),
    )
    .await;
    assert_declared("storage.v1.json", "Bucket", &bucket);
    assert_declared(
        "storage.v1.json",
        "Bucket",
        &send("GET", "/storage/v1/b/src".into(), None).await,
    );
    let archive = tarball(&[("Dockerfile", b"FROM scratch\n")]);
    let object: Value = http
        .post(format!(
            "{url}/upload/storage/v1/b/src/o?uploadType=media&name=s.tgz"
        ))
        .body(archive)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_declared("storage.v1.json", "Object", &object);
    assert_declared(
        "storage.v1.json",
        "Object",
        &send("GET", "/storage/v1/b/src/o/s.tgz".into(), None).await,
    );

    let op = send(
        "POST",
        "/v1/projects/acme/locations/us-central1/repositories?repositoryId=cloud-run-source-deploy"
            .into(),
        Some(json!({"format": "DOCKER", "description": "d"})),
    )
    .await;
    assert_declared("artifactregistry.v1.json", "Operation", &op);
    let done = send("GET", format!("/v1/{}", op["name"].as_str().unwrap()), None).await;
    assert_declared("artifactregistry.v1.json", "Operation", &done);
    assert_declared(
        "artifactregistry.v1.json",
        "Repository",
        &strip_type(&done["response"]),
    );
    let repo = send(
        "GET",
        "/v1/projects/acme/locations/us-central1/repositories/cloud-run-source-deploy".into(),
        None,
    )
    .await;
    assert_declared("artifactregistry.v1.json", "Repository", &repo);

    let image = "us-central1-docker.pkg.dev/acme/cloud-run-source-deploy/api";
    let submitted = send(
        "POST",
        "/v2/projects/acme/locations/us-central1/builds:submit".into(),
        Some(
            json!({"storageSource": {"bucket": "src", "object": "s.tgz"},
            "imageUri": image, "dockerBuild": {}, "tags": ["t"]}),
        ),
    )
    .await;
    assert_declared(
        "run.v2.json",
        "GoogleCloudRunV2SubmitBuildResponse",
        &json!({"buildOperation": {"name": submitted["buildOperation"]["name"]}}),
    );
    let op = &submitted["buildOperation"];
    assert_declared("cloudbuild.v1.json", "Operation", op);
    assert_declared(
        "cloudbuild.v1.json",
        "BuildOperationMetadata",
        &strip_type(&op["metadata"]),
    );
    let done = send("GET", format!("/v1/{}", op["name"].as_str().unwrap()), None).await;
    assert_eq!(done["done"], true, "{done}");
    assert_declared(
        "cloudbuild.v1.json",
        "Build",
        &strip_type(&done["response"]),
    );
    let name = done["response"]["name"].as_str().unwrap();
    let build = send("GET", format!("/v1/{name}"), None).await;
    assert_eq!(build["status"], "SUCCESS");
    assert_declared("cloudbuild.v1.json", "Build", &build);
    let created = send(
        "POST",
        "/v1/projects/acme/locations/us-central1/builds".into(),
        Some(json!({"source": {"storageSource": {"bucket": "src", "object": "s.tgz"}},
            "steps": [{"name": "gcr.io/cloud-builders/docker", "args": ["build", "-t", image, "."]}],
            "images": [image]})),
    )
    .await;
    assert_declared("cloudbuild.v1.json", "Operation", &created);
    server.shutdown().await;
}

/// `packages.tags.get` for a seeded image whose path has a slash: the package id is
/// escaped in the path and in the names answered, and a moved tag names the new version.
#[tokio::test]
async fn image_tag_fields_are_declared_in_the_schemas() {
    let image = "us-docker.pkg.dev/acme/images/team/api";
    let world = World::builder()
        .project("acme", 42)
        .image(&format!("{image}:latest"), Some("sha256:aaaa"))
        .build();
    let emu = Emulator::new(world, Options::default());
    let server = emu.serve().await.unwrap();
    let path = "/v1/projects/acme/locations/us/repositories/images/packages/team%2Fapi/tags/latest";
    let tag = ok(server.url(), "GET", path.into(), None).await;
    assert_declared("artifactregistry.v1.json", "Tag", &tag);
    let package = "projects/acme/locations/us/repositories/images/packages/team%2Fapi";
    assert_eq!(tag["name"], format!("{package}/tags/latest"));
    assert_eq!(tag["version"], format!("{package}/versions/sha256:aaaa"));
    emu.with_state(|st| assert!(st.push_image(&format!("{image}:latest"), "sha256:bbbb")));
    let moved = ok(server.url(), "GET", path.into(), None).await;
    assert_eq!(moved["version"], format!("{package}/versions/sha256:bbbb"));
    let (status, _) = common::call(
        &server.url(),
        "GET",
        &path.replace("/latest", "/nope"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    server.shutdown().await;
}

#[test]
fn the_schema_walk_catches_undeclared_fields() {
    let doc = load("secretmanager.v1.json");
    let mut errors = Vec::new();
    let v = json!({"name": "x", "labels": {"a": "b"}, "bogus": 1, "replication": {"automatic": {"nope": 1}}});
    check(&doc, &v, &doc["schemas"]["Secret"], "Secret", &mut errors);
    assert_eq!(
        errors,
        [
            "Secret.bogus is not declared",
            "Secret.replication.automatic.nope is not declared"
        ]
    );
}

fn strip_type(v: &Value) -> Value {
    let mut v = v.clone();
    assert!(
        v["@type"]
            .as_str()
            .unwrap()
            .starts_with("type.googleapis.com/")
    );
    v.as_object_mut().unwrap().remove("@type");
    v
}
