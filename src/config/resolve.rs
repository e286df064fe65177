//! Partial file layer -> resolved [`Environment`]: the one place defaults are applied, and
//! where values are parsed into their types, including the checks that span several keys
//! (the guardrails are in `guardrails.rs`; `service.env` and `service.secrets` in
//! `resolve/env.rs`).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use autosre_types::{Cpu, Memory, Timeout};
use serde_saphyr::Spanned;

use super::defaults;
use super::environment::{
    BuildSpec, EncryptionKey, Environment, IamSpec, IapSpec, ServiceSpec, TrafficMode, pool_region,
};
use super::error::ConfigError;
use super::guardrails;
use super::problems::Problems;
use super::raw::{RawFile, Text};
use super::validate::{self, InvalidValue};
use super::values::{ImageRef, Member, ProjectId, Region, Role, ServiceName};
use super::yaml::Pos;

mod agent;
mod env;
mod regions;

use env::{resolve_env, resolve_secrets};

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
    let regions = regions::resolve_region(&mut p, raw.region.as_ref(), raw.regions.as_ref());

    let raw_key = raw.encryption_key.unwrap_or_default();
    if let Some(secret) = &raw_key.secret {
        p.check_text(secret, "encryption_key.secret", validate::secret_id);
    }
    if let Some(env) = &raw_key.env {
        p.check_text(env, "encryption_key.env", validate::env_name);
    }
    let replica_locations = checked_list(
        &mut p,
        raw_key.replica_locations,
        "encryption_key.replica_locations",
        |s| s.parse::<Region>().map(|r| r.to_string()),
    )
    .unwrap_or_default();
    let encryption_key = EncryptionKey {
        secret: self::text(raw_key.secret.as_ref(), defaults::ENCRYPTION_KEY_SECRET),
        env: self::text(raw_key.env.as_ref(), defaults::ENCRYPTION_KEY_ENV),
        replica_locations,
    };

    let production = p.flag(raw.production.as_ref(), "production", defaults::PRODUCTION);
    let raw_service = raw.service.unwrap_or_default();
    let project_text = project.as_ref().map_or("PROJECT", |p| &**p);
    let base = source.parent().unwrap_or(Path::new(""));
    let mut service = resolve_service(&mut p, project_text, &encryption_key, &raw_service, base);
    let agent_env = agent::resolve_agent(
        &mut p,
        raw.agent.as_ref(),
        raw_service.env.as_ref(),
        raw_service.secrets.as_ref(),
    );
    if let Some(service) = &mut service {
        service.env.extend(agent_env);
    }
    if let Some(service) = &service {
        guardrails::check(
            &mut p,
            raw.production.as_ref(),
            &raw_service,
            service,
            &encryption_key.env,
        );
    }

    let (region, regions) = match (regions, &service) {
        (Some((region, entries)), Some(service)) => {
            let targets =
                regions::resolve_overrides(&mut p, &entries, service, &encryption_key.env);
            (Some(region), targets)
        }
        (Some((region, _)), None) => (Some(region), Vec::new()),
        (None, _) => (None, Vec::new()),
    };

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
    let iap = resolve_iap(&mut p, raw.iap, &raw_service);
    let build = resolve_build(&mut p, raw.build, project_text);

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
        regions,
        production,
        service,
        encryption_key,
        iam: IamSpec {
            project_roles,
            secret_access,
            service_account_users: users,
        },
        iap: iap.flatten(),
        build,
    })
}

/// `build:`: a region, a worker pool named in full (in that region when both are given),
/// and the build's service account.
fn resolve_build(
    p: &mut Problems<'_>,
    raw: Option<super::raw::RawBuild>,
    project: &str,
) -> BuildSpec {
    let raw = raw.unwrap_or_default();
    let region: Option<Region> = raw
        .region
        .as_ref()
        .and_then(|r| p.check_text(r, "build.region", |s| s.parse()));
    let worker_pool = raw.worker_pool.as_ref().and_then(|pool| {
        p.check_text(pool, "build.worker_pool", |s| {
            let Some(pool_at) = pool_region(s) else {
                return Err(InvalidValue::new(
                    format!("`{s}` is not a worker pool name"),
                    "name the pool in full: `projects/PROJECT/locations/REGION/workerPools/POOL` \
                     (`gcloud builds worker-pools list` shows them)",
                ));
            };
            match &region {
                Some(r) if *r != *pool_at => Err(InvalidValue::new(
                    format!("the worker pool is in `{pool_at}`, not in build.region `{r}`"),
                    "a private pool's builds run in its own region: remove build.region or \
                     make it the pool's",
                )),
                _ => Ok(s.to_string()),
            }
        })
    });
    let service_account = raw.service_account.as_ref().and_then(|a| {
        p.check_text(a, "build.service_account", |s| {
            validate::service_account(s, project).map(|()| s.to_string())
        })
    });
    BuildSpec {
        region,
        worker_pool,
        service_account,
    }
}

/// `iap:`: its members parsed, and the one combination Google does not allow meaningfully:
/// a public service (`allow_unauthenticated: true`, no invoker check) behind IAP. `None`
/// inside when the file has no `iap:`; `None` outside when a member failed (reported).
fn resolve_iap(
    p: &mut Problems<'_>,
    raw: Option<super::raw::RawIap>,
    service: &super::raw::RawService,
) -> Option<Option<IapSpec>> {
    let Some(raw) = raw else {
        return Some(None);
    };
    let exclusive = p.flag(
        raw.exclusive.as_ref(),
        "iap.exclusive",
        defaults::IAP_EXCLUSIVE,
    );
    if let Some(flag) = service
        .allow_unauthenticated
        .as_ref()
        .filter(|f| f.value.0 == Ok(true))
    {
        p.report(
            Pos::of(flag),
            "service.allow_unauthenticated",
            InvalidValue::new(
                "`allow_unauthenticated: true` cannot be combined with `iap`: a public service \
                 skips the check that IAP's sign-in protects",
                "remove `allow_unauthenticated: true` to keep the service behind IAP, or remove \
                 the `iap` section to make it public",
            ),
        );
    }
    let members = checked_list(p, raw.members, "iap.members", |s| {
        validate::iap_member(s).and_then(|()| s.parse::<Member>())
    })?;
    Some(Some(IapSpec { members, exclusive }))
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
        None => Some(defaults::CPU),
    };
    let memory = match &raw.memory {
        Some(memory) => p.check_text(memory, "service.memory", validate::memory),
        None => Some(defaults::MEMORY),
    };
    let timeout = match &raw.timeout {
        Some(t) => p.check(t, "service.timeout", |s| validate::timeout(s)),
        None => Some(defaults::TIMEOUT),
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
    base: &Path,
) -> Option<ServiceSpec> {
    let name: Option<ServiceName> =
        typed(p, raw.name.as_ref(), "service.name", defaults::SERVICE_NAME);
    let image: Option<Option<ImageRef>> = match &raw.image {
        Some(image) => p
            .check_text(image, "service.image", |s| s.parse())
            .map(Some),
        None => Some(None),
    };
    // `service.source` is relative to the config file's directory, so that the file means
    // the same tree whatever directory the tool runs from (as Compose's `build:` does).
    let source: Option<Option<PathBuf>> = match &raw.source {
        Some(dir) => p
            .check_text(dir, "service.source", |s| match s.trim() {
                "" => Err(InvalidValue::new(
                    "`service.source` is empty",
                    "write the directory to build from, relative to this file, e.g. `..`",
                )),
                s => Ok(base.join(s)),
            })
            .map(Some),
        None => Some(None),
    };
    let dockerfile: Option<Option<String>> = match &raw.dockerfile {
        Some(file) => p
            .check_text(file, "service.dockerfile", validate::dockerfile)
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
    let traffic = match &raw.traffic {
        Some(t) => p.check_text(t, "service.traffic", |s| match s {
            "latest" => Ok(TrafficMode::Latest),
            "keep" => Ok(TrafficMode::Keep),
            other => Err(InvalidValue::new(
                format!("`{other}` is not a traffic mode"),
                "write `latest` (each deploy serves its new revision) or `keep` (the live split stays)",
            )),
        }),
        None => Some(TrafficMode::Latest),
    };
    let public_ack = match &raw.public_ack {
        Some(ack) => p.text(ack, "service.public_ack").map(str::to_owned),
        None => None,
    };
    let env = resolve_env(p, encryption_key, raw.env.as_ref());
    let secrets = resolve_secrets(p, &env, raw.secrets.as_ref());
    let (labels, tool_labels, commit_sha) = super::labels::resolve(p, raw.labels.as_ref());

    Some(ServiceSpec {
        name: name?,
        image: image?,
        source: source?,
        dockerfile: dockerfile?,
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
        traffic: traffic?,
        labels,
        tool_labels,
        commit_sha,
    })
}
