//! Injected faults: what the emulator answers instead of (or on top of) the real thing, for
//! the reliability tests (retries, timeouts, unparseable answers, missing fields).
//!
//! Shapes, and where they come from:
//! - `Status`: Google's JSON error envelope (`google.rpc.Status`), the canonical status name
//!   taken from the HTTP code by the mapping documented in googleapis `google/rpc/code.proto`
//!   (502, absent there, maps to UNAVAILABLE as in gRPC's HTTP-to-status table). A
//!   `retry_after` adds a `Retry-After` header (RFC 9110 §10.2.3, seconds) and a
//!   `google.rpc.RetryInfo` detail (`google/rpc/error_details.proto`); whether Google sends
//!   `Retry-After` is not documented, so tests should treat it as optional.
//! - `Html`: the `text/html` error page Google's front end (or any proxy) serves, e.g. a 502.
//! - `Body`: a raw body that is not the JSON the client expects (or is empty).
//! - `Hang`: the request is accepted and never answered (a black hole). The answer is only
//!   released when the server shuts down, so a hang never blocks [`crate::Server::shutdown`].
//! - `StripField`: the request is served normally, then one top-level field is dropped from
//!   the JSON answer (e.g. `etag` from getIamPolicy).

/// What an injected fault does to a matching request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FaultKind {
    /// Google's JSON error body with `Fault::code`, `Fault::status`, `Fault::message`.
    #[default]
    Status,
    /// A proxy's `text/html` error page with `Fault::code`.
    Html,
    /// This raw body with `Fault::code` (use 200 for "a success that is not JSON").
    Body(String),
    /// Accept the request and never answer.
    Hang,
    /// Serve the request, then drop this top-level field from the JSON answer.
    StripField(String),
}

/// A fault for the next `times` requests whose method is `method` (any when `None`) and
/// whose decoded path, followed by `?` and the raw query when there is one, contains
/// `path_contains` (so `validateOnly=true` matches only Cloud Run's validation).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fault {
    /// HTTP method to match (any when `None`).
    pub method: Option<String>,
    /// Substring of the request path (and `?query`) to match.
    pub path_contains: String,
    pub times: u32,
    /// HTTP status code, e.g. 503 (ignored by `Hang` and `StripField`).
    pub code: u16,
    /// Canonical status name, e.g. `UNAVAILABLE` (for `Status`).
    pub status: String,
    /// The error message (for `Status`).
    pub message: String,
    /// Seconds to wait before retrying: a `Retry-After` header (`Status`, `Html`) and a
    /// `google.rpc.RetryInfo` detail (`Status`).
    pub retry_after: Option<u32>,
    pub kind: FaultKind,
}

impl Fault {
    fn matching(method: Option<&str>, path_contains: &str, times: u32) -> Fault {
        Fault {
            method: method.map(str::to_string),
            path_contains: path_contains.to_string(),
            times,
            ..Fault::default()
        }
    }

    /// Google's JSON error for `code`, with the canonical status name and a stock message.
    pub fn status(method: Option<&str>, path_contains: &str, code: u16, times: u32) -> Fault {
        Fault {
            code,
            status: status_for_code(code).to_string(),
            message: stock_message(code).to_string(),
            ..Fault::matching(method, path_contains, times)
        }
    }

    /// A proxy's HTML error page with `code` (e.g. 502).
    pub fn html(method: Option<&str>, path_contains: &str, code: u16, times: u32) -> Fault {
        Fault {
            code,
            kind: FaultKind::Html,
            ..Fault::matching(method, path_contains, times)
        }
    }

    /// `body` verbatim with `code` (200 for a success that is not JSON; `""` for empty).
    pub fn body(
        method: Option<&str>,
        path_contains: &str,
        code: u16,
        body: &str,
        times: u32,
    ) -> Fault {
        Fault {
            code,
            kind: FaultKind::Body(body.to_string()),
            ..Fault::matching(method, path_contains, times)
        }
    }

    /// A black hole: the request is accepted and never answered.
    pub fn hang(method: Option<&str>, path_contains: &str, times: u32) -> Fault {
        Fault {
            kind: FaultKind::Hang,
            ..Fault::matching(method, path_contains, times)
        }
    }

    /// The normal answer without its top-level `field`.
    pub fn strip_field(
        method: Option<&str>,
        path_contains: &str,
        field: &str,
        times: u32,
    ) -> Fault {
        Fault {
            kind: FaultKind::StripField(field.to_string()),
            ..Fault::matching(method, path_contains, times)
        }
    }

    /// The same fault with a `Retry-After` of `seconds` (and a RetryInfo detail).
    pub fn with_retry_after(mut self, seconds: u32) -> Fault {
        self.retry_after = Some(seconds);
        self
    }

    /// The same fault with another message.
    pub fn with_message(mut self, message: &str) -> Fault {
        self.message = message.to_string();
        self
    }

    pub(crate) fn matches(&self, method: &str, path: &str) -> bool {
        self.times > 0
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && path.contains(&self.path_contains)
    }
}

/// The canonical status for an HTTP code, per the HTTP mapping in googleapis
/// `google/rpc/code.proto` (where several codes share one HTTP status, the first listed
/// there: 400 INVALID_ARGUMENT, 409 ABORTED, 500 INTERNAL).
pub fn status_for_code(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        500 => "INTERNAL",
        501 => "UNIMPLEMENTED",
        502 | 503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "UNKNOWN",
    }
}

fn stock_message(code: u16) -> &'static str {
    match code {
        429 => "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute'.",
        500 => "Internal error encountered.",
        502 | 503 => "The service is currently unavailable.",
        504 => "The request timed out. Please try again.",
        401 => "Request had invalid authentication credentials.",
        403 => "The caller does not have permission",
        404 => "Requested entity was not found.",
        409 => "The operation was aborted.",
        _ => "Injected fault.",
    }
}

/// Google's front-end error page (the "That's an error." page), for `Html` faults.
pub(crate) fn html_page(code: u16) -> String {
    let (title, text) = match code {
        502 => (
            "Server Error",
            "The server encountered a temporary error and could not complete your request.<p>Please try again in 30 seconds.",
        ),
        503 => (
            "Service Unavailable",
            "The service you requested is not available yet.<p>Please try again in 30 seconds.",
        ),
        504 => (
            "Gateway Timeout",
            "The server did not respond in time.<p>Please try again in 30 seconds.",
        ),
        _ => ("Error", "The server cannot process the request."),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error {code} ({title})!!1</title>\n  <p><b>{code}.</b> <ins>That\u{2019}s an error.</ins>\n  <p>{text}  <ins>That\u{2019}s all we know.</ins>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_canonical_status_names() {
        assert_eq!(status_for_code(503), "UNAVAILABLE");
        assert_eq!(status_for_code(429), "RESOURCE_EXHAUSTED");
        assert_eq!(status_for_code(504), "DEADLINE_EXCEEDED");
        assert_eq!(status_for_code(409), "ABORTED");
        let f = Fault::status(Some("GET"), "/secrets/", 503, 2).with_retry_after(7);
        assert_eq!(
            (f.status.as_str(), f.times, f.retry_after),
            ("UNAVAILABLE", 2, Some(7))
        );
        assert!(f.matches("get", "/v1/projects/a/secrets/b"));
        assert!(!f.matches("POST", "/v1/projects/a/secrets/b"));
    }
}
