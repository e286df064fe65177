//! Read live state: every read a plan needs, concurrently, and nothing else.
//!
//! The reads run in two phases, so a plan costs two sequential round trips
//! however many secrets and roles the config names:
//!
//! 1. everything that depends on nothing: the project number (when needed),
//!    a configured runtime account and its policy, every secret, its policy
//!    and every referenced version, the project policy, the live service and
//!    its policy, and for a source deploy its staging (`live/staging.rs`);
//! 2. what needs phase 1: Cloud Run's default account (its email is derived
//!    from the project number), Cloud Run's own validation of the exact
//!    service the plan would send (decided by the caller from phase 1, see
//!    [`read`]), the encryption key's payload (its version and the
//!    permission to read it come from phase 1), and with
//!    `iap:` the policy of the service's IAP resource and the caller's
//!    permissions on it (named by the project number; it exists only while
//!    the service does).
//!
//! No decision is taken here: the result is a plain [`LiveState`] that
//! `compute` turns into a plan without any I/O (this module knows nothing of
//! it). Every API read a plan makes is here. Which reads
//! are needed is itself decided by a pure function, [`Needs::of`] (in
//! `needs.rs`, re-exported here).

use std::collections::BTreeMap;

use std::sync::Mutex;

use futures::future::{join, join_all, try_join, try_join_all, try_join5};
use google_cloud_iam_v1::model::Policy;
use google_cloud_run_v2::model::Service;
use google_cloud_secretmanager_v1::model::SecretVersion;
use google_cloud_secretmanager_v1::model::secret_version::State as VersionState;

use super::key::{self, KeyPayload};
use super::names;
use super::permissions::{self, Answer, RefusedRead};
use crate::config::{Environment, SecretRef};
use crate::gcp::iam::PolicyResource;
use crate::gcp::{GcpError, Google, Kind, Validated};
use crate::key::Inspection;
use crate::source::build::SourcePlan;

mod staging;

pub(crate) use super::needs::Needs;
pub(crate) use staging::{Presence, Staging};

/// A secret, by project and id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct SecretId {
    pub(crate) project: String,
    pub(crate) secret: String,
}

impl SecretId {
    pub(crate) fn resource(&self) -> PolicyResource {
        PolicyResource::Secret {
            project: self.project.clone(),
            secret: self.secret.clone(),
        }
    }
}

/// One secret version the config references (`latest`, a number, an alias).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct VersionRef {
    pub(crate) id: SecretId,
    pub(crate) version: String,
}

impl VersionRef {
    /// The version a `service.secrets` entry of `env` references: a secret
    /// without a project lives in the environment's own.
    pub(crate) fn of(env: &Environment, r: &SecretRef) -> VersionRef {
        VersionRef {
            id: SecretId {
                project: r.project.clone().unwrap_or_else(|| env.project.to_string()),
                secret: r.secret.clone(),
            },
            version: r.version.clone(),
        }
    }
}

/// Everything the plan is computed from.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct LiveState {
    /// Read only when the default account or a `{project_number}`
    /// placeholder needs it.
    pub(crate) project_number: Option<String>,
    pub(crate) account: AccountState,
    /// Every referenced secret.
    pub(crate) secrets: BTreeMap<SecretId, SecretLive>,
    /// Every referenced version; `None` when it does not exist (or its
    /// secret does not).
    pub(crate) versions: BTreeMap<VersionRef, Option<SecretVersion>>,
    /// Read only when a project-level grant is configured.
    pub(crate) project_policy: Option<Policy>,
    /// The live Cloud Run service (deploys only), `None` before the first.
    pub(crate) service: Option<Service>,
    pub(crate) service_policy: Option<Policy>,
    /// The policy of the service's IAP resource (deploys with `iap:`), read
    /// in the second phase (it is named by the project number); `None` while
    /// the service does not exist.
    pub(crate) iap_policy: Option<Policy>,
    /// Cloud Run's answer to validating the service the plan would send.
    pub(crate) validation: Validation,
    /// testIamPermissions' answer per resource asked (see
    /// [`super::permissions`]).
    pub(crate) permissions: BTreeMap<PolicyResource, Answer>,
    /// Reads Google refused with 403: what they would have told is absent
    /// above (a policy `None`, an account assumed to exist).
    pub(crate) refused: Vec<RefusedRead>,
    /// The encryption key's payload, judged (second phase; see
    /// [`super::key`]).
    pub(crate) key_payload: KeyPayload,
    /// Who a source deploy's build runs as (`None` without a build).
    pub(crate) build_account: Option<BuildAccount>,
    /// The image's Artifact Registry tag and what `tags.get` answered
    /// (`None` when the image is not such a tag; see `image.rs`).
    pub(crate) image_tag: Option<(super::image::TagRef, super::image::TagRead)>,
    /// What a source deploy writes to before its rollout (`None` without a
    /// build).
    pub(crate) staging: Option<Staging>,
}

/// The account a build runs as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BuildAccount {
    /// `build.service_account`.
    Configured(String),
    /// Cloud Build's default for the project (getDefaultServiceAccount).
    Default(String),
    /// Cloud Build says no account builds by default.
    NoDefault,
    /// The default could not be asked; why.
    Unknown(String),
}

impl BuildAccount {
    pub(crate) fn email(&self) -> Option<&str> {
        match self {
            BuildAccount::Configured(e) | BuildAccount::Default(e) => Some(e),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct AccountState {
    pub(crate) email: String,
    /// Cloud Run's default account (the config names none).
    pub(crate) default: bool,
    pub(crate) exists: bool,
    /// Read only when `service_account_users` is configured.
    pub(crate) policy: Option<Policy>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SecretLive {
    pub(crate) exists: bool,
    /// Read only with per-secret access (the default).
    pub(crate) policy: Option<Policy>,
}

/// What Cloud Run said about the service the plan would send.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum Validation {
    /// Not asked: nothing to send (grant only, the service is up to date, or
    /// the runtime account does not exist, which is the problem to report).
    #[default]
    NotAsked,
    Answered(Validated),
}

impl LiveState {
    /// The version number `r` resolves to now, as Secret Manager answered
    /// `versions.get` for it: `latest` is "the most recently created
    /// SecretVersion" whatever its state, an alias the version it names
    /// (secretmanager.v1 discovery, versions.get and Secret.versionAliases);
    /// the answer's `name` ends in the number. `None` when the version, its
    /// secret or the read is missing. The reference read costs no request of
    /// its own: it is the preflight's read of the version.
    pub(crate) fn resolved_version(&self, r: &VersionRef) -> Option<&str> {
        let v = self.versions.get(r)?.as_ref()?;
        v.name.rsplit('/').next().filter(|n| !n.is_empty())
    }

    /// The policy read for `resource`, when it was read and exists.
    pub(crate) fn policy(&self, resource: &PolicyResource) -> Option<&Policy> {
        match resource {
            PolicyResource::Project { .. } => self.project_policy.as_ref(),
            PolicyResource::Secret { project, secret } => self
                .secrets
                .get(&SecretId {
                    project: project.clone(),
                    secret: secret.clone(),
                })
                .and_then(|s| s.policy.as_ref()),
            PolicyResource::ServiceAccount { .. } => self.account.policy.as_ref(),
            PolicyResource::Service { .. } => self.service_policy.as_ref(),
            PolicyResource::IapWeb { .. } => self.iap_policy.as_ref(),
        }
    }
}

/// The project a service account lives in: from its email when it is a
/// user-managed account, else the deploy's own project (the default compute
/// account and Google-managed agents).
pub(crate) fn account_project(email: &str, project: &str) -> String {
    email
        .split_once('@')
        .and_then(|(_, domain)| domain.strip_suffix(".iam.gserviceaccount.com"))
        .unwrap_or(project)
        .to_string()
}

/// Cloud Run's default runtime account for a project number.
pub(crate) fn default_account(number: &str) -> String {
    format!("{number}-compute@developer.gserviceaccount.com")
}

/// Cloud Run's validation of `to_send` on live state already read: what a
/// source deploy needs once its image is built. Nothing else the plan reads
/// depends on the image, and every write the apply makes is guarded by an
/// etag read here, so a change made by someone else during the build is
/// caught then rather than read twice now.
pub(crate) async fn validate(
    google: &Google,
    live: &mut LiveState,
    to_send: Option<Service>,
) -> Result<(), GcpError> {
    // As in `read`: a configured account that does not exist is the problem
    // to report, and Cloud Run is not asked.
    let account_missing = !live.account.default && !live.account.exists;
    live.validation = match to_send.filter(|_| !account_missing) {
        Some(service) => Validation::Answered(google.validate_service(service).await?),
        None => Validation::NotAsked,
    };
    Ok(())
}

/// Every read the plan for `env` needs, in two concurrent phases. `desire`
/// is given the first phase's state and the runtime account's email, and
/// answers the exact service the plan would send: Cloud Run validates it in
/// the second phase. `source`: a source deploy's staging, read in the first.
pub(crate) async fn read(
    google: &Google,
    env: &Environment,
    needs: &Needs,
    source: Option<&SourcePlan>,
    desire: impl FnOnce(&LiveState, &str) -> Option<Service>,
) -> Result<LiveState, GcpError> {
    let project: &str = &env.project;
    let service_name = names::service_name(env);
    // Reads refused with 403, collected as data (see `refusable`).
    let refused = Mutex::new(Vec::new());
    let refused = &refused;

    let number = async {
        match needs.number {
            true => google.project_number(project).await.map(Some),
            false => Ok(None),
        }
    };
    let account = |email: String, default: bool| {
        async move {
            let resource = PolicyResource::ServiceAccount {
                project: account_project(&email, project),
                email: email.clone(),
            };
            let (exists, policy) = try_join(
                async {
                    let r = google
                        .service_account_exists(&account_project(&email, project), &email)
                        .await;
                    // Refused: assumed to exist; the refusal is reported.
                    refusable(r, &resource, true, refused)
                },
                async {
                    match needs.account_policy {
                        true => {
                            refusable(google.get_policy(&resource).await, &resource, None, refused)
                        }
                        false => Ok(None),
                    }
                },
            )
            .await?;
            Ok::<_, GcpError>(AccountState {
                email,
                default,
                exists,
                policy,
            })
        }
    };
    let configured_account = async {
        match &env.service.service_account {
            Some(email) => account(email.clone(), false).await.map(Some),
            None => Ok(None),
        }
    };
    let secret_ids = needs.secrets();
    let secrets = try_join(
        try_join_all(secret_ids.iter().map(|id| async {
            let resource = id.resource();
            let (exists, policy) = try_join(
                async {
                    let r = google.secret_exists(&id.project, &id.secret).await;
                    refusable(r, &resource, true, refused)
                },
                async {
                    match needs.grant_on_secret(id) {
                        true => {
                            refusable(google.get_policy(&resource).await, &resource, None, refused)
                        }
                        false => Ok(None),
                    }
                },
            )
            .await?;
            Ok::<_, GcpError>((id.clone(), SecretLive { exists, policy }))
        })),
        try_join_all(needs.uses.keys().map(|k| async {
            let r = google
                .secret_version(&k.id.project, &k.id.secret, &k.version)
                .await;
            let v = refusable(r, &k.id.resource(), None, refused)?;
            Ok::<_, GcpError>((k.clone(), v))
        })),
    );
    let project_policy = async {
        match needs.project_policy() {
            true => {
                let resource = PolicyResource::Project {
                    project: project.to_string(),
                };
                refusable(google.get_policy(&resource).await, &resource, None, refused)
            }
            false => Ok(None),
        }
    };
    let service = async {
        match needs.service {
            true => {
                let resource = names::service_resource(env);
                try_join(
                    async {
                        refusable(
                            google.service(&service_name).await,
                            &resource,
                            None,
                            refused,
                        )
                    },
                    async {
                        refusable(google.get_policy(&resource).await, &resource, None, refused)
                    },
                )
                .await
            }
            false => Ok((None, None)),
        }
    };
    // Who the build runs as: the configured account, or Cloud Build's
    // default, asked where the build would be created. Not being able to
    // ask is said in the plan, never a failure.
    let build_account = async {
        if !needs.build {
            return None;
        }
        Some(match &env.build.service_account {
            Some(email) => BuildAccount::Configured(email.clone()),
            None => match google
                .default_build_account(project, &env.build.location())
                .await
            {
                Ok(Some(email)) => BuildAccount::Default(email),
                Ok(None) => BuildAccount::NoDefault,
                Err(e) => BuildAccount::Unknown(e.to_string()),
            },
        })
    };
    // The digest the image's tag names now.
    let image_tag = async {
        match &needs.image_tag {
            Some(t) => Ok(Some((t.clone(), super::image::read(google, t).await?))),
            None => Ok(None),
        }
    };
    let staging = async {
        match source {
            Some(s) => staging::read(google, env, s).await.map(Some),
            None => Ok(None),
        }
    };
    // The caller's own permissions, asked of each resource at once.
    let tests = join_all(
        permissions::to_ask(env, needs)
            .into_iter()
            .map(|(r, perms)| test(google, r, perms)),
    );

    // Phase 1: everything that depends on nothing, at once.
    let (((phase1, answers), build_account), staging) = join(
        join(
            join(
                try_join5(
                    number,
                    configured_account,
                    secrets,
                    project_policy,
                    try_join(service, image_tag),
                ),
                tests,
            ),
            build_account,
        ),
        staging,
    )
    .await;
    let (
        project_number,
        configured_account,
        (secrets, versions),
        project_policy,
        ((service, service_policy), image_tag),
    ) = phase1?;

    let mut live = LiveState {
        permissions: answers.into_iter().collect(),
        project_number,
        secrets: secrets.into_iter().collect(),
        versions: versions.into_iter().collect(),
        project_policy,
        service,
        service_policy,
        build_account,
        image_tag,
        staging: staging?,
        ..LiveState::default()
    };

    // Phase 2, at once: the default account (its email needs the number) and
    // Cloud Run's validation of the exact service the plan would send.
    let email = match (&configured_account, &live.project_number) {
        (Some(a), _) => a.email.clone(),
        (None, Some(n)) => default_account(n),
        (None, None) => unreachable!("the number is read when no account is configured"),
    };
    // A configured account that does not exist is the problem to report;
    // Cloud Run's validation would only refuse for that reason.
    let account_missing = configured_account.as_ref().is_some_and(|a| !a.exists);
    let to_send = desire(&live, &email).filter(|_| !account_missing);
    let validation = async {
        match to_send {
            Some(service) => Ok(Validation::Answered(
                google.validate_service(service).await?,
            )),
            None => Ok(Validation::NotAsked),
        }
    };
    let account = async {
        match configured_account {
            Some(a) => Ok((a, None)),
            // Cloud Run's default account: its permissions are asked now
            // that its email is known, with its other reads.
            None => {
                let resource = PolicyResource::ServiceAccount {
                    project: account_project(&email, project),
                    email: email.clone(),
                };
                let (a, answer) = join(
                    account(email.clone(), true),
                    test(google, resource, permissions::account_permissions(needs)),
                )
                .await;
                Ok((a?, Some(answer)))
            }
        }
    };
    let iap_resource = match live.service {
        Some(_) => names::iap_resource(env, live.project_number.as_deref()),
        None => None,
    };
    let iap = async {
        let Some(resource) = iap_resource.filter(|_| needs.iap) else {
            return Ok((None, None));
        };
        let (policy, answer) = join(
            google.get_policy(&resource),
            test(google, resource.clone(), permissions::iap_permissions()),
        )
        .await;
        Ok((refusable(policy, &resource, None, refused)?, Some(answer)))
    };
    // The key's payload needs the first phase's version and permissions.
    let key_payload = key_payload(google, env, &live);
    let (reads, key_payload) =
        join(try_join(try_join(account, validation), iap), key_payload).await;
    let (((account, answer), validation), (iap_policy, iap_answer)) = reads?;
    live.key_payload = key_payload;
    live.account = account;
    live.validation = validation;
    live.iap_policy = iap_policy;
    live.permissions.extend(answer);
    live.permissions.extend(iap_answer);
    live.refused = refused.lock().expect("not poisoned").drain(..).collect();
    Ok(live)
}

/// Read and judge the key's payload when the caller may: the second-phase
/// read. Never fails: an unanswered read is a plan that says so.
async fn key_payload(google: &Google, env: &Environment, live: &LiveState) -> KeyPayload {
    let Some((id, version)) = key::version_to_check(env, live) else {
        return KeyPayload::NotRead;
    };
    // A version that is not enabled has no payload to read; the preflight
    // reports its state.
    let enabled = key::reference(env)
        .and_then(|r| live.versions.get(&r).cloned().flatten())
        .is_some_and(|v| v.state == VersionState::Enabled);
    if !enabled {
        return KeyPayload::NotRead;
    }
    match live.permissions.get(&id.resource()) {
        Some(Answer::Held(held)) if held.iter().any(|p| p == key::ACCESS) => {}
        Some(Answer::Held(_)) => {
            return KeyPayload::NotVerified(format!(
                "the deploying identity lacks `{}` on secret {}",
                key::ACCESS,
                id.secret
            ));
        }
        Some(Answer::NotChecked(why)) => {
            return KeyPayload::NotVerified(format!(
                "the deploying identity's permissions on secret {} could not be checked ({why})",
                id.secret
            ));
        }
        None => return KeyPayload::NotVerified("permissions not asked".into()),
    }
    match google
        .access_secret_version(&id.project, &id.secret, &version)
        .await
    {
        Ok(p) => KeyPayload::Inspected(Inspection::of(&p.name, &p.data, p.data_crc32c)),
        // Disabled since the first phase read it: nothing to judge, and the
        // rollout reports the version's state.
        Err(e) if e.is(Kind::FailedPrecondition) => KeyPayload::NotRead,
        Err(e) => KeyPayload::NotVerified(refusal(&e)),
    }
}

fn refusal(e: &GcpError) -> String {
    match e.is(Kind::PermissionDenied) {
        true => format!("Google refused `{}` (permission denied)", e.operation),
        false => format!("`{}` failed: {}", e.operation, e.status_word()),
    }
}

/// A read refused with 403 PERMISSION_DENIED is data: `fallback` stands in
/// for its answer and the refusal is recorded, so the plan can say what it
/// could not check (and stop only when a required step depends on it).
fn refusable<T>(
    r: Result<T, GcpError>,
    resource: &PolicyResource,
    fallback: T,
    refused: &Mutex<Vec<RefusedRead>>,
) -> Result<T, GcpError> {
    match r {
        Err(e) if e.is(Kind::PermissionDenied) => {
            refused.lock().expect("not poisoned").push(RefusedRead {
                operation: e.operation,
                resource: resource.clone(),
                message: e.message,
            });
            Ok(fallback)
        }
        r => r,
    }
}

/// Ask `r` which of `perms` the caller holds. Never fails: a refused or
/// unserved question is an answer too (the plan then says it could not check).
async fn test(google: &Google, r: PolicyResource, perms: Vec<String>) -> (PolicyResource, Answer) {
    let answer = match google.test_permissions(&r, &perms).await {
        Ok(held) => Answer::Held(held),
        Err(e) => Answer::NotChecked(format!("{} {}", e.operation, e.status_word())),
    };
    (r, answer)
}
