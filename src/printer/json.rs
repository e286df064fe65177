//! One JSON object per line, with Cloud Logging's field names, for the
//! printer's own lines and for tracing logs alike.
//!
//! Cloud Logging parses one JSON object per line and reads `severity`
//! (DEBUG, INFO, WARNING, ERROR, ...), `message` and `time` (RFC 3339) from
//! it; other keys land in `jsonPayload`
//! (https://cloud.google.com/logging/docs/structured-logging).

use serde_json::{Map, Value};

/// Cloud Logging's `severity`, the levels this tool uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Severity {
    Debug,
    Info,
    Warning,
    Error,
}

impl Severity {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Severity::Debug => "DEBUG",
            Severity::Info => "INFO",
            Severity::Warning => "WARNING",
            Severity::Error => "ERROR",
        }
    }

    /// tracing has no NOTICE and one level below DEBUG; TRACE maps to DEBUG.
    pub(crate) fn from_level(level: &tracing::Level) -> Severity {
        match *level {
            tracing::Level::ERROR => Severity::Error,
            tracing::Level::WARN => Severity::Warning,
            tracing::Level::INFO => Severity::Info,
            _ => Severity::Debug,
        }
    }
}

/// The line for `message` (styling stripped) with `extra` keys after the
/// standard ones, ending in a newline. A key in `extra` never replaces
/// `severity`, `message` or `time`.
pub(crate) fn line(severity: Severity, message: &str, extra: Map<String, Value>) -> String {
    let mut object = Map::new();
    object.insert("severity".into(), severity.as_str().into());
    object.insert(
        "message".into(),
        anstream::adapter::strip_str(message).to_string().into(),
    );
    object.insert("time".into(), now().into());
    for (k, v) in extra {
        object.entry(k).or_insert(v);
    }
    let mut s = Value::Object(object).to_string();
    s.push('\n');
    s
}

/// Now, in RFC 3339 (UTC).
fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
