//! Which reads a plan needs, decided from the config alone: the secret
//! versions it references, whether the project number, the project's and the
//! runtime account's policies and the service are read.
//!
//! Its own file because it is pure (no I/O) and used by more than the reads:
//! the permission questions (`permissions::to_ask`), the preflight and the
//! computed plan ask it the same questions. Re-exported from `live`, whose
//! reads it drives.

use std::collections::BTreeMap;

use super::Target;
use super::live::{SecretId, VersionRef};
use crate::config::{Environment, SecretAccess};

/// Which reads a plan needs: decided from the config alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Needs {
    /// Every referenced version and the env vars reading each.
    pub(crate) uses: BTreeMap<VersionRef, Vec<String>>,
    pub(crate) per_secret: bool,
    /// The deploy's own project.
    pub(crate) project: String,
    pub(crate) number: bool,
    pub(crate) account_policy: bool,
    /// The config grants the runtime account roles on the project.
    pub(crate) project_roles: bool,
    pub(crate) service: bool,
    /// A deploy with `iap:`: the service's IAP resource (named by project
    /// number) is read and its policy edited.
    pub(crate) iap: bool,
    /// The image is built from source first (`service.source`, `--source`).
    pub(crate) build: bool,
    /// The Artifact Registry tag the image names, resolved to its digest
    /// (see `image.rs`).
    pub(crate) image_tag: Option<super::image::TagRef>,
}

impl Needs {
    pub(crate) fn of(env: &Environment, target: &Target) -> Needs {
        let mut uses: BTreeMap<VersionRef, Vec<String>> = BTreeMap::new();
        for (var, r) in &env.service.secrets {
            uses.entry(VersionRef::of(env, r))
                .or_default()
                .push(var.clone());
        }
        let iap = env.iap.is_some() && matches!(target, Target::Deploy { .. });
        let build = matches!(target, Target::Deploy { .. }) && env.service.source.is_some();
        Needs {
            per_secret: env.iam.secret_access == SecretAccess::PerSecret,
            project: env.project.to_string(),
            // A build checks that the staging bucket is this project's by
            // its number.
            number: env.service.service_account.is_none()
                || iap
                || build
                || env
                    .iam
                    .service_account_users
                    .iter()
                    .any(|m| m.contains("{project_number}")),
            account_policy: !env.iam.service_account_users.is_empty(),
            project_roles: !env.iam.project_roles.is_empty(),
            service: matches!(target, Target::Deploy { .. }),
            iap,
            build,
            image_tag: super::image::tag_to_read(target, build),
            uses,
        }
    }

    /// Whether the runtime account's access to `id` is granted on the secret
    /// itself: always with `per-secret`, and with `project` for a secret in
    /// another project (a grant on this project would not reach it).
    pub(crate) fn grant_on_secret(&self, id: &SecretId) -> bool {
        self.per_secret || id.project != self.project
    }

    /// Whether the accessor role is granted on the deploy's project.
    pub(crate) fn project_secret_access(&self) -> bool {
        !self.per_secret && self.uses.keys().any(|k| k.id.project == self.project)
    }

    /// Whether the project's policy is read (and perhaps edited).
    pub(crate) fn project_policy(&self) -> bool {
        self.project_roles || self.project_secret_access()
    }

    /// Every referenced secret, once.
    pub(crate) fn secrets(&self) -> Vec<SecretId> {
        let mut ids: Vec<SecretId> = self.uses.keys().map(|k| k.id.clone()).collect();
        ids.dedup();
        ids
    }
}
