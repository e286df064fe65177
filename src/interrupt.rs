//! Ctrl-C and SIGTERM: stop starting writes, say what was done, exit 130/143.
//!
//! A CI runner cancelling a job sends SIGTERM; a person presses Ctrl-C. On the
//! first signal the run stops starting new writes: before any write it just
//! ends; during the grants it finishes the write in flight and stops; during
//! a rollout it stops waiting and says which operation is still in progress
//! and how to watch it (Cloud Run goes on with it either way). A second
//! signal exits at once. The exit code is 128 + the signal number, as shells
//! report a process killed by it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Signal {
    #[serde(rename = "SIGINT")]
    Interrupt,
    #[serde(rename = "SIGTERM")]
    Terminate,
}

impl Signal {
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }
}

/// The run's view of signals: cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Interrupt {
    rx: watch::Receiver<Option<Signal>>,
    /// Set once the first write is about to be sent: from then on the apply
    /// step handles a signal itself, so it can say what it wrote.
    writing: Arc<AtomicBool>,
}

impl Interrupt {
    /// No signals (in-process runs: the host owns them).
    pub(crate) fn never() -> Interrupt {
        let (tx, rx) = watch::channel(None);
        // Keep the sender alive so `changed()` pends instead of failing.
        std::mem::forget(tx);
        Interrupt {
            rx,
            writing: Arc::default(),
        }
    }

    /// Listen for SIGINT and SIGTERM on this process.
    pub(crate) fn listen() -> Interrupt {
        let (tx, rx) = watch::channel(None);
        tokio::spawn(async move {
            let mut first = None;
            loop {
                let signal = next_signal().await;
                match first {
                    // A second signal: exit at once.
                    Some(_) => std::process::exit(i32::from(signal.exit_code())),
                    None => {
                        first = Some(signal);
                        let _ = tx.send(Some(signal));
                    }
                }
            }
        });
        Interrupt {
            rx,
            writing: Arc::default(),
        }
    }

    /// The signal received, if any.
    pub(crate) fn requested(&self) -> Option<Signal> {
        *self.rx.borrow()
    }

    /// Resolves when a signal arrives (at once if one already has).
    pub(crate) async fn wait(&self) -> Signal {
        let mut rx = self.rx.clone();
        loop {
            if let Some(s) = *rx.borrow_and_update() {
                return s;
            }
            if rx.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }

    /// Whether writes have begun (and the apply step owns signals and the
    /// deadline).
    pub(crate) fn writing(&self) -> bool {
        self.writing.load(Ordering::SeqCst)
    }

    /// Resolves at `at`, unless writes have begun by then: from then on the
    /// apply step ends the run itself at its deadline, saying what it wrote.
    pub(crate) async fn deadline_before_writes(&self, at: std::time::Instant) {
        tokio::time::sleep_until(at.into()).await;
        if self.writing() {
            std::future::pending::<()>().await;
        }
    }

    /// Writes begin: signals are now the apply step's to handle.
    pub(crate) fn start_writing(&self) {
        self.writing.store(true, Ordering::SeqCst);
    }

    /// Resolves on a signal that arrives before any write; never once the
    /// writes have begun (the apply step reports those itself).
    pub(crate) async fn before_writes(&self) -> Signal {
        let s = self.wait().await;
        match self.writing.load(Ordering::SeqCst) {
            false => s,
            true => std::future::pending().await,
        }
    }
}

#[cfg(unix)]
async fn next_signal() -> Signal {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => Signal::Interrupt,
        _ = term.recv() => Signal::Terminate,
    }
}

#[cfg(not(unix))]
async fn next_signal() -> Signal {
    match tokio::signal::ctrl_c().await {
        Ok(()) => Signal::Interrupt,
        Err(_) => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_signal_before_writes_ends_the_run_and_after_is_the_apply_steps() {
        let (tx, rx) = watch::channel(None);
        let i = Interrupt {
            rx,
            writing: Arc::default(),
        };
        assert_eq!(i.requested(), None);
        tx.send(Some(Signal::Terminate)).unwrap();
        assert_eq!(i.before_writes().await, Signal::Terminate);
        i.start_writing();
        use futures::FutureExt;
        assert!(
            i.before_writes().now_or_never().is_none(),
            "once writing, the apply step handles it"
        );
        assert_eq!(i.wait().await.exit_code(), 143);
    }
}
