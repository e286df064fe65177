//! Compute the plan from the config and live state: pure, no I/O.
//!
//! Everything a deploy decides is decided here, from a [`LiveState`] value,
//! so each rule is a unit test over a fixture (see `compute_tests.rs`) rather
//! than a process against an emulator.

use std::collections::BTreeMap;

use google_cloud_iam_v1::model::Policy;
use google_cloud_run_v2::model::Service;

use super::live::{LiveState, Needs, Validation};
use super::service::{self, EnvValue, ServiceView};
use super::{
    AccountCheck, Changes, IamChange, Pins, Plan, Preflight, Problem, ProblemKind, SCHEMA_VERSION,
    ServiceAction, ServiceChange, Target, Warning, WarningKind,
};
use super::{permissions, preflight, traffic};
use crate::config::Environment;
use crate::gcp::Validated;
use crate::gcp::iam::{self, Grant, PolicyResource};

pub(crate) const SECRET_ACCESSOR: &str = "roles/secretmanager.secretAccessor";
pub(crate) const SERVICE_ACCOUNT_USER: &str = "roles/iam.serviceAccountUser";
pub(crate) const RUN_INVOKER: &str = "roles/run.invoker";
pub(crate) const ALL_USERS: &str = "allUsers";
/// What IAP's members are granted on the service's IAP resource.
pub(crate) const IAP_ACCESSOR: &str = "roles/iap.httpsResourceAccessor";

/// IAP's service agent, which must be able to invoke the service
/// (what gcloud's `--iap` grants: gcloud's `command_lib/run/serverless_operations.py`;
/// <https://cloud.google.com/run/docs/securing/identity-aware-proxy-cloud-run>).
pub(crate) fn iap_agent(project_number: &str) -> String {
    format!("serviceAccount:service-{project_number}@gcp-sa-iap.iam.gserviceaccount.com")
}

/// The service's IAP resource, once the project number is known.
pub(crate) fn iap_resource(
    env: &Environment,
    project_number: Option<&str>,
) -> Option<PolicyResource> {
    Some(PolicyResource::IapWeb {
        project: env.project.to_string(),
        project_number: project_number?.to_string(),
        region: env.region.to_string(),
        service: env.service.name.to_string(),
    })
}

/// `projects/P/locations/R/services/S`.
pub(crate) fn service_name(env: &Environment) -> String {
    format!(
        "projects/{}/locations/{}/services/{}",
        env.project, env.region, env.service.name
    )
}

pub(crate) fn service_resource(env: &Environment) -> PolicyResource {
    PolicyResource::Service {
        project: env.project.to_string(),
        region: env.region.to_string(),
        service: env.service.name.to_string(),
    }
}

/// The plan for `env` against `live`.
pub(crate) fn compute(env: &Environment, target: &Target, live: &LiveState) -> Plan {
    let given = target;
    // The image by digest when its tag was resolved (see `image.rs`).
    let resolved = super::image::resolved(target, live);
    let target = &*resolved;
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
    let mut iam = iam_changes(env, target, &needs, live);
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
    let pins = super::pins_of(&secrets);
    let service = target
        .image()
        .map(|image| service_change(env, target, image, &email, &pins, live));
    if target.image().is_some() {
        let (_, problem, warning) = traffic_plan(env, target, live);
        problems.extend(problem);
        warnings.extend(warning);
    }
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
    let (image_problem, image_warning) =
        super::image::findings(env, given, live, needs.build, &permissions.checks);
    problems.extend(image_problem);
    warnings.extend(image_warning);
    let changes = Changes::of(&iam, service.as_ref());
    Plan {
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
        image: super::image::resolution(given, live, needs.build),
        source: None,
        warnings,
        changes,
    }
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

/// What each policy lacks (and, for the service, has too much of).
fn iam_changes(
    env: &Environment,
    target: &Target,
    needs: &Needs,
    live: &LiveState,
) -> Vec<IamChange> {
    let member = format!("serviceAccount:{}", live.account.email);
    // A change is required when it gives the runtime account access to its
    // secrets: without it the new revision cannot start.
    let secret_access = Grant::new(SECRET_ACCESSOR, &member);
    let mut out = Vec::new();
    let mut want = |resource: PolicyResource, add: Vec<Grant>, remove: Vec<Grant>| {
        if let Some(c) = delta(resource, live, add, remove, &secret_access) {
            out.push(c);
        }
    };

    if needs.project_policy() {
        let mut grants: Vec<Grant> = env
            .iam
            .project_roles
            .iter()
            .map(|r| Grant::new(r.to_string(), &member))
            .collect();
        if needs.project_secret_access() {
            grants.push(secret_access.clone());
        }
        want(
            PolicyResource::Project {
                project: env.project.to_string(),
            },
            grants,
            vec![],
        );
    }
    {
        for (id, secret) in &live.secrets {
            // A missing secret is a preflight problem, not a grant to plan.
            if secret.exists && needs.grant_on_secret(id) {
                want(id.resource(), vec![secret_access.clone()], vec![]);
            }
        }
    }
    if needs.account_policy && live.account.exists {
        let grants = env
            .iam
            .service_account_users
            .iter()
            .map(|m| {
                let m = match &live.project_number {
                    Some(n) => m.replace("{project_number}", n),
                    None => m.to_string(),
                };
                Grant::new(SERVICE_ACCOUNT_USER, m)
            })
            .collect();
        let email = live.account.email.clone();
        want(
            PolicyResource::ServiceAccount {
                project: super::live::account_project(&email, &env.project),
                email,
            },
            grants,
            vec![],
        );
    }
    // Public access is the service's `invokerIamDisabled` (see
    // `ServiceView`), not an `allUsers` binding, which domain-restricted
    // sharing refuses. A private service loses an `allUsers` binding left
    // by an older deploy (the old script's --allow-unauthenticated); a
    // public one keeps it (it changes nothing). Behind IAP, IAP's service
    // agent invokes the service.
    if matches!(target, Target::Deploy { .. }) {
        let agent = match (&env.iap, &live.project_number) {
            (Some(_), Some(n)) => vec![Grant::new(RUN_INVOKER, iap_agent(n))],
            _ => vec![],
        };
        let public = match !env.service.allow_unauthenticated && live.service_policy.is_some() {
            true => vec![Grant::new(RUN_INVOKER, ALL_USERS)],
            false => vec![],
        };
        if !agent.is_empty() || !public.is_empty() {
            want(service_resource(env), agent, public);
        }
    }
    // IAP's members: added; with `exclusive`, other accessors removed.
    if let (true, Some(iap), Some(resource)) = (
        needs.iap,
        &env.iap,
        iap_resource(env, live.project_number.as_deref()),
    ) {
        let number = live.project_number.as_deref().unwrap_or_default();
        let members: Vec<String> = iap
            .members
            .iter()
            .map(|m| m.replace("{project_number}", number))
            .collect();
        let add = members
            .iter()
            .map(|m| Grant::new(IAP_ACCESSOR, m))
            .collect();
        let remove = match (iap.exclusive, &live.iap_policy) {
            (true, Some(p)) => p
                .bindings
                .iter()
                .filter(|b| b.condition.is_none() && b.role == IAP_ACCESSOR)
                .flat_map(|b| &b.members)
                .filter(|m| !members.contains(m))
                .map(|m| Grant::new(IAP_ACCESSOR, m))
                .collect(),
            _ => vec![],
        };
        want(resource, add, remove);
    }
    out
}

/// The change one policy needs, or `None` when it has what the config wants.
fn delta(
    resource: PolicyResource,
    live: &LiveState,
    add: Vec<Grant>,
    remove: Vec<Grant>,
    secret_access: &Grant,
) -> Option<IamChange> {
    let policy: Option<&Policy> = live.policy(&resource);
    let (add, remove, etag) = match policy {
        Some(p) => (
            add.into_iter()
                .filter(|g| !iam::has(p, g))
                .collect::<Vec<_>>(),
            remove.into_iter().filter(|g| iam::has(p, g)).collect(),
            Some(iam::etag_text(p)),
        ),
        // No policy yet: the service on a first deploy. Nothing to remove.
        None => (add, Vec::new(), None),
    };
    (!add.is_empty() || !remove.is_empty()).then(|| IamChange {
        resource,
        etag,
        required: add.contains(secret_access),
        add,
        remove,
    })
}

/// The service part of the plan: the diff from live to desired. The desired
/// view in the plan is redacted (see [`ServiceView::redacted`]).
fn service_change(
    env: &Environment,
    target: &Target,
    image: &str,
    account: &str,
    pins: &Pins,
    live: &LiveState,
) -> ServiceChange {
    let desired = desired_view(env, image, account, pins);
    let live_service = live.service.as_ref();
    let live_view = live_service.map(|s| service::view_of(s, &project_ids(env, live)));
    let mut fields = service::diff(live_view.as_ref(), &desired);
    let (requested, _, _) = traffic_plan(env, target, live);
    let revision_name = requested.as_ref().and_then(|r| r.revision_name.clone());
    let requested = requested.map(|r| r.targets).unwrap_or_default();
    // The traffic change, shown as a field like any other.
    if let Some(s) = live_service {
        let before = traffic::requested(s);
        if !requested.is_empty() && !traffic::same(&before, &requested) {
            fields.push(service::FieldChange {
                field: "traffic".into(),
                op: service::Op::Change,
                before: Some(traffic::describe(&before)),
                after: Some(traffic::describe(&requested)),
            });
        }
    }
    let action = match (live_service, fields.is_empty()) {
        (None, _) => ServiceAction::Create,
        (Some(_), true) => ServiceAction::None,
        (Some(_), false) => ServiceAction::Update,
    };
    // Cloud Run makes a revision only when the template changes; public
    // access and IAP are fields of the service, outside it (run.v2
    // `Service.invokerIamDisabled`, `Service.iapEnabled`).
    let new_revision = match action {
        ServiceAction::Create => true,
        ServiceAction::None => false,
        ServiceAction::Update => {
            revision_name.is_some()
                || fields.iter().any(|f| {
                    !service::SERVICE_LEVEL_FIELDS.contains(&f.field.as_str())
                        && f.field != "traffic"
                })
        }
    };
    // A named revision (`--tag`) is a template change of its own.
    let action = match (action, &revision_name) {
        (ServiceAction::None, Some(_)) => ServiceAction::Update,
        (a, _) => a,
    };
    ServiceChange {
        name: env.service.name.to_string(),
        action,
        traffic: traffic_words(live_service, new_revision, &requested),
        fields,
        new_revision,
        desired: desired.redacted(),
        etag: live_service.map(|s| s.etag.clone()),
        generation: live_service.map(|s| s.generation),
        url: live_service
            .map(|s| s.uri.clone())
            .filter(|u| !u.is_empty()),
        serving: live_service.map(traffic::serving).unwrap_or_default(),
        requested_traffic: requested,
        revision_name,
    }
}

/// The split a deploy sends, and the name it gives the new revision.
pub(crate) struct RequestedTraffic {
    pub(crate) targets: Vec<traffic::Target>,
    pub(crate) revision_name: Option<String>,
}

/// What the deploy asks of traffic (the config's `service.traffic` under
/// `--to-latest`, `--no-traffic` and `--tag`), with the problem that stops
/// it and the warning a reviewer should see.
fn traffic_plan(
    env: &Environment,
    target: &Target,
    live: &LiveState,
) -> (Option<RequestedTraffic>, Option<Problem>, Option<Warning>) {
    use crate::config::TrafficMode;
    let ask = target.traffic();
    let mode = match (ask.no_traffic, ask.to_latest, env.service.traffic) {
        (true, _, _) => traffic::DeployTraffic::None,
        (false, true, _) | (false, false, TrafficMode::Latest) => traffic::DeployTraffic::Latest,
        (false, false, TrafficMode::Keep) => traffic::DeployTraffic::Keep,
    };
    let service = live.service.as_ref();
    // A tagged revision is named as gcloud names it: SERVICE-NNNNN-xxx, the
    // number one past the service's generation (command_lib/run/config_changes.py).
    let revision_name = ask.tag.as_ref().map(|(_, suffix)| {
        let next = service.map_or(0, |s| s.generation) + 1;
        format!("{}-{next:05}-{suffix}", env.service.name)
    });
    let tag = ask
        .tag
        .as_ref()
        .zip(revision_name.as_deref())
        .map(|((t, _), r)| (t.as_str(), r));
    let targets = match traffic::for_deploy(service, mode, tag) {
        Ok(t) => t,
        Err(message) => {
            let problem = Problem {
                kind: ProblemKind::NoTrafficOnFirstDeploy,
                message,
                hint: format!(
                    "deploy without --no-traffic first: `autosre-deploy deploy --env {}`",
                    env.name
                ),
            };
            return (None, Some(problem), None);
        }
    };
    let pinned = mode == traffic::DeployTraffic::Keep
        && service.is_some()
        && traffic::latest_percent(&targets) < 100;
    let warning = pinned.then(|| Warning {
        kind: WarningKind::TrafficPinned,
        message: format!(
            "traffic is pinned to named revisions ({}): the new revision will get {}% of it; move it with `autosre-deploy promote --env {}`, or deploy with --to-latest (or `service.traffic: latest`)",
            traffic::describe(&targets),
            traffic::latest_percent(&targets),
            env.name
        ),
    });
    (
        Some(RequestedTraffic {
            targets,
            revision_name,
        }),
        None,
        warning,
    )
}

/// The names the deploy's project goes by: its id and, when known, number.
fn project_ids<'a>(env: &'a Environment, live: &'a LiveState) -> Vec<&'a str> {
    std::iter::once(&*env.project)
        .chain(live.project_number.as_deref())
        .collect()
}

/// The exact service a deploy would send, when it would send one: the input
/// of Cloud Run's validation in the second read phase.
pub(crate) fn service_to_send(
    env: &Environment,
    target: &Target,
    live: &LiveState,
    account: &str,
) -> Option<Service> {
    let resolved = super::image::resolved(target, live);
    let target = &*resolved;
    let image = target.image()?;
    let needs = Needs::of(env, target);
    let checks = preflight::secret_checks(&needs, live, env.service.pin_secret_versions);
    let desired = desired_view(env, image, account, &super::pins_of(&checks));
    let live_view = live
        .service
        .as_ref()
        .map(|s| service::view_of(s, &project_ids(env, live)));
    let (requested, _, _) = traffic_plan(env, target, live);
    let unchanged_traffic = match (&live.service, &requested) {
        (Some(s), Some(r)) => {
            r.revision_name.is_none() && traffic::same(&traffic::requested(s), &r.targets)
        }
        _ => true,
    };
    if live_view.is_some()
        && service::diff(live_view.as_ref(), &desired).is_empty()
        && unchanged_traffic
    {
        return None;
    }
    let mut service = service::apply_view(live.service.as_ref(), &service_name(env), &desired);
    if let Some(r) = &requested {
        with_traffic(&mut service, &r.targets, r.revision_name.as_deref());
    }
    Some(service)
}

/// Set the split to send, and the new revision's name when the deploy names it.
pub(crate) fn with_traffic(
    service: &mut Service,
    targets: &[traffic::Target],
    revision_name: Option<&str>,
) {
    if !targets.is_empty() {
        service.traffic = traffic::to_api(targets);
    }
    if let (Some(name), Some(t)) = (revision_name, service.template.as_mut()) {
        t.revision = name.to_string();
    }
}

/// What the config asks of the service, unredacted: what a deploy sends.
/// `pins` replace the config's secret versions (see [`Plan::pins`]).
pub(crate) fn desired_view(
    env: &Environment,
    image: &str,
    account: &str,
    pins: &Pins,
) -> ServiceView {
    let s = &env.service;
    let mut vars: BTreeMap<String, EnvValue> = s
        .env
        .iter()
        .map(|(k, v)| (k.clone(), EnvValue::Plain(v.clone())))
        .collect();
    for (k, r) in &s.secrets {
        let secret_project = r.project.as_deref().unwrap_or(&env.project);
        vars.insert(
            k.clone(),
            EnvValue::Secret {
                secret: service::secret_in_service(&env.project, secret_project, &r.secret),
                version: pins.get(k).unwrap_or(&r.version).clone(),
            },
        );
    }
    ServiceView {
        image: image.to_string(),
        cpu: s.cpu.to_string(),
        memory: s.memory.to_string(),
        timeout_seconds: i64::from(s.timeout.seconds()),
        concurrency: s.concurrency as i32,
        min_instances: s.min_instances as i32,
        max_instances: s.max_instances as i32,
        service_account: account.to_string(),
        invoker_iam_disabled: s.allow_unauthenticated,
        iap_enabled: env.iap.is_some(),
        env: vars,
        labels: desired_labels(env),
        commit_sha: s.commit_sha.clone(),
    }
}

/// The labels a deploy asks for: the tool's `managed-by` (unless
/// `service.labels: false`), then the config's and `--label`'s over it.
fn desired_labels(env: &Environment) -> BTreeMap<String, String> {
    use crate::config::labels::{MANAGED_BY, TOOL};
    let mut labels = BTreeMap::new();
    if env.service.tool_labels {
        labels.insert(MANAGED_BY.to_string(), TOOL.to_string());
    }
    labels.extend(env.service.labels.clone());
    labels
}

/// Where traffic goes after the deploy, in words.
fn traffic_words(
    live: Option<&Service>,
    new_revision: bool,
    requested: &[traffic::Target],
) -> String {
    let Some(live) = live else {
        return "100% to the new revision".into();
    };
    let latest = traffic::latest_percent(requested);
    let split = traffic::describe(requested);
    match (new_revision, latest) {
        (false, _) if traffic::same(&traffic::requested(live), requested) => {
            let serving = traffic::serving(live);
            match serving.is_empty() {
                true => "unchanged".into(),
                false => format!(
                    "unchanged: {}",
                    serving
                        .iter()
                        .filter(|s| s.percent > 0)
                        .map(|s| format!("{}% to {}", s.percent, s.revision))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
        (false, _) => split,
        (true, 100) => "100% to the new revision".into(),
        (true, 0) => format!("none to the new revision; the split stays by name: {split}"),
        (true, p) => format!("{p}% to the new revision (LATEST); the split: {split}"),
    }
}

#[cfg(test)]
#[path = "compute_tests/mod.rs"]
mod tests;
