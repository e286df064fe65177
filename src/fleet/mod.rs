//! Many targets in one run: every environment named (`--env a --env b`,
//! `--all`) times every region of each (`regions:`), planned, granted and
//! rolled out as one run.
//!
//! A layer over the single-target pipeline, never a second one: each target
//! is planned by `plan::plan` exactly as alone (so its plan is the one a run
//! of that target alone would show), with the reads the targets share made
//! once (`gcp::shared_reads`); the grants of every target are then merged per
//! policy, so each policy is read and written once however many targets need
//! a binding in it (the etag rule as for one target, `apply::iam`); then each
//! target's rollout is `apply::apply_granted`, as alone. Plan, grants and
//! rollouts are each one concurrent wave (bounded by `--jobs`), so the
//! sequential depth of a run is that of one target while the targets fit in
//! `--jobs`.
//!
//! One target selected keeps today's path and today's output, byte for
//! byte; this module handles two or more (see `docs/targets.md`).

mod grants;
mod prepare;
mod report;
mod run;
pub(crate) mod saved;

use std::path::Path;

use serde::Serialize;

use crate::config::{self, Environment};
use crate::error::Error;

pub(crate) use run::{Mode, run};

/// Which environments a command acts on: `--env` (repeatable), `--all`, or
/// one `--target ENV/REGION`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Selection {
    pub(crate) envs: Vec<String>,
    pub(crate) all: bool,
    pub(crate) target: Option<String>,
}

impl Selection {
    pub(crate) fn of(args: crate::cli::SelectArgs) -> Selection {
        Selection {
            envs: args.env,
            all: args.all,
            target: None,
        }
    }

    pub(crate) fn one(env: &str) -> Selection {
        Selection {
            envs: vec![env.to_string()],
            ..Selection::default()
        }
    }
}

/// How the targets of a run are worked through.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FleetOptions {
    /// `--jobs`: targets in flight at once in each phase.
    pub(crate) jobs: usize,
    /// `--keep-going`: a failed rollout does not stop the others.
    pub(crate) keep_going: bool,
}

impl Default for FleetOptions {
    fn default() -> FleetOptions {
        FleetOptions {
            jobs: 4,
            keep_going: false,
        }
    }
}

/// How a target is named: `ENV/REGION`, what `targets` lists and `--target`
/// takes.
pub(crate) fn target_id(env: &Environment) -> String {
    format!("{}/{}", env.name, env.region)
}

/// Every target the selection names, in order: environments sorted by name
/// with `--all`, else as given (each once); each environment's regions in
/// file order. A config error is the first file's (exit 2, nothing sent).
pub(crate) fn select(config_dir: &Path, selection: &Selection) -> Result<Vec<Environment>, Error> {
    if let Some(target) = &selection.target {
        let Some((env, region)) = target.split_once('/') else {
            return Err(Error::Targets {
                message: format!("--target `{target}` is not ENV/REGION"),
                hint: "name a target as `autosre-deploy targets` lists it, e.g. `--target staging/us-central1`".into(),
            });
        };
        let file = config::load(config_dir, env)?;
        return one_target(file, Some(region)).map(|t| vec![t]);
    }
    let files = match selection.all {
        true => {
            let loaded = config::load_all(config_dir);
            if let Some(e) = loaded.errors.into_iter().next() {
                return Err(e.into());
            }
            if loaded.environments.is_empty() {
                return Err(Error::Targets {
                    message: format!("--all: no environments in `{}`", config_dir.display()),
                    hint: "create one `<env>.yaml` per environment there, or point at the right directory with --config-dir".into(),
                });
            }
            loaded.environments
        }
        false => {
            let mut names: Vec<&String> = Vec::new();
            for n in &selection.envs {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
            names
                .into_iter()
                .map(|n| config::load(config_dir, n))
                .collect::<Result<Vec<_>, _>>()?
        }
    };
    Ok(files.iter().flat_map(Environment::targets).collect())
}

/// A file as one target: the file with `region:`, or the region `region`
/// names among its `regions:` (or its only one).
pub(crate) fn one_target(file: Environment, region: Option<&str>) -> Result<Environment, Error> {
    let mut targets = file.targets();
    let listed = || {
        targets_of(&file)
            .iter()
            .map(|r| format!("`{r}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match region {
        Some(r) => match targets.iter().position(|t| t.region == r) {
            Some(i) => Ok(targets.swap_remove(i)),
            None => Err(Error::Targets {
                message: format!("{} does not deploy to `{r}`", file.source.display()),
                hint: format!("its regions: {}", listed()),
            }),
        },
        None if targets.len() == 1 => Ok(targets.remove(0)),
        None => Err(Error::Targets {
            message: format!(
                "{} deploys to {} regions and this command acts on one",
                file.source.display(),
                targets.len()
            ),
            hint: format!(
                "name it with `--region REGION` (one of {}); `deploy`, `plan` and `grant` take every region at once",
                listed()
            ),
        }),
    }
}

/// The regions of a file, in order.
fn targets_of(file: &Environment) -> Vec<String> {
    file.targets()
        .iter()
        .map(|t| t.region.to_string())
        .collect()
}

/// One line of `targets --output json`: what a CI matrix job needs to run
/// `deploy --target ENV/REGION`.
#[derive(Debug, Serialize)]
pub(crate) struct TargetLine {
    /// `ENV/REGION`, for `--target`.
    pub(crate) target: String,
    pub(crate) env: String,
    pub(crate) project: String,
    pub(crate) region: String,
    pub(crate) service: String,
}

impl TargetLine {
    pub(crate) fn of(env: &Environment) -> TargetLine {
        TargetLine {
            target: target_id(env),
            env: env.name.clone(),
            project: env.project.to_string(),
            region: env.region.to_string(),
            service: env.service.name.to_string(),
        }
    }
}
