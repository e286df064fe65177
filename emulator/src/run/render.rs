//! Services and revisions as Google returns them.

use serde_json::{Map, Value, json};

use super::{RevisionRec, RunService, SERVICE_TYPE, condition, service_key};
use crate::util::hash_hex;

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
        let hash: String = hash_hex(&[&project_number.to_string(), &self.id], 8)
            .chars()
            .take(10)
            .collect();
        let uri = format!(
            "https://{}-{hash}-{}.a.run.app",
            self.id,
            region_code(&self.region)
        );
        if let Some(ready) = &self.latest_ready {
            let served = self.served_traffic.as_ref().map(|t| {
                let mut m = serde_json::Map::new();
                m.insert("traffic".into(), t.clone());
                m
            });
            let statuses =
                super::traffic::statuses(served.as_ref().unwrap_or(&self.spec), ready, &uri);
            out.insert("trafficStatuses".into(), statuses.into());
        }
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

    pub(super) fn render_revision(&self, r: &RevisionRec) -> Value {
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
            super::failed("Ready", &r.rev.message, &r.rev.reason, at)
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

pub(super) fn with_type(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.shift_insert(0, "@type".into(), SERVICE_TYPE.into());
    }
    v
}
