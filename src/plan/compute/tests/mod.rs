//! Unit tests of `compute` over fixture live states: no process, no emulator.
//! Each builds the `LiveState` a scenario reads and checks the plan's
//! decisions, the way cargo-dist tests its `gather_work`.

use google_cloud_iam_v1::model::Binding;
use google_cloud_run_v2::model::{Container, EnvVar, RevisionTemplate};
use google_cloud_secretmanager_v1::model::secret_version::State as VersionState;
use google_cloud_type::model::Expr;

use google_cloud_run_v2::model::Service;

use super::desired::desired_view;
use super::iam::{ALL_USERS, RUN_INVOKER, SECRET_ACCESSOR};
use super::*;
use crate::gcp::iam::{Grant, PolicyResource};
use crate::plan::fixtures::{
    IMAGE, PROJECT, SA, add_secret, env_from, policy, version, with_account,
};
use crate::plan::live::{SecretId, VersionRef};
use crate::plan::names::service_name;
use crate::plan::service::{EnvValue, ServiceView};
use crate::plan::{Options, Pins, SecretState, Target, WarningKind, pins_of};

fn env() -> Environment {
    env_from(&format!(
        "project: {PROJECT}
service:
  service_account: {SA}
  env:
    LOG_LEVEL: INFO
  secrets:
    GOOGLE_API_KEY: gemini-api-key
    SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key
"
    ))
}

fn deploy() -> Target {
    Target::deploy(IMAGE)
}

/// What `compute` makes for `target` against `live`, the service part
/// decided from the same state (as `plan::plan` decides it from the first
/// read phase).
fn computed(env: &Environment, target: &Target, live: &LiveState) -> Computed {
    on_fixture(env, &Options::of(target.clone()), live)
}

/// The view of the service `compute` would send for [`deploy`].
fn sent_view(env: &Environment, live: &LiveState) -> ServiceView {
    let to_send = computed(env, &deploy(), live)
        .to_send
        .expect("a service to send");
    service::view_of(to_send.service(), &[PROJECT])
}

/// The plan alone.
fn compute(env: &Environment, target: &Target, live: &LiveState) -> Plan {
    computed(env, target, live).plan
}

/// The versions a plan deploys in place of `latest` and aliases.
fn pins(plan: &Plan) -> Pins {
    pins_of(&plan.preflight.secrets)
}

/// The state every secret of [`env`] exists in, enabled, with empty policies;
/// the account exists; no service yet.
fn live() -> LiveState {
    let mut live = LiveState {
        validation: Validation::Answered(Validated::Accepted),
        ..with_account(SA, None)
    };
    for s in ["gemini-api-key", "sre-agent-encryption-key"] {
        add_secret(&mut live, PROJECT, s, policy(b"e1", vec![]));
    }
    live
}

fn key_ref() -> VersionRef {
    VersionRef {
        id: SecretId {
            project: PROJECT.into(),
            secret: "sre-agent-encryption-key".into(),
        },
        version: "latest".into(),
    }
}

/// The live service as a previous deploy of `env` left it (against
/// [`live`], so with its pins).
fn deployed(env: &Environment) -> Service {
    let pins = pins(&compute(env, &deploy(), &live()));
    let view = desired_view(env, IMAGE, SA, &pins);
    let mut s = service::apply_view(None, &service_name(env), &view);
    s.etag = "\"s1\"".into();
    s.generation = 1;
    s
}

#[test]
fn a_first_deploy_creates_the_service_and_requires_secret_access() {
    let plan = compute(&env(), &deploy(), &live());
    assert!(
        plan.preflight.problems.is_empty(),
        "{:?}",
        plan.preflight.problems
    );
    let service = plan.service.as_ref().unwrap();
    assert_eq!(service.action, ServiceAction::Create);
    // One accessor grant per secret, each required.
    assert_eq!(plan.iam.len(), 2);
    assert!(
        plan.iam.iter().all(|c| c.required
            && c.add == [Grant::new(SECRET_ACCESSOR, format!("serviceAccount:{SA}"))])
    );
    // One per `+` line the plan shows: two grants and each field of the
    // new service.
    assert_eq!(plan.changes.add, 2 + service.fields.len());
    assert!(service.fields.iter().all(|f| f.op == service::Op::Add));
}

#[test]
fn a_redeploy_of_the_same_thing_changes_nothing() {
    let env = env();
    let mut live = live();
    let member = format!("serviceAccount:{SA}");
    for s in live.secrets.values_mut() {
        s.policy = Some(policy(
            b"e2",
            vec![
                Binding::new()
                    .set_role(SECRET_ACCESSOR)
                    .set_members([&member]),
            ],
        ));
    }
    live.service = Some(deployed(&env));
    live.validation = Validation::NotAsked;
    let plan = compute(&env, &deploy(), &live);
    assert_eq!(plan.service.as_ref().unwrap().action, ServiceAction::None);
    assert!(plan.iam.is_empty());
    assert!(!plan.changes.any());
    // And nothing would be sent to Cloud Run for validation.
    assert!(computed(&env, &deploy(), &live).to_send.is_none());
}

#[test]
fn a_conditional_accessor_binding_does_not_count_as_granted() {
    let mut live = live();
    let member = format!("serviceAccount:{SA}");
    for s in live.secrets.values_mut() {
        s.policy = Some(policy(
            b"e3",
            vec![
                Binding::new()
                    .set_role(SECRET_ACCESSOR)
                    .set_members([&member])
                    .set_condition(
                        Expr::new()
                            .set_expression("request.time < timestamp('2000-01-01T00:00:00Z')"),
                    ),
            ],
        ));
    }
    let plan = compute(&env(), &deploy(), &live);
    assert_eq!(plan.iam.len(), 2);
}

#[test]
fn a_missing_key_secret_is_a_problem_of_its_kind() {
    let mut live = live();
    live.secrets.get_mut(&key_ref().id).unwrap().exists = false;
    live.versions.insert(key_ref(), None);
    let plan = compute(&env(), &deploy(), &live);
    let kinds: Vec<_> = plan.preflight.problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [ProblemKind::SecretNotFound]);
    assert!(
        plan.preflight.problems[0]
            .message
            .contains("encryption key")
    );
    // No grant is planned on a secret that does not exist.
    assert_eq!(plan.iam.len(), 1);
}

#[test]
fn a_disabled_latest_version_is_not_enabled() {
    let mut live = live();
    live.versions.insert(
        key_ref(),
        Some(version(
            "sre-agent-encryption-key",
            4,
            VersionState::Disabled,
        )),
    );
    let plan = compute(&env(), &deploy(), &live);
    assert_eq!(
        plan.preflight.encryption_key.state,
        Some(SecretState::Disabled)
    );
    let p = &plan.preflight.problems[0];
    assert_eq!(p.kind, ProblemKind::VersionNotEnabled);
    assert!(p.message.contains("resolves to version 4"), "{}", p.message);
}

#[test]
fn an_unwired_key_is_the_first_problem() {
    let env = env_from(&format!(
        "project: {PROJECT}
service:
  service_account: {SA}
  secrets:
    GOOGLE_API_KEY: gemini-api-key
"
    ));
    let plan = compute(&env, &deploy(), &live());
    assert_eq!(plan.preflight.problems[0].kind, ProblemKind::KeyNotWired);
    assert!(!plan.preflight.encryption_key.wired);
}

#[test]
fn a_missing_account_is_a_problem_and_gets_no_grants_on_itself() {
    let env = env_from(&format!(
        "project: {PROJECT}
service:
  service_account: {SA}
  secrets:
    SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key
iam:
  service_account_users: [user:alice@example.com]
"
    ));
    let mut live = live();
    live.account.exists = false;
    let plan = compute(&env, &deploy(), &live);
    let p = plan.preflight.problems.last().unwrap();
    assert_eq!(p.kind, ProblemKind::ServiceAccountMissing);
    assert!(
        p.hint.contains("gcloud iam service-accounts create run"),
        "{}",
        p.hint
    );
    assert!(
        plan.iam
            .iter()
            .all(|c| !matches!(c.resource, PolicyResource::ServiceAccount { .. }))
    );
}

#[test]
fn cloud_runs_refusal_is_a_problem() {
    let mut live = live();
    live.validation = Validation::Answered(Validated::Refused("memory too small".into()));
    let plan = compute(&env(), &deploy(), &live);
    assert_eq!(
        plan.preflight.problems.last().map(|p| p.kind),
        Some(ProblemKind::ServiceRejected)
    );
}

#[test]
fn a_public_binding_is_removed_when_the_service_is_private() {
    let env = env();
    let mut live = live();
    live.service = Some(deployed(&env));
    live.service_policy = Some(policy(
        b"e4",
        vec![
            Binding::new()
                .set_role(RUN_INVOKER)
                .set_members([ALL_USERS, "user:bob@example.com"]),
        ],
    ));
    let plan = compute(&env, &deploy(), &live);
    let change = plan
        .iam
        .iter()
        .find(|c| matches!(c.resource, PolicyResource::Service { .. }))
        .unwrap();
    assert_eq!(change.remove, [Grant::new(RUN_INVOKER, ALL_USERS)]);
    assert!(change.add.is_empty() && !change.required);
    assert_eq!(change.etag.as_deref(), Some("ZTQ="));
}

#[test]
fn the_default_account_is_derived_from_the_project_number() {
    let env = env_from(&format!(
        "project: {PROJECT}
service:
  secrets:
    SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key
"
    ));
    let needs = Needs::of(&env, &deploy());
    assert!(needs.number && !needs.account_policy && !needs.project_policy());
}

mod pinning;
mod redaction;
mod validation;

/// `secret_access: project` with a secret in another project: a grant on
/// this project would never reach it, so access is granted on the secret.
#[test]
fn project_wide_access_grants_a_foreign_secret_on_the_secret_itself() {
    let env = env_from(&format!(
        "project: {PROJECT}
service:
  service_account: {SA}
  secrets:
    GOOGLE_API_KEY: projects/acme-shared/secrets/gemini-api-key
    SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key
iam:
  secret_access: project
"
    ));
    let needs = Needs::of(&env, &deploy());
    let foreign = SecretId {
        project: "acme-shared".into(),
        secret: "gemini-api-key".into(),
    };
    let own = SecretId {
        project: PROJECT.into(),
        secret: "sre-agent-encryption-key".into(),
    };
    assert!(needs.grant_on_secret(&foreign));
    assert!(!needs.grant_on_secret(&own));
    assert!(needs.project_secret_access());

    let mut live = live();
    live.secrets.remove(&SecretId {
        project: PROJECT.into(),
        secret: "gemini-api-key".into(),
    });
    add_secret(
        &mut live,
        &foreign.project,
        &foreign.secret,
        policy(b"f1", vec![]),
    );
    live.project_policy = Some(policy(b"p1", vec![]));
    let plan = compute(&env, &deploy(), &live);
    let on: Vec<_> = plan
        .iam
        .iter()
        .map(|c| (c.resource.clone(), c.required))
        .collect();
    assert!(on.contains(&(foreign.resource(), true)), "{on:?}");
    assert!(
        on.contains(&(
            PolicyResource::Project {
                project: PROJECT.into()
            },
            true
        )),
        "{on:?}"
    );
    assert!(!on.contains(&(own.resource(), true)), "{on:?}");
}
