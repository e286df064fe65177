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
//! Google's facts (GOOGLE-FACTS.md §2): testIamPermissions returns the held
//! subset; `iam.serviceAccounts.actAs` is tested on the account itself; a
//! permission is asked only of a resource it can be granted on. Roles: the
//! predefined role named for each permission is the smallest one listed in
//! cloud.google.com/iam/docs/roles-permissions that grants it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::live::{LiveState, Needs, account_project};
use super::{IamChange, Problem, ProblemKind, ServiceAction, Target, Warning, WarningKind};
use crate::config::Environment;
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

/// A predefined role that grants `permission`.
pub(crate) fn role_for(permission: &str) -> &'static str {
    match permission {
        ACT_AS | "iam.serviceAccounts.get" => "roles/iam.serviceAccountUser",
        p if p.starts_with("iam.serviceAccounts.") => "roles/iam.serviceAccountAdmin",
        "run.services.setIamPolicy" => "roles/run.admin",
        p if p.starts_with("run.") => "roles/run.developer",
        "secretmanager.secrets.get" | "secretmanager.versions.get" => "roles/secretmanager.viewer",
        p if p.starts_with("secretmanager.") => "roles/secretmanager.admin",
        _ => "roles/resourcemanager.projectIamAdmin",
    }
}

/// The permission a read needs, by the operation name the read logs.
pub(crate) fn read_permission(operation: &str) -> &'static str {
    match operation {
        "projects.get" => "resourcemanager.projects.get",
        "projects.getIamPolicy" => "resourcemanager.projects.getIamPolicy",
        "secrets.get" => "secretmanager.secrets.get",
        "secrets.versions.get" => "secretmanager.versions.get",
        "secrets.getIamPolicy" => "secretmanager.secrets.getIamPolicy",
        "serviceAccounts.get" => "iam.serviceAccounts.get",
        "serviceAccounts.getIamPolicy" => "iam.serviceAccounts.getIamPolicy",
        "services.getIamPolicy" => "run.services.getIamPolicy",
        "services.get" => "run.services.get",
        // Cloud Run's validateOnly check is a services.patch.
        _ => "run.services.update",
    }
}

fn why(permission: &str) -> &'static str {
    match permission {
        "resourcemanager.projects.get" => "read the project number",
        "resourcemanager.projects.getIamPolicy" => "read the project's IAM policy",
        "resourcemanager.projects.setIamPolicy" => "grant the planned roles on the project",
        "run.services.get" => "read the live Cloud Run service",
        "run.services.create" => "create the Cloud Run service",
        "run.services.update" => "update the Cloud Run service",
        "run.services.getIamPolicy" => "read the service's IAM policy",
        "run.services.setIamPolicy" => "change who may invoke the service",
        "run.operations.get" => "follow the rollout's operation until the revision is ready",
        ACT_AS => "run the service as the runtime service account",
        "iam.serviceAccounts.get" => "check that the runtime service account exists",
        "iam.serviceAccounts.getIamPolicy" => "read the runtime account's IAM policy",
        "iam.serviceAccounts.setIamPolicy" => {
            "grant roles/iam.serviceAccountUser on the runtime account"
        }
        "secretmanager.secrets.get" => "check that the secret exists",
        "secretmanager.versions.get" => "check the referenced secret version",
        "secretmanager.secrets.getIamPolicy" => "read the secret's IAM policy",
        "secretmanager.secrets.setIamPolicy" => "let the runtime account read the secret",
        _ => "the plan",
    }
}

const RUN_ON_SERVICE: [&str; 4] = [
    "run.services.get",
    "run.services.update",
    "run.services.getIamPolicy",
    "run.services.setIamPolicy",
];

fn strings(perms: &[&str]) -> Vec<String> {
    perms.iter().map(|p| p.to_string()).collect()
}

/// What to ask the runtime account, wherever its email comes from.
pub(crate) fn account_permissions(needs: &Needs) -> Vec<String> {
    let mut p = vec!["iam.serviceAccounts.get"];
    if needs.service {
        p.push(ACT_AS);
    }
    if needs.account_policy {
        p.extend([
            "iam.serviceAccounts.getIamPolicy",
            "iam.serviceAccounts.setIamPolicy",
        ]);
    }
    strings(&p)
}

/// The questions of the first read phase: the project, the service, every
/// secret, and the runtime account when the config names it (Cloud Run's
/// default account is asked in the second phase, once its email is known).
pub(crate) fn to_ask(env: &Environment, needs: &Needs) -> Vec<(PolicyResource, Vec<String>)> {
    let mut out = Vec::new();
    let mut project = Vec::new();
    if needs.number {
        project.push("resourcemanager.projects.get");
    }
    if needs.project_policy {
        project.extend([
            "resourcemanager.projects.getIamPolicy",
            "resourcemanager.projects.setIamPolicy",
        ]);
    }
    if needs.service {
        // Asked of the project too: a service that does not exist yet has no
        // policy of its own, and a grant on the project covers its services.
        project.extend(["run.services.create", "run.operations.get"]);
        project.extend(RUN_ON_SERVICE);
        out.push((
            super::compute::service_resource(env),
            strings(&RUN_ON_SERVICE),
        ));
    }
    if !project.is_empty() {
        out.insert(
            0,
            (
                PolicyResource::Project {
                    project: env.project.to_string(),
                },
                strings(&project),
            ),
        );
    }
    for id in needs.secrets() {
        let mut p = vec!["secretmanager.secrets.get", "secretmanager.versions.get"];
        if needs.grant_on_secret(&id) {
            p.extend([
                "secretmanager.secrets.getIamPolicy",
                "secretmanager.secrets.setIamPolicy",
            ]);
        }
        out.push((id.resource(), strings(&p)));
    }
    if let Some(email) = &env.service.service_account {
        out.push((
            PolicyResource::ServiceAccount {
                project: account_project(email, &env.project),
                email: email.clone(),
            },
            account_permissions(needs),
        ));
    }
    out
}

/// The permission table, and the problems and warnings it implies.
#[derive(Debug, Default)]
pub(crate) struct Assessment {
    pub(crate) checks: Vec<PermissionCheck>,
    pub(crate) problems: Vec<Problem>,
    pub(crate) warnings: Vec<Warning>,
}

/// Judge the caller's permissions for the plan: `iam` are the planned policy
/// changes (those whose policy could not be read are taken out: there is no
/// etag to write with, and the grant is reported for an administrator).
pub(crate) fn assess(
    env: &Environment,
    target: &Target,
    needs: &Needs,
    live: &LiveState,
    iam: &mut Vec<IamChange>,
    service: Option<ServiceAction>,
) -> Assessment {
    let mut a = Assessment::default();
    let project = PolicyResource::Project {
        project: env.project.to_string(),
    };
    let change_on = |r: &PolicyResource| iam.iter().find(|c| &c.resource == r);
    let mut rows: Vec<(PolicyResource, &str, bool)> = Vec::new();

    // The project.
    if needs.number {
        rows.push((project.clone(), "resourcemanager.projects.get", true));
    }
    let project_secret_access = needs.project_secret_access();
    if needs.project_policy {
        rows.push((
            project.clone(),
            "resourcemanager.projects.getIamPolicy",
            project_secret_access,
        ));
    }
    if let Some(c) = change_on(&project) {
        rows.push((
            project.clone(),
            "resourcemanager.projects.setIamPolicy",
            c.required,
        ));
    }

    // The service: on itself when it exists, else on the project (a grant
    // there covers its services, and a service not created yet has no
    // policy of its own).
    if matches!(target, Target::Deploy { .. }) {
        let resource = super::compute::service_resource(env);
        let on = match live.service.is_some() {
            true => resource.clone(),
            false => project.clone(),
        };
        rows.push((on.clone(), "run.services.get", true));
        match service {
            Some(ServiceAction::Create) => {
                rows.push((project.clone(), "run.services.create", true))
            }
            Some(ServiceAction::Update) => rows.push((on.clone(), "run.services.update", true)),
            _ => {}
        }
        if matches!(service, Some(ServiceAction::Create | ServiceAction::Update)) {
            // The rollout follows its operation (operations.get and .wait),
            // a permission of the location, asked of the project.
            rows.push((project.clone(), "run.operations.get", true));
        }
        if live.service.is_some() {
            rows.push((on.clone(), "run.services.getIamPolicy", false));
        }
        if let Some(c) = change_on(&resource) {
            rows.push((on, "run.services.setIamPolicy", c.required));
        }
    }

    // The runtime account.
    let account = PolicyResource::ServiceAccount {
        project: account_project(&live.account.email, &env.project),
        email: live.account.email.clone(),
    };
    if !live.account.email.is_empty() {
        rows.push((account.clone(), "iam.serviceAccounts.get", true));
    }
    if live.account.exists {
        if matches!(service, Some(ServiceAction::Create | ServiceAction::Update)) {
            rows.push((account.clone(), ACT_AS, true));
        }
        if needs.account_policy {
            rows.push((account.clone(), "iam.serviceAccounts.getIamPolicy", false));
        }
        if let Some(c) = change_on(&account) {
            rows.push((
                account.clone(),
                "iam.serviceAccounts.setIamPolicy",
                c.required,
            ));
        }
    }

    // Each secret that exists (or could not be read).
    for (id, secret) in &live.secrets {
        let r = id.resource();
        let refused = live.refused.iter().any(|x| x.resource == r);
        if !secret.exists && !refused {
            continue;
        }
        rows.push((r.clone(), "secretmanager.secrets.get", true));
        rows.push((r.clone(), "secretmanager.versions.get", true));
        if needs.grant_on_secret(id) {
            rows.push((r.clone(), "secretmanager.secrets.getIamPolicy", true));
        }
        if let Some(c) = change_on(&r) {
            rows.push((r.clone(), "secretmanager.secrets.setIamPolicy", c.required));
        }
    }

    for (resource, permission, required) in rows {
        let Some(status) = status(live, &resource, permission) else {
            continue;
        };
        a.checks.push(PermissionCheck {
            permission: permission.to_string(),
            role: role_for(permission).to_string(),
            why: why(permission).to_string(),
            resource,
            status,
            required,
        });
    }

    // Missing permissions, one finding per resource and kind.
    let mut missing: BTreeMap<(bool, PolicyResource), Vec<&PermissionCheck>> = BTreeMap::new();
    for c in a
        .checks
        .iter()
        .filter(|c| c.status == PermissionStatus::Missing)
    {
        missing
            .entry((c.required, c.resource.clone()))
            .or_default()
            .push(c);
    }
    for ((required, resource), checks) in &missing {
        let list = checks
            .iter()
            .map(|c| format!("`{}` (to {}; granted by {})", c.permission, c.why, c.role))
            .collect::<Vec<_>>()
            .join(", ");
        let mut roles: Vec<&str> = checks.iter().map(|c| c.role.as_str()).collect();
        roles.sort();
        roles.dedup();
        let commands = roles
            .iter()
            .map(|role| resource.gcloud_grant(role, DEPLOYER))
            .collect::<Vec<_>>()
            .join("\n");
        match required {
            true => a.problems.push(Problem {
                kind: ProblemKind::MissingPermission,
                message: format!(
                    "the deploying identity lacks permissions on {}: {list}",
                    resource.label()
                ),
                hint: format!("{commands}   ({DEPLOYER}: the identity running autosre-deploy, e.g. user:you@example.com)"),
            }),
            false => {
                let grants = change_on(resource)
                    .map(admin_commands)
                    .filter(|c| !c.is_empty())
                    .map(|c| format!("; the planned grants will be denied; an administrator can make them:\n  {c}"))
                    .unwrap_or_default();
                a.warnings.push(Warning {
                    kind: WarningKind::MissingPermission,
                    message: format!(
                        "the deploying identity lacks permissions on {}: {list}{grants}",
                        resource.label()
                    ),
                });
            }
        }
    }

    // Reads refused: reported unless the table already names the permission
    // as missing there.
    for r in &live.refused {
        let permission = read_permission(r.operation);
        let missing = |c: &&PermissionCheck| c.status == PermissionStatus::Missing;
        let covered = match r.operation {
            // Cloud Run's validation needs every permission of the rollout:
            // any missing one explains its refusal.
            "services.patch(validateOnly)" => a.checks.iter().any(|c| missing(&c)),
            _ => a.checks.iter().filter(missing).any(|c| {
                c.permission == permission && same_place(&c.resource, &r.resource, &project)
            }),
        };
        if covered {
            continue;
        }
        let required = read_required(r.operation, needs);
        let message = format!(
            "Google refused `{}` on {} (permission denied: {}): the plan could not {}",
            r.operation,
            r.resource.label(),
            r.message,
            what_unchecked(r.operation)
        );
        match required {
            true => a.problems.push(Problem {
                kind: ProblemKind::ReadRefused,
                message,
                hint: format!(
                    "{}   ({DEPLOYER}: the identity running autosre-deploy)",
                    r.resource.gcloud_grant(role_for(permission), DEPLOYER)
                ),
            }),
            false => a.warnings.push(Warning {
                kind: WarningKind::ReadRefused,
                message,
            }),
        }
    }

    // Grants on a policy that could not be read: not planned, reported.
    iam.retain(|c| {
        let unread = live
            .refused
            .iter()
            .any(|r| r.resource == c.resource && r.operation.ends_with("getIamPolicy"));
        if unread && !c.add.is_empty() && !c.required {
            a.warnings.push(Warning {
                kind: WarningKind::ReadRefused,
                message: format!(
                    "the grants on {} are not planned (its policy could not be read); an administrator can make them:\n  {}",
                    c.resource.label(),
                    admin_commands(c)
                ),
            });
        }
        !unread
    });

    // Resources whose permissions could not be checked at all.
    let mut unknown: Vec<&PolicyResource> = a
        .checks
        .iter()
        .filter(|c| c.status == PermissionStatus::Unknown)
        .map(|c| &c.resource)
        .collect();
    unknown.dedup();
    for r in unknown {
        let reason = match live.permissions.get(r) {
            Some(Answer::NotChecked(reason)) => reason.clone(),
            _ => "no answer".into(),
        };
        a.warnings.push(Warning {
            kind: WarningKind::PermissionsNotChecked,
            message: format!(
                "could not check the deploying identity's permissions on {} ({reason}); a missing one will show as a refused call",
                r.label()
            ),
        });
    }
    a
}

/// The commands that make `change`'s additions.
fn admin_commands(change: &IamChange) -> String {
    change
        .add
        .iter()
        .map(|g| change.resource.gcloud_grant(&g.role, &g.member))
        .collect::<Vec<_>>()
        .join("\n  ")
}

/// A refused read and a permission row are about the same thing: the same
/// resource, or the project standing in for a service that it covers.
fn same_place(row: &PolicyResource, read: &PolicyResource, project: &PolicyResource) -> bool {
    row == read || (row == project && matches!(read, PolicyResource::Service { .. }))
}

/// Whether a required step depends on what `operation` reads.
fn read_required(operation: &str, needs: &Needs) -> bool {
    match operation {
        "secrets.get" | "secrets.versions.get" | "secrets.getIamPolicy" => true,
        "projects.getIamPolicy" => needs.project_secret_access(),
        "serviceAccounts.get" | "services.get" | "projects.get" => true,
        _ => false,
    }
}

fn what_unchecked(operation: &str) -> &'static str {
    match operation {
        "secrets.get" => "check that the secret exists",
        "secrets.versions.get" => "check that the referenced version exists and is enabled",
        "secrets.getIamPolicy" => "check whether the runtime account can already read the secret",
        "projects.getIamPolicy" => "check which project roles the runtime account already has",
        "serviceAccounts.get" => "check that the runtime service account exists",
        "serviceAccounts.getIamPolicy" => "check who may already act as the runtime account",
        "services.get" => "read the live service (create or update?)",
        "services.getIamPolicy" => "check who may invoke the service",
        _ => "have Cloud Run validate the service it would send",
    }
}

/// The caller's standing on `permission` at `resource`; `None` when it was
/// not asked (a fixture without answers, or a resource that is absent).
fn status(
    live: &LiveState,
    resource: &PolicyResource,
    permission: &str,
) -> Option<PermissionStatus> {
    Some(match live.permissions.get(resource)? {
        Answer::Held(held) if held.iter().any(|p| p == permission) => PermissionStatus::Held,
        Answer::Held(_) => PermissionStatus::Missing,
        Answer::NotChecked(_) => PermissionStatus::Unknown,
    })
}

/// `--strict-iam`: a permission missing for a non-required grant, or a
/// refused read it depends on, stops the run too.
pub(crate) fn strict(plan: &mut super::Plan) {
    let (strict, keep): (Vec<Warning>, Vec<Warning>) = std::mem::take(&mut plan.warnings)
        .into_iter()
        .partition(|w| {
            matches!(
                w.kind,
                WarningKind::MissingPermission | WarningKind::ReadRefused
            )
        });
    plan.warnings = keep;
    plan.preflight
        .problems
        .extend(strict.into_iter().map(|w| Problem {
            kind: match w.kind {
                WarningKind::ReadRefused => ProblemKind::ReadRefused,
                _ => ProblemKind::MissingPermission,
            },
            message: w.message,
            hint: "run without --strict-iam to deploy anyway (those grants are reported as denied), or have an administrator grant the missing permissions".into(),
        }));
}

#[cfg(test)]
#[path = "permissions_tests.rs"]
mod tests;
