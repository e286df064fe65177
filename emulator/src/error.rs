//! Google's error envelope.
//!
//! Every failure the emulator returns uses the body Google's REST front end produces,
//! `{"error":{"code":409,"message":"...","status":"ABORTED"}}` (see `google.rpc.Status` in
//! googleapis `google/rpc/status.proto` and the canonical codes in `google/rpc/code.proto`).
//! The official clients classify errors by `status`, so it must always be present and match
//! the HTTP code the way Google's mapping does (`google/rpc/code.proto` documents each pairing).

use serde_json::{Value, json};

/// One API failure: canonical status name, its HTTP code and a human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) http: u16,
    pub(crate) status: &'static str,
    pub(crate) message: String,
    /// `google.rpc.Status.details`: typed payloads such as `google.rpc.ErrorInfo`.
    pub(crate) details: Vec<Value>,
    /// The Cloud Storage JSON API's own error list (`errors[].reason`), sent instead of
    /// `status` (see [`ApiError::storage`]).
    pub(crate) errors: Vec<Value>,
}

impl ApiError {
    fn new(http: u16, status: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            http,
            status,
            message: message.into(),
            details: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// A Cloud Storage JSON API error. Its envelope predates `google.rpc.Status`: `code`,
    /// `message` and `errors: [{message, domain: "global", reason}]`, no `status`
    /// (cloud.google.com/storage/docs/json_api/v1/status-codes, "Error response format").
    /// `reason` is the structured part, e.g. `notFound`, `conflict`, `conditionNotMet`.
    pub(crate) fn storage(http: u16, reason: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut e = Self::new(http, crate::fault::status_for_code(http), message.clone());
        e.errors
            .push(json!({"message": message, "domain": "global", "reason": reason}));
        e
    }

    /// The same error with a detail (`{"@type": "type.googleapis.com/google.rpc.X", ...}`).
    pub(crate) fn with_detail(mut self, detail: Value) -> Self {
        self.details.push(detail);
        self
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "INVALID_ARGUMENT", message)
    }

    pub(crate) fn failed_precondition(message: impl Into<String>) -> Self {
        Self::new(400, "FAILED_PRECONDITION", message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "NOT_FOUND", message)
    }

    pub(crate) fn already_exists(message: impl Into<String>) -> Self {
        Self::new(409, "ALREADY_EXISTS", message)
    }

    pub(crate) fn aborted(message: impl Into<String>) -> Self {
        Self::new(409, "ABORTED", message)
    }

    pub(crate) fn permission_denied(message: impl Into<String>) -> Self {
        Self::new(403, "PERMISSION_DENIED", message)
    }

    pub(crate) fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(401, "UNAUTHENTICATED", message)
    }

    /// The JSON body Google sends with this error.
    pub(crate) fn body(&self) -> Value {
        if !self.errors.is_empty() {
            return json!({"error": {"code": self.http, "message": self.message, "errors": self.errors}});
        }
        let mut body = error_body(self.http, &self.message, self.status);
        if !self.details.is_empty() {
            body["error"]["details"] = Value::Array(self.details.clone());
        }
        body
    }
}

/// The envelope for an arbitrary code/status pair (also used by injected faults).
pub(crate) fn error_body(code: u16, message: &str, status: &str) -> Value {
    json!({"error": {"code": code, "message": message, "status": status}})
}
