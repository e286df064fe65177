//! Where the printer writes, and whether in colour.
//!
//! The sinks are injected so that a run can be captured in-process (tests,
//! `run` as a library) exactly as the binary would print it. The colour
//! decision is taken once, from an injected environment lookup.

use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Mutex};

use anstream::{AutoStream, ColorChoice};

/// The two output streams of a run.
pub(crate) struct Streams {
    /// Data: the plan, the JSON, the deployed URL.
    pub(crate) out: Box<dyn Write + Send>,
    /// Everything for people, and logs.
    pub(crate) err: Box<dyn Write + Send>,
    pub(crate) out_is_terminal: bool,
    pub(crate) err_is_terminal: bool,
    /// Columns of the terminal behind `err`, for redrawing a spinner in place.
    pub(crate) err_width: u16,
}

impl Streams {
    /// The process's stdout and stderr.
    pub(crate) fn std() -> Streams {
        let err_is_terminal = io::stderr().is_terminal();
        Streams {
            out: Box::new(io::stdout()),
            err: Box::new(io::stderr()),
            out_is_terminal: io::stdout().is_terminal(),
            err_is_terminal,
            err_width: match err_is_terminal {
                true => console::Term::stderr().size().1,
                false => DEFAULT_WIDTH,
            },
        }
    }

    /// Two sinks that are not terminals (files, pipes, buffers).
    pub(crate) fn new(
        out: impl Write + Send + 'static,
        err: impl Write + Send + 'static,
    ) -> Streams {
        Streams {
            out: Box::new(out),
            err: Box::new(err),
            out_is_terminal: false,
            err_is_terminal: false,
            err_width: DEFAULT_WIDTH,
        }
    }

    /// The same sinks, claimed to be terminals (or not).
    #[cfg(test)]
    pub(crate) fn terminals(self, out: bool, err: bool) -> Streams {
        Streams {
            out_is_terminal: out,
            err_is_terminal: err,
            ..self
        }
    }
}

const DEFAULT_WIDTH: u16 = 80;

/// The environment variables that decide colour, read once.
///
/// The rules are anstream's (`anstream/src/auto.rs`, `choice`), over the
/// variables anstyle-query reads (`anstyle-query/src/lib.rs`), which follow
/// no-color.org and bixense.com/clicolors:
/// 1. `NO_COLOR` set and not empty: never;
/// 2. `CLICOLOR_FORCE` set and not empty: always, terminal or not;
/// 3. `CLICOLOR=0`: never;
/// 4. otherwise colour on a terminal whose `TERM` supports it, or with
///    `CLICOLOR` set (not `0`), or in CI (`CI` set).
///
/// One difference: anstyle-query on Unix takes an unset `TERM` as "no
/// colour"; here only `TERM=dumb` is, as anstyle-query does on Windows. A
/// terminal with no `TERM` at all (a pseudo-terminal started with a cleared
/// environment) still gets colour; `NO_COLOR` turns it off.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ColorEnv {
    no_color: bool,
    clicolor: Option<bool>,
    clicolor_force: bool,
    term_dumb: bool,
    ci: bool,
}

impl ColorEnv {
    pub(crate) fn from_env(env: &dyn Fn(&str) -> Option<String>) -> ColorEnv {
        let non_empty = |k: &str| env(k).is_some_and(|v| !v.is_empty());
        ColorEnv {
            no_color: non_empty("NO_COLOR"),
            clicolor: env("CLICOLOR").map(|v| v != "0"),
            clicolor_force: non_empty("CLICOLOR_FORCE"),
            term_dumb: env("TERM").is_some_and(|t| t == "dumb"),
            ci: env("CI").is_some(),
        }
    }

    /// Colour on a stream that is (or is not) a terminal.
    pub(crate) fn color(&self, is_terminal: bool) -> bool {
        if self.no_color {
            false
        } else if self.clicolor_force {
            true
        } else if self.clicolor == Some(false) {
            false
        } else {
            is_terminal && (!self.term_dumb || self.clicolor == Some(true) || self.ci)
        }
    }

    /// A terminal that can redraw a line in place.
    pub(crate) fn can_redraw(&self) -> bool {
        !self.term_dumb
    }
}

/// One output stream, shared by every clone of the printer.
pub(super) struct Sink {
    raw: Box<dyn Write + Send>,
    choice: ColorChoice,
}

impl Sink {
    pub(super) fn new(raw: Box<dyn Write + Send>, color: bool) -> Arc<Mutex<Sink>> {
        let choice = match color {
            true => ColorChoice::Always,
            false => ColorChoice::Never,
        };
        Arc::new(Mutex::new(Sink { raw, choice }))
    }

    /// Write text, stripping any styling when colour is off.
    pub(super) fn text(&mut self, text: &str) {
        let mut s = AutoStream::new(&mut self.raw, self.choice);
        let _ = s.write_all(text.as_bytes());
        let _ = s.flush();
    }

    /// Write terminal control sequences as they are (the spinner's redraws).
    pub(super) fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.raw.write_all(bytes)
    }

    pub(super) fn flush(&mut self) -> io::Result<()> {
        self.raw.flush()
    }
}

/// Lock a sink (or the spinner slot), even one a panicking thread left poisoned: output
/// goes on.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
/// A buffer that can be handed to [`Streams`] and read afterwards, for
/// capturing a run in-process.
#[derive(Clone, Default)]
pub(crate) struct Capture(Arc<Mutex<Vec<u8>>>);

#[cfg(test)]
impl Capture {
    pub(crate) fn new() -> Capture {
        Capture::default()
    }

    /// Everything written so far.
    pub(crate) fn contents(&self) -> String {
        let bytes = lock(&self.0);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[cfg(test)]
impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        lock(&self.0).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Capture").field(&self.contents()).finish()
    }
}
