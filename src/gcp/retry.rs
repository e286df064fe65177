//! When a failed call is tried again, and after how long.
//!
//! Google's guidance: retry only what is transient, on requests safe to
//! repeat, with exponential backoff and jitter, within a bound
//! (https://google.aip.dev/194; for IAM, 500/502/503/504 and, on 409 ABORTED,
//! the whole read-modify-write: https://cloud.google.com/iam/docs/retry-strategy).
//! The clients' own retry loop (gax `Aip194Strict`) retries only UNAVAILABLE
//! and ignores `Retry-After` and the POST-shaped reads (`getIamPolicy` on
//! projects and service accounts), so the clients are built with
//! `NeverRetry` and every call goes through [`Retry`] instead:
//!
//! - what is transient: HTTP 429, 500, 502, 503, 504 (with or without a
//!   Google error body: a proxy's HTML page counts), a connection that could
//!   not be made, and an attempt that timed out;
//! - what is safe to repeat: reads, writes guarded by an etag (a repeat
//!   of a write that did land is refused with ABORTED, never applied twice),
//!   and creates whose repeat is provably harmless (a repeat of one that did
//!   land answers 409 / ALREADY_EXISTS, which the caller takes as "exists"),
//!   retried on every 5xx and 429 as gcloud's HTTP layer retries them
//!   (apitools `base/py/http_wrapper.py`, `HandleExceptionsAndRebuildHttpConnections`
//!   and `CheckResponse`). Other writes (`services.create`, whose repeat
//!   could be misreported) are repeated only when the request cannot have
//!   been processed (429, or no connection);
//! - how long to wait: exponential from `initial`, doubling to `max`, with
//!   full jitter, but never less than the server's `Retry-After`.

use std::time::Duration;

use google_cloud_gax::error::Error as GaxError;
use google_cloud_gax::error::rpc::Code;

/// Whether a call may be sent twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Safety {
    /// Reads (GET, and the POST-shaped getIamPolicy).
    Read,
    /// Writes that carry the etag they were computed from.
    Guarded,
    /// Creates whose repeat is harmless: one that landed makes the repeat
    /// answer 409 / ALREADY_EXISTS, and the caller takes that as "exists"
    /// (the staging bucket, the Artifact Registry repository).
    Idempotent,
    /// Writes that could land twice (a create): repeated only when the
    /// request cannot have been processed.
    Unguarded,
}

/// How failed calls are retried (defaults: 5 attempts, 1 s doubling to 30 s,
/// 60 s per attempt).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Retry {
    pub(crate) attempts: u32,
    pub(crate) initial: Duration,
    pub(crate) max: Duration,
    /// Each attempt's bound: a server that accepts the connection and never
    /// answers costs this, not forever.
    pub(crate) attempt_timeout: Duration,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry {
            attempts: 5,
            initial: Duration::from_secs(1),
            max: Duration::from_secs(30),
            attempt_timeout: Duration::from_secs(60),
        }
    }
}

/// Why an attempt failed, as far as retrying is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transience {
    /// Not transient: final.
    Permanent,
    /// Transient, and the request may have been processed (a 5xx).
    MaybeProcessed,
    /// Transient, and the request was not processed (429, no connection).
    NotProcessed,
}

/// Classify a client error (structured data only: codes, HTTP statuses,
/// the error's kind).
pub(crate) fn transience(e: &GaxError) -> Transience {
    if e.is_connect() || e.is_transient_and_before_rpc() {
        return Transience::NotProcessed;
    }
    let http = e.http_status_code();
    let code = e.status().map(|s| s.code);
    match (code, http) {
        (Some(Code::ResourceExhausted), _) | (_, Some(429)) => Transience::NotProcessed,
        (Some(Code::Unavailable | Code::Internal | Code::DeadlineExceeded), _)
        | (_, Some(500 | 502 | 503 | 504)) => Transience::MaybeProcessed,
        _ if e.is_io() || e.is_timeout() => Transience::MaybeProcessed,
        _ => Transience::Permanent,
    }
}

impl Retry {
    /// Whether a call of `safety` that failed so should be tried again.
    pub(crate) fn should_retry(safety: Safety, t: Transience) -> bool {
        match (safety, t) {
            (_, Transience::Permanent) => false,
            (Safety::Read | Safety::Guarded | Safety::Idempotent, _) => true,
            (Safety::Unguarded, Transience::NotProcessed) => true,
            (Safety::Unguarded, Transience::MaybeProcessed) => false,
        }
    }

    /// The wait before attempt `attempt + 1` (0-based `attempt` just failed):
    /// full jitter over the exponential bound, at least `retry_after`.
    pub(crate) fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let bound = self
            .initial
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max);
        let jittered = bound.mul_f64(rand::random_range(0.0..=1.0));
        jittered.max(retry_after.unwrap_or_default())
    }
}

/// The server's `Retry-After`, in seconds (the HTTP-date form is not used by
/// Google APIs and is ignored).
pub(crate) fn retry_after(e: &GaxError) -> Option<Duration> {
    let value = e.http_headers()?.get(http::header::RETRY_AFTER)?;
    let secs: u64 = value.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs.min(300)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_guarded_writes_and_idempotent_creates_retry_every_transient_error() {
        for s in [Safety::Read, Safety::Guarded, Safety::Idempotent] {
            assert!(Retry::should_retry(s, Transience::MaybeProcessed));
            assert!(Retry::should_retry(s, Transience::NotProcessed));
            assert!(!Retry::should_retry(s, Transience::Permanent));
        }
    }

    #[test]
    fn an_unguarded_write_is_repeated_only_when_it_was_not_processed() {
        assert!(Retry::should_retry(
            Safety::Unguarded,
            Transience::NotProcessed
        ));
        assert!(!Retry::should_retry(
            Safety::Unguarded,
            Transience::MaybeProcessed
        ));
    }

    #[test]
    fn the_delay_grows_is_capped_and_honours_retry_after() {
        let r = Retry {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
            ..Retry::default()
        };
        for attempt in 0..20 {
            let bound = Duration::from_millis(100 << attempt.min(4)).min(Duration::from_secs(1));
            assert!(r.delay(attempt, None) <= bound);
        }
        let hinted = r.delay(0, Some(Duration::from_secs(7)));
        assert!(hinted >= Duration::from_secs(7), "{hinted:?}");
    }

    #[test]
    fn status_codes_classify_by_number() {
        use google_cloud_gax::error::rpc::Status;
        let status = |code: Code| GaxError::service(Status::default().set_code(code));
        assert_eq!(
            transience(&status(Code::Unavailable)),
            Transience::MaybeProcessed
        );
        assert_eq!(
            transience(&status(Code::ResourceExhausted)),
            Transience::NotProcessed
        );
        assert_eq!(transience(&status(Code::Aborted)), Transience::Permanent);
        assert_eq!(
            transience(&status(Code::PermissionDenied)),
            Transience::Permanent
        );
        let html = GaxError::http(
            502,
            http::HeaderMap::new(),
            bytes::Bytes::from_static(b"<html>"),
        );
        assert_eq!(transience(&html), Transience::MaybeProcessed);
    }
}
