//! Command-line types. They never travel past `settings.rs`, which resolves
//! them with the config file and the environment into finished settings.

use std::path::PathBuf;
use std::time::Duration;

use autosre_types::{Bare, parse_duration};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Deploy the Auto SRE agent to Cloud Run with its secrets wired in.
///
/// Reads `config/<env>.yaml`, checks every secret the service references,
/// grants the runtime service account what it needs without touching anyone
/// else's bindings, and rolls out a Cloud Run revision, waiting until it is
/// ready. `plan` and `--dry-run` show all of it without changing anything.
#[derive(Debug, Parser)]
#[command(name = "autosre-deploy", version, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
}

#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Directory holding `<env>.yaml` files.
    #[arg(long, global = true, default_value = "config", value_name = "DIR")]
    pub(crate) config_dir: PathBuf,
    /// How results are printed on stdout.
    #[arg(long, global = true, value_enum, default_value_t = Output::Human)]
    pub(crate) output: Output,
    /// Log each API call (service, method, resource, status, latency); twice for more.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub(crate) verbose: u8,
    /// Print only results and errors.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// Format of log lines on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub(crate) log_format: LogFormat,
    /// Run against a built-in, in-process emulator of Google's APIs instead of
    /// Google, seeded from the config so that the run succeeds.
    #[cfg(feature = "sandbox")]
    #[arg(long, global = true)]
    pub(crate) sandbox: bool,
    /// Seed the sandbox from this emulator world file instead (implies --sandbox).
    #[cfg(feature = "sandbox")]
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) sandbox_world: Option<PathBuf>,
    /// Report as a CI step: `github` writes step outputs, a step summary and
    /// annotations; `auto` does so when GITHUB_ACTIONS is `true`.
    #[arg(long, global = true, value_enum, default_value_t = CiMode::Auto)]
    pub(crate) ci: CiMode,
    /// Act as service account SA (an email; also
    /// CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT; `A,B,SA` delegates through A and B).
    #[arg(long, global = true, value_name = "SA")]
    pub(crate) impersonate_service_account: Option<String>,
    /// Bound each API request (connecting included); a request that gets no
    /// answer in time counts as a transient failure and is retried.
    #[arg(long, global = true, value_name = "DURATION", default_value = "60s", value_parser = duration)]
    pub(crate) request_timeout: Duration,
    /// Bound the whole run, e.g. `15m`, `90s`, `1h30m`: a run still waiting
    /// then ends, naming what it waited for (exit 1); a rollout in progress is
    /// reported with how to watch it.
    #[arg(long, global = true, value_name = "DURATION", default_value = "15m", value_parser = duration)]
    pub(crate) timeout: Duration,
    /// Show a wait for Google after this many ms, with what is awaited
    /// (default 5000; also AUTOSRE_DEPLOY_SLOW_WAIT_MS).
    #[arg(long, global = true, hide = true, value_parser = duration_ms)]
    pub(crate) slow_wait_ms: Option<Duration>,
    /// First wait before retrying a transient failure, in ms (default 1000,
    /// doubling to 30 s; also AUTOSRE_DEPLOY_RETRY_INITIAL_MS).
    #[arg(long, global = true, hide = true, value_parser = duration_ms)]
    pub(crate) retry_initial_ms: Option<Duration>,
    /// First interval between polls of a long-running operation, in ms
    /// (default 1000; also AUTOSRE_DEPLOY_POLL_INTERVAL_MS).
    #[arg(long, global = true, hide = true, value_parser = duration_ms)]
    pub(crate) poll_interval_ms: Option<Duration>,
    /// Wait between rollout retries while new secret grants propagate, in ms
    /// (default 30000; also AUTOSRE_DEPLOY_PROPAGATION_RETRY_MS).
    #[arg(long, global = true, hide = true, value_parser = duration_ms)]
    pub(crate) propagation_retry_ms: Option<Duration>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check, grant and roll out: the whole release path.
    Deploy(DeployArgs),
    /// Show what `deploy` would change, validated by Cloud Run, without changing anything.
    Plan(PlanArgs),
    /// Grant the runtime service account its roles (the IAM part of deploy alone).
    Grant(GrantArgs),
    /// Read-only preflight: secrets, service account, encryption key wiring.
    Check(CheckArgs),
    /// Validate config files offline; every environment when --env is not given.
    Validate(ValidateArgs),
    /// Secret versions: who reads which, and disabling one safely.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// The agent's encryption key: generate, init, check, rotate.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Move traffic to a revision: a share of it, or all (back to LATEST).
    Promote(PromoteArgs),
    /// Move all traffic back to the revision that served before the last deploy.
    Rollback(RollbackArgs),
    /// The service's revisions, newest first: image, secrets, traffic, tags.
    History(HistoryArgs),
    /// List the deploy targets (environment x region), e.g. as a CI matrix with `--output json`.
    Targets(TargetsArgs),
}

/// `targets`: which environments to list (every one by default).
#[derive(Debug, Args)]
pub(crate) struct TargetsArgs {
    /// List only `config/<ENV>.yaml`'s targets (repeatable).
    #[arg(long, short = 'e', value_name = "ENV")]
    pub(crate) env: Vec<String>,
    /// Every environment (the default).
    #[arg(long, conflicts_with = "env")]
    pub(crate) all: bool,
}

/// Which environments a command acts on: `--env` (repeatable) or `--all`.
#[derive(Debug, Args)]
pub(crate) struct SelectArgs {
    /// The environment: `config/<ENV>.yaml`; repeat for several.
    #[arg(long, short = 'e', value_name = "ENV", required_unless_present = "all")]
    pub(crate) env: Vec<String>,
    /// Every environment: each `config/*.yaml`.
    #[arg(long, conflicts_with = "env")]
    pub(crate) all: bool,
}

/// The targets of a read-only command (`check`, `secrets status`, `key
/// check`), and how many it checks at once.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    pub(crate) env: SelectArgs,
    #[command(flatten)]
    pub(crate) jobs: JobsArgs,
}

/// How several targets run.
#[derive(Debug, Args)]
pub(crate) struct JobsArgs {
    /// Work on at most N targets at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) jobs: u16,
}

/// What a failed rollout does to the targets not yet rolled out.
#[derive(Debug, Args)]
pub(crate) struct FailureArgs {
    /// Once a target's rollout fails, roll out no other target not yet started (the default).
    #[arg(long, overrides_with = "keep_going")]
    pub(crate) fail_fast: bool,
    /// Roll out every other target even when one fails.
    #[arg(long, overrides_with = "fail_fast")]
    pub(crate) keep_going: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PromoteArgs {
    #[command(flatten)]
    pub(crate) env: EnvArg,
    /// The revision to promote (default: the newest ready one).
    #[arg(long, value_name = "REVISION", conflicts_with = "tag")]
    pub(crate) revision: Option<String>,
    /// Promote the revision this tag points at.
    #[arg(long, value_name = "TAG")]
    pub(crate) tag: Option<String>,
    /// Its share of traffic; the other revisions share the rest as they did.
    /// At 100, traffic goes back to LATEST when it is the newest ready revision.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(i32).range(1..=100))]
    pub(crate) percent: i32,
    /// Print the move; change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RollbackArgs {
    #[command(flatten)]
    pub(crate) env: EnvArg,
    /// Roll back to this revision instead of the one recorded before the last deploy.
    #[arg(long, value_name = "REVISION")]
    pub(crate) to: Option<String>,
    /// Print the move; change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    #[command(flatten)]
    pub(crate) env: EnvArg,
    /// Show at most N revisions.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub(crate) limit: usize,
}

impl Command {
    /// The command as typed, for headings: `deploy`, `key rotate`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Command::Deploy(a) if a.dry_run => "deploy --dry-run",
            Command::Deploy(_) => "deploy",
            Command::Plan(_) => "plan",
            Command::Grant(a) if a.dry_run => "grant --dry-run",
            Command::Grant(_) => "grant",
            Command::Check(_) => "check",
            Command::Targets(_) => "targets",
            Command::Validate(_) => "validate",
            Command::Secrets(SecretsCommand::Status(_)) => "secrets status",
            Command::Secrets(SecretsCommand::Disable(_)) => "secrets disable",
            Command::Key(KeyCommand::Generate) => "key generate",
            Command::Key(KeyCommand::Init(_)) => "key init",
            Command::Key(KeyCommand::Check(_)) => "key check",
            Command::Key(KeyCommand::Rotate(_)) => "key rotate",
            Command::Promote(a) if a.dry_run => "promote --dry-run",
            Command::Promote(_) => "promote",
            Command::Rollback(a) if a.dry_run => "rollback --dry-run",
            Command::Rollback(_) => "rollback",
            Command::History(_) => "history",
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Print a new Fernet key (32 random bytes, URL-safe base64) on stdout, for piping.
    Generate,
    /// Create the key secret with a new key as version 1; nothing when it exists.
    Init(KeyInitArgs),
    /// Check the newest enabled key version: its checksum and its Fernet format.
    Check(CheckArgs),
    /// Add a version with a new key, then deploy so the service uses it.
    Rotate(KeyRotateArgs),
}

#[derive(Debug, Args)]
pub(crate) struct KeyInitArgs {
    #[command(flatten)]
    pub(crate) env: EnvArg,
    /// Say what would be created; change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct KeyRotateArgs {
    #[command(flatten)]
    pub(crate) env: EnvArg,
    /// Add the version only; the service keeps its key until the next deploy.
    #[arg(long)]
    pub(crate) no_deploy: bool,
    /// Say what would happen; change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SecretsCommand {
    /// Every referenced secret's versions, which revisions read which, and
    /// what disabling each enabled version would break.
    Status(CheckArgs),
    /// Disable a secret version, refused while a serving revision reads it.
    Disable(SecretsDisableArgs),
}

#[derive(Debug, Args)]
pub(crate) struct SecretsDisableArgs {
    #[command(flatten)]
    pub(crate) env: EnvArg,
    /// The secret: `NAME` (in the environment's project) or `projects/P/secrets/NAME`.
    pub(crate) secret: String,
    /// The version number to disable.
    pub(crate) version: String,
    /// Check and say what would happen; change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct EnvArg {
    /// The environment: `config/<ENV>.yaml`.
    #[arg(long, short = 'e', value_name = "ENV")]
    pub(crate) env: String,
    /// With a `regions:` file, the region to act on.
    #[arg(long, value_name = "REGION")]
    pub(crate) region: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    /// The environment: `config/<ENV>.yaml`, repeatable (with --plan: taken from the plan file).
    #[arg(
        long,
        short = 'e',
        value_name = "ENV",
        required_unless_present_any = ["plan", "all", "target"]
    )]
    pub(crate) env: Vec<String>,
    /// Every environment: each `config/*.yaml`.
    #[arg(long, conflicts_with_all = ["env", "plan", "target"])]
    pub(crate) all: bool,
    /// One target, `ENV/REGION` (as `targets` lists them), e.g. for one job of a CI matrix.
    #[arg(long, value_name = "ENV/REGION", conflicts_with_all = ["env", "plan"])]
    pub(crate) target: Option<String>,
    /// Deploy this image instead of `service.image`.
    #[arg(long, value_name = "IMAGE", conflicts_with = "plan")]
    pub(crate) image: Option<String>,
    /// Set a plain env var for this deploy only, over `service.env` (repeatable); the
    /// config's guardrails apply. Not with --plan: a saved plan carries its own.
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_set_env, conflicts_with = "plan")]
    pub(crate) set_env: Vec<(String, String)>,
    /// Add a label to the service and its revisions (repeatable), over `service.labels`;
    /// `commit-sha=SHA` names the commit deployed. Not with --plan.
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_set_env, conflicts_with = "plan")]
    pub(crate) label: Vec<(String, String)>,
    /// Build the image from this directory (as `gcloud run deploy --source`)
    /// and deploy it by digest; instead of `service.source`.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["image", "plan"])]
    pub(crate) source: Option<PathBuf>,
    /// Compute and print the plan; change nothing.
    #[arg(long, conflicts_with = "plan")]
    pub(crate) dry_run: bool,
    /// Apply exactly this saved plan (from `plan --out`), or nothing if live
    /// state, the config or the file changed since it was made.
    #[arg(long, value_name = "FILE")]
    pub(crate) plan: Option<PathBuf>,
    /// Fail (instead of warning) when a grant other than secret access is denied.
    #[arg(long)]
    pub(crate) strict_iam: bool,
    /// How long to keep retrying a rollout whose new revision cannot read a
    /// secret yet because this deploy's grant has not propagated (Google: up
    /// to 7 minutes), e.g. `7m` or `420s`; a bare number is seconds.
    #[arg(long, value_name = "DURATION", default_value = "7m", value_parser = duration_secs)]
    pub(crate) iam_propagation_timeout: Duration,
    /// Create the new revision without sending it traffic: the live split
    /// stays, by revision name (refused on a first deploy).
    #[arg(long, conflicts_with_all = ["plan", "to_latest"])]
    pub(crate) no_traffic: bool,
    /// Give the new revision a tagged URL (`https://TAG---...`), moving the
    /// tag from any other revision; tag and service name at most 46 characters.
    #[arg(long, value_name = "TAG", conflicts_with = "plan")]
    pub(crate) tag: Option<String>,
    /// Send all traffic to the new revision (LATEST = 100) even with
    /// `service.traffic: keep` or traffic pinned to named revisions.
    #[arg(long, conflicts_with = "plan")]
    pub(crate) to_latest: bool,
    #[command(flatten)]
    pub(crate) jobs: JobsArgs,
    #[command(flatten)]
    pub(crate) failure: FailureArgs,
}

/// `KEY=VALUE` of `--set-env` (the value may contain `=`, and may be empty).
fn parse_set_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

/// A duration flag (`90s`, `15m`, `1h30m`, `250ms`; see [`parse_duration`]): a bare number
/// is refused.
fn duration(text: &str) -> Result<Duration, String> {
    parse(text, Bare::Refused)
}

/// A duration flag that has always taken seconds: `420` is `420s`, and `7m` works too.
fn duration_secs(text: &str) -> Result<Duration, String> {
    parse(text, Bare::Seconds)
}

/// A duration flag named in milliseconds: `20` is `20ms`, and `2s` works too.
fn duration_ms(text: &str) -> Result<Duration, String> {
    parse(text, Bare::Millis)
}

fn parse(text: &str, bare: Bare) -> Result<Duration, String> {
    parse_duration(text.trim(), bare).map_err(|e| format!("{e}; {}", e.hint()))
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    pub(crate) env: SelectArgs,
    #[command(flatten)]
    pub(crate) jobs: JobsArgs,
    /// Plan for this image instead of `service.image`.
    #[arg(long, value_name = "IMAGE")]
    pub(crate) image: Option<String>,
    /// Set a plain env var for this plan only, over `service.env` (repeatable); the
    /// config's guardrails apply. With --out, saved in the plan for `deploy --plan`.
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_set_env)]
    pub(crate) set_env: Vec<(String, String)>,
    /// Add a label to the service and its revisions (repeatable), over `service.labels`;
    /// `commit-sha=SHA` names the commit deployed. Not with --out.
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_set_env, conflicts_with = "out")]
    pub(crate) label: Vec<(String, String)>,
    /// Plan a build from this directory: what would be uploaded (files,
    /// size, the largest), without uploading.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["image", "out"])]
    pub(crate) source: Option<PathBuf>,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub(crate) detailed_exitcode: bool,
    /// Save the plan to FILE, for `deploy --plan FILE`.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Show as problems what `deploy --strict-iam` would refuse: a permission
    /// missing for a grant other than secret access, or a refused read.
    #[arg(long)]
    pub(crate) strict_iam: bool,
}

#[derive(Debug, Args)]
pub(crate) struct GrantArgs {
    #[command(flatten)]
    pub(crate) env: SelectArgs,
    #[command(flatten)]
    pub(crate) jobs: JobsArgs,
    /// Print the grants that are missing; change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Fail (instead of warning) when a grant other than secret access is denied.
    #[arg(long)]
    pub(crate) strict_iam: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// Validate only `config/<ENV>.yaml`.
    #[arg(long, short = 'e', value_name = "ENV")]
    pub(crate) env: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    Human,
    Json,
    Markdown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum CiMode {
    Auto,
    Github,
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_flags_go_through_the_one_parser() {
        assert_eq!(duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(duration_secs("420"), Ok(Duration::from_secs(420)));
        assert_eq!(duration_secs("7m"), Ok(Duration::from_secs(420)));
        assert_eq!(duration_ms("20"), Ok(Duration::from_millis(20)));
        for bad in ["", "0s", "15", "m", "1x", "1.5s", "-1s"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
        let e = duration("15").unwrap_err();
        assert!(e.contains("`15s`"), "{e}");
    }
}
