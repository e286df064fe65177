//! The caller's permissions, when the world sets `enforceCallerPermissions`: every request
//! is authorised as Google does, from allow policies and role definitions.
//!
//! - A principal holds a permission on a resource when a role bound to it on that
//!   resource's policy, or on its project's policy, contains the permission (IAM docs,
//!   "Policy inheritance", cloud.google.com/iam/docs/resource-hierarchy-access-control).
//!   Conditional bindings are not evaluated and grant nothing here.
//! - Fresh grants count after `iam_propagation` on the emulator clock, as for Cloud Run's
//!   secret check ("Typically 2 minutes, potentially 7 minutes or longer",
//!   cloud.google.com/iam/docs/access-change-propagation).
//! - The predefined roles' permissions are Google's role definitions, read from the
//!   vendored snapshot (`autosre_types::roles`, `types/roles/README.md`: a dump of
//!   `gcloud iam roles describe`, the basic roles cut to the services used here). A role
//!   not in the snapshot is looked up among the world's custom roles, else grants nothing.
//! - Each route requires the permission its API reference names (e.g. services.patch:
//!   `run.services.update`, or `run.services.create` when it creates; a template's service
//!   account also needs `iam.serviceAccounts.actAs` on that account,
//!   cloud.google.com/run/docs/configuring/services/service-identity). testIamPermissions
//!   needs none.
//! - A refusal is 403 PERMISSION_DENIED "Permission 'P' denied on resource 'R' (or it may
//!   not exist)." (gcloud output quoted in google-github-actions/deploy-cloudrun#182) with a
//!   `google.rpc.ErrorInfo` detail, reason `IAM_PERMISSION_DENIED`, domain the API's service
//!   name, metadata `permission` and `resource` (the shape Terraform prints for such a
//!   refusal, e.g. from Artifact Registry, with `domain: artifactregistry.googleapis.com`).

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::routes::Ctx;
use crate::state::State;

/// `user:EMAIL` or `serviceAccount:EMAIL` for a world's `caller` (a bare email is a user,
/// or a service account when it ends in `.gserviceaccount.com`).
pub(crate) fn caller_member(caller: &str) -> Option<String> {
    let (kind, email) = match caller.split_once(':') {
        Some((k @ ("user" | "serviceAccount"), e)) => (k, e),
        Some(_) => return None,
        None if caller.ends_with(".gserviceaccount.com") => ("serviceAccount", caller),
        None => ("user", caller),
    };
    email
        .split_once('@')
        .is_some_and(|(a, d)| !a.is_empty() && d.contains('.'))
        .then(|| format!("{kind}:{email}"))
}

/// Whether predefined `role` contains `perm`; `None` for a role not in the snapshot.
fn predefined(role: &str, perm: &str) -> Option<bool> {
    autosre_types::roles::role_holds(role, perm)
}

fn role_has(st: &State, role: &str, perm: &str) -> bool {
    predefined(role, perm).unwrap_or_else(|| {
        st.behaviour
            .custom_roles
            .get(role)
            .is_some_and(|ps| ps.iter().any(|p| p == perm))
    })
}

/// Whether a binding's `member` names the principal `who` (`user:EMAIL`, ...).
fn names(member: &str, who: &str) -> bool {
    member == who
        || member == "allUsers"
        || member == "allAuthenticatedUsers"
        || member.strip_prefix("domain:").is_some_and(|d| {
            who.split_once('@')
                .is_some_and(|(_, wd)| wd.eq_ignore_ascii_case(d))
        })
}

/// The policies that apply to `resource`: its own (when it has one) and its project's.
fn policy_chain(st: &State, resource: &str) -> Vec<String> {
    let parts: Vec<&str> = resource.split('/').collect();
    let mut chain = Vec::new();
    let own = match parts.as_slice() {
        ["projects", _, "secrets", _, ..] => Some(parts[..4].join("/")),
        ["projects", _, "locations", _, "services", _, ..] => Some(parts[..6].join("/")),
        ["projects", _, "serviceAccounts", _] => Some(resource.to_string()),
        ["projects", _, "iap_web", _, "services", _] => Some(resource.to_string()),
        _ => None,
    };
    if let Some(key) = own.and_then(|r| st.canonical_resource(&r).ok()) {
        let project = match st
            .service_accounts
            .get(key.rsplit('/').next().unwrap_or_default())
        {
            Some(sa) if key.contains("/serviceAccounts/") => sa.project_id.clone(),
            // IAP names the project by number.
            _ => {
                let p = key.split('/').nth(1).unwrap_or_default();
                st.project(p)
                    .map_or_else(|| p.to_string(), |x| x.id.clone())
            }
        };
        chain.push(key);
        chain.push(format!("projects/{project}"));
    } else if let ["projects", p, ..] = parts.as_slice()
        && let Some(project) = st.project(p)
    {
        chain.push(format!("projects/{}", project.id));
    }
    chain
}

/// Whether principal `who` holds `perm` on `resource` now (on the emulator clock).
pub(crate) fn holds(st: &State, who: &str, perm: &str, resource: &str) -> bool {
    let now = st.now();
    policy_chain(st, resource).iter().any(|key| {
        st.policies.get(key).is_some_and(|p| {
            p.effective_roles(|m| names(m, who), now, st.iam_propagation)
                .iter()
                .any(|role| role_has(st, role, perm))
        })
    })
}

fn domain(perm: &str) -> &'static str {
    match perm.split('.').next() {
        Some("run") => "run.googleapis.com",
        Some("secretmanager") => "secretmanager.googleapis.com",
        Some("iam") => "iam.googleapis.com",
        Some("iap") => "iap.googleapis.com",
        Some("cloudbuild") => "cloudbuild.googleapis.com",
        Some("artifactregistry") => "artifactregistry.googleapis.com",
        _ => "cloudresourcemanager.googleapis.com",
    }
}

/// `Err(denied(perm, resource))` unless the caller (when the world names one) holds `perm`
/// on `projects/{project_id}`.
pub(crate) fn require_on_project(
    st: &State,
    perm: &str,
    resource: &str,
    project_id: &str,
) -> Result<(), ApiError> {
    match &st.caller_member {
        Some(who) if !holds(st, who, perm, &format!("projects/{project_id}")) => {
            Err(denied(perm, resource))
        }
        _ => Ok(()),
    }
}

pub(crate) fn denied(perm: &str, resource: &str) -> ApiError {
    ApiError::permission_denied(format!(
        "Permission '{perm}' denied on resource '{resource}' (or it may not exist)."
    ))
    .with_detail(json!({
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "IAM_PERMISSION_DENIED",
        "domain": domain(perm),
        "metadata": {"permission": perm, "resource": resource},
    }))
}

/// The (permission, resource) pairs a request needs, per the API reference of each method.
fn required(method_id: &str, c: &Ctx<'_>) -> Vec<(String, String)> {
    let p = &c.p;
    let service = || format!("projects/{}/locations/{}/services/{}", p[0], p[1], p[2]);
    let location = || format!("projects/{}/locations/{}", p[0], p[1]);
    let secret = || format!("projects/{}/secrets/{}", p[0], p[1]);
    let project = || format!("projects/{}", p[0]);
    let account = || format!("projects/{}/serviceAccounts/{}", p[0], p[1]);
    let one = |perm: &str, res: String| vec![(perm.to_string(), res)];
    let method = method_id.rsplit('.').next().unwrap_or_default();
    match method_id
        .rsplit_once('.')
        .map(|(kind, _)| kind)
        .unwrap_or_default()
    {
        "run.projects.locations.services" => {
            let mut need = match method {
                "create" => one("run.services.create", location()),
                "list" => one("run.services.list", location()),
                "patch" => {
                    let exists = c.st.canonical_resource(&service()).is_ok();
                    let perm = if exists || !c.q.flag("allowMissing") {
                        "run.services.update"
                    } else {
                        "run.services.create"
                    };
                    one(perm, service())
                }
                "testIamPermissions" => Vec::new(),
                m => one(&format!("run.services.{m}"), service()),
            };
            if matches!(method, "create" | "patch") {
                // create names the service in `serviceId`.
                let name = match method {
                    "create" => format!(
                        "{}/services/{}",
                        location(),
                        c.q.get("serviceId").unwrap_or_default()
                    ),
                    _ => service(),
                };
                if invoker_check_changes(c, &name) {
                    need.push(("run.services.setIamPolicy".into(), name));
                }
            }
            if matches!(method, "create" | "patch")
                && let Some(t) = c.body.get("template")
            {
                let number = c.st.project(&p[0]).map(|x| x.number).unwrap_or_default();
                let sa = t
                    .get("serviceAccount")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{number}-compute@developer.gserviceaccount.com"));
                need.push((
                    "iam.serviceAccounts.actAs".into(),
                    format!("projects/-/serviceAccounts/{sa}"),
                ));
            }
            need
        }
        "run.projects.locations.services.revisions" => {
            one(&format!("run.revisions.{method}"), service())
        }
        "run.projects.locations.operations" => {
            let perm = if method == "wait" { "get" } else { method };
            one(&format!("run.operations.{perm}"), location())
        }
        "secretmanager.projects.secrets" => match method {
            "create" | "list" => one(&format!("secretmanager.secrets.{method}"), project()),
            "addVersion" => one("secretmanager.versions.add", secret()),
            "patch" => one("secretmanager.secrets.update", secret()),
            "testIamPermissions" => Vec::new(),
            m => one(&format!("secretmanager.secrets.{m}"), secret()),
        },
        // versions.list is authorised on its parent, the secret ("Requires the following IAM
        // permission on the specified resource parent: secretmanager.versions.list",
        // secretmanager.v1 reference); the others on the version.
        "secretmanager.projects.secrets.versions" => match p.get(2) {
            Some(v) => one(
                &format!("secretmanager.versions.{method}"),
                format!("{}/versions/{v}", secret()),
            ),
            None => one(&format!("secretmanager.versions.{method}"), secret()),
        },
        "iam.projects.serviceAccounts" => match method {
            "create" | "list" => one(&format!("iam.serviceAccounts.{method}"), project()),
            "testIamPermissions" => Vec::new(),
            m => one(&format!("iam.serviceAccounts.{m}"), account()),
        },
        // generateAccessToken (iamcredentials.v1 reference).
        "iamcredentials.projects.serviceAccounts" => {
            one("iam.serviceAccounts.getAccessToken", account())
        }
        "cloudresourcemanager.projects" => match method {
            "testIamPermissions" => Vec::new(),
            m => one(&format!("resourcemanager.projects.{m}"), project()),
        },
        // IAP: a Cloud Run service's IAP resource is a web service
        // (`iap.webServices.getIamPolicy`, `.setIamPolicy`; roles/iap.admin holds them,
        // cloud.google.com/iap/docs/managing-access).
        "iap" => match method {
            "testIamPermissions" => Vec::new(),
            m => one(&format!("iap.webServices.{m}"), p[0].clone()),
        },
        _ => Vec::new(),
    }
}

/// Whether a services.create or .patch sets or clears `invokerIamDisabled`: that needs
/// `run.services.setIamPolicy` besides create or update ("To disable or re-enable the
/// Invoker IAM check on a service, you must have the following permissions:
/// run.services.create, run.services.update, run.services.setIamPolicy",
/// cloud.google.com/run/docs/authenticating/public). proto3 JSON leaves a false bool out, so
/// a write that replaces the service without the field clears it; an `updateMask` that does
/// not name it leaves it.
fn invoker_check_changes(c: &Ctx<'_>, service: &str) -> bool {
    let masked_out = c.q.get("updateMask").is_some_and(|m| {
        let m = m.trim();
        !m.is_empty()
            && m != "*"
            && !m
                .split(',')
                .any(|f| matches!(f.trim(), "invoker_iam_disabled" | "invokerIamDisabled"))
    });
    if masked_out {
        return false;
    }
    let want = c
        .body
        .get("invokerIamDisabled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let now =
        c.st.canonical_resource(service)
            .ok()
            .and_then(|key| c.st.services.get(&key))
            .is_some_and(|s| s.invoker_iam_disabled());
    want != now
}

/// Refuses the request unless the caller holds every permission it needs.
pub(crate) fn authorize(method_id: &str, c: &Ctx<'_>) -> Result<(), ApiError> {
    let Some(who) = c.st.caller_member.clone() else {
        return Ok(());
    };
    for (perm, resource) in required(method_id, c) {
        if !holds(c.st, &who, &perm, &resource) {
            if method_id.starts_with("iamcredentials.") {
                // IAM Credentials names no resource in its refusal (the text gcloud
                // prints: "Permission 'iam.serviceAccounts.getAccessToken' denied on
                // resource (or it may not exist).").
                return Err(ApiError::permission_denied(format!(
                    "Permission '{perm}' denied on resource (or it may not exist)."
                ))
                .with_detail(json!({
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "IAM_PERMISSION_DENIED",
                    "domain": "iamcredentials.googleapis.com",
                    "metadata": {"permission": perm},
                })));
            }
            return Err(denied(&perm, &resource));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_become_members() {
        assert_eq!(
            caller_member("a@example.com").as_deref(),
            Some("user:a@example.com")
        );
        assert_eq!(
            caller_member("d@p.iam.gserviceaccount.com").as_deref(),
            Some("serviceAccount:d@p.iam.gserviceaccount.com")
        );
        assert_eq!(
            caller_member("user:a@example.com").as_deref(),
            Some("user:a@example.com")
        );
        assert!(caller_member("group:g@example.com").is_none());
        assert!(caller_member("alice").is_none());
    }

    /// Every permission some route requires, with every route called on a project that has
    /// a service, a secret and an account (builds:submit and Cloud Build's and Artifact
    /// Registry's checks included).
    fn every_required_permission() -> std::collections::BTreeSet<String> {
        use crate::clock::{Clock, SharedClock};
        let world = crate::World::builder()
            .project("acme", 42)
            .service_account("run@acme.iam.gserviceaccount.com")
            .secret("acme", "db")
            .build();
        let mut st = State::from_world(
            world,
            1,
            std::time::Duration::ZERO,
            SharedClock::new(Clock::Manual),
        )
        .expect("valid world");
        let headers = axum::http::HeaderMap::new();
        let mut all = std::collections::BTreeSet::new();
        for route in crate::routes::table() {
            let n = route.spec.flat_path.matches('{').count();
            let p: Vec<String> = ["acme", "us-central1", "svc", "1", "x"][..n.min(5)]
                .iter()
                .map(|s| s.to_string())
                .collect();
            let c = Ctx {
                st: &mut st,
                p,
                q: crate::util::Query::default(),
                body: json!({"template": {"serviceAccount": "run@acme.iam.gserviceaccount.com"}}),
                raw: &[],
                headers: &headers,
                base_url: "",
                reply: None,
            };
            all.extend(
                required(route.spec.method_id, &c)
                    .into_iter()
                    .map(|(p, _)| p),
            );
        }
        // The checks the Cloud Build, Artifact Registry and builds:submit handlers make.
        // Each check names its permission as the first string after the call
        // (`authorised` is Cloud Build's project check; inside it, the call
        // passes the permission it was given, so no literal follows).
        for source in [include_str!("build/mod.rs"), include_str!("registry.rs")] {
            for marker in ["require_on_project(", "authorised(c.st, &c.p[0], "] {
                for chunk in source.split(marker).skip(1) {
                    match chunk.split('"').nth(1) {
                        Some(perm) if !perm.contains(['/', '{']) => {
                            all.insert(perm.to_string());
                        }
                        _ => {}
                    }
                }
            }
        }
        all
    }

    /// The emulator's role table is Google's data (`types/roles/`): every permission a route
    /// requires is one a predefined role holds (a permission written from memory, such as
    /// `run.builds.create`, is not), and the basic and service roles hold them as Google says.
    #[test]
    fn the_permissions_routes_require_exist_in_googles_role_data() {
        let all = every_required_permission();
        assert!(all.contains("cloudbuild.builds.create"), "{all:?}");
        assert!(all.contains("run.services.update"), "{all:?}");
        assert!(all.contains("iam.serviceAccounts.actAs"), "{all:?}");
        let unknown: Vec<&String> = all
            .iter()
            .filter(|p| autosre_types::roles::roles_holding(p).next().is_none())
            .collect();
        assert!(unknown.is_empty(), "no predefined role holds {unknown:?}");
        for perm in &all {
            for role in autosre_types::roles::roles() {
                let data = autosre_types::roles::role_holds(role, perm);
                assert_eq!(predefined(role, perm), data, "{role} {perm}");
            }
        }
    }

    /// Every predefined role a world, a doc or the emulator's code names is in the data, so
    /// a binding of it grants what Google's role grants (not nothing).
    #[test]
    fn every_role_the_emulator_names_is_in_googles_role_data() {
        let texts = [
            include_str!("../README.md"),
            include_str!("../worlds/example.yaml"),
            include_str!("authz.rs"),
            include_str!("iam.rs"),
            include_str!("run/mod.rs"),
        ];
        let mut named = std::collections::BTreeSet::new();
        for t in texts {
            for chunk in t.split("roles/").skip(1) {
                let name: String = chunk
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
                    .collect();
                let name = name.trim_end_matches('.');
                // Lower-case service, a dot, a role: `roles/run.admin`, `roles/owner`.
                if name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                    && !name.ends_with("json")
                {
                    named.insert(format!("roles/{name}"));
                }
            }
        }
        let custom = ["roles/deployer", "roles/made.up", "roles/x.y"];
        let missing: Vec<&String> = named
            .iter()
            .filter(|r| !custom.contains(&r.as_str()))
            .filter(|r| autosre_types::roles::permissions(r).is_none())
            .collect();
        assert!(missing.is_empty(), "roles not in types/roles/: {missing:?}");
    }

    #[test]
    fn predefined_roles_hold_what_google_lists() {
        assert_eq!(
            predefined("roles/run.developer", "run.services.update"),
            Some(true)
        );
        assert_eq!(
            predefined("roles/run.developer", "run.services.setIamPolicy"),
            Some(false)
        );
        assert_eq!(
            predefined("roles/run.admin", "run.services.setIamPolicy"),
            Some(true)
        );
        assert_eq!(
            predefined("roles/editor", "resourcemanager.projects.setIamPolicy"),
            Some(false)
        );
        assert_eq!(
            predefined("roles/viewer", "secretmanager.versions.access"),
            Some(false)
        );
        assert_eq!(
            predefined("roles/iam.serviceAccountAdmin", "iam.serviceAccounts.actAs"),
            Some(false)
        );
        assert_eq!(predefined("roles/made.up", "x.y.z"), None);
    }
}
