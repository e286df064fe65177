//! Part 1 of the permission rules: from the config alone, the permissions to
//! ask each resource for with `testIamPermissions`.
//!
//! Its own file because it runs before any read (its answers arrive in the
//! same read phase as every other read), while `assess.rs` judges them after.
//! It is a superset: whether a policy changes is known only after the read.

use super::ACT_AS;
use crate::config::Environment;
use crate::gcp::iam::PolicyResource;
use crate::plan::live::{Needs, account_project};

const RUN_ON_SERVICE: [&str; 4] = [
    "run.services.get",
    "run.services.update",
    "run.services.getIamPolicy",
    "run.services.setIamPolicy",
];

/// IAP's permissions on a Cloud Run service's IAP resource (a web service),
/// held by roles/iap.admin.
const IAP_ON_SERVICE: [&str; 2] = [
    "iap.webServices.getIamPolicy",
    "iap.webServices.setIamPolicy",
];

/// What to ask the service's IAP resource (second phase: it is named by the
/// project number), and the project in the first phase.
pub(crate) fn iap_permissions() -> Vec<String> {
    strings(&IAP_ON_SERVICE)
}

/// A source deploy's permissions, all asked of the project, and whether
/// each is required: creating the bucket or the repository is needed only
/// the first time, so those are warnings when missing. Both ways of building
/// (Cloud Run's `builds:submit` and Cloud Build's `builds.create`) start a
/// Cloud Build and need `cloudbuild.builds.create`: there is no `run.builds.*`
/// permission. Google's source-deploy role, roles/run.sourceDeveloper, holds
/// every one of them (cloud.google.com/run/docs/deploying-source-code).
pub(crate) const BUILD: [(&str, bool); 8] = [
    ("storage.buckets.get", true),
    ("storage.buckets.create", false),
    ("storage.objects.get", true),
    ("storage.objects.create", true),
    ("artifactregistry.repositories.get", true),
    ("artifactregistry.repositories.create", false),
    ("cloudbuild.builds.create", true),
    ("cloudbuild.builds.get", true),
];

fn strings(perms: &[&str]) -> Vec<String> {
    perms.iter().map(|p| p.to_string()).collect()
}

/// What to ask the runtime account, wherever its email comes from.
pub(crate) fn account_permissions(needs: &Needs) -> Vec<String> {
    let mut p = vec!["iam.serviceAccounts.get"];
    // `needs.build`: the runtime account may also be the build's.
    if needs.service || needs.build {
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
    if needs.project_policy() {
        project.extend([
            "resourcemanager.projects.getIamPolicy",
            "resourcemanager.projects.setIamPolicy",
        ]);
    }
    if needs.build {
        project.extend(BUILD.iter().map(|(p, _)| *p));
    }
    if needs.service {
        // Asked of the project too: a service that does not exist yet has no
        // policy of its own, and a grant on the project covers its services.
        project.extend(["run.services.create", "run.operations.get"]);
        project.extend(RUN_ON_SERVICE);
        out.push((
            crate::plan::names::service_resource(env),
            strings(&RUN_ON_SERVICE),
        ));
    }
    // The image's tag, when its repository is in this project (one in
    // another project is asked by reading the tag itself).
    if needs
        .image_tag
        .as_ref()
        .is_some_and(|t| t.project == *env.project)
    {
        project.push(crate::plan::image::TAGS_GET);
    }
    if needs.iap {
        // Also of the project: before the first deploy the IAP resource does
        // not exist, and roles/iap.admin on the project covers it.
        project.extend(IAP_ON_SERVICE);
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
        // Whether `plan` may read the key's payload to check its format.
        if crate::plan::key::reference(env).is_some_and(|r| r.id == id) {
            p.push(crate::plan::key::ACCESS);
        }
        out.push((id.resource(), strings(&p)));
    }
    // The build's own account: the deployer must be able to act as it
    // (`iam.serviceAccounts.actAs`, as for the runtime account; Cloud Build
    // checks it on a build with `serviceAccount`,
    // cloud.google.com/build/docs/securing-builds/configure-user-specified-service-accounts).
    if let Some(email) = env.build.service_account.as_ref().filter(|_| needs.build)
        && env.service.service_account.as_ref() != Some(email)
    {
        out.push((
            PolicyResource::ServiceAccount {
                project: account_project(email, &env.project),
                email: email.clone(),
            },
            strings(&[ACT_AS]),
        ));
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
