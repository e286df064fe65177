//! Compute the plan from the config and live state: pure, no I/O.
//!
//! Everything a deploy decides is decided here, from a [`LiveState`] value,
//! so each rule is a unit test over a fixture (see `compute/tests/`) rather
//! than a process against an emulator.

mod desired;
mod iam;
mod source;

use super::live::{LiveState, Needs, Validation};
use super::service;
use super::{
    AccountCheck, Changes, Options, Plan, Preflight, Problem, ProblemKind, SCHEMA_VERSION,
    ServiceAction, Warning, WarningKind,
};
use super::{permissions, preflight};
use crate::config::Environment;
use crate::gcp::Validated;
pub(crate) use desired::{Desired, ToSend, desired};

/// What `compute` produces: the plan (redacted, serialisable: what is shown
/// and saved) and, beside it, the exact service a deploy sends (never
/// serialised). Nothing else builds either.
#[derive(Debug)]
pub(crate) struct Computed {
    pub(crate) plan: Plan,
    pub(crate) to_send: Option<ToSend>,
}

/// The plan for `env` against `live`, for what the run asks (`options`).
/// `desired` is the service part, decided from the first read phase (see
/// [`desired()`]): it is what Cloud Run validated, so it is taken as is.
pub(crate) fn compute(
    env: &Environment,
    options: &Options,
    live: &LiveState,
    desired: Option<Desired>,
) -> Computed {
    let target = &options.target;
    let needs = Needs::of(env, target);
    let account = &live.account;
    let email = account.email.clone();

    let secrets = preflight::secret_checks(&needs, live, env.service.pin_secret_versions);
    let mut problems: Vec<Problem> = secrets
        .iter()
        .filter_map(|c| preflight::secret_problem(c, env))
        .collect();
    let mut encryption_key = preflight::key_check(env, &secrets);
    if !encryption_key.wired {
        problems.insert(0, preflight::wiring_problem(env));
    }
    let (key_format, key_problem, key_warning) = super::key::assess(env, &live.key_payload);
    encryption_key.format = key_format;
    problems.extend(key_problem);
    if !account.exists {
        problems.push(preflight::account_problem(env, account));
    }
    let mut iam = iam::iam_changes(env, target, &needs, live);
    let mut warnings: Vec<Warning> = key_warning.into_iter().collect();
    warnings.extend(preflight::unpinned_key(env, &secrets));
    warnings.extend(build_account_warning(env, live));
    // The account's absence is the problem; anything Cloud Run says about a
    // service running as a missing account follows from it.
    if account.exists {
        let grants_secret_access = iam.iter().any(|c| c.required);
        // Before a source build the image does not exist yet: the service
        // is validated again with the built digest.
        let awaits_build = needs.build && target.image().is_some_and(|i| !i.contains('@'));
        match validation_verdict(env, &live.validation, grants_secret_access, awaits_build) {
            Some(Verdict::Problem(p)) => problems.push(p),
            Some(Verdict::Warning(w)) => warnings.push(w),
            None => {}
        }
    }
    let (service, to_send) = match desired {
        Some(d) => {
            problems.extend(d.problem);
            warnings.extend(d.warning);
            (Some(d.change), d.to_send)
        }
        None => (None, None),
    };
    if let Some(change) = &service {
        warnings.extend(preflight::plain_credentials_in_live_service(env, live));
        if change.action == ServiceAction::Update
            && let Some(live_service) = &live.service
        {
            let dropped = service::system_keys(live_service);
            if !dropped.is_empty() {
                warnings.push(Warning {
                    kind: WarningKind::SystemKeysDropped,
                    message: format!(
                        "the update drops system annotations and labels Cloud Run API v2 refuses in a request (set by an earlier gcloud deploy): {}",
                        dropped.join(", ")
                    ),
                });
            }
        }
    }
    // The deploying identity's own permissions, and the reads it was refused.
    let permissions = permissions::assess(
        env,
        target,
        &needs,
        live,
        &mut iam,
        service.as_ref().map(|s| s.action),
    );
    problems.extend(permissions.problems);
    warnings.extend(permissions.warnings);
    // The image's tag: missing or unreadable stops the deploy; a registry
    // the tool cannot ask is a warning (see `image.rs`).
    let (image_problem, image_warning) =
        super::image::findings(env, target, live, needs.build, &permissions.checks);
    problems.extend(image_problem);
    warnings.extend(image_warning);
    warnings.extend(set_env_notes(env, &options.set_env));
    if options.iap_left_to_deploy {
        warnings.extend(iap_note(env));
    }
    if options.strict_iam {
        permissions::strict(&mut problems, &mut warnings);
    }
    let source = options
        .source
        .as_ref()
        .map(|s| source::source_plan(env, s, live));
    let changes = Changes::of(&iam, service.as_ref(), source.as_ref());
    let plan = Plan {
        schema_version: SCHEMA_VERSION,
        environment: env.name.clone(),
        project: env.project.to_string(),
        project_number: live.project_number.clone(),
        region: env.region.to_string(),
        runtime_service_account: email.clone(),
        preflight: Preflight {
            secrets,
            service_account: AccountCheck {
                email,
                default: account.default,
                exists: account.exists,
            },
            encryption_key,
            permissions: permissions.checks,
            problems,
        },
        iam,
        service,
        image: super::image::resolution(target, live, needs.build),
        source,
        warnings,
        changes,
    };
    Computed { plan, to_send }
}

/// The whole computation on one live state, the service part decided from
/// it too (as `plan::plan` decides it from the first read phase): what unit
/// tests run over fixtures.
#[cfg(test)]
pub(crate) fn on_fixture(env: &Environment, options: &Options, live: &LiveState) -> Computed {
    let desired = desired(env, &options.target, live, &live.account.email);
    compute(env, options, live, desired)
}

/// Which env vars `--set-env` set: the deploy departs from the config file
/// there.
fn set_env_notes<'a>(
    env: &'a Environment,
    names: &'a [String],
) -> impl Iterator<Item = Warning> + 'a {
    names.iter().map(move |name| Warning {
        kind: WarningKind::SetEnv,
        message: format!(
            "env `{name}` comes from --set-env, not from {}",
            env.source.display()
        ),
    })
}

/// `iap:` is configured but `grant` does not apply it: the members are
/// granted on the service's IAP resource, which exists only with the service
/// (and with `iapEnabled`), and IAP's agent is granted the invoker role on
/// the service itself. Said in the plan (and the JSON), never silently left out.
fn iap_note(env: &Environment) -> Option<Warning> {
    let iap = env.iap.as_ref()?;
    Some(Warning {
        kind: WarningKind::IapLeftToDeploy,
        message: format!(
            "`iap:` ({} member{}) is not applied by `grant`: IAP's grants are on the service, so `autosre-deploy deploy --env {}` applies them",
            iap.members.len(),
            if iap.members.len() == 1 { "" } else { "s" },
            env.name
        ),
    })
}

enum Verdict {
    Problem(Problem),
    Warning(Warning),
}

/// What Cloud Run's answer to validateOnly means for the plan. Its behaviour
/// is not documented for every case, so each answer is judged on its shape:
/// a refused request is a problem; a rollout-time check that fails (the
/// operation's error) is no problem when it is about what this plan grants
/// before it rolls out (secret access, FAILED_PRECONDITION); an answer that
/// is no verdict (404, 403, an operation that did not finish) is a warning
/// that Cloud Run did not validate the service.
fn validation_verdict(
    env: &Environment,
    validation: &Validation,
    grants_secret_access: bool,
    awaits_build: bool,
) -> Option<Verdict> {
    /// `google.rpc.Code.FAILED_PRECONDITION`.
    const FAILED_PRECONDITION: i32 = 9;
    /// `google.rpc.Code.NOT_FOUND`.
    const NOT_FOUND: i32 = 5;
    let Validation::Answered(answer) = validation else {
        return None;
    };
    let rejected = |reason: &str| {
        Verdict::Problem(Problem {
            kind: ProblemKind::ServiceRejected,
            message: format!("Cloud Run rejects the service: {reason}"),
            hint: format!("fix the `service` section of {}", env.source.display()),
        })
    };
    // Whether Cloud Run's validation resolves the image is not documented:
    // before a source build, "not found" (404, or an operation ending
    // NOT_FOUND) is about the image the build has yet to push, and blocks
    // nothing.
    let awaiting = || {
        Some(Verdict::Warning(Warning {
            kind: WarningKind::ValidationAwaitsBuild,
            message: "Cloud Run's validation did not find the image, which the build is to make; the service is validated again with the built digest before the rollout".into(),
        }))
    };
    match answer {
        Validated::Accepted => None,
        Validated::NotFound(_) | Validated::RolloutCheckFailed { code: NOT_FOUND, .. }
            if awaits_build =>
        {
            awaiting()
        }
        Validated::Refused(reason) => Some(rejected(reason)),
        Validated::RolloutCheckFailed { code, message: _ }
            if *code == FAILED_PRECONDITION && grants_secret_access =>
        {
            Some(Verdict::Warning(Warning {
                kind: WarningKind::ValidationAwaitsGrants,
                message: "Cloud Run's validation reports a failed precondition, as expected before the secret grants this plan makes; the rollout comes after them".into(),
            }))
        }
        Validated::RolloutCheckFailed { message, .. } => Some(rejected(message)),
        Validated::NoVerdict(why) | Validated::NotFound(why) => Some(Verdict::Warning(Warning {
            kind: WarningKind::NotValidatedByCloudRun,
            message: format!("Cloud Run did not validate the service ({why}); the rollout will tell"),
        })),
    }
}

/// A warning when the account a build runs as holds no role with the build
/// permissions in the project policy the plan read (bindings on the project
/// only: a grant elsewhere, such as on the bucket, is not seen), or when
/// Cloud Build has no default account to build with.
fn build_account_warning(env: &Environment, live: &LiveState) -> Option<Warning> {
    use super::live::BuildAccount;
    use super::permissions::tables::{
        BUILD_ACCOUNT_PERMISSIONS, roles_holding_build_account_permissions,
    };
    let grant = |email: &str| {
        format!(
            "`gcloud projects add-iam-policy-binding {} --member=serviceAccount:{email} --role=roles/run.builder`",
            env.project
        )
    };
    let email = match live.build_account.as_ref()? {
        BuildAccount::NoDefault => {
            return Some(Warning {
                kind: WarningKind::BuildAccountWithoutBuildRole,
                message: "Cloud Build has no default build account in this project; set `build.service_account` to an account that may build".into(),
            });
        }
        a => a.email()?,
    };
    let policy = live.project_policy.as_ref()?;
    let member = format!("serviceAccount:{email}");
    let roles = roles_holding_build_account_permissions();
    let holds = policy
        .bindings
        .iter()
        .any(|b| roles.contains(&b.role.as_str()) && b.members.contains(&member));
    (!holds).then(|| Warning {
        kind: WarningKind::BuildAccountWithoutBuildRole,
        message: format!(
            "the build runs as {email}, which holds none of {} on project {} (they give {}); the build may fail: {}",
            roles.join(", "),
            env.project,
            BUILD_ACCOUNT_PERMISSIONS.join(", "),
            grant(email)
        ),
    })
}

#[cfg(test)]
mod tests;
