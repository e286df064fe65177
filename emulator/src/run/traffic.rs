//! Traffic: what a request may ask (`Service.traffic`) and what serves (`trafficStatuses`).
//!
//! Modelled from googleapis `google/cloud/run/v2/traffic_target.proto` and `service.proto`,
//! and cloud.google.com/run/docs/rollouts-rollbacks-traffic-migration:
//! - a target is `TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST` (the latest *ready* revision, so it
//!   follows each new revision that becomes ready) or `_REVISION` (by name; it stays);
//!   `percent` defaults to 0; an empty `traffic` is 100% to LATEST;
//! - the percents of a request total 100 (gcloud `api_lib/run/traffic.py` checks the same
//!   before it sends);
//! - "Combined traffic tag and service name cannot exceed 46 characters" (Cloud Run's message,
//!   field `spec.traffic.tag`, as gcloud and Terraform users quote it); a tag is a DNS label
//!   part, so lowercase letters, digits and dashes;
//! - `trafficStatuses` are output only: each target as it serves, with `uri` for a tagged
//!   one. Google's form of that URL is `https://TAG---SERVICE-HASH-REGION.a.run.app`
//!   (observed); the emulator builds it from the service's own URL. A LATEST status names the
//!   revision it resolved to, as Knative's route status does; a client must accept it
//!   without a name too.

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::util::items;

const LATEST: &str = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST";

/// Whether a target is LATEST (by enum name or number).
pub(super) fn is_latest(t: &Value) -> bool {
    match t.get("type") {
        Some(Value::String(s)) => s == LATEST,
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        // No type and no revision: the latest revision.
        _ => t
            .get("revision")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty),
    }
}

fn percent(t: &Value) -> i64 {
    match t.get("percent") {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

/// Refuses a `traffic` Cloud Run would refuse.
pub(super) fn validate(spec: &Map<String, Value>, service_id: &str) -> Result<(), ApiError> {
    let targets: Vec<&Value> = items(spec.get("traffic")).collect();
    if targets.is_empty() {
        return Ok(());
    }
    let mut tags = std::collections::BTreeSet::new();
    let mut total = 0;
    for t in &targets {
        let p = percent(t);
        if !(0..=100).contains(&p) {
            return Err(ApiError::invalid(format!(
                "spec.traffic.percent: Invalid value: {p}: must be between 0 and 100"
            )));
        }
        total += p;
        if !is_latest(t)
            && t.get("revision")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        {
            return Err(ApiError::invalid(
                "spec.traffic.revision: a target of type REVISION needs a revision name",
            ));
        }
        let Some(tag) = t
            .get("tag")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        else {
            continue;
        };
        if tag.len() + service_id.len() > 46 {
            return Err(ApiError::invalid(
                "spec.traffic.tag: Combined traffic tag and service name cannot exceed 46 characters.",
            ));
        }
        let dns = tag
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !dns || tag.starts_with('-') || tag.ends_with('-') {
            return Err(ApiError::invalid(format!(
                "spec.traffic.tag: Invalid value: '{tag}': a tag must consist of lowercase letters, digits and dashes"
            )));
        }
        if !tags.insert(tag.to_string()) {
            return Err(ApiError::invalid(format!(
                "spec.traffic.tag: Multiple definitions for '{tag}'"
            )));
        }
    }
    if total != 100 {
        return Err(ApiError::invalid(format!(
            "spec.traffic: Invalid value: {total}: traffic targets sum to {total}, want 100"
        )));
    }
    Ok(())
}

/// `trafficStatuses`: each requested target as it serves, LATEST resolved to `latest_ready`,
/// a tagged one with its URL (`uri` is the service's own URL).
pub(super) fn statuses(spec: &Map<String, Value>, latest_ready: &str, uri: &str) -> Vec<Value> {
    items(spec.get("traffic"))
        .map(|t| {
            let mut s = Map::new();
            for k in ["type", "revision", "percent", "tag"] {
                if let Some(v) = t.get(k) {
                    s.insert(k.into(), v.clone());
                }
            }
            if is_latest(t) {
                s.insert("type".into(), LATEST.into());
                s.insert("revision".into(), latest_ready.into());
            }
            if let Some(tag) = t
                .get("tag")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                let host = uri.strip_prefix("https://").unwrap_or(uri);
                s.insert("uri".into(), format!("https://{tag}---{host}").into());
            }
            Value::Object(s)
        })
        .collect()
}

/// Revision names a target of the request names (REVISION targets).
pub(super) fn named(spec: &Map<String, Value>) -> Vec<String> {
    items(spec.get("traffic"))
        .filter(|t| !is_latest(t))
        .filter_map(|t| t.get("revision").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

/// Revision names a target of the request sends traffic to (REVISION targets above 0%).
pub(super) fn named_serving(spec: &Map<String, Value>) -> Vec<String> {
    items(spec.get("traffic"))
        .filter(|t| !is_latest(t) && percent(t) > 0)
        .filter_map(|t| t.get("revision").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}
