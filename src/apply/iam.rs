//! IAM writes: one read-modify-write per policy, retried on a stale etag.
//!
//! The first attempt edits the policy the plan read (same etag), so a policy
//! that changes costs exactly one write and no extra read. When someone else
//! wrote in between, Google answers 409 `ABORTED`; we read the policy again,
//! recompute the edit against what is there now (their change kept), and
//! retry with exponential backoff and jitter. The clients do not retry
//! setIamPolicy themselves: it is not idempotent without the etag dance.

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
                    tokio::time::sleep(google.retry().delay(attempt, None)).await;
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
        let (result, agent_waits) = set_policy(google, change, edited).await;
        writes += agent_waits;
        match result {
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
                let delay = google.retry().delay(attempt, None);
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

/// How many times a write that adds IAP's service agent is sent while
/// Google says the agent does not exist yet: gcloud's `--iap` makes 10
/// attempts (gcloud's `command_lib/run/serverless_operations.py`).
const AGENT_ATTEMPTS: u32 = 10;

/// One setIamPolicy of `edited`. IAP's service agent is created by Google
/// when IAP is first used in a project, so granting it right after IAP is
/// turned on can be refused with 400 INVALID_ARGUMENT (the member does not
/// exist yet); a write that adds the agent is then sent again after a backoff,
/// up to [`AGENT_ATTEMPTS`] times, as gcloud does. The decision rests on the
/// status and on what this write adds, never on the message. Returns the
/// result and how many refused writes preceded it.
async fn set_policy(
    google: &Google,
    change: &IamChange,
    edited: Policy,
) -> (Result<Policy, GcpError>, u32) {
    let adds_agent = change.add.iter().any(|g| is_iap_agent(&g.member));
    let mut refused = 0;
    loop {
        match google.set_policy(&change.resource, edited.clone()).await {
            Err(e) if adds_agent && e.is(Kind::InvalidArgument) && refused + 1 < AGENT_ATTEMPTS => {
                let delay = google.retry().delay(refused, None);
                refused += 1;
                tracing::info!(
                    resource = %change.resource.name(),
                    retry_in_ms = delay.as_millis() as u64,
                    "IAP's service agent is not ready yet (INVALID_ARGUMENT on its grant); retrying"
                );
                tokio::time::sleep(delay).await;
            }
            result => return (result, refused),
        }
    }
}

/// `serviceAccount:service-NUMBER@gcp-sa-iap.iam.gserviceaccount.com`: the
/// member [`crate::plan::names::iap_agent`] names.
fn is_iap_agent(member: &str) -> bool {
    member
        .strip_prefix("serviceAccount:service-")
        .and_then(|m| m.strip_suffix("@gcp-sa-iap.iam.gserviceaccount.com"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

async fn read(google: &Google, resource: &PolicyResource) -> Result<Policy, GcpError> {
    Ok(google.get_policy(resource).await?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_iap_agent_is_recognised_by_its_whole_name() {
        assert!(super::is_iap_agent(
            "serviceAccount:service-123@gcp-sa-iap.iam.gserviceaccount.com"
        ));
        for other in [
            "serviceAccount:service-123@gcp-sa-aiplatform.iam.gserviceaccount.com",
            "serviceAccount:service-@gcp-sa-iap.iam.gserviceaccount.com",
            "user:service-123@gcp-sa-iap.iam.gserviceaccount.com",
            "serviceAccount:autosre@p.iam.gserviceaccount.com",
        ] {
            assert!(!super::is_iap_agent(other), "{other}");
        }
    }
}
