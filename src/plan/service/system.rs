//! Cloud Run's system annotations and labels: which keys they are, which a
//! live service carries, and dropping them from the service to send.
//!
//! Its own file because it is a rule about Cloud Run's API (keys it refuses
//! in a v2 request), not about the view the config controls.

use google_cloud_run_v2::model::Service;

/// The annotation and label namespaces Cloud Run v2 refuses in a request
/// ("system annotations are not supported in Cloud Run API v2", run.v2
/// discovery, `Service.annotations`; GoogleCloudPlatform/avocano#238). A
/// service first deployed with gcloud may carry some; sent back, they would
/// fail every deploy.
const SYSTEM_PREFIXES: [&str; 4] = [
    "run.googleapis.com/",
    "cloud.googleapis.com/",
    "serving.knative.dev/",
    "autoscaling.knative.dev/",
];

fn is_system_key(key: &str) -> bool {
    SYSTEM_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// The system keys the live service carries, which an update drops
/// (`annotations.KEY`, `labels.KEY`, `template.annotations.KEY`, ...).
pub(crate) fn system_keys(service: &Service) -> Vec<String> {
    let mut out = Vec::new();
    let mut from = |what: &str, keys: &mut dyn Iterator<Item = &String>| {
        out.extend(
            keys.filter(|k| is_system_key(k))
                .map(|k| format!("{what}.{k}")),
        )
    };
    from("annotations", &mut service.annotations.keys());
    from("labels", &mut service.labels.keys());
    if let Some(t) = &service.template {
        from("template.annotations", &mut t.annotations.keys());
        from("template.labels", &mut t.labels.keys());
    }
    out.sort();
    out
}

pub(crate) fn drop_system_keys(service: &mut Service) {
    service.annotations.retain(|k, _| !is_system_key(k));
    service.labels.retain(|k, _| !is_system_key(k));
    if let Some(t) = service.template.as_mut() {
        t.annotations.retain(|k, _| !is_system_key(k));
        t.labels.retain(|k, _| !is_system_key(k));
    }
}
