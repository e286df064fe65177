//! Unit tests of the permission rules over fixture live states: which
//! permissions are asked and needed, and what a missing one, a refused read
//! or an unanswered question becomes.

use std::collections::BTreeMap;

use google_cloud_iam_v1::model::Policy;

use super::*;
use crate::config::Environment;
use crate::plan::Options;
use crate::plan::Target;
use crate::plan::compute::on_fixture;
use crate::plan::fixtures::{IMAGE, PROJECT, SA, add_secret, env_from, policy, with_account};
use crate::plan::live::{LiveState, Needs};
use crate::plan::live::{SecretId, Validation, VersionRef};
use crate::plan::{Plan, SecretState};

const SECRETS: [&str; 2] = ["gemini-api-key", "sre-agent-encryption-key"];

/// Per-secret access, a project role and a service-account user: every kind
/// of grant.
fn env() -> Environment {
    env_from(&format!(
        "project: {PROJECT}
service:
  service_account: {SA}
  secrets:
    GOOGLE_API_KEY: gemini-api-key
    SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key
iam:
  project_roles: [roles/logging.logWriter]
  service_account_users: [serviceAccount:ci@acme-prod.iam.gserviceaccount.com]
"
    ))
}

fn deploy() -> Target {
    Target::deploy(IMAGE)
}

fn empty_policy() -> Policy {
    policy(b"e1", vec![])
}

fn project() -> PolicyResource {
    PolicyResource::Project {
        project: PROJECT.into(),
    }
}

fn account() -> PolicyResource {
    PolicyResource::ServiceAccount {
        project: PROJECT.into(),
        email: SA.into(),
    }
}

fn secret(s: &str) -> PolicyResource {
    PolicyResource::Secret {
        project: PROJECT.into(),
        secret: s.into(),
    }
}

/// Everything exists with empty policies, no service yet, and the caller
/// holds every permission asked.
fn live() -> LiveState {
    let env = env();
    let needs = Needs::of(&env, &deploy());
    let mut live = LiveState {
        project_policy: Some(empty_policy()),
        validation: Validation::Answered(crate::gcp::Validated::Accepted),
        ..with_account(SA, Some(empty_policy()))
    };
    for s in SECRETS {
        add_secret(&mut live, PROJECT, s, empty_policy());
    }
    for (r, perms) in to_ask(&env, &needs) {
        live.permissions.insert(r, Answer::Held(perms));
    }
    live
}

/// Take `perm` away from the caller on `r`.
fn without(live: &mut LiveState, r: &PolicyResource, perm: &str) {
    match live.permissions.get_mut(r) {
        Some(Answer::Held(held)) => held.retain(|p| p != perm),
        other => panic!("{r:?} was not asked: {other:?}"),
    }
}

fn plan(live: &LiveState) -> Plan {
    on_fixture(&env(), &Options::of(deploy()), live).plan
}

fn kinds(plan: &Plan) -> Vec<ProblemKind> {
    plan.preflight.problems.iter().map(|p| p.kind).collect()
}

#[test]
fn each_resource_is_asked_for_what_can_be_granted_on_it() {
    let env = env();
    let asked: BTreeMap<PolicyResource, Vec<String>> = to_ask(&env, &Needs::of(&env, &deploy()))
        .into_iter()
        .collect();
    assert!(asked[&project()].contains(&"resourcemanager.projects.setIamPolicy".to_string()));
    assert!(asked[&project()].contains(&"run.services.create".to_string()));
    assert!(asked[&account()].contains(&ACT_AS.to_string()));
    assert!(asked[&secret("gemini-api-key")].contains(&"secretmanager.versions.get".to_string()));
    let service = crate::plan::names::service_resource(&env);
    assert!(!asked[&service].contains(&"run.services.create".to_string()));
    // A grant alone does not touch the service: no run permission is asked.
    let grant: BTreeMap<PolicyResource, Vec<String>> =
        to_ask(&env, &Needs::of(&env, &Target::Grant))
            .into_iter()
            .collect();
    assert!(!grant.contains_key(&service));
    assert!(!grant[&account()].contains(&ACT_AS.to_string()));
}

#[test]
fn a_caller_holding_everything_gets_a_full_table_and_no_findings() {
    let plan = plan(&live());
    assert!(
        plan.preflight.problems.is_empty(),
        "{:?}",
        plan.preflight.problems
    );
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    let table = &plan.preflight.permissions;
    assert!(table.iter().all(|c| c.status == PermissionStatus::Held));
    let act_as = table.iter().find(|c| c.permission == ACT_AS).unwrap();
    assert_eq!(act_as.resource, account());
    assert!(act_as.required);
    assert_eq!(act_as.role, "roles/iam.serviceAccountUser");
    // A first deploy creates the service: asked of the project.
    assert!(
        table
            .iter()
            .any(|c| c.permission == "run.services.create" && c.resource == project())
    );
    // Each per-secret grant is required; the project and account grants are not.
    let set = |r: &PolicyResource| {
        table
            .iter()
            .find(|c| &c.resource == r && c.permission.ends_with("setIamPolicy"))
            .unwrap()
            .required
    };
    assert!(set(&secret("gemini-api-key")));
    assert!(!set(&project()));
    assert!(!set(&account()));
}

#[test]
fn missing_act_as_stops_the_run_naming_the_role_that_grants_it() {
    let mut live = live();
    without(&mut live, &account(), ACT_AS);
    let plan = plan(&live);
    assert_eq!(kinds(&plan), [ProblemKind::MissingPermission]);
    let p = &plan.preflight.problems[0];
    assert!(
        p.message.contains("`iam.serviceAccounts.actAs`"),
        "{}",
        p.message
    );
    assert!(p.message.contains(SA), "{}", p.message);
    assert!(
        p.message.contains("roles/iam.serviceAccountUser"),
        "{}",
        p.message
    );
    assert!(
        p.hint.contains(&format!(
            "gcloud iam service-accounts add-iam-policy-binding {SA} --project={PROJECT} --member=DEPLOYER --role=roles/iam.serviceAccountUser"
        )),
        "{}",
        p.hint
    );
}

#[test]
fn missing_secret_policy_permission_stops_the_run() {
    let mut live = live();
    without(
        &mut live,
        &secret("gemini-api-key"),
        "secretmanager.secrets.setIamPolicy",
    );
    let plan = plan(&live);
    assert_eq!(kinds(&plan), [ProblemKind::MissingPermission]);
    assert!(
        plan.preflight.problems[0]
            .message
            .contains("roles/secretmanager.admin")
    );
}

#[test]
fn missing_permission_for_an_optional_grant_is_a_warning_unless_strict() {
    let mut live = live();
    without(
        &mut live,
        &project(),
        "resourcemanager.projects.setIamPolicy",
    );
    let plan = plan(&live);
    assert!(
        plan.preflight.problems.is_empty(),
        "{:?}",
        plan.preflight.problems
    );
    let w: Vec<&Warning> = plan
        .warnings
        .iter()
        .filter(|w| w.kind == WarningKind::MissingPermission)
        .collect();
    assert_eq!(w.len(), 1, "{:?}", plan.warnings);
    assert!(
        w[0].message
            .contains("roles/resourcemanager.projectIamAdmin")
    );
    // The admin's command for the grant the run will be denied.
    assert!(
        w[0].message.contains(&format!(
            "gcloud projects add-iam-policy-binding {PROJECT} --member=serviceAccount:{SA} --role=roles/logging.logWriter"
        )),
        "{}",
        w[0].message
    );
    // The grant stays planned: the apply reports the denial.
    assert!(plan.iam.iter().any(|c| c.resource == project()));

    // `--strict-iam`, asked of `compute`: the same finding stops the run.
    let options = Options {
        strict_iam: true,
        ..Options::of(deploy())
    };
    let plan = on_fixture(&env(), &options, &live).plan;
    assert_eq!(kinds(&plan), [ProblemKind::MissingPermission]);
    assert!(plan.warnings.is_empty());
}

#[test]
fn an_unanswered_question_is_a_warning_not_a_failure() {
    let mut live = live();
    live.permissions.insert(
        account(),
        Answer::NotChecked("serviceAccounts.testIamPermissions PERMISSION_DENIED".into()),
    );
    let plan = plan(&live);
    assert!(
        plan.preflight.problems.is_empty(),
        "{:?}",
        plan.preflight.problems
    );
    assert!(
        plan.preflight
            .permissions
            .iter()
            .filter(|c| c.resource == account())
            .all(|c| c.status == PermissionStatus::Unknown)
    );
    assert_eq!(
        plan.warnings
            .iter()
            .filter(|w| w.kind == WarningKind::PermissionsNotChecked)
            .count(),
        1
    );
}

#[test]
fn a_refused_required_read_stops_the_run_and_says_what_it_could_not_check() {
    let mut live = live();
    live.permissions.insert(
        secret("gemini-api-key"),
        Answer::NotChecked("no answer".into()),
    );
    for (id, s) in live.secrets.iter_mut() {
        if id.secret == "gemini-api-key" {
            s.policy = None;
        }
    }
    live.refused.push(RefusedRead {
        operation: "secrets.getIamPolicy",
        resource: secret("gemini-api-key"),
        message: "Permission denied".into(),
    });
    let plan = plan(&live);
    assert!(
        kinds(&plan).contains(&ProblemKind::ReadRefused),
        "{:?}",
        plan.preflight.problems
    );
    let p = plan
        .preflight
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::ReadRefused)
        .unwrap();
    assert!(
        p.message.contains("can already read the secret"),
        "{}",
        p.message
    );
    // No grant is planned on a policy that could not be read.
    assert!(
        !plan
            .iam
            .iter()
            .any(|c| c.resource == secret("gemini-api-key"))
    );
}

#[test]
fn a_refused_read_of_a_secret_is_not_reported_as_a_missing_secret() {
    let mut live = live();
    let id = SecretId {
        project: PROJECT.into(),
        secret: "gemini-api-key".into(),
    };
    live.versions.insert(
        VersionRef {
            id,
            version: "latest".into(),
        },
        None,
    );
    live.refused.push(RefusedRead {
        operation: "secrets.versions.get",
        resource: secret("gemini-api-key"),
        message: "Permission denied".into(),
    });
    without(
        &mut live,
        &secret("gemini-api-key"),
        "secretmanager.versions.get",
    );
    let plan = plan(&live);
    // One finding: the missing permission (which covers the refused read).
    assert_eq!(kinds(&plan), [ProblemKind::MissingPermission]);
    let check = plan
        .preflight
        .secrets
        .iter()
        .find(|c| c.secret == "gemini-api-key")
        .unwrap();
    assert_eq!(check.state, SecretState::Unreadable);
}

#[test]
fn a_refused_optional_policy_read_drops_its_grant_with_a_warning() {
    let mut live = live();
    live.account.policy = None;
    live.refused.push(RefusedRead {
        operation: "serviceAccounts.getIamPolicy",
        resource: account(),
        message: "Permission denied".into(),
    });
    without(&mut live, &account(), "iam.serviceAccounts.getIamPolicy");
    let plan = plan(&live);
    assert!(
        plan.preflight.problems.is_empty(),
        "{:?}",
        plan.preflight.problems
    );
    assert!(!plan.iam.iter().any(|c| c.resource == account()));
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.message.contains("are not planned")
                && w.message
                    .contains("gcloud iam service-accounts add-iam-policy-binding")),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn fixtures_without_answers_have_no_table() {
    let mut live = live();
    live.permissions.clear();
    let plan = plan(&live);
    assert!(plan.preflight.permissions.is_empty());
    assert!(plan.warnings.is_empty());
}
