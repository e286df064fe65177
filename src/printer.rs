//! The one place that writes to the terminal.
//!
//! stdout carries data: the plan, the JSON, the deployed URL. Everything for
//! people (steps, progress, warnings, errors) goes to stderr, as do logs.
//! `--quiet`, `NO_COLOR` and "is this a terminal" are decided here once.
//! Meaning is never carried by colour alone: every coloured word also has a
//! marker or a prefix (`+`, `warning:`, `error:`).

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub(crate) struct Printer {
    quiet: bool,
    /// Colour on stderr.
    color: bool,
    /// Colour on stdout (the plan).
    color_out: bool,
    /// stderr is a terminal: progress redraws in place.
    live: bool,
}

pub(crate) enum Style {
    Green,
    Yellow,
    Red,
    Bold,
}

impl Printer {
    pub(crate) fn new(quiet: bool) -> Printer {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let err_tty = std::io::stderr().is_terminal();
        Printer {
            quiet,
            color: err_tty && !no_color,
            color_out: std::io::stdout().is_terminal() && !no_color,
            live: err_tty && !quiet,
        }
    }

    /// The same printer, painting "stdout" text for stderr instead: for data
    /// rendered for people on stderr (the plan a deploy is about to apply).
    pub(crate) fn painting_for_stderr(&self) -> Printer {
        Printer {
            color_out: self.color,
            ..self.clone()
        }
    }

    /// Paint `text` for stdout when colour is on there.
    pub(crate) fn paint_out(&self, style: Style, text: &str) -> String {
        paint(self.color_out, style, text)
    }

    fn paint_err(&self, style: Style, text: &str) -> String {
        paint(self.color, style, text)
    }

    /// Data for stdout.
    pub(crate) fn data(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = out.write_all(b"\n");
        }
        let _ = out.flush();
    }

    /// A step of the run, for people.
    pub(crate) fn step(&self, text: &str) {
        if !self.quiet {
            eprintln!("{} {text}", self.paint_err(Style::Bold, "==>"));
        }
    }

    pub(crate) fn info(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    pub(crate) fn success(&self, text: &str) {
        if !self.quiet {
            eprintln!("{} {text}", self.paint_err(Style::Green, "ok:"));
        }
    }

    pub(crate) fn warn(&self, text: &str) {
        eprintln!("{} {text}", self.paint_err(Style::Yellow, "warning:"));
    }

    pub(crate) fn error(&self, text: &str, hint: Option<&str>) {
        eprintln!("{} {text}", self.paint_err(Style::Red, "error:"));
        if let Some(h) = hint {
            let mut lines = h.lines();
            if let Some(first) = lines.next() {
                eprintln!("  {} {first}", self.paint_err(Style::Bold, "hint:"));
            }
            for l in lines {
                eprintln!("        {l}");
            }
        }
    }

    /// Progress for a long wait.
    pub(crate) fn progress(&self, label: &str) -> Progress {
        Progress::start(label, self.clone())
    }
}

fn paint(on: bool, style: Style, text: &str) -> String {
    if !on {
        return text.to_string();
    }
    let code = match style {
        Style::Green => "32",
        Style::Yellow => "33",
        Style::Red => "31",
        Style::Bold => "1",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// A long wait. On a terminal: a spinner with the elapsed time, redrawn in
/// place. Elsewhere (CI logs): a plain line whenever the message changes, and
/// a heartbeat line every 15 s, so a log never goes silent for long.
pub(crate) struct Progress {
    label: String,
    printer: Printer,
    started: Instant,
    message: Arc<Mutex<String>>,
    spinner: Option<tokio::task::JoinHandle<()>>,
    last_line: Option<(String, Instant)>,
}

const HEARTBEAT: Duration = Duration::from_secs(15);

impl Progress {
    fn start(label: &str, printer: Printer) -> Progress {
        let message = Arc::new(Mutex::new(String::new()));
        let started = Instant::now();
        let spinner = (printer.live && tokio::runtime::Handle::try_current().is_ok()).then(|| {
            let message = message.clone();
            let label = label.to_string();
            tokio::spawn(async move {
                const FRAMES: [&str; 4] = ["|", "/", "-", "\\"];
                let mut tick = tokio::time::interval(Duration::from_millis(120));
                for i in 0usize.. {
                    tick.tick().await;
                    let m = message.lock().map(|m| m.clone()).unwrap_or_default();
                    eprint!(
                        "\r\x1b[2K{} {label}: {m} ({:.0}s)",
                        FRAMES[i % FRAMES.len()],
                        started.elapsed().as_secs_f64()
                    );
                }
            })
        });
        if !printer.live && !printer.quiet {
            eprintln!("{label}...");
        }
        Progress {
            label: label.to_string(),
            printer,
            started,
            message,
            spinner,
            last_line: None,
        }
    }

    pub(crate) fn update(&mut self, text: &str) {
        if let Ok(mut m) = self.message.lock() {
            *m = text.to_string();
        }
        if self.printer.live || self.printer.quiet {
            return;
        }
        let due = match &self.last_line {
            Some((last, at)) => last != text || at.elapsed() >= HEARTBEAT,
            None => true,
        };
        if due {
            eprintln!(
                "{}: {text} ({:.0}s elapsed)",
                self.label,
                self.started.elapsed().as_secs_f64()
            );
            self.last_line = Some((text.to_string(), Instant::now()));
        }
    }

    fn stop(&mut self) {
        if let Some(s) = self.spinner.take() {
            s.abort();
            eprint!("\r\x1b[2K");
        }
    }

    pub(crate) fn finish(mut self, text: &str) {
        self.stop();
        self.printer.success(text);
    }

    pub(crate) fn fail(mut self, text: &str) {
        self.stop();
        if !self.printer.quiet {
            eprintln!("{}: {text}", self.label);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop();
    }
}
