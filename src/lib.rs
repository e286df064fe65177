//! autosre-deploy as a library: [`run`] is the whole program, callable
//! in-process (the tests do), with its arguments and environment injected.
//!
//! `main.rs` only builds the runtime, calls [`run`] and exits with its
//! [`ExitStatus`]. Data flows one way through the modules:
//!
//! ```text
//! cli (clap types) -> settings (resolved) -> config (YAML -> Environment)
//!   -> plan (live::read -> compute::compute -> Plan) -> apply (writes) -> report
//! ```
//!
//! `gcp` is the only module that talks to Google; `commands` has one file per
//! subcommand and wires the others together.

mod apply;
mod ci;
mod cli;
mod commands;
mod config;
mod error;
mod fleet;
mod gcp;
mod interrupt;
mod key;
mod logging;
mod plan;
mod printer;
mod release;
mod report;
#[cfg(feature = "sandbox")]
mod sandbox;
mod secrets;
mod settings;
mod source;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;

use clap::Parser;
use tracing::instrument::WithSubscriber;

use error::Category;
use interrupt::Interrupt;
pub use interrupt::Signal;
use printer::{Printer, PrinterConfig, Streams};

/// How a run ended, as the process exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: done (for `plan --detailed-exitcode`: done, and no changes).
    Success,
    /// 2 with `plan --detailed-exitcode`: done, and there are changes.
    Changes,
    /// 1: the operation failed (and, with `--detailed-exitcode`, any error).
    Failure,
    /// 2: invalid usage or config; nothing was sent.
    UsageError,
    /// 130 (SIGINT) or 143 (SIGTERM): stopped by a signal.
    Interrupted(Signal),
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Changes | ExitStatus::UsageError => 2,
            ExitStatus::Interrupted(s) => s.exit_code(),
        }
    }
}

/// The process environment, injected so that tests control every variable
/// the program reads (credentials, endpoints, colour, tuning).
#[derive(Clone, Debug, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// This process's environment (variables that are not UTF-8 are skipped).
    pub fn from_process() -> Env {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(name.into(), value.into());
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Env {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Env {
        Env {
            vars: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

/// Run the program in-process: parse `args` (the first is the program
/// name), run the command, write what it says to `stdout` and `stderr`
/// (neither a terminal), and return the exit status. Tests call this.
pub async fn run(
    args: Vec<OsString>,
    env: Env,
    stdout: Box<dyn Write + Send>,
    stderr: Box<dyn Write + Send>,
) -> ExitStatus {
    run_with(args, env, Streams::new(stdout, stderr), Interrupt::never()).await
}

/// Start loading the system's CA certificates now, on a thread of their own,
/// when `args` name a command that connects to Google: the first thing
/// `main` does, so that the load runs beside the runtime's start, the
/// argument parsing and the config's reading, which the first request waits
/// for anyway. Read from the raw arguments (before clap): a command read
/// wrongly only starts the load later (`commands::run` starts it as well) or
/// needlessly; the result is the same.
pub fn preload(args: &[OsString]) {
    const OFFLINE: [&str; 7] = [
        "validate",
        "targets",
        "generate",
        "help",
        "--help",
        "-h",
        "--version",
    ];
    let offline = args
        .iter()
        .skip(1)
        .filter_map(|a| a.to_str())
        .any(|a| OFFLINE.contains(&a) || a == "-V");
    if !offline && args.len() > 1 {
        gcp::preload_roots();
    }
}

/// The command-line interface as clap sees it: what a command line means
/// without running it. The docs' test parses every command line in the
/// documentation with it, so a renamed flag fails the build, not the reader.
pub fn command() -> clap::Command {
    <cli::Cli as clap::CommandFactory>::command()
}

/// [`run`] on this process's stdout and stderr, as the binary does.
pub async fn run_process(args: Vec<OsString>, env: Env) -> ExitStatus {
    run_with(args, env, Streams::std(), Interrupt::listen()).await
}

/// The value of `--flag VALUE` or `--flag=VALUE` in raw arguments: what a
/// run that clap refused still asked for (`--output json`,
/// `--log-format json`).
fn raw_flag<'a>(args: &'a [OsString], flag: &str) -> Option<&'a str> {
    let mut it = args.iter().filter_map(|a| a.to_str());
    while let Some(a) = it.next() {
        if a == flag {
            return it.next();
        }
        if let Some(v) = a.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
            return Some(v);
        }
    }
    None
}

/// A usage error from clap, in the formats the run asked for: with
/// `--log-format json` one JSON line on stderr, with `--output json` the
/// failure document on stdout (the contract holds for every exit).
fn usage_error(args: &[OsString], text: &str, streams: &mut Streams) {
    let json_out = raw_flag(args, "--output") == Some("json");
    let json_log = raw_flag(args, "--log-format") == Some("json");
    let mut lines = text.trim().lines();
    let first = lines.next().unwrap_or_default();
    let message = first.strip_prefix("error: ").unwrap_or(first).trim();
    let rest: Vec<&str> = lines.map(str::trim).filter(|l| !l.is_empty()).collect();
    let hint = rest.join("\n");
    let hint = (!hint.is_empty()).then_some(hint);
    let err = match json_log {
        true => {
            let mut extra = serde_json::Map::new();
            if let Some(h) = &hint {
                extra.insert("hint".into(), h.clone().into());
            }
            printer::json_line(printer::Severity::Error, message, extra)
        }
        false => text.to_string(),
    };
    let _ = streams.err.write_all(err.as_bytes());
    let _ = streams.err.flush();
    if json_out {
        let doc = report::json(&report::FailureReport::new(message, hint.as_deref()));
        let _ = streams.out.write_all(format!("{doc}\n").as_bytes());
        let _ = streams.out.flush();
    }
}

async fn run_with(
    args: Vec<OsString>,
    env: Env,
    mut streams: Streams,
    interrupt: Interrupt,
) -> ExitStatus {
    // Terraform's convention, which `--detailed-exitcode` promises: 0 no
    // changes, 2 changes, 1 any error, usage errors included.
    let detailed = args.iter().any(|a| a == "--detailed-exitcode");
    let cli = match cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` are data, on stdout; the rest errors.
            let text = e.render().to_string();
            match e.use_stderr() {
                true => usage_error(&args, &text, &mut streams),
                false => {
                    let _ = streams.out.write_all(text.as_bytes());
                    let _ = streams.out.flush();
                }
            }
            return match (e.use_stderr(), detailed) {
                (false, _) => ExitStatus::Success,
                (true, true) => ExitStatus::Failure,
                (true, false) => ExitStatus::UsageError,
            };
        }
    };
    let g = &cli.global;
    let json_output = g.output == cli::Output::Json;
    let ci = ci::Ci::detect(g.ci, &env);
    let printer = Printer::new(
        PrinterConfig::new(g.quiet, g.log_format, &|k| env.get(k)),
        streams,
    );
    let logs = logging::subscriber(
        g.verbose,
        g.quiet,
        env.get("RUST_LOG"),
        g.log_format,
        printer.log_writer(),
    );
    // A signal before any write ends the run here; once writes begin, the
    // apply step handles it and reports what it wrote.
    let result = tokio::select! {
        r = commands::run(cli, &env, &printer, &interrupt, &ci).with_subscriber(logs) => r,
        signal = interrupt.before_writes() => Err(error::Error::Interrupted { signal }),
    };
    ci.finish(&printer, &result);
    match result {
        Ok(status) => status,
        Err(e) => {
            if !e.is_reported() {
                let mut lines = error::chain(&e).into_iter();
                let first = lines.next().unwrap_or_default();
                let rest: Vec<String> = lines.collect();
                let message = match rest.is_empty() {
                    true => first,
                    false => format!("{first}\n  caused by: {}", rest.join("\n  caused by: ")),
                };
                printer.error(&message, e.hint().as_deref());
                // `--output json` promises exactly one JSON document on
                // stdout, failures included.
                if json_output && !printer.wrote_data() {
                    printer.data(&report::json(&report::FailureReport::new(
                        &message,
                        e.hint().as_deref(),
                    )));
                }
            }
            match (e.category(), detailed) {
                (Category::Interrupted(s), _) => ExitStatus::Interrupted(s),
                (_, true) | (Category::Failed, _) => ExitStatus::Failure,
                (Category::User, false) => ExitStatus::UsageError,
            }
        }
    }
}
