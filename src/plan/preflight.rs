//! Preflight: what must hold before anything is written, from live state.
//!
//! Each check yields data ([`SecretCheck`], [`KeyCheck`]) and, when it fails,
//! a [`Problem`] of a typed kind whose hint is the command that fixes it.

use google_cloud_run_v2::model::env_var::Values;
use google_cloud_secretmanager_v1::model::secret_version::State as VersionState;

use super::live::{AccountState, LiveState, Needs, account_project};
use super::{KeyCheck, Problem, ProblemKind, SecretCheck, SecretState, Warning, WarningKind};
use crate::config::{Environment, KeyWiring, is_sensitive_name};

/// One check per referenced secret version, in reference order.
pub(crate) fn secret_checks(needs: &Needs, live: &LiveState) -> Vec<SecretCheck> {
    needs
        .uses
        .iter()
        .map(|(key, env)| {
            let exists = live.secrets.get(&key.id).is_some_and(|s| s.exists);
            let version = live.versions.get(key).and_then(Option::as_ref);
            let refused = live
                .refused
                .iter()
                .any(|r| r.resource == key.id.resource() && !r.operation.ends_with("getIamPolicy"));
            let state = match (exists, version) {
                _ if refused => SecretState::Unreadable,
                (false, _) => SecretState::SecretNotFound,
                (true, None) => SecretState::VersionNotFound,
                (true, Some(v)) => match v.state {
                    VersionState::Enabled => SecretState::Enabled,
                    VersionState::Disabled => SecretState::Disabled,
                    _ => SecretState::Destroyed,
                },
            };
            SecretCheck {
                env: env.clone(),
                project: key.id.project.clone(),
                secret: key.id.secret.clone(),
                version: key.version.clone(),
                resolved: version.and_then(|v| v.name.rsplit('/').next().map(str::to_string)),
                state,
            }
        })
        .collect()
}

pub(crate) fn key_check(env: &Environment, checks: &[SecretCheck]) -> KeyCheck {
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
        format: None,
    }
}

pub(crate) fn wiring_problem(env: &Environment) -> Problem {
    let k = &env.encryption_key;
    let (kind, message) = match env.encryption_key_wiring() {
        KeyWiring::WiredToOtherSecret(other) => (
            ProblemKind::KeyWiredToOtherSecret,
            format!(
                "the encryption key env var `{}` is wired to secret `{other}`, not to `{}`",
                k.env, k.secret
            ),
        ),
        _ => (
            ProblemKind::KeyNotWired,
            format!(
                "the encryption key env var `{}` is not wired to secret `{}`; without it the agent makes a throw-away key at start-up and stored tokens become unreadable",
                k.env, k.secret
            ),
        ),
    };
    Problem {
        kind,
        message,
        hint: format!(
            "add `{}: {}:latest` under `service.secrets` in {}",
            k.env,
            k.secret,
            env.source.display()
        ),
    }
}

pub(crate) fn account_problem(env: &Environment, account: &AccountState) -> Problem {
    let email = &account.email;
    Problem {
        kind: ProblemKind::ServiceAccountMissing,
        message: format!("the runtime service account `{email}` does not exist"),
        hint: match account.default {
            true => format!(
                "Cloud Run's default account is missing; set `service.service_account` in {} to an existing account",
                env.source.display()
            ),
            false => format!(
                "gcloud iam service-accounts create {} --project={}",
                email.split('@').next().unwrap_or_default(),
                account_project(email, &env.project)
            ),
        },
    }
}

pub(crate) fn secret_problem(c: &SecretCheck, env: &Environment) -> Option<Problem> {
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
    let (kind, message, hint) = match c.state {
        // The refused read is the problem (see `permissions::assess`).
        SecretState::Enabled | SecretState::Unreadable => return None,
        SecretState::SecretNotFound => (
            ProblemKind::SecretNotFound,
            format!("{what} does not exist in project `{p}`"),
            format!(
                "{create_data} | gcloud secrets create {s} --project={p} --replication-policy=automatic --data-file=-"
            ),
        ),
        SecretState::VersionNotFound => (
            ProblemKind::VersionNotFound,
            format!("{what} has no version `{}`", c.version),
            format!("{create_data} | gcloud secrets versions add {s} --project={p} --data-file=-"),
        ),
        SecretState::Disabled | SecretState::Destroyed => {
            let v = c.resolved.as_deref().unwrap_or(&c.version);
            let state = match c.state {
                SecretState::Disabled => "DISABLED",
                _ => "DESTROYED",
            };
            let via = match c.version.as_str() {
                "latest" => format!("version `latest` resolves to version {v}, which is {state}"),
                _ => format!("version {v} is {state}"),
            };
            let hint = match c.state {
                SecretState::Disabled => format!(
                    "gcloud secrets versions enable {v} --secret={s} --project={p}   (or add a new version: {create_data} | gcloud secrets versions add {s} --project={p} --data-file=-)"
                ),
                _ => format!(
                    "{create_data} | gcloud secrets versions add {s} --project={p} --data-file=-"
                ),
            };
            (
                ProblemKind::VersionNotEnabled,
                format!("{what} has no enabled version to use: {via}"),
                hint,
            )
        }
    };
    Some(Problem {
        kind,
        message,
        hint,
    })
}

/// Env vars of the live service that hold a plain value where the config
/// now reads a secret, or whose name says credential: the value sat in plain
/// text in the service (visible to anyone with `run.services.get`). The plan
/// never shows such a value; it says the value was there.
pub(crate) fn plain_credentials_in_live_service(
    env: &Environment,
    live: &LiveState,
) -> Vec<Warning> {
    let Some(container) = live
        .service
        .as_ref()
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.containers.first())
    else {
        return Vec::new();
    };
    container
        .env
        .iter()
        .filter(|e| matches!(&e.values, Some(Values::Value(v)) if !v.is_empty()))
        // A credential-named value the config keeps plain on purpose
        // (`service.plain_env_allow`) is no surprise to warn about.
        .filter(|e| {
            env.service.secrets.contains_key(&e.name)
                || (is_sensitive_name(&e.name) && !env.service.plain_env_allow.contains(&e.name))
        })
        .map(|e| Warning {
            kind: WarningKind::PlainCredentialInLiveService,
            message: format!(
                "the live service holds `{}` as a plain env var value; anyone who can read the service can read it{}",
                e.name,
                match env.service.secrets.contains_key(&e.name) {
                    true => "; this deploy replaces it with a Secret Manager reference. Rotate the credential: the old value was exposed",
                    false => "; move it to Secret Manager (`service.secrets`)",
                }
            ),
        })
        .collect()
}
