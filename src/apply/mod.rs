//! Execute a plan: IAM writes, the service rollout, the wait for readiness.
//!
//! Writes only what the plan lists, in dependency order: grants first (the
//! new revision must be able to read its secrets when it starts), then the
//! service, then the service's own policy (which cannot exist before the
//! service does). The service's IAP policy (`iap.members`) goes with its own
//! policy: before the service when the service exists, so that the members
//! and IAP's agent have access when `iapEnabled` turns IAP on, and after it
//! on a first deploy, since IAP's resource exists only with the service. Every step's result is recorded in the [`Outcome`], also
//! when a later step fails, so the report says exactly what was changed.

mod build;
mod failure;
pub(crate) mod iam;
pub(crate) mod rollout;

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::gcp::iam::{Grant, PolicyResource};
use crate::gcp::{Google, Kind};
use crate::interrupt::{Interrupt, Signal};
use crate::plan::{LiveState, Plan, ServiceAction, ToSend};
use crate::printer::Printer;
pub(crate) use build::build;
pub(crate) use failure::watch_hint;
use iam::IamResult;
pub(crate) use rollout::ServiceOutcome;

#[derive(Clone, Debug)]
pub(crate) struct ApplyOptions {
    /// A denied write of a non-required grant fails the run instead of warning.
    pub(crate) strict_iam: bool,
    /// First interval between operation polls; it grows to 5 s.
    pub(crate) poll_interval: Duration,
    /// How long to keep retrying a rollout whose revision cannot read a
    /// secret yet because the grant this run made has not propagated.
    pub(crate) propagation_timeout: Duration,
    /// The wait between such retries.
    pub(crate) propagation_retry: Duration,
    /// When the run must end (`--timeout`): a rollout still in progress then
    /// is reported as such, with how to watch it.
    pub(crate) deadline: Instant,
    /// A signal stops the run from starting new writes.
    pub(crate) interrupt: Interrupt,
}

/// What a deploy did.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Outcome {
    /// A source deploy's steps and its build (`build::build`): the id, the
    /// digest, the log's URL and what each step wrote.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) build: Option<crate::source::build::BuildRecord>,
    pub(crate) iam: Vec<IamOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) service: Option<ServiceOutcome>,
    pub(crate) warnings: Vec<String>,
    /// Set when the run failed; what was done before is still listed above.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) failure: Option<Failure>,
    /// Set when a signal stopped the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) interrupted: Option<Signal>,
}

/// What happened to one policy: only what did happen.
#[derive(Debug, Serialize)]
pub(crate) struct IamOutcome {
    pub(crate) resource: PolicyResource,
    /// Bindings this run added (empty unless `status` is `applied`).
    pub(crate) added: Vec<Grant>,
    pub(crate) removed: Vec<Grant>,
    /// Planned bindings that were not written (a denied or failed write).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) not_added: Vec<Grant>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) not_removed: Vec<Grant>,
    pub(crate) status: IamStatus,
    /// Read-modify-write rounds that sent a setIamPolicy (more than one
    /// after a concurrent change).
    pub(crate) attempts: u32,
    /// Policy writes that took effect: 1 when applied, else 0.
    pub(crate) writes: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum IamStatus {
    Applied,
    AlreadyPresent,
    Denied,
    Failed,
}

/// When a signal has arrived: record it and what state it leaves, and say
/// to stop.
fn stopped(outcome: &mut Outcome, options: &ApplyOptions, state: &str) -> bool {
    let Some(signal) = options.interrupt.requested() else {
        return false;
    };
    outcome.interrupted = Some(signal);
    outcome.failure = Some(Failure {
        message: format!("interrupted by {}; {state}", signal.name()),
        hint: None,
    });
    true
}

impl Outcome {
    /// Nothing was done: the run stopped before any write.
    pub(crate) fn failed(message: String, hint: Option<String>) -> Outcome {
        Outcome {
            failure: Some(Failure { message, hint }),
            ..Outcome::default()
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct Failure {
    pub(crate) message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) hint: Option<String>,
}

/// Execute `plan` against the state it was computed from. `to_send` is the
/// exact service `compute` built beside the plan (the plan's redacted
/// `service.desired` shows it); present when the plan changes the service.
pub(crate) async fn apply(
    google: &Google,
    plan: &Plan,
    mut live: LiveState,
    to_send: Option<ToSend>,
    options: ApplyOptions,
    printer: &Printer,
) -> Outcome {
    let mut outcome = Outcome::default();
    options.interrupt.start_writing();
    if stopped(&mut outcome, &options, "nothing was written") {
        return outcome;
    }
    let creating = plan
        .service
        .as_ref()
        .is_some_and(|s| s.action == ServiceAction::Create);
    let (after, before): (Vec<_>, Vec<_>) = plan.iam.iter().partition(|c| {
        creating
            && matches!(
                c.resource,
                PolicyResource::Service { .. } | PolicyResource::IapWeb { .. }
            )
    });

    // 1. Grants, every policy concurrently (each is its own read-modify-write).
    if !before.is_empty() {
        printer.step(&format!(
            "Granting IAM roles on {} resource(s)",
            before.len()
        ));
    }
    let results = futures::future::join_all(before.iter().map(|c| {
        let planned = live.policy(&c.resource).cloned();
        iam::apply_change(google, c, planned)
    }))
    .await;
    let mut denied_required = Vec::new();
    for (change, result) in before.iter().zip(results) {
        record(&mut outcome, change, result, &options, &mut denied_required);
    }
    if !denied_required.is_empty() {
        outcome.failure = Some(Failure {
            message: "the runtime service account could not be granted access to its secrets; the service was not rolled out".into(),
            hint: Some(format!(
                "ask an administrator to add these bindings, then deploy again:\n{}",
                denied_required.join("\n")
            )),
        });
        return outcome;
    }
    if outcome.failure.is_some()
        || stopped(
            &mut outcome,
            &options,
            "the grants above were written; the service was not changed",
        )
    {
        return outcome;
    }

    // 2. The service.
    if let Some(change) = plan
        .service
        .as_ref()
        .filter(|s| s.action != ServiceAction::None)
    {
        let to_send = to_send.expect("compute builds the service to send when the plan changes it");
        let name = format!(
            "projects/{}/locations/{}/services/{}",
            plan.project, plan.region, change.name
        );
        // Google applies new grants in about 2 and up to 7 minutes
        // (cloud.google.com/iam/docs/access-change-propagation): a revision
        // rolled out right after this run granted it secret access may not
        // read its secrets yet. Only then is the rollout retried.
        let granted_secret_access = outcome
            .iam
            .iter()
            .zip(&before)
            .any(|(o, c)| c.required && o.status == IamStatus::Applied);
        let started = Instant::now();
        let mut live_service = live.service.take();
        let run_id = format!("{:08x}", rand::random::<u32>());
        let mut attempt = rollout::Attempt { run_id, number: 1 };
        loop {
            // Boxed: a rollout's state machine is large (it holds services
            // across awaits), and every caller's future would carry it inline.
            match Box::pin(rollout::rollout(
                google,
                &name,
                change,
                &to_send,
                live_service,
                &attempt,
                &options,
                printer,
            ))
            .await
            {
                Ok(s) => {
                    outcome.service = Some(s);
                    break;
                }
                Err(f)
                    if granted_secret_access
                        && f.reason == failure::FailureReason::SecretAccess
                        && started.elapsed() + options.propagation_retry
                            < options.propagation_timeout
                        && Instant::now() + options.propagation_retry < options.deadline =>
                {
                    printer.info(&format!(
                        "The new secret grants have not propagated yet (Google: typically 2, up to 7 minutes); \
                         retrying the rollout in {}s ({}s of {}s used)",
                        options.propagation_retry.as_secs_f64().round(),
                        started.elapsed().as_secs(),
                        options.propagation_timeout.as_secs()
                    ));
                    tokio::select! {
                        _ = tokio::time::sleep(options.propagation_retry) => {}
                        _ = options.interrupt.wait() => {}
                    }
                    if stopped(
                        &mut outcome,
                        &options,
                        "the grants above were written; the last rollout attempt failed and was not retried",
                    ) {
                        return outcome;
                    }
                    attempt.number += 1;
                    // The failed rollout changed the service (and its etag):
                    // start from the service as the failure left it.
                    let reread = match f.service {
                        Some(s) => Ok(Some(s)),
                        None => google.service(&name).await,
                    };
                    live_service = match reread {
                        Ok(s) => s,
                        Err(e) => {
                            outcome.failure = Some(Failure {
                                message: e.to_string(),
                                hint: e.hint(),
                            });
                            return outcome;
                        }
                    };
                }
                Err(f) => {
                    outcome.service = f.outcome;
                    outcome.failure = Some(f.failure);
                    if f.reason == failure::FailureReason::Interrupted {
                        outcome.interrupted = options.interrupt.requested();
                    }
                    return outcome;
                }
            }
        }
    }

    // 3. The service's own policy, now that the service exists.
    for change in after {
        let result = iam::apply_change(google, change, None).await;
        let mut denied = Vec::new();
        record(&mut outcome, change, result, &options, &mut denied);
    }
    outcome
}

fn record(
    outcome: &mut Outcome,
    change: &crate::plan::IamChange,
    result: IamResult,
    options: &ApplyOptions,
    denied_required: &mut Vec<String>,
) {
    let (status, attempts) = match result {
        IamResult::Applied { attempts, wrote } => (
            match wrote {
                true => IamStatus::Applied,
                false => IamStatus::AlreadyPresent,
            },
            attempts,
        ),
        IamResult::Failed { error, attempts } if error.is(Kind::PermissionDenied) => {
            let commands: Vec<String> = change
                .add
                .iter()
                .map(|g| change.resource.gcloud_grant(&g.role, &g.member))
                .collect();
            if change.required {
                denied_required.extend(commands);
            } else if options.strict_iam {
                outcome.failure.get_or_insert(Failure {
                    message: format!(
                        "setting the IAM policy of {} was denied (--strict-iam)",
                        change.resource.label()
                    ),
                    hint: Some(commands.join("\n")),
                });
            } else {
                outcome.warnings.push(format!(
                    "could not grant {} on {} (permission denied); an administrator can run:\n{}",
                    roles(&change.add),
                    change.resource.label(),
                    commands.join("\n")
                ));
            }
            (IamStatus::Denied, attempts)
        }
        IamResult::Failed { error, attempts } if error.is_domain_restriction() => {
            outcome.failure.get_or_insert(Failure {
                message: format!(
                    "an organisation policy (domain-restricted sharing, constraints/iam.allowedPolicyMemberDomains) forbids granting {} on {}",
                    roles(&change.add),
                    change.resource.label()
                ),
                hint: Some(
                    "for public access set `service.allow_unauthenticated: true`, which uses Cloud Run's invokerIamDisabled (allowed under that policy); otherwise grant only members of your organisation".into(),
                ),
            });
            (IamStatus::Denied, attempts)
        }
        IamResult::Failed { error, attempts } => {
            outcome.failure.get_or_insert(Failure {
                message: error.to_string(),
                hint: error.hint(),
            });
            (IamStatus::Failed, attempts)
        }
    };
    let applied = status == IamStatus::Applied;
    let split = |grants: &Vec<Grant>| match status {
        IamStatus::Applied => (grants.clone(), Vec::new()),
        IamStatus::AlreadyPresent => (Vec::new(), Vec::new()),
        IamStatus::Denied | IamStatus::Failed => (Vec::new(), grants.clone()),
    };
    let (added, not_added) = split(&change.add);
    let (removed, not_removed) = split(&change.remove);
    outcome.iam.push(IamOutcome {
        resource: change.resource.clone(),
        added,
        removed,
        not_added,
        not_removed,
        status,
        attempts,
        writes: u32::from(applied),
    });
}

fn roles(grants: &[Grant]) -> String {
    let mut r: Vec<&str> = grants.iter().map(|g| g.role.as_str()).collect();
    r.dedup();
    r.join(", ")
}
