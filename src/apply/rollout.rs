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
use crate::plan::traffic::{self, Share};
use crate::plan::{ServiceChange, ToSend};
use crate::printer::Printer;

/// The service after the rollout.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ServiceOutcome {
    pub(crate) name: String,
    pub(crate) ready: bool,
    /// The revision this deploy created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) revision: Option<String>,
    /// The revision serving the largest share of traffic now, from the
    /// service's `trafficStatuses` (not the latest ready revision: with
    /// traffic pinned to named revisions a new revision may serve nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) serving: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) url: Option<String>,
    /// Every share of traffic now, with tags and their URLs.
    #[serde(default)]
    pub(crate) traffic: Vec<Share>,
    pub(crate) seconds: f64,
}

impl ServiceOutcome {
    /// The service as read, `revision` the one this run created (if any).
    pub(crate) fn of(name: &str, s: &Service, revision: Option<String>, seconds: f64) -> Self {
        let traffic = traffic::serving(s);
        ServiceOutcome {
            name: name.to_string(),
            ready: is_ready(s),
            revision,
            serving: traffic::serving_revisions(&traffic).into_iter().next(),
            url: Some(s.uri.clone()).filter(|u| !u.is_empty()),
            traffic,
            seconds,
        }
    }
}

pub(crate) use crate::plan::service::{PREVIOUS_ANNOTATION, VERSION_ANNOTATION};

/// The template annotation a rollout retry sets (see [`Attempt`]).
pub(crate) const RETRY_ANNOTATION: &str = "autosre-deploy/rollout-attempt";

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
    /// The service as the failure left it, when it was read: what a retry
    /// starts from (its etag changed with the failed rollout).
    pub(crate) service: Option<Service>,
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn rollout(
    google: &Google,
    name: &str,
    change: &ServiceChange,
    to_send: &ToSend,
    live: Option<Service>,
    attempt: &Attempt,
    options: &ApplyOptions,
    printer: &Printer,
) -> Result<ServiceOutcome, RolloutFailure> {
    let started = Instant::now();
    let mut service = to_send.service().clone();
    // A retry starts from the service as the failed rollout left it: its
    // etag is the one to guard the write with.
    if let Some(l) = &live {
        service.etag = l.etag.clone();
    }
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
                service: None,
            });
        }
    };
    let done = watch(google, op, options, &mut progress).await;
    let seconds = started.elapsed().as_secs_f64();
    let state = |s: Option<&Service>| match s {
        Some(s) => {
            let created = Some(short(&s.latest_created_revision)).filter(|r| !r.is_empty());
            ServiceOutcome::of(&change.name, s, created, seconds)
        }
        None => ServiceOutcome {
            name: change.name.clone(),
            ready: false,
            revision: None,
            serving: None,
            url: None,
            traffic: Vec::new(),
            seconds,
        },
    };
    // How it ended, and the service as it is now: the operation's result
    // when it has one, else one read of the service, which says where
    // traffic is, why a revision failed, and what a retry starts from.
    let (ended, now) = match done {
        Watched::Done(Ok(s)) => (Ended::Finished(condition_message(&s)), Some(*s)),
        Watched::Done(Err(status)) => (Ended::Finished(status.message), None),
        Watched::PollFailed(e) => (Ended::PollFailed(e), None),
        Watched::Interrupted(op) => (Ended::Interrupted(op), None),
        Watched::TimedOut(op) => (Ended::TimedOut(op), None),
    };
    let now = match now {
        Some(s) => Some(s),
        None => google.service(name).await.ok().flatten(),
    };
    let outcome = state(now.as_ref());
    let ready_now = now
        .as_ref()
        .is_some_and(|s| is_ready(s) && s.latest_ready_revision == s.latest_created_revision);
    let fail = |failure: Failure, reason: FailureReason, outcome: ServiceOutcome| RolloutFailure {
        outcome: Some(outcome),
        failure,
        reason,
        service: now.clone(),
    };
    match ended {
        Ended::Finished(_) if ready_now => {
            progress.finish(&format!(
                "Revision {} is ready ({seconds:.1}s)",
                outcome.revision.as_deref().unwrap_or("?")
            ));
            Ok(outcome)
        }
        Ended::Finished(message) => {
            // The operation failed, or finished with a service that is not
            // ready: either way the revision did not become ready.
            progress.fail("the new revision is not ready");
            let reason = match now.as_ref().map(failure_reason) {
                Some(FailureReason::Unknown) | None => reason_from_text(&message),
                Some(known) => known,
            };
            let failure = revision_failure(message, reason, Some(&outcome));
            Err(fail(failure, reason, outcome))
        }
        // One failed poll says nothing about the rollout: the service does.
        Ended::PollFailed(e) if now.as_ref().is_some_and(|s| s.reconciling) => {
            progress.fail("the rollout is still in progress");
            Err(fail(
                still_running(name, e.to_string()),
                FailureReason::Unknown,
                outcome,
            ))
        }
        Ended::PollFailed(_) if ready_now => {
            progress.finish(&format!(
                "Revision {} is ready ({seconds:.1}s; seen by re-reading the service after polling failed)",
                outcome.revision.as_deref().unwrap_or("?")
            ));
            Ok(outcome)
        }
        Ended::PollFailed(e) => {
            progress.fail("polling the rollout failed");
            let failure = still_running(name, format!("watching the rollout failed: {e}"));
            Err(fail(failure, FailureReason::Unknown, outcome))
        }
        Ended::Interrupted(op) => {
            progress.fail("interrupted");
            let signal = options
                .interrupt
                .requested()
                .map(|s| s.name())
                .unwrap_or("a signal");
            let failure = still_running(
                name,
                format!(
                    "interrupted by {signal}; operation `{op}` is still in progress: Cloud Run goes on with the rollout"
                ),
            );
            Err(fail(failure, FailureReason::Interrupted, outcome))
        }
        Ended::TimedOut(op) => {
            progress.fail("the rollout did not finish in time");
            let failure = still_running(
                name,
                format!(
                    "the rollout did not finish within the deadline (--timeout); operation `{op}` is still in progress"
                ),
            );
            Err(fail(failure, FailureReason::Unknown, outcome))
        }
    }
}

/// A rollout left running (or unwatchable): what happened, and how to watch it.
fn still_running(name: &str, message: String) -> Failure {
    Failure {
        message,
        hint: Some(watch_hint(name)),
    }
}

/// How a watched rollout ended, before the service is consulted.
enum Ended {
    /// The operation finished; the message to show if the revision is not ready.
    Finished(String),
    PollFailed(GcpError),
    Interrupted(String),
    TimedOut(String),
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
