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

use serde_json::{Map, Value, json};
use std::time::Instant;

use crate::error::ApiError;
use crate::state::State;
use crate::util::{hash_hex, letters_from, now_rfc3339, uuid_from};
use crate::world::VersionState;

const SERVICE_TYPE: &str = "type.googleapis.com/google.cloud.run.v2.Service";

/// Fields of a Service the server owns; anything a client sends for them is ignored.
const OUTPUT_ONLY: &[&str] = &[
    "name",
    "uid",
    "generation",
    "createTime",
    "updateTime",
    "deleteTime",
    "expireTime",
    "creator",
    "lastModifier",
    "observedGeneration",
    "terminalCondition",
    "conditions",
    "latestReadyRevision",
    "latestCreatedRevision",
    "trafficStatuses",
    "uri",
    "urls",
    "reconciling",
    "etag",
    "satisfiesPzs",
];

/// Roles that carry `secretmanager.versions.access` (IAM predefined roles reference).
const SECRET_READERS: &[&str] = &[
    "roles/secretmanager.secretAccessor",
    "roles/secretmanager.admin",
    "roles/owner",
];

/// One revision as the emulator tracks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// Short revision name, e.g. `api-00002-xyz`.
    pub name: String,
    /// Whether it became ready (false while its rollout is pending, or when it failed).
    pub ready: bool,
    /// The failure message, empty when ready or pending.
    pub message: String,
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
}

#[derive(Debug, Clone)]
enum Outcome {
    /// Spec-only change, nothing to roll out.
    NoRevision,
    Ready,
    Failed {
        status: &'static str,
        message: String,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Operation {
    name: String,
    service_key: String,
    polls: u32,
    needed: u32,
    done: bool,
    outcome: Outcome,
    metadata: Value,
    response: Option<Value>,
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

/// Two-letter region codes in `*.a.run.app` hosts, as seen in Cloud Run URLs; other regions
/// fall back to the initials of the region's first two words (an approximation).
fn region_code(region: &str) -> String {
    match region {
        "us-central1" => "uc".into(),
        "us-east1" => "ue".into(),
        "us-east4" => "uk".into(),
        "us-west1" => "uw".into(),
        "europe-west1" => "ew".into(),
        "europe-west2" => "nw".into(),
        "europe-west4" => "ez".into(),
        "asia-northeast1" => "an".into(),
        "asia-east1" => "de".into(),
        _ => region
            .split('-')
            .take(2)
            .filter_map(|w| w.chars().next())
            .collect(),
    }
}

fn project_or_denied<'a>(st: &'a State, p: &str) -> Result<&'a crate::state::Project, ApiError> {
    st.project(p).ok_or_else(|| {
        ApiError::permission_denied(format!("Permission denied on resource project {p}."))
    })
}

fn service_key(project_id: &str, region: &str, id: &str) -> String {
    format!("projects/{project_id}/locations/{region}/services/{id}")
}

fn not_found(id: &str) -> ApiError {
    // Cloud Run v2: "Resource '<id>' of kind 'SERVICE' in region '<r>' in project '<p>' does
    // not exist." is gcloud's rendering; the API message names the resource.
    ApiError::not_found(format!("Resource '{id}' of kind 'SERVICE' does not exist."))
}

/// Cloud Run service ids: "only lowercase alphanumeric characters and dashes, cannot begin
/// or end with a dash, and cannot be longer than 49 characters", starting with a letter
/// (cloud.google.com/run/docs/deploying, service name rules).
fn valid_service_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 49
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn is_cpu(s: &str) -> bool {
    let num = s.strip_suffix('m').unwrap_or(s);
    !num.is_empty()
        && num.chars().all(|c| c.is_ascii_digit() || c == '.')
        && num.parse::<f64>().is_ok_and(|v| v > 0.0)
        && !(s.ends_with('m') && num.contains('.'))
}

fn is_memory(s: &str) -> bool {
    // Kubernetes quantity syntax, as Cloud Run documents for --memory ("512Mi", "1Gi").
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    digits_end > 0
        && matches!(
            &s[digits_end..],
            "" | "k" | "K" | "M" | "G" | "T" | "Ki" | "Mi" | "Gi" | "Ti"
        )
}

/// A memory quantity in bytes (binary and decimal suffixes, as Kubernetes).
fn memory_bytes(s: &str) -> Option<u64> {
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..digits_end].parse().ok()?;
    let unit: u64 = match &s[digits_end..] {
        "" => 1,
        "k" | "K" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(unit)
}

/// CPUs as a number ("4", "0.5", "1000m").
fn cpu_count(s: &str) -> Option<f64> {
    match s.strip_suffix('m') {
        Some(milli) => milli.parse::<f64>().ok().map(|m| m / 1000.0),
        None => s.parse().ok(),
    }
}

/// Cloud Run's "Required minimum CPUs" for a memory limit: more than 4 GiB
/// needs 2, more than 8 GiB 4, more than 16 GiB 6, more than 24 GiB 8; at most
/// 32 GiB (cloud.google.com/run/docs/configuring/services/memory-limits).
/// Returns the largest memory allowed for `cpu`, as Google's message words it.
fn memory_ceiling(cpu: f64) -> (u64, &'static str) {
    const GI: u64 = 1 << 30;
    if cpu >= 8.0 {
        (32 * GI, "32Gi")
    } else if cpu >= 6.0 {
        (24 * GI, "24Gi")
    } else if cpu >= 4.0 {
        (16 * GI, "16Gi")
    } else if cpu >= 2.0 {
        (8 * GI, "8Gi")
    } else {
        (4 * GI, "4Gi")
    }
}

fn is_secret_ref(s: &str) -> bool {
    let id_ok = |id: &str| {
        !id.is_empty()
            && id.len() <= 255
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    match s.split('/').collect::<Vec<_>>().as_slice() {
        [id] => id_ok(id),
        ["projects", p, "secrets", id] => !p.is_empty() && id_ok(id),
        _ => false,
    }
}

/// Admission checks that Cloud Run applies synchronously to a Service write. The wording
/// of these messages is the emulator's; the rules come from the Cloud Run docs cited inline.
fn validate(spec: &Map<String, Value>) -> Result<(), ApiError> {
    let template = spec
        .get("template")
        .and_then(Value::as_object)
        .ok_or_else(|| ApiError::invalid("service.template: field is required"))?;
    let containers = template
        .get("containers")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            ApiError::invalid("service.template.containers: at least one container is required")
        })?;
    if let Some(t) = template.get("timeout").and_then(Value::as_str) {
        let ok = t
            .strip_suffix('s')
            .is_some_and(|n| n.parse::<f64>().is_ok_and(|v| (0.0..=3600.0).contains(&v)));
        if !ok {
            return Err(ApiError::invalid(format!(
                "service.template.timeout: invalid duration '{t}'"
            )));
        }
    }
    for (i, c) in containers.iter().enumerate() {
        let at = format!("service.template.containers[{i}]");
        if c.get("image")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(ApiError::invalid(format!("{at}.image: field is required")));
        }
        if let Some(limits) = c.pointer("/resources/limits").and_then(Value::as_object) {
            for (k, v) in limits {
                let v = v.as_str().unwrap_or_default();
                let ok = match k.as_str() {
                    "cpu" => is_cpu(v),
                    "memory" => is_memory(v),
                    _ => !v.is_empty(),
                };
                if !ok {
                    return Err(ApiError::invalid(format!(
                        "{at}.resources.limits.{k}: invalid quantity '{v}'"
                    )));
                }
            }
            // Cloud Run's default CPU limit is 1 when none is given.
            let cpu = limits
                .get("cpu")
                .and_then(Value::as_str)
                .and_then(cpu_count)
                .unwrap_or(1.0);
            let memory = limits
                .get("memory")
                .and_then(Value::as_str)
                .and_then(memory_bytes);
            let (ceiling, ceiling_text) = memory_ceiling(cpu);
            if memory.is_some_and(|m| m > ceiling) {
                // Google's wording, as gcloud prints it (e.g. in
                // github.com/googleapis/repo-automation-bots/issues/3875):
                // "spec.template.spec.containers[0].resources.limits.memory:
                // Invalid value specified for memory. For 1.0 CPU, memory must
                // be between 128Mi and 4Gi inclusive."
                return Err(ApiError::invalid(format!(
                    "spec.template.spec.containers[{i}].resources.limits.memory: Invalid value specified for memory. For {cpu:.1} CPU, memory must be between 128Mi and {ceiling_text} inclusive."
                )));
            }
        }
        let mut seen: Vec<&str> = Vec::new();
        for (j, e) in c
            .get("env")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = format!("{at}.env[{j}]");
            let name = e.get("name").and_then(Value::as_str).unwrap_or_default();
            if name.is_empty() || name.contains('=') {
                return Err(ApiError::invalid(format!(
                    "{at}.name: invalid environment variable name '{name}'"
                )));
            }
            // "The following environment variables are reserved: PORT, K_SERVICE,
            // K_REVISION, K_CONFIGURATION" (cloud.google.com/run/docs/container-contract).
            if ["PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"].contains(&name) {
                return Err(ApiError::invalid(format!(
                    "{at}.name: the environment variable name '{name}' is reserved"
                )));
            }
            if seen.contains(&name) {
                return Err(ApiError::invalid(format!(
                    "{at}.name: duplicate environment variable name '{name}'"
                )));
            }
            seen.push(name);
            let has_value = e.get("value").is_some();
            let source = e.get("valueSource");
            if has_value && source.is_some() {
                return Err(ApiError::invalid(format!(
                    "{at}: only one of value and valueSource may be set"
                )));
            }
            if let Some(src) = source {
                let r = src.get("secretKeyRef").ok_or_else(|| {
                    ApiError::invalid(format!("{at}.valueSource.secretKeyRef: field is required"))
                })?;
                let secret = r.get("secret").and_then(Value::as_str).unwrap_or_default();
                if !is_secret_ref(secret) {
                    return Err(ApiError::invalid(format!(
                        "{at}.valueSource.secretKeyRef.secret: invalid secret reference '{secret}'"
                    )));
                }
                // "Can be 'latest' for the latest version, an integer for a specific
                // version, or a version alias" (run.v2 discovery, SecretKeySelector.version).
                let version = r.get("version").and_then(Value::as_str).unwrap_or("latest");
                if version.is_empty()
                    || !version
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    return Err(ApiError::invalid(format!(
                        "{at}.valueSource.secretKeyRef.version: invalid version '{version}'"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Server defaults Cloud Run fills in, as `gcloud run services describe` shows them:
/// ingress all, launch stage GA, 100% to latest, 80 concurrent requests, 300s timeout,
/// 1 vCPU / 512Mi, port 8080, the Compute Engine default service account
/// (cloud.google.com/run/docs/configuring/services/* "default" values for each setting).
fn apply_defaults(spec: &mut Map<String, Value>, project_number: u64) {
    spec.entry("ingress")
        .or_insert("INGRESS_TRAFFIC_ALL".into());
    spec.entry("launchStage").or_insert("GA".into());
    let traffic_empty = spec
        .get("traffic")
        .and_then(Value::as_array)
        .is_none_or(|t| t.is_empty());
    if traffic_empty {
        spec.insert(
            "traffic".into(),
            json!([{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}]),
        );
    }
    let Some(t) = spec.get_mut("template").and_then(Value::as_object_mut) else {
        return;
    };
    t.entry("maxInstanceRequestConcurrency")
        .or_insert(80.into());
    t.entry("timeout").or_insert("300s".into());
    t.entry("serviceAccount")
        .or_insert(format!("{project_number}-compute@developer.gserviceaccount.com").into());
    let scaling = t.entry("scaling").or_insert(json!({}));
    if let Some(s) = scaling.as_object_mut() {
        s.entry("maxInstanceCount").or_insert(100.into());
    }
    let single = t
        .get("containers")
        .and_then(Value::as_array)
        .is_some_and(|c| c.len() == 1);
    if let Some(cs) = t.get_mut("containers").and_then(Value::as_array_mut) {
        for c in cs.iter_mut().filter_map(Value::as_object_mut) {
            let res = c.entry("resources").or_insert(json!({}));
            if let Some(r) = res.as_object_mut() {
                let limits = r.entry("limits").or_insert(json!({}));
                if let Some(l) = limits.as_object_mut() {
                    l.entry("cpu").or_insert("1000m".into());
                    l.entry("memory").or_insert("512Mi".into());
                }
                r.entry("cpuIdle").or_insert(true.into());
            }
            if single {
                c.entry("ports")
                    .or_insert(json!([{"name": "http1", "containerPort": 8080}]));
            }
        }
    }
}

fn clean_input(body: &Value) -> Result<Map<String, Value>, ApiError> {
    let mut spec = body
        .as_object()
        .cloned()
        .ok_or_else(|| ApiError::invalid("Invalid JSON payload: the Service must be an object."))?;
    for k in OUTPUT_ONLY {
        spec.remove(*k);
    }
    Ok(spec)
}

impl RunService {
    fn full_name(&self) -> String {
        service_key(&self.project_id, &self.region, &self.id)
    }

    fn revision_name(&self, short: &str) -> String {
        format!("{}/revisions/{short}", self.full_name())
    }

    /// The Service as Google returns it (enum names; the HTTP layer converts to ints).
    pub(crate) fn render(&self, project_number: u64) -> Value {
        let mut out = Map::new();
        out.insert("name".into(), self.full_name().into());
        out.insert("uid".into(), self.uid.clone().into());
        out.insert("generation".into(), self.generation.to_string().into());
        for (k, v) in &self.spec {
            out.insert(k.clone(), v.clone());
        }
        out.insert("createTime".into(), self.create_time.clone().into());
        out.insert("updateTime".into(), self.update_time.clone().into());
        out.insert("creator".into(), self.creator.clone().into());
        out.insert("lastModifier".into(), self.last_modifier.clone().into());
        out.insert(
            "observedGeneration".into(),
            self.observed_generation.to_string().into(),
        );
        out.insert("terminalCondition".into(), self.terminal.clone());
        out.insert("conditions".into(), Value::Array(self.conditions.clone()));
        if let Some(r) = &self.latest_ready {
            out.insert("latestReadyRevision".into(), self.revision_name(r).into());
        }
        if let Some(r) = &self.latest_created {
            out.insert("latestCreatedRevision".into(), self.revision_name(r).into());
        }
        if self.latest_ready.is_some() {
            let statuses: Vec<Value> = self
                .spec
                .get("traffic")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|t| {
                    let mut s = Map::new();
                    for k in ["type", "revision", "percent", "tag"] {
                        if let Some(v) = t.get(k) {
                            s.insert(k.into(), v.clone());
                        }
                    }
                    Value::Object(s)
                })
                .collect();
            out.insert("trafficStatuses".into(), statuses.into());
        }
        let hash: String = hash_hex(&[&project_number.to_string(), &self.id], 8)
            .chars()
            .take(10)
            .collect();
        let uri = format!(
            "https://{}-{hash}-{}.a.run.app",
            self.id,
            region_code(&self.region)
        );
        out.insert("uri".into(), uri.clone().into());
        out.insert(
            "urls".into(),
            json!([
                format!(
                    "https://{}-{project_number}.{}.run.app",
                    self.id, self.region
                ),
                uri
            ]),
        );
        if self.reconciling {
            out.insert("reconciling".into(), true.into());
        }
        out.insert("etag".into(), self.etag.clone().into());
        Value::Object(out)
    }

    fn render_revision(&self, r: &RevisionRec) -> Value {
        let mut out = Map::new();
        out.insert("name".into(), self.revision_name(&r.rev.name).into());
        out.insert("uid".into(), r.uid.clone().into());
        out.insert("generation".into(), "1".into());
        let t = r.template.as_object().cloned().unwrap_or_default();
        for k in ["labels", "annotations"] {
            if let Some(v) = t.get(k) {
                out.insert(k.into(), v.clone());
            }
        }
        out.insert("createTime".into(), r.create_time.clone().into());
        out.insert("updateTime".into(), r.create_time.clone().into());
        if let Some(ls) = self.spec.get("launchStage") {
            out.insert("launchStage".into(), ls.clone());
        }
        out.insert("service".into(), self.full_name().into());
        for k in [
            "scaling",
            "vpcAccess",
            "maxInstanceRequestConcurrency",
            "timeout",
            "serviceAccount",
            "containers",
            "volumes",
            "executionEnvironment",
            "encryptionKey",
            "sessionAffinity",
            "nodeSelector",
        ] {
            if let Some(v) = t.get(k) {
                out.insert(k.into(), v.clone());
            }
        }
        let at = &r.create_time;
        let cond = if r.pending {
            condition("Ready", "CONDITION_RECONCILING", None, at)
        } else if r.rev.ready {
            condition("Ready", "CONDITION_SUCCEEDED", None, at)
        } else {
            condition("Ready", "CONDITION_FAILED", Some(&r.rev.message), at)
        };
        out.insert("conditions".into(), json!([cond]));
        out.insert("observedGeneration".into(), "1".into());
        if r.pending {
            out.insert("reconciling".into(), true.into());
        }
        out.insert("etag".into(), format!("\"{}\"", &r.uid[..8]).into());
        Value::Object(out)
    }
}

/// Resolves a secret version reference the way Cloud Run does for `secretKeyRef`.
/// "latest" is the most recently created version whatever its state: Secret Manager docs,
/// "Access a secret version": "the latest alias ... refers to the most recently created
/// version" (cloud.google.com/secret-manager/docs/access-secret-version); a disabled latest
/// version is not skipped.
fn secret_problems(
    st: &State,
    project_id: &str,
    template: &Value,
    now: Instant,
) -> (Vec<String>, bool) {
    let mut problems = Vec::new();
    let mut denied = false;
    let sa = template
        .get("serviceAccount")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let member = format!("serviceAccount:{sa}");
    for (i, c) in template
        .get("containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        for (j, e) in c
            .get("env")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
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
            let readable = [key.as_str(), &format!("projects/{}", project.id)]
                .iter()
                .any(|res| {
                    st.policies
                        .get(*res)
                        .is_some_and(|p| p.grants(&member, SECRET_READERS, now, st.iam_propagation))
                });
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
                Some(_) => {}
            }
        }
    }
    (problems, denied)
}

/// Applies a finished rollout to the service.
fn finalize(st: &mut State, op_name: &str) {
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
            Outcome::NoRevision => {}
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
            Outcome::Failed { message, .. } => {
                if let Some(r) = svc
                    .revisions
                    .iter_mut()
                    .find(|r| Some(&r.rev.name) == rev.as_ref())
                {
                    r.pending = false;
                    r.rev.ready = false;
                    r.rev.message = message.clone();
                }
                svc.terminal = condition("Ready", "CONDITION_FAILED", Some(message), &at);
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
        if !matches!(op.outcome, Outcome::Failed { .. }) {
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

fn with_type(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.shift_insert(0, "@type".into(), SERVICE_TYPE.into());
    }
    v
}

fn operation_json(op: &Operation) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), op.name.clone().into());
    out.insert("metadata".into(), op.metadata.clone());
    out.insert("done".into(), op.done.into());
    if op.done {
        match &op.outcome {
            Outcome::Failed { status, message } => {
                out.insert(
                    "error".into(),
                    json!({"code": ApiError::rpc_code(status), "message": message}),
                );
            }
            _ => {
                if let Some(r) = &op.response {
                    out.insert("response".into(), r.clone());
                }
            }
        }
    }
    Value::Object(out)
}

/// What a write asks for.
pub(crate) struct Write<'a> {
    pub(crate) project: &'a str,
    pub(crate) region: &'a str,
    pub(crate) id: &'a str,
    pub(crate) body: &'a Value,
    pub(crate) update_mask: Option<&'a str>,
    pub(crate) validate_only: bool,
    pub(crate) create: bool,
    pub(crate) allow_missing: bool,
    pub(crate) force_new_revision: bool,
}

/// services.create and services.patch.
pub(crate) fn write(st: &mut State, w: Write<'_>, now: Instant) -> Result<Value, ApiError> {
    let project = project_or_denied(st, w.project)?.clone();
    let key = service_key(&project.id, w.region, w.id);
    if w.create && !valid_service_id(w.id) {
        return Err(ApiError::invalid(format!(
            "Invalid service id '{}': must use only lowercase alphanumeric characters and \
             dashes, begin with a letter, not end with a dash, and be at most 49 characters.",
            w.id
        )));
    }
    if !w.validate_only
        && let Some(pending) = st.services.get(&key).and_then(|s| s.pending_op.clone())
    {
        // A new write supersedes the rollout in flight; settle that one first.
        finalize(st, &pending);
    }
    let existing = st.services.get(&key).cloned();
    match (&existing, w.create) {
        (Some(_), true) => {
            // Terraform shows Google's text: "Error 409: Resource 'x' already exists."
            return Err(ApiError::already_exists(format!(
                "Resource '{}' already exists.",
                w.id
            )));
        }
        (None, false) if !w.allow_missing => return Err(not_found(w.id)),
        _ => {}
    }
    // AIP-154: a stale etag on an update is rejected with ABORTED.
    if let (Some(svc), Some(etag)) = (&existing, w.body.get("etag").and_then(Value::as_str))
        && !etag.is_empty()
        && etag != svc.etag
    {
        return Err(ApiError::aborted(format!(
            "The etag '{etag}' does not match the current etag of service '{}'.",
            w.id
        )));
    }
    let input = clean_input(w.body)?;
    let mut spec = match (&existing, w.update_mask) {
        (Some(svc), Some(mask)) if !mask.trim().is_empty() && mask.trim() != "*" => {
            let mut spec = svc.spec.clone();
            for path in mask.split(',').map(str::trim) {
                let top = path.split('.').next().unwrap_or(path);
                match input.get(top) {
                    Some(v) => {
                        spec.insert(top.to_string(), v.clone());
                    }
                    None => {
                        spec.remove(top);
                    }
                }
            }
            spec
        }
        _ => input,
    };
    apply_defaults(&mut spec, project.number);
    validate(&spec)?;
    let salt = st.next_salt();
    let at = now_rfc3339();
    let template = spec.get("template").cloned().unwrap_or(Value::Null);
    let mut svc = existing.clone().unwrap_or_else(|| RunService {
        project_id: project.id.clone(),
        region: w.region.to_string(),
        id: w.id.to_string(),
        uid: uuid_from(&format!("{key}:{salt}")),
        spec: Map::new(),
        generation: 0,
        observed_generation: 0,
        create_time: at.clone(),
        update_time: at.clone(),
        creator: st.caller.clone(),
        last_modifier: st.caller.clone(),
        etag: String::new(),
        revisions: Vec::new(),
        revision_counter: 0,
        latest_created: None,
        latest_ready: None,
        terminal: Value::Null,
        conditions: Vec::new(),
        reconciling: false,
        pending_op: None,
    });
    let spec_changed = existing.is_none() || svc.spec != spec;
    let template_changed =
        existing.is_none() || w.force_new_revision || svc.spec.get("template") != Some(&template);
    svc.spec = spec;
    if spec_changed {
        svc.generation += 1;
        svc.update_time = at.clone();
        svc.last_modifier = st.caller.clone();
        svc.etag = format!(
            "\"{}\"",
            crate::util::b64(&crate::util::hash_bytes(&[&salt])[..12])
        );
    }
    let outcome = if template_changed {
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
        let (problems, denied) = secret_problems(st, &project.id, &template, now);
        svc.revisions.push(RevisionRec {
            rev: Revision {
                name: name.clone(),
                ready: false,
                message: String::new(),
            },
            template: template.clone(),
            create_time: at.clone(),
            uid: uuid_from(&format!("{key}:{name}:{salt}")),
            pending: true,
        });
        svc.latest_created = Some(name.clone());
        if problems.is_empty() {
            Outcome::Ready
        } else {
            // Observed operation errors: code 9 (FAILED_PRECONDITION) for a permission
            // failure, code 13 (INTERNAL) for a missing secret (Terraform output quoting the
            // v2 operation's `error`).
            Outcome::Failed {
                status: if denied {
                    "FAILED_PRECONDITION"
                } else {
                    "INTERNAL"
                },
                message: format!(
                    "Revision '{name}' is not ready and cannot serve traffic. {}",
                    problems.join("\n")
                ),
            }
        }
    } else {
        Outcome::NoRevision
    };
    if spec_changed || template_changed {
        svc.reconciling = true;
        svc.terminal = condition("Ready", "CONDITION_RECONCILING", None, &at);
    }
    let op_name = format!(
        "projects/{}/locations/{}/operations/{}",
        project.id,
        w.region,
        uuid_from(&format!("op:{key}:{salt}"))
    );
    if w.validate_only {
        // Nothing persists; answer the would-be Service as a finished operation.
        let v = with_type(svc.render(project.number));
        return Ok(json!({"name": op_name, "metadata": v, "done": true, "response": v}));
    }
    svc.pending_op = Some(op_name.clone());
    let metadata = with_type(svc.render(project.number));
    st.services.insert(key.clone(), svc);
    st.operations.insert(
        op_name.clone(),
        Operation {
            name: op_name.clone(),
            service_key: key,
            polls: 0,
            needed: st.operation_polls,
            done: false,
            outcome,
            metadata,
            response: None,
        },
    );
    if st.operation_polls == 0 {
        finalize(st, &op_name);
    }
    Ok(operation_json(&st.operations[&op_name]))
}

/// A world-file service: deployed and ready, whatever its secrets say.
pub(crate) fn seed_service(
    st: &mut State,
    project_id: &str,
    region: &str,
    mut service: Value,
) -> Result<String, ApiError> {
    let id = service
        .get("name")
        .and_then(Value::as_str)
        .map(|n| n.rsplit('/').next().unwrap_or(n).to_string())
        .ok_or_else(|| ApiError::invalid("a world service needs a `name`"))?;
    if let Some(o) = service.as_object_mut() {
        o.remove("name");
    }
    let w = Write {
        project: project_id,
        region,
        id: &id,
        body: &service,
        update_mask: None,
        validate_only: false,
        create: true,
        allow_missing: false,
        force_new_revision: false,
    };
    let op = write(st, w, Instant::now())?;
    let op_name = op["name"].as_str().unwrap_or_default().to_string();
    if let Some(o) = st.operations.get_mut(&op_name) {
        o.outcome = Outcome::Ready;
    }
    finalize(st, &op_name);
    st.operations.remove(&op_name);
    Ok(service_key(project_id, region, &id))
}

pub(crate) fn get(st: &State, project: &str, region: &str, id: &str) -> Result<Value, ApiError> {
    let p = project_or_denied(st, project)?;
    st.services
        .get(&service_key(&p.id, region, id))
        .map(|s| s.render(p.number))
        .ok_or_else(|| not_found(id))
}

pub(crate) fn list(st: &State, project: &str, region: &str) -> Result<Value, ApiError> {
    let p = project_or_denied(st, project)?;
    let services: Vec<Value> = st
        .services
        .values()
        .filter(|s| s.project_id == p.id && (region == "-" || s.region == region))
        .map(|s| s.render(p.number))
        .collect();
    Ok(if services.is_empty() {
        json!({})
    } else {
        json!({"services": services})
    })
}

pub(crate) fn delete(
    st: &mut State,
    project: &str,
    region: &str,
    id: &str,
    validate_only: bool,
) -> Result<Value, ApiError> {
    let p = project_or_denied(st, project)?.clone();
    let key = service_key(&p.id, region, id);
    let svc = st
        .services
        .get(&key)
        .cloned()
        .ok_or_else(|| not_found(id))?;
    let rendered = with_type(svc.render(p.number));
    let salt = st.next_salt();
    let op_name = format!(
        "projects/{}/locations/{region}/operations/{}",
        p.id,
        uuid_from(&format!("op:{key}:{salt}"))
    );
    if validate_only {
        return Ok(
            json!({"name": op_name, "metadata": rendered, "done": true, "response": rendered}),
        );
    }
    st.services.remove(&key);
    st.policies.remove(&key);
    st.operations.insert(
        op_name.clone(),
        Operation {
            name: op_name.clone(),
            service_key: key,
            polls: 0,
            needed: st.operation_polls,
            done: st.operation_polls == 0,
            outcome: Outcome::NoRevision,
            metadata: rendered.clone(),
            response: Some(rendered),
        },
    );
    Ok(operation_json(&st.operations[&op_name]))
}

pub(crate) fn get_operation(st: &mut State, name: &str) -> Result<Value, ApiError> {
    let op = st
        .operations
        .get_mut(name)
        .ok_or_else(|| ApiError::not_found(format!("Operation '{name}' not found.")))?;
    op.polls += 1;
    if !op.done && op.polls >= op.needed {
        finalize(st, name);
        if let Some(o) = st.operations.get_mut(name) {
            o.done = true;
        }
    }
    Ok(operation_json(&st.operations[name]))
}

/// operations.wait: settles the operation at once.
pub(crate) fn wait_operation(st: &mut State, name: &str) -> Result<Value, ApiError> {
    if !st.operations.contains_key(name) {
        return Err(ApiError::not_found(format!(
            "Operation '{name}' not found."
        )));
    }
    finalize(st, name);
    if let Some(o) = st.operations.get_mut(name) {
        o.done = true;
    }
    Ok(operation_json(&st.operations[name]))
}

pub(crate) fn list_operations(st: &State, project: &str, region: &str) -> Result<Value, ApiError> {
    let p = project_or_denied(st, project)?;
    let prefix = format!("projects/{}/locations/{region}/operations/", p.id);
    let ops: Vec<Value> = st
        .operations
        .values()
        .filter(|o| o.name.starts_with(&prefix))
        .map(operation_json)
        .collect();
    Ok(if ops.is_empty() {
        json!({})
    } else {
        json!({"operations": ops})
    })
}

pub(crate) fn delete_operation(st: &mut State, name: &str) -> Result<Value, ApiError> {
    st.operations
        .remove(name)
        .map(|_| json!({}))
        .ok_or_else(|| ApiError::not_found(format!("Operation '{name}' not found.")))
}

pub(crate) fn get_revision(
    st: &State,
    project: &str,
    region: &str,
    id: &str,
    rev: &str,
) -> Result<Value, ApiError> {
    let p = project_or_denied(st, project)?;
    let svc = st
        .services
        .get(&service_key(&p.id, region, id))
        .ok_or_else(|| not_found(id))?;
    svc.revisions
        .iter()
        .find(|r| r.rev.name == rev)
        .map(|r| svc.render_revision(r))
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Resource '{rev}' of kind 'REVISION' does not exist."
            ))
        })
}

pub(crate) fn list_revisions(
    st: &State,
    project: &str,
    region: &str,
    id: &str,
) -> Result<Value, ApiError> {
    let p = project_or_denied(st, project)?;
    let svc = st
        .services
        .get(&service_key(&p.id, region, id))
        .ok_or_else(|| not_found(id))?;
    // Newest first, as Cloud Run lists revisions.
    let revs: Vec<Value> = svc
        .revisions
        .iter()
        .rev()
        .map(|r| svc.render_revision(r))
        .collect();
    Ok(json!({"revisions": revs}))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_and_references_are_checked() {
        assert!(is_cpu("1") && is_cpu("1000m") && is_cpu("0.5") && !is_cpu("fast") && !is_cpu(""));
        assert!(is_memory("512Mi") && is_memory("1Gi") && !is_memory("1 GB") && !is_memory("Mi"));
        assert!(is_secret_ref("db-pass") && is_secret_ref("projects/acme/secrets/db"));
        assert!(!is_secret_ref("projects/acme/db") && !is_secret_ref(""));
        assert!(valid_service_id("api-1") && !valid_service_id("Api") && !valid_service_id("-a"));
    }

    #[test]
    fn memory_needs_the_documented_minimum_cpus() {
        // cloud.google.com/run/docs/configuring/services/memory-limits
        let gi = 1u64 << 30;
        assert_eq!(memory_bytes("16Gi"), Some(16 * gi));
        assert_eq!(memory_bytes("512Mi"), Some(512 << 20));
        assert_eq!(cpu_count("1000m"), Some(1.0));
        assert_eq!(memory_ceiling(1.0).0, 4 * gi);
        assert_eq!(memory_ceiling(2.0).0, 8 * gi);
        assert_eq!(memory_ceiling(4.0).0, 16 * gi);
        assert_eq!(memory_ceiling(6.0).0, 24 * gi);
        assert_eq!(memory_ceiling(8.0).0, 32 * gi);
    }
}
