//! Reads shared by the targets of one run: made once, whoever asks first.
//!
//! A run over several targets plans them concurrently, and targets in one
//! project read the same things: the project's number, its IAM policy, a
//! secret several environments use, a runtime account. While sharing is on
//! ([`SharedReads::start`], for the plan phase of such a run), each read is
//! keyed by its method and resource; the first caller sends it and every
//! other caller, concurrent or later, gets a copy of its answer, so the
//! request count grows with the distinct resources, not with the targets, and
//! a second asker waits on the first request rather than adding a round trip.
//! Sharing is turned off before any write ([`SharedReads::stop`]): a
//! read-modify-write that meets a stale etag must read the policy afresh.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::GcpError;

type Answer = Result<Arc<dyn Any + Send + Sync>, GcpError>;

#[derive(Default)]
pub(crate) struct SharedReads {
    on: AtomicBool,
    answers: Mutex<HashMap<String, Arc<OnceCell<Answer>>>>,
}

impl SharedReads {
    /// Share reads from now on.
    pub(crate) fn start(&self) {
        self.on.store(true, Ordering::SeqCst);
    }

    /// Stop sharing, and forget every answer: later reads go to Google.
    pub(crate) fn stop(&self) {
        self.on.store(false, Ordering::SeqCst);
        self.answers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// `read()`'s answer, sent once per `key` while sharing is on (an error
    /// is shared too: the same request would fail the same way, and its
    /// retries already ran).
    pub(crate) async fn read<T, F>(
        &self,
        key: String,
        read: impl FnOnce() -> F,
    ) -> Result<T, GcpError>
    where
        T: Clone + Send + Sync + 'static,
        F: Future<Output = Result<T, GcpError>>,
    {
        if !self.on.load(Ordering::SeqCst) {
            return read().await;
        }
        let cell = self
            .answers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_default()
            .clone();
        let answer = cell
            .get_or_init(|| async {
                read()
                    .await
                    .map(|v| Arc::new(v) as Arc<dyn Any + Send + Sync>)
            })
            .await;
        match answer {
            Ok(v) => Ok(v
                .downcast_ref::<T>()
                .expect("one answer type per key")
                .clone()),
            Err(e) => Err(e.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[tokio::test]
    async fn a_read_is_sent_once_while_shared_and_every_time_otherwise() {
        let shared = SharedReads::default();
        let sent = AtomicU32::new(0);
        let read = || async {
            sent.fetch_add(1, Ordering::SeqCst);
            Ok::<_, GcpError>(7u32)
        };
        shared.start();
        let (a, b) = tokio::join!(
            shared.read("projects.get p".into(), read),
            shared.read("projects.get p".into(), read)
        );
        assert_eq!((a.unwrap(), b.unwrap()), (7, 7));
        assert_eq!(sent.load(Ordering::SeqCst), 1);
        shared.read("projects.get q".into(), read).await.unwrap();
        assert_eq!(sent.load(Ordering::SeqCst), 2);
        shared.stop();
        shared.read("projects.get p".into(), read).await.unwrap();
        assert_eq!(sent.load(Ordering::SeqCst), 3);
    }
}
