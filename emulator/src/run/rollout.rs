//! Rollout: a new revision's secret checks and how a finished operation changes the service.

use serde_json::Value;

use super::operations::Outcome;
use super::{ResolvedSecret, Revision, RevisionRec, RunService, SERVICE_TYPE, condition, failed};
use crate::error::ApiError;
use crate::state::State;
use crate::util::{items, letters_from, now_rfc3339, uuid_from};
use crate::world::VersionState;

/// Creates the revision a template change asks for and decides how its rollout will end;
/// returns that outcome and the secret problems found (for validateOnly).
///
/// Observed operation errors for a failed revision: code 9 (FAILED_PRECONDITION) for a
/// permission failure, 13 (INTERNAL) otherwise (Terraform output quoting the v2 operation's
/// `error`); the world's `revisionFailure` can choose the code and drop the
/// "Revision '...' is not ready and cannot serve traffic. " prefix. A secret failure carries
/// the structured reason SECRETS_ACCESS_CHECK_FAILED ("At least one Access check on secrets
/// failed.", run.v2 `GoogleCloudRunV2Condition.reason`); `failRevisions` fails every new
/// revision with another reason.
pub(super) fn new_revision(
    st: &State,
    svc: &mut RunService,
    key: &str,
    salt: &str,
    template: &Value,
    at: &str,
) -> Result<(Outcome, Vec<String>), ApiError> {
    svc.revision_counter += 1;
    let name = template
        .get("revision")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| {
            format!(
                "{}-{:05}-{}",
                svc.id,
                svc.revision_counter,
                letters_from(&format!("{key}:{salt}"), 3)
            )
        });
    if svc.revisions.iter().any(|r| r.rev.name == name) {
        return Err(ApiError::already_exists(format!(
            "Revision named '{name}' with different configuration already exists."
        )));
    }
    // Env-var secrets are resolved when an instance starts (Cloud Run docs, "Configure
    // secrets": "the secret is resolved at instance startup"); the emulator resolves them once,
    // at the revision's rollout, and records the versions on the revision.
    let (problems, denied, resolved) = secret_problems(st, &svc.project_id, template);
    svc.revisions.push(RevisionRec {
        rev: Revision {
            name: name.clone(),
            ready: false,
            message: String::new(),
            reason: String::new(),
            secret_versions: if problems.is_empty() {
                resolved
            } else {
                Vec::new()
            },
        },
        template: template.clone(),
        create_time: at.to_string(),
        uid: uuid_from(&format!("{key}:{name}:{salt}")),
        pending: true,
    });
    svc.latest_created = Some(name.clone());
    let failure = if !problems.is_empty() {
        let code = if denied { 9 } else { 13 };
        Some((
            code,
            "SECRETS_ACCESS_CHECK_FAILED".to_string(),
            problems.join("\n"),
        ))
    } else {
        st.behaviour
            .fail_revisions
            .as_ref()
            .filter(|f| f.only.as_deref().is_none_or(|only| key.contains(only)))
            .map(|f| (13, f.reason.clone(), f.message.clone()))
    };
    let outcome = match failure {
        None => Outcome::Ready,
        Some((code, reason, detail)) => {
            let shape = &st.behaviour.revision_failure;
            Outcome::Failed {
                code: shape.code.unwrap_or(code),
                reason,
                message: if shape.revision_prefix {
                    format!("Revision '{name}' is not ready and cannot serve traffic. {detail}")
                } else {
                    detail
                },
            }
        }
    };
    Ok((outcome, problems))
}

/// Resolves a secret version reference the way Cloud Run does for `secretKeyRef`.
/// "latest" is the most recently created version whatever its state: Secret Manager docs,
/// "Access a secret version": "the latest alias ... refers to the most recently created
/// version" (cloud.google.com/secret-manager/docs/access-secret-version); a disabled latest
/// version is not skipped.
pub(super) fn secret_problems(
    st: &State,
    project_id: &str,
    template: &Value,
) -> (Vec<String>, bool, Vec<ResolvedSecret>) {
    let mut resolved_all = Vec::new();
    let mut problems = Vec::new();
    let mut denied = false;
    let sa = template
        .get("serviceAccount")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let member = format!("serviceAccount:{sa}");
    for (i, c) in items(template.get("containers")).enumerate() {
        for (j, e) in items(c.get("env")).enumerate() {
            let Some(r) = e.pointer("/valueSource/secretKeyRef") else {
                continue;
            };
            let at = format!(
                "spec.template.spec.containers[{i}].env[{j}].value_from.secret_key_ref.name"
            );
            let secret = r.get("secret").and_then(Value::as_str).unwrap_or_default();
            let version = r.get("version").and_then(Value::as_str).unwrap_or("latest");
            let (proj_ref, secret_id) = match secret.split('/').collect::<Vec<_>>().as_slice() {
                ["projects", p, "secrets", s] => (p.to_string(), s.to_string()),
                _ => (project_id.to_string(), secret.to_string()),
            };
            let Some(project) = st.project(&proj_ref) else {
                problems.push(format!(
                    "{at}: Secret projects/{proj_ref}/secrets/{secret_id}/versions/{version} was not found"
                ));
                continue;
            };
            let path = format!("projects/{}/secrets/{secret_id}", project.number);
            let key = format!("projects/{}/secrets/{secret_id}", project.id);
            let Some(s) = st.secrets.get(&key) else {
                problems.push(format!(
                    "{at}: Secret {path}/versions/{version} was not found"
                ));
                continue;
            };
            // The runtime account needs secretmanager.versions.access on the secret or its
            // project, from any role that carries it (the role table of `crate::authz`).
            let readable = crate::authz::holds(st, &member, "secretmanager.versions.access", &key);
            if !readable {
                denied = true;
                problems.push(format!(
                    "{at}: Permission denied on secret: {path}/versions/{version} for Revision \
                     service account {sa}. The service account used must be granted the \
                     'Secret Manager Secret Accessor' role (roles/secretmanager.secretAccessor) \
                     at the secret, project or higher level."
                ));
                continue;
            }
            let resolved = s.version(version);
            match resolved {
                None => problems.push(format!(
                    "{at}: Secret {path}/versions/{version} was not found"
                )),
                Some(v) if v.state != VersionState::Enabled => problems.push(format!(
                    "{at}: Secret Version [{path}/versions/{}] is in {} state.",
                    v.number,
                    v.state.name()
                )),
                Some(v) => resolved_all.push(ResolvedSecret {
                    env: e
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    secret: key.clone(),
                    version: v.number,
                }),
            }
        }
    }
    (problems, denied, resolved_all)
}

/// Whether the traffic `svc` now requests moves to a revision that cannot start an
/// instance: one pinned to a secret version that is no longer enabled. Env-var secrets are
/// resolved when an instance starts, and "if the secret retrieval process fails, the instance
/// doesn't start" (cloud.google.com/run/docs/configuring/services/secrets), so such a revision
/// cannot take traffic it does not serve yet. The words and the reason are those Cloud Run
/// gives a new revision whose secret version is not enabled (see [`secret_problems`]); what it
/// reports for an old revision is undocumented. `served` is the traffic that served before.
pub(super) fn unroutable(st: &State, svc: &RunService, served: Value) -> Option<Outcome> {
    let number = st.project(&svc.project_id)?.number;
    let targets = super::traffic::named_serving(&svc.spec);
    let problem = targets.iter().find_map(|name| {
        let rec = svc.revisions.iter().find(|r| &r.rev.name == name)?;
        rec.rev.secret_versions.iter().find_map(|r| {
            let state = st
                .secrets
                .get(&r.secret)?
                .version(&r.version.to_string())?
                .state;
            (state != VersionState::Enabled).then(|| {
                let id = r.secret.rsplit('/').next().unwrap_or_default();
                format!(
                    "Revision '{name}' is not ready and cannot serve traffic. Secret Version \
                     [projects/{number}/secrets/{id}/versions/{}] is in {} state.",
                    r.version,
                    state.name()
                )
            })
        })
    })?;
    Some(Outcome::Unroutable {
        code: 13,
        reason: "SECRETS_ACCESS_CHECK_FAILED".into(),
        message: problem,
        served,
    })
}

/// Applies a finished rollout to the service.
pub(super) fn finalize(st: &mut State, op_name: &str) {
    let Some(op) = st.operations.get(op_name).cloned() else {
        return;
    };
    if op.done {
        return;
    }
    let number = st
        .services
        .get(&op.service_key)
        .and_then(|s| st.project(&s.project_id))
        .map(|p| p.number);
    let at = now_rfc3339();
    let mut response = None;
    if let (Some(svc), Some(number)) = (st.services.get_mut(&op.service_key), number) {
        if svc.pending_op.as_deref() == Some(op_name) {
            svc.pending_op = None;
        }
        svc.reconciling = false;
        svc.observed_generation = svc.generation;
        let rev = svc.latest_created.clone();
        match &op.outcome {
            // A change outside the template (e.g. `invokerIamDisabled`)
            // reconciles without a revision: Ready again as the latest
            // revision is (Cloud Run makes revisions only for template
            // changes: https://cloud.google.com/run/docs/managing/revisions).
            Outcome::NoRevision => {
                let latest = svc
                    .revisions
                    .iter()
                    .find(|r| Some(&r.rev.name) == rev.as_ref());
                svc.terminal = match latest {
                    Some(r) if !r.rev.ready && !r.pending => {
                        failed("Ready", &r.rev.message, &r.rev.reason, &at)
                    }
                    _ => condition("Ready", "CONDITION_SUCCEEDED", None, &at),
                };
            }
            Outcome::Ready => {
                if let Some(r) = svc
                    .revisions
                    .iter_mut()
                    .find(|r| Some(&r.rev.name) == rev.as_ref())
                {
                    r.pending = false;
                    r.rev.ready = true;
                }
                svc.latest_ready = rev;
                svc.terminal = condition("Ready", "CONDITION_SUCCEEDED", None, &at);
                svc.conditions = vec![
                    condition("RoutesReady", "CONDITION_SUCCEEDED", None, &at),
                    condition("ConfigurationsReady", "CONDITION_SUCCEEDED", None, &at),
                ];
            }
            // Traffic stays as it served; the service is not Ready.
            Outcome::Unroutable {
                message,
                reason,
                served,
                ..
            } => {
                svc.served_traffic = Some(served.clone());
                svc.terminal = failed("Ready", message, reason, &at);
                svc.conditions = vec![
                    condition("RoutesReady", "CONDITION_FAILED", Some(message), &at),
                    condition("ConfigurationsReady", "CONDITION_SUCCEEDED", None, &at),
                ];
            }
            Outcome::Failed {
                message, reason, ..
            } => {
                if let Some(r) = svc
                    .revisions
                    .iter_mut()
                    .find(|r| Some(&r.rev.name) == rev.as_ref())
                {
                    r.pending = false;
                    r.rev.ready = false;
                    r.rev.message = message.clone();
                    r.rev.reason = reason.clone();
                }
                svc.terminal = failed("Ready", message, reason, &at);
                let routes = if svc.latest_ready.is_some() {
                    condition("RoutesReady", "CONDITION_SUCCEEDED", None, &at)
                } else {
                    condition("RoutesReady", "CONDITION_FAILED", Some(message), &at)
                };
                svc.conditions = vec![
                    routes,
                    condition(
                        "ConfigurationsReady",
                        "CONDITION_FAILED",
                        Some(message),
                        &at,
                    ),
                ];
            }
        }
        if !matches!(op.outcome, Outcome::Unroutable { .. }) {
            svc.served_traffic = None;
        }
        if !matches!(
            op.outcome,
            Outcome::Failed { .. } | Outcome::Unroutable { .. }
        ) {
            let mut v = svc.render(number);
            if let Some(o) = v.as_object_mut() {
                o.shift_insert(0, "@type".into(), SERVICE_TYPE.into());
            }
            response = Some(v);
        }
    }
    if let Some(o) = st.operations.get_mut(op_name) {
        o.done = true;
        if o.response.is_none() {
            o.response = response;
        }
    }
}
