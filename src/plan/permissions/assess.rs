//! Parts 2 and 3 of the permission rules: from live state and the computed
//! changes, the permissions the plan really needs (the `check` table), what a
//! missing one means, and what a refused read means.
//!
//! Its own file because it is the one decision of the module (required step
//! or not, problem or warning); the data it works on is in the parent module
//! and the lookup tables in `tables.rs`.

use std::collections::BTreeMap;

use super::tables::{read_permission, role_for, what_unchecked, why};
use super::{ACT_AS, Answer, DEPLOYER, PermissionCheck, PermissionStatus};
use crate::config::Environment;
use crate::gcp::iam::PolicyResource;
use crate::plan::live::{LiveState, Needs, account_project};
use crate::plan::{IamChange, Problem, ProblemKind, ServiceAction, Target, Warning, WarningKind};

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
    if needs.project_policy() {
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
        let resource = crate::plan::names::service_resource(env);
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
        // Setting or clearing `invokerIamDisabled` (public access) needs
        // run.services.setIamPolicy besides create or update, and the write
        // itself is refused without it ("To disable or re-enable the Invoker
        // IAM check on a service, you must have ... run.services.setIamPolicy",
        // cloud.google.com/run/docs/authenticating/public).
        let public_changes = matches!(service, Some(ServiceAction::Create | ServiceAction::Update))
            && live
                .service
                .as_ref()
                .is_some_and(|s| s.invoker_iam_disabled)
                != env.service.allow_unauthenticated;
        match change_on(&resource) {
            _ if public_changes => rows.push((on, "run.services.setIamPolicy", true)),
            Some(c) => rows.push((on, "run.services.setIamPolicy", c.required)),
            None => {}
        }
        // IAP: on the service's IAP resource once the service exists, else
        // on the project. Not required: the rollout does not depend on who
        // may use the service; a denied grant is reported for an admin.
        if needs.iap {
            let iap = crate::plan::names::iap_resource(env, live.project_number.as_deref());
            let on = match (live.service.is_some(), &iap) {
                (true, Some(r)) => r.clone(),
                _ => project.clone(),
            };
            if live.service.is_some() {
                rows.push((on.clone(), "iap.webServices.getIamPolicy", false));
            }
            if let Some(c) = iap.as_ref().and_then(&change_on) {
                rows.push((on, "iap.webServices.setIamPolicy", c.required));
            }
        }
    }

    // The image's tag, read to resolve it to a digest: asked of the project
    // when its repository is there.
    if live
        .image_tag
        .as_ref()
        .is_some_and(|(t, _)| t.project == *env.project)
    {
        rows.push((project.clone(), crate::plan::image::TAGS_GET, true));
    }

    // A source deploy's upload and build, on the project.
    if needs.build {
        for (permission, required) in super::ask::BUILD {
            rows.push((project.clone(), permission, required));
        }
    }

    // The build's own account, when the config names one.
    if let Some(email) = env.build.service_account.as_ref().filter(|_| needs.build) {
        let build_account = PolicyResource::ServiceAccount {
            project: account_project(email, &env.project),
            email: email.clone(),
        };
        rows.push((build_account, ACT_AS, true));
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
    row == read
        || (row == project
            && matches!(
                read,
                PolicyResource::Service { .. } | PolicyResource::IapWeb { .. }
            ))
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
