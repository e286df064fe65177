//! The Cloud Run service as the tool sees it: a small, comparable view.
//!
//! A live `Service` has dozens of fields, most owned by Cloud Run or by other
//! tools. [`ServiceView`] holds only what the config controls, normalized so
//! that equal intent compares equal (a secret named `s` and
//! `projects/<number>/secrets/s` are the same secret). The plan diffs two
//! views; the apply step writes the desired view onto the live service,
//! leaving every field it does not own as it was (labels, probes, VPC access,
//! sidecars...).
//!
//! The system-annotation rule is in `service/system.rs`, the unit tests in
//! `service/tests.rs`.

mod system;

use std::collections::BTreeMap;

use google_cloud_run_v2::model::{
    Container, EnvVar, EnvVarSource, ResourceRequirements, RevisionScaling, RevisionTemplate,
    SecretKeySelector, Service, env_var::Values,
};
use serde::{Deserialize, Serialize};

use sha2::{Digest, Sha256};

use crate::config::{Cpu, Memory, is_sensitive_name, redact_url_userinfo};

pub(crate) use system::drop_system_keys;
pub(crate) use system::system_keys;

/// The service annotation naming the revision that served before the last
/// deploy, promote or rollback by this tool: where `rollback` goes back to.
/// Custom annotation keys are accepted by Cloud Run v2; only the
/// `run.googleapis.com`, `cloud.googleapis.com`, `serving.knative.dev` and
/// `autoscaling.knative.dev` namespaces are refused (googleapis
/// `google/cloud/run/v2/service.proto`, `Service.annotations`). The
/// `autosre-deploy/` prefix is this tool's own, as for
/// [`crate::apply::rollout::RETRY_ANNOTATION`].
pub(crate) const PREVIOUS_ANNOTATION: &str = "autosre-deploy/previous-revision";
/// The revision template annotation naming the tool version that made it.
pub(crate) const VERSION_ANNOTATION: &str = "autosre-deploy/version";

/// An env var's value: plain text, or a reference to a secret version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum EnvValue {
    Plain(String),
    Secret {
        secret: String,
        version: String,
    },
    /// A plain value that must not be shown (see [`Sensitive`]): only in
    /// plans, never sent.
    Sensitive(Sensitive),
}

/// What a plan shows of a value it must not print: enough to see that it
/// changed, never the value. The hash prefix is 16 bits on purpose: it tells
/// two values apart with 99.998% odds, but is far too short for anyone to
/// confirm a guess of a weak password against it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Sensitive {
    pub(crate) bytes: usize,
    pub(crate) sha256_prefix: String,
}

impl Sensitive {
    pub(crate) fn of(value: &str) -> Sensitive {
        let hex = format!("{:x}", Sha256::digest(value.as_bytes()));
        Sensitive {
            bytes: value.len(),
            sha256_prefix: hex[..4].to_string(),
        }
    }
}

impl std::fmt::Display for Sensitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "(sensitive, {} bytes, sha256 {})",
            self.bytes, self.sha256_prefix
        )
    }
}

/// The most of a plain value a plan shows.
const SHOWN_BYTES: usize = 200;

impl EnvValue {
    /// How a plan shows it: a secret by its reference, a sensitive value by
    /// its size and hash prefix, never by the value.
    pub(crate) fn display(&self, sensitive: bool) -> String {
        match self {
            EnvValue::Plain(v) if sensitive => Sensitive::of(v).to_string(),
            // A value too long to read in a plan (a live one: the config
            // refuses values over Cloud Run's limit) by its start and size.
            EnvValue::Plain(v) if v.len() > SHOWN_BYTES => {
                let cut = (0..=SHOWN_BYTES)
                    .rev()
                    .find(|i| v.is_char_boundary(*i))
                    .unwrap_or(0);
                format!(
                    "{:?}... ({} bytes, sha256 {})",
                    redact_url_userinfo(&v[..cut]),
                    v.len(),
                    Sensitive::of(v).sha256_prefix
                )
            }
            EnvValue::Plain(v) => format!("{:?}", redact_url_userinfo(v)),
            EnvValue::Secret { secret, version } => format!("secret {secret}:{version}"),
            EnvValue::Sensitive(s) => s.to_string(),
        }
    }

    fn is_secret(&self) -> bool {
        matches!(self, EnvValue::Secret { .. })
    }
}

/// What the config controls of a service, normalized for comparison.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ServiceView {
    pub(crate) image: String,
    pub(crate) cpu: String,
    pub(crate) memory: String,
    pub(crate) timeout_seconds: i64,
    pub(crate) concurrency: i32,
    pub(crate) min_instances: i32,
    pub(crate) max_instances: i32,
    pub(crate) service_account: String,
    /// Public access without IAM: Cloud Run's `invokerIamDisabled` (skips
    /// the `run.routes.invoke` check; Google's recommended way to make a
    /// service public, and it works under domain-restricted sharing, where
    /// an `allUsers` binding is refused:
    /// https://cloud.google.com/run/docs/authenticating/public).
    #[serde(default)]
    pub(crate) invoker_iam_disabled: bool,
    /// Identity-Aware Proxy in front of the service: Cloud Run's `iapEnabled`
    /// (https://cloud.google.com/run/docs/securing/identity-aware-proxy-cloud-run).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) iap_enabled: bool,
    pub(crate) env: BTreeMap<String, EnvValue>,
    /// The labels the config asks for on the service and its revisions (the
    /// tool's `managed-by` among them); others' labels are neither shown nor
    /// touched. A live label counts only when the service and its template
    /// both carry it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) labels: BTreeMap<String, String>,
    /// The commit deployed (`commit-sha`): written with any change, never
    /// compared, so a new commit alone is no change (see `docs/configuration.md`).
    #[serde(skip)]
    pub(crate) commit_sha: Option<String>,
}

/// Diff fields that are fields of the Service, outside its template: a
/// change to only these makes no new revision.
pub(crate) const SERVICE_LEVEL_FIELDS: [&str; 2] = ["invoker_iam_disabled", "iap_enabled"];

impl ServiceView {
    /// The view as a plan may hold it: plain values of env vars whose name
    /// says credential are replaced by [`Sensitive`], and the userinfo of
    /// URLs in the others by `<redacted>`.
    pub(crate) fn redacted(&self) -> ServiceView {
        let mut out = self.clone();
        for (name, value) in out.env.iter_mut() {
            if let EnvValue::Plain(v) = value {
                *value = match is_sensitive_name(name) {
                    true => EnvValue::Sensitive(Sensitive::of(v)),
                    false => EnvValue::Plain(redact_url_userinfo(v).into_owned()),
                };
            }
        }
        out
    }
}

/// How a secret is named inside a service of `project`: its bare id when it
/// lives in the same project, its full name otherwise.
pub(crate) fn secret_in_service(project: &str, secret_project: &str, secret: &str) -> String {
    if secret_project == project {
        secret.to_string()
    } else {
        format!("projects/{secret_project}/secrets/{secret}")
    }
}

/// The view of a live service. `project_ids` are the names its own project
/// goes by (id and, when known, number), so a full secret name in the same
/// project normalizes to the bare id.
pub(crate) fn view_of(service: &Service, project_ids: &[&str]) -> ServiceView {
    let template = service.template.clone().unwrap_or_default();
    let container = template.containers.first().cloned().unwrap_or_default();
    let limits = container.resources.clone().unwrap_or_default().limits;
    let scaling = template.scaling.clone().unwrap_or_default();
    let env = container
        .env
        .iter()
        .map(|e| {
            let value = match &e.values {
                Some(Values::Value(v)) => EnvValue::Plain(v.clone()),
                Some(Values::ValueSource(src)) => {
                    let r = src.secret_key_ref.clone().unwrap_or_default();
                    EnvValue::Secret {
                        secret: normalize_secret(&r.secret, project_ids),
                        version: if r.version.is_empty() {
                            "latest".into()
                        } else {
                            r.version
                        },
                    }
                }
                None => EnvValue::Plain(String::new()),
                Some(_) => EnvValue::Plain(String::new()),
            };
            (e.name.clone(), value)
        })
        .collect();
    ServiceView {
        image: container.image.clone(),
        cpu: limits.get("cpu").cloned().unwrap_or_default(),
        memory: limits.get("memory").cloned().unwrap_or_default(),
        timeout_seconds: template.timeout.map(|d| d.seconds()).unwrap_or_default(),
        concurrency: template.max_instance_request_concurrency,
        min_instances: scaling.min_instance_count,
        max_instances: scaling.max_instance_count,
        service_account: template.service_account.clone(),
        invoker_iam_disabled: service.invoker_iam_disabled,
        iap_enabled: service.iap_enabled,
        env,
        labels: service
            .labels
            .iter()
            .filter(|(k, v)| template.labels.get(*k) == Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        commit_sha: None,
    }
}

fn normalize_secret(secret: &str, project_ids: &[&str]) -> String {
    let parts: Vec<&str> = secret.split('/').collect();
    match parts.as_slice() {
        ["projects", p, "secrets", s] if project_ids.contains(p) => (*s).to_string(),
        _ => secret.to_string(),
    }
}

/// The service to send: the live one (or a new one) with the view applied.
/// Fields the view does not own are kept; env is replaced as a whole, so env
/// vars not in the config are removed.
pub(crate) fn apply_view(live: Option<&Service>, name: &str, view: &ServiceView) -> Service {
    let mut service = live.cloned().unwrap_or_default();
    service.name = name.to_string();
    let mut template: RevisionTemplate = service.template.take().unwrap_or_default();
    // A fixed revision name would make every deploy collide; let Cloud Run name it.
    template.revision.clear();
    let mut containers = std::mem::take(&mut template.containers);
    if containers.is_empty() {
        containers.push(Container::default());
    }
    let first = &mut containers[0];
    first.image = view.image.clone();
    let mut resources: ResourceRequirements = first.resources.take().unwrap_or_default();
    resources.limits.insert("cpu".into(), view.cpu.clone());
    resources
        .limits
        .insert("memory".into(), view.memory.clone());
    first.resources = Some(resources);
    first.env = view
        .env
        .iter()
        .map(|(k, v)| {
            let e = EnvVar::new().set_name(k);
            match v {
                EnvValue::Plain(text) => e.set_value(text),
                // A redacted view is never applied: the service sent is
                // built from the config's view (`compute::desired`).
                EnvValue::Sensitive(_) => unreachable!("a redacted view is never sent"),
                EnvValue::Secret { secret, version } => e.set_value_source(
                    EnvVarSource::new().set_secret_key_ref(
                        SecretKeySelector::new()
                            .set_secret(secret)
                            .set_version(version),
                    ),
                ),
            }
        })
        .collect();
    template.containers = containers;
    template.timeout = Some(google_cloud_wkt::Duration::clamp(view.timeout_seconds, 0));
    template.max_instance_request_concurrency = view.concurrency;
    let scaling: RevisionScaling = template.scaling.take().unwrap_or_default();
    template.scaling = Some(
        scaling
            .set_min_instance_count(view.min_instances)
            .set_max_instance_count(view.max_instances),
    );
    template.service_account = view.service_account.clone();
    service.template = Some(template);
    service.invoker_iam_disabled = view.invoker_iam_disabled;
    service.iap_enabled = view.iap_enabled;
    // Ours on both, others' kept (as gcloud's `--update-labels`).
    for (k, v) in &view.labels {
        service.labels.insert(k.clone(), v.clone());
        if let Some(t) = service.template.as_mut() {
            t.labels.insert(k.clone(), v.clone());
        }
    }
    drop_system_keys(&mut service);
    service
}

/// One line of a service diff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FieldChange {
    pub(crate) field: String,
    pub(crate) op: Op,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) after: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Op {
    Add,
    Change,
    Remove,
}

/// Whether two values of `field` mean the same. Cloud Run reports quantities
/// in its own spelling (the default CPU comes back as `1000m`), so cpu and
/// memory compare by value; everything else by text.
fn same(field: &str, a: &str, b: &str) -> bool {
    match field {
        "cpu" => a == b || a.parse::<Cpu>().is_ok_and(|x| b.parse::<Cpu>() == Ok(x)),
        "memory" => {
            a == b
                || a.parse::<Memory>()
                    .is_ok_and(|x| b.parse::<Memory>() == Ok(x))
        }
        _ => a == b,
    }
}

/// One field's change, if any: absent before is an add, absent after a removal.
fn compare(field: String, before: Option<String>, after: Option<String>) -> Option<FieldChange> {
    let op = match (&before, &after) {
        (None, Some(_)) => Op::Add,
        (Some(_), None) => Op::Remove,
        (Some(b), Some(a)) if !same(&field, b, a) => Op::Change,
        _ => return None,
    };
    Some(FieldChange {
        field,
        op,
        before,
        after,
    })
}

/// Field-by-field difference from `live` (absent: a new service) to `desired`.
pub(crate) fn diff(live: Option<&ServiceView>, desired: &ServiceView) -> Vec<FieldChange> {
    // Scalars as people write them, in the order a plan lists them.
    let scalars = |v: &ServiceView| {
        [
            ("image", v.image.clone()),
            ("cpu", v.cpu.clone()),
            ("memory", v.memory.clone()),
            ("timeout", format!("{}s", v.timeout_seconds)),
            ("concurrency", v.concurrency.to_string()),
            ("min_instances", v.min_instances.to_string()),
            ("max_instances", v.max_instances.to_string()),
            ("service_account", v.service_account.clone()),
        ]
    };
    let before = live.map(scalars);
    let mut out: Vec<FieldChange> = scalars(desired)
        .into_iter()
        .enumerate()
        .filter_map(|(i, (field, after))| {
            compare(
                field.into(),
                before.as_ref().map(|b| b[i].1.clone()),
                Some(after),
            )
        })
        .collect();
    // Public access and IAP: shown when either side has them.
    let on = |flag: bool| flag.then(|| "true".to_string());
    for (field, before, after) in [
        (
            "invoker_iam_disabled",
            live.and_then(|v| on(v.invoker_iam_disabled)),
            on(desired.invoker_iam_disabled),
        ),
        (
            "iap_enabled",
            live.and_then(|v| on(v.iap_enabled)),
            on(desired.iap_enabled),
        ),
    ] {
        if before != after {
            out.push(FieldChange {
                field: field.into(),
                op: match after {
                    Some(_) => Op::Add,
                    None => Op::Remove,
                },
                before,
                after,
            });
        }
    }
    // Labels the config asks for, where the live service lacks them; a label
    // no longer asked for stays (it may be anyone's).
    out.extend(desired.labels.iter().filter_map(|(k, after)| {
        let before = live.and_then(|l| l.labels.get(k));
        compare(format!("labels.{k}"), before.cloned(), Some(after.clone()))
    }));
    // Env vars: every name in either, desired ones first, then removals.
    let empty = BTreeMap::new();
    let live_env = live.map(|l| &l.env).unwrap_or(&empty);
    let names = desired
        .env
        .keys()
        .chain(live_env.keys().filter(|k| !desired.env.contains_key(*k)));
    out.extend(names.filter_map(|k| {
        let (before, after) = (live_env.get(k), desired.env.get(k));
        // Values of an env var that is, or becomes, a secret reference are
        // credentials whatever the name; so are those of credential names.
        let sensitive = is_sensitive_name(k)
            || before.is_some_and(EnvValue::is_secret)
            || after.is_some_and(EnvValue::is_secret);
        // Decide on the values themselves; show only what may be shown.
        let op = match (before, after) {
            (None, Some(_)) => Op::Add,
            (Some(_), None) => Op::Remove,
            (Some(b), Some(a)) if b != a => Op::Change,
            _ => return None,
        };
        Some(FieldChange {
            field: format!("env.{k}"),
            op,
            before: before.map(|v| v.display(sensitive)),
            after: after.map(|v| v.display(sensitive)),
        })
    }));
    out
}

#[cfg(test)]
mod tests;
