//! The one place that writes to the terminal.
//!
//! stdout carries data: the plan, the JSON, the deployed URL. Everything for
//! people (steps, progress, warnings, errors) goes to stderr, as do logs.
//! `--quiet`, `--log-format`, colour and "is this a terminal" are decided
//! here once, when the printer is made; the streams are injected
//! ([`Streams`]), so a run can be captured in-process.
//!
//! Colour is written with anstyle and goes out through anstream, which strips
//! it where colour is off. Meaning is never carried by colour alone: every
//! coloured word also has a marker or a prefix (`+`, `warning:`, `error:`).
//!
//! With `--log-format json`, every line on stderr is one JSON object with
//! Cloud Logging's field names ([`json`]), the printer's own lines included:
//! a multi-line block is one object, an error's hint its `hint` field.

mod board;
mod json;
pub(crate) mod markdown;
mod progress;
mod streams;

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex};

use anstyle::AnsiColor;
use indicatif::ProgressBar;
use serde_json::{Map, Value};

use crate::cli::LogFormat;
pub(crate) use board::Board;
pub(crate) use json::{Severity, line as json_line};
pub(crate) use progress::Progress;
#[allow(unused_imports, reason = "for in-process runs and tests")]
#[cfg(test)]
pub(crate) use streams::Capture;
pub(crate) use streams::{ColorEnv, Streams};
use streams::{Sink, lock};

/// What the printer is told about the run, decided before it starts.
#[derive(Clone, Debug)]
pub(crate) struct PrinterConfig {
    /// `--quiet`: only warnings, errors and data.
    pub(crate) quiet: bool,
    pub(crate) log_format: LogFormat,
    pub(crate) color: ColorEnv,
}

impl PrinterConfig {
    /// `env` looks up an environment variable (`|k| std::env::var(k).ok()`
    /// for the process's own).
    pub(crate) fn new(
        quiet: bool,
        log_format: LogFormat,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> PrinterConfig {
        PrinterConfig {
            quiet,
            log_format,
            color: ColorEnv::from_env(env),
        }
    }
}

/// Cheap to clone: every clone writes to the same streams.
#[derive(Clone)]
pub(crate) struct Printer {
    shared: Arc<Shared>,
    /// [`Printer::paint_out`] paints for stderr rather than stdout.
    paint_stderr: bool,
    /// The target (`staging/us-central1`) this printer speaks for in a run
    /// over several: each of its lines on stderr starts with `[TARGET]` (in
    /// JSON, a `target` field), so interleaved lines stay attributable.
    prefix: Option<Arc<str>>,
    /// Where [`Printer::data`] goes instead of stdout, when set: the
    /// documents of a run over several targets, joined into one afterwards.
    captured: Option<Arc<Mutex<String>>>,
    /// Where stderr text goes instead, when set: the lines of one target of a
    /// run over several that checks them at once, printed together when its
    /// turn comes ([`Printer::holding`]).
    held: Option<Arc<Mutex<String>>>,
}

struct Shared {
    quiet: bool,
    json: bool,
    color_out: bool,
    color_err: bool,
    /// stderr is a terminal that redraws: progress is a spinner.
    live: bool,
    err_width: u16,
    out: Arc<Mutex<Sink>>,
    err: Arc<Mutex<Sink>>,
    /// The spinner on screen, put aside while another line is written.
    active: Mutex<Option<ProgressBar>>,
    /// The board of a run over several targets on screen, and its line per
    /// target (see [`board`]).
    board: Mutex<Option<board::OnScreen>>,
    /// Whether anything went to stdout: with `--output json` a failed run
    /// that printed nothing still prints one JSON document.
    wrote_data: std::sync::atomic::AtomicBool,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Style {
    Green,
    Yellow,
    Red,
    Bold,
}

impl Style {
    fn anstyle(self) -> anstyle::Style {
        match self {
            Style::Green => AnsiColor::Green.on_default(),
            Style::Yellow => AnsiColor::Yellow.on_default(),
            Style::Red => AnsiColor::Red.on_default(),
            Style::Bold => anstyle::Style::new().bold(),
        }
    }
}

fn paint(on: bool, style: Style, text: &str) -> String {
    match on {
        true => {
            let s = style.anstyle();
            format!("{s}{text}{s:#}")
        }
        false => text.to_string(),
    }
}

impl Printer {
    pub(crate) fn new(config: PrinterConfig, streams: Streams) -> Printer {
        let json = matches!(config.log_format, LogFormat::Json);
        let color_out = config.color.color(streams.out_is_terminal);
        // JSON lines carry no styling; `json::line` strips it as well.
        let color_err = !json && config.color.color(streams.err_is_terminal);
        Printer {
            shared: Arc::new(Shared {
                quiet: config.quiet,
                json,
                color_out,
                color_err,
                live: streams.err_is_terminal
                    && config.color.can_redraw()
                    && !config.quiet
                    && !json,
                err_width: streams.err_width,
                out: Sink::new(streams.out, color_out),
                err: Sink::new(streams.err, color_err),
                active: Mutex::new(None),
                board: Mutex::new(None),
                wrote_data: std::sync::atomic::AtomicBool::new(false),
            }),
            paint_stderr: false,
            prefix: None,
            captured: None,
            held: None,
        }
    }

    /// The same printer, its data (stdout) kept in `into` instead of printed.
    pub(crate) fn capturing(&self, into: Arc<Mutex<String>>) -> Printer {
        Printer {
            captured: Some(into),
            ..self.clone()
        }
    }

    /// The same printer, its stderr lines kept in `into` instead of written,
    /// and its waits shown as plain lines rather than a spinner: several
    /// targets checked at once print each one's lines together, in order,
    /// with [`Printer::release`].
    pub(crate) fn holding(&self, into: Arc<Mutex<String>>) -> Printer {
        Printer {
            held: Some(into),
            ..self.clone()
        }
    }

    /// Write stderr text another printer held, as it was rendered.
    pub(crate) fn release(&self, held: &str) {
        if !held.is_empty() {
            self.write_err(held);
        }
    }

    /// A wait is a spinner redrawn in place: stderr redraws and this
    /// printer's lines are not held.
    fn spins(&self) -> bool {
        self.shared.live && self.held.is_none()
    }

    /// The same printer, its stderr lines prefixed with `[target]`.
    pub(crate) fn for_target(&self, target: &str) -> Printer {
        Printer {
            prefix: Some(target.into()),
            ..self.clone()
        }
    }

    /// The same printer, painting "stdout" text for stderr instead: for data
    /// rendered for people on stderr (the plan a deploy is about to apply).
    pub(crate) fn painting_for_stderr(&self) -> Printer {
        Printer {
            paint_stderr: true,
            ..self.clone()
        }
    }

    /// Paint `text` for stdout when colour is on there.
    pub(crate) fn paint_out(&self, style: Style, text: &str) -> String {
        let on = match self.paint_stderr {
            true => self.shared.color_err,
            false => self.shared.color_out,
        };
        paint(on, style, text)
    }

    fn paint_err(&self, style: Style, text: &str) -> String {
        paint(self.shared.color_err, style, text)
    }

    /// Data for stdout, ending in a newline.
    pub(crate) fn data(&self, text: &str) {
        if let Some(into) = &self.captured {
            lock(into).push_str(text);
            return;
        }
        self.shared
            .wrote_data
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.spinner_aside(|| {
            let mut out = lock(&self.shared.out);
            out.text(text);
            if !text.ends_with('\n') {
                out.text("\n");
            }
        });
    }

    /// Whether [`Printer::data`] has written anything.
    pub(crate) fn wrote_data(&self) -> bool {
        self.shared
            .wrote_data
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A step of the run, for people.
    pub(crate) fn step(&self, text: &str) {
        if !self.shared.quiet {
            let human = format!("{} {text}", self.paint_err(Style::Bold, "==>"));
            self.line(Severity::Info, &human, text, Map::new());
        }
    }

    /// Text for people; may span lines (in JSON, one object all the same).
    pub(crate) fn info(&self, text: &str) {
        if !self.shared.quiet {
            self.line(Severity::Info, text, text, Map::new());
        }
    }

    pub(crate) fn success(&self, text: &str) {
        if !self.shared.quiet {
            let human = format!("{} {text}", self.paint_err(Style::Green, "ok:"));
            self.line(Severity::Info, &human, text, Map::new());
        }
    }

    /// Shown even with `--quiet`.
    pub(crate) fn warn(&self, text: &str) {
        let human = format!("{} {text}", self.paint_err(Style::Yellow, "warning:"));
        self.line(Severity::Warning, &human, text, Map::new());
    }

    /// Shown even with `--quiet`. The hint is the fix, on its own line.
    pub(crate) fn error(&self, text: &str, hint: Option<&str>) {
        let mut human = format!("{} {text}", self.paint_err(Style::Red, "error:"));
        let mut extra = Map::new();
        if let Some(h) = hint {
            let mut lines = h.lines();
            if let Some(first) = lines.next() {
                human.push_str(&format!(
                    "\n  {} {first}",
                    self.paint_err(Style::Bold, "hint:")
                ));
            }
            for l in lines {
                human.push_str(&format!("\n        {l}"));
            }
            extra.insert("hint".into(), h.into());
        }
        self.line(Severity::Error, &human, text, extra);
    }

    /// Progress for a long wait.
    pub(crate) fn progress(&self, label: &str) -> Progress {
        Progress::start(label, self.clone())
    }

    /// Progress for a wait that began at `started`: its elapsed time counts
    /// from then.
    pub(crate) fn progress_since(&self, label: &str, started: std::time::Instant) -> Progress {
        Progress::start_at(label, self.clone(), started)
    }

    /// A writer for tracing logs ([`crate::logging::subscriber`]): the same
    /// stderr, with any spinner put aside while a log line is written.
    pub(crate) fn log_writer(&self) -> LogWriter {
        LogWriter(self.clone())
    }

    /// One line (or block) on stderr: `human` as text, or `message` with
    /// `extra` as one JSON object.
    fn line(&self, severity: Severity, human: &str, message: &str, mut extra: Map<String, Value>) {
        let text = match (self.shared.json, &self.prefix) {
            (true, prefix) => {
                if let Some(p) = prefix {
                    extra.insert("target".into(), p.as_ref().into());
                }
                json::line(severity, message, extra)
            }
            (false, None) => format!("{human}\n"),
            (false, Some(p)) => human.lines().map(|l| format!("[{p}] {l}\n")).collect(),
        };
        self.write_err(&text);
    }

    /// A GitHub Actions workflow command (`::error ...::`, `::group::`), as
    /// is: never styled, never a JSON log line, written with `--quiet` too
    /// (see `crate::ci`).
    pub(crate) fn workflow_command(&self, text: &str) {
        self.write_err(text);
    }

    fn write_err(&self, text: &str) {
        if let Some(into) = &self.held {
            lock(into).push_str(text);
            return;
        }
        self.spinner_aside(|| lock(&self.shared.err).text(text));
    }

    /// Run `write` with the spinner (if one is on screen) cleared, and
    /// redraw it after: stdout and stderr often share the terminal.
    fn spinner_aside(&self, write: impl FnOnce()) {
        let board = lock(&self.shared.board).as_ref().map(|(m, _)| m.clone());
        if let Some(multi) = board {
            return multi.suspend(write);
        }
        let bar = lock(&self.shared.active).clone();
        match bar {
            Some(bar) if !bar.is_finished() => bar.suspend(write),
            _ => write(),
        }
    }
}

impl fmt::Debug for Printer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.shared;
        f.debug_struct("Printer")
            .field("quiet", &s.quiet)
            .field("json", &s.json)
            .field("color_out", &s.color_out)
            .field("color_err", &s.color_err)
            .field("live", &s.live)
            .field("paint_stderr", &self.paint_stderr)
            .finish()
    }
}

/// See [`Printer::log_writer`].
#[derive(Clone, Debug)]
pub(crate) struct LogWriter(Printer);

impl io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_err(&String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        lock(&self.0.shared.err).flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> LogWriter {
        self.clone()
    }
}

#[cfg(test)]
mod tests;
