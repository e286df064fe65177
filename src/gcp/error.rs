//! Google's errors, turned into ours at the boundary.
//!
//! Callers decide on the *kind* (a missing resource is data for the plan, a
//! stale etag is a retry, a denied write is a message for an admin), so every
//! client error is classified once here by its `google.rpc.Code`, and carries
//! the operation and resource it was about. Google's own message is kept: it
//! is usually the most precise description of what went wrong.

use google_cloud_gax::error::Error as GaxError;
use google_cloud_gax::error::rpc::{Code, StatusDetails};

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
    /// A 403 whose `google.rpc.ErrorInfo` says `SERVICE_DISABLED`: the API
    /// is not enabled in the project, which no permission changes (see
    /// [`DisabledApi`]).
    ServiceDisabled,
    /// A policy came back without an etag: writing it would be a blind
    /// overwrite, so it is never written.
    NoEtag,
    /// Anything else: transport, timeouts, 5xx after our retries.
    Other,
}

/// One failed call: what we asked, about what, and what Google answered.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{operation} `{resource}` failed{}: {message}", self.how())]
pub(crate) struct GcpError {
    pub(crate) kind: Kind,
    pub(crate) operation: &'static str,
    pub(crate) resource: String,
    pub(crate) message: String,
    /// The HTTP status, when there was an answer.
    pub(crate) http_status: Option<u16>,
    /// Attempts made (more than one after transient errors).
    pub(crate) attempts: u32,
    /// The last failure was transient (retries ran out).
    pub(crate) transient: bool,
    /// The `type` of each `google.rpc.PreconditionFailure` violation in the
    /// error's details, e.g. `constraints/iam.allowedPolicyMemberDomains`.
    pub(crate) violations: Vec<String>,
    /// With [`Kind::ServiceDisabled`]: which API, in which project (boxed:
    /// every error carries the field, few have one).
    pub(crate) disabled: Option<Box<DisabledApi>>,
}

/// An API not enabled in a project, from the `google.rpc.ErrorInfo` Google
/// sends with the 403: reason `SERVICE_DISABLED`, domain `googleapis.com`,
/// metadata `service` (`cloudbuild.googleapis.com`) and `consumer`
/// (`projects/NUMBER`) (googleapis/googleapis `google/api/error_reason.proto`,
/// `SERVICE_DISABLED`; cloud.google.com/apis/design/errors, "Error details").
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DisabledApi {
    pub(crate) service: String,
    /// The project to enable it in: its id when the request named one,
    /// else the number from `consumer`.
    pub(crate) project: String,
}

impl GcpError {
    fn how(&self) -> String {
        let status = self
            .http_status
            .map(|h| format!("HTTP {h} {}", self.status_word()))
            .unwrap_or_else(|| self.status_word().to_string());
        match (self.transient, self.attempts) {
            (true, n) if n > 1 => format!(" ({status}, transient; gave up after {n} attempts)"),
            (true, _) => format!(" ({status}, transient)"),
            _ => format!(" ({status})"),
        }
    }

    pub(crate) fn no_etag(operation: &'static str, resource: &str) -> GcpError {
        GcpError {
            kind: Kind::NoEtag,
            operation,
            resource: resource.to_string(),
            message: "the policy read has no etag; writing it would overwrite concurrent changes blindly, so nothing was written".into(),
            http_status: None,
            attempts: 0,
            transient: false,
            violations: Vec::new(),
            disabled: None,
        }
    }

    /// Refused by the organisation policy that restricts IAM members to the
    /// organisation's own domains ("domain-restricted sharing"): 400
    /// FAILED_PRECONDITION with a PreconditionFailure of this type
    /// (terraform-google-modules/terraform-example-foundation#1454).
    /// A long-running operation that ended in an error.
    pub(crate) fn operation_failed(
        operation: &'static str,
        resource: &str,
        message: String,
    ) -> GcpError {
        GcpError {
            kind: Kind::Other,
            operation,
            resource: resource.to_string(),
            message,
            http_status: None,
            attempts: 1,
            transient: false,
            violations: Vec::new(),
            disabled: None,
        }
    }

    pub(crate) fn is_domain_restriction(&self) -> bool {
        self.kind == Kind::FailedPrecondition
            && self
                .violations
                .iter()
                .any(|v| v == "constraints/iam.allowedPolicyMemberDomains")
    }

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
        let message = match (err.status(), err.http_status_code(), err.http_payload()) {
            (Some(s), _, _) if !s.message.is_empty() => s.message.clone(),
            // Not a Google error body (a proxy's HTML page, say): summarised,
            // never dumped.
            (_, Some(code), payload) => {
                let kind = err
                    .http_headers()
                    .and_then(|h| h.get(http::header::CONTENT_TYPE))
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("no content type");
                format!(
                    "HTTP {code} with a body that is not a Google error ({kind}, {} bytes)",
                    payload.map(|p| p.len()).unwrap_or_default()
                )
            }
            _ => err.to_string(),
        };
        let disabled = err
            .status()
            .and_then(|s| disabled_api(&s.details, resource));
        let (kind, message) = match &disabled {
            Some(d) => (
                Kind::ServiceDisabled,
                format!("API {} is not enabled in project {}", d.service, d.project),
            ),
            None => (kind, message),
        };
        GcpError {
            kind,
            operation,
            resource: resource.to_string(),
            message,
            disabled,
            http_status: err.http_status_code(),
            attempts: 1,
            transient: false,
            violations: err
                .status()
                .map(|s| {
                    s.details
                        .iter()
                        .filter_map(|d| match d {
                            StatusDetails::PreconditionFailure(p) => Some(p),
                            _ => None,
                        })
                        .flat_map(|p| p.violations.iter().map(|v| v.r#type.clone()))
                        .collect()
                })
                .unwrap_or_default(),
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
            Kind::ServiceDisabled => "SERVICE_DISABLED",
            Kind::NoEtag => "NO_ETAG",
            Kind::Other => "ERROR",
        }
    }

    /// What to do about it, when there is something general to say.
    pub(crate) fn hint(&self) -> Option<String> {
        match self.kind {
            Kind::Unauthenticated => Some(crate::error::AUTH_HINT.to_string()),
            Kind::ServiceDisabled => self.disabled.as_ref().map(|d| {
                format!(
                    "gcloud services enable {} --project {}   (an API a deploy uses must be enabled; no role grants it)",
                    d.service, d.project
                )
            }),
            Kind::PermissionDenied => Some(format!(
                "the identity running autosre-deploy lacks permission for {} on `{}`",
                self.operation, self.resource
            )),
            _ => None,
        }
    }
}

/// The disabled API a 403's details name, decided on the ErrorInfo's reason
/// and domain, never on the message.
fn disabled_api(details: &[StatusDetails], resource: &str) -> Option<Box<DisabledApi>> {
    details.iter().find_map(|d| match d {
        StatusDetails::ErrorInfo(i)
            if i.reason == "SERVICE_DISABLED" && i.domain == "googleapis.com" =>
        {
            let service = i.metadata.get("service").filter(|s| !s.is_empty())?.clone();
            // The request's project id reads better in a command than the
            // consumer's number, and names the same project.
            let named = resource
                .strip_prefix("projects/")
                .and_then(|r| r.split('/').next())
                .filter(|p| !p.is_empty() && *p != "-" && !p.bytes().all(|b| b.is_ascii_digit()));
            let number = i
                .metadata
                .get("consumer")
                .and_then(|c| c.strip_prefix("projects/"));
            let project = named.or(number).unwrap_or("PROJECT").to_string();
            Some(Box::new(DisabledApi { service, project }))
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use google_cloud_gax::error::rpc::Status;
    use google_cloud_rpc::model::PreconditionFailure;
    use google_cloud_rpc::model::precondition_failure::Violation;

    fn refused(code: Code, violation: &str) -> GcpError {
        let status = Status::default()
            .set_code(code)
            .set_message(
                "One or more users named in the policy do not belong to a permitted customer.",
            )
            .set_details([StatusDetails::PreconditionFailure(
                PreconditionFailure::new().set_violations([Violation::new().set_type(violation)]),
            )]);
        GcpError::from_gax("setIamPolicy", "projects/p", &GaxError::service(status))
    }

    fn disabled(reason: &str, domain: &str, resource: &str) -> GcpError {
        let info = google_cloud_rpc::model::ErrorInfo::new()
            .set_reason(reason)
            .set_domain(domain)
            .set_metadata([
                ("service", "cloudbuild.googleapis.com"),
                ("consumer", "projects/123456"),
            ]);
        let status = Status::default()
            .set_code(Code::PermissionDenied)
            // Words that name a permission: the decision is not on them.
            .set_message("Permission denied: cloudbuild.builds.create")
            .set_details([StatusDetails::ErrorInfo(info)]);
        GcpError::from_gax("builds.submit", resource, &GaxError::service(status))
    }

    /// A 403 with ErrorInfo SERVICE_DISABLED (domain googleapis.com) is a
    /// disabled API with the command that enables it, not a permission.
    #[test]
    fn a_disabled_api_is_recognised_by_its_error_info() {
        let e = disabled(
            "SERVICE_DISABLED",
            "googleapis.com",
            "projects/acme/locations/global",
        );
        assert_eq!(e.kind, Kind::ServiceDisabled);
        assert_eq!(
            e.message,
            "API cloudbuild.googleapis.com is not enabled in project acme"
        );
        let hint = e.hint().expect("a hint");
        assert!(
            hint.starts_with("gcloud services enable cloudbuild.googleapis.com --project acme"),
            "{hint}"
        );
        // No project id in the resource: the consumer's number.
        let e = disabled(
            "SERVICE_DISABLED",
            "googleapis.com",
            "projects/-/serviceAccounts/x",
        );
        assert_eq!(e.disabled.expect("disabled").project, "123456");
        // Another reason or domain: a plain permission refusal.
        assert_eq!(
            disabled("IAM_PERMISSION_DENIED", "googleapis.com", "projects/acme").kind,
            Kind::PermissionDenied
        );
        assert_eq!(
            disabled("SERVICE_DISABLED", "run.googleapis.com", "projects/acme").kind,
            Kind::PermissionDenied
        );
    }

    /// Decided on the PreconditionFailure's type, not on the words.
    #[test]
    fn domain_restricted_sharing_is_recognised_by_its_violation_type() {
        let e = refused(
            Code::FailedPrecondition,
            "constraints/iam.allowedPolicyMemberDomains",
        );
        assert_eq!(e.kind, Kind::FailedPrecondition);
        assert!(e.is_domain_restriction());
        assert!(!refused(Code::FailedPrecondition, "constraints/other").is_domain_restriction());
        assert!(
            !refused(
                Code::InvalidArgument,
                "constraints/iam.allowedPolicyMemberDomains"
            )
            .is_domain_restriction()
        );
    }
}
