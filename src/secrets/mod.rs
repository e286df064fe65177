//! `secrets status` and `secrets disable`: which secret versions exist, who
//! reads which, and a guard against disabling one a serving revision reads.
//!
//! `mod.rs` reads the facts from Google (concurrently: the service and its
//! revisions, each secret and its versions); `usage.rs` decides, purely, who
//! uses what and what disabling a version would break; `render.rs` prints
//! the report for people (text or Markdown).

pub(crate) mod render;
pub(crate) mod usage;

use std::collections::{BTreeMap, BTreeSet};

use futures::future::{try_join, try_join_all};
use google_cloud_run_v2::model::{Revision, Service, env_var::Values};
use google_cloud_secretmanager_v1::model::secret_version::State as VersionState;
use serde::Serialize;

use crate::config::Environment;
use crate::error::Error;
use crate::gcp::{GcpError, Google, Kind};
use crate::plan::live::{SecretId, VersionRef};
use crate::plan::names;
use usage::{RevisionFact, SecretStatus, VersionFact};

/// Refuse to disable `version` when it does not exist or a serving revision
/// reads it (pinned, or through `latest` or an alias): its new instances
/// would fail to start. The one guard of every command that disables or
/// destroys a version; today that is `secrets disable` alone (the `key`
/// commands only add versions).
pub(crate) fn guard_disable(status: &SecretStatus, version: u64) -> Result<(), Error> {
    if !status.versions.iter().any(|v| v.version == version) {
        return Err(Error::SecretVersionMissing {
            secret: format!("projects/{}/secrets/{}", status.project, status.secret),
            version,
        });
    }
    let uses = usage::disable_refusal(status, version);
    match uses.is_empty() {
        true => Ok(()),
        false => Err(Error::VersionInUse {
            secret: status.secret.clone(),
            version,
            uses,
        }),
    }
}

/// One serving revision and the version of a secret it reads through one
/// env var (`key rotate`: which key version each serving revision reads).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct ServingRead {
    pub(crate) revision: String,
    pub(crate) percent: i32,
    /// The version number it reads now; `None` when the revision does not
    /// read the secret through that env var (or reads a version gone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<u64>,
    /// As the revision names it: the number, `latest` or an alias.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reference: Option<String>,
}

impl ServingRead {
    pub(crate) fn words(&self) -> String {
        let what = match (&self.version, &self.reference) {
            (Some(n), Some(r)) if r.parse::<u64>().is_ok() => format!("reads key version {n}"),
            (Some(n), Some(r)) => format!("reads key version {n} (via `{r}`)"),
            _ => "reads no version of the key secret".to_string(),
        };
        format!(
            "serving: revision {} ({}% of traffic) {what}",
            self.revision, self.percent
        )
    }
}

/// For each serving revision of `report`, the version of `secret` it reads
/// as env var `var`, from the same facts as `secrets status`.
pub(crate) fn serving_reads(report: &Report, secret: &SecretId, var: &str) -> Vec<ServingRead> {
    let status = report
        .secrets
        .iter()
        .find(|s| s.project == secret.project && s.secret == secret.secret);
    report
        .serving
        .iter()
        .map(|(revision, percent)| {
            let read = status.and_then(|s| {
                s.versions.iter().find_map(|v| {
                    v.used_by
                        .iter()
                        .find(|u| &u.revision == revision && u.env == var)
                        .map(|u| (v.version, u.reference.clone()))
                })
            });
            ServingRead {
                revision: revision.clone(),
                percent: *percent,
                version: read.as_ref().map(|(n, _)| *n),
                reference: read.map(|(_, r)| r),
            }
        })
        .collect()
}

/// Bumped whenever the JSON shape of the report changes incompatibly.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// `secrets status`: every referenced secret, by the config or a revision.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) schema_version: u32,
    pub(crate) environment: String,
    pub(crate) service: String,
    /// Revision -> its traffic percent, serving ones only.
    pub(crate) serving: BTreeMap<String, i32>,
    pub(crate) secrets: Vec<SecretStatus>,
}

/// Read the status of every secret the config or a revision of its service
/// references; with `only`, of that secret alone.
pub(crate) async fn read(
    google: &Google,
    env: &Environment,
    only: Option<&SecretId>,
) -> Result<Report, GcpError> {
    let name = names::service_name(env);
    let (service, revisions) = try_join(google.service(&name), async {
        match google.revisions(&name).await {
            Err(e) if e.is(Kind::NotFound) => Ok(Vec::new()),
            r => r,
        }
    })
    .await?;
    // revisions.list has no order (run.v2 discovery: only parent, pageSize,
    // pageToken, showDeleted): newest first by createTime, for a stable report.
    let mut revisions = revisions;
    revisions.sort_by(|a, b| {
        let t = |r: &Revision| r.create_time.map(|t| (t.seconds(), t.nanos()));
        t(b).cmp(&t(a)).then_with(|| b.name.cmp(&a.name))
    });
    let serving = traffic(service.as_ref());
    let ids = [env.project.to_string()];
    let revisions: Vec<RevisionFact> = revisions
        .iter()
        .map(|r| revision_fact(r, &serving, &ids, &env.project))
        .collect();
    let config: Vec<(String, VersionRef)> = env
        .service
        .secrets
        .iter()
        .map(|(var, r)| (var.clone(), VersionRef::of(env, r)))
        .collect();
    let mut secrets: BTreeSet<SecretId> = config.iter().map(|(_, k)| k.id.clone()).collect();
    secrets.extend(
        revisions
            .iter()
            .flat_map(|r| r.refs.iter().map(|(_, id, _)| id.clone())),
    );
    if let Some(only) = only {
        secrets = BTreeSet::from([only.clone()]);
    }
    let (config, revisions) = (&config, &revisions);
    let statuses = try_join_all(secrets.iter().map(|id| async move {
        let (secret, versions) = try_join(google.secret(&id.project, &id.secret), async {
            match google.secret_versions(&id.project, &id.secret).await {
                Err(e) if e.is(Kind::NotFound) => Ok(Vec::new()),
                r => r,
            }
        })
        .await?;
        let aliases: BTreeMap<String, u64> = secret
            .as_ref()
            .map(|s| {
                s.version_aliases
                    .iter()
                    .map(|(k, v)| (k.clone(), *v as u64))
                    .collect()
            })
            .unwrap_or_default();
        let facts: Vec<VersionFact> = versions
            .iter()
            .filter_map(|v| {
                Some(VersionFact {
                    number: v.name.rsplit('/').next()?.parse().ok()?,
                    state: state_name(&v.state).into(),
                    create_time: v.create_time.map(String::from).unwrap_or_default(),
                })
            })
            .collect();
        let reads: Vec<(String, String)> = config
            .iter()
            .filter(|(_, k)| &k.id == id)
            .map(|(var, k)| (var.clone(), k.version.clone()))
            .collect();
        Ok::<_, GcpError>(usage::status(
            id,
            secret.is_some(),
            &facts,
            &aliases,
            revisions,
            &reads,
        ))
    }))
    .await?;
    Ok(Report {
        schema_version: SCHEMA_VERSION,
        environment: env.name.clone(),
        service: env.service.name.to_string(),
        serving,
        secrets: statuses,
    })
}

fn state_name(s: &VersionState) -> &'static str {
    match s {
        VersionState::Enabled => "ENABLED",
        VersionState::Disabled => "DISABLED",
        VersionState::Destroyed => "DESTROYED",
        _ => "UNKNOWN",
    }
}

fn short(name: &str) -> String {
    name.rsplit('/').next().unwrap_or(name).to_string()
}

/// Revision -> percent of traffic, from the service's `trafficStatuses`
/// (what serves now); a `LATEST` target is the latest ready revision.
fn traffic(service: Option<&Service>) -> BTreeMap<String, i32> {
    use google_cloud_run_v2::model::TrafficTargetAllocationType as T;
    let mut out = BTreeMap::new();
    let Some(s) = service else {
        return out;
    };
    for t in &s.traffic_statuses {
        let revision = match (&t.r#type, t.revision.is_empty()) {
            (T::Latest, _) | (_, true) => short(&s.latest_ready_revision),
            _ => short(&t.revision),
        };
        if t.percent > 0 && !revision.is_empty() {
            *out.entry(revision).or_insert(0) += t.percent;
        }
    }
    out
}

/// The services (by short name) whose current template reads secret `id`
/// from an env var: what else a disabled version may break. `project` is the
/// services' own project, where a bare secret id lives.
pub(crate) fn services_reading(
    services: &[google_cloud_run_v2::model::Service],
    id: &SecretId,
    project: &str,
) -> Vec<String> {
    services
        .iter()
        .filter(|s| {
            s.template
                .iter()
                .flat_map(|t| &t.containers)
                .flat_map(|c| &c.env)
                .any(|e| {
                    let Some(Values::ValueSource(src)) = &e.values else {
                        return false;
                    };
                    let Some(k) = &src.secret_key_ref else {
                        return false;
                    };
                    match k.secret.split('/').collect::<Vec<_>>().as_slice() {
                        // A project number cannot be told from the id offline:
                        // the secret's name decides.
                        ["projects", p, "secrets", s] => {
                            *s == id.secret
                                && (*p == id.project || p.chars().all(|c| c.is_ascii_digit()))
                        }
                        _ => k.secret == id.secret && project == id.project,
                    }
                })
        })
        .map(|s| short(&s.name))
        .collect()
}

/// A revision's secret references: a bare secret id is in the service's own
/// project, as is `projects/P/secrets/S` when P is one of `ids`.
fn revision_fact(
    r: &Revision,
    serving: &BTreeMap<String, i32>,
    ids: &[String],
    project: &str,
) -> RevisionFact {
    let name = short(&r.name);
    let refs = r
        .containers
        .iter()
        .flat_map(|c| c.env.iter())
        .filter_map(|e| match &e.values {
            Some(Values::ValueSource(src)) => {
                let k = src.secret_key_ref.as_ref()?;
                let id = match k.secret.split('/').collect::<Vec<_>>().as_slice() {
                    ["projects", p, "secrets", s] if !ids.iter().any(|i| i == p) => SecretId {
                        project: (*p).to_string(),
                        secret: (*s).to_string(),
                    },
                    ["projects", _, "secrets", s] => SecretId {
                        project: project.to_string(),
                        secret: (*s).to_string(),
                    },
                    _ => SecretId {
                        project: project.to_string(),
                        secret: k.secret.clone(),
                    },
                };
                let version = match k.version.as_str() {
                    "" => "latest".to_string(),
                    v => v.to_string(),
                };
                Some((e.name.clone(), id, version))
            }
            _ => None,
        })
        .collect();
    RevisionFact {
        percent: serving.get(&name).copied().unwrap_or(0),
        name,
        refs,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::usage::{RevisionFact, VersionFact, status};
    use super::*;

    fn key_status(reference: &str, percent: i32) -> SecretStatus {
        let id = SecretId {
            project: "p".into(),
            secret: "key".into(),
        };
        let versions: Vec<VersionFact> = (1..=2)
            .map(|n| VersionFact {
                number: n,
                state: "ENABLED".into(),
                create_time: String::new(),
            })
            .collect();
        let revisions = [RevisionFact {
            name: "svc-1".into(),
            percent,
            refs: vec![("KEY".into(), id.clone(), reference.into())],
        }];
        status(&id, true, &versions, &BTreeMap::new(), &revisions, &[])
    }

    /// A `|` or a line break in a value stays in its cell of the Markdown table.
    #[test]
    fn a_pipe_in_a_value_stays_in_its_cell() {
        let mut st = key_status("1", 100);
        st.versions[0].create_time = "2026|01\n01".into();
        let report = Report {
            schema_version: 1,
            environment: "staging".into(),
            service: "svc".into(),
            serving: BTreeMap::from([("svc-1".to_string(), 100)]),
            secrets: vec![st],
        };
        let md = render::markdown(&report);
        assert_eq!(
            crate::printer::markdown::assert_tables_intact(&md),
            1,
            "{md}"
        );
        assert!(md.contains("2026\\|01<br>01"), "{md}");
    }

    /// The one guard of `secrets disable`: a version a serving revision
    /// reads, pinned or through `latest`, is refused; one only a revision
    /// without traffic reads is not; a version that does not exist is its
    /// own error.
    #[test]
    fn the_guard_refuses_what_a_serving_revision_reads() {
        let pinned = key_status("1", 100);
        assert!(matches!(
            guard_disable(&pinned, 1),
            Err(Error::VersionInUse { version: 1, .. })
        ));
        assert!(guard_disable(&pinned, 2).is_ok());

        let latest = key_status("latest", 100);
        match guard_disable(&latest, 2) {
            Err(Error::VersionInUse { uses, .. }) => assert_eq!(uses[0].how(), "via `latest`"),
            other => panic!("{other:?}"),
        }
        assert!(guard_disable(&latest, 1).is_ok());

        let rollback_only = key_status("1", 0);
        assert!(guard_disable(&rollback_only, 1).is_ok());
        assert!(matches!(
            guard_disable(&pinned, 3),
            Err(Error::SecretVersionMissing { version: 3, .. })
        ));
    }
}
