//! The resolved environment: what the rest of the program codes against.
//!
//! Every default has been applied and every value validated by the time one of these exists,
//! so nothing downstream re-checks syntax or invents a fallback. Only `{project_number}` in
//! IAM member strings is left for the caller to resolve (it needs a Resource Manager lookup).

use std::collections::BTreeMap;
use std::path::PathBuf;

use autosre_types::{Cpu, Memory, Timeout};

use super::secret_ref::SecretRef;
use super::values::{ImageRef, Member, ProjectId, Region, Role, ServiceName};

/// One deploy target, loaded from `config/<name>.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Environment {
    /// The environment name: the file stem (`staging` for `config/staging.yaml`).
    pub(crate) name: String,
    /// The file it came from, as given to [`super::load`] (for messages).
    pub(crate) source: PathBuf,
    pub(crate) project: ProjectId,
    pub(crate) region: Region,
    /// `regions:`: every region the file deploys to, with what differs in each; empty with
    /// `region:`. [`Environment::targets`] expands them into one environment per region.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) regions: Vec<RegionTarget>,
    /// `production: true`: the stricter rules apply (`STRICT_EUC_ENFORCEMENT` must be
    /// `"true"`; a public service needs `service.public_ack`).
    pub(crate) production: bool,
    pub(crate) service: ServiceSpec,
    pub(crate) encryption_key: EncryptionKey,
    pub(crate) iam: IamSpec,
    /// `iap:`: Identity-Aware Proxy in front of the service; `None` when the file has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) iap: Option<IapSpec>,
    /// `build:`: where and as whom a source deploy builds.
    pub(crate) build: BuildSpec,
}

/// One region of `regions:` and what differs there from the shared `service:`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct RegionTarget {
    pub(crate) region: Region,
    /// `service.min_instances` in this region (checked against `max_instances`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) min_instances: Option<u32>,
    /// Plain env values in this region, over `service.env` (the same rules as `service.env`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) env: BTreeMap<String, String>,
}

impl Environment {
    /// One environment per deploy target: itself with `region:`, else one per entry of
    /// `regions:`, each with its region, its overrides applied and no `regions` left (so a
    /// target's resolved environment, and a saved plan's hash of it, say exactly what that
    /// region gets).
    pub(crate) fn targets(&self) -> Vec<Environment> {
        if self.regions.is_empty() {
            return vec![self.clone()];
        }
        self.regions
            .iter()
            .map(|r| {
                let mut env = self.clone();
                env.regions = Vec::new();
                env.region = r.region.clone();
                if let Some(min) = r.min_instances {
                    env.service.min_instances = min;
                }
                env.service
                    .env
                    .extend(r.env.iter().map(|(k, v)| (k.clone(), v.clone())));
                env
            })
            .collect()
    }
}

/// `build:`: where and as whom a source deploy builds.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct BuildSpec {
    /// `build.region`; `None`: gcloud's default region for Cloud Build, `global`.
    pub(crate) region: Option<Region>,
    /// `build.worker_pool`: `projects/P/locations/R/workerPools/N`.
    pub(crate) worker_pool: Option<String>,
    /// `build.service_account`, an email; `None`: the project's default build account.
    pub(crate) service_account: Option<String>,
}

/// Cloud Build's region when none is given: gcloud's
/// `cloudbuild_util.DEFAULT_REGION` (`googlecloudsdk/api_lib/cloudbuild/cloudbuild_util.py`),
/// where its Cloud Run source deploy builds (`command_lib/run/sourcedeploys/deployer.py`,
/// `_BuildFromSource`).
pub(crate) const DEFAULT_BUILD_REGION: &str = "global";

impl BuildSpec {
    /// Where a Cloud Build build is created: the worker pool's region, else
    /// `build.region`, else [`DEFAULT_BUILD_REGION`]. A private pool's builds
    /// run in its region (cloud.google.com/build/docs/private-pools/run-builds-in-private-pool).
    pub(crate) fn location(&self) -> String {
        if let Some(pool) = &self.worker_pool
            && let Some(region) = pool_region(pool)
        {
            return region.to_string();
        }
        match &self.region {
            Some(r) => r.to_string(),
            None => DEFAULT_BUILD_REGION.to_string(),
        }
    }
}

/// The `R` of `projects/P/locations/R/workerPools/N`.
pub(crate) fn pool_region(pool: &str) -> Option<&str> {
    let parts: Vec<&str> = pool.split('/').collect();
    match parts.as_slice() {
        ["projects", p, "locations", r, "workerPools", n]
            if !p.is_empty() && !r.is_empty() && !n.is_empty() =>
        {
            Some(r)
        }
        _ => None,
    }
}

/// Identity-Aware Proxy for end users (`iap:`): Cloud Run's `iapEnabled`, the IAP service
/// agent's invoker grant and `roles/iap.httpsResourceAccessor` for each member.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct IapSpec {
    /// Who may reach the service; may contain `{project_number}`. Never `allUsers` or
    /// `allAuthenticatedUsers`.
    pub(crate) members: Vec<Member>,
    /// Remove accessors no longer listed (`iap.exclusive`); default add-only.
    pub(crate) exclusive: bool,
}

/// The Cloud Run service to create or update.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct ServiceSpec {
    pub(crate) name: ServiceName,
    /// `None` when the file has no `image:`; the CLI's `--image` may supply it.
    pub(crate) image: Option<ImageRef>,
    /// `service.source`: the directory to build from unless an image is given, already
    /// joined to the config file's directory.
    pub(crate) source: Option<PathBuf>,
    /// `service.dockerfile`, relative to the source directory, as written.
    pub(crate) dockerfile: Option<String>,
    /// `None` means Cloud Run's default: the Compute Engine default service account
    /// (`PROJECT_NUMBER-compute@developer.gserviceaccount.com`), resolved later.
    pub(crate) service_account: Option<String>,
    /// CPU limit; within Cloud Run's CPU/memory table together with `memory`.
    pub(crate) cpu: Cpu,
    /// Memory limit.
    pub(crate) memory: Memory,
    /// Request timeout, 1..=3600 seconds.
    pub(crate) timeout: Timeout,
    /// Maximum concurrent requests per instance, 1..=1000.
    pub(crate) concurrency: u32,
    pub(crate) min_instances: u32,
    /// At least 1 and at least `min_instances`.
    pub(crate) max_instances: u32,
    pub(crate) allow_unauthenticated: bool,
    /// Why a production service is public (`service.public_ack`), as written.
    pub(crate) public_ack: Option<String>,
    /// Plain environment variables (never the encryption key; see the module docs).
    pub(crate) env: BTreeMap<String, String>,
    /// Names in `env` that look like credentials but are deliberately plain
    /// (`service.plain_env_allow`).
    pub(crate) plain_env_allow: Vec<String>,
    /// Environment variables filled from Secret Manager.
    pub(crate) secrets: BTreeMap<String, SecretRef>,
    /// Whether the deploy pins each secret read at `latest` to the version number it resolves
    /// to (`service.pin_secret_versions`, default true).
    pub(crate) pin_secret_versions: bool,
    /// Where each deploy sends traffic (`service.traffic`, default `latest`).
    pub(crate) traffic: TrafficMode,
    /// Labels for the service and its revisions (`service.labels`, then `--label`), without
    /// `commit-sha` (see `commit_sha`).
    pub(crate) labels: BTreeMap<String, String>,
    /// Whether the tool adds its own labels (`managed-by`, and `commit-sha` from
    /// `GITHUB_SHA`); `service.labels: false` turns them off.
    pub(crate) tool_labels: bool,
    /// The commit deployed, labelled `commit-sha`: from `--label`, `service.labels` or
    /// `GITHUB_SHA`. Metadata of the run, not of the config: never part of a comparison, so
    /// it is not hashed into saved plans either.
    #[serde(skip)]
    pub(crate) commit_sha: Option<String>,
}

/// `service.traffic`: what a deploy does with the live traffic split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TrafficMode {
    /// LATEST = 100: the new revision serves (tags are kept).
    Latest,
    /// The live split as it is: pinned to named revisions, the new revision gets none.
    Keep,
}

/// Where the agent's encryption key comes from: a Secret Manager secret exposed to the
/// container as an environment variable. The deploy refuses to run unless `service.secrets`
/// wires `env` to `secret` (see [`Environment::encryption_key_wiring`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct EncryptionKey {
    /// Secret id in the environment's project.
    pub(crate) secret: String,
    /// Environment variable name the agent reads the key from.
    pub(crate) env: String,
    /// Where `key init` replicates the secret it creates; empty: automatic replication.
    pub(crate) replica_locations: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct IamSpec {
    /// Roles granted to the runtime service account on the project.
    pub(crate) project_roles: Vec<Role>,
    /// How the runtime account gets `roles/secretmanager.secretAccessor`.
    pub(crate) secret_access: SecretAccess,
    /// Members granted `roles/iam.serviceAccountUser` on the runtime account; may contain
    /// the `{project_number}` placeholder. Never a broad member (`allUsers`, `domain:`).
    pub(crate) service_account_users: Vec<Member>,
}

/// Scope of the Secret Manager accessor grant.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum SecretAccess {
    /// One binding on each referenced secret: least privilege (the default).
    PerSecret,
    /// One binding on the project: every secret in it becomes readable.
    Project,
}

/// Whether `service.secrets` feeds the encryption key to the agent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) enum KeyWiring {
    /// `service.secrets[encryption_key.env]` reads `encryption_key.secret`.
    Wired,
    /// `encryption_key.env` is not among `service.secrets`.
    NotWired,
    /// `encryption_key.env` reads another secret; the payload is that reference as written
    /// by [`SecretRef::display`].
    WiredToOtherSecret(String),
}

impl Environment {
    /// How the encryption key is wired. Not a parse error: a well-formed file may be
    /// mid-edit, and `validate`/`plan` should still show everything else. The deploy's
    /// preflight reports anything but [`KeyWiring::Wired`] and stops.
    ///
    /// A reference in the full form `projects/P/secrets/S` counts as wired only when `P` is
    /// this environment's project (by id; a project number cannot be compared offline and
    /// counts as another secret, so the preflight makes the user spell it out).
    pub(crate) fn encryption_key_wiring(&self) -> KeyWiring {
        let Some(reference) = self.service.secrets.get(&self.encryption_key.env) else {
            return KeyWiring::NotWired;
        };
        let same_project = reference
            .project
            .as_deref()
            .is_none_or(|p| self.project == p);
        if same_project && reference.secret == self.encryption_key.secret {
            KeyWiring::Wired
        } else {
            KeyWiring::WiredToOtherSecret(reference.display())
        }
    }
}
