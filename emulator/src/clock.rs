//! The emulator's clock, on which everything time-based in the modelled APIs is measured
//! (today: IAM propagation). Tests use [`Clock::Manual`] and move time with
//! [`crate::Emulator::advance`] instead of sleeping; the binary uses [`Clock::Real`].
//!
//! The journal's timestamps are not on this clock: they measure real latency.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Which time the emulator's behaviour follows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Clock {
    /// Real time since the emulator was created, plus any [`crate::Emulator::advance`].
    #[default]
    Real,
    /// Stands still until [`crate::Emulator::advance`] moves it: deterministic tests.
    Manual,
}

/// The clock shared by the emulator and its state (hooks see the same time).
#[derive(Debug, Clone)]
pub(crate) struct SharedClock(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    kind: Clock,
    start: Instant,
    offset: Mutex<Duration>,
}

impl SharedClock {
    pub(crate) fn new(kind: Clock) -> SharedClock {
        SharedClock(Arc::new(Inner {
            kind,
            start: Instant::now(),
            offset: Mutex::new(Duration::ZERO),
        }))
    }

    fn offset(&self) -> Duration {
        *self.0.offset.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Emulator time: how long since the emulator started, on this clock.
    pub(crate) fn now(&self) -> Duration {
        match self.0.kind {
            Clock::Real => self.0.start.elapsed() + self.offset(),
            Clock::Manual => self.offset(),
        }
    }

    pub(crate) fn advance(&self, by: Duration) {
        *self.0.offset.lock().unwrap_or_else(|e| e.into_inner()) += by;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced() {
        let c = SharedClock::new(Clock::Manual);
        assert_eq!(c.now(), Duration::ZERO);
        c.advance(Duration::from_secs(90));
        assert_eq!(c.now(), Duration::from_secs(90));
        let r = SharedClock::new(Clock::Real);
        r.advance(Duration::from_secs(3600));
        assert!(r.now() >= Duration::from_secs(3600));
    }
}
