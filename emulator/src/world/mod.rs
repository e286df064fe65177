//! The "world": the Google Cloud estate the emulator starts with.
//!
//! It is plain data, read from a YAML file (`emulator/README.md` documents the format and
//! `emulator/worlds/example.yaml` is a complete example) or assembled with [`WorldBuilder`]
//! in tests. [`crate::Emulator::new`] turns it into live [`crate::State`]. Secret payloads
//! pass through here, so the types holding them redact their `Debug` output.

use serde::Deserialize;
use serde_json::Value;

use crate::behaviour::{CustomRole, FailRevisions, OrgPolicy, RevisionFailure, ValidateOnly};
use crate::iam::Condition;

mod builder;
pub use builder::WorldBuilder;

/// The starting estate: projects with their IAM, service accounts, secrets and services.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct World {
    /// Email recorded as `creator`/`lastModifier` on Cloud Run writes.
    #[serde(default)]
    pub(crate) caller: Option<String>,
    #[serde(default)]
    pub(crate) projects: Vec<ProjectSpec>,
    /// GETs an operation needs before it reports done, or `never`; overrides
    /// `Options::operation_polls`.
    #[serde(default)]
    pub(crate) operation_polls: Option<Polls>,
    /// Authorise every request as `caller`, from the allow policies.
    #[serde(default)]
    pub(crate) enforce_caller_permissions: bool,
    #[serde(default)]
    pub(crate) validate_only: ValidateOnly,
    #[serde(default)]
    pub(crate) revision_failure: RevisionFailure,
    #[serde(default)]
    pub(crate) fail_revisions: Option<FailRevisions>,
    /// Every build fails at a step (`failBuilds: {step, logLines, status}`).
    #[serde(default)]
    pub(crate) fail_builds: Option<crate::build::FailBuilds>,
    /// Whether Cloud Run's `builds:submit` is served (`submitBuild: notFound`: 404).
    #[serde(default)]
    pub(crate) submit_build: crate::build::SubmitBuild,
    /// Cloud Build's default build account (`defaultBuildAccount: compute | legacy | none`).
    #[serde(default)]
    pub(crate) default_build_account: crate::build::DefaultBuildAccount,
    /// APIs not enabled in any project (`disabledApis: [cloudbuild.googleapis.com]`): every
    /// request to one is 403 with Google's `SERVICE_DISABLED` ErrorInfo.
    #[serde(default)]
    pub(crate) disabled_apis: Vec<String>,
    /// Artifact Registry images already pushed, each with its tag (and repository, created
    /// when missing).
    #[serde(default)]
    pub(crate) images: Vec<ImageSpec>,
    /// Bindings added through the builder, by resource name.
    #[serde(skip)]
    pub(crate) extra_bindings: Vec<ExtraBinding>,
}

/// Why a world file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error("the world file is not valid YAML for the world format: {0}")]
    Yaml(String),
    #[error("the world is inconsistent: {0}")]
    Invalid(String),
}

/// State of a secret version (`google.cloud.secretmanager.v1.SecretVersion.State`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum VersionState {
    #[serde(rename = "ENABLED", alias = "enabled", alias = "Enabled")]
    Enabled,
    #[serde(rename = "DISABLED", alias = "disabled", alias = "Disabled")]
    Disabled,
    #[serde(rename = "DESTROYED", alias = "destroyed", alias = "Destroyed")]
    Destroyed,
}

impl VersionState {
    pub(crate) fn name(self) -> &'static str {
        match self {
            VersionState::Enabled => "ENABLED",
            VersionState::Disabled => "DISABLED",
            VersionState::Destroyed => "DESTROYED",
        }
    }
}

/// A number of polls, or the word `never`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum Polls {
    Count(u32),
    Word(String),
}

impl Polls {
    pub(crate) fn count(&self) -> Result<u32, WorldError> {
        match self {
            Polls::Count(n) => Ok(*n),
            Polls::Word(w) if w == "never" => Ok(u32::MAX),
            Polls::Word(w) => Err(WorldError::Invalid(format!(
                "operationPolls is a number or `never`, not `{w}`"
            ))),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ProjectSpec {
    pub(crate) id: String,
    pub(crate) number: u64,
    #[serde(default)]
    pub(crate) display_name: Option<String>,
    /// Whether `<number>-compute@developer.gserviceaccount.com` exists (default true:
    /// projects with the Compute Engine API enabled have it, and Cloud Run uses it).
    #[serde(default = "yes")]
    pub(crate) compute_default_service_account: bool,
    #[serde(default)]
    pub(crate) iam: Vec<BindingSpec>,
    #[serde(default)]
    pub(crate) service_accounts: Vec<ServiceAccountSpec>,
    #[serde(default)]
    pub(crate) secrets: Vec<SecretSpec>,
    #[serde(default)]
    pub(crate) services: Vec<ServiceSpec>,
    #[serde(default)]
    pub(crate) org_policy: OrgPolicy,
    /// Custom roles `projects/ID/roles/ROLE`.
    #[serde(default)]
    pub(crate) custom_roles: Vec<CustomRole>,
    /// How many setIamPolicy calls that add IAP's service agent
    /// (`service-NUMBER@gcp-sa-iap.iam.gserviceaccount.com`) are refused as naming an
    /// account that does not exist yet, before the agent exists (default 0: it exists).
    #[serde(default)]
    pub(crate) iap_agent_pending: u32,
}

/// `#[serde(default = ...)]` for options that are on unless a world file turns them off.
pub(crate) fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct BindingSpec {
    pub(crate) role: String,
    pub(crate) members: Vec<String>,
    #[serde(default)]
    pub(crate) condition: Option<Condition>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ServiceAccountSpec {
    pub(crate) email: String,
    #[serde(default)]
    pub(crate) display_name: Option<String>,
    #[serde(default)]
    pub(crate) description: Option<String>,
    #[serde(default)]
    pub(crate) disabled: bool,
    #[serde(default)]
    pub(crate) iam: Vec<BindingSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SecretSpec {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) labels: Option<Value>,
    #[serde(default)]
    pub(crate) versions: Vec<VersionSpec>,
    #[serde(default)]
    pub(crate) iam: Vec<BindingSpec>,
}

/// A secret version; `data` is UTF-8 text, `dataBase64` arbitrary bytes.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct VersionSpec {
    #[serde(default = "enabled")]
    pub(crate) state: VersionState,
    #[serde(default)]
    pub(crate) data: Option<String>,
    #[serde(default)]
    pub(crate) data_base64: Option<String>,
    #[serde(skip)]
    pub(crate) bytes: Option<Vec<u8>>,
}

fn enabled() -> VersionState {
    VersionState::Enabled
}

impl std::fmt::Debug for VersionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VersionSpec")
            .field("state", &self.state)
            .field("payload", &"<redacted>")
            .finish()
    }
}

impl VersionSpec {
    pub(crate) fn payload(&self) -> Result<Vec<u8>, WorldError> {
        if let Some(b) = &self.bytes {
            return Ok(b.clone());
        }
        match (&self.data, &self.data_base64) {
            (Some(t), None) => Ok(t.as_bytes().to_vec()),
            (None, Some(b)) => crate::util::b64_decode_any(b).ok_or_else(|| {
                WorldError::Invalid("a secret version's dataBase64 is not base64".into())
            }),
            (None, None) => Ok(Vec::new()),
            (Some(_), Some(_)) => Err(WorldError::Invalid(
                "a secret version has both data and dataBase64".into(),
            )),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ServiceSpec {
    pub(crate) region: String,
    /// A Cloud Run v2 `Service` as a client would send it; `name` is the service id (or the
    /// full name). It is deployed, ready, with its first revision.
    pub(crate) service: Value,
    #[serde(default)]
    pub(crate) iam: Vec<BindingSpec>,
}

/// A pushed image: `LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE:TAG`, with its digest
/// (`sha256:...`; by default one derived from the name, see [`crate::registry::digest_for`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ImageSpec {
    pub(crate) image: String,
    #[serde(default)]
    pub(crate) digest: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct ExtraBinding {
    pub(crate) resource: String,
    pub(crate) role: String,
    pub(crate) member: String,
    pub(crate) condition: Option<Condition>,
}

impl World {
    /// Parses a world file (YAML) and checks it is consistent.
    pub fn from_yaml(text: &str) -> Result<World, WorldError> {
        let world: World =
            serde_saphyr::from_str(text).map_err(|e| WorldError::Yaml(e.to_string()))?;
        world.check()?;
        Ok(world)
    }

    /// Starts an empty world to fill in code.
    pub fn builder() -> WorldBuilder {
        WorldBuilder {
            world: World::default(),
        }
    }

    /// Checks that the emulator can start from this world: everything
    /// [`crate::Emulator::try_new`] would refuse is refused here, as a [`WorldError`]
    /// (it runs the same seeding on a scratch state).
    pub fn check(&self) -> Result<(), WorldError> {
        self.check_shape()?;
        let clock = crate::clock::SharedClock::new(crate::Clock::Manual);
        crate::state::State::build(self, 0, std::time::Duration::ZERO, clock).map(|_| ())
    }

    /// The checks that need no state: unique projects, payloads, services as mappings.
    pub(crate) fn check_shape(&self) -> Result<(), WorldError> {
        for api in &self.disabled_apis {
            if crate::routes::api_named(api).is_none() {
                return Err(WorldError::Invalid(format!(
                    "disabledApis: `{api}` is not an API the emulator can disable (one of {})",
                    crate::routes::disableable().join(", ")
                )));
            }
        }
        if let Some(p) = &self.operation_polls {
            p.count()?;
        }
        if let Some(f) = &self.fail_revisions
            && !crate::enums::is_common_reason(&f.reason)
        {
            return Err(WorldError::Invalid(format!(
                "failRevisions.reason `{}` is not a run.v2 Condition reason",
                f.reason
            )));
        }
        if let Some(f) = &self.fail_builds
            && !matches!(f.status.as_str(), "FAILURE" | "TIMEOUT" | "INTERNAL_ERROR")
        {
            return Err(WorldError::Invalid(format!(
                "failBuilds.status `{}` is not FAILURE, TIMEOUT or INTERNAL_ERROR",
                f.status
            )));
        }
        if let Some(c) = self.revision_failure.code
            && !(1..=16).contains(&c)
        {
            return Err(WorldError::Invalid(format!(
                "revisionFailure.code {c} is not a google.rpc.Code"
            )));
        }
        if self.enforce_caller_permissions
            && self
                .caller
                .as_deref()
                .is_none_or(|c| crate::authz::caller_member(c).is_none())
        {
            return Err(WorldError::Invalid(
                "enforceCallerPermissions needs a `caller` (an email, `user:EMAIL` or \
                 `serviceAccount:EMAIL`)"
                    .into(),
            ));
        }
        for (i, p) in self.projects.iter().enumerate() {
            for q in &self.projects[..i] {
                if q.id == p.id || q.number == p.number {
                    return Err(WorldError::Invalid(format!(
                        "projects `{}` and `{}` share an id or a number",
                        q.id, p.id
                    )));
                }
            }
            for s in &p.secrets {
                for v in &s.versions {
                    v.payload()?;
                }
            }
            for s in &p.services {
                if !s.service.is_object() {
                    return Err(WorldError::Invalid(format!(
                        "a service of project `{}` is not a mapping",
                        p.id
                    )));
                }
            }
        }
        Ok(())
    }
}
