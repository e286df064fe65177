//! The "world": the Google Cloud estate the emulator starts with.
//!
//! It is plain data, read from a YAML file (`emulator/README.md` documents the format and
//! `emulator/worlds/example.yaml` is a complete example) or assembled with [`WorldBuilder`]
//! in tests. [`crate::Emulator::new`] turns it into live [`crate::State`]. Secret payloads
//! pass through here, so the types holding them redact their `Debug` output.

use serde::Deserialize;
use serde_json::Value;

use crate::behaviour::{
    CustomRole, FailRevisions, MissingServiceValidation, OrgPolicy, RevisionFailure, ValidateOnly,
};
use crate::iam::Condition;

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
}

fn yes() -> bool {
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

/// Builds a [`World`] in code. Methods that name a project expect it to have been added
/// with [`WorldBuilder::project`] first.
///
/// # Panics
///
/// Naming a project, secret or service account that was not added first panics: the builder
/// is for test set-up, where a loud mistake is the useful one.
#[derive(Debug, Clone)]
pub struct WorldBuilder {
    world: World,
}

impl WorldBuilder {
    fn project_mut(&mut self, id: &str) -> &mut ProjectSpec {
        self.world
            .projects
            .iter_mut()
            .find(|p| p.id == id)
            .unwrap_or_else(|| panic!("world builder: add project `{id}` before using it"))
    }

    /// GETs an operation needs before it reports done (`u32::MAX`: never).
    pub fn operation_polls(mut self, polls: u32) -> Self {
        self.world.operation_polls = Some(Polls::Count(polls));
        self
    }

    /// Authorise every request as the caller (see [`WorldBuilder::caller`]), from the
    /// allow policies and the role table.
    pub fn enforce_caller_permissions(mut self) -> Self {
        self.world.enforce_caller_permissions = true;
        self
    }

    /// A custom role `projects/PROJECT/roles/ID` holding `permissions`.
    pub fn custom_role(mut self, project_id: &str, id: &str, permissions: &[&str]) -> Self {
        self.project_mut(project_id).custom_roles.push(CustomRole {
            id: id.to_string(),
            permissions: permissions.iter().map(|p| p.to_string()).collect(),
        });
        self
    }

    /// Domain-restricted sharing (`constraints/iam.allowedPolicyMemberDomains`) on a project.
    pub fn domain_restricted_sharing(mut self, project_id: &str) -> Self {
        self.project_mut(project_id)
            .org_policy
            .domain_restricted_sharing = true;
        self
    }

    /// What validateOnly answers for a missing service, and whether it checks secrets.
    pub fn validate_only(
        mut self,
        missing_service: MissingServiceValidation,
        check_secrets: bool,
    ) -> Self {
        self.world.validate_only = ValidateOnly {
            missing_service,
            check_secrets,
        };
        self
    }

    /// The operation error of a failed rollout: `code` (9 or 13; `None` for the default
    /// rule) and whether the message starts with "Revision '...' is not ready ...".
    pub fn revision_failure(mut self, code: Option<i32>, revision_prefix: bool) -> Self {
        self.world.revision_failure = RevisionFailure {
            code,
            revision_prefix,
        };
        self
    }

    /// Every new revision fails with this run.v2 `CommonReason` name and message.
    pub fn fail_revisions(mut self, reason: &str, message: &str) -> Self {
        self.world.fail_revisions = Some(FailRevisions {
            reason: reason.to_string(),
            message: message.to_string(),
        });
        self
    }

    /// Email recorded as `creator`/`lastModifier` on Cloud Run writes.
    pub fn caller(mut self, email: &str) -> Self {
        self.world.caller = Some(email.to_string());
        self
    }

    pub fn project(mut self, id: &str, number: u64) -> Self {
        self.world.projects.push(ProjectSpec {
            id: id.to_string(),
            number,
            display_name: None,
            compute_default_service_account: true,
            iam: Vec::new(),
            service_accounts: Vec::new(),
            secrets: Vec::new(),
            services: Vec::new(),
            org_policy: OrgPolicy::default(),
            custom_roles: Vec::new(),
        });
        self
    }

    /// A user-managed service account `NAME@PROJECT.iam.gserviceaccount.com`; it is placed
    /// in PROJECT (or in the first project when the email has another shape).
    pub fn service_account(mut self, email: &str) -> Self {
        let project = email
            .split_once('@')
            .and_then(|(_, d)| d.strip_suffix(".iam.gserviceaccount.com"))
            .map(str::to_string)
            .or_else(|| self.world.projects.first().map(|p| p.id.clone()))
            .expect("world builder: add a project before a service account");
        self.project_mut(&project)
            .service_accounts
            .push(ServiceAccountSpec {
                email: email.to_string(),
                display_name: None,
                description: None,
                disabled: false,
                iam: Vec::new(),
            });
        self
    }

    pub fn secret(mut self, project_id: &str, secret_id: &str) -> Self {
        self.project_mut(project_id).secrets.push(SecretSpec {
            id: secret_id.to_string(),
            labels: None,
            versions: Vec::new(),
            iam: Vec::new(),
        });
        self
    }

    /// Appends a version (numbered 1, 2, ... in call order) to an added secret.
    pub fn secret_version(
        mut self,
        project_id: &str,
        secret_id: &str,
        state: VersionState,
        payload: &[u8],
    ) -> Self {
        let secret = self
            .project_mut(project_id)
            .secrets
            .iter_mut()
            .find(|s| s.id == secret_id)
            .unwrap_or_else(|| panic!("world builder: add secret `{secret_id}` first"));
        secret.versions.push(VersionSpec {
            state,
            data: None,
            data_base64: None,
            bytes: Some(payload.to_vec()),
        });
        self
    }

    fn binding(mut self, resource: String, role: &str, member: &str, c: Option<Condition>) -> Self {
        self.world.extra_bindings.push(ExtraBinding {
            resource,
            role: role.to_string(),
            member: member.to_string(),
            condition: c,
        });
        self
    }

    pub fn project_binding(self, project_id: &str, role: &str, member: &str) -> Self {
        self.binding(format!("projects/{project_id}"), role, member, None)
    }

    pub fn secret_binding(
        self,
        project_id: &str,
        secret_id: &str,
        role: &str,
        member: &str,
    ) -> Self {
        self.binding(
            format!("projects/{project_id}/secrets/{secret_id}"),
            role,
            member,
            None,
        )
    }

    pub fn service_account_binding(
        self,
        project_id: &str,
        email: &str,
        role: &str,
        member: &str,
    ) -> Self {
        self.binding(
            format!("projects/{project_id}/serviceAccounts/{email}"),
            role,
            member,
            None,
        )
    }

    /// A conditional binding on any resource the emulator knows, named as in
    /// [`crate::Emulator::policy`] (e.g. `projects/acme/secrets/db`).
    pub fn conditional_binding(
        self,
        resource: &str,
        role: &str,
        member: &str,
        condition: Condition,
    ) -> Self {
        self.binding(resource.to_string(), role, member, Some(condition))
    }

    /// An unconditional binding on any resource, named as in [`crate::Emulator::policy`].
    pub fn binding_on(self, resource: &str, role: &str, member: &str) -> Self {
        self.binding(resource.to_string(), role, member, None)
    }

    /// An existing deployed Cloud Run service (a v2 `Service`; `name` is its id), ready
    /// with a first revision.
    pub fn service(mut self, project_id: &str, region: &str, service_json: Value) -> Self {
        self.project_mut(project_id).services.push(ServiceSpec {
            region: region.to_string(),
            service: service_json,
            iam: Vec::new(),
        });
        self
    }

    pub fn build(self) -> World {
        self.world
    }
}
