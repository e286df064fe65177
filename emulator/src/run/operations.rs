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
        /// `google.rpc.Code` of the operation's error.
        code: i32,
        /// run.v2 `CommonReason` name on the failed conditions.
        reason: String,
        message: String,
    },
    /// No new revision, but traffic would move to a revision that cannot start an
    /// instance: the reconcile fails and `served` (the traffic that served before) keeps
    /// serving.
    Unroutable {
        code: i32,
        reason: String,
        message: String,
        served: Value,
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

impl Operation {
    /// An operation on `service_key` that is done after `needed` polls.
    pub(super) fn new(
        name: &str,
        service_key: String,
        needed: u32,
        outcome: Outcome,
        metadata: Value,
        response: Option<Value>,
    ) -> Self {
        Operation {
            name: name.to_string(),
            service_key,
            polls: 0,
            needed,
            done: false,
            outcome,
            metadata,
            response,
        }
    }
}

pub(super) fn operation_json(op: &Operation) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), op.name.clone().into());
    out.insert("metadata".into(), op.metadata.clone());
    out.insert("done".into(), op.done.into());
    if op.done {
        match &op.outcome {
            Outcome::Failed { code, message, .. } | Outcome::Unroutable { code, message, .. } => {
                out.insert("error".into(), json!({"code": code, "message": message}));
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

/// `operation_polls` value for operations that never finish.
pub(crate) const NEVER: u32 = u32::MAX;

/// A long-running operation's progress: done once it has been polled `needed` times
/// (the world's `operation_polls`; [`NEVER`] never).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Polls {
    pub(crate) polls: u32,
    needed: u32,
}

impl Polls {
    pub(crate) fn new(needed: u32) -> Self {
        Polls { polls: 0, needed }
    }

    pub(crate) fn poll(&mut self) {
        self.polls = self.polls.saturating_add(1);
    }

    /// Whether the operation has been polled enough to be done.
    pub(crate) fn due(&self) -> bool {
        self.needed != NEVER && self.polls >= self.needed
    }
}

fn missing(name: &str) -> ApiError {
    ApiError::not_found(format!("Operation '{name}' not found."))
}

pub(crate) fn get_operation(st: &mut State, name: &str) -> Result<Value, ApiError> {
    let op = st.operations.get_mut(name).ok_or_else(|| missing(name))?;
    op.polls = op.polls.saturating_add(1);
    if !op.done && op.needed != NEVER && op.polls >= op.needed {
        finalize(st, name);
    }
    Ok(operation_json(&st.operations[name]))
}

/// operations.wait: "Waits until the specified long-running operation is done or reaches at
/// most a specified timeout, returning the latest state. ... this method is on a best-effort
/// basis. It may return the latest state before the specified timeout (including
/// immediately)" (run.v2 discovery, `operations.wait`). The emulator answers at once, with
/// no wait on any clock: a rollout that can finish is finished (as if it completed during
/// the wait); one that never finishes (`operation_polls = u32::MAX`) comes back not done, as
/// after a timeout.
pub(crate) fn wait_operation(st: &mut State, name: &str, body: &Value) -> Result<Value, ApiError> {
    if let Some(t) = body.get("timeout").filter(|t| !t.is_null()) {
        // google.protobuf.Duration in JSON: decimal seconds with an `s` suffix.
        let ok = t
            .as_str()
            .and_then(|t| t.strip_suffix('s'))
            .is_some_and(|n| n.parse::<f64>().is_ok_and(|v| v >= 0.0));
        if !ok {
            return Err(ApiError::invalid(format!(
                "Invalid value at 'timeout' (type.googleapis.com/google.protobuf.Duration), {t}"
            )));
        }
    }
    let op = st.operations.get(name).ok_or_else(|| missing(name))?;
    if !op.done && op.needed != NEVER {
        finalize(st, name);
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
