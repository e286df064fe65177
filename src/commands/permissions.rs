//! The deploying identity's permissions, asked up front by the commands that
//! do not compute a plan (`key`, `secrets`): testIamPermissions on each
//! resource they read or write, before the first read or write, so that a
//! missing permission is one problem naming the permission, the role that
//! grants it and the command that grants the role, not a raw 403 halfway.
//!
//! `plan`, `deploy` and `check` ask theirs in the plan's read phase
//! (`plan::permissions`); the roles and words come from the same tables.

use futures::future::try_join_all;

use super::shared::Context;
use crate::error::Error;
use crate::gcp::Kind;
use crate::gcp::iam::PolicyResource;
use crate::plan::permissions::{DEPLOYER, role_for, why};
use crate::plan::{Problem, ProblemKind};

/// What to do when the resource asked does not exist (testIamPermissions
/// answers 404 NOT_FOUND).
#[derive(Clone, Debug)]
pub(crate) enum IfMissing {
    /// The command cannot go on: the NotFound error is returned.
    Fail,
    /// Nothing to ask: the command reports the absence itself.
    Skip,
    /// Ask this resource instead (the project, whose grants a resource
    /// created later inherits).
    Ask(PolicyResource),
}

/// Permissions to ask of one resource.
#[derive(Clone, Debug)]
pub(crate) struct Ask {
    pub(crate) resource: PolicyResource,
    pub(crate) permissions: Vec<&'static str>,
    pub(crate) if_missing: IfMissing,
}

impl Ask {
    pub(crate) fn new(
        resource: PolicyResource,
        permissions: &[&'static str],
        if_missing: IfMissing,
    ) -> Ask {
        Ask {
            resource,
            permissions: permissions.to_vec(),
            if_missing,
        }
    }
}

/// Ask every resource concurrently; stop with one problem per resource that
/// lacks a permission. A question Google does not answer (other than 404) is
/// a warning, as in the plan: the call itself then tells.
pub(crate) async fn require(ctx: &Context, asks: Vec<Ask>) -> Result<(), Error> {
    let problems = try_join_all(asks.into_iter().map(|a| missing(ctx, a))).await?;
    let problems: Vec<Problem> = problems.into_iter().flatten().collect();
    match problems.is_empty() {
        true => Ok(()),
        false => Err(Error::Preflight { problems }),
    }
}

/// The problem of one resource, `None` when every permission is held (or
/// could not be asked).
async fn missing(ctx: &Context, ask: Ask) -> Result<Option<Problem>, Error> {
    let asked: Vec<String> = ask.permissions.iter().map(|p| p.to_string()).collect();
    let mut resource = ask.resource;
    let held = loop {
        match ctx.google.test_permissions(&resource, &asked).await {
            Ok(held) => break held,
            Err(e) if e.is(Kind::NotFound) => match &ask.if_missing {
                IfMissing::Fail => return Err(e.into()),
                IfMissing::Skip => return Ok(None),
                IfMissing::Ask(other) if *other != resource => resource = other.clone(),
                IfMissing::Ask(_) => return Err(e.into()),
            },
            Err(e) => {
                ctx.printer.warn(&format!(
                    "could not check the deploying identity's permissions on {} ({} {}); a missing one will show as a refused call",
                    resource.label(),
                    e.operation,
                    e.status_word()
                ));
                return Ok(None);
            }
        }
    };
    let missing: Vec<&str> = ask
        .permissions
        .iter()
        .copied()
        .filter(|p| !held.iter().any(|h| h == p))
        .collect();
    Ok((!missing.is_empty()).then(|| problem(&resource, &missing)))
}

/// What is missing on `resource`, the roles that grant it and the commands
/// that grant those.
fn problem(resource: &PolicyResource, missing: &[&str]) -> Problem {
    let list = missing
        .iter()
        .map(|p| format!("`{p}` (to {}; granted by {})", why(p), role_for(p)))
        .collect::<Vec<_>>()
        .join(", ");
    let mut roles: Vec<&str> = missing.iter().map(|p| role_for(p)).collect();
    roles.sort();
    roles.dedup();
    let commands = roles
        .iter()
        .map(|r| resource.gcloud_grant(r, DEPLOYER))
        .collect::<Vec<_>>()
        .join("\n");
    Problem {
        kind: ProblemKind::MissingPermission,
        message: format!(
            "the deploying identity lacks permissions on {}: {list}",
            resource.label()
        ),
        hint: format!(
            "{commands}   ({DEPLOYER}: the identity running autosre-deploy, e.g. user:you@example.com)"
        ),
    }
}
