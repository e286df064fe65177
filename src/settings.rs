//! Flags + config file + environment -> one finished settings struct per
//! command (uv's `XSettings::resolve`). Everything below the command layer
//! sees only these; clap types stop here.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::Env;
use crate::apply::ApplyOptions;
use crate::cli::{DeployArgs, GlobalArgs, GrantArgs, KeyRotateArgs, Output, PlanArgs};
use crate::config::{self, Environment, PlainEnvRefusal};
use crate::error::Error;
use crate::gcp::Retry;
use crate::interrupt::Interrupt;

/// Settings every command shares.
#[derive(Clone, Debug)]
pub(crate) struct Globals {
    pub(crate) config_dir: PathBuf,
    pub(crate) output: Output,
    #[cfg(feature = "sandbox")]
    pub(crate) sandbox: Option<Sandbox>,
    pub(crate) poll_interval: Duration,
    pub(crate) propagation_retry: Duration,
    pub(crate) retry: Retry,
    pub(crate) interrupt: Interrupt,
    /// `--impersonate-service-account` (the variable is read with the
    /// credentials, in `gcp::credentials`).
    pub(crate) impersonate_service_account: Option<String>,
    /// The run as a CI step (GitHub Actions outputs, summary, annotations).
    pub(crate) ci: crate::ci::Ci,
    /// `--timeout`, and when it runs out (from the start of the run).
    pub(crate) timeout: Duration,
    pub(crate) deadline: Instant,
    /// A wait for Google longer than this is shown (what, for how long).
    pub(crate) slow_wait: Duration,
    /// The command as typed (`key rotate`), for Markdown headings.
    pub(crate) command: &'static str,
    /// With a `regions:` file, the one region a single-target command acts
    /// on (`--region`, or the region of `--target` or of the one target
    /// selected); see [`Globals::load`].
    pub(crate) region: Option<String>,
    /// The one target selected, as read when the run chose its targets:
    /// [`Globals::load`] of it answers it rather than reading and parsing
    /// its file again (set with `region`, by `commands::for_one`).
    pub(crate) selected: Option<std::sync::Arc<Environment>>,
    /// `GITHUB_SHA`: the commit a GitHub Actions run deploys (labelled `commit-sha`).
    pub(crate) github_sha: Option<String>,
}

/// Where the sandbox's world comes from.
#[cfg(feature = "sandbox")]
#[derive(Clone, Debug)]
pub(crate) enum Sandbox {
    /// Seeded from the config so that a deploy succeeds.
    FromConfig,
    /// Seeded from an emulator world file.
    World(PathBuf),
}

/// `deploy --iam-propagation-timeout`'s default (Google: grants apply in up
/// to 7 minutes).
pub(crate) const DEFAULT_PROPAGATION_TIMEOUT: Duration = Duration::from_secs(420);

/// A duration from a flag, else an environment variable (both through the
/// one duration parser: a bare number is milliseconds), else a default in
/// ms; at least 10 ms.
fn millis(
    flag: Option<Duration>,
    env: &Env,
    var: &'static str,
    default: u64,
) -> Result<Duration, Error> {
    let from_env = || {
        env.get(var)
            .map(|v| {
                autosre_types::parse_duration(v.trim(), autosre_types::Bare::Millis)
                    .map_err(|cause| Error::EnvDuration { var, cause })
            })
            .transpose()
    };
    let d = match flag {
        Some(d) => d,
        None => from_env()?.unwrap_or(Duration::from_millis(default)),
    };
    Ok(d.max(Duration::from_millis(10)))
}

impl Globals {
    pub(crate) fn resolve(
        g: GlobalArgs,
        env: &Env,
        interrupt: Interrupt,
        command: &'static str,
        ci: crate::ci::Ci,
    ) -> Result<Globals, Error> {
        Ok(Globals {
            command,
            region: None,
            selected: None,
            github_sha: env.get("GITHUB_SHA").filter(|s| !s.trim().is_empty()),
            interrupt,
            ci,
            impersonate_service_account: g.impersonate_service_account,
            timeout: g.timeout,
            deadline: Instant::now() + g.timeout,
            slow_wait: millis(g.slow_wait_ms, env, "AUTOSRE_DEPLOY_SLOW_WAIT_MS", 5000)?,
            config_dir: g.config_dir,
            output: g.output,
            #[cfg(feature = "sandbox")]
            sandbox: match (g.sandbox_world, g.sandbox) {
                (Some(w), _) => Some(Sandbox::World(w)),
                (None, true) => Some(Sandbox::FromConfig),
                (None, false) => None,
            },
            poll_interval: millis(
                g.poll_interval_ms,
                env,
                "AUTOSRE_DEPLOY_POLL_INTERVAL_MS",
                1000,
            )?,
            propagation_retry: millis(
                g.propagation_retry_ms,
                env,
                "AUTOSRE_DEPLOY_PROPAGATION_RETRY_MS",
                30_000,
            )?,
            retry: Retry {
                initial: millis(
                    g.retry_initial_ms,
                    env,
                    "AUTOSRE_DEPLOY_RETRY_INITIAL_MS",
                    1000,
                )?,
                attempt_timeout: g.request_timeout,
                ..Retry::default()
            },
        })
    }

    /// `config/<env>.yaml` as one target: the file with `region:`, or the
    /// region [`Globals::region`] names of a `regions:` file (or its only
    /// one); several regions and none named is an error that says how to
    /// name one.
    pub(crate) fn load(&self, env: &str) -> Result<Environment, Error> {
        if let Some(selected) = self.selected.as_deref().filter(|t| t.name == env) {
            return Ok(selected.clone());
        }
        let file = config::load(&self.config_dir, env)?;
        crate::fleet::one_target(file, self.region.as_deref())
    }

    fn apply_options(&self, strict_iam: bool, propagation_timeout: Duration) -> ApplyOptions {
        ApplyOptions {
            strict_iam,
            poll_interval: self.poll_interval,
            propagation_timeout,
            propagation_retry: self.propagation_retry,
            deadline: self.deadline,
            interrupt: self.interrupt.clone(),
        }
    }
}

/// The image to deploy: `--image`, else `service.image`.
fn image(env: &Environment, flag: Option<String>) -> Result<String, Error> {
    if let Some(flag) = flag {
        // The same rule as `service.image`: `--image ""` or a value that is
        // no image reference is refused before anything is sent.
        return config::parse_image(&flag)
            .map(|i| i.to_string())
            .map_err(|cause| Error::InvalidImage { value: flag, cause });
    }
    match env.service.image.as_ref().map(ToString::to_string) {
        Some(i) if !i.trim().is_empty() => Ok(i),
        _ => Err(Error::NoImage {
            env: env.name.clone(),
            file: env.source.clone(),
        }),
    }
}

/// `--set-env KEY=VALUE` (deploy and plan): one-off plain env vars over
/// `service.env`, under the config's guardrails: a credential-like name
/// (unless `service.plain_env_allow` lists it), the encryption key's variable
/// and a name in `service.secrets` are refused before anything is sent. Returns
/// the names set, for the plan to show where they came from.
pub(crate) fn apply_set_env(
    env: &mut Environment,
    set: &[(String, String)],
) -> Result<Vec<String>, Error> {
    let refuse = |name: &str, reason: String, hint: String| Error::SetEnv {
        name: name.to_string(),
        reason,
        hint,
    };
    for (name, value) in set {
        config::env_name(name).map_err(|e| refuse(name, e.message().into(), e.hint().into()))?;
        config::env_value_size(name, value)
            .map_err(|e| refuse(name, e.message().into(), e.hint().into()))?;
        let refusal = config::plain_env_refusal(
            name,
            &env.service.plain_env_allow,
            &env.encryption_key.env,
            env.service.secrets.contains_key(name),
        );
        match refusal {
            None => {}
            Some(PlainEnvRefusal::EncryptionKey) => {
                return Err(refuse(
                    name,
                    "it is the encryption key's variable (`encryption_key.env`)".into(),
                    "the key comes from Secret Manager only; rotate it there".into(),
                ));
            }
            Some(PlainEnvRefusal::InSecrets) => {
                return Err(refuse(
                    name,
                    "`service.secrets` sets it from Secret Manager".into(),
                    format!("change the secret, or remove `{name}` from `service.secrets`"),
                ));
            }
            Some(PlainEnvRefusal::LooksLikeCredential) => {
                return Err(refuse(
                    name,
                    "its name looks like a credential, which never goes in a plain env var".into(),
                    format!(
                        "put it in Secret Manager and reference it under `service.secrets`, or list `{name}` in `service.plain_env_allow` if it is not secret"
                    ),
                ));
            }
        }
        env.service.env.insert(name.clone(), value.clone());
    }
    Ok(set.iter().map(|(n, _)| n.clone()).collect())
}

/// `--label KEY=VALUE` (deploy and plan) over `service.labels`, checked
/// against Cloud Run's label rules before anything is sent, and the commit
/// deployed: `--label commit-sha=...`, else `service.labels`' `commit-sha`,
/// else `GITHUB_SHA` (lowercased, as google-github-actions/deploy-cloudrun's
/// `defaultLabels` does) unless `service.labels: false`.
pub(crate) fn apply_labels(
    env: &mut Environment,
    given: &[(String, String)],
    github_sha: Option<&str>,
) -> Result<(), Error> {
    use crate::config::labels;
    for (key, value) in given {
        let refuse = |e: crate::config::InvalidValue| Error::Label {
            given: format!("{key}={value}"),
            reason: e.message().into(),
            hint: e.hint().into(),
        };
        labels::label_key(key).map_err(refuse)?;
        labels::label_value(key, value).map_err(refuse)?;
        match key.as_str() {
            labels::COMMIT_SHA => env.service.commit_sha = Some(value.clone()),
            _ => {
                env.service.labels.insert(key.clone(), value.clone());
            }
        }
    }
    let s = &mut env.service;
    if s.commit_sha.is_none() && s.tool_labels {
        s.commit_sha = github_sha.map(|sha| sha.trim().to_lowercase());
    }
    // The tool's own `managed-by`, the commit, and the rest: one count.
    let count = s.labels.len()
        + usize::from(s.tool_labels && !s.labels.contains_key(labels::MANAGED_BY))
        + usize::from(s.commit_sha.is_some());
    labels::label_count(count).map_err(|e| Error::Label {
        given: given
            .last()
            .map(|(k, v)| format!("{k}={v}"))
            .unwrap_or_default(),
        reason: e.message().into(),
        hint: e.hint().into(),
    })?;
    if let Some(sha) = &s.commit_sha {
        labels::label_value(labels::COMMIT_SHA, sha).map_err(|e| Error::Label {
            given: format!("{}={sha}", labels::COMMIT_SHA),
            reason: e.message().into(),
            hint: "GITHUB_SHA, or --label commit-sha=..., must be a commit id such as `0a1b2c3`"
                .into(),
        })?;
    }
    Ok(())
}

/// `plan --set-env ... --out FILE` saves the overrides in the plan file, so
/// only values the plan itself shows may be saved: a credential-like name
/// (allowed as a plain variable by `service.plain_env_allow`, but redacted in
/// every plan) is refused, so the file never holds a value the plan hides.
pub(crate) fn savable_set_env(set: &[(String, String)]) -> Result<(), Error> {
    match set.iter().find(|(name, _)| config::is_sensitive_name(name)) {
        None => Ok(()),
        Some((name, _)) => Err(Error::SetEnv {
            name: name.clone(),
            reason: "its name looks like a credential, and a saved plan never holds such a value"
                .into(),
            hint: format!(
                "set `{name}` in `service.env` of the config file, or deploy without a saved plan (`deploy --set-env`)"
            ),
        }),
    }
}

/// What a deploy runs: a given image, or one built from a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Artifact {
    Image(String),
    Source(PathBuf),
}

/// `--image`, else `--source`, else `service.source`, else `service.image`.
/// `env.service.source` is left saying whether this run builds, since the
/// plan's permission checks read it there.
fn artifact(
    env: &mut Environment,
    image_flag: Option<String>,
    source_flag: Option<PathBuf>,
) -> Result<Artifact, Error> {
    if image_flag.is_some() {
        env.service.source = None;
        return image(env, image_flag).map(Artifact::Image);
    }
    if let Some(dir) = source_flag {
        env.service.source = Some(dir);
    }
    match &env.service.source {
        Some(dir) => Ok(Artifact::Source(dir.clone())),
        None => image(env, None).map(Artifact::Image),
    }
}

/// `deploy`: where the plan comes from, and how to apply it.
pub(crate) struct DeploySettings {
    /// `--env`, when one target is deployed (set by the command layer once
    /// the selection is known).
    pub(crate) env: Option<String>,
    /// `--env` (repeatable), `--all`, `--target`.
    pub(crate) selection: crate::fleet::Selection,
    /// `--jobs`, `--keep-going`.
    pub(crate) fleet: crate::fleet::FleetOptions,
    pub(crate) image: Option<String>,
    pub(crate) source: Option<PathBuf>,
    pub(crate) dry_run: bool,
    pub(crate) saved_plan: Option<PathBuf>,
    pub(crate) apply: ApplyOptions,
    /// `--set-env`.
    pub(crate) set_env: Vec<(String, String)>,
    /// `--label`.
    pub(crate) labels: Vec<(String, String)>,
    /// `--no-traffic`, `--tag`, `--to-latest`.
    pub(crate) traffic: ReleaseTraffic,
}

/// What `deploy`'s flags ask of traffic.
#[derive(Clone, Debug, Default)]
pub(crate) struct ReleaseTraffic {
    pub(crate) no_traffic: bool,
    pub(crate) tag: Option<String>,
    pub(crate) to_latest: bool,
}

impl DeploySettings {
    pub(crate) fn resolve(args: DeployArgs, globals: &Globals) -> DeploySettings {
        DeploySettings {
            env: None,
            selection: crate::fleet::Selection {
                envs: args.env,
                all: args.all,
                target: args.target,
            },
            fleet: crate::fleet::FleetOptions {
                jobs: usize::from(args.jobs.jobs),
                keep_going: args.failure.keep_going && !args.failure.fail_fast,
            },
            image: args.image,
            source: args.source,
            dry_run: args.dry_run,
            saved_plan: args.plan,
            set_env: args.set_env,
            labels: args.label,
            traffic: ReleaseTraffic {
                no_traffic: args.no_traffic,
                tag: args.tag,
                to_latest: args.to_latest,
            },
            apply: globals.apply_options(args.strict_iam, args.iam_propagation_timeout),
        }
    }

    /// `key rotate`'s deploy: `deploy --env E` with its defaults, within
    /// the run's `--timeout`.
    pub(crate) fn for_rotation(args: &KeyRotateArgs, globals: &Globals) -> DeploySettings {
        DeploySettings {
            env: Some(args.env.env.clone()),
            selection: crate::fleet::Selection::one(&args.env.env),
            fleet: crate::fleet::FleetOptions::default(),
            image: None,
            source: None,
            dry_run: false,
            saved_plan: None,
            set_env: vec![],
            labels: vec![],
            traffic: ReleaseTraffic::default(),
            apply: globals.apply_options(false, DEFAULT_PROPAGATION_TIMEOUT),
        }
    }

    /// The image, or the directory to build it from (see [`artifact`]).
    pub(crate) fn artifact(&self, env: &mut Environment) -> Result<Artifact, Error> {
        artifact(env, self.image.clone(), self.source.clone())
    }
}

/// `plan`.
pub(crate) struct PlanSettings {
    /// The one environment planned (set by the command layer once the
    /// selection is known).
    pub(crate) env: String,
    pub(crate) selection: crate::fleet::Selection,
    pub(crate) fleet: crate::fleet::FleetOptions,
    pub(crate) image: Option<String>,
    pub(crate) source: Option<PathBuf>,
    pub(crate) detailed_exitcode: bool,
    pub(crate) out: Option<PathBuf>,
    /// `--set-env`.
    pub(crate) set_env: Vec<(String, String)>,
    /// `--label`.
    pub(crate) labels: Vec<(String, String)>,
    /// `--strict-iam`: what `deploy --strict-iam` would refuse.
    pub(crate) strict_iam: bool,
}

impl PlanSettings {
    pub(crate) fn resolve(args: PlanArgs) -> PlanSettings {
        PlanSettings {
            env: String::new(),
            selection: crate::fleet::Selection::of(args.env),
            fleet: crate::fleet::FleetOptions {
                jobs: usize::from(args.jobs.jobs),
                keep_going: false,
            },
            image: args.image,
            source: args.source,
            detailed_exitcode: args.detailed_exitcode,
            out: args.out,
            set_env: args.set_env,
            labels: args.label,
            strict_iam: args.strict_iam,
        }
    }

    pub(crate) fn artifact(&self, env: &mut Environment) -> Result<Artifact, Error> {
        artifact(env, self.image.clone(), self.source.clone())
    }
}

/// `grant`.
pub(crate) struct GrantSettings {
    /// The one environment granted (set by the command layer once the
    /// selection is known).
    pub(crate) env: String,
    pub(crate) selection: crate::fleet::Selection,
    pub(crate) fleet: crate::fleet::FleetOptions,
    pub(crate) dry_run: bool,
    pub(crate) apply: ApplyOptions,
}

impl GrantSettings {
    /// Apply options for a run that applies nothing (`plan`).
    pub(crate) fn plan_only(globals: &Globals) -> ApplyOptions {
        globals.apply_options(false, Duration::ZERO)
    }

    pub(crate) fn resolve(args: GrantArgs, globals: &Globals) -> GrantSettings {
        GrantSettings {
            env: String::new(),
            selection: crate::fleet::Selection::of(args.env),
            fleet: crate::fleet::FleetOptions {
                jobs: usize::from(args.jobs.jobs),
                keep_going: false,
            },
            dry_run: args.dry_run,
            // `grant` rolls nothing out, so there is nothing to retry.
            apply: globals.apply_options(args.strict_iam, Duration::ZERO),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// A config whose `service.env` sets `env` (YAML lines), with `PUBLIC_KEY_ID` allowed
    /// when `allow` is set and `DB_URL` from Secret Manager.
    fn config(env: &str, allow: bool) -> Result<Environment, config::ConfigError> {
        let allow = match allow {
            true => "  plain_env_allow: [PUBLIC_KEY_ID]\n",
            false => "",
        };
        let text = format!(
            "project: acme-sre-prod\nservice:\n  secrets:\n    DB_URL: db-url:1\n  env:\n{env}{allow}"
        );
        config::parse(Path::new("config/prod.yaml"), "prod", &text)
    }

    /// `service.env` in the file and `--set-env` go through one rule: for every name, the
    /// file refuses it exactly when the flag does.
    #[test]
    fn set_env_and_the_file_give_one_verdict_per_name() {
        let cases = [
            ("LOG_LEVEL", true),
            ("PUBLIC_KEY_ID", true),
            ("STRIPE_API_KEY", false),
            ("GITHUB_TOKEN", false),
            ("DB_PASSWORD", false),
            ("DB_URL", false),
            ("SRE_AGENT_ENCRYPTION_KEY", false),
        ];
        for (name, accepted) in cases {
            let from_file = config(&format!("    {name}: \"x\"\n"), name == "PUBLIC_KEY_ID");
            let mut env = config("    PUBLIC_KEY_ID: \"k1\"\n", true).expect("the base parses");
            let from_flag = apply_set_env(&mut env, &[(name.to_string(), "x".to_string())]);
            assert_eq!(
                from_file.is_ok(),
                accepted,
                "{name} in the file: {from_file:?}"
            );
            assert_eq!(
                from_flag.is_ok(),
                accepted,
                "{name} in --set-env: {from_flag:?}"
            );
        }
    }
}
