//! A long wait. On a terminal: an indicatif spinner with the label, the
//! latest message and the elapsed time, redrawn in place. Elsewhere (CI
//! logs, `--log-format json`): a plain line whenever the message changes, and
//! a heartbeat line at least every 15 s while updates keep coming, so a log
//! never goes silent for long.

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};
use serde_json::Map;

use super::streams::{Sink, lock};
use super::{Printer, Severity};

const HEARTBEAT: Duration = Duration::from_secs(15);
const TICK: Duration = Duration::from_millis(120);

pub(crate) struct Progress {
    label: String,
    printer: Printer,
    started: Instant,
    spinner: Option<ProgressBar>,
    last_line: Option<(String, Instant)>,
}

impl Progress {
    pub(super) fn start(label: &str, printer: Printer) -> Progress {
        Progress::start_at(label, printer, Instant::now())
    }

    /// A wait that began at `started` (before it was worth showing).
    pub(super) fn start_at(label: &str, printer: Printer, started: Instant) -> Progress {
        // A board on screen shows the wait on its target's line (and a wait
        // that is no one target's only there, as its targets' phases).
        if printer.board_live() {
            return Progress {
                label: label.to_string(),
                printer,
                started,
                spinner: None,
                last_line: None,
            };
        }
        let spinner = printer.spins().then(|| {
            let term = ErrTerm {
                sink: printer.shared.err.clone(),
                width: printer.shared.err_width,
            };
            let style = ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})")
                .expect("the template is valid")
                .tick_chars("|/-\\ ");
            let bar = ProgressBar::with_draw_target(
                None,
                ProgressDrawTarget::term_like_with_hz(Box::new(term), 20),
            )
            .with_style(style)
            .with_prefix(label.to_string());
            bar.enable_steady_tick(TICK);
            *lock(&printer.shared.active) = Some(bar.clone());
            bar
        });
        if spinner.is_none() && !printer.shared.quiet {
            let text = format!("{label}...");
            printer.line(Severity::Info, &text, &text, Map::new());
        }
        Progress {
            label: label.to_string(),
            printer,
            started,
            spinner,
            last_line: None,
        }
    }

    pub(crate) fn update(&mut self, text: &str) {
        if self.spinner.is_none() && self.printer.board_live() {
            self.printer.board_line(&format!("{}: {text}", self.label));
            return;
        }
        if let Some(bar) = &self.spinner {
            bar.set_message(text.to_string());
            return;
        }
        if self.printer.shared.quiet {
            return;
        }
        let due = match &self.last_line {
            Some((last, at)) => last != text || at.elapsed() >= HEARTBEAT,
            None => true,
        };
        if due {
            let elapsed = self.started.elapsed().as_secs_f64();
            let line = format!("{}: {text} ({elapsed:.0}s elapsed)", self.label);
            let mut extra = Map::new();
            extra.insert("elapsed_seconds".into(), elapsed.round().into());
            self.printer.line(Severity::Info, &line, &line, extra);
            self.last_line = Some((text.to_string(), Instant::now()));
        }
    }

    fn stop(&mut self) {
        if let Some(bar) = self.spinner.take() {
            bar.finish_and_clear();
            *lock(&self.printer.shared.active) = None;
        }
    }

    pub(crate) fn finish(mut self, text: &str) {
        self.stop();
        self.printer.success(text);
    }

    pub(crate) fn fail(mut self, text: &str) {
        self.stop();
        if !self.printer.shared.quiet && !self.printer.board_live() {
            let line = format!("{}: {text}", self.label);
            self.printer
                .line(Severity::Warning, &line, &line, Map::new());
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The printer's stderr as indicatif's terminal: redraws go to the injected
/// sink, as written (never stripped), so a captured run shows them too.
pub(super) struct ErrTerm {
    pub(super) sink: Arc<Mutex<Sink>>,
    pub(super) width: u16,
}

impl ErrTerm {
    fn csi(&self, n: usize, code: char) -> io::Result<()> {
        match n {
            0 => Ok(()),
            n => lock(&self.sink).raw(format!("\x1b[{n}{code}").as_bytes()),
        }
    }
}

impl TermLike for ErrTerm {
    fn width(&self) -> u16 {
        self.width
    }

    fn move_cursor_up(&self, n: usize) -> io::Result<()> {
        self.csi(n, 'A')
    }

    fn move_cursor_down(&self, n: usize) -> io::Result<()> {
        self.csi(n, 'B')
    }

    fn move_cursor_right(&self, n: usize) -> io::Result<()> {
        self.csi(n, 'C')
    }

    fn move_cursor_left(&self, n: usize) -> io::Result<()> {
        self.csi(n, 'D')
    }

    fn write_line(&self, s: &str) -> io::Result<()> {
        let mut sink = lock(&self.sink);
        sink.raw(s.as_bytes())?;
        sink.raw(b"\n")
    }

    fn write_str(&self, s: &str) -> io::Result<()> {
        lock(&self.sink).raw(s.as_bytes())
    }

    /// As console's `Term::clear_line`: to the start, erase the line.
    fn clear_line(&self) -> io::Result<()> {
        lock(&self.sink).raw(b"\r\x1b[2K")
    }

    fn flush(&self) -> io::Result<()> {
        lock(&self.sink).flush()
    }
}

impl fmt::Debug for ErrTerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrTerm")
            .field("width", &self.width)
            .finish()
    }
}
