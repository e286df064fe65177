//! The service part of the plan, decided once from the first read phase:
//! the diff a plan shows (redacted) and, beside it, the exact service a
//! deploy sends ([`ToSend`]). Cloud Run validates that service in the second
//! read phase and `apply` sends it: what was validated is what is sent, and
//! the plan shows what is sent (redacted) because both come from one view.

use std::collections::BTreeMap;

use google_cloud_run_v2::model::Service;

use crate::config::Environment;
use crate::plan::live::{LiveState, Needs};
use crate::plan::service::{self, EnvValue, ServiceView};
use crate::plan::{
    Pins, Problem, ProblemKind, ServiceAction, ServiceChange, Target, Warning, WarningKind, names,
    preflight, traffic,
};

/// Who deployed it, as the Cloud Run console shows (`client`,
/// `clientVersion`: free caller strings, run.v2 discovery).
const CLIENT: &str = "autosre-deploy";

/// The exact service a deploy sends: the config's view applied onto the live
/// service, with the traffic split, the revision name and this tool's
/// annotations. Unredacted (it holds the config's plain env values), so it
/// is never serialised, and its `Debug` names the service only.
#[derive(Clone)]
pub(crate) struct ToSend(Service);

impl ToSend {
    pub(crate) fn service(&self) -> &Service {
        &self.0
    }
}

impl std::fmt::Debug for ToSend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToSend")
            .field("name", &self.0.name)
            .finish_non_exhaustive()
    }
}

/// What a deploy asks of the service.
#[derive(Debug)]
pub(crate) struct Desired {
    /// The plan's service section (its view redacted).
    pub(crate) change: ServiceChange,
    /// What is sent; `None` when the service is up to date.
    pub(crate) to_send: Option<ToSend>,
    /// What stops the traffic the deploy asks for.
    pub(crate) problem: Option<Problem>,
    /// What a reviewer should know of that traffic.
    pub(crate) warning: Option<Warning>,
}

/// The service part of the plan for `target` (none for a grant), against the
/// first read phase (`live.service`, the versions and the project number),
/// the runtime account being `account`.
pub(crate) fn desired(
    env: &Environment,
    target: &Target,
    live: &LiveState,
    account: &str,
) -> Option<Desired> {
    // The image by digest when its tag was resolved (see `image.rs`).
    let resolved = crate::plan::image::resolved(target, live);
    let target = &*resolved;
    let image = target.image()?;
    let needs = Needs::of(env, target);
    let checks = preflight::secret_checks(&needs, live, env.service.pin_secret_versions);
    let desired = desired_view(env, image, account, &crate::plan::pins_of(&checks));
    let live_service = live.service.as_ref();
    let live_view = live_service.map(|s| service::view_of(s, &project_ids(env, live)));
    let mut fields = service::diff(live_view.as_ref(), &desired);
    let (requested, problem, warning) = traffic_plan(env, target, live);
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
    let change = ServiceChange {
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
    };
    let to_send = (action != ServiceAction::None).then(|| {
        let mut service = service::apply_view(live_service, &names::service_name(env), &desired);
        with_traffic(
            &mut service,
            &change.requested_traffic,
            change.revision_name.as_deref(),
        );
        service.client = CLIENT.into();
        service.client_version = env!("CARGO_PKG_VERSION").into();
        // Where `rollback` goes back to: what serves now.
        if let Some(previous) = traffic::serving_revisions(&change.serving)
            .into_iter()
            .next()
        {
            service
                .annotations
                .insert(service::PREVIOUS_ANNOTATION.into(), previous);
        }
        if change.new_revision
            && let Some(t) = service.template.as_mut()
        {
            t.annotations.insert(
                service::VERSION_ANNOTATION.into(),
                env!("CARGO_PKG_VERSION").into(),
            );
        }
        // The commit deployed: on the service with any write, on the
        // template only with a new revision (there it would make one by
        // itself). Never compared (see `ServiceView::commit_sha`).
        if let Some(sha) = &desired.commit_sha {
            let key = crate::config::labels::COMMIT_SHA;
            service.labels.insert(key.into(), sha.clone());
            if change.new_revision
                && let Some(t) = service.template.as_mut()
            {
                t.labels.insert(key.into(), sha.clone());
            }
        }
        ToSend(service)
    });
    Some(Desired {
        change,
        to_send,
        problem,
        warning,
    })
}

/// The split a deploy sends, and the name it gives the new revision.
pub(crate) struct RequestedTraffic {
    pub(crate) targets: Vec<traffic::Target>,
    pub(crate) revision_name: Option<String>,
}

/// What the deploy asks of traffic (the config's `service.traffic` under
/// `--to-latest`, `--no-traffic` and `--tag`), with the problem that stops
/// it and the warning a reviewer should see.
pub(super) fn traffic_plan(
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

/// Set the split to send, and the new revision's name when the deploy names it.
fn with_traffic(service: &mut Service, targets: &[traffic::Target], revision_name: Option<&str>) {
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
