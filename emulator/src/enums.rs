//! Enum encoding on the wire.
//!
//! The official Rust clients send `$alt=json;enum-encoding=int` and integer enums; gcloud
//! sends and expects enum names. The emulator keeps names internally, accepts both on input,
//! and answers with integers when the request asked for `enum-encoding=int`.
//!
//! The integers are the proto numbers, which are not always the position in the discovery
//! document's `enum` list (Cloud Run's `CommonReason` skips 2 and 5). They are copied from
//! googleapis: `google/cloud/run/v2/condition.proto`, `.../v2/vendor_settings.proto`,
//! `google/api/launch_stage.proto`, `google/cloud/secretmanager/v1/resources.proto`,
//! `google/cloud/resourcemanager/v3/projects.proto` and `google/iam/v1/policy.proto`, as
//! generated into the google-cloud-rust crates' `model.rs` (`impl From<i32>` blocks).
//!
//! Conversion is keyed by JSON field name *and* value: a string is only rewritten when it is
//! one of the names of the enum that field carries, so a string field that shares a key
//! (Cloud Run's `Condition.type` is the string "Ready") is left alone.

use serde_json::Value;

use crate::journal::Api;

type Table = &'static [(&'static str, i32)];

const CONDITION_STATE: Table = &[
    ("STATE_UNSPECIFIED", 0),
    ("CONDITION_PENDING", 1),
    ("CONDITION_RECONCILING", 2),
    ("CONDITION_FAILED", 3),
    ("CONDITION_SUCCEEDED", 4),
];
const SEVERITY: Table = &[
    ("SEVERITY_UNSPECIFIED", 0),
    ("ERROR", 1),
    ("WARNING", 2),
    ("INFO", 3),
];
const COMMON_REASON: Table = &[
    ("COMMON_REASON_UNDEFINED", 0),
    ("UNKNOWN", 1),
    ("REVISION_FAILED", 3),
    ("PROGRESS_DEADLINE_EXCEEDED", 4),
    ("CONTAINER_MISSING", 6),
    ("CONTAINER_PERMISSION_DENIED", 7),
    ("CONTAINER_IMAGE_UNAUTHORIZED", 8),
    ("CONTAINER_IMAGE_AUTHORIZATION_CHECK_FAILED", 9),
    ("ENCRYPTION_KEY_PERMISSION_DENIED", 10),
    ("ENCRYPTION_KEY_CHECK_FAILED", 11),
    ("SECRETS_ACCESS_CHECK_FAILED", 12),
    ("WAITING_FOR_OPERATION", 13),
    ("IMMEDIATE_RETRY", 14),
    ("POSTPONED_RETRY", 15),
    ("INTERNAL", 16),
    ("VPC_NETWORK_NOT_FOUND", 17),
];
const LAUNCH_STAGE: Table = &[
    ("LAUNCH_STAGE_UNSPECIFIED", 0),
    ("EARLY_ACCESS", 1),
    ("ALPHA", 2),
    ("BETA", 3),
    ("GA", 4),
    ("DEPRECATED", 5),
    ("UNIMPLEMENTED", 6),
    ("PRELAUNCH", 7),
];
const INGRESS: Table = &[
    ("INGRESS_TRAFFIC_UNSPECIFIED", 0),
    ("INGRESS_TRAFFIC_ALL", 1),
    ("INGRESS_TRAFFIC_INTERNAL_ONLY", 2),
    ("INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER", 3),
    ("INGRESS_TRAFFIC_NONE", 4),
];
const EXECUTION_ENVIRONMENT: Table = &[
    ("EXECUTION_ENVIRONMENT_UNSPECIFIED", 0),
    ("EXECUTION_ENVIRONMENT_GEN1", 1),
    ("EXECUTION_ENVIRONMENT_GEN2", 2),
];
const TRAFFIC_TYPE: Table = &[
    ("TRAFFIC_TARGET_ALLOCATION_TYPE_UNSPECIFIED", 0),
    ("TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", 1),
    ("TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", 2),
];
const REVOCATION_ACTION: Table = &[
    ("ENCRYPTION_KEY_REVOCATION_ACTION_UNSPECIFIED", 0),
    ("PREVENT_NEW", 1),
    ("SHUTDOWN", 2),
];
const SCALING_MODE: Table = &[
    ("SCALING_MODE_UNSPECIFIED", 0),
    ("AUTOMATIC", 1),
    ("MANUAL", 2),
];
const SECRET_VERSION_STATE: Table = &[
    ("STATE_UNSPECIFIED", 0),
    ("ENABLED", 1),
    ("DISABLED", 2),
    ("DESTROYED", 3),
];
const PROJECT_STATE: Table = &[
    ("STATE_UNSPECIFIED", 0),
    ("ACTIVE", 1),
    ("DELETE_REQUESTED", 2),
];
const LOG_TYPE: Table = &[
    ("LOG_TYPE_UNSPECIFIED", 0),
    ("ADMIN_READ", 1),
    ("DATA_WRITE", 2),
    ("DATA_READ", 3),
];

// google/devtools/cloudbuild/v1/cloudbuild.proto (google-cloud-build-v1 `model.rs`).
const BUILD_STATUS: Table = &[
    ("STATUS_UNKNOWN", 0),
    ("PENDING", 10),
    ("QUEUED", 1),
    ("WORKING", 2),
    ("SUCCESS", 3),
    ("FAILURE", 4),
    ("INTERNAL_ERROR", 5),
    ("TIMEOUT", 6),
    ("CANCELLED", 7),
    ("EXPIRED", 9),
];
const FAILURE_TYPE: Table = &[
    ("FAILURE_TYPE_UNSPECIFIED", 0),
    ("PUSH_FAILED", 1),
    ("PUSH_IMAGE_NOT_FOUND", 2),
    ("PUSH_NOT_AUTHORIZED", 3),
    ("LOGGING_FAILURE", 4),
    ("USER_BUILD_STEP", 5),
    ("FETCH_SOURCE_FAILED", 6),
];
const LOGGING_MODE: Table = &[
    ("LOGGING_UNSPECIFIED", 0),
    ("LEGACY", 1),
    ("GCS_ONLY", 2),
    ("STACKDRIVER_ONLY", 3),
    ("NONE", 4),
    ("CLOUD_LOGGING_ONLY", 5),
];
// google/devtools/artifactregistry/v1/repository.proto (google-cloud-artifactregistry-v1).
const REPOSITORY_FORMAT: Table = &[
    ("FORMAT_UNSPECIFIED", 0),
    ("DOCKER", 1),
    ("MAVEN", 2),
    ("NPM", 3),
    ("APT", 5),
    ("YUM", 6),
    ("PYTHON", 8),
    ("KFP", 9),
];
const REPOSITORY_MODE: Table = &[
    ("MODE_UNSPECIFIED", 0),
    ("STANDARD_REPOSITORY", 1),
    ("VIRTUAL_REPOSITORY", 2),
    ("REMOTE_REPOSITORY", 3),
];

/// Whether `name` is a run.v2 `Condition.reason` (`CommonReason`) name.
pub(crate) fn is_common_reason(name: &str) -> bool {
    COMMON_REASON.iter().any(|(n, _)| *n == name)
}

/// The enum carried by `field` in `api`'s resources, if any.
fn table(api: Api, field: &str) -> Option<Table> {
    match (api, field) {
        (_, "logType") => Some(LOG_TYPE),
        (Api::Run, "state") => Some(CONDITION_STATE),
        (Api::Run, "severity") => Some(SEVERITY),
        (Api::Run, "reason") => Some(COMMON_REASON),
        (Api::Run, "launchStage") => Some(LAUNCH_STAGE),
        (Api::Run, "ingress") => Some(INGRESS),
        (Api::Run, "executionEnvironment") => Some(EXECUTION_ENVIRONMENT),
        (Api::Run, "type") => Some(TRAFFIC_TYPE),
        (Api::Run, "encryptionKeyRevocationAction") => Some(REVOCATION_ACTION),
        (Api::Run, "scalingMode") => Some(SCALING_MODE),
        (Api::SecretManager, "state") => Some(SECRET_VERSION_STATE),
        (Api::ResourceManager, "state") => Some(PROJECT_STATE),
        (Api::CloudBuild, "status") => Some(BUILD_STATUS),
        (Api::CloudBuild, "type") => Some(FAILURE_TYPE),
        (Api::CloudBuild, "logging") => Some(LOGGING_MODE),
        (Api::ArtifactRegistry, "format") => Some(REPOSITORY_FORMAT),
        (Api::ArtifactRegistry, "mode") => Some(REPOSITORY_MODE),
        _ => None,
    }
}

/// Whether the request asked for integer enums (`$alt=json;enum-encoding=int`).
pub(crate) fn wants_int(alt: Option<&str>) -> bool {
    alt.is_some_and(|a| a.split(';').any(|p| p.trim() == "enum-encoding=int"))
}

/// Rewrites integer enums to names, in place (request bodies).
pub(crate) fn to_names(api: Api, v: &mut Value) {
    walk(api, v, &|t, val| match val {
        Value::Number(n) => n
            .as_i64()
            .and_then(|i| t.iter().find(|(_, x)| *x as i64 == i))
            .map(|(name, _)| Value::String((*name).to_string())),
        _ => None,
    });
}

/// Rewrites enum names to integers, in place (responses to clients that asked for ints).
pub(crate) fn to_ints(api: Api, v: &mut Value) {
    walk(api, v, &|t, val| match val {
        Value::String(s) => t
            .iter()
            .find(|(name, _)| name == s)
            .map(|(_, i)| Value::from(*i)),
        _ => None,
    });
}

fn walk(api: Api, v: &mut Value, f: &dyn Fn(Table, &Value) -> Option<Value>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if let Some(t) = table(api, k)
                    && let Some(new) = f(t, child)
                {
                    *child = new;
                    continue;
                }
                walk(api, child, f);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| walk(api, i, f)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_ints_round_trip_with_proto_numbers() {
        let mut v = json!({"terminalCondition": {"type": "Ready", "state": "CONDITION_FAILED",
            "reason": "SECRETS_ACCESS_CHECK_FAILED"},
            "traffic": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}]});
        to_ints(Api::Run, &mut v);
        assert_eq!(v["terminalCondition"]["type"], "Ready");
        assert_eq!(v["terminalCondition"]["state"], 3);
        // CommonReason skips numbers: SECRETS_ACCESS_CHECK_FAILED is 12, not its index 10.
        assert_eq!(v["terminalCondition"]["reason"], 12);
        assert_eq!(v["traffic"][0]["type"], 1);
        to_names(Api::Run, &mut v);
        assert_eq!(v["terminalCondition"]["state"], "CONDITION_FAILED");
        assert_eq!(
            v["traffic"][0]["type"],
            "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
        );
    }

    #[test]
    fn alt_parameter_is_parsed() {
        assert!(wants_int(Some("json;enum-encoding=int")));
        assert!(!wants_int(Some("json")));
        assert!(!wants_int(None));
    }
}
