//! IAM policies: which resource, and the pure part of read-modify-write.
//!
//! Google's rules for editing a policy (cloud.google.com/iam/docs/policies,
//! "Policy versions" and "Using etags"): read it at version 3 so conditional
//! bindings are visible as they are; change only what you mean to; write it
//! back at version 3 with the etag you read, so a concurrent writer makes the
//! write fail with `ABORTED` instead of being silently overwritten. The
//! functions here never touch a conditional binding: a grant we make is always
//! unconditional, and only unconditional bindings count as "already granted"
//! (a condition may restrict the grant to times or resources that exclude us).

use google_cloud_iam_v1::model::{Binding, Policy};
use serde::{Deserialize, Serialize};

/// The version we read and write. Version 3 is the only one that shows
/// conditional bindings faithfully; writing a lower one drops conditions.
pub(crate) const POLICY_VERSION: i32 = 3;

/// A resource that has an IAM policy the tool may edit.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum PolicyResource {
    Project {
        project: String,
    },
    Secret {
        project: String,
        secret: String,
    },
    ServiceAccount {
        project: String,
        email: String,
    },
    Service {
        project: String,
        region: String,
        service: String,
    },
    /// A Cloud Run service's Identity-Aware Proxy resource, named by project
    /// number (https://cloud.google.com/run/docs/securing/identity-aware-proxy-cloud-run).
    IapWeb {
        project: String,
        project_number: String,
        region: String,
        service: String,
    },
}

impl PolicyResource {
    /// The resource name the APIs take.
    pub(crate) fn name(&self) -> String {
        match self {
            PolicyResource::Project { project } => format!("projects/{project}"),
            PolicyResource::Secret { project, secret } => {
                format!("projects/{project}/secrets/{secret}")
            }
            PolicyResource::ServiceAccount { project, email } => {
                format!("projects/{project}/serviceAccounts/{email}")
            }
            PolicyResource::Service {
                project,
                region,
                service,
            } => format!("projects/{project}/locations/{region}/services/{service}"),
            PolicyResource::IapWeb {
                project_number,
                region,
                service,
                ..
            } => format!("projects/{project_number}/iap_web/cloud_run-{region}/services/{service}"),
        }
    }

    /// How people name it: `project acme`, `secret gemini-api-key`, ...
    pub(crate) fn label(&self) -> String {
        match self {
            PolicyResource::Project { project } => format!("project {project}"),
            PolicyResource::Secret { secret, .. } => format!("secret {secret}"),
            PolicyResource::ServiceAccount { email, .. } => format!("service account {email}"),
            PolicyResource::Service { service, .. } => format!("Cloud Run service {service}"),
            PolicyResource::IapWeb { service, .. } => format!("IAP of Cloud Run service {service}"),
        }
    }

    /// The gcloud command an administrator would run to add one binding.
    pub(crate) fn gcloud_grant(&self, role: &str, member: &str) -> String {
        match self {
            PolicyResource::Project { project } => format!(
                "gcloud projects add-iam-policy-binding {project} --member={member} --role={role}"
            ),
            PolicyResource::Secret { project, secret } => format!(
                "gcloud secrets add-iam-policy-binding {secret} --project={project} --member={member} --role={role}"
            ),
            PolicyResource::ServiceAccount { project, email } => format!(
                "gcloud iam service-accounts add-iam-policy-binding {email} --project={project} --member={member} --role={role}"
            ),
            PolicyResource::Service {
                project,
                region,
                service,
            } => format!(
                "gcloud run services add-iam-policy-binding {service} --project={project} --region={region} --member={member} --role={role}"
            ),
            PolicyResource::IapWeb {
                project,
                region,
                service,
                ..
            } => format!(
                "gcloud iap web add-iam-policy-binding --resource-type=cloud-run --service={service} --project={project} --region={region} --member={member} --role={role}"
            ),
        }
    }
}

/// One binding of one member to one role.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) struct Grant {
    pub(crate) role: String,
    pub(crate) member: String,
}

impl Grant {
    pub(crate) fn new(role: impl Into<String>, member: impl Into<String>) -> Grant {
        Grant {
            role: role.into(),
            member: member.into(),
        }
    }
}

/// True when `policy` grants `grant` through an unconditional binding.
pub(crate) fn has(policy: &Policy, grant: &Grant) -> bool {
    policy
        .bindings
        .iter()
        .any(|b| b.condition.is_none() && b.role == grant.role && b.members.contains(&grant.member))
}

/// The edit that turns `policy` into one with every `add` present and every
/// `remove` absent. Returns `None` when the policy already is that way, so a
/// caller writes nothing.
pub(crate) fn edit(policy: &Policy, add: &[Grant], remove: &[Grant]) -> Option<Policy> {
    let mut out = policy.clone();
    let mut changed = false;
    for g in add {
        if has(&out, g) {
            continue;
        }
        changed = true;
        match out
            .bindings
            .iter_mut()
            .find(|b| b.condition.is_none() && b.role == g.role)
        {
            Some(b) => b.members.push(g.member.clone()),
            None => out
                .bindings
                .push(Binding::new().set_role(&g.role).set_members([&g.member])),
        }
    }
    for g in remove {
        for b in out
            .bindings
            .iter_mut()
            .filter(|b| b.condition.is_none() && b.role == g.role)
        {
            let before = b.members.len();
            b.members.retain(|m| m != &g.member);
            changed |= b.members.len() != before;
        }
    }
    // A binding we emptied goes away; Google rejects empty bindings on some
    // resources and drops them on others.
    out.bindings
        .retain(|b| !b.members.is_empty() || b.condition.is_some());
    if !changed {
        return None;
    }
    out.version = POLICY_VERSION;
    Some(out)
}

/// The etag as people and saved plans see it (standard base64).
pub(crate) fn etag_text(policy: &Policy) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(&policy.etag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use google_cloud_type::model::Expr;

    fn policy() -> Policy {
        Policy::new()
            .set_version(3)
            .set_etag(bytes::Bytes::from_static(b"\x00\x01"))
            .set_bindings([
                Binding::new()
                    .set_role("roles/viewer")
                    .set_members(["user:alice@example.com"]),
                Binding::new()
                    .set_role("roles/secretmanager.secretAccessor")
                    .set_members(["serviceAccount:run@p.iam.gserviceaccount.com"])
                    .set_condition(
                        Expr::new()
                            .set_expression("request.time < timestamp('2030-01-01T00:00:00Z')"),
                    ),
            ])
    }

    #[test]
    fn a_conditional_binding_does_not_count_as_granted() {
        let g = Grant::new(
            "roles/secretmanager.secretAccessor",
            "serviceAccount:run@p.iam.gserviceaccount.com",
        );
        assert!(!has(&policy(), &g));
        let edited = edit(&policy(), std::slice::from_ref(&g), &[]).unwrap();
        assert!(has(&edited, &g));
        // The conditional binding is still there, untouched.
        assert_eq!(edited.bindings[1], policy().bindings[1]);
        assert_eq!(edited.bindings.len(), 3);
        assert_eq!(edited.etag, policy().etag, "the etag we read is sent back");
    }

    #[test]
    fn adding_what_is_there_is_no_edit() {
        let g = Grant::new("roles/viewer", "user:alice@example.com");
        assert_eq!(edit(&policy(), &[g], &[]), None);
    }

    #[test]
    fn adding_to_an_existing_role_appends_the_member() {
        let g = Grant::new("roles/viewer", "user:bob@example.com");
        let edited = edit(&policy(), &[g], &[]).unwrap();
        assert_eq!(
            edited.bindings[0].members,
            ["user:alice@example.com", "user:bob@example.com"]
        );
    }

    #[test]
    fn removing_the_last_member_drops_the_binding() {
        let g = Grant::new("roles/viewer", "user:alice@example.com");
        let edited = edit(&policy(), &[], &[g]).unwrap();
        assert!(edited.bindings.iter().all(|b| b.role != "roles/viewer"));
        assert_eq!(edited.version, POLICY_VERSION);
    }
}
