//! The calls to Google in flight, so that a long wait can be shown (what is awaited, for how
//! long) and a run that reaches its `--timeout` can say what it was waiting for.
//!
//! [`super::Google::call`] registers each attempt for as long as it runs; the command layer
//! looks at the oldest one (see `commands::shared`). Cheap to clone: clones share the list.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Default, Debug)]
pub(crate) struct Waits {
    next: Arc<AtomicU64>,
    calls: Arc<Mutex<BTreeMap<u64, (String, Instant)>>>,
}

/// One call in flight; dropping it (the call ended, or was cancelled) removes it.
pub(crate) struct Waiting {
    id: u64,
    waits: Waits,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.waits.lock().remove(&self.id);
    }
}

impl Waits {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, (String, Instant)>> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Register `what` (e.g. `run services.get `projects/...``) until the guard drops.
    pub(crate) fn start(&self, what: String) -> Waiting {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, (what, Instant::now()));
        Waiting {
            id,
            waits: self.clone(),
        }
    }

    /// The call waited on longest, and for how long; `None` when none is in flight.
    pub(crate) fn longest(&self) -> Option<(String, Duration)> {
        self.lock()
            .values()
            .min_by_key(|(_, since)| *since)
            .map(|(what, since)| (what.clone(), since.elapsed()))
    }

    /// How many calls are in flight.
    #[cfg(test)]
    pub(crate) fn count(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_listed_while_it_runs() {
        let w = Waits::default();
        assert!(w.longest().is_none());
        let a = w.start("run services.get `a`".into());
        let b = w.start("iam serviceAccounts.get `b`".into());
        assert_eq!(w.count(), 2);
        assert_eq!(w.longest().unwrap().0, "run services.get `a`");
        drop(a);
        assert_eq!(w.longest().unwrap().0, "iam serviceAccounts.get `b`");
        drop(b);
        assert_eq!(w.count(), 0);
    }
}
