//! Cloud Run Admin API v2: services, revisions and long-running operations.
//!
//! Modelled from the run.v2 discovery document and the Cloud Run docs:
//! - create/patch/delete answer a `google.longrunning.Operation` that is not done at first;
//!   `metadata` is the Service (`@type` `type.googleapis.com/google.cloud.run.v2.Service`),
//!   and when done `response` is the Service or `error` a `google.rpc.Status`.
//! - `validateOnly`: "Indicates that the request should be validated and default values
//!   populated, without persisting the request or creating any resources" (run.v2 discovery,
//!   services.create/patch parameters). The emulator answers a done Operation whose
//!   `response` is the would-be Service and stores nothing.
//! - `allowMissing` on patch: "If set to true, and if the Service does not exist, it will
//!   create a new one" (run.v2 discovery, services.patch).
//! - A new revision is created only when the template changes (or `forceNewRevision`);
//!   Cloud Run docs, "Deploying container images": "Each deployment creates a revision" is
//!   about template changes, while changes to service-level settings (traffic, ingress,
//!   labels) update the service without a new revision
//!   (cloud.google.com/run/docs/resource-model: "revisions are created each time you deploy
//!   ... or change the revision template"). `generation` counts every spec change.
//! - Revision names `<service>-<5-digit counter>-<3 letters>`, e.g. `tebra-php-api-00007-gkx`
//!   as printed by gcloud.
//! - Secrets at rollout: "During service deployment, all secrets used ... are checked to
//!   ensure the service account used to run the container has access to them. If any check
//!   fails, the service deployment fails" (cloud.google.com/run/docs/configuring/services/secrets).
//!   The failure wording is Cloud Run's as observed in gcloud and Terraform output, e.g.
//!   "Revision 'x-00001-2qh' is not ready and cannot serve traffic.
//!   spec.template.spec.containers[0].env[9].value_from.secret_key_ref.name: Secret
//!   projects/812872501910/secrets/S/versions/latest was not found", and "... Permission
//!   denied on secret: projects/N/secrets/S/versions/latest for Revision service account
//!   N-compute@developer.gserviceaccount.com. The service account used must be granted the
//!   'Secret Manager Secret Accessor' role (roles/secretmanager.secretAccessor) at the secret,
//!   project or higher level." A disabled version reuses Secret Manager's own wording
//!   ("Secret Version [projects/N/secrets/S/versions/1] is in DISABLED state."), which is how
//!   Cloud Run surfaces it at instance start; the deploy-time wording is not documented.
//! - The previous ready revision keeps serving (Knative semantics: a failed latest revision
//!   leaves `latestReadyRevision` and the route unchanged).
//! - Default URL `https://<service>-<hash>-<region code>.a.run.app` and deterministic URL
//!   `https://<service>-<project number>.<region>.run.app`
//!   (cloud.google.com/run/docs/triggering/https-request, "Service URL").
//!
//! Files by concern: `handlers` (the REST methods on services and revisions), `admission`
//! (synchronous validation of a Service and its server defaults; CPU and memory limits are
//! parsed, and checked against Cloud Run's table, by the `autosre-types` crate the deploy tool
//! uses too), `rollout` (a new revision's checks and how a finished rollout changes the
//! service), `operations` (long-running operations), `render` (the JSON Google returns).

mod admission;
mod handlers;
mod operations;
mod render;
mod rollout;
mod traffic;

pub(crate) use handlers::{
    Write, delete, get, get_revision, list, list_revisions, seed_service, write,
};
pub(crate) use operations::{
    Operation, Polls, delete_operation, get_operation, list_operations, wait_operation,
};

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::state::State;

const SERVICE_TYPE: &str = "type.googleapis.com/google.cloud.run.v2.Service";

/// One revision as the emulator tracks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// Short revision name, e.g. `api-00002-xyz`.
    pub name: String,
    /// Whether it became ready (false while its rollout is pending, or when it failed).
    pub ready: bool,
    /// The failure message, empty when ready or pending.
    pub message: String,
    /// The failure's run.v2 `Condition.reason` (e.g. `SECRETS_ACCESS_CHECK_FAILED`), empty
    /// when ready or pending.
    pub reason: String,
    /// The secret version each env var took at the revision's start, in template order
    /// (empty when the revision failed).
    pub secret_versions: Vec<ResolvedSecret>,
}

/// An env var's secret reference as a revision resolved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedSecret {
    /// The env var's name.
    pub env: String,
    /// `projects/PROJECT_ID/secrets/SECRET`.
    pub secret: String,
    /// The version number `latest`, a number or an alias resolved to.
    pub version: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct RevisionRec {
    pub(crate) rev: Revision,
    template: Value,
    create_time: String,
    uid: String,
    pending: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct RunService {
    pub(crate) project_id: String,
    pub(crate) region: String,
    pub(crate) id: String,
    uid: String,
    spec: Map<String, Value>,
    generation: u64,
    observed_generation: u64,
    create_time: String,
    update_time: String,
    creator: String,
    last_modifier: String,
    etag: String,
    pub(crate) revisions: Vec<RevisionRec>,
    revision_counter: u32,
    latest_created: Option<String>,
    latest_ready: Option<String>,
    terminal: Value,
    conditions: Vec<Value>,
    reconciling: bool,
    pending_op: Option<String>,
    /// The traffic that serves when the last reconcile could not route the requested
    /// split (`trafficStatuses` keep "the state of the last serving revision", run.v2
    /// `Service.trafficStatuses`); `None`: the request's `traffic` serves.
    served_traffic: Option<Value>,
}

fn condition(kind: &str, state: &str, message: Option<&str>, at: &str) -> Value {
    let mut c = Map::new();
    c.insert("type".into(), kind.into());
    c.insert("state".into(), state.into());
    if let Some(m) = message {
        c.insert("message".into(), m.into());
    }
    c.insert("lastTransitionTime".into(), at.into());
    if state == "CONDITION_FAILED" {
        c.insert("severity".into(), "ERROR".into());
    }
    Value::Object(c)
}

/// A failed condition carrying a structured run.v2 `CommonReason`.
fn failed(kind: &str, message: &str, reason: &str, at: &str) -> Value {
    let mut c = condition(kind, "CONDITION_FAILED", Some(message), at);
    if !reason.is_empty()
        && let Some(o) = c.as_object_mut()
    {
        o.insert("reason".into(), reason.into());
    }
    c
}

pub(crate) fn project_or_denied<'a>(
    st: &'a State,
    p: &str,
) -> Result<&'a crate::state::Project, ApiError> {
    st.project(p).ok_or_else(|| {
        ApiError::permission_denied(format!("Permission denied on resource project {p}."))
    })
}

impl RunService {
    /// The service's `invokerIamDisabled` (public access without the invoker check).
    pub(crate) fn invoker_iam_disabled(&self) -> bool {
        self.spec
            .get("invokerIamDisabled")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

fn service_key(project_id: &str, region: &str, id: &str) -> String {
    format!("projects/{project_id}/locations/{region}/services/{id}")
}

fn not_found(id: &str) -> ApiError {
    // Cloud Run v2: "Resource '<id>' of kind 'SERVICE' in region '<r>' in project '<p>' does
    // not exist." is gcloud's rendering; the API message names the resource.
    ApiError::not_found(format!("Resource '{id}' of kind 'SERVICE' does not exist."))
}

/// The emulator-side view used by [`crate::Emulator::revisions`].
pub(crate) fn revisions(st: &State, service_name: &str) -> Vec<Revision> {
    st.canonical_resource(service_name)
        .ok()
        .and_then(|k| st.services.get(&k))
        .map(|s| s.revisions.iter().map(|r| r.rev.clone()).collect())
        .unwrap_or_default()
}

pub(crate) fn service_json(st: &State, name: &str) -> Option<Value> {
    let key = st.canonical_resource(name).ok()?;
    let svc = st.services.get(&key)?;
    let number = st.project(&svc.project_id)?.number;
    Some(svc.render(number))
}
