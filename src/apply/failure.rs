//! Why a rollout failed and what to tell the user: Cloud Run's structured
//! reason for a failed revision (with the one documented message as a
//! fallback), and the message and hint for a refused create or update, a
//! failed revision, or a rollout still running.
//!
//! Its own file because it classifies answers (pure functions of a
//! `Service` or an error), while `rollout.rs` makes the calls and waits.

use google_cloud_run_v2::model::Service;
use google_cloud_run_v2::model::condition::{CommonReason, Reasons};

use super::Failure;
use super::rollout::ServiceOutcome;
use crate::gcp::{GcpError, Kind};

/// Why a revision failed, from Cloud Run's structured condition reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FailureReason {
    /// `SECRETS_ACCESS_CHECK_FAILED`: the runtime account cannot read a
    /// secret (yet: new grants take minutes to apply).
    SecretAccess,
    /// Any other reason Cloud Run gave.
    Other,
    /// Cloud Run gave no structured reason.
    Unknown,
    /// A signal stopped the wait; the rollout goes on without us.
    Interrupted,
}

/// The gcloud command that shows the service's state.
pub(crate) fn watch_hint(name: &str) -> String {
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        ["projects", p, "locations", r, "services", s] => {
            format!("watch it with `gcloud run services describe {s} --project={p} --region={r}`")
        }
        _ => format!("watch `{name}` in the Cloud Run console"),
    }
}

/// Cloud Run's structured reason for a failed rollout, from the service's
/// terminal condition (run.v2 `Condition.reason`, `CommonReason`).
pub(crate) fn failure_reason(s: &Service) -> FailureReason {
    match s
        .terminal_condition
        .as_ref()
        .and_then(|c| c.reasons.as_ref())
    {
        Some(Reasons::Reason(r)) if *r == CommonReason::SecretsAccessCheckFailed => {
            FailureReason::SecretAccess
        }
        Some(_) => FailureReason::Other,
        None => FailureReason::Unknown,
    }
}

/// The fallback for an answer without a structured reason (Google does not
/// document which condition carries it, so the tool must work either way):
/// Cloud Run's documented message for a secret the revision cannot read,
/// "... Permission denied on secret: projects/P/secrets/S/versions/V for
/// Revision service account SA." (seen with and without the "Revision '...'
/// is not ready" prefix). The one place the tool reads Cloud Run's words.
pub(super) fn reason_from_text(message: &str) -> FailureReason {
    match message.contains("Permission denied on secret") {
        true => FailureReason::SecretAccess,
        false => FailureReason::Unknown,
    }
}

/// A create or update Cloud Run refused before any revision was made.
pub(super) fn send_failure(e: GcpError, creating: bool) -> Failure {
    match (e.kind, creating) {
        (Kind::AlreadyExists, true) => Failure {
            message: format!(
                "the service was created by someone else since the plan; nothing was rolled out ({e})"
            ),
            hint: Some("run the deploy again: it plans against the service as it is now".into()),
        },
        (Kind::Aborted | Kind::FailedPrecondition, false) => Failure {
            message: format!(
                "the service was changed by someone else since the plan; nothing was rolled out ({e})"
            ),
            hint: Some("run the deploy again: it plans against the service as it is now".into()),
        },
        _ => Failure {
            hint: e.hint(),
            message: e.to_string(),
        },
    }
}

pub(super) fn revision_failure(
    message: String,
    reason: FailureReason,
    outcome: Option<&ServiceOutcome>,
) -> Failure {
    let mut hints = Vec::new();
    if reason == FailureReason::SecretAccess {
        hints.push("the revision's service account cannot read a secret; run `autosre-deploy check` to see the missing grants (new grants can take a few minutes to apply)".to_string());
    }
    // Cloud Run keeps traffic on the last ready revision when a new one
    // fails; say which, unless it is the failed one itself.
    if let Some(o) = outcome
        && let Some(serving) = &o.serving
        && o.revision.as_ref() != Some(serving)
    {
        hints.push(format!("traffic stays on revision {serving}"));
    }
    Failure {
        message,
        hint: (!hints.is_empty()).then(|| hints.join("\n")),
    }
}
