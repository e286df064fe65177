//! Google's errors, turned into ours at the boundary.
//!
//! Callers decide on the *kind* (a missing resource is data for the plan, a
//! stale etag is a retry, a denied write is a message for an admin), so every
//! client error is classified once here by its `google.rpc.Code`, and carries
//! the operation and resource it was about. Google's own message is kept: it
//! is usually the most precise description of what went wrong.

use google_cloud_gax::error::Error as GaxError;
use google_cloud_gax::error::rpc::Code;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    NotFound,
    PermissionDenied,
    Unauthenticated,
    /// A stale etag on a read-modify-write (HTTP 409 `ABORTED`).
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    /// Anything else: transport, timeouts, 5xx after the client's retries.
    Other,
}

/// One failed call: what we asked, about what, and what Google answered.
#[derive(Debug, thiserror::Error)]
#[error("{operation} `{resource}` failed: {message}")]
pub(crate) struct GcpError {
    pub(crate) kind: Kind,
    pub(crate) operation: &'static str,
    pub(crate) resource: String,
    pub(crate) message: String,
}

impl GcpError {
    pub(crate) fn from_gax(operation: &'static str, resource: &str, err: &GaxError) -> GcpError {
        let kind = match err.status().map(|s| s.code) {
            Some(Code::NotFound) => Kind::NotFound,
            Some(Code::PermissionDenied) => Kind::PermissionDenied,
            Some(Code::Unauthenticated) => Kind::Unauthenticated,
            Some(Code::Aborted) => Kind::Aborted,
            Some(Code::AlreadyExists) => Kind::AlreadyExists,
            Some(Code::FailedPrecondition) => Kind::FailedPrecondition,
            Some(Code::InvalidArgument) => Kind::InvalidArgument,
            _ if err.is_authentication() => Kind::Unauthenticated,
            _ => match err.http_status_code() {
                Some(404) => Kind::NotFound,
                Some(403) => Kind::PermissionDenied,
                Some(401) => Kind::Unauthenticated,
                Some(409) => Kind::Aborted,
                _ => Kind::Other,
            },
        };
        let message = err
            .status()
            .map(|s| s.message.clone())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| err.to_string());
        GcpError {
            kind,
            operation,
            resource: resource.to_string(),
            message,
        }
    }

    pub(crate) fn is(&self, kind: Kind) -> bool {
        self.kind == kind
    }

    /// A short status word for logs: `OK` callers never see this.
    pub(crate) fn status_word(&self) -> &'static str {
        match self.kind {
            Kind::NotFound => "NOT_FOUND",
            Kind::PermissionDenied => "PERMISSION_DENIED",
            Kind::Unauthenticated => "UNAUTHENTICATED",
            Kind::Aborted => "ABORTED",
            Kind::AlreadyExists => "ALREADY_EXISTS",
            Kind::FailedPrecondition => "FAILED_PRECONDITION",
            Kind::InvalidArgument => "INVALID_ARGUMENT",
            Kind::Other => "ERROR",
        }
    }

    /// What to do about it, when there is something general to say.
    pub(crate) fn hint(&self) -> Option<String> {
        match self.kind {
            Kind::Unauthenticated => Some(
                "authenticate with `gcloud auth application-default login`, or set \
                 GOOGLE_OAUTH_ACCESS_TOKEN / CLOUDSDK_AUTH_ACCESS_TOKEN_FILE"
                    .to_string(),
            ),
            Kind::PermissionDenied => Some(format!(
                "the identity running autosre-deploy lacks permission for {} on `{}`",
                self.operation, self.resource
            )),
            _ => None,
        }
    }
}
