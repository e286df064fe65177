//! Preflight: what must hold before anything is written, from live state.
//!
//! Each check yields data ([`SecretCheck`], [`KeyCheck`]) and, when it fails,
//! a [`Problem`] of a typed kind whose hint is the command that fixes it.

use google_cloud_run_v2::model::env_var::Values;
use google_cloud_secretmanager_v1::model::secret_version::State as VersionState;

use super::live::{AccountState, LiveState, Needs, account_project};
use super::{KeyCheck, Problem, ProblemKind, SecretCheck, SecretState, Warning, WarningKind};
use crate::config::{Environment, KeyWiring, is_sensitive_name};

/// One check per referenced secret version, in reference order. With `pin`
/// (`service.pin_secret_versions`), a reference by `latest` or an alias that
/// resolved is pinned to its number: env-var secrets "are resolved at
/// instance startup time, so ... Google recommends that you pin the secret
/// to a particular version rather than using latest"
/// (https://cloud.google.com/run/docs/configuring/services/secrets).
pub(crate) fn secret_checks(needs: &Needs, live: &LiveState, pin: bool) -> Vec<SecretCheck> {
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
            let resolved = live.resolved_version(key).map(str::to_string);
            let by_number = key.version.chars().all(|c| c.is_ascii_digit());
            SecretCheck {
                env: env.clone(),
                project: key.id.project.clone(),
                secret: key.id.secret.clone(),
                version: key.version.clone(),
                pinned: resolved.clone().filter(|_| pin && !by_number),
                resolved,
                state,
            }
        })
        .collect()
}

/// With `service.pin_secret_versions: false`, the encryption key read at
/// `latest` (or an alias) by a service that may run more than one instance:
/// each instance resolves it when it starts, so after a new key version the
/// instances of one revision can hold different keys, and none of them can
/// decrypt what another encrypted.
pub(crate) fn unpinned_key(env: &Environment, checks: &[SecretCheck]) -> Option<Warning> {
    let s = &env.service;
    if s.pin_secret_versions || s.max_instances <= 1 {
        return None;
    }
    let c = check_for_env(checks, &env.encryption_key.env)?;
    if c.version.chars().all(|ch| ch.is_ascii_digit()) {
        return None;
    }
    Some(Warning {
        kind: WarningKind::EncryptionKeyUnpinned,
        message: format!(
            "the encryption key `{}:{}` is not pinned (`service.pin_secret_versions: false`) and up to {} instances may run: each resolves `{}` when it starts, so after a new key version instances of one revision hold different keys; pin it (remove `pin_secret_versions: false` from {}, or write a version number)",
            c.secret,
            c.version,
            s.max_instances,
            c.version,
            env.source.display()
        ),
    })
}

/// The check of the secret version env var `var` reads, if it reads one: its
/// `resolved` is the version number the reference resolves to now (for the
/// encryption key, the version whose payload to check).
pub(crate) fn check_for_env<'a>(checks: &'a [SecretCheck], var: &str) -> Option<&'a SecretCheck> {
    checks.iter().find(|c| c.env.iter().any(|e| e == var))
}

pub(crate) fn key_check(env: &Environment, checks: &[SecretCheck]) -> KeyCheck {
    let wired = matches!(env.encryption_key_wiring(), KeyWiring::Wired);
    let state = check_for_env(checks, &env.encryption_key.env).map(|c| c.state);
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
    let create_data = "printf %s \"$VALUE\"";
    let e = &env.name;
    let (kind, message, hint) = match c.state {
        // The refused read is the problem (see `permissions::assess`).
        SecretState::Enabled | SecretState::Unreadable => return None,
        // The key is made by the tool: a Fernet key, stored without the
        // trailing newline a shell pipe of `print` or `echo` would add.
        SecretState::SecretNotFound if is_key => (
            ProblemKind::SecretNotFound,
            format!("{what} does not exist in project `{p}`"),
            format!("autosre-deploy key init --env {e}"),
        ),
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
            match is_key {
                true => format!("autosre-deploy key rotate --env {e}"),
                false => format!(
                    "{create_data} | gcloud secrets versions add {s} --project={p} --data-file=-"
                ),
            },
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
            let add = match is_key {
                true => format!("autosre-deploy key rotate --env {e}"),
                false => format!(
                    "{create_data} | gcloud secrets versions add {s} --project={p} --data-file=-"
                ),
            };
            let hint = match (c.state, is_key) {
                (SecretState::Disabled, true) => format!(
                    "{add}   (or enable it again: gcloud secrets versions enable {v} --secret={s} --project={p})"
                ),
                (SecretState::Disabled, false) => format!(
                    "gcloud secrets versions enable {v} --secret={s} --project={p}   (or add a new version: {add})"
                ),
                _ => add,
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
