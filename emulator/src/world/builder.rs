//! [`WorldBuilder`]: a [`World`] assembled in code, for tests.

use serde_json::Value;

use super::{
    ExtraBinding, Polls, ProjectSpec, SecretSpec, ServiceAccountSpec, ServiceSpec, VersionSpec,
    VersionState, World,
};
use crate::behaviour::{
    CustomRole, FailRevisions, MissingServiceValidation, OrgPolicy, RevisionFailure, ValidateOnly,
};
use crate::iam::Condition;

/// Builds a [`World`] in code. Methods that name a project expect it to have been added
/// with [`WorldBuilder::project`] first.
///
/// # Panics
///
/// Naming a project, secret or service account that was not added first panics: the builder
/// is for test set-up, where a loud mistake is the useful one.
#[derive(Debug, Clone)]
pub struct WorldBuilder {
    pub(super) world: World,
}

impl WorldBuilder {
    fn project_mut(&mut self, id: &str) -> &mut ProjectSpec {
        self.world
            .projects
            .iter_mut()
            .find(|p| p.id == id)
            .unwrap_or_else(|| panic!("world builder: add project `{id}` before using it"))
    }

    /// Artifact Registry image `image` (`LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE:TAG`)
    /// is pushed, with `digest` (`None`: one derived from the name).
    pub fn image(mut self, image: &str, digest: Option<&str>) -> Self {
        self.world.images.push(super::ImageSpec {
            image: image.to_string(),
            digest: digest.map(str::to_string),
        });
        self
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

    /// IAP's service agent of `project_id` does not exist for the next `refusals`
    /// setIamPolicy calls that add it (`iapAgentPending`).
    pub fn iap_agent_pending(mut self, project_id: &str, refusals: u32) -> Self {
        self.project_mut(project_id).iap_agent_pending = refusals;
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
            missing_image: self.world.validate_only.missing_image,
        };
        self
    }

    /// What validateOnly answers for an Artifact Registry image not pushed yet.
    pub fn validate_missing_image(mut self, answer: crate::MissingImageValidation) -> Self {
        self.world.validate_only.missing_image = answer;
        self
    }

    /// Which account Cloud Build's getDefaultServiceAccount names.
    pub fn default_build_account(mut self, account: crate::DefaultBuildAccount) -> Self {
        self.world.default_build_account = account;
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
            only: None,
        });
        self
    }

    /// Like [`WorldBuilder::fail_revisions`], for the services whose name
    /// (`projects/P/locations/R/services/S`) contains `service_contains` only, e.g.
    /// `/locations/europe-west1/`: one target's rollout fails, the others' succeed.
    pub fn fail_revisions_of(
        mut self,
        service_contains: &str,
        reason: &str,
        message: &str,
    ) -> Self {
        self.world.fail_revisions = Some(FailRevisions {
            reason: reason.to_string(),
            message: message.to_string(),
            only: Some(service_contains.to_string()),
        });
        self
    }

    /// Every build fails at step `step` (0-based) with `status` (FAILURE, TIMEOUT or
    /// INTERNAL_ERROR), the step printing `log_lines` first.
    pub fn fail_builds(mut self, step: usize, log_lines: &[&str], status: &str) -> Self {
        self.world.fail_builds = Some(crate::build::FailBuilds {
            step,
            log_lines: log_lines.iter().map(|l| l.to_string()).collect(),
            status: status.to_string(),
        });
        self
    }

    /// Whether Cloud Run's `builds:submit` is served or answers 404.
    pub fn submit_build(mut self, submit: crate::SubmitBuild) -> Self {
        self.world.submit_build = submit;
        self
    }

    /// The API `service` (e.g. `cloudbuild.googleapis.com`) is not enabled: its requests
    /// are 403 `SERVICE_DISABLED`.
    pub fn disabled_api(mut self, service: &str) -> Self {
        self.world.disabled_apis.push(service.to_string());
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
            iap_agent_pending: 0,
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
