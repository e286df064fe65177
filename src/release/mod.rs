//! `promote`, `rollback` and `history`: traffic moves between revisions
//! that exist, and the record of what each revision runs.
//!
//! The same shape as a deploy: read live state ([`read`]: the service, every
//! revision, and for the revision traffic would move to, whether it can
//! start), compute the move ([`plan_move`], pure), apply it ([`apply`]: one
//! `services.patch` of `traffic` with the etag read, never a new revision),
//! report. A rollback on Cloud Run is traffic to an older ready revision
//! (cloud.google.com/run/docs/rollouts-rollbacks-traffic-migration); each
//! move and deploy records on the service the revision that served before it
//! (annotation [`PREVIOUS_ANNOTATION`]), which is where a plain `rollback`
//! goes, so that a second `rollback` undoes the first.

pub(crate) mod history;
pub(crate) mod view;

use std::time::Duration;

use google_cloud_run_v2::model::condition::State as ConditionState;
use google_cloud_run_v2::model::env_var::Values;
use google_cloud_run_v2::model::{Revision, Service};
use google_cloud_secretmanager_v1::model::secret_version::State as VersionState;
use serde::Serialize;

pub(crate) use crate::apply::rollout::PREVIOUS_ANNOTATION;
use crate::apply::rollout::VERSION_ANNOTATION;
use crate::apply::{Failure, ServiceOutcome};
use crate::config::Environment;
use crate::gcp::{GcpError, Google};
use crate::plan::names::service_name;
use crate::plan::traffic::{self, Share, Target, short};
use crate::plan::{Problem, ProblemKind};

/// Bumped whenever the JSON shape of a move or of history changes incompatibly.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// Live state a move or `history` is computed from.
pub(crate) struct Live {
    pub(crate) service: Service,
    /// Every revision, newest first (`revisions.list` has no order: sorted here).
    pub(crate) revisions: Vec<Revision>,
}

/// The service and every revision, or `None` before the first deploy.
pub(crate) async fn read(google: &Google, env: &Environment) -> Result<Option<Live>, GcpError> {
    let name = service_name(env);
    let Some(service) = google.service(&name).await? else {
        return Ok(None);
    };
    let mut revisions = google.revisions(&name).await?;
    // revisions.list takes no order (run.v2 discovery: only parent,
    // pageSize, pageToken, showDeleted): newest first by createTime.
    revisions.sort_by(|a, b| {
        let t = |r: &Revision| r.create_time.map(|t| (t.seconds(), t.nanos()));
        t(b).cmp(&t(a)).then_with(|| b.name.cmp(&a.name))
    });
    Ok(Some(Live { service, revisions }))
}

/// Whether Cloud Run reports the revision ready.
pub(crate) fn is_ready(r: &Revision) -> bool {
    r.conditions
        .iter()
        .any(|c| c.r#type == "Ready" && c.state == ConditionState::ConditionSucceeded)
}

/// One secret an env var of a revision reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct SecretUse {
    pub(crate) env: String,
    pub(crate) project: String,
    pub(crate) secret: String,
    /// A version number, `latest` or an alias, as the revision holds it.
    pub(crate) version: String,
}

/// The secrets `r` reads as env vars; a bare secret id lives in `project`.
pub(crate) fn secret_uses(r: &Revision, project: &str) -> Vec<SecretUse> {
    r.containers
        .iter()
        .flat_map(|c| c.env.iter())
        .filter_map(|e| {
            let Some(Values::ValueSource(src)) = &e.values else {
                return None;
            };
            let k = src.secret_key_ref.as_ref()?;
            let (p, s) = match k.secret.split('/').collect::<Vec<_>>().as_slice() {
                ["projects", p, "secrets", s] => ((*p).to_string(), (*s).to_string()),
                _ => (project.to_string(), k.secret.clone()),
            };
            Some(SecretUse {
                env: e.name.clone(),
                project: p,
                secret: s,
                version: match k.version.as_str() {
                    "" => "latest".into(),
                    v => v.into(),
                },
            })
        })
        .collect()
}

/// The tool version that made a revision, from its template annotation.
pub(crate) fn tool_version(r: &Revision) -> Option<String> {
    r.annotations.get(VERSION_ANNOTATION).cloned()
}

/// Why `r` could not start a new instance now: not ready; a secret version
/// it reads not enabled (env-var secrets resolve when an instance starts, and
/// "If the secret retrieval process fails, the instance doesn't start",
/// cloud.google.com/run/docs/configuring/secrets); its runtime account gone.
pub(crate) async fn start_problems(
    google: &Google,
    env: &Environment,
    r: &Revision,
) -> Result<Vec<Problem>, GcpError> {
    let name = short(&r.name).to_string();
    let mut out = Vec::new();
    if !is_ready(r) {
        out.push(Problem {
            kind: ProblemKind::RevisionCannotStart,
            message: format!(
                "revision {name} is not ready: Cloud Run cannot serve traffic from it"
            ),
            hint: format!(
                "choose a ready revision: `autosre-deploy history --env {}`",
                env.name
            ),
        });
    }
    // Every secret version and the runtime account are read in one
    // concurrent wave: the depth of a rollback does not grow with secrets.
    let uses = secret_uses(r, &env.project);
    let email = &r.service_account;
    let account = async {
        match email.is_empty() {
            true => Ok(true),
            false => {
                let project = crate::plan::live::account_project(email, &env.project);
                google.service_account_exists(&project, email).await
            }
        }
    };
    let versions = futures::future::try_join_all(
        uses.iter()
            .map(|u| google.secret_version(&u.project, &u.secret, &u.version)),
    );
    let (versions, account_exists) = futures::future::try_join(versions, account).await?;
    for (u, v) in uses.iter().zip(versions) {
        let state = v.as_ref().map(|v| v.state.clone());
        if state == Some(VersionState::Enabled) {
            continue;
        }
        let what = match &state {
            None => "does not exist".to_string(),
            Some(s) => format!("is {}", s.name().unwrap_or("not enabled")),
        };
        let number = v
            .as_ref()
            .and_then(|v| v.name.rsplit('/').next().map(str::to_string))
            .unwrap_or(u.version.clone());
        out.push(Problem {
            kind: ProblemKind::RevisionCannotStart,
            message: format!(
                "revision {name} reads {} from secret `{}` version {number}, which {what}: its new instances would not start (env-var secrets are read at instance start)",
                u.env, u.secret
            ),
            hint: format!(
                "enable the version (`gcloud secrets versions enable {number} --secret {} --project {}`), or move traffic to another revision (`autosre-deploy history --env {}` lists them)",
                u.secret, u.project, env.name
            ),
        });
    }
    if !account_exists {
        out.push(Problem {
            kind: ProblemKind::RevisionCannotStart,
            message: format!(
                "revision {name} runs as `{email}`, which no longer exists: its new instances would not start"
            ),
            hint: format!(
                "move traffic to a revision that runs as an existing account (`autosre-deploy history --env {}`)",
                env.name
            ),
        });
    }
    Ok(out)
}

/// Which revision a move goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Pick {
    /// By name (`--revision`, `--to`).
    Revision(String),
    /// The revision a tag points at (`--tag`).
    Tag(String),
    /// The newest ready revision (`promote` without either).
    NewestReady,
    /// The revision recorded as serving before the last deploy or move
    /// (`rollback` without `--to`).
    Recorded,
}

/// The revision `pick` names in `live`, or why there is none.
pub(crate) fn pick(live: &Live, pick: &Pick) -> Result<String, (String, String)> {
    let exists = |r: &str| live.revisions.iter().any(|x| short(&x.name) == r);
    match pick {
        Pick::Revision(r) if exists(r) => Ok(r.clone()),
        Pick::Revision(r) => Err((
            format!("the service has no revision `{r}`"),
            "list its revisions with `autosre-deploy history --env ENV`".into(),
        )),
        Pick::Tag(tag) => {
            let found = traffic::requested(&live.service)
                .into_iter()
                .find(|t| t.tag.as_deref() == Some(tag.as_str()));
            match found {
                Some(t) => Ok(t
                    .revision
                    .unwrap_or_else(|| short(&live.service.latest_ready_revision).to_string())),
                // gcloud's words: "There is no revision tagged with [X]".
                None => Err((
                    format!("there is no revision tagged with `{tag}`"),
                    "see the tags with `autosre-deploy history --env ENV`".into(),
                )),
            }
        }
        Pick::NewestReady => live
            .revisions
            .iter()
            .find(|r| is_ready(r))
            .map(|r| short(&r.name).to_string())
            .ok_or_else(|| {
                (
                    "the service has no ready revision".into(),
                    "deploy one first".into(),
                )
            }),
        Pick::Recorded => match live.service.annotations.get(PREVIOUS_ANNOTATION) {
            Some(r) if exists(r) => Ok(r.clone()),
            Some(r) => Err((
                format!("the revision recorded before the last deploy, `{r}`, no longer exists"),
                "roll back to a revision by name with --to (`autosre-deploy history --env ENV` lists them)".into(),
            )),
            None => Err((
                "no revision is recorded as serving before the last deploy by this tool".into(),
                "roll back to a revision by name with --to (`autosre-deploy history --env ENV` lists them)".into(),
            )),
        },
    }
}

/// What a move would do: the split before and after, and what stops it.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct MovePlan {
    pub(crate) schema_version: u32,
    pub(crate) command: &'static str,
    pub(crate) environment: String,
    pub(crate) project: String,
    pub(crate) region: String,
    pub(crate) service: String,
    /// The revision traffic moves to.
    pub(crate) revision: String,
    /// The image that revision runs: by digest for one deployed by the tool,
    /// so a move names exactly the build it serves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) image: Option<String>,
    pub(crate) percent: i32,
    /// What serves now.
    pub(crate) serving: Vec<Share>,
    pub(crate) before: Vec<Target>,
    pub(crate) after: Vec<Target>,
    /// Whether the split changes at all.
    pub(crate) changes: bool,
    /// The revision recorded as serving before this move (where the next
    /// `rollback` goes), when the move records one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) records: Option<String>,
    pub(crate) problems: Vec<Problem>,
}

/// The move of `percent` of traffic to `revision` (pure).
pub(crate) fn plan_move(
    env: &Environment,
    live: &Live,
    command: &'static str,
    revision: &str,
    percent: i32,
    record: bool,
    problems: Vec<Problem>,
) -> MovePlan {
    let before = traffic::requested(&live.service);
    let latest_ready = short(&live.service.latest_ready_revision);
    let after = traffic::give(&before, revision, percent, latest_ready);
    let serving = traffic::serving(&live.service);
    let records = match record {
        true => traffic::serving_revisions(&serving).into_iter().next(),
        false => None,
    };
    MovePlan {
        schema_version: SCHEMA_VERSION,
        command,
        environment: env.name.clone(),
        project: env.project.to_string(),
        region: env.region.to_string(),
        service: env.service.name.to_string(),
        revision: revision.to_string(),
        image: live
            .revisions
            .iter()
            .find(|r| short(&r.name) == revision)
            .and_then(|r| r.containers.first())
            .map(|c| c.image.clone())
            .filter(|i| !i.is_empty()),
        percent,
        changes: !traffic::same(&before, &after),
        serving,
        before,
        after,
        records,
        problems,
    }
}

/// Apply a move: one `services.patch` of the traffic (and the record), with
/// the etag read, then the wait for Cloud Run to route it.
pub(crate) async fn apply(
    google: &Google,
    live: &Live,
    plan: &MovePlan,
    deadline: std::time::Instant,
) -> Result<ServiceOutcome, Failure> {
    let failure = |e: GcpError| Failure {
        message: e.to_string(),
        hint: e.hint(),
    };
    let started = std::time::Instant::now();
    let mut service = live.service.clone();
    service.traffic = traffic::to_api(&plan.after);
    if let Some(previous) = &plan.records {
        service
            .annotations
            .insert(PREVIOUS_ANNOTATION.into(), previous.clone());
    }
    crate::plan::service::drop_system_keys(&mut service);
    let name = service.name.clone();
    let mut op = google.update_service(service).await.map_err(failure)?;
    while !op.done {
        if std::time::Instant::now() > deadline {
            return Err(Failure {
                message: format!(
                    "the traffic change did not finish within the deadline (--timeout); operation `{}` is still in progress",
                    op.name
                ),
                hint: Some(crate::apply::watch_hint(&name)),
            });
        }
        op = google
            .operation(&op.name, Some(Duration::from_secs(10)))
            .await
            .map_err(failure)?;
    }
    if let Some(google_cloud_longrunning::model::operation::Result::Error(status)) = &op.result {
        return Err(Failure {
            message: format!("Cloud Run refused the traffic change: {}", status.message),
            hint: None,
        });
    }
    let now = google
        .service(&name)
        .await
        .map_err(failure)?
        .ok_or(Failure {
            message: "the service disappeared during the traffic change".into(),
            hint: None,
        })?;
    Ok(ServiceOutcome::of(
        &plan.service,
        &now,
        None,
        started.elapsed().as_secs_f64(),
    ))
}
