//! Long-running operations: what create/patch/delete answer, and operations.get/wait/list/delete.

use serde_json::{Map, Value, json};

use super::project_or_denied;
use super::rollout::finalize;
use crate::error::ApiError;
use crate::state::State;

#[derive(Debug, Clone)]
pub(super) enum Outcome {
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
    pub(super) name: String,
    pub(super) service_key: String,
    pub(super) polls: u32,
    pub(super) needed: u32,
    pub(super) done: bool,
    pub(super) outcome: Outcome,
    pub(super) metadata: Value,
    pub(super) response: Option<Value>,
}

pub(super) fn operation_json(op: &Operation) -> Value {
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
