//! Roll out a new revision and wait until it is ready.
//!
//! What the plan says decides the call: `services.create` when it found no
//! service (refused with ALREADY_EXISTS if someone created one since), and
//! `services.patch` with the live etag when it found one (refused if someone
//! changed it since). Either way nothing is overwritten blindly.
//!
//! The operation is then watched with Cloud Run's `operations.wait` (a long
//! poll that answers when the operation is done, so readiness is seen when it
//! happens), falling back to `operations.get` with backoff where `wait` is not
//! served. Every answer updates the progress line (a spinner on a terminal, a
//! plain line per change and every 15 s in CI logs). The wait is bounded by
//! the run's deadline. A poll that fails is not taken for a failed rollout:
//! the service is re-read and its real state reported.
//!
//! What a failure means (Cloud Run's reason, the message and hint) is decided
//! in `failure.rs`.

use std::time::{Duration, Instant};

use google_cloud_longrunning::model::Operation;
use google_cloud_longrunning::model::operation::Result as OpResult;
use google_cloud_run_v2::model::Service;
use google_cloud_run_v2::model::condition::State as ConditionState;
use serde::Serialize;

use super::failure::{
    FailureReason, failure_reason, reason_from_text, revision_failure, send_failure, watch_hint,
};
use super::{ApplyOptions, Failure};
use crate::gcp::{GcpError, Google, Kind};
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

/// The template annotation a rollout retry sets (see [`Attempt`]).
pub(crate) const RETRY_ANNOTATION: &str = "autosre-deploy/rollout-attempt";
/// Who deployed it, as the Cloud Run console shows (`client`,
/// `clientVersion`: free caller strings, run.v2 discovery).
const CLIENT: &str = "autosre-deploy";

const MAX_POLL_INTERVAL: Duration = Duration::from_secs(5);
/// Failed reads of the operation in a row before the service is asked instead.
const POLL_FAILURES: u32 = 3;
/// How long one `operations.wait` may hold the answer.
const WAIT_SLICE: Duration = Duration::from_secs(10);

/// Which try of the rollout this is. A retry marks the template with a value
/// unique to this run and attempt: Cloud Run makes a revision only when the
/// template changes, the run-v2 client has no `forceNewRevision` for
/// services, and a value reused from an earlier deploy's retry would be no
/// change at all.
#[derive(Clone, Debug)]
pub(crate) struct Attempt {
    pub(crate) run_id: String,
    pub(crate) number: u32,
}

pub(crate) struct RolloutFailure {
    pub(crate) outcome: Option<ServiceOutcome>,
    pub(crate) failure: Failure,
    pub(crate) reason: FailureReason,
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn rollout(
    google: &Google,
    name: &str,
    change: &ServiceChange,
    desired: &ServiceView,
    live: Option<Service>,
    attempt: &Attempt,
    options: &ApplyOptions,
    printer: &Printer,
) -> Result<ServiceOutcome, RolloutFailure> {
    let started = Instant::now();
    let mut service = apply_view(live.as_ref(), name, desired);
    service.client = CLIENT.into();
    service.client_version = env!("CARGO_PKG_VERSION").into();
    if attempt.number > 1
        && let Some(t) = service.template.as_mut()
    {
        t.annotations.insert(
            RETRY_ANNOTATION.into(),
            format!("{}-{}", attempt.run_id, attempt.number),
        );
    }
    let creating = live.is_none();
    let mut progress = printer.progress(&format!(
        "{} Cloud Run service {}",
        if creating { "Creating" } else { "Updating" },
        change.name
    ));
    let sent = match creating {
        true => {
            let (parent, id) = name.rsplit_once("/services/").unwrap_or((name, ""));
            google.create_service(parent, id, service).await
        }
        false => google.update_service(service).await,
    };
    let op = match sent {
        Ok(op) => op,
        Err(e) => {
            progress.fail("the service was not changed");
            return Err(RolloutFailure {
                outcome: None,
                failure: send_failure(e, creating),
                reason: FailureReason::Other,
            });
        }
    };
    let done = watch(google, op, options, &mut progress).await;
    let seconds = started.elapsed().as_secs_f64();
    let state = |s: &Service| ServiceOutcome {
        name: change.name.clone(),
        ready: is_ready(s),
        revision: Some(short(&s.latest_created_revision)).filter(|r| !r.is_empty()),
        serving: Some(short(&s.latest_ready_revision)).filter(|r| !r.is_empty()),
        url: Some(s.uri.clone()).filter(|u| !u.is_empty()),
        seconds,
    };
    // The service could not be read: what is known is that it is not ready.
    let unknown = || ServiceOutcome {
        name: change.name.clone(),
        ready: false,
        revision: None,
        serving: None,
        url: None,
        seconds,
    };
    match done {
        Watched::Done(Ok(s)) if is_ready(&s) => {
            let outcome = state(&s);
            progress.finish(&format!(
                "Revision {} is ready ({seconds:.1}s)",
                outcome.revision.as_deref().unwrap_or("?")
            ));
            Ok(outcome)
        }
        Watched::Done(result) => {
            // The operation failed, or finished with a service that is not
            // ready: either way the revision did not become ready. Re-read the
            // service for where traffic is and for Cloud Run's reason.
            let message = match &result {
                Ok(s) => condition_message(s),
                Err(status) => status.message.clone(),
            };
            let now = match result {
                Ok(s) => Some(*s),
                Err(_) => google.service(name).await.ok().flatten(),
            };
            progress.fail("the new revision is not ready");
            let reason = match now.as_ref().map(failure_reason) {
                Some(FailureReason::Unknown) | None => reason_from_text(&message),
                Some(known) => known,
            };
            let outcome = now.as_ref().map(state);
            Err(RolloutFailure {
                failure: revision_failure(message, reason, outcome.as_ref()),
                outcome,
                reason,
            })
        }
        Watched::PollFailed(e) => {
            // One failed poll says nothing about the rollout: ask the service.
            match google.service(name).await.ok().flatten() {
                Some(s) if s.reconciling => {
                    progress.fail("the rollout is still in progress");
                    Err(still_running(name, e.to_string(), state(&s)))
                }
                Some(s) if is_ready(&s) && s.latest_ready_revision == s.latest_created_revision => {
                    let outcome = state(&s);
                    progress.finish(&format!(
                        "Revision {} is ready ({seconds:.1}s; seen by re-reading the service after polling failed)",
                        outcome.revision.as_deref().unwrap_or("?")
                    ));
                    Ok(outcome)
                }
                now => {
                    progress.fail("polling the rollout failed");
                    let outcome = now.as_ref().map(state);
                    Err(RolloutFailure {
                        failure: Failure {
                            message: format!("watching the rollout failed: {e}"),
                            hint: Some(watch_hint(name)),
                        },
                        outcome,
                        reason: FailureReason::Unknown,
                    })
                }
            }
        }
        Watched::Interrupted(op) => {
            progress.fail("interrupted");
            let signal = options
                .interrupt
                .requested()
                .map(|s| s.name())
                .unwrap_or("a signal");
            let now = google.service(name).await.ok().flatten();
            let mut f = still_running(
                name,
                format!(
                    "interrupted by {signal}; the grants above were written, and operation `{op}` is still in progress: Cloud Run goes on with the rollout"
                ),
                now.as_ref().map(state).unwrap_or_else(unknown),
            );
            f.reason = FailureReason::Interrupted;
            Err(f)
        }
        Watched::TimedOut(op) => {
            progress.fail("the rollout did not finish in time");
            let now = google.service(name).await.ok().flatten();
            Err(still_running(
                name,
                format!(
                    "the rollout did not finish within the deadline (--timeout); operation `{op}` is still in progress"
                ),
                now.as_ref().map(state).unwrap_or_else(unknown),
            ))
        }
    }
}

fn still_running(name: &str, message: String, outcome: ServiceOutcome) -> RolloutFailure {
    RolloutFailure {
        failure: Failure {
            message,
            hint: Some(watch_hint(name)),
        },
        outcome: Some(outcome),
        reason: FailureReason::Unknown,
    }
}

/// How watching an operation ended.
enum Watched {
    Done(Result<Box<Service>, google_cloud_rpc::model::Status>),
    /// Reading the operation failed (after retries of what is transient).
    PollFailed(GcpError),
    /// The run's deadline passed first; the operation's name.
    TimedOut(String),
    /// A signal arrived first; the operation's name.
    Interrupted(String),
}

async fn watch(
    google: &Google,
    mut op: Operation,
    options: &ApplyOptions,
    progress: &mut crate::printer::Progress,
) -> Watched {
    let mut interval = options.poll_interval;
    // Cloud Run's long poll, until it is shown not to be served.
    let mut long_poll = true;
    // Failed reads in a row (after the call's own retries of what is
    // transient): one bad answer is not the end of the rollout.
    let mut failed_reads = 0;
    loop {
        report(&op, progress);
        if op.done {
            return Watched::Done(match op.result {
                Some(OpResult::Error(status)) => Err(*status),
                Some(OpResult::Response(any)) => {
                    any.to_msg::<Service>().map(Box::new).map_err(|e| {
                        google_cloud_rpc::model::Status::default()
                            .set_message(format!("cannot read the operation's result: {e}"))
                    })
                }
                _ => Err(google_cloud_rpc::model::Status::default()
                    .set_message("the operation ended without a result")),
            });
        }
        let left = options.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Watched::TimedOut(op.name);
        }
        let read = async {
            match long_poll {
                true => google.operation(&op.name, Some(WAIT_SLICE.min(left))).await,
                false => {
                    tokio::time::sleep(interval.min(left)).await;
                    google.operation(&op.name, None).await
                }
            }
        };
        let next = tokio::select! {
            next = read => next,
            _ = options.interrupt.wait() => return Watched::Interrupted(op.name),
        };
        if !long_poll {
            interval = (interval * 3 / 2).min(MAX_POLL_INTERVAL);
        }
        match next {
            Ok(next) => {
                failed_reads = 0;
                // `wait` may return early (run.v2 discovery); an answer that
                // is not done yet is fine, but one that returns at once must
                // not become a busy loop.
                if long_poll && !next.done {
                    tokio::time::sleep(options.poll_interval.min(left)).await;
                }
                op = next;
            }
            // The route is not served here: poll with `get` instead.
            Err(e) if long_poll && (e.is(Kind::NotFound) || e.http_status == Some(501)) => {
                long_poll = false;
            }
            Err(e) if failed_reads + 1 < POLL_FAILURES => {
                failed_reads += 1;
                tracing::info!(operation = %op.name, error = %e, "reading the operation failed; reading it again");
                tokio::time::sleep(options.poll_interval.min(left)).await;
            }
            Err(e) => return Watched::PollFailed(e),
        }
    }
}

fn report(op: &Operation, progress: &mut crate::printer::Progress) {
    let revision = op
        .metadata
        .as_ref()
        .and_then(|m| m.to_msg::<Service>().ok())
        .map(|s| short(&s.latest_created_revision))
        .filter(|r| !r.is_empty());
    progress.update(&match revision {
        Some(r) => format!("waiting for revision {r} to become ready"),
        None => "waiting for the operation".into(),
    });
}

fn is_ready(s: &Service) -> bool {
    s.terminal_condition
        .as_ref()
        .is_some_and(|c| c.state == ConditionState::ConditionSucceeded)
}

fn condition_message(s: &Service) -> String {
    s.terminal_condition
        .as_ref()
        .map(|c| c.message.clone())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "the service is not ready".into())
}

/// `projects/p/locations/r/services/s/revisions/x` -> `x`.
fn short(name: &str) -> String {
    name.rsplit('/').next().unwrap_or_default().to_string()
}
