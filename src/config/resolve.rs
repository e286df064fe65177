//! Partial file layer -> resolved [`Environment`]: the one place defaults are applied, and
//! where values are parsed into their types, including the checks that span several keys
//! (the guardrails are in `guardrails.rs`).

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use autosre_types::{Cpu, Memory, Timeout};
use serde_saphyr::Spanned;

use super::defaults;
use super::environment::{EncryptionKey, Environment, IamSpec, ServiceSpec};
use super::error::ConfigError;
use super::guardrails;
use super::problems::Problems;
use super::raw::{EnvValue, RawFile, SpannedMap, Text};
use super::redact;
use super::secret_ref::SecretRef;
use super::validate::{self, InvalidValue};
use super::values::{ImageRef, Member, ProjectId, Region, Role, ServiceName};
use super::yaml::{Pos, join_path};

/// Parses a written value into its type, or takes the default when the key is absent.
fn typed<T: FromStr<Err = InvalidValue>>(
    p: &mut Problems<'_>,
    value: Option<&Spanned<Text>>,
    key: &str,
    default: &str,
) -> Option<T> {
    match value {
        Some(v) => p.check_text(v, key, |s| s.parse()),
        None => Some(
            default
                .parse()
                .unwrap_or_else(|_| panic!("default `{default}` parses")),
        ),
    }
}

fn text(value: Option<&Spanned<Text>>, default: &str) -> String {
    value.map_or_else(|| default.to_owned(), |v| v.value.as_str().to_owned())
}

pub(super) fn resolve(
    source: &Path,
    env_name: &str,
    text: &str,
    raw: RawFile,
) -> Result<Environment, ConfigError> {
    let mut p = Problems::new(source, text);

    let project: Option<ProjectId> = match &raw.project {
        Some(project) => p.check_text(project, "project", |s| s.parse()),
        None => {
            p.report(
                Pos::START,
                "project",
                InvalidValue::new(
                    "missing required key `project`",
                    "add the Google Cloud project id at the top of the file, e.g. \
                     `project: acme-sre-staging`",
                ),
            );
            None
        }
    };
    let region: Option<Region> = typed(&mut p, raw.region.as_ref(), "region", defaults::REGION);

    let raw_key = raw.encryption_key.unwrap_or_default();
    if let Some(secret) = &raw_key.secret {
        p.check_text(secret, "encryption_key.secret", validate::secret_id);
    }
    if let Some(env) = &raw_key.env {
        p.check_text(env, "encryption_key.env", validate::env_name);
    }
    let encryption_key = EncryptionKey {
        secret: self::text(raw_key.secret.as_ref(), defaults::ENCRYPTION_KEY_SECRET),
        env: self::text(raw_key.env.as_ref(), defaults::ENCRYPTION_KEY_ENV),
    };

    let production = p.flag(raw.production.as_ref(), "production", defaults::PRODUCTION);
    let raw_service = raw.service.unwrap_or_default();
    let project_text = project.as_ref().map_or("PROJECT", |p| &**p);
    let service = resolve_service(&mut p, project_text, &encryption_key, &raw_service);
    if let Some(service) = &service {
        guardrails::check(
            &mut p,
            raw.production.as_ref(),
            &raw_service,
            service,
            &encryption_key.env,
        );
    }

    let raw_iam = raw.iam.unwrap_or_default();
    let project_roles = checked_list(&mut p, raw_iam.project_roles, "iam.project_roles", |s| {
        s.parse::<Role>()
    });
    let service_account_users = checked_list(
        &mut p,
        raw_iam.service_account_users,
        "iam.service_account_users",
        |s| validate::account_user(s).and_then(|()| s.parse::<Member>()),
    );
    let secret_access = raw_iam
        .secret_access
        .map_or(defaults::SECRET_ACCESS, |s| s.value);

    p.finish()?;
    let (Some(project), Some(region), Some(service), Some(project_roles), Some(users)) = (
        project,
        region,
        service,
        project_roles,
        service_account_users,
    ) else {
        unreachable!("every missing value was reported as a problem")
    };
    Ok(Environment {
        name: env_name.to_owned(),
        source: source.to_owned(),
        project,
        region,
        production,
        service,
        encryption_key,
        iam: IamSpec {
            project_roles,
            secret_access,
            service_account_users: users,
        },
    })
}

/// Every item parsed, or `None` when any failed (each failure is reported).
fn checked_list<T>(
    p: &mut Problems<'_>,
    items: Option<Vec<Spanned<Text>>>,
    key: &str,
    check: impl Fn(&str) -> Result<T, InvalidValue>,
) -> Option<Vec<T>> {
    let items = items.unwrap_or_default();
    let parsed: Vec<Option<T>> = items
        .iter()
        .enumerate()
        .map(|(i, item)| p.check_text(item, &format!("{key}[{i}]"), &check))
        .collect();
    parsed.into_iter().collect()
}

/// `cpu`, `memory` and `timeout`, each parsed, and the CPU/memory pair checked against
/// Cloud Run's table.
fn quantities(
    p: &mut Problems<'_>,
    raw: &super::raw::RawService,
) -> (Option<Cpu>, Option<Memory>, Option<Timeout>) {
    let cpu = match &raw.cpu {
        Some(cpu) => p.check(cpu, "service.cpu", |s| validate::cpu(s)),
        None => Some(Cpu::DEFAULT),
    };
    let memory = match &raw.memory {
        Some(memory) => p.check_text(memory, "service.memory", validate::memory),
        None => Some(Memory::DEFAULT),
    };
    let timeout = match &raw.timeout {
        Some(t) => p.check(t, "service.timeout", |s| validate::timeout(s)),
        None => Some(Timeout::DEFAULT),
    };
    if let (Some(c), Some(m)) = (cpu, memory)
        && let Err(problem) = validate::cpu_memory(c, m)
    {
        let (pos, key) = match (&raw.memory, &raw.cpu) {
            (Some(memory), _) => (Pos::of(memory), "service.memory"),
            (None, Some(cpu)) => (Pos::of(cpu), "service.cpu"),
            (None, None) => (Pos::START, "service.memory"),
        };
        p.report(pos, key, problem);
    }
    (cpu, memory, timeout)
}

fn resolve_service(
    p: &mut Problems<'_>,
    project: &str,
    encryption_key: &EncryptionKey,
    raw: &super::raw::RawService,
) -> Option<ServiceSpec> {
    let name: Option<ServiceName> =
        typed(p, raw.name.as_ref(), "service.name", defaults::SERVICE_NAME);
    let image: Option<Option<ImageRef>> = match &raw.image {
        Some(image) => p
            .check_text(image, "service.image", |s| s.parse())
            .map(Some),
        None => Some(None),
    };
    if let Some(account) = &raw.service_account {
        p.check_text(account, "service.service_account", |s| {
            validate::service_account(s, project)
        });
    }
    let (cpu, memory, timeout) = quantities(p, raw);
    if let Some(c) = &raw.concurrency {
        p.check(c, "service.concurrency", |n| {
            if (1..=1000).contains(n) {
                Ok(())
            } else {
                Err(InvalidValue::new(
                    format!("concurrency `{n}` is outside Cloud Run's range 1..=1000"),
                    "write a number from 1 to 1000; Cloud Run's default is 80",
                ))
            }
        });
    }
    if let Some(max) = &raw.max_instances {
        p.check(max, "service.max_instances", |n| {
            if *n >= 1 {
                Ok(())
            } else {
                Err(InvalidValue::new(
                    "max_instances `0` would mean Cloud Run's default (100), not zero",
                    "write at least 1, or remove the key to use the default of 100",
                ))
            }
        });
    }
    let min_instances = raw
        .min_instances
        .as_ref()
        .map_or(defaults::MIN_INSTANCES, |v| v.value);
    let max_instances = raw
        .max_instances
        .as_ref()
        .map_or(defaults::MAX_INSTANCES, |v| v.value);
    if min_instances > max_instances {
        // Point at whichever the user wrote last... or the only one they wrote.
        let (pos, key) = match (&raw.max_instances, &raw.min_instances) {
            (Some(max), _) => (Pos::of(max), "service.max_instances"),
            (None, Some(min)) => (Pos::of(min), "service.min_instances"),
            (None, None) => (Pos::START, "service.min_instances"),
        };
        let default_note = if raw.max_instances.is_none() {
            " (the default)"
        } else {
            ""
        };
        p.report(
            pos,
            key,
            InvalidValue::new(
                format!(
                    "min_instances ({min_instances}) is greater than max_instances \
                     ({max_instances}{default_note})"
                ),
                format!(
                    "raise `max_instances` to at least {min_instances}, or lower `min_instances`"
                ),
            ),
        );
    }

    let allow_unauthenticated = p.flag(
        raw.allow_unauthenticated.as_ref(),
        "service.allow_unauthenticated",
        defaults::ALLOW_UNAUTHENTICATED,
    );
    let pin_secret_versions = p.flag(
        raw.pin_secret_versions.as_ref(),
        "service.pin_secret_versions",
        defaults::PIN_SECRET_VERSIONS,
    );
    let public_ack = match &raw.public_ack {
        Some(ack) => p.text(ack, "service.public_ack").map(str::to_owned),
        None => None,
    };
    let env = resolve_env(p, encryption_key, raw.env.as_ref());
    let secrets = resolve_secrets(p, &env, raw.secrets.as_ref());

    Some(ServiceSpec {
        name: name?,
        image: image?,
        service_account: raw
            .service_account
            .as_ref()
            .map(|v| v.value.as_str().to_owned()),
        cpu: cpu?,
        memory: memory?,
        timeout: timeout?,
        concurrency: raw
            .concurrency
            .as_ref()
            .map_or(defaults::CONCURRENCY, |v| v.value),
        min_instances,
        max_instances,
        allow_unauthenticated,
        public_ack,
        env: env.into_iter().map(|(k, (_, v))| (k, v)).collect(),
        plain_env_allow: raw
            .plain_env_allow
            .iter()
            .flatten()
            .map(|v| v.value.as_str().to_owned())
            .collect(),
        secrets,
        pin_secret_versions,
    })
}

/// Plain env vars, keeping the line of each name for the env-vs-secrets check.
fn resolve_env(
    p: &mut Problems<'_>,
    encryption_key: &EncryptionKey,
    raw: Option<&SpannedMap<EnvValue>>,
) -> BTreeMap<String, (Pos, String)> {
    let mut env = BTreeMap::new();
    for (name, value) in raw.map(|m| m.0.as_slice()).unwrap_or_default() {
        let key = join_path("service.env", &name.value);
        p.check(name, &key, |s| validate::env_name(s));
        if name.value == encryption_key.env {
            // Never echo the value: it may be the real key.
            p.report(
                Pos::of(name),
                key.clone(),
                InvalidValue::new(
                    format!(
                        "`{}` is the encryption key's variable (`encryption_key.env`) and must \
                         not be a plain value",
                        name.value
                    ),
                    format!(
                        "a plain value would make the agent encrypt with a key written in this \
                         file, readable by anyone with the repository or project Viewer \
                         access; delete it from `env` and wire it from Secret Manager under \
                         `service.secrets`: `{}: {}:latest` (and rotate the key if the value \
                         was real)",
                        name.value, encryption_key.secret
                    ),
                ),
            );
        }
        let problem = match &value.value {
            EnvValue::Text(_) => None,
            EnvValue::Empty => Some(InvalidValue::new(
                format!("`{}` has no value", name.value),
                format!(
                    "write `{}: \"\"` for an empty string, or delete the line",
                    name.value
                ),
            )),
            EnvValue::Collection(kind) => Some(InvalidValue::new(
                format!("env values must be text, found {kind}"),
                format!("write one quoted value: `{}: \"...\"`", name.value),
            )),
            EnvValue::NotText(kind) => {
                let secret_like = redact::is_sensitive_name(&name.value);
                let shown = if secret_like {
                    redact::REDACTED
                } else {
                    p.written(value)
                };
                let secret_note = if secret_like {
                    "; a secret belongs in `service.secrets`, not `env`"
                } else {
                    ""
                };
                Some(InvalidValue::new(
                    format!("env values must be text; YAML reads `{shown}` as {kind}"),
                    format!(
                        "quote it: `{}: \"{shown}\"` (unquoted numbers and booleans can be \
                         rewritten, e.g. `1.10` becomes `1.1`){secret_note}",
                        name.value
                    ),
                ))
            }
        };
        let value_pos = Pos::of(value);
        let text = match (problem, &value.value) {
            (None, EnvValue::Text(text)) => text.clone(),
            (Some(problem), _) => {
                p.report(value_pos, key.clone(), problem);
                String::new()
            }
            (None, _) => String::new(),
        };
        let pos = Pos::of(name);
        env.insert(name.value.clone(), (pos, text));
    }
    env
}

fn resolve_secrets(
    p: &mut Problems<'_>,
    env: &BTreeMap<String, (Pos, String)>,
    raw: Option<&SpannedMap<Text>>,
) -> BTreeMap<String, SecretRef> {
    let mut secrets = BTreeMap::new();
    for (name, value) in raw.map(|m| m.0.as_slice()).unwrap_or_default() {
        let key = join_path("service.secrets", &name.value);
        p.check(name, &key, |s| validate::env_name(s));
        if let Some((env_pos, _)) = env.get(&name.value) {
            p.report(
                Pos::of(name),
                key.clone(),
                InvalidValue::new(
                    format!(
                        "`{}` is set both in `service.env` (line {}) and in `service.secrets`",
                        name.value, env_pos.line
                    ),
                    "keep one: a variable comes either from a plain value or from Secret Manager",
                ),
            );
        }
        if let Some(reference) = p.check_text(value, &key, SecretRef::parse) {
            secrets.insert(name.value.clone(), reference);
        }
    }
    secrets
}
