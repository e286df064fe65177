//! End-to-end: the deploying identity's own permissions, against an emulator
//! that authorises every request as the caller (`enforce_caller_permissions`)
//! and answers testIamPermissions with the truth.
//!
//! Pinned: a deployer without `iam.serviceAccounts.actAs` is told so (with
//! the role that grants it) by `check`, and `deploy` stops before writing
//! anything; a deployer with everything deploys; a deployer lacking only the
//! permission of an optional grant gets a warning and the deploy goes on
//! (unless `--strict-iam`); an unserved testIamPermissions is a warning.

use crate::harness::*;
use autosre_emulator::Fault;

const DEPLOYER: &str = "deployer@example.com";
const MEMBER: &str = "user:deployer@example.com";

/// The staging world, authorising requests as [`DEPLOYER`], who holds
/// `roles` on the project.
fn world(roles: &[&str]) -> World {
    let mut b = staging_world()
        .caller(DEPLOYER)
        .enforce_caller_permissions();
    for role in roles {
        b = b.project_binding(PROJECT, role, MEMBER);
    }
    b.build()
}

/// Every role a staging deploy needs: Cloud Run, acting as the runtime
/// account, the project, secret and account policies, and reading the
/// image's tag.
const EVERYTHING: [&str; 6] = [
    "roles/artifactregistry.reader",
    "roles/run.developer",
    "roles/iam.serviceAccountUser",
    "roles/iam.serviceAccountAdmin",
    "roles/resourcemanager.projectIamAdmin",
    "roles/secretmanager.admin",
];

/// [`EVERYTHING`] but `removed`, and with `added`.
fn everything_but(removed: &str, added: &[&'static str]) -> Vec<&'static str> {
    EVERYTHING
        .into_iter()
        .filter(|r| *r != removed)
        .chain(added.iter().copied())
        .collect()
}

/// A deployer who reads the project policy (roles/viewer) and holds nothing
/// that sets it: the project grants are optional, and denied.
fn without_project_iam_admin() -> Vec<&'static str> {
    everything_but("roles/resourcemanager.projectIamAdmin", &["roles/viewer"])
}

async fn staging(roles: &[&str]) -> Harness {
    let h = Harness::start(world(roles)).await;
    h.write_config("staging", &repo_config("staging"));
    h
}

#[tokio::test(flavor = "multi_thread")]
async fn without_act_as_check_names_it_and_deploy_writes_nothing() {
    let h = staging(&everything_but("roles/iam.serviceAccountUser", &[])).await;

    let check = h.run(&["check", "--env", "staging"]).await;
    check.assert_code(1);
    // The table names the permission, its resource and that it is missing...
    let row = check
        .stdout
        .lines()
        .find(|l| l.contains("iam.serviceAccounts.actAs") && l.contains("MISSING"))
        .unwrap_or_else(|| panic!("no missing actAs row:\n{}", check.stdout));
    assert!(row.contains(SA), "{row}");
    // ...and the problem names the role that grants it, with the command.
    check.assert_all_contains(&format!(
            "gcloud iam service-accounts add-iam-policy-binding {SA} --project={PROJECT} --member=DEPLOYER --role=roles/iam.serviceAccountUser"
        ));
    assert!(h.writes().is_empty(), "{:#?}", h.writes());

    let json = h
        .run(&["check", "--env", "staging", "--output", "json"])
        .await;
    let plan: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON on stdout");
    let act_as = plan["preflight"]["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["permission"] == "iam.serviceAccounts.actAs")
        .expect("an actAs row");
    assert_eq!(act_as["status"], "missing");
    assert_eq!(act_as["required"], true);
    assert_eq!(act_as["role"], "roles/iam.serviceAccountUser");
    assert_eq!(act_as["resource"]["email"], SA);

    let deploy = h.run(&["deploy", "--env", "staging"]).await;
    deploy.assert_code(1);
    deploy.assert_all_contains("iam.serviceAccounts.actAs");
    deploy.assert_all_contains("roles/iam.serviceAccountUser");
    // Nothing written: not a grant, not the service.
    assert!(h.writes().is_empty(), "{:#?}", h.writes());
    assert!(h.emulator.service(SERVICE).is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deployer_with_every_permission_deploys() {
    let h = staging(&EVERYTHING).await;
    let check = h.run(&["check", "--env", "staging"]).await;
    check.assert_code(0);
    assert!(!check.stdout.contains("MISSING"), "{}", check.stdout);
    check.assert_stdout_contains("Permissions of the deploying identity:");

    let deploy = h.run(&["deploy", "--env", "staging"]).await;
    deploy.assert_code(0);
    assert!(h.emulator.service(SERVICE).is_some());
    // The permission questions were asked, and asked in the read phases.
    assert!(
        h.journal()
            .iter()
            .any(|e| e.rpc.ends_with("serviceAccounts.testIamPermissions")),
        "actAs is asked of the runtime account"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lacking_only_an_optional_grant_permission_warns_and_deploys() {
    let h = staging(&without_project_iam_admin()).await;

    let deploy = h.run(&["deploy", "--env", "staging"]).await;
    deploy.assert_code(0);
    deploy.assert_stderr_contains("lacks permissions on project acme-sre-staging");
    deploy.assert_stderr_contains(&format!(
            "gcloud projects add-iam-policy-binding {PROJECT} --member=serviceAccount:{SA} --role=roles/cloudtrace.agent"
        ));
    assert!(
        h.emulator.service(SERVICE).is_some(),
        "the service rolled out"
    );
    // The project grant was tried, denied, and the project policy unchanged.
    let project_writes: Vec<u16> = h
        .writes()
        .iter()
        .filter(|e| e.rpc == "cloudresourcemanager.projects.setIamPolicy")
        .map(|e| e.status)
        .collect();
    assert_eq!(project_writes, [403]);
    let policy = h.policy(&format!("projects/{PROJECT}"));
    assert!(
        !policy
            .bindings
            .iter()
            .any(|b| b.role == "roles/cloudtrace.agent"),
        "{policy:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn strict_iam_turns_the_optional_permission_into_a_stop() {
    let h = staging(&without_project_iam_admin()).await;
    let deploy = h.run(&["deploy", "--env", "staging", "--strict-iam"]).await;
    deploy.assert_code(1);
    deploy.assert_all_contains("resourcemanager.projects.setIamPolicy");
    assert!(h.writes().is_empty(), "{:#?}", h.writes());
}

/// `plan --strict-iam` previews what `deploy --strict-iam` refuses: the
/// same finding, as a problem (exit 1) instead of a warning, and nothing
/// written either way.
#[tokio::test(flavor = "multi_thread")]
async fn plan_strict_iam_previews_what_deploy_strict_iam_refuses() {
    let h = staging(&without_project_iam_admin()).await;
    let kinds = |run: &Run, field: &str| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON plan");
        v[field]
            .as_array()
            .into_iter()
            .flatten()
            .chain(v["preflight"][field].as_array().into_iter().flatten())
            .filter_map(|p| p["kind"].as_str().map(String::from))
            .collect()
    };
    let plain = h
        .run(&["plan", "--env", "staging", "--output", "json"])
        .await;
    plain.assert_code(0);
    assert!(kinds(&plain, "warnings").contains(&"missing_permission".to_string()));
    assert!(!kinds(&plain, "problems").contains(&"missing_permission".to_string()));

    let strict = h
        .run(&[
            "plan",
            "--env",
            "staging",
            "--strict-iam",
            "--output",
            "json",
        ])
        .await;
    strict.assert_code(1);
    assert_eq!(kinds(&strict, "problems"), ["missing_permission"]);
    assert!(!kinds(&strict, "warnings").contains(&"missing_permission".to_string()));
    strict.assert_all_contains("resourcemanager.projects.setIamPolicy");

    // The deploy refuses on the same problem.
    let deploy = h.run(&["deploy", "--env", "staging", "--strict-iam"]).await;
    deploy.assert_code(1);
    deploy.assert_all_contains("resourcemanager.projects.setIamPolicy");
    assert!(h.writes().is_empty(), "{:#?}", h.writes());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unserved_permission_question_is_a_warning() {
    let h = staging(&EVERYTHING).await;
    h.emulator
        .inject_fault(Fault::status(Some("POST"), ":testIamPermissions", 501, 100));
    let check = h.run(&["check", "--env", "staging"]).await;
    check.assert_code(0);
    check.assert_all_contains("could not check the deploying identity's permissions");
    check.assert_stdout_contains("not checked");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_secret_policy_read_is_reported_not_a_crash() {
    // Everything but reading and writing secret policies: a custom role reads the
    // secrets and their versions, nothing grants secrets.getIamPolicy.
    let mut b = staging_world()
        .caller(DEPLOYER)
        .enforce_caller_permissions()
        .custom_role(
            PROJECT,
            "secretreader",
            &["secretmanager.secrets.get", "secretmanager.versions.get"],
        )
        .project_binding(
            PROJECT,
            "projects/acme-sre-staging/roles/secretreader",
            MEMBER,
        );
    for role in everything_but("roles/secretmanager.admin", &[]) {
        b = b.project_binding(PROJECT, role, MEMBER);
    }
    let h = Harness::start(b.build()).await;
    h.write_config("staging", &repo_config("staging"));
    let check = h.run(&["check", "--env", "staging"]).await;
    check.assert_code(1);
    check.assert_all_contains("secretmanager.secrets.getIamPolicy");
    check.assert_all_contains("roles/secretmanager.admin");
    assert!(h.writes().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn grant_stops_before_writing_when_secret_grants_would_be_denied() {
    // Reads every secret policy (roles/secretmanager.viewer) but may not
    // change one: the runtime account's secret access cannot be granted.
    let h = staging(&everything_but(
        "roles/secretmanager.admin",
        &["roles/secretmanager.viewer"],
    ))
    .await;
    let grant = h.run(&["grant", "--env", "staging"]).await;
    grant.assert_code(1);
    grant.assert_all_contains("secretmanager.secrets.setIamPolicy");
    grant.assert_all_contains("roles/secretmanager.admin");
    assert!(h.writes().is_empty(), "{:#?}", h.writes());
}

/// Public access (`allow_unauthenticated: true`, Cloud Run's
/// `invokerIamDisabled`) needs `run.services.setIamPolicy` besides create
/// or update (cloud.google.com/run/docs/authenticating/public):
/// roles/run.developer is not enough. The preflight says so before
/// anything is written; with roles/run.admin the same deploy goes through,
/// and making the service private again needs it as much.
#[tokio::test(flavor = "multi_thread")]
async fn public_access_needs_set_iam_policy_and_the_preflight_asks_for_it() {
    let public = repo_config("staging").replace(
        "allow_unauthenticated: false",
        "allow_unauthenticated: true",
    );
    let h = staging(&EVERYTHING).await;
    h.write_config("staging", &public);
    let check = h.run(&["check", "--env", "staging"]).await;
    check.assert_code(1);
    let row = check
        .stdout
        .lines()
        .find(|l| l.contains("run.services.setIamPolicy") && l.contains("MISSING"))
        .unwrap_or_else(|| panic!("no missing setIamPolicy row:\n{}", check.stdout));
    assert!(row.contains(PROJECT), "{row}");
    check.assert_all_contains("--role=roles/run.admin");
    let deploy = h.run(&["deploy", "--env", "staging"]).await;
    deploy.assert_code(1);
    deploy.assert_all_contains("run.services.setIamPolicy");
    assert!(h.writes().is_empty(), "{:#?}", h.writes());
    assert!(h.emulator.service(SERVICE).is_none());

    let admin = everything_but("roles/run.developer", &["roles/run.admin"]);
    let h = staging(&admin).await;
    h.write_config("staging", &public);
    h.run(&["deploy", "--env", "staging"]).await.assert_code(0);
    let service = h.emulator.service(SERVICE).expect("deployed");
    assert_eq!(service["invokerIamDisabled"], true, "{service}");

    // Private again, by a deployer who may update but not set the policy.
    h.emulator.with_state(|st| {
        st.add_binding(
            &format!("projects/{PROJECT}"),
            "roles/run.developer",
            MEMBER,
        );
        st.remove_binding(&format!("projects/{PROJECT}"), "roles/run.admin", MEMBER);
    });
    let writes = h.writes().len();
    h.write_config("staging", &repo_config("staging"));
    let private = h.run(&["deploy", "--env", "staging"]).await;
    private.assert_code(1);
    private.assert_all_contains("run.services.setIamPolicy");
    assert_eq!(h.writes().len(), writes, "{:#?}", h.writes());
}

/// A read in the preflight refused because the API is not enabled (403
/// with ErrorInfo `SERVICE_DISABLED`) says so, with the command that
/// enables it: never a missing permission or a refused read, which no
/// role would fix. Decided on the ErrorInfo, not on Google's words.
#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_api_in_the_preflight_says_which_and_how_to_enable_it() {
    let mut b = staging_world()
        .caller(DEPLOYER)
        .enforce_caller_permissions()
        .disabled_api("secretmanager.googleapis.com");
    for role in EVERYTHING {
        b = b.project_binding(PROJECT, role, MEMBER);
    }
    let h = Harness::start(b.build()).await;
    h.write_config("staging", &repo_config("staging"));
    for command in ["check", "deploy"] {
        let run = h.run(&[command, "--env", "staging"]).await;
        run.assert_code(1);
        run.assert_all_contains(&format!(
            "API secretmanager.googleapis.com is not enabled in project {PROJECT}"
        ));
        run.assert_all_contains(&format!(
            "gcloud services enable secretmanager.googleapis.com --project {PROJECT}"
        ));
        for wrong in ["lacks permission", "permission denied", "Google refused"] {
            assert!(!run.all().contains(wrong), "{command}: {}", run.all());
        }
    }
    assert!(h.writes().is_empty(), "{:#?}", h.writes());
}
