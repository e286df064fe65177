//! Flags + config file + environment -> one finished settings struct per
//! command. Everything below the command layer sees only these.

use std::path::PathBuf;
use std::time::Duration;

use crate::apply::ApplyOptions;
use crate::cli::{GlobalArgs, LogFormat, Output};
use crate::config::{self, Environment};
use crate::error::CliError;

/// Settings every command shares.
#[derive(Clone, Debug)]
pub(crate) struct Globals {
    pub(crate) config_dir: PathBuf,
    pub(crate) output: Output,
    pub(crate) verbose: u8,
    pub(crate) quiet: bool,
    pub(crate) log_format: LogFormat,
    pub(crate) sandbox: Option<Sandbox>,
    pub(crate) poll_interval: Duration,
    pub(crate) propagation_retry: Duration,
}

/// Where the sandbox's world comes from.
#[derive(Clone, Debug)]
pub(crate) enum Sandbox {
    /// Seeded from the config so that a deploy succeeds.
    FromConfig,
    /// Seeded from an emulator world file.
    World(PathBuf),
}

impl Globals {
    pub(crate) fn resolve(g: GlobalArgs) -> Globals {
        let sandbox = match (g.sandbox_world, g.sandbox) {
            (Some(w), _) => Some(Sandbox::World(w)),
            (None, true) => Some(Sandbox::FromConfig),
            (None, false) => None,
        };
        Globals {
            config_dir: g.config_dir,
            output: g.output,
            verbose: g.verbose,
            quiet: g.quiet,
            log_format: g.log_format,
            sandbox,
            poll_interval: Duration::from_millis(g.poll_interval_ms.max(10)),
            propagation_retry: Duration::from_millis(g.propagation_retry_ms.max(10)),
        }
    }

    /// How the apply step runs, for `deploy` and `grant`.
    pub(crate) fn apply_options(
        &self,
        strict_iam: bool,
        propagation_timeout_secs: u64,
    ) -> ApplyOptions {
        ApplyOptions {
            strict_iam,
            poll_interval: self.poll_interval,
            propagation_timeout: Duration::from_secs(propagation_timeout_secs),
            propagation_retry: self.propagation_retry,
        }
    }

    pub(crate) fn load(&self, env: &str) -> Result<Environment, CliError> {
        Ok(config::load(&self.config_dir, env)?)
    }
}

/// The image to deploy: `--image`, else `service.image`.
pub(crate) fn image(env: &Environment, flag: Option<String>) -> Result<String, CliError> {
    match flag.or_else(|| env.service.image.as_ref().map(ToString::to_string)) {
        Some(i) if !i.trim().is_empty() => Ok(i),
        _ => Err(CliError::user(
            format!("no image to deploy for environment `{}`", env.name),
            Some(format!(
                "set `service.image` in {} or pass `--image IMAGE`",
                env.source.display()
            )),
        )),
    }
}
