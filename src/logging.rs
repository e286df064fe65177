//! Logs: tracing to the run's stderr, as text or as JSON lines.
//!
//! Default level is `warn`; `-v` shows every API call (debug), `-vv` traces.
//! `RUST_LOG` (read from the process environment) overrides both, as usual.
//! Logs never carry secret values: the tool never reads a secret's payload,
//! and tokens are redacted at the source.
//!
//! With `--log-format json` each event is one JSON object with Cloud
//! Logging's field names (`severity`, `message`, `time`; see
//! [`crate::printer::json_line`]), the event's fields and those of the spans
//! it is in as further keys: the same shape as the printer's own lines, so a
//! log reader sees one stream.
//!
//! [`subscriber`] builds a subscriber the caller scopes (in-process runs,
//! tests, and `run` scopes it to the run).

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

use crate::cli::LogFormat;
use crate::printer::{Severity, json_line};

/// What `-v`/`-q` (or `RUST_LOG`) let through.
fn filter(verbose: u8, quiet: bool, rust_log: Option<String>) -> EnvFilter {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "autosre_deploy=debug,warn",
        (false, _) => "autosre_deploy=trace,info",
    };
    rust_log
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(level))
}

/// A subscriber writing to `writer` (typically [`crate::printer::Printer::log_writer`]),
/// for `tracing::subscriber::with_default` or `WithSubscriber`.
/// `rust_log` is `RUST_LOG` from the run's environment: it overrides `-v`/`-q`.
pub(crate) fn subscriber<W>(
    verbose: u8,
    quiet: bool,
    rust_log: Option<String>,
    format: LogFormat,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter(verbose, quiet, rust_log))
        .with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.with_target(false).with_ansi(false).finish()),
        LogFormat::Json => Box::new(
            builder
                .fmt_fields(JsonFields::new())
                .event_format(CloudLogging)
                .finish(),
        ),
    }
}

/// An event as one Cloud Logging JSON line.
struct CloudLogging;

impl<S, N> FormatEvent<S, N> for CloudLogging
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Map::new();
        // Outermost span first, so inner spans' and the event's keys win.
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(formatted) = extensions.get::<FormattedFields<N>>() else {
                    continue;
                };
                if let Ok(Value::Object(map)) = serde_json::from_str(formatted.fields.as_str()) {
                    fields.extend(map);
                }
            }
        }
        let mut visitor = Fields::default();
        event.record(&mut visitor);
        fields.extend(visitor.fields);
        let severity = Severity::from_level(event.metadata().level());
        let message = visitor.message.unwrap_or_default();
        writer.write_str(&json_line(severity, &message, fields))
    }
}

/// An event's fields as JSON values; `message` apart.
#[derive(Default)]
struct Fields {
    message: Option<String>,
    fields: Map<String, Value>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        match (field.name(), value) {
            ("message", Value::String(s)) => self.message = Some(s),
            ("message", v) => self.message = Some(v.to_string()),
            (name, v) => {
                self.fields.insert(name.to_string(), v);
            }
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, value.to_string().into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::printer::Capture;

    fn lines(text: &str) -> Vec<Value> {
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }

    /// A JSON log line has Cloud Logging's names, the event's fields and its
    /// spans' fields as keys.
    #[test]
    fn json_events_are_cloud_logging_lines() {
        let out = Capture::new();
        let sub = subscriber(1, false, None, LogFormat::Json, {
            let out = out.clone();
            move || out.clone()
        });
        tracing::subscriber::with_default(sub, || {
            let span = tracing::info_span!("rollout", service = "autosre");
            let _g = span.enter();
            tracing::warn!(status = "NOT_FOUND", latency_ms = 12u64, "api call");
            tracing::debug!("a debug line");
        });
        let lines = lines(&out.contents());
        assert_eq!(lines.len(), 2, "{}", out.contents());
        let warn = &lines[0];
        assert_eq!(warn["severity"], "WARNING");
        assert_eq!(warn["message"], "api call");
        assert_eq!(warn["status"], "NOT_FOUND");
        assert_eq!(warn["latency_ms"], 12);
        assert_eq!(warn["service"], "autosre");
        assert!(warn["time"].as_str().is_some_and(|t| t.ends_with('Z')));
        assert_eq!(lines[1]["severity"], "DEBUG");
    }

    #[test]
    fn text_events_are_plain_lines() {
        let out = Capture::new();
        let sub = subscriber(0, false, None, LogFormat::Text, {
            let out = out.clone();
            move || out.clone()
        });
        tracing::subscriber::with_default(sub, || {
            tracing::warn!(status = "OK", "api call");
            tracing::debug!("hidden without -v");
        });
        let text = out.contents();
        assert!(text.contains("WARN api call status=\"OK\""), "{text}");
        assert!(!text.contains("hidden"), "{text}");
        assert!(!text.contains('\x1b'), "{text}");
    }
}
