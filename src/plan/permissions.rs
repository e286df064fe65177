//! The deploying identity's own permissions: which ones the plan needs on
//! which resource, what Google said the caller holds, and what follows.
//!
//! Pure, in three parts:
//!
//! 1. [`to_ask`] / [`account_permissions`]: from the config alone, the
//!    permissions to ask each resource for with `testIamPermissions`, so the
//!    question is sent in the same read phase as every other read. It is a
//!    superset: whether a policy changes is known only after the read.
//! 2. [`assess`]: from live state and the computed changes, the permissions
//!    the plan really needs ([`PermissionCheck`], the `check` table), and
//!    what a missing one means. A permission a required step needs (the
//!    service rollout, the runtime account's access to its secrets) is a
//!    [`Problem`]: nothing is written. One only a non-required grant needs is
//!    a [`Warning`]: that grant will be denied, and an administrator can make
//!    it (`--strict-iam` turns those into problems, see [`strict`]).
//! 3. Reads refused with 403 ([`RefusedRead`]) follow the same rule: the
//!    plan says what it could not check, and stops only when a required step
//!    depends on it.
//!
//! Google's facts: testIamPermissions returns the held subset
//! (<https://cloud.google.com/resource-manager/reference/rest/v3/projects/testIamPermissions>);
//! `iam.serviceAccounts.actAs` is tested on the account itself
//! (<https://cloud.google.com/iam/docs/service-account-permissions>); a permission is
//! asked only of a resource it can be granted on.
//!
//! Layout: this file holds the data the parts share and `--strict-iam`;
//! `ask.rs` is part 1, `assess.rs` parts 2 and 3, `tables.rs` the fixed
//! lookups (role, read permission, words) both use.

pub(super) mod ask;
mod assess;
pub(crate) mod tables;

use serde::{Deserialize, Serialize};

pub(crate) use ask::{account_permissions, iap_permissions, to_ask};
pub(crate) use assess::assess;
pub(crate) use tables::{role_for, why};

use super::{Problem, ProblemKind, Warning, WarningKind};
use crate::gcp::iam::PolicyResource;

pub(crate) const ACT_AS: &str = "iam.serviceAccounts.actAs";

/// Who the admin command grants to: the tool cannot know which identity runs
/// it (a person, a CI account), so the command names it as a placeholder.
pub(crate) const DEPLOYER: &str = "DEPLOYER";

/// What `testIamPermissions` said about one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The subset of the asked permissions the caller holds.
    Held(Vec<String>),
    /// The question was refused or not answered; the reason, in words.
    NotChecked(String),
}

/// A read that Google refused with 403 PERMISSION_DENIED: data, not a crash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RefusedRead {
    /// The API method, as in logs: `secrets.getIamPolicy`, `services.get`...
    pub(crate) operation: &'static str,
    pub(crate) resource: PolicyResource,
    /// Google's words.
    pub(crate) message: String,
}

/// One permission the plan needs on one resource, and whether the caller
/// holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PermissionCheck {
    pub(crate) permission: String,
    pub(crate) resource: PolicyResource,
    pub(crate) status: PermissionStatus,
    /// Needed by a required step: missing, it stops the run.
    pub(crate) required: bool,
    /// A predefined role that grants it.
    pub(crate) role: String,
    /// What the plan needs it for.
    pub(crate) why: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PermissionStatus {
    Held,
    Missing,
    /// testIamPermissions was refused or not served for this resource.
    Unknown,
}

/// `--strict-iam`: a permission missing for a non-required grant, or a
/// refused read it depends on, stops the run too.
pub(crate) fn strict(problems: &mut Vec<Problem>, warnings: &mut Vec<Warning>) {
    let (strict, keep): (Vec<Warning>, Vec<Warning>) =
        std::mem::take(warnings).into_iter().partition(|w| {
            matches!(
                w.kind,
                WarningKind::MissingPermission | WarningKind::ReadRefused
            )
        });
    *warnings = keep;
    problems.extend(strict.into_iter().map(|w| Problem {
        kind: match w.kind {
            WarningKind::ReadRefused => ProblemKind::ReadRefused,
            _ => ProblemKind::MissingPermission,
        },
        message: w.message,
        hint: "run without --strict-iam to deploy anyway (those grants are reported as denied), or have an administrator grant the missing permissions".into(),
    }));
}

#[cfg(test)]
mod tests;
