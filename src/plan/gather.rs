//! Read live state and compute the plan.
//!
//! Reads run concurrently. The only dependency is the project number, which
//! is needed before reading Cloud Run's default service account (its email is
//! `<number>-compute@developer.gserviceaccount.com`); everything else starts at
//! once, alongside it. So a plan costs one or two sequential round trips,
//! however many secrets and roles the config names.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::{try_join, try_join_all, try_join5};
use google_cloud_iam_v1::model::Policy;
use google_cloud_secretmanager_v1::model::secret_version::State as VersionState;

use super::service::{self, EnvValue, ServiceView};
use super::{
    AccountCheck, Changes, IamChange, KeyCheck, Live, Plan, Preflight, Problem, SCHEMA_VERSION,
    SecretCheck, SecretState, ServiceAction, ServiceChange,
};
use crate::config::{Environment, KeyWiring, SecretAccess};
use crate::gcp::iam::{self, Grant, PolicyResource};
use crate::gcp::{GcpError, Google};

pub(crate) const SECRET_ACCESSOR: &str = "roles/secretmanager.secretAccessor";
pub(crate) const SERVICE_ACCOUNT_USER: &str = "roles/iam.serviceAccountUser";
pub(crate) const RUN_INVOKER: &str = "roles/run.invoker";
pub(crate) const ALL_USERS: &str = "allUsers";

/// How much of the release path a command covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// IAM grants only (the `grant` command).
    Grant,
    /// Grants and the service (`deploy`, `plan`, `check`).
    Deploy,
}

/// One secret version the service reads, and the env vars that read it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct SecretKey {
    project: String,
    secret: String,
    version: String,
}

/// Read live state and compute the plan for `env`. `image` is the resolved
/// image (config or `--image`); it is required for [`Scope::Deploy`].
pub(crate) async fn gather(
    google: &Google,
    env: &Environment,
    image: Option<&str>,
    scope: Scope,
) -> Result<(Plan, Live), GcpError> {
    let project = env.project.as_str();
    let service_name = format!(
        "projects/{project}/locations/{}/services/{}",
        env.region, env.service.name
    );

    // Which secret versions, and which env vars read each.
    let mut uses: BTreeMap<SecretKey, Vec<String>> = BTreeMap::new();
    for (var, r) in &env.service.secrets {
        let key = SecretKey {
            project: r.project.clone().unwrap_or_else(|| project.to_string()),
            secret: r.secret.clone(),
            version: r.version.clone(),
        };
        uses.entry(key).or_default().push(var.clone());
    }
    let secrets: BTreeSet<(String, String)> = uses
        .keys()
        .map(|k| (k.project.clone(), k.secret.clone()))
        .collect();
    let per_secret = env.iam.secret_access == SecretAccess::PerSecret;
    let needs_number = env.service.service_account.is_none()
        || env
            .iam
            .service_account_users
            .iter()
            .any(|m| m.contains("{project_number}"));
    let sa_policy_needed = !env.iam.service_account_users.is_empty();
    let project_policy_needed =
        !env.iam.project_roles.is_empty() || (!per_secret && !secrets.is_empty());

    // Branch 1: the runtime account, and the project number. The number
    // gates the account reads only when the account is Cloud Run's default,
    // whose email is derived from it.
    let number = async {
        match needs_number {
            true => google.project_number(project).await.map(Some),
            false => Ok(None),
        }
    };
    let account_reads = |email: String| async move {
        let resource = PolicyResource::ServiceAccount {
            project: account_project(&email, project),
            email: email.clone(),
        };
        let (exists, policy) = try_join(
            google.service_account_exists(&account_project(&email, project), &email),
            async {
                match sa_policy_needed {
                    true => google.get_policy(&resource).await,
                    false => Ok(None),
                }
            },
        )
        .await?;
        Ok::<_, GcpError>((email, exists, resource, policy))
    };
    let configured_account = async {
        match &env.service.service_account {
            Some(email) => account_reads(email.clone()).await.map(Some),
            None => Ok(None),
        }
    };

    // Branch 2: every secret, its policy, and every referenced version.
    let secret_reads = try_join(
        try_join_all(secrets.iter().map(|(p, s)| async move {
            let resource = secret_resource(p, s);
            let (exists, policy) = try_join(google.secret_exists(p, s), async {
                match per_secret {
                    true => google.get_policy(&resource).await,
                    false => Ok(None),
                }
            })
            .await?;
            Ok::<_, GcpError>(((p.clone(), s.clone()), (exists, policy)))
        })),
        try_join_all(uses.keys().map(|k| async move {
            let v = google
                .secret_version(&k.project, &k.secret, &k.version)
                .await?;
            Ok::<_, GcpError>((k.clone(), v))
        })),
    );

    // Branch 3: the project policy.
    let project_resource = PolicyResource::Project {
        project: project.to_string(),
    };
    let project_policy = async {
        match project_policy_needed {
            true => google.get_policy(&project_resource).await,
            false => Ok(None),
        }
    };

    // Branch 4: the service and its policy.
    let service_resource = PolicyResource::Service {
        project: project.to_string(),
        region: env.region.to_string(),
        service: env.service.name.to_string(),
    };
    let service_reads = async {
        match scope {
            Scope::Deploy => {
                try_join(
                    google.service(&service_name),
                    google.get_policy(&service_resource),
                )
                .await
            }
            Scope::Grant => Ok((None, None)),
        }
    };

    // Phase 1: everything that depends on nothing, at once.
    let (
        number,
        configured_account,
        (secret_states, versions),
        project_policy,
        (live_service, service_policy),
    ) = try_join5(
        number,
        configured_account,
        secret_reads,
        project_policy,
        service_reads,
    )
    .await?;

    // Phase 2, at once: the default account (its email needs the number) and
    // Cloud Run's own validation of the service we would send.
    let default_account = configured_account.is_none();
    let email = match (&configured_account, &number) {
        (Some((email, ..)), _) => email.clone(),
        (None, Some(n)) => format!("{n}-compute@developer.gserviceaccount.com"),
        (None, None) => unreachable!("the number is read when no account is configured"),
    };
    let ids: Vec<&str> = std::iter::once(project).chain(number.as_deref()).collect();
    let service_change = match (scope, image) {
        (Scope::Deploy, Some(image)) => Some(service_change(
            env,
            image,
            &email,
            live_service.as_ref(),
            &ids,
        )),
        _ => None,
    };
    let validation = async {
        match &service_change {
            Some(c) if c.action != ServiceAction::None => {
                let service = service::apply_view(live_service.as_ref(), &service_name, &c.desired);
                google.validate_service(service).await
            }
            _ => Ok(None),
        }
    };
    let account = async {
        match configured_account {
            Some(a) => Ok(a),
            None => account_reads(email.clone()).await,
        }
    };
    let ((email, sa_exists, sa_resource, sa_policy), rejected) =
        try_join(account, validation).await?;

    // Preflight.
    let mut problems = Vec::new();
    let secret_states: BTreeMap<(String, String), (bool, Option<Policy>)> =
        secret_states.into_iter().collect();
    let mut secret_checks = Vec::new();
    for (key, version) in &versions {
        let exists = secret_states[&(key.project.clone(), key.secret.clone())].0;
        let state = match (exists, version) {
            (false, _) => SecretState::SecretNotFound,
            (true, None) => SecretState::VersionNotFound,
            (true, Some(v)) => match v.state {
                VersionState::Enabled => SecretState::Enabled,
                VersionState::Disabled => SecretState::Disabled,
                _ => SecretState::Destroyed,
            },
        };
        let resolved = version
            .as_ref()
            .and_then(|v| v.name.rsplit('/').next().map(str::to_string));
        let check = SecretCheck {
            env: uses[key].clone(),
            project: key.project.clone(),
            secret: key.secret.clone(),
            version: key.version.clone(),
            resolved,
            state,
        };
        if let Some(p) = secret_problem(&check, env) {
            problems.push(p);
        }
        secret_checks.push(check);
    }
    let key_check = key_check(env, &secret_checks);
    if !key_check.wired {
        problems.insert(0, wiring_problem(env));
    }
    if !sa_exists {
        problems.push(Problem {
            message: format!("the runtime service account `{email}` does not exist"),
            hint: match default_account {
                true => format!(
                    "Cloud Run's default account is missing; set `service.service_account` in {} to an existing account",
                    env.source.display()
                ),
                false => format!(
                    "gcloud iam service-accounts create {} --project={}",
                    email.split('@').next().unwrap_or_default(),
                    account_project(&email, project)
                ),
            },
        });
    }

    // IAM: what each policy lacks.
    let member = format!("serviceAccount:{email}");
    let mut live = Live::default();
    let mut iam_changes = Vec::new();
    // A change is required when it gives the runtime account access to its
    // secrets: without it the new revision cannot start.
    let secret_access = Grant::new(SECRET_ACCESSOR, &member);
    let mut want =
        |resource: &PolicyResource, policy: Option<Policy>, add: Vec<Grant>, remove: Vec<Grant>| {
            let (add, remove, etag) = match &policy {
                Some(p) => (
                    add.into_iter()
                        .filter(|g| !iam::has(p, g))
                        .collect::<Vec<_>>(),
                    remove
                        .into_iter()
                        .filter(|g| iam::has(p, g))
                        .collect::<Vec<_>>(),
                    Some(iam::etag_text(p)),
                ),
                // No policy yet: the service on a first deploy. Nothing to remove.
                None => (add, Vec::new(), None),
            };
            if let Some(p) = policy {
                live.policies.insert(resource.clone(), p);
            }
            if !add.is_empty() || !remove.is_empty() {
                iam_changes.push(IamChange {
                    resource: resource.clone(),
                    etag,
                    required: add.contains(&secret_access),
                    add,
                    remove,
                });
            }
        };

    if project_policy_needed {
        let mut grants: Vec<Grant> = env
            .iam
            .project_roles
            .iter()
            .map(|r| Grant::new(r.as_str(), &member))
            .collect();
        if !per_secret && !secrets.is_empty() {
            grants.push(Grant::new(SECRET_ACCESSOR, &member));
        }
        want(&project_resource, project_policy, grants, vec![]);
    }
    for ((p, s), (exists, policy)) in secret_states {
        // A missing secret is a preflight problem, not a grant to plan.
        if per_secret && exists {
            want(
                &secret_resource(&p, &s),
                policy,
                vec![secret_access.clone()],
                vec![],
            );
        }
    }
    if sa_policy_needed && sa_exists {
        let grants = env
            .iam
            .service_account_users
            .iter()
            .map(|m| {
                let m = match &number {
                    Some(n) => m.replace("{project_number}", n),
                    None => m.to_string(),
                };
                Grant::new(SERVICE_ACCOUNT_USER, m)
            })
            .collect();
        want(&sa_resource, sa_policy, grants, vec![]);
    }
    let public = Grant::new(RUN_INVOKER, ALL_USERS);
    if scope == Scope::Deploy {
        match env.service.allow_unauthenticated {
            true => want(&service_resource, service_policy, vec![public], vec![]),
            false if service_policy.is_some() => {
                want(&service_resource, service_policy, vec![], vec![public])
            }
            false => {}
        }
    }

    if let Some(reason) = rejected {
        problems.push(Problem {
            message: format!("Cloud Run rejects the service: {reason}"),
            hint: format!("fix the `service` section of {}", env.source.display()),
        });
    }
    live.service = live_service;

    let changes = Changes::of(&iam_changes, service_change.as_ref());
    let plan = Plan {
        schema_version: SCHEMA_VERSION,
        environment: env.name.clone(),
        project: project.to_string(),
        project_number: number,
        region: env.region.to_string(),
        runtime_service_account: email.clone(),
        preflight: Preflight {
            secrets: secret_checks,
            service_account: AccountCheck {
                email,
                default: default_account,
                exists: sa_exists,
            },
            encryption_key: key_check,
            problems,
        },
        iam: iam_changes,
        service: service_change,
        changes,
    };
    Ok((plan, live))
}

fn secret_resource(project: &str, secret: &str) -> PolicyResource {
    PolicyResource::Secret {
        project: project.to_string(),
        secret: secret.to_string(),
    }
}

/// The project a service account lives in: from its email when it is a
/// user-managed account, else the deploy's own project (the default compute
/// account and Google-managed agents).
fn account_project(email: &str, project: &str) -> String {
    email
        .split_once('@')
        .and_then(|(_, domain)| domain.strip_suffix(".iam.gserviceaccount.com"))
        .unwrap_or(project)
        .to_string()
}

/// The service part of the plan: the diff from live to desired.
fn service_change(
    env: &Environment,
    image: &str,
    account: &str,
    live: Option<&google_cloud_run_v2::model::Service>,
    project_ids: &[&str],
) -> ServiceChange {
    let desired = desired_view(env, image, account);
    let live_view = live.map(|s| service::view_of(s, project_ids));
    let fields = service::diff(live_view.as_ref(), &desired);
    let action = match (live, fields.is_empty()) {
        (None, _) => ServiceAction::Create,
        (Some(_), true) => ServiceAction::None,
        (Some(_), false) => ServiceAction::Update,
    };
    ServiceChange {
        name: env.service.name.to_string(),
        action,
        fields,
        new_revision: action != ServiceAction::None,
        traffic: traffic_words(live, action),
        desired,
        etag: live.map(|s| s.etag.clone()),
        generation: live.map(|s| s.generation),
        url: live.map(|s| s.uri.clone()).filter(|u| !u.is_empty()),
    }
}

pub(crate) fn desired_view(env: &Environment, image: &str, account: &str) -> ServiceView {
    let s = &env.service;
    let mut vars: BTreeMap<String, EnvValue> = s
        .env
        .iter()
        .map(|(k, v)| (k.clone(), EnvValue::Plain(v.clone())))
        .collect();
    for (k, r) in &s.secrets {
        let secret_project = r.project.as_deref().unwrap_or(&env.project);
        vars.insert(
            k.clone(),
            EnvValue::Secret {
                secret: service::secret_in_service(&env.project, secret_project, &r.secret),
                version: r.version.clone(),
            },
        );
    }
    ServiceView {
        image: image.to_string(),
        cpu: s.cpu.to_string(),
        memory: s.memory.to_string(),
        timeout_seconds: i64::from(s.timeout.seconds()),
        concurrency: s.concurrency as i32,
        min_instances: s.min_instances as i32,
        max_instances: s.max_instances as i32,
        service_account: account.to_string(),
        env: vars,
    }
}

fn traffic_words(
    live: Option<&google_cloud_run_v2::model::Service>,
    action: ServiceAction,
) -> String {
    use google_cloud_run_v2::model::TrafficTargetAllocationType as T;
    let Some(live) = live else {
        return "100% to the new revision".into();
    };
    let to_latest = live.traffic.is_empty()
        || live
            .traffic
            .iter()
            .any(|t| t.r#type == T::Latest && t.percent == 100);
    match (action, to_latest) {
        (ServiceAction::None, _) => match live.latest_ready_revision.rsplit('/').next() {
            Some(r) if !r.is_empty() => format!("unchanged: 100% to {r}"),
            _ => "unchanged".into(),
        },
        (_, true) => "100% to the new revision".into(),
        (_, false) => "unchanged: traffic is pinned to named revisions; the new revision gets none until you move it".into(),
    }
}

fn key_check(env: &Environment, checks: &[SecretCheck]) -> KeyCheck {
    let wired = matches!(env.encryption_key_wiring(), KeyWiring::Wired);
    let state = checks
        .iter()
        .find(|c| c.env.contains(&env.encryption_key.env))
        .map(|c| c.state);
    KeyCheck {
        env: env.encryption_key.env.clone(),
        secret: env.encryption_key.secret.clone(),
        wired,
        state,
    }
}

fn wiring_problem(env: &Environment) -> Problem {
    let k = &env.encryption_key;
    let message = match env.encryption_key_wiring() {
        KeyWiring::WiredToOtherSecret(other) => format!(
            "the encryption key env var `{}` is wired to secret `{other}`, not to `{}`",
            k.env, k.secret
        ),
        _ => format!(
            "the encryption key env var `{}` is not wired to secret `{}`; without it the agent makes a throw-away key at start-up and stored tokens become unreadable",
            k.env, k.secret
        ),
    };
    Problem {
        message,
        hint: format!(
            "add `{}: {}:latest` under `service.secrets` in {}",
            k.env,
            k.secret,
            env.source.display()
        ),
    }
}

fn secret_problem(c: &SecretCheck, env: &Environment) -> Option<Problem> {
    let is_key = c.env.contains(&env.encryption_key.env);
    let what = match is_key {
        true => format!("the encryption key secret `{}`", c.secret),
        false => format!("secret `{}` (for {})", c.secret, c.env.join(", ")),
    };
    let p = &c.project;
    let s = &c.secret;
    let create_data = match is_key {
        // A Fernet key: 32 random bytes, URL-safe base64. Piped, never echoed.
        true => {
            "python3 -c 'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'"
        }
        false => "printf %s \"$VALUE\"",
    };
    let (message, hint) = match c.state {
        SecretState::Enabled => return None,
        SecretState::SecretNotFound => (
            format!("{what} does not exist in project `{p}`"),
            format!(
                "{create_data} | gcloud secrets create {s} --project={p} --replication-policy=automatic --data-file=-"
            ),
        ),
        SecretState::VersionNotFound => (
            format!("{what} has no version `{}`", c.version),
            format!("{create_data} | gcloud secrets versions add {s} --project={p} --data-file=-"),
        ),
        SecretState::Disabled | SecretState::Destroyed => {
            let v = c.resolved.as_deref().unwrap_or(&c.version);
            let state = if c.state == SecretState::Disabled {
                "DISABLED"
            } else {
                "DESTROYED"
            };
            let via = if c.version == "latest" {
                format!("version `latest` resolves to version {v}, which is {state}")
            } else {
                format!("version {v} is {state}")
            };
            let hint = match c.state {
                SecretState::Disabled => format!(
                    "gcloud secrets versions enable {v} --secret={s} --project={p}   (or add a new version: {create_data} | gcloud secrets versions add {s} --project={p} --data-file=-)"
                ),
                _ => format!(
                    "{create_data} | gcloud secrets versions add {s} --project={p} --data-file=-"
                ),
            };
            (format!("{what} has no enabled version to use: {via}"), hint)
        }
    };
    Some(Problem { message, hint })
}
