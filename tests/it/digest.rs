//! End-to-end: images by digest. An Artifact Registry tag is resolved to the
//! digest it names at plan time and the revision runs `IMAGE@sha256:...`: a
//! moved tag is a new revision, an unmoved one no change; another registry
//! keeps its tag with a warning; a tag that may not be read, or does not
//! exist, stops the deploy before anything is written.

use serde_json::Value;

use crate::harness::*;

/// `config/staging.yaml` deploying `STAGING_IMAGE:latest`.
fn staging_at_latest() -> String {
    let config = staging().replace(":2026.11.28", ":latest");
    assert!(config.contains("autosre/autosre:latest"), "{config}");
    config
}

fn deployed_image(h: &Harness) -> String {
    let svc = h.emulator.service(SERVICE).expect("deployed");
    svc["template"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn plan_json(h: &Harness, extra: &[&str]) -> Value {
    let mut args = vec!["plan", "--env", "staging", "--output", "json"];
    args.extend_from_slice(extra);
    let run = h.run(&args).await;
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.all()))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_moved_tag_is_a_new_revision_with_the_new_digest_and_an_unmoved_one_no_change() {
    let h = Harness::start(staging_world().build()).await;
    h.write_config("staging", &staging_at_latest());
    h.run(&["deploy", "--env", "staging"]).await.assert_code(0);
    let first = format!("{STAGING_IMAGE}@{}", staging_digest("latest"));
    assert_eq!(deployed_image(&h), first);

    // Nothing pushed: no change, no write, no revision.
    h.emulator.clear_journal();
    let run = h.run(&["deploy", "--env", "staging"]).await;
    run.assert_code(0);
    run.assert_stderr_contains("No changes");
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());
    assert_eq!(h.emulator.revisions(SERVICE).len(), 1);

    // A new build is pushed as `latest`: the plan shows the tag moving...
    let moved = format!("sha256:{}", "5e".repeat(32));
    h.emulator.with_state(|st| {
        assert!(st.push_image(&format!("{STAGING_IMAGE}:latest"), &moved));
    });
    let plan = plan_json(&h, &[]).await;
    assert_eq!(plan["image"]["tag"], "latest", "{:#}", plan["image"]);
    assert_eq!(plan["image"]["digest"], moved.as_str());
    let field = plan["service"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "image")
        .unwrap_or_else(|| panic!("no image change: {:#}", plan["service"]));
    assert_eq!(field["before"], first.as_str());
    assert_eq!(field["after"], format!("{STAGING_IMAGE}@{moved}"));
    assert_eq!(plan["service"]["new_revision"], true);
    let human = h.run(&["plan", "--env", "staging"]).await;
    human.assert_stdout_contains(&format!(
        "image: {STAGING_IMAGE}:latest -> sha256:5e5e5e5e5e5e…"
    ));
    let md = h
        .run(&["plan", "--env", "staging", "--output", "markdown"])
        .await;
    md.assert_stdout_contains(&format!(
        "Image: `{STAGING_IMAGE}:latest -> sha256:5e5e5e5e5e5e…`."
    ));

    // ...and the deploy makes a new revision running the new build.
    h.run(&["deploy", "--env", "staging"]).await.assert_code(0);
    assert_eq!(deployed_image(&h), format!("{STAGING_IMAGE}@{moved}"));
    assert_eq!(h.emulator.revisions(SERVICE).len(), 2);
    let history = h.run(&["history", "--env", "staging"]).await;
    history.assert_stdout_contains(&format!("{STAGING_IMAGE}@{moved}"));
    history.assert_stdout_contains(&first);
    // `rollback` names the build it goes back to.
    let rollback = h.run(&["rollback", "--env", "staging", "--dry-run"]).await;
    rollback.assert_code(0);
    rollback.assert_stdout_contains(&format!("image: {first}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_by_digest_is_deployed_as_given_without_asking_the_registry() {
    let h = Harness::start_staging(staging_world().build()).await;
    let image = format!("{STAGING_IMAGE}@sha256:{}", "ab".repeat(32));
    let run = h
        .run(&["deploy", "--env", "staging", "--image", &image])
        .await;
    run.assert_code(0);
    assert_eq!(deployed_image(&h), image);
    assert_eq!(
        h.count("artifactregistry.projects.locations.repositories.packages.tags.get"),
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_outside_artifact_registry_keeps_its_tag_with_a_warning() {
    let h = Harness::start_staging(staging_world().build()).await;
    let image = "docker.io/library/nginx:1.27";
    let plan = plan_json(&h, &["--image", image]).await;
    let kinds: Vec<&str> = plan["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"image_tag_not_resolved"), "{kinds:?}");
    assert_eq!(plan["image"]["deployed"], image);
    let run = h
        .run(&["deploy", "--env", "staging", "--image", image])
        .await;
    run.assert_code(0);
    run.assert_stderr_contains("a tag moved since the last deploy will not be noticed");
    assert_eq!(deployed_image(&h), image);
}

/// A deployer who may not read the tag of an image in another project: the
/// preflight names the permission and the role, and nothing is written.
#[tokio::test(flavor = "multi_thread")]
async fn a_tag_the_deployer_may_not_read_stops_the_deploy_before_any_write() {
    let image = "us-docker.pkg.dev/acme-images/autosre/autosre:1";
    let world = staging_world()
        .project("acme-images", 42)
        .image(image, None)
        .caller("owner@example.com")
        .enforce_caller_permissions()
        .build();
    let h = Harness::start_staging(world).await;
    let run = h
        .run(&["deploy", "--env", "staging", "--image", image])
        .await;
    run.assert_code(1);
    run.assert_stderr_contains("artifactregistry.tags.get");
    run.assert_stderr_contains("--role=roles/artifactregistry.reader");
    run.assert_stderr_contains(
        "gcloud artifacts repositories add-iam-policy-binding autosre --location=us --project=acme-images",
    );
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());
    let plan = plan_json(&h, &["--image", image]).await;
    assert_eq!(
        plan["preflight"]["problems"][0]["kind"], "image_tag_unreadable",
        "{:#}",
        plan["preflight"]["problems"]
    );

    // Granted the reader role on that project, the same deploy goes through.
    h.emulator.with_state(|st| {
        st.add_binding(
            "projects/acme-images",
            "roles/artifactregistry.reader",
            "user:owner@example.com",
        )
    });
    h.run(&["deploy", "--env", "staging", "--image", image])
        .await
        .assert_code(0);
    assert_eq!(
        deployed_image(&h),
        format!(
            "us-docker.pkg.dev/acme-images/autosre/autosre@{}",
            autosre_emulator::digest_for(image)
        )
    );
}

/// In the deploy's own project the preflight's testIamPermissions asks for
/// `artifactregistry.tags.get`: missing, it is one `missing_permission`.
#[tokio::test(flavor = "multi_thread")]
async fn the_preflight_asks_for_the_tag_permission_in_the_deploys_project() {
    let member = "user:deployer@example.com";
    let mut world = staging_world()
        .caller("deployer@example.com")
        .enforce_caller_permissions();
    for role in [
        "roles/run.developer",
        "roles/iam.serviceAccountUser",
        "roles/iam.serviceAccountAdmin",
        "roles/resourcemanager.projectIamAdmin",
        "roles/secretmanager.admin",
    ] {
        world = world.project_binding(PROJECT, role, member);
    }
    let h = Harness::start_staging(world.build()).await;
    let plan = plan_json(&h, &[]).await;
    let problems = plan["preflight"]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0]["kind"], "missing_permission");
    let row = plan["preflight"]["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["permission"] == "artifactregistry.tags.get")
        .expect("asked");
    assert_eq!(row["status"], "missing");
    assert_eq!(row["role"], "roles/artifactregistry.reader");
    h.run(&["deploy", "--env", "staging"]).await.assert_code(1);
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tag_that_does_not_exist_stops_the_deploy() {
    let h = Harness::start_staging(staging_world().build()).await;
    let image = format!("{STAGING_IMAGE}:never-pushed");
    let run = h
        .run(&["deploy", "--env", "staging", "--image", &image])
        .await;
    run.assert_code(1);
    run.assert_stderr_contains("has no tag `never-pushed`");
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());
    let plan = plan_json(&h, &["--image", &image]).await;
    assert_eq!(
        plan["preflight"]["problems"][0]["kind"],
        "image_tag_not_found"
    );
}
