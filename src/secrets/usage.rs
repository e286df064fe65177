//! Who uses which secret version, and what disabling one would break: pure,
//! from plain facts (the versions listed, the secret's aliases, the service's
//! revisions and their traffic, the config's references), so every rule is a
//! unit test.
//!
//! An env-var secret is resolved when an instance starts
//! (https://cloud.google.com/run/docs/configuring/services/secrets): a
//! revision that reads version 7, or reads `latest` while `latest` is 7,
//! starts no new instance once 7 is disabled. `latest` is "the most recently
//! created SecretVersion" whatever its state (secretmanager.v1 discovery,
//! versions.get), so it resolves to the highest number listed.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::plan::live::SecretId;

/// One listed version of a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct VersionFact {
    pub(crate) number: u64,
    /// `ENABLED`, `DISABLED` or `DESTROYED`.
    pub(crate) state: String,
    pub(crate) create_time: String,
}

/// One revision of the service and the secret versions its env vars read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RevisionFact {
    /// Short name, e.g. `autosre-00002-abc`.
    pub(crate) name: String,
    /// Its share of traffic now (0 when it serves none).
    pub(crate) percent: i32,
    /// env var -> (secret, version as written: a number, `latest` or an alias).
    pub(crate) refs: Vec<(String, SecretId, String)>,
}

/// An env var of a revision that reads a version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Use {
    pub(crate) revision: String,
    pub(crate) env: String,
    /// As the revision names it: the number, `latest` or an alias.
    pub(crate) reference: String,
    pub(crate) serving: bool,
    pub(crate) percent: i32,
}

impl Use {
    /// How the revision names the version: `pinned` (by its number), or
    /// ``via `latest` `` / an alias.
    pub(crate) fn how(&self) -> String {
        match self.reference.parse::<u64>() {
            Ok(_) => "pinned".to_string(),
            Err(_) => format!("via `{}`", self.reference),
        }
    }
}

/// What stops working if a version is disabled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Break {
    /// A serving revision starts no new instance (scaling up, replacing one).
    ServingRevision { revision: String, percent: i32 },
    /// A revision without traffic can no longer be rolled back to.
    Rollback { revision: String },
    /// The config's next deploy reads it: its preflight stops.
    NextDeploy { env: Vec<String> },
}

/// An env var of the config reading this secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct ConfigRef {
    pub(crate) env: String,
    pub(crate) reference: String,
    /// The number it resolves to now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) resolves_to: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct VersionStatus {
    pub(crate) version: u64,
    pub(crate) state: String,
    pub(crate) create_time: String,
    pub(crate) used_by: Vec<Use>,
    /// For an enabled version: what disabling it would break.
    pub(crate) breaks: Vec<Break>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct SecretStatus {
    pub(crate) project: String,
    pub(crate) secret: String,
    pub(crate) exists: bool,
    /// What `latest` resolves to now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) latest: Option<u64>,
    pub(crate) config: Vec<ConfigRef>,
    /// Newest first.
    pub(crate) versions: Vec<VersionStatus>,
}

/// Everything about one secret, from its facts. `exists` false: the secret
/// is gone (its versions empty).
pub(crate) fn status(
    id: &SecretId,
    exists: bool,
    versions: &[VersionFact],
    aliases: &BTreeMap<String, u64>,
    revisions: &[RevisionFact],
    config: &[(String, String)],
) -> SecretStatus {
    let latest = versions.iter().map(|v| v.number).max();
    let resolve = |reference: &str| -> Option<u64> {
        match reference {
            "latest" => latest,
            r => r.parse().ok().or_else(|| aliases.get(r).copied()),
        }
    };
    let config: Vec<ConfigRef> = config
        .iter()
        .map(|(env, reference)| ConfigRef {
            env: env.clone(),
            reference: reference.clone(),
            resolves_to: resolve(reference),
        })
        .collect();
    let mut sorted: Vec<&VersionFact> = versions.iter().collect();
    sorted.sort_by_key(|v| std::cmp::Reverse(v.number));
    let versions = sorted
        .into_iter()
        .map(|v| {
            let used_by: Vec<Use> = revisions
                .iter()
                .flat_map(|r| {
                    r.refs
                        .iter()
                        .filter(|(_, s, reference)| s == id && resolve(reference) == Some(v.number))
                        .map(|(env, _, reference)| Use {
                            revision: r.name.clone(),
                            env: env.clone(),
                            reference: reference.clone(),
                            serving: r.percent > 0,
                            percent: r.percent,
                        })
                })
                .collect();
            let mut breaks = Vec::new();
            if v.state == "ENABLED" {
                let mut seen = Vec::new();
                for u in &used_by {
                    if seen.contains(&u.revision) {
                        continue;
                    }
                    seen.push(u.revision.clone());
                    breaks.push(match u.serving {
                        true => Break::ServingRevision {
                            revision: u.revision.clone(),
                            percent: u.percent,
                        },
                        false => Break::Rollback {
                            revision: u.revision.clone(),
                        },
                    });
                }
                let env: Vec<String> = config
                    .iter()
                    .filter(|c| c.resolves_to == Some(v.number))
                    .map(|c| c.env.clone())
                    .collect();
                if !env.is_empty() {
                    breaks.push(Break::NextDeploy { env });
                }
            }
            VersionStatus {
                version: v.number,
                state: v.state.clone(),
                create_time: v.create_time.clone(),
                used_by,
                breaks,
            }
        })
        .collect();
    SecretStatus {
        project: id.project.clone(),
        secret: id.secret.clone(),
        exists,
        latest,
        config,
        versions,
    }
}

/// Why a version must not be disabled: the serving revisions that read it
/// (pinned, or through `latest` or an alias that resolves to it). Shared by
/// every command that disables or destroys a version.
pub(crate) fn disable_refusal(status: &SecretStatus, version: u64) -> Vec<Use> {
    status
        .versions
        .iter()
        .filter(|v| v.version == version)
        .flat_map(|v| v.used_by.iter().filter(|u| u.serving).cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> SecretId {
        SecretId {
            project: "p".into(),
            secret: s.into(),
        }
    }

    fn v(n: u64, state: &str) -> VersionFact {
        VersionFact {
            number: n,
            state: state.into(),
            create_time: format!("2026-01-0{n}T00:00:00Z"),
        }
    }

    fn rev(name: &str, percent: i32, refs: &[(&str, &str, &str)]) -> RevisionFact {
        RevisionFact {
            name: name.into(),
            percent,
            refs: refs
                .iter()
                .map(|(e, s, r)| (e.to_string(), id(s), r.to_string()))
                .collect(),
        }
    }

    fn key_status(revisions: &[RevisionFact]) -> SecretStatus {
        let aliases = BTreeMap::from([("current".to_string(), 2)]);
        status(
            &id("key"),
            true,
            &[v(1, "ENABLED"), v(2, "ENABLED"), v(3, "ENABLED")],
            &aliases,
            revisions,
            &[("KEY".into(), "latest".into())],
        )
    }

    #[test]
    fn a_pinned_version_is_used_by_its_revision_with_its_traffic() {
        let s = key_status(&[
            rev("svc-2", 90, &[("KEY", "key", "2")]),
            rev("svc-1", 10, &[("KEY", "key", "1")]),
            rev("svc-0", 0, &[("KEY", "key", "1"), ("OTHER", "other", "1")]),
        ]);
        assert_eq!(s.latest, Some(3));
        let by = |n: u64| s.versions.iter().find(|x| x.version == n).unwrap();
        assert_eq!(by(2).used_by.len(), 1);
        assert_eq!(
            by(1).breaks,
            [
                Break::ServingRevision {
                    revision: "svc-1".into(),
                    percent: 10
                },
                Break::Rollback {
                    revision: "svc-0".into()
                }
            ]
        );
        // The config reads latest (3): disabling 3 breaks the next deploy only.
        assert_eq!(
            by(3).breaks,
            [Break::NextDeploy {
                env: vec!["KEY".into()]
            }]
        );
        assert_eq!(s.versions[0].version, 3, "newest first");
        assert_eq!(disable_refusal(&s, 1).len(), 1);
        assert!(disable_refusal(&s, 3).is_empty());
    }

    #[test]
    fn latest_and_aliases_count_for_the_version_they_resolve_to() {
        let s = key_status(&[
            rev("svc-2", 100, &[("KEY", "key", "latest")]),
            rev("svc-1", 0, &[("KEY", "key", "current")]),
        ]);
        let refused = disable_refusal(&s, 3);
        assert_eq!(refused.len(), 1);
        assert_eq!(
            (refused[0].revision.as_str(), refused[0].reference.as_str()),
            ("svc-2", "latest")
        );
        // The alias names 2; svc-1 serves nothing: a rollback target only.
        assert!(disable_refusal(&s, 2).is_empty());
        let two = s.versions.iter().find(|x| x.version == 2).unwrap();
        assert_eq!(
            two.breaks,
            [Break::Rollback {
                revision: "svc-1".into()
            }]
        );
    }

    #[test]
    fn a_disabled_version_breaks_nothing_more_and_latest_includes_it() {
        let s = status(
            &id("key"),
            true,
            &[v(1, "ENABLED"), v(2, "DISABLED")],
            &BTreeMap::new(),
            &[rev("svc-1", 100, &[("KEY", "key", "1")])],
            &[],
        );
        // `latest` is the newest whatever its state.
        assert_eq!(s.latest, Some(2));
        assert!(s.versions[0].breaks.is_empty());
        assert_eq!(s.versions[1].breaks.len(), 1);
    }
}
