//! A saved plan of several targets: `plan --out FILE` over two or more
//! targets, then `deploy --plan FILE` applies every target's plan, or none
//! when any target's config or live state changed since.
//!
//! The file holds one single-target saved plan per target (each with its
//! own config hash and digest, exactly as `plan --out` of that target alone
//! writes it) and a digest over them, so an entry cannot be edited, removed
//! or swapped without the file being refused.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::Environment;
use crate::error::Error;
use crate::plan::saved::{SavedPlan, SavedPlanError, environment_sha256, sha256_hex};
use crate::plan::{Planned, SCHEMA_VERSION};

/// Marks the file as a plan of several targets.
const KIND: &str = "autosre-deploy-plans";

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SavedFleet {
    kind: String,
    schema_version: u32,
    /// Each target's saved plan, in the run's order.
    targets: Vec<Target>,
    digest: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Target {
    /// `ENV/REGION`.
    target: String,
    #[serde(flatten)]
    saved: SavedPlan,
}

impl SavedFleet {
    /// Each target's plan, its environment (as resolved before `--image`)
    /// and image, with the run's `--set-env`.
    pub(crate) fn new<'a>(
        plans: impl Iterator<Item = (&'a Planned, &'a Environment, Option<&'a str>)>,
        set_env: &[(String, String)],
    ) -> SavedFleet {
        let targets = plans
            .map(|(planned, env, image)| Target {
                target: super::target_id(env),
                saved: SavedPlan::new(
                    planned,
                    image.unwrap_or_default(),
                    set_env,
                    environment_sha256(env),
                ),
            })
            .collect();
        let mut fleet = SavedFleet {
            kind: KIND.into(),
            schema_version: SCHEMA_VERSION,
            targets,
            digest: String::new(),
        };
        fleet.digest = fleet.compute_digest();
        fleet
    }

    fn compute_digest(&self) -> String {
        let entries: Vec<(&str, &str)> = self
            .targets
            .iter()
            .map(|t| (t.target.as_str(), t.saved.digest.as_str()))
            .collect();
        sha256_hex(
            &serde_json::to_vec(&(&self.kind, self.schema_version, entries))
                .expect("a plan serializes"),
        )
    }

    pub(crate) fn write(&self, path: &Path) -> Result<(), SavedPlanError> {
        let text = serde_json::to_string_pretty(self).expect("a plan serializes");
        std::fs::write(path, text + "\n").map_err(|source| SavedPlanError::Write {
            path: path.display().to_string(),
            source,
        })
    }

    /// The file at `path` when it is a plan of several targets; `None` when
    /// it is something else (a single-target plan is read by its own reader,
    /// which refuses what is neither).
    pub(crate) fn read(path: &Path) -> Result<Option<SavedFleet>, SavedPlanError> {
        let shown = path.display().to_string();
        let Ok(meta) = path.metadata() else {
            return Ok(None);
        };
        if !meta.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(path).map_err(|source| SavedPlanError::Read {
            path: shown.clone(),
            source,
        })?;
        let kind = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string));
        if kind.as_deref() != Some(KIND) {
            return Ok(None);
        }
        let fleet: SavedFleet =
            serde_json::from_str(&text).map_err(|e| SavedPlanError::NotAPlan {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
        if fleet.schema_version != SCHEMA_VERSION {
            return Err(SavedPlanError::NotAPlan {
                path: shown,
                reason: format!(
                    "schema_version {} (this autosre-deploy reads {SCHEMA_VERSION})",
                    fleet.schema_version
                ),
            });
        }
        // Each entry must be exactly what `plan --out` wrote for it (by this
        // version), and the list exactly the one the digest covers.
        for t in &fleet.targets {
            t.saved.intact().map_err(|e| match e {
                SavedPlanError::Edited { .. } => SavedPlanError::Edited {
                    path: shown.clone(),
                },
                SavedPlanError::OtherVersion { saved, .. } => SavedPlanError::OtherVersion {
                    path: shown.clone(),
                    saved,
                },
                e => e,
            })?;
        }
        if fleet.digest != fleet.compute_digest() {
            return Err(SavedPlanError::Edited { path: shown });
        }
        Ok(Some(fleet))
    }

    /// The targets the plan is for, `ENV/REGION`, in order.
    pub(crate) fn target_ids(&self) -> Vec<String> {
        self.targets.iter().map(|t| t.target.clone()).collect()
    }

    /// The `--set-env` the plan was made with (the same for every target).
    pub(crate) fn set_env(&self) -> Vec<(String, String)> {
        self.targets
            .first()
            .map(|t| t.saved.set_env_pairs())
            .unwrap_or_default()
    }

    pub(crate) fn get(&self, target: &str) -> Option<&SavedPlan> {
        self.targets
            .iter()
            .find(|t| t.target == target)
            .map(|t| &t.saved)
    }

    /// The environment of a target must resolve now as when it was planned.
    pub(crate) fn check_config(&self, env: &Environment, saved: &SavedPlan) -> Result<(), Error> {
        match environment_sha256(env) == saved.config_sha256 {
            true => Ok(()),
            false => Err(Error::ConfigChangedSincePlan {
                env: super::target_id(env),
                file: env.source.clone(),
            }),
        }
    }

    /// The run deploys exactly the plan's targets.
    pub(crate) fn same_targets<'a>(&self, ids: impl Iterator<Item = &'a str>) -> Result<(), Error> {
        let now: Vec<&str> = ids.collect();
        let planned = self.target_ids();
        match now == planned {
            true => Ok(()),
            false => Err(Error::Targets {
                message: format!(
                    "the saved plan is for {}, not {}",
                    planned.join(", "),
                    now.join(", ")
                ),
                hint: "make a fresh plan with `autosre-deploy plan ... --out FILE`".into(),
            }),
        }
    }
}
