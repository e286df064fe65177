//! Partial file layer -> resolved [`Environment`]: the one place defaults are applied, and
//! where values are validated, including the checks that span several keys.
//!
//! All problems in a file are collected and the first in file order is returned, so fixing
//! errors top to bottom never reveals an earlier one.

use std::collections::BTreeMap;
use std::path::Path;

use serde_saphyr::Spanned;

use super::defaults;
use super::environment::{EncryptionKey, Environment, IamSpec, ServiceSpec};
use super::error::ConfigError;
use super::raw::{EnvValue, RawFile, SpannedMap};
use super::redact;
use super::secret_ref::SecretRef;
use super::validate::{self, InvalidValue};
use super::yaml::{Pos, join_path};

struct Problems<'a> {
    source: &'a Path,
    text: &'a str,
    found: Vec<(Pos, String, InvalidValue)>,
}

impl Problems<'_> {
    fn report(&mut self, pos: Pos, key: impl Into<String>, problem: InvalidValue) {
        self.found.push((pos, key.into(), problem));
    }

    /// Validates a spanned value with `check`, recording the failure at the value.
    fn check<T, U>(
        &mut self,
        value: &Spanned<T>,
        key: &str,
        check: impl FnOnce(&T) -> Result<U, InvalidValue>,
    ) -> Option<U> {
        match check(&value.value) {
            Ok(v) => Some(v),
            Err(problem) => {
                self.report(Pos::of(value), key, problem);
                None
            }
        }
    }

    /// The value exactly as written in the file (byte span of the scalar).
    fn written<T>(&self, value: &Spanned<T>) -> &str {
        let span = value.referenced.span();
        span.byte_offset()
            .zip(span.byte_len())
            .and_then(|(start, len)| {
                let start = usize::try_from(start).ok()?;
                self.text.get(start..start + usize::try_from(len).ok()?)
            })
            .unwrap_or("?")
    }

    fn into_result(mut self, env: Environment) -> Result<Environment, ConfigError> {
        self.found.sort_by_key(|(pos, _, _)| *pos);
        match self.found.into_iter().next() {
            None => Ok(env),
            Some((pos, key, problem)) => Err(ConfigError::Invalid {
                path: self.source.to_owned(),
                line: pos.line,
                column: pos.column,
                key,
                message: problem.message().to_owned(),
                hint: problem.hint().to_owned(),
            }),
        }
    }
}

fn string(value: Option<&Spanned<String>>, default: &str) -> String {
    value.map_or_else(|| default.to_owned(), |v| v.value.clone())
}

pub(super) fn resolve(
    source: &Path,
    env_name: &str,
    text: &str,
    raw: RawFile,
) -> Result<Environment, ConfigError> {
    let mut p = Problems {
        source,
        text,
        found: Vec::new(),
    };

    let project = match &raw.project {
        Some(project) => {
            p.check(project, "project", |s| validate::project_id(s));
            project.value.clone()
        }
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
            String::new()
        }
    };
    if let Some(region) = &raw.region {
        p.check(region, "region", |s| validate::region(s));
    }
    let region = string(raw.region.as_ref(), defaults::REGION);

    let raw_key = raw.encryption_key.unwrap_or_default();
    if let Some(secret) = &raw_key.secret {
        p.check(secret, "encryption_key.secret", |s| validate::secret_id(s));
    }
    if let Some(env) = &raw_key.env {
        p.check(env, "encryption_key.env", |s| validate::env_name(s));
    }
    let encryption_key = EncryptionKey {
        secret: string(raw_key.secret.as_ref(), defaults::ENCRYPTION_KEY_SECRET),
        env: string(raw_key.env.as_ref(), defaults::ENCRYPTION_KEY_ENV),
    };

    let service = resolve_service(
        &mut p,
        &project,
        &encryption_key,
        raw.service.unwrap_or_default(),
    );

    let raw_iam = raw.iam.unwrap_or_default();
    let project_roles = checked_list(&mut p, raw_iam.project_roles, "iam.project_roles", |s| {
        validate::role(s)
    });
    let service_account_users = checked_list(
        &mut p,
        raw_iam.service_account_users,
        "iam.service_account_users",
        validate::member,
    );
    let iam = IamSpec {
        project_roles,
        secret_access: raw_iam
            .secret_access
            .map_or(defaults::SECRET_ACCESS, |s| s.value),
        service_account_users,
    };

    let env = Environment {
        name: env_name.to_owned(),
        source: source.to_owned(),
        project,
        region,
        service,
        encryption_key,
        iam,
    };
    p.into_result(env)
}

fn checked_list(
    p: &mut Problems<'_>,
    items: Option<Vec<Spanned<String>>>,
    key: &str,
    check: impl Fn(&str) -> Result<(), InvalidValue>,
) -> Vec<String> {
    let items = items.unwrap_or_default();
    for (i, item) in items.iter().enumerate() {
        p.check(item, &format!("{key}[{i}]"), |s| check(s));
    }
    items.into_iter().map(|s| s.value).collect()
}

fn resolve_service(
    p: &mut Problems<'_>,
    project: &str,
    encryption_key: &EncryptionKey,
    raw: super::raw::RawService,
) -> ServiceSpec {
    if let Some(name) = &raw.name {
        p.check(name, "service.name", |s| validate::service_name(s));
    }
    if let Some(image) = &raw.image {
        p.check(image, "service.image", |s| validate::image(s));
    }
    if let Some(account) = &raw.service_account {
        p.check(account, "service.service_account", |s| {
            validate::service_account(s, project)
        });
    }
    if let Some(cpu) = &raw.cpu {
        p.check(cpu, "service.cpu", |s| validate::cpu(s));
    }
    if let Some(memory) = &raw.memory {
        p.check(memory, "service.memory", |s| validate::memory(s));
    }
    let timeout_seconds = match &raw.timeout {
        Some(t) => p
            .check(t, "service.timeout", |s| validate::timeout(s))
            .unwrap_or(defaults::TIMEOUT_SECONDS),
        None => defaults::TIMEOUT_SECONDS,
    };
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

    let env = resolve_env(p, encryption_key, raw.env);
    let secrets = resolve_secrets(p, &env, raw.secrets);

    ServiceSpec {
        name: string(raw.name.as_ref(), defaults::SERVICE_NAME),
        image: raw.image.map(|v| v.value),
        service_account: raw.service_account.map(|v| v.value),
        cpu: string(raw.cpu.as_ref(), defaults::CPU),
        memory: string(raw.memory.as_ref(), defaults::MEMORY),
        timeout_seconds,
        concurrency: raw.concurrency.map_or(defaults::CONCURRENCY, |v| v.value),
        min_instances,
        max_instances,
        allow_unauthenticated: raw
            .allow_unauthenticated
            .map_or(defaults::ALLOW_UNAUTHENTICATED, |v| v.value),
        env: env.into_iter().map(|(k, (_, v))| (k, v)).collect(),
        secrets,
    }
}

/// Plain env vars, keeping the line of each name for the env-vs-secrets check.
fn resolve_env(
    p: &mut Problems<'_>,
    encryption_key: &EncryptionKey,
    raw: Option<SpannedMap<EnvValue>>,
) -> BTreeMap<String, (Pos, String)> {
    let mut env = BTreeMap::new();
    for (name, value) in raw.map(|m| m.0).unwrap_or_default() {
        let key = join_path("service.env", &name.value);
        p.check(&name, &key, |s| validate::env_name(s));
        if name.value == encryption_key.env {
            // Never echo the value: it may be the real key.
            p.report(
                Pos::of(&name),
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
                let secret_like = redact::looks_secret(&name.value);
                let shown = if secret_like {
                    redact::REDACTED
                } else {
                    p.written(&value)
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
        let value_pos = Pos::of(&value);
        let text = match (problem, value.value) {
            (None, EnvValue::Text(text)) => text,
            (Some(problem), _) => {
                p.report(value_pos, key.clone(), problem);
                String::new()
            }
            (None, _) => String::new(),
        };
        let pos = Pos::of(&name);
        env.insert(name.value, (pos, text));
    }
    env
}

fn resolve_secrets(
    p: &mut Problems<'_>,
    env: &BTreeMap<String, (Pos, String)>,
    raw: Option<SpannedMap<String>>,
) -> BTreeMap<String, SecretRef> {
    let mut secrets = BTreeMap::new();
    for (name, value) in raw.map(|m| m.0).unwrap_or_default() {
        let key = join_path("service.secrets", &name.value);
        p.check(&name, &key, |s| validate::env_name(s));
        if let Some((env_pos, _)) = env.get(&name.value) {
            p.report(
                Pos::of(&name),
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
        if let Some(reference) = p.check(&value, &key, |s| SecretRef::parse(s)) {
            secrets.insert(name.value, reference);
        }
    }
    secrets
}
