//! The IAM part of the plan: what each policy lacks for the runtime account,
//! the service and IAP (and, for the service and IAP, has too much of).

use google_cloud_iam_v1::model::Policy;

use crate::config::Environment;
use crate::gcp::iam::{self, Grant, PolicyResource};
use crate::plan::live::{LiveState, Needs};
use crate::plan::names::{iap_agent, iap_resource, service_resource};
use crate::plan::{IamChange, Target};

pub(crate) const SECRET_ACCESSOR: &str = "roles/secretmanager.secretAccessor";
pub(crate) const SERVICE_ACCOUNT_USER: &str = "roles/iam.serviceAccountUser";
pub(crate) const RUN_INVOKER: &str = "roles/run.invoker";
pub(crate) const ALL_USERS: &str = "allUsers";
/// What IAP's members are granted on the service's IAP resource.
pub(crate) const IAP_ACCESSOR: &str = "roles/iap.httpsResourceAccessor";

/// What each policy lacks (and, for the service, has too much of).
pub(super) fn iam_changes(
    env: &Environment,
    target: &Target,
    needs: &Needs,
    live: &LiveState,
) -> Vec<IamChange> {
    let member = format!("serviceAccount:{}", live.account.email);
    // A change is required when it gives the runtime account access to its
    // secrets: without it the new revision cannot start.
    let secret_access = Grant::new(SECRET_ACCESSOR, &member);
    let mut out = Vec::new();
    let mut want = |resource: PolicyResource, add: Vec<Grant>, remove: Vec<Grant>| {
        if let Some(c) = delta(resource, live, add, remove, &secret_access) {
            out.push(c);
        }
    };

    if needs.project_policy() {
        let mut grants: Vec<Grant> = env
            .iam
            .project_roles
            .iter()
            .map(|r| Grant::new(r.to_string(), &member))
            .collect();
        if needs.project_secret_access() {
            grants.push(secret_access.clone());
        }
        want(
            PolicyResource::Project {
                project: env.project.to_string(),
            },
            grants,
            vec![],
        );
    }
    {
        for (id, secret) in &live.secrets {
            // A missing secret is a preflight problem, not a grant to plan.
            if secret.exists && needs.grant_on_secret(id) {
                want(id.resource(), vec![secret_access.clone()], vec![]);
            }
        }
    }
    if needs.account_policy && live.account.exists {
        let grants = env
            .iam
            .service_account_users
            .iter()
            .map(|m| {
                let m = match &live.project_number {
                    Some(n) => m.replace("{project_number}", n),
                    None => m.to_string(),
                };
                Grant::new(SERVICE_ACCOUNT_USER, m)
            })
            .collect();
        let email = live.account.email.clone();
        want(
            PolicyResource::ServiceAccount {
                project: crate::plan::live::account_project(&email, &env.project),
                email,
            },
            grants,
            vec![],
        );
    }
    // Public access is the service's `invokerIamDisabled` (see
    // `ServiceView`), not an `allUsers` binding, which domain-restricted
    // sharing refuses. A private service loses an `allUsers` binding left
    // by an older deploy (the old script's --allow-unauthenticated); a
    // public one keeps it (it changes nothing). Behind IAP, IAP's service
    // agent invokes the service.
    if matches!(target, Target::Deploy { .. }) {
        let agent = match (&env.iap, &live.project_number) {
            (Some(_), Some(n)) => vec![Grant::new(RUN_INVOKER, iap_agent(n))],
            _ => vec![],
        };
        let public = match !env.service.allow_unauthenticated && live.service_policy.is_some() {
            true => vec![Grant::new(RUN_INVOKER, ALL_USERS)],
            false => vec![],
        };
        if !agent.is_empty() || !public.is_empty() {
            want(service_resource(env), agent, public);
        }
    }
    // IAP's members: added; with `exclusive`, other accessors removed.
    if let (true, Some(iap), Some(resource)) = (
        needs.iap,
        &env.iap,
        iap_resource(env, live.project_number.as_deref()),
    ) {
        let number = live.project_number.as_deref().unwrap_or_default();
        let members: Vec<String> = iap
            .members
            .iter()
            .map(|m| m.replace("{project_number}", number))
            .collect();
        let add = members
            .iter()
            .map(|m| Grant::new(IAP_ACCESSOR, m))
            .collect();
        let remove = match (iap.exclusive, &live.iap_policy) {
            (true, Some(p)) => p
                .bindings
                .iter()
                .filter(|b| b.condition.is_none() && b.role == IAP_ACCESSOR)
                .flat_map(|b| &b.members)
                .filter(|m| !members.contains(m))
                .map(|m| Grant::new(IAP_ACCESSOR, m))
                .collect(),
            _ => vec![],
        };
        want(resource, add, remove);
    }
    out
}

/// The change one policy needs, or `None` when it has what the config wants.
fn delta(
    resource: PolicyResource,
    live: &LiveState,
    add: Vec<Grant>,
    remove: Vec<Grant>,
    secret_access: &Grant,
) -> Option<IamChange> {
    let policy: Option<&Policy> = live.policy(&resource);
    let (add, remove, etag) = match policy {
        Some(p) => (
            add.into_iter()
                .filter(|g| !iam::has(p, g))
                .collect::<Vec<_>>(),
            remove.into_iter().filter(|g| iam::has(p, g)).collect(),
            Some(iam::etag_text(p)),
        ),
        // No policy yet: the service on a first deploy. Nothing to remove.
        None => (add, Vec::new(), None),
    };
    (!add.is_empty() || !remove.is_empty()).then(|| IamChange {
        resource,
        etag,
        required: add.contains(secret_access),
        add,
        remove,
    })
}
