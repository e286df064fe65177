//! The fixed tables of the permission rules: which predefined role grants a
//! permission, which permission each read needs, and the words the plan uses
//! for each; and, over Google's role data, which roles hold a permission.
//!
//! Kept apart from the rules in `assess.rs` because they are lookup data, not
//! decisions: a new permission or read is one line here. Roles: the
//! predefined role named for each permission is the smallest one listed in
//! cloud.google.com/iam/docs/roles-permissions that grants it, or the one
//! Google's guide for the step names; tests hold every pairing to the
//! vendored role definitions (`types/roles/`, [`role_holds`]).

use super::ACT_AS;

/// What a build's own account uses while it builds: reading the uploaded
/// source, pushing the image, writing the build log. These are the
/// permissions of `roles/run.builder`, the role Cloud Run's source-deploy
/// docs have granted to the build account
/// (cloud.google.com/run/docs/deploying-source-code; iann0036/iam-dataset
/// `gcp/roles/run.builder.json`).
pub(crate) const BUILD_ACCOUNT_PERMISSIONS: [&str; 3] = [
    "storage.objects.get",
    "artifactregistry.repositories.uploadArtifacts",
    "logging.logEntries.create",
];

/// Predefined roles known to hold every one of [`BUILD_ACCOUNT_PERMISSIONS`]:
/// `roles/run.builder` and `roles/cloudbuild.builds.builder` (the legacy
/// Cloud Build account's role; iann0036/iam-dataset `gcp/roles/*.json`), and
/// the basic roles `roles/editor` and `roles/owner`
/// (cloud.google.com/iam/docs/roles-overview#basic). A small table of its
/// own until the role data is vendored; then it is a lookup in that data.
pub(crate) fn roles_holding_build_account_permissions() -> &'static [&'static str] {
    &[
        "roles/run.builder",
        "roles/cloudbuild.builds.builder",
        "roles/editor",
        "roles/owner",
    ]
}

/// A predefined role that grants `permission`.
pub(crate) fn role_for(permission: &str) -> &'static str {
    match permission {
        ACT_AS | "iam.serviceAccounts.get" => "roles/iam.serviceAccountUser",
        p if p.starts_with("iam.serviceAccounts.") => "roles/iam.serviceAccountAdmin",
        "run.services.setIamPolicy" => "roles/run.admin",
        // Reading the image's tag: Artifact Registry's reader role
        // (cloud.google.com/artifact-registry/docs/access-control#roles).
        crate::plan::image::TAGS_GET => crate::plan::image::READER,
        // `secrets status` reads the revisions: run.viewer has it.
        "run.revisions.list" => "roles/run.viewer",
        // A source deploy's upload and build: Google's source-deploy guide
        // names roles/run.sourceDeveloper, which holds all of them
        // (cloud.google.com/run/docs/deploying-source-code).
        p if p.starts_with("storage.")
            || p.starts_with("artifactregistry.")
            || p.starts_with("cloudbuild.") =>
        {
            "roles/run.sourceDeveloper"
        }
        p if p.starts_with("run.") => "roles/run.developer",
        "secretmanager.secrets.get"
        | "secretmanager.versions.get"
        | "secretmanager.versions.list" => "roles/secretmanager.viewer",
        // `secrets disable`: the smallest role that changes version states.
        "secretmanager.versions.disable" | "secretmanager.versions.enable" => {
            "roles/secretmanager.secretVersionManager"
        }
        "secretmanager.versions.access" => "roles/secretmanager.secretAccessor",
        "secretmanager.versions.add" => "roles/secretmanager.secretVersionAdder",
        p if p.starts_with("secretmanager.") => "roles/secretmanager.admin",
        p if p.starts_with("iap.") => "roles/iap.admin",
        "resourcemanager.projects.get"
        | "resourcemanager.projects.getIamPolicy"
        | "resourcemanager.projects.setIamPolicy" => "roles/resourcemanager.projectIamAdmin",
        // Any other: the smallest role in Google's data that holds it.
        p => roles_holding(p)
            .filter(|r| !matches!(*r, "roles/owner" | "roles/editor" | "roles/viewer"))
            .min_by_key(|r| autosre_types::roles::permissions(r).map_or(0, <[_]>::len))
            .unwrap_or("roles/owner"),
    }
}

/// Whether predefined `role` holds `permission`, by Google's role
/// definitions (`types/roles/`); `None` for a role not in that data (a
/// custom role, or a predefined one the data does not carry).
#[cfg_attr(
    not(test),
    allow(dead_code, reason = "the one-role question beside roles_holding")
)]
pub(crate) fn role_holds(role: &str, permission: &str) -> Option<bool> {
    autosre_types::roles::role_holds(role, permission)
}

/// The predefined roles (of those in `types/roles/`) that hold `permission`,
/// sorted by name.
pub(crate) fn roles_holding(permission: &str) -> impl Iterator<Item = &'static str> {
    autosre_types::roles::roles_holding(permission)
}

/// The permission each read needs, by the operation name the read logs.
pub(super) const READS: [(&str, &str); 13] = [
    ("projects.get", "resourcemanager.projects.get"),
    (
        "projects.getIamPolicy",
        "resourcemanager.projects.getIamPolicy",
    ),
    ("secrets.get", "secretmanager.secrets.get"),
    ("secrets.versions.get", "secretmanager.versions.get"),
    ("secrets.versions.list", "secretmanager.versions.list"),
    ("services.revisions.list", "run.revisions.list"),
    ("secrets.getIamPolicy", "secretmanager.secrets.getIamPolicy"),
    ("serviceAccounts.get", "iam.serviceAccounts.get"),
    (
        "serviceAccounts.getIamPolicy",
        "iam.serviceAccounts.getIamPolicy",
    ),
    ("services.getIamPolicy", "run.services.getIamPolicy"),
    ("services.get", "run.services.get"),
    ("iap.getIamPolicy", "iap.webServices.getIamPolicy"),
    // Cloud Run's validateOnly check is a services.patch.
    ("services.patch(validateOnly)", "run.services.update"),
];

/// The permission a read needs, by the operation name the read logs.
pub(super) fn read_permission(operation: &str) -> &'static str {
    READS
        .iter()
        .find(|(op, _)| *op == operation)
        .map_or("run.services.update", |(_, p)| p)
}

pub(crate) fn why(permission: &str) -> &'static str {
    match permission {
        "resourcemanager.projects.get" => "read the project number",
        "resourcemanager.projects.getIamPolicy" => "read the project's IAM policy",
        "resourcemanager.projects.setIamPolicy" => "grant the planned roles on the project",
        "run.services.get" => "read the live Cloud Run service",
        "run.services.create" => "create the Cloud Run service",
        "run.services.update" => "update the Cloud Run service",
        "run.services.getIamPolicy" => "read the service's IAM policy",
        "run.services.setIamPolicy" => {
            "change who may invoke the service (its policy, or public access)"
        }
        "run.operations.get" => "follow the rollout's operation until the revision is ready",
        ACT_AS => "run the service as the runtime service account",
        "iam.serviceAccounts.get" => "check that the runtime service account exists",
        "iam.serviceAccounts.getIamPolicy" => "read the runtime account's IAM policy",
        "iam.serviceAccounts.setIamPolicy" => {
            "grant roles/iam.serviceAccountUser on the runtime account"
        }
        "storage.buckets.get" => "find the source staging bucket",
        "storage.buckets.create" => "create the source staging bucket the first time",
        "storage.objects.get" => "check whether the source is uploaded already",
        "storage.objects.create" => "upload the source archive",
        "artifactregistry.repositories.get" => "find the image repository",
        crate::plan::image::TAGS_GET => "resolve the image's tag to the digest it names",
        "artifactregistry.repositories.create" => "create the image repository the first time",
        "cloudbuild.builds.get" => "follow the build and read its result",
        "cloudbuild.builds.create" => {
            "build the image from source (Cloud Run's builds:submit or Cloud Build's builds.create)"
        }
        "secretmanager.secrets.get" => "check that the secret exists",
        "secretmanager.versions.get" => "check the referenced secret version",
        "secretmanager.secrets.getIamPolicy" => "read the secret's IAM policy",
        "secretmanager.secrets.setIamPolicy" => "let the runtime account read the secret",
        "iap.webServices.getIamPolicy" => "read who may use the service through IAP",
        "iap.webServices.setIamPolicy" => "grant the `iap.members` access through IAP",
        "secretmanager.versions.list" => "list the secret's versions (`secrets status`)",
        "secretmanager.versions.disable" => "disable a secret version (`secrets disable`)",
        "run.revisions.list" => "list the service's revisions (`secrets status`)",
        "secretmanager.versions.access" => "read the encryption key to check its format",
        "secretmanager.versions.add" => "add a version holding a new key",
        "secretmanager.secrets.create" => "create the key secret",
        _ => "the plan",
    }
}

pub(super) fn what_unchecked(operation: &str) -> &'static str {
    match operation {
        "secrets.get" => "check that the secret exists",
        "secrets.versions.get" => "check that the referenced version exists and is enabled",
        "secrets.getIamPolicy" => "check whether the runtime account can already read the secret",
        "projects.getIamPolicy" => "check which project roles the runtime account already has",
        "serviceAccounts.get" => "check that the runtime service account exists",
        "serviceAccounts.getIamPolicy" => "check who may already act as the runtime account",
        "services.get" => "read the live service (create or update?)",
        "services.getIamPolicy" => "check who may invoke the service",
        "iap.getIamPolicy" => "check who may already use the service through IAP",
        _ => "have Cloud Run validate the service it would send",
    }
}

#[cfg(test)]
mod tests;
