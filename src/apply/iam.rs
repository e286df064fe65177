//! IAM writes: one read-modify-write per policy, retried on a stale etag.
//!
//! The first attempt edits the policy the plan read (same etag), so a policy
//! that changes costs exactly one write and no extra read. When someone else
//! wrote in between, Google answers 409 `ABORTED`; we read the policy again,
//! recompute the edit against what is there now (their change kept), and
//! retry with exponential backoff and jitter. The clients do not retry
//! setIamPolicy themselves: it is not idempotent without the etag dance.

use std::time::Duration;

use google_cloud_iam_v1::model::Policy;

use crate::gcp::iam::{self, PolicyResource};
use crate::gcp::{GcpError, Google, Kind};
use crate::plan::IamChange;

/// How many times a read-modify-write is tried before giving up.
const ATTEMPTS: u32 = 6;

/// What happened to one planned change.
#[derive(Debug)]
pub(crate) enum IamResult {
    /// Written (or found already in place on a re-read). `attempts` counts
    /// the read-modify-write rounds that sent a write.
    Applied { attempts: u32, wrote: bool },
    /// Not written. `attempts` counts the rounds that sent a write.
    Failed { error: GcpError, attempts: u32 },
}

pub(crate) async fn apply_change(
    google: &Google,
    change: &IamChange,
    planned: Option<Policy>,
) -> IamResult {
    // A policy read without an etag is never written (that would be a blind
    // overwrite): it is read again, and the run fails if it stays so.
    let mut current = planned.filter(|p| !p.etag.is_empty());
    let mut writes = 0;
    for attempt in 0..ATTEMPTS {
        let policy = match current.take() {
            Some(p) => p,
            None => match read(google, &change.resource).await {
                Ok(p) if p.etag.is_empty() && attempt + 1 < ATTEMPTS => {
                    tracing::info!(
                        resource = %change.resource.name(),
                        "the policy came back without an etag; reading it again"
                    );
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
                Ok(p) => p,
                Err(error) => {
                    return IamResult::Failed {
                        error,
                        attempts: writes,
                    };
                }
            },
        };
        let Some(edited) = iam::edit(&policy, &change.add, &change.remove) else {
            // Someone else made the same change meanwhile; nothing to write.
            return IamResult::Applied {
                attempts: attempt,
                wrote: false,
            };
        };
        match google.set_policy(&change.resource, edited).await {
            Ok(_) => {
                return IamResult::Applied {
                    attempts: writes + 1,
                    wrote: true,
                };
            }
            // Refused before sending: the policy has no etag.
            Err(error) if error.is(Kind::NoEtag) => {
                return IamResult::Failed {
                    error,
                    attempts: writes,
                };
            }
            Err(e) if e.is(Kind::Aborted) && attempt + 1 < ATTEMPTS => {
                writes += 1;
                let delay = backoff(attempt);
                tracing::info!(
                    resource = %change.resource.name(),
                    retry_in_ms = delay.as_millis() as u64,
                    "the policy changed since it was read (ABORTED); re-reading and retrying"
                );
                tokio::time::sleep(delay).await;
            }
            Err(error) => {
                return IamResult::Failed {
                    error,
                    attempts: writes + 1,
                };
            }
        }
    }
    IamResult::Failed {
        error: GcpError::no_etag("setIamPolicy", &change.resource.name()),
        attempts: writes,
    }
}

async fn read(google: &Google, resource: &PolicyResource) -> Result<Policy, GcpError> {
    Ok(google.get_policy(resource).await?.unwrap_or_default())
}

/// 200 ms, 400 ms, 800 ms... capped at 5 s, with up to 50% jitter so that
/// two deploys racing on one policy do not retry in lockstep.
fn backoff(attempt: u32) -> Duration {
    let base = 200u64.saturating_mul(1 << attempt.min(5)).min(5_000);
    let jitter = rand::random_range(0..=base / 2);
    Duration::from_millis(base + jitter)
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(0).as_millis() >= 200 && backoff(0).as_millis() <= 300);
        assert!(backoff(2).as_millis() >= 800);
        assert!(backoff(30).as_millis() <= 7_500);
    }
}
