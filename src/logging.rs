//! Logs: tracing to stderr, as text or JSON lines.
//!
//! Default level is `warn`; `-v` shows every API call (debug), `-vv` traces.
//! `RUST_LOG` overrides both, as usual. Logs never carry secret values: the
//! tool never reads a secret's payload, and tokens are redacted at the source.

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

pub(crate) fn init(verbose: u8, quiet: bool, format: LogFormat) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "autosre_deploy=debug,warn",
        (false, _) => "autosre_deploy=trace,info",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
