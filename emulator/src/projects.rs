//! Resource Manager projects: get, in v3 and in v1 (which `gcloud projects describe` uses).
//!
//! `name` is `projects/<number>` (cloudresourcemanager.v3 discovery, Project.name: "The
//! unique resource name of the project. It is an int64 generated number prefixed by
//! 'projects/'"). A project that does not exist answers 403 PERMISSION_DENIED, not 404:
//! Resource Manager does not reveal whether a project the caller cannot see exists
//! (projects.get: "The caller must have `resourcemanager.projects.get` permission").

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::State;

pub(crate) fn get(st: &State, p: &str) -> Result<Value, ApiError> {
    let project = st
        .project(p)
        .ok_or_else(|| ApiError::permission_denied("The caller does not have permission"))?;
    Ok(json!({
        "name": format!("projects/{}", project.number),
        "projectId": project.id,
        "state": "ACTIVE",
        "displayName": project.display_name,
        "createTime": project.create_time,
        "updateTime": project.create_time,
        "etag": format!("W/\"{}\"", crate::util::hash_hex(&[&project.id], 8)),
    }))
}

/// v1 `projects.get`: the v1 `Project` shape (cloudresourcemanager.v1 discovery): `name` is
/// the display name, `projectNumber` an int64 as a JSON string, `lifecycleState` ACTIVE.
pub(crate) fn get_v1(st: &State, p: &str) -> Result<Value, ApiError> {
    let project = st
        .project(p)
        .ok_or_else(|| ApiError::permission_denied("The caller does not have permission"))?;
    Ok(json!({
        "projectNumber": project.number.to_string(),
        "projectId": project.id,
        "lifecycleState": "ACTIVE",
        "name": project.display_name,
        "createTime": project.create_time,
    }))
}
