//! Who may deploy from source: the deployer's permissions and roles, and
//! a Cloud Build API that is not enabled.

use super::*;

/// A deployer, authorised by the emulator as itself, holding `roles` on
/// the project.
pub(crate) fn deployer_world(roles: &[&str]) -> World {
    let mut b = staging_world()
        .caller("deployer@example.com")
        .enforce_caller_permissions();
    for role in roles {
        b = b.project_binding(PROJECT, role, "user:deployer@example.com");
    }
    b.build()
}

/// Every role a staging source deploy needs.
pub(crate) const SOURCE_DEPLOYER: [&str; 8] = [
    "roles/run.developer",
    "roles/iam.serviceAccountUser",
    "roles/iam.serviceAccountAdmin",
    "roles/resourcemanager.projectIamAdmin",
    "roles/secretmanager.admin",
    "roles/storage.admin",
    "roles/artifactregistry.admin",
    "roles/cloudbuild.builds.editor",
];

#[tokio::test(flavor = "multi_thread")]
async fn a_deployer_missing_a_build_permission_gets_the_preflight_table_and_nothing_is_uploaded() {
    let roles: Vec<&str> = SOURCE_DEPLOYER
        .into_iter()
        .filter(|r| *r != "roles/cloudbuild.builds.editor")
        .collect();
    let h = Harness::start_staging(deployer_world(&roles)).await;
    let src = fixture_dir(&h);
    let run = deploy_source(&h, &src, &[]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains("preflight failed");
    run.assert_stderr_contains("`cloudbuild.builds.get`");
    run.assert_stderr_contains("`cloudbuild.builds.create`");
    // Google's source-deploy role, which holds every build permission.
    run.assert_stderr_contains("--role=roles/run.sourceDeveloper");
    assert!(!run.all().contains("run.builds.create"), "{}", run.all());
    assert!(!run.all().contains("403"), "{}", run.all());
    assert!(h.writes().is_empty(), "{:#?}", h.writes());
    assert!(h.emulator.objects(BUCKET).is_empty());
    // `check` of a config that builds (`service.source`) shows the table.
    let config = staging_service_with("source: ../src");
    h.write_config("staging", &config);
    let check = h.run(&["check", "--env", "staging"]).await;
    assert_eq!(check.code, 1, "{}", check.all());
    let row = check
        .stdout
        .lines()
        .find(|l| l.contains("cloudbuild.builds.get") && l.contains("MISSING"))
        .unwrap_or_else(|| panic!("no missing cloudbuild.builds.get row:\n{}", check.all()));
    assert!(row.contains(PROJECT), "{row}");
    assert!(h.writes().is_empty(), "{:#?}", h.writes());

    // With the build roles too, the same deploy goes through.
    let h = Harness::start_staging(deployer_world(&SOURCE_DEPLOYER)).await;
    let src = fixture_dir(&h);
    let run = deploy_source(&h, &src, &[]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(running_image(&h), pushed_image(&h));
}

/// The roles Google's source-deploy guide asks of the deployer
/// (roles/run.sourceDeveloper, roles/serviceusage.serviceUsageConsumer,
/// roles/iam.serviceAccountUser; cloud.google.com/run/docs/deploying-source-code),
/// plus the secret and IAM roles of the staging config's grants, are enough:
/// the preflight asks for `cloudbuild.builds.create` (what builds:submit
/// needs), not for `run.builds.create`, which is no permission at all.
#[tokio::test(flavor = "multi_thread")]
async fn the_roles_googles_source_deploy_guide_names_are_enough_to_deploy_from_source() {
    let h = Harness::start_staging(deployer_world(&[
        "roles/run.sourceDeveloper",
        "roles/serviceusage.serviceUsageConsumer",
        "roles/iam.serviceAccountUser",
        "roles/iam.serviceAccountAdmin",
        "roles/resourcemanager.projectIamAdmin",
        "roles/secretmanager.admin",
    ]))
    .await;
    let src = fixture_dir(&h);
    let run = deploy_source(&h, &src, &[]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(running_image(&h), pushed_image(&h));
    assert_eq!(h.count("run.projects.locations.builds.submit"), 1);
    // `check` of a config that builds: every build permission held, and
    // the build's own one is Cloud Build's.
    h.write_config("staging", &staging_service_with("source: ../src"));
    let check = h
        .run(&["check", "--env", "staging", "--output", "json"])
        .await;
    assert_eq!(check.code, 0, "{}", check.all());
    let plan: serde_json::Value = serde_json::from_str(&check.stdout).expect("JSON");
    let rows = plan["preflight"]["permissions"]
        .as_array()
        .expect("a table");
    let build = rows
        .iter()
        .find(|r| r["permission"] == "cloudbuild.builds.create")
        .unwrap_or_else(|| panic!("no cloudbuild.builds.create row: {rows:#?}"));
    assert_eq!(build["status"], "held");
    assert_eq!(build["required"], true);
    assert_eq!(build["role"], "roles/run.sourceDeveloper");
    assert!(
        rows.iter().all(|r| r["status"] == "held"
            && !r["permission"].as_str().unwrap().starts_with("run.builds.")),
        "{rows:#?}"
    );
}

/// Cloud Build not enabled in a new project: the build's refusal (403 with
/// ErrorInfo `SERVICE_DISABLED`) is reported as the API to enable, with the
/// command, not as a missing permission; nothing is rolled out.
#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_cloud_build_api_says_so_with_the_command_that_enables_it() {
    let h = Harness::start_staging(
        staging_world()
            .disabled_api("cloudbuild.googleapis.com")
            .build(),
    )
    .await;
    let src = fixture_dir(&h);
    let run = deploy_source(&h, &src, &[]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains(&format!(
        "API cloudbuild.googleapis.com is not enabled in project {PROJECT}"
    ));
    run.assert_stderr_contains(&format!(
        "gcloud services enable cloudbuild.googleapis.com --project {PROJECT}"
    ));
    assert!(!run.all().contains("lacks permission"), "{}", run.all());
    assert!(h.emulator.service(SERVICE).is_none());
}
