//! Roll out a new revision and wait until it is ready.
//!
//! The upsert is a `PATCH` with `allowMissing=true` (create or update in one
//! call) carrying the live service's etag, so a concurrent edit of the service
//! is refused rather than overwritten. The long-running operation is polled by
//! hand, not with `until_done`, so every poll can report progress: a spinner
//! on a terminal, a plain line per change (and every 15 s) in CI logs.

use std::time::{Duration, Instant};

use google_cloud_lro::{Poller, PollingResult};
use google_cloud_run_v2::model::Service;
use google_cloud_run_v2::model::condition::State as ConditionState;
use serde::Serialize;

use super::{ApplyOptions, Failure};
use crate::gcp::Google;
use crate::plan::ServiceChange;
use crate::plan::service::{ServiceView, apply_view};
use crate::printer::Printer;

/// The service after the rollout.
#[derive(Debug, Serialize)]
pub(crate) struct ServiceOutcome {
    pub(crate) name: String,
    pub(crate) ready: bool,
    /// The revision this deploy created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) revision: Option<String>,
    /// The revision serving traffic now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) serving: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) url: Option<String>,
    pub(crate) seconds: f64,
}

/// The template annotation a rollout retry sets (see [`rollout`]).
pub(crate) const RETRY_ANNOTATION: &str = "autosre-deploy/rollout-attempt";

const MAX_POLL_INTERVAL: Duration = Duration::from_secs(5);
/// Transient polling errors tolerated in a row before giving up.
const POLL_ERRORS: u32 = 5;

pub(crate) async fn rollout(
    google: &Google,
    name: &str,
    change: &ServiceChange,
    desired: &ServiceView,
    live: Option<Service>,
    attempt: u32,
    options: ApplyOptions,
    printer: &Printer,
) -> Result<ServiceOutcome, (Option<ServiceOutcome>, Failure)> {
    let started = Instant::now();
    let mut service = apply_view(live.as_ref(), name, desired);
    if attempt > 1 {
        // Cloud Run creates a revision only when the template changes, and
        // the run-v2 client has no forceNewRevision for services: a retry
        // marks its template so the rollout is tried again.
        if let Some(t) = service.template.as_mut() {
            t.annotations
                .insert(RETRY_ANNOTATION.into(), attempt.to_string());
        }
    }
    let verb = match live {
        Some(_) => "Updating",
        None => "Creating",
    };
    let mut progress = printer.progress(&format!("{verb} Cloud Run service {}", change.name));
    let mut poller = google.upsert_service(service, false);
    let mut interval = options.poll_interval;
    let mut errors = 0;
    let mut polls = 0u32;
    let result = loop {
        let t = Instant::now();
        let Some(r) = poller.poll().await else {
            break Err("the operation ended without a result".to_string());
        };
        polls += 1;
        if polls > 1 {
            google.log_poll(name, "OK", t.elapsed().as_millis() as u64);
        }
        match r {
            PollingResult::InProgress(meta) => {
                errors = 0;
                let revision = meta
                    .map(|s| short(&s.latest_created_revision))
                    .filter(|r| !r.is_empty());
                progress.update(&match revision {
                    Some(r) => format!("waiting for revision {r} to become ready"),
                    None => "waiting for the operation".into(),
                });
            }
            PollingResult::Completed(Ok(s)) => break Ok(s),
            PollingResult::Completed(Err(e)) => {
                break Err(e
                    .status()
                    .map(|s| s.message.clone())
                    .unwrap_or_else(|| e.to_string()));
            }
            PollingResult::PollingError(e) => {
                errors += 1;
                if errors >= POLL_ERRORS {
                    break Err(format!("polling the operation failed: {e}"));
                }
                progress.update(&format!("polling failed ({e}); retrying"));
            }
        }
        tokio::time::sleep(interval).await;
        interval = (interval * 3 / 2).min(MAX_POLL_INTERVAL);
    };
    let seconds = started.elapsed().as_secs_f64();
    match result {
        Ok(s) => {
            let ready = s
                .terminal_condition
                .as_ref()
                .is_some_and(|c| c.state == ConditionState::ConditionSucceeded);
            let outcome = ServiceOutcome {
                name: change.name.clone(),
                ready,
                revision: Some(short(&s.latest_created_revision)).filter(|r| !r.is_empty()),
                serving: Some(short(&s.latest_ready_revision)).filter(|r| !r.is_empty()),
                url: Some(s.uri.clone()).filter(|u| !u.is_empty()),
                seconds,
            };
            if ready {
                progress.finish(&format!(
                    "Revision {} is ready ({seconds:.1}s)",
                    outcome.revision.as_deref().unwrap_or("?")
                ));
                Ok(outcome)
            } else {
                let message = s
                    .terminal_condition
                    .map(|c| c.message)
                    .unwrap_or_else(|| "the service is not ready".into());
                progress.fail("the new revision is not ready");
                Err((Some(outcome), revision_failure(message)))
            }
        }
        Err(message) => {
            progress.fail("the rollout failed");
            // Report where traffic is now: Cloud Run keeps it on the last
            // ready revision when a new one fails.
            let now = google.service(name).await.ok().flatten();
            let outcome = now.map(|s| ServiceOutcome {
                name: change.name.clone(),
                ready: false,
                revision: Some(short(&s.latest_created_revision)).filter(|r| !r.is_empty()),
                serving: Some(short(&s.latest_ready_revision)).filter(|r| !r.is_empty()),
                url: Some(s.uri.clone()).filter(|u| !u.is_empty()),
                seconds,
            });
            let mut failure = revision_failure(message);
            if let Some(serving) = outcome.as_ref().and_then(|o| o.serving.clone()) {
                failure.hint = Some(
                    format!(
                        "{}\ntraffic stays on revision {serving}",
                        failure.hint.unwrap_or_default()
                    )
                    .trim_start()
                    .to_string(),
                );
            }
            Err((outcome, failure))
        }
    }
}

/// True when a revision failed because its service account cannot read a
/// secret yet: Cloud Run's "Permission denied on secret: ..." condition.
pub(crate) fn is_secret_permission(failure: &Failure) -> bool {
    failure.message.contains("Permission denied on secret")
}

fn revision_failure(message: String) -> Failure {
    let hint = (message.contains("ecret") && message.to_lowercase().contains("permission")).then(|| {
        "the revision's service account cannot read a secret; run `autosre-deploy check` to see the missing grants (new grants can take a few minutes to apply)".to_string()
    });
    Failure { message, hint }
}

/// `projects/p/locations/r/services/s/revisions/x` -> `x`.
fn short(name: &str) -> String {
    name.rsplit('/').next().unwrap_or_default().to_string()
}
