//! The emulator's in-memory Google: projects, service accounts, secrets, Cloud Run services,
//! operations and IAM policies, behind one mutex in [`crate::Emulator`].
//!
//! Resources are keyed by canonical names that use the project *id* (Google accepts the id
//! or the number in request paths; [`State::project`] resolves both). Policies are keyed the
//! same way, e.g. `projects/acme/secrets/db`. Test hooks get `&mut State` and use the public
//! methods here to play a concurrent writer or an operator flipping a secret version.

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::behaviour::Behaviour;
use crate::clock::SharedClock;
use crate::error::ApiError;
use crate::iam::{Condition, Policy, StoredPolicy};
use crate::run::RunService;
use crate::util::{hash_hex, now_rfc3339};
use crate::world::VersionState;

mod seed;

#[derive(Debug, Clone)]
pub(crate) struct Project {
    pub(crate) id: String,
    pub(crate) number: u64,
    pub(crate) display_name: String,
    pub(crate) create_time: String,
}

#[derive(Debug, Clone)]
pub(crate) struct ServiceAccount {
    pub(crate) project_id: String,
    pub(crate) email: String,
    pub(crate) display_name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) disabled: bool,
    pub(crate) unique_id: String,
}

/// A secret payload. Its `Debug` never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Payload(pub(crate) Vec<u8>);

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Payload(<{} bytes redacted>)", self.0.len())
    }
}

#[derive(Debug, Clone)]
pub(crate) struct SecretVersion {
    pub(crate) number: u64,
    pub(crate) state: VersionState,
    pub(crate) payload: Payload,
    pub(crate) create_time: String,
    pub(crate) destroy_time: Option<String>,
    pub(crate) etag: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Secret {
    pub(crate) project_id: String,
    pub(crate) id: String,
    pub(crate) create_time: String,
    /// Client-settable fields kept as sent (replication, labels, annotations, ...).
    pub(crate) fields: serde_json::Map<String, Value>,
    pub(crate) versions: Vec<SecretVersion>,
    pub(crate) etag: String,
}

impl Secret {
    /// The version `v` names: `latest` (the most recently created, whatever
    /// its state), a number, or an alias from `Secret.versionAliases`.
    pub(crate) fn version(&self, v: &str) -> Option<&SecretVersion> {
        let number = match v {
            "latest" => return self.versions.last(),
            v => v.parse::<u64>().ok().or_else(|| {
                self.fields
                    .get("versionAliases")
                    .and_then(|a| a.get(v))
                    .and_then(|n| n.as_str().and_then(|n| n.parse().ok()).or(n.as_u64()))
            })?,
        };
        self.versions.iter().find(|x| x.number == number)
    }
}

/// The whole emulated estate. Hooks receive `&mut State`.
#[derive(Debug)]
pub struct State {
    /// Email recorded as `creator`/`lastModifier`.
    pub(crate) caller: String,
    /// The principal requests are authorised as, when the world enforces permissions.
    pub(crate) caller_member: Option<String>,
    pub(crate) behaviour: Behaviour,
    pub(crate) projects: Vec<Project>,
    pub(crate) service_accounts: BTreeMap<String, ServiceAccount>,
    pub(crate) secrets: BTreeMap<String, Secret>,
    pub(crate) services: BTreeMap<String, RunService>,
    pub(crate) operations: BTreeMap<String, crate::run::Operation>,
    pub(crate) policies: HashMap<String, StoredPolicy>,
    /// Access tokens `generateAccessToken` issued, and the service account each acts as.
    pub(crate) issued_tokens: HashMap<String, String>,
    pub(crate) operation_polls: u32,
    pub(crate) iam_propagation: Duration,
    /// How long a build runs on `clock` before it can be done (zero: polls alone decide).
    pub(crate) build_duration: Duration,
    pub(crate) clock: SharedClock,
    /// Cloud Storage buckets and objects.
    pub(crate) storage: crate::storage::Store,
    /// Artifact Registry repositories and their operations.
    pub(crate) registry: crate::registry::Registry,
    /// Cloud Build builds and their operations.
    pub(crate) builds: crate::build::Builds,
    counter: u64,
}

/// Who a request is made as, for the time it is handled (see [`State::act_as`]).
pub(crate) struct Acting {
    caller: String,
    caller_member: Option<String>,
}

impl State {
    /// The service account an issued access token acts as, if `token` is one.
    pub(crate) fn token_principal(&self, token: &str) -> Option<&str> {
        self.issued_tokens.get(token).map(String::as_str)
    }

    /// Makes the next request as service account `email` (authorised as
    /// `serviceAccount:EMAIL` when the world enforces caller permissions); the
    /// returned value restores the world's caller through [`State::restore`].
    pub(crate) fn act_as(&mut self, email: &str) -> Acting {
        let member = self
            .caller_member
            .as_ref()
            .map(|_| format!("serviceAccount:{email}"));
        Acting {
            caller: std::mem::replace(&mut self.caller, email.to_string()),
            caller_member: std::mem::replace(&mut self.caller_member, member),
        }
    }

    pub(crate) fn restore(&mut self, acting: Acting) {
        self.caller = acting.caller;
        self.caller_member = acting.caller_member;
    }

    /// Now on the emulator clock (see [`crate::Clock`]).
    pub(crate) fn now(&self) -> Duration {
        self.clock.now()
    }

    /// A fresh, never-repeating salt for etags and ids.
    pub(crate) fn next_salt(&mut self) -> String {
        self.counter += 1;
        format!("{}:{:?}", self.counter, Instant::now())
    }

    pub(crate) fn project(&self, id_or_number: &str) -> Option<&Project> {
        self.projects
            .iter()
            .find(|p| p.id == id_or_number || p.number.to_string() == id_or_number)
    }

    pub(crate) fn project_by_number(&self, n: u64) -> Option<&Project> {
        self.projects.iter().find(|p| p.number == n)
    }

    fn insert_service_account(
        &mut self,
        project_id: &str,
        email: &str,
        display_name: Option<String>,
        description: Option<String>,
        disabled: bool,
    ) {
        // IAM's uniqueId is a 21-digit decimal string.
        let digits: String = hash_hex(&[email], 16)
            .bytes()
            .map(|b| char::from(b'0' + b % 10))
            .take(20)
            .collect();
        let unique_id = format!("1{digits}");
        self.service_accounts.insert(
            email.to_string(),
            ServiceAccount {
                project_id: project_id.to_string(),
                email: email.to_string(),
                display_name,
                description,
                disabled,
                unique_id,
            },
        );
    }

    pub(crate) fn create_service_account(
        &mut self,
        project_id: &str,
        account_id: &str,
        display_name: Option<String>,
        description: Option<String>,
    ) -> String {
        let email = format!("{account_id}@{project_id}.iam.gserviceaccount.com");
        self.insert_service_account(project_id, &email, display_name, description, false);
        email
    }

    pub(crate) fn insert_secret(
        &mut self,
        project_id: &str,
        secret_id: &str,
        fields: serde_json::Map<String, Value>,
    ) {
        let salt = self.next_salt();
        self.secrets.insert(
            format!("projects/{project_id}/secrets/{secret_id}"),
            Secret {
                project_id: project_id.to_string(),
                id: secret_id.to_string(),
                create_time: now_rfc3339(),
                fields,
                versions: Vec::new(),
                etag: format!("\"{}\"", hash_hex(&[&salt], 7)),
            },
        );
    }

    /// Turns a policy resource name (project id or number, `-` for service accounts) into
    /// its canonical key, or NOT_FOUND when the resource does not exist.
    pub(crate) fn canonical_resource(&self, resource: &str) -> Result<String, ApiError> {
        let parts: Vec<&str> = resource.trim_start_matches('/').split('/').collect();
        let not_found = || ApiError::not_found(format!("Resource '{resource}' was not found"));
        let project = |p: &str| self.project(p).map(|p| p.id.clone());
        match parts.as_slice() {
            ["projects", p] => project(p)
                .map(|id| format!("projects/{id}"))
                .ok_or_else(not_found),
            ["projects", p, "secrets", s] => {
                let id = project(p).ok_or_else(not_found)?;
                let key = format!("projects/{id}/secrets/{s}");
                self.secrets
                    .contains_key(&key)
                    .then_some(key)
                    .ok_or_else(not_found)
            }
            ["projects", _, "serviceAccounts", email] => {
                let sa = self.service_account_by_ref(email).ok_or_else(not_found)?;
                Ok(format!(
                    "projects/{}/serviceAccounts/{}",
                    sa.project_id, sa.email
                ))
            }
            ["projects", p, "locations", l, "services", s] => {
                let id = project(p).ok_or_else(not_found)?;
                let key = format!("projects/{id}/locations/{l}/services/{s}");
                self.services
                    .contains_key(&key)
                    .then_some(key)
                    .ok_or_else(not_found)
            }
            // IAP's resource for a Cloud Run service, named by the project number as gcloud
            // and the Cloud Run docs name it (cloud.google.com/run/docs/securing/
            // identity-aware-proxy-cloud-run); it exists while the service does. Keyed by
            // the number, as IAP names it back.
            ["projects", p, "iap_web", kind, "services", s] => {
                let region = kind.strip_prefix("cloud_run-").ok_or_else(not_found)?;
                let project = self.project(p).ok_or_else(not_found)?;
                let service = format!("projects/{}/locations/{region}/services/{s}", project.id);
                if !self.services.contains_key(&service) {
                    return Err(not_found());
                }
                Ok(format!(
                    "projects/{}/iap_web/cloud_run-{region}/services/{s}",
                    project.number
                ))
            }
            _ => Err(not_found()),
        }
    }

    /// A service account by email or unique id (IAM accepts both in paths).
    pub(crate) fn service_account_by_ref(&self, r: &str) -> Option<&ServiceAccount> {
        self.service_accounts
            .get(r)
            .or_else(|| self.service_accounts.values().find(|s| s.unique_id == r))
    }

    pub(crate) fn policy_mut(&mut self, key: &str) -> &mut StoredPolicy {
        self.policies.entry(key.to_string()).or_default()
    }

    fn seed_binding(
        &mut self,
        resource: &str,
        role: &str,
        member: &str,
        condition: Option<Condition>,
    ) -> Result<(), ApiError> {
        crate::iam::validate_member(member)?;
        let key = self.canonical_resource(resource)?;
        let salt = self.next_salt();
        let p = self.policy_mut(&key);
        p.add_member(role, member, condition, None);
        p.bump_etag(&salt);
        Ok(())
    }

    /// The stored policy of `resource` (any accepted spelling), full version-3 view.
    pub fn policy(&self, resource: &str) -> Option<Policy> {
        let key = self.canonical_resource(resource).ok()?;
        Some(self.policies.get(&key).cloned().unwrap_or_default().policy)
    }

    /// Deploys `service` (a run.v2 Service as JSON, with a `name`) now, ready, as another
    /// deployer would; returns its full name.
    pub fn seed_service(
        &mut self,
        project_id: &str,
        region: &str,
        service: Value,
    ) -> Result<String, String> {
        crate::run::seed_service(self, project_id, region, service).map_err(|e| e.message)
    }

    /// Grants `role` to `member` on `resource` now, changing the etag, as another writer
    /// would. Panics if the resource does not exist (a test set-up mistake).
    pub fn add_binding(&mut self, resource: &str, role: &str, member: &str) {
        self.add_binding_with(resource, role, member, None);
    }

    /// Like [`State::add_binding`] with an IAM condition.
    pub fn add_conditional_binding(
        &mut self,
        resource: &str,
        role: &str,
        member: &str,
        condition: Condition,
    ) {
        self.add_binding_with(resource, role, member, Some(condition));
    }

    fn add_binding_with(
        &mut self,
        resource: &str,
        role: &str,
        member: &str,
        condition: Option<Condition>,
    ) {
        let key = self
            .canonical_resource(resource)
            .unwrap_or_else(|e| panic!("add_binding: {}", e.message));
        let salt = self.next_salt();
        let now = self.now();
        let p = self.policy_mut(&key);
        p.add_member(role, member, condition, Some(now));
        p.bump_etag(&salt);
    }

    /// Removes `member` from every binding of `role` on `resource`, changing the etag.
    pub fn remove_binding(&mut self, resource: &str, role: &str, member: &str) {
        let key = self
            .canonical_resource(resource)
            .unwrap_or_else(|e| panic!("remove_binding: {}", e.message));
        let salt = self.next_salt();
        let p = self.policy_mut(&key);
        for b in p.policy.bindings.iter_mut().filter(|b| b.role == role) {
            b.members.retain(|m| m != member);
        }
        p.policy.bindings.retain(|b| !b.members.is_empty());
        p.granted.remove(&(role.to_string(), member.to_string()));
        p.bump_etag(&salt);
    }

    /// Adds an ENABLED version holding `payload` (as `addVersion` would); returns its
    /// number. Panics if the secret does not exist.
    pub fn add_secret_version(&mut self, project_id: &str, secret_id: &str, payload: &[u8]) -> u64 {
        self.push_secret_version(project_id, secret_id, payload)
            .unwrap_or_else(|e| panic!("add_secret_version: {}", e.message))
    }

    pub(crate) fn push_secret_version(
        &mut self,
        project_id: &str,
        secret_id: &str,
        payload: &[u8],
    ) -> Result<u64, ApiError> {
        let salt = self.next_salt();
        let secret = self.secret_mut(project_id, secret_id)?;
        let number = secret.versions.last().map_or(1, |v| v.number + 1);
        secret.versions.push(SecretVersion {
            number,
            state: VersionState::Enabled,
            payload: Payload(payload.to_vec()),
            create_time: now_rfc3339(),
            destroy_time: None,
            etag: format!("\"{}\"", hash_hex(&[&salt], 7)),
        });
        Ok(number)
    }

    pub(crate) fn secret_mut(
        &mut self,
        project: &str,
        secret_id: &str,
    ) -> Result<&mut Secret, ApiError> {
        let p = self
            .project(project)
            .ok_or_else(|| ApiError::not_found(format!("Project {project} not found.")))?;
        let (id, number) = (p.id.clone(), p.number);
        self.secrets
            .get_mut(&format!("projects/{id}/secrets/{secret_id}"))
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "Secret [projects/{number}/secrets/{secret_id}] not found."
                ))
            })
    }

    /// Sets a version's state (as `versions.enable/disable/destroy` would, without checks).
    pub(crate) fn set_version_state(
        &mut self,
        project_id: &str,
        secret_id: &str,
        version: u64,
        state: VersionState,
    ) -> Result<(), ApiError> {
        let salt = self.next_salt();
        let secret = self.secret_mut(project_id, secret_id)?;
        let v = secret
            .versions
            .iter_mut()
            .find(|v| v.number == version)
            .ok_or_else(|| ApiError::not_found(format!("Secret Version {version} not found.")))?;
        v.state = state;
        v.etag = format!("\"{}\"", hash_hex(&[&salt], 7));
        if state == VersionState::Destroyed {
            v.payload = Payload(Vec::new());
            v.destroy_time = Some(now_rfc3339());
        }
        Ok(())
    }

    /// Disables a secret version, as an operator might between plan and deploy.
    pub fn disable_secret_version(&mut self, project_id: &str, secret_id: &str, version: u64) {
        self.set_version_state(project_id, secret_id, version, VersionState::Disabled)
            .unwrap_or_else(|e| panic!("disable_secret_version: {}", e.message));
    }

    /// Re-enables a secret version.
    pub fn enable_secret_version(&mut self, project_id: &str, secret_id: &str, version: u64) {
        self.set_version_state(project_id, secret_id, version, VersionState::Enabled)
            .unwrap_or_else(|e| panic!("enable_secret_version: {}", e.message));
    }

    /// Destroys a secret version (its payload is dropped).
    pub fn destroy_secret_version(&mut self, project_id: &str, secret_id: &str, version: u64) {
        self.set_version_state(project_id, secret_id, version, VersionState::Destroyed)
            .unwrap_or_else(|e| panic!("destroy_secret_version: {}", e.message));
    }

    /// Points version alias `alias` at `version` (as `secrets.patch` with
    /// `updateMask=versionAliases` would, without its checks). Panics if the secret does
    /// not exist.
    pub fn set_version_alias(
        &mut self,
        project_id: &str,
        secret_id: &str,
        alias: &str,
        version: u64,
    ) {
        let secret = self
            .secret_mut(project_id, secret_id)
            .unwrap_or_else(|e| panic!("set_version_alias: {}", e.message));
        let aliases = secret
            .fields
            .entry("versionAliases")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Value::Object(m) = aliases {
            // int64 in proto3 JSON: a string.
            m.insert(alias.to_string(), Value::String(version.to_string()));
        }
    }

    /// Creates Cloud Storage bucket `name` in `project_id` now, as its owner would (no-op
    /// when it exists).
    pub fn create_bucket(&mut self, project_id: &str, name: &str) {
        crate::storage::ensure_bucket(self, project_id, name);
    }

    /// Writes object `name` in bucket `bucket` (created in `project_id` when missing) now,
    /// as another writer would: a new generation.
    pub fn put_object(&mut self, project_id: &str, bucket: &str, name: &str, data: &[u8]) {
        crate::storage::write_internal(
            self,
            project_id,
            bucket,
            name,
            data.to_vec(),
            "application/gzip",
        );
    }

    /// The live generation of object `name` in bucket `bucket`.
    pub fn object_generation(&self, bucket: &str, name: &str) -> Option<i64> {
        crate::storage::object_generation(self, bucket, name)
    }

    /// Creates Artifact Registry docker repository `id` in `project_id`/`location` now, as
    /// its owner would (no-op when it exists).
    pub fn create_repository(&mut self, project_id: &str, location: &str, id: &str) {
        crate::registry::seed(self, project_id, location, id);
    }

    /// Pushes Artifact Registry image `image` (`LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE:TAG`)
    /// with `digest` (`sha256:...`), creating its repository when missing: its tag moves to
    /// this digest. `false` for an image outside Artifact Registry.
    pub fn push_image(&mut self, image: &str, digest: &str) -> bool {
        crate::registry::seed_image(self, image, digest)
    }

    /// Deletes a secret and its policy.
    pub fn delete_secret(&mut self, project_id: &str, secret_id: &str) {
        if let Some(p) = self.project(project_id) {
            let key = format!("projects/{}/secrets/{secret_id}", p.id);
            self.secrets.remove(&key);
            self.policies.remove(&key);
        }
    }

    /// How many GETs a new operation needs before it reports done (`u32::MAX`: never).
    pub fn set_operation_polls(&mut self, polls: u32) {
        self.operation_polls = polls;
    }

    /// How long a fresh grant takes to count for Cloud Run's secret check.
    pub fn set_iam_propagation(&mut self, delay: Duration) {
        self.iam_propagation = delay;
    }

    /// How long a Cloud Build build runs on the emulator clock before it can be done; it
    /// still needs its polls too. Zero (the default) leaves it to the polls, so tests stay
    /// off the clock; the benchmark gives builds a real duration, as Cloud Build's are.
    pub fn set_build_duration(&mut self, duration: Duration) {
        self.build_duration = duration;
    }
}
