//! The request journal: one entry per HTTP request the emulator answered.
//!
//! Performance and reliability tests are built on it (how many writes a deploy made, in
//! which order, how long each took), so it records the matched discovery method id, whether
//! the route mutates state, and timings relative to the emulator's creation. It deliberately
//! holds no bodies: secret payloads must never reach it.
//!
//! [`critical_chain`] reads the timings back as the number of round trips a client had to
//! wait for one after another, which is what latency multiplies.

use serde::Serialize;
use std::time::Duration;

/// Which Google API a request belonged to. Cloud Run operations count as `Run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Api {
    Run,
    SecretManager,
    Iam,
    ResourceManager,
    /// Identity-Aware Proxy v1 (IAM policies of `iap_web` resources).
    Iap,
    /// IAM Service Account Credentials (impersonation).
    IamCredentials,
    /// Cloud Storage JSON API v1 (buckets, objects, media uploads and downloads).
    Storage,
    /// Cloud Build v1 (builds and their operations).
    CloudBuild,
    /// Artifact Registry v1 (repositories and their operations).
    ArtifactRegistry,
    /// A request that matched no route (answered 404) or the emulator's own endpoints.
    Unknown,
}

/// One answered request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalEntry {
    /// Position in arrival order, from 1.
    pub seq: u64,
    pub api: Api,
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// Decoded request path, e.g. `/v1/projects/acme/secrets/db:getIamPolicy`.
    pub path: String,
    /// Raw query string, without the `?`.
    pub query: String,
    /// Discovery method id, e.g. `run.projects.locations.services.patch`; empty if no route.
    pub rpc: String,
    /// The route mutates state and the request was not `validateOnly`.
    pub write: bool,
    pub validate_only: bool,
    /// HTTP status of the answer; 0 for a request held by a `Hang` fault (never answered).
    pub status: u16,
    /// An injected [`crate::Fault`] shaped the answer.
    pub faulted: bool,
    /// The account the request was made as: the service account of a token
    /// `generateAccessToken` issued, else the world's caller.
    pub principal: String,
    /// When the request arrived, since the emulator was created.
    pub started: Duration,
    /// When the answer was ready, since the emulator was created.
    pub ended: Duration,
}

/// The longest chain of requests in which each started after the previous one ended: the
/// requests a client had to make one after another, whatever it sent concurrently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Chain {
    /// How many requests the chain holds: the run's sequential round trips.
    pub depth: usize,
    /// The requests' own time summed along the chain (arrival to answer, the injected
    /// latency included): no client, however fast between requests, can finish sooner.
    pub busy: Duration,
}

/// The deepest chain in `entries` (of those as deep, the one that kept the emulator busiest).
///
/// A request B waits for A when B started at or after A ended; the chains are the paths of
/// that order, so the longest is found exactly by a pass over the requests sorted by start,
/// each extending the best chain among those that ended before it started (quadratic; a run
/// makes hundreds of requests at most).
pub fn critical_chain(entries: &[JournalEntry]) -> Chain {
    let mut sorted: Vec<&JournalEntry> = entries.iter().collect();
    sorted.sort_by_key(|e| e.started);
    let mut best: Vec<Chain> = Vec::with_capacity(sorted.len());
    for (i, e) in sorted.iter().enumerate() {
        let before = (0..i)
            .filter(|&k| sorted[k].ended <= e.started)
            .map(|k| best[k])
            .max_by_key(|c| (c.depth, c.busy))
            .unwrap_or_default();
        best.push(Chain {
            depth: before.depth + 1,
            busy: before.busy + e.ended.saturating_sub(e.started),
        });
    }
    best.into_iter()
        .max_by_key(|c| (c.depth, c.busy))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request from `start` to `end` milliseconds.
    fn req(start: u64, end: u64) -> JournalEntry {
        JournalEntry {
            seq: 0,
            api: Api::Run,
            method: "GET".into(),
            path: String::new(),
            query: String::new(),
            rpc: String::new(),
            write: false,
            validate_only: false,
            status: 200,
            faulted: false,
            principal: String::new(),
            started: Duration::from_millis(start),
            ended: Duration::from_millis(end),
        }
    }

    fn chain(depth: usize, busy_ms: u64) -> Chain {
        Chain {
            depth,
            busy: Duration::from_millis(busy_ms),
        }
    }

    #[test]
    fn no_requests_is_no_chain() {
        assert_eq!(critical_chain(&[]), chain(0, 0));
    }

    #[test]
    fn concurrent_requests_are_one_round_trip() {
        let wave = [req(0, 50), req(1, 52), req(2, 51)];
        assert_eq!(critical_chain(&wave), chain(1, 51));
    }

    #[test]
    fn waves_add_up_whatever_the_arrival_order() {
        // Two waves of three, then one request; listed out of order. The request 2..58
        // ends after two of the second wave started: only the third (60..106) follows it.
        let j = [
            req(110, 160),
            req(0, 50),
            req(55, 105),
            req(1, 51),
            req(56, 107),
            req(2, 58),
            req(60, 106),
        ];
        assert_eq!(critical_chain(&j), chain(3, 56 + 46 + 50));
    }

    #[test]
    fn a_request_starting_as_another_ends_waited_for_it() {
        assert_eq!(critical_chain(&[req(0, 50), req(50, 100)]), chain(2, 100));
    }

    #[test]
    fn the_deepest_chain_wins_over_a_longer_shallow_one() {
        // One slow request (0..300) against three quick ones in a row.
        let j = [req(0, 300), req(0, 10), req(10, 20), req(20, 30)];
        assert_eq!(critical_chain(&j), chain(3, 30));
    }

    #[test]
    fn of_equally_deep_chains_the_busiest_counts() {
        // Two chains of two: 0..10 then 10..20, and 0..15 then 15..60.
        let j = [req(0, 10), req(10, 20), req(0, 15), req(15, 60)];
        assert_eq!(critical_chain(&j), chain(2, 60));
    }

    #[test]
    fn a_chain_may_skip_over_concurrent_requests() {
        // The best chain into the last request goes through the middle one, not the first.
        let j = [req(0, 10), req(0, 40), req(40, 90), req(95, 100)];
        assert_eq!(critical_chain(&j), chain(3, 40 + 50 + 5));
    }
}
