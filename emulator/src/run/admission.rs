//! Admission: the checks Cloud Run applies synchronously to a Service write (names,
//! quantities, env vars, secret references) and the server defaults it fills in.

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::util::items;
use autosre_types::{Cpu, Memory, check_cpu_memory};

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

/// Cloud Run service ids: "only lowercase alphanumeric characters and dashes, cannot begin
/// or end with a dash, and cannot be longer than 49 characters", starting with a letter
/// (cloud.google.com/run/docs/deploying, service name rules).
pub(super) fn valid_service_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 49
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
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
pub(super) fn validate(spec: &Map<String, Value>) -> Result<(), ApiError> {
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
            check_limits(i, limits)?;
        }
        let mut seen: Vec<&str> = Vec::new();
        for (j, e) in items(c.get("env")).enumerate() {
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

/// A container's `resources.limits`: each CPU and memory quantity parsed by `autosre-types`,
/// the crate the deploy tool parses its config with, so the two accept exactly the same
/// spellings (Kubernetes quantities, as Cloud Run documents for `--cpu` and `--memory`) and
/// apply the same CPU/memory table
/// (<https://cloud.google.com/run/docs/configuring/services/cpu>, "CPU and memory table").
fn check_limits(i: usize, limits: &Map<String, Value>) -> Result<(), ApiError> {
    let at = format!("service.template.containers[{i}].resources.limits");
    let quantity = |k: &str| limits.get(k).map(|v| v.as_str().unwrap_or_default());
    for (k, v) in limits {
        if !["cpu", "memory"].contains(&k.as_str()) && v.as_str().is_none_or(str::is_empty) {
            return Err(ApiError::invalid(format!(
                "{at}.{k}: invalid quantity '{}'",
                v.as_str().unwrap_or_default()
            )));
        }
    }
    // The emulator's wording: Google's for a malformed or unsupported quantity is not
    // documented.
    let cpu = match quantity("cpu") {
        Some(v) => v
            .parse::<Cpu>()
            .map_err(|e| ApiError::invalid(format!("{at}.cpu: invalid quantity '{v}': {e}")))?,
        // Cloud Run's default CPU limit is 1 when none is given.
        None => Cpu::DEFAULT,
    };
    let memory =
        match quantity("memory") {
            Some(v) => Some(v.parse::<Memory>().map_err(|e| {
                ApiError::invalid(format!("{at}.memory: invalid quantity '{v}': {e}"))
            })?),
            None => None,
        };
    if let Some(memory) = memory {
        // Google's wording is the error's Display, as gcloud prints it (e.g. in
        // github.com/googleapis/repo-automation-bots/issues/3875):
        // "spec.template.spec.containers[0].resources.limits.memory: Invalid value specified
        // for memory. For 1.0 CPU, memory must be between 128Mi and 4Gi inclusive."
        check_cpu_memory(cpu, memory).map_err(|e| {
            ApiError::invalid(format!(
                "spec.template.spec.containers[{i}].resources.limits.memory: {e}"
            ))
        })?;
    }
    Ok(())
}

/// Server defaults Cloud Run fills in, as `gcloud run services describe` shows them:
/// ingress all, launch stage GA, 100% to latest, 80 concurrent requests, 300s timeout,
/// 1 vCPU / 512Mi, port 8080, the Compute Engine default service account
/// (cloud.google.com/run/docs/configuring/services/* "default" values for each setting).
pub(super) fn apply_defaults(spec: &mut Map<String, Value>, project_number: u64) {
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

pub(super) fn clean_input(body: &Value) -> Result<Map<String, Value>, ApiError> {
    let mut spec = body
        .as_object()
        .cloned()
        .ok_or_else(|| ApiError::invalid("Invalid JSON payload: the Service must be an object."))?;
    for k in OUTPUT_ONLY {
        spec.remove(*k);
    }
    Ok(spec)
}

/// Annotation and label namespaces Cloud Run v2 keeps for itself: "Cloud Run API v2 does not
/// support annotations with `run.googleapis.com`, `cloud.googleapis.com`,
/// `serving.knative.dev`, or `autoscaling.knative.dev` namespaces, and they will be rejected"
/// (run.v2 discovery, `Service.annotations`; the same for labels and the template's).
const SYSTEM_NAMESPACES: &[&str] = &[
    "run.googleapis.com",
    "cloud.googleapis.com",
    "serving.knative.dev",
    "autoscaling.knative.dev",
];

fn is_system_key(key: &str) -> bool {
    key.split_once('/')
        .is_some_and(|(ns, _)| SYSTEM_NAMESPACES.contains(&ns))
}

/// Refuses system annotations and labels in what a client sends (`input`, restricted to the
/// top-level fields of the update mask when there is one). Google's wording: "Violation in
/// CreateServiceRequest.service.template.annotations[autoscaling.knative.dev/maxScale]: system
/// annotations are not supported in Cloud Run API v2." (GoogleCloudPlatform/avocano#238),
/// with a `google.rpc.BadRequest` field violation naming the same path.
pub(super) fn check_reserved_keys(
    input: &Map<String, Value>,
    mask: Option<&[&str]>,
    request: &str,
) -> Result<(), ApiError> {
    let sent = |field: &str| mask.is_none_or(|m| m.contains(&field));
    let mut places: Vec<(String, &Value)> = Vec::new();
    for kind in ["annotations", "labels"] {
        if sent(kind)
            && let Some(v) = input.get(kind)
        {
            places.push((format!("service.{kind}"), v));
        }
        if sent("template")
            && let Some(v) = input.get("template").and_then(|t| t.get(kind))
        {
            places.push((format!("service.template.{kind}"), v));
        }
    }
    for (at, map) in places {
        let Some(key) = map
            .as_object()
            .and_then(|m| m.keys().find(|k| is_system_key(k)))
        else {
            continue;
        };
        let what = if at.ends_with("labels") {
            "labels"
        } else {
            "annotations"
        };
        let field = format!("{at}[{key}]");
        let description = format!("system {what} are not supported in Cloud Run API v2.");
        return Err(
            ApiError::invalid(format!("Violation in {request}.{field}: {description}"))
                .with_detail(json!({
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": field, "description": description}],
                })),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_references_are_checked() {
        assert!(is_secret_ref("db-pass") && is_secret_ref("projects/acme/secrets/db"));
        assert!(!is_secret_ref("projects/acme/db") && !is_secret_ref(""));
        assert!(valid_service_id("api-1") && !valid_service_id("Api") && !valid_service_id("-a"));
    }

    #[test]
    fn system_annotations_are_refused_where_sent() {
        let input = json!({"template": {"annotations": {"run.googleapis.com/startup-cpu-boost": "true"}},
            "labels": {"team": "sre"}});
        let input = input.as_object().unwrap();
        let e = check_reserved_keys(input, None, "UpdateServiceRequest").unwrap_err();
        assert_eq!(
            e.message,
            "Violation in UpdateServiceRequest.service.template.annotations[run.googleapis.com/startup-cpu-boost]: system annotations are not supported in Cloud Run API v2."
        );
        assert_eq!(
            e.details[0]["fieldViolations"][0]["field"],
            "service.template.annotations[run.googleapis.com/startup-cpu-boost]"
        );
        // An update mask that leaves the template out does not send it.
        assert!(check_reserved_keys(input, Some(&["labels"]), "UpdateServiceRequest").is_ok());
    }
}
