//! The top of the error stack: one enum, one place that decides the exit code.
//!
//! Module errors ([`ConfigError`], [`GcpError`], [`SavedPlanError`], ...) come
//! in through `#[from]` with their cause chain intact; [`Error::category`]
//! says whose it is to fix (the user's, before anything was sent, or the
//! operation's), and [`Error::hint`] what to do about it. `lib.rs` prints the
//! message, every `source()` below it, then the hint on its own line.

use std::path::PathBuf;

use crate::config::ConfigError;
use crate::gcp::credentials::{CredentialsError, Source};
use crate::gcp::{ConnectError, EndpointError, GcpError};
use crate::plan::Problem;
use crate::plan::saved::SavedPlanError;

/// What to run when there are no usable credentials; said once, here.
pub(crate) const AUTH_HINT: &str = "run `gcloud auth application-default login`, or set GOOGLE_OAUTH_ACCESS_TOKEN or CLOUDSDK_AUTH_ACCESS_TOKEN_FILE";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Category {
    /// Invalid usage or config; nothing was sent.
    User,
    /// The operation failed.
    Failed,
    /// Stopped by a signal.
    Interrupted(crate::Signal),
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),

    #[error(transparent)]
    Gcp(#[from] GcpError),

    #[error(transparent)]
    Connect(#[from] ConnectError),

    #[error(transparent)]
    Endpoint(#[from] EndpointError),

    #[error("cannot get Google credentials")]
    Credentials(#[from] CredentialsError),

    #[error("cannot get Google credentials from {source}")]
    Token {
        source: Source,
        #[source]
        cause: google_cloud_auth::errors::CredentialsError,
    },

    /// No source of credentials was set up, and the metadata server (the
    /// last one tried) did not give a token.
    #[error(
        "no Google credentials: GOOGLE_OAUTH_ACCESS_TOKEN, CLOUDSDK_AUTH_ACCESS_TOKEN_FILE and GOOGLE_APPLICATION_CREDENTIALS are unset, gcloud's application default credentials file does not exist, and the metadata server gave no token"
    )]
    NoCredentials,

    /// Google answered 401: the credentials the run found were refused.
    #[error("{} was refused{}: {operation} `{resource}` answered HTTP 401 UNAUTHENTICATED", refused_words(from), match from { Source::EnvToken | Source::TokenFile(_) => " (expired?)", _ => "" })]
    CredentialsRefused {
        from: Source,
        operation: &'static str,
        resource: String,
    },

    #[error("cannot impersonate `{target}` with the credentials from {source}")]
    ImpersonationRefused {
        target: String,
        source: Box<Source>,
        #[source]
        cause: google_cloud_auth::errors::CredentialsError,
    },

    #[error("--set-env `{name}`: {reason}; nothing was sent")]
    SetEnv {
        name: String,
        reason: String,
        hint: String,
    },

    #[error("--label `{given}`: {reason}; nothing was sent")]
    Label {
        given: String,
        reason: String,
        hint: String,
    },

    /// A duration environment variable that does not parse (a set variable
    /// is meant: never silently replaced by the default).
    #[error("{var}: {cause}")]
    EnvDuration {
        var: &'static str,
        cause: autosre_types::DurationError,
    },

    #[error(transparent)]
    SavedPlan(#[from] SavedPlanError),

    #[error("no environments in `{}`", dir.display())]
    NoEnvironments { dir: PathBuf },

    #[error("no image to deploy for environment `{env}`")]
    NoImage { env: String, file: PathBuf },

    #[error("--image: {cause}")]
    InvalidImage {
        value: String,
        cause: crate::config::InvalidValue,
    },

    #[error("preflight failed with {} problem(s); nothing was changed{}", problems.len(), list(problems))]
    Preflight { problems: Vec<Problem> },

    #[error("the saved plan is for environment `{planned}`, not `{given}`; nothing was written")]
    PlanForOtherEnvironment { planned: String, given: String },

    #[error("{} changed since the plan was made; nothing was written", file.display())]
    ConfigChangedSincePlan { env: String, file: PathBuf },

    #[error("live state changed since the plan was made; nothing was written:\n  - {}", drift.join("\n  - "))]
    Drift { env: String, drift: Vec<String> },

    #[cfg(feature = "sandbox")]
    #[error("cannot read the sandbox world `{}`", path.display())]
    SandboxWorldRead {
        path: PathBuf,
        #[source]
        cause: std::io::Error,
    },

    #[cfg(feature = "sandbox")]
    #[error("invalid sandbox world `{}`", path.display())]
    SandboxWorld {
        path: PathBuf,
        #[source]
        cause: autosre_emulator::WorldError,
    },

    #[cfg(feature = "sandbox")]
    #[error("cannot start the sandbox emulator")]
    SandboxStart(#[source] std::io::Error),

    #[error("{message}")]
    SecretArgument { message: String, hint: String },

    /// A release argument (`--tag`, `--percent`, `--to`) refused before anything is sent.
    #[error("{message}; nothing was sent")]
    ReleaseArgument { message: String, hint: String },

    /// Which targets to act on (`--target`, `--region`, a `regions:` file
    /// where one region is needed) is unclear; nothing was sent.
    #[error("{message}; nothing was sent")]
    Targets { message: String, hint: String },

    /// A traffic move (`promote`, `rollback`) refused after reading live state.
    #[error("{message}; nothing was changed")]
    ReleaseRefused { message: String, hint: String },

    #[error("secret `{secret}` has no version {version}; nothing was written")]
    SecretVersionMissing { secret: String, version: u64 },

    #[error(
        "refusing to disable version {version} of secret `{secret}`: {}; nothing was written",
        uses_words(uses)
    )]
    VersionInUse {
        secret: String,
        version: u64,
        uses: Vec<crate::secrets::usage::Use>,
    },

    #[error("cannot get random bytes from the operating system")]
    Random(#[source] rand::rand_core::OsError),

    #[error("the encryption key secret `{secret}` does not exist in project `{project}`")]
    KeySecretMissing {
        env: String,
        project: String,
        secret: String,
    },

    #[error("the encryption key secret `{secret}` has no enabled version")]
    KeyNoEnabledVersion { env: String, secret: String },

    #[error(
        "the encryption key secret `{secret}` version {version} is not a valid Fernet key: {fault}"
    )]
    KeyInvalid {
        env: String,
        secret: String,
        version: String,
        fault: String,
    },

    #[error(transparent)]
    Source(#[from] crate::source::SourceError),

    #[error(
        "a plan that builds from source cannot be saved: the image it deploys exists only after the build"
    )]
    SavedSourcePlan { env: String },

    #[error("the build of `{service}` failed{}; nothing was deployed{}", step.as_ref().map(|s| format!(" at step {s}")).unwrap_or_default(), tail(log_tail))]
    BuildFailed {
        service: String,
        /// `N (NAME)` of the failing step, when the build says.
        step: Option<String>,
        /// The last lines of that step's log.
        log_tail: Vec<String>,
        log_url: Option<String>,
    },

    /// A failure after this run wrote something (`key rotate`'s version,
    /// added before its deploy failed): the message says what was written,
    /// whatever the failure says.
    #[error("{}; then: {cause}", written.join("; "))]
    AfterWrites {
        written: Vec<String>,
        cause: Box<Error>,
    },

    /// `--timeout` ran out before any write began (the apply step reports
    /// its own deadline, with what it wrote).
    #[error("--timeout {} ran out{}", duration_words(*timeout), waiting.as_ref().map(|(what, d)| format!(" while waiting for {what} ({} so far)", duration_words(*d))).unwrap_or_default())]
    Deadline {
        timeout: std::time::Duration,
        /// The call waited on longest, when one was in flight.
        waiting: Option<(String, std::time::Duration)>,
    },

    #[error(
        "`{object}` holds other bytes than this source's archive (its checksum differs), and the upload found it changed under it; nothing was built"
    )]
    StagedObjectDiffers { object: String },

    #[error(
        "the new staging bucket gs://{bucket} belongs to another project; nothing was uploaded"
    )]
    StagingBucketNotOwned { bucket: String },

    #[error("interrupted by {}; nothing was written", signal.name())]
    Interrupted { signal: crate::Signal },

    /// Already reported in full (a deploy's outcome, every invalid file of
    /// `validate`): only the exit code remains.
    #[error("")]
    Reported(Category),
}

fn credentials_hint(e: &CredentialsError) -> String {
    match e {
        CredentialsError::BadImpersonationTarget { .. } => {
            "name the service account by its email, e.g. `deployer@PROJECT.iam.gserviceaccount.com`".into()
        }
        CredentialsError::ImpersonationEndpoint { .. } => "impersonate from a credentials file (GOOGLE_APPLICATION_CREDENTIALS, or `gcloud auth application-default login`), or unset CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS".into(),
        CredentialsError::NestedImpersonation { target, .. } => format!(
            "make the credentials file impersonate `{target}` (`gcloud auth application-default login --impersonate-service-account {target}`), or drop --impersonate-service-account and CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT"
        ),
        CredentialsError::TokenFile { .. }
        | CredentialsError::EmptyEnvToken
        | CredentialsError::EmptyTokenFile { .. }
        | CredentialsError::InvalidToken
        | CredentialsError::Adc(_)
        | CredentialsError::AdcFile { .. }
        | CredentialsError::Impersonation { .. } => AUTH_HINT.into(),
    }
}

/// `250ms`, `12s`, `15m`, `1h30m`: as `--timeout` takes it.
fn duration_words(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let s = d.as_secs();
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

/// What was refused, by where it came from.
fn refused_words(source: &Source) -> String {
    match source {
        Source::EnvToken => "the token in GOOGLE_OAUTH_ACCESS_TOKEN".into(),
        Source::TokenFile(p) => format!(
            "the token in CLOUDSDK_AUTH_ACCESS_TOKEN_FILE (`{}`)",
            p.display()
        ),
        other => format!("the credentials from {other}"),
    }
}

/// The fix for refused credentials, by where they came from.
fn refused_hint(source: &Source) -> String {
    match source {
        Source::EnvToken => {
            "set a fresh token: export GOOGLE_OAUTH_ACCESS_TOKEN=\"$(gcloud auth print-access-token)\"".into()
        }
        Source::TokenFile(p) => format!(
            "write a fresh token to the file: gcloud auth print-access-token > {}",
            p.display()
        ),
        Source::AdcFile { from_env: true, .. } => "check the file GOOGLE_APPLICATION_CREDENTIALS names (a deleted key, or an account disabled), or unset it and run `gcloud auth application-default login`".into(),
        Source::AdcFile { .. } => "log in again: gcloud auth application-default login".into(),
        Source::MetadataServer => "check the service account of the machine or job this runs on".into(),
        #[cfg(feature = "sandbox")]
        Source::Sandbox => "the sandbox refused its own token; report it".into(),
    }
}

/// `serving revision R (100% of traffic) reads it as ENV (pinned)`, each.
fn uses_words(uses: &[crate::secrets::usage::Use]) -> String {
    uses.iter()
        .map(|u| {
            format!(
                "serving revision {} ({}% of traffic) reads it as {} ({})",
                u.revision,
                u.percent,
                u.env,
                u.how()
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn tail(lines: &[String]) -> String {
    match lines.is_empty() {
        true => String::new(),
        false => format!(
            "; the end of its log:\n{}",
            lines
                .iter()
                .map(|l| format!("    {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("\n  - {}\n    hint: {}", p.message, p.hint))
        .collect()
}

impl Error {
    /// Whose it is to fix. Every variant is named: a new error must be
    /// classified here, never fall into a default.
    pub(crate) fn category(&self) -> Category {
        match self {
            Error::Config(_)
            | Error::Endpoint(_)
            | Error::SecretArgument { .. }
            | Error::ReleaseArgument { .. }
            | Error::Targets { .. }
            | Error::NoEnvironments { .. }
            | Error::NoImage { .. }
            | Error::InvalidImage { .. }
            | Error::SetEnv { .. }
            | Error::Label { .. }
            | Error::EnvDuration { .. }
            | Error::Source(_)
            | Error::SavedSourcePlan { .. } => Category::User,
            Error::SavedPlan(e) => match e {
                SavedPlanError::Edited { .. } => Category::Failed,
                SavedPlanError::Read { .. }
                | SavedPlanError::Write { .. }
                | SavedPlanError::NotAFile { .. }
                | SavedPlanError::NotAPlan { .. }
                | SavedPlanError::OtherVersion { .. } => Category::User,
            },
            #[cfg(feature = "sandbox")]
            Error::SandboxWorldRead { .. } | Error::SandboxWorld { .. } => Category::User,
            #[cfg(feature = "sandbox")]
            Error::SandboxStart(_) => Category::Failed,
            Error::Reported(c) => *c,
            // The writes were the operation's: not "nothing was sent".
            Error::AfterWrites { cause, .. } => match cause.category() {
                Category::User => Category::Failed,
                c => c,
            },
            Error::Interrupted { signal } => Category::Interrupted(*signal),
            Error::Gcp(_)
            | Error::Connect(_)
            | Error::Credentials(_)
            | Error::Token { .. }
            | Error::NoCredentials
            | Error::CredentialsRefused { .. }
            | Error::ImpersonationRefused { .. }
            | Error::Preflight { .. }
            | Error::PlanForOtherEnvironment { .. }
            | Error::ConfigChangedSincePlan { .. }
            | Error::Drift { .. }
            | Error::ReleaseRefused { .. }
            | Error::SecretVersionMissing { .. }
            | Error::VersionInUse { .. }
            | Error::Random(_)
            | Error::KeySecretMissing { .. }
            | Error::KeyNoEnabledVersion { .. }
            | Error::KeyInvalid { .. }
            | Error::BuildFailed { .. }
            | Error::Deadline { .. }
            | Error::StagedObjectDiffers { .. }
            | Error::StagingBucketNotOwned { .. } => Category::Failed,
        }
    }

    /// The fix, when there is one to say.
    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            Error::Config(e) => e.hint().map(str::to_string),
            Error::Gcp(e) => e.hint(),
            Error::Credentials(e) => Some(credentials_hint(e)),
            Error::Token { .. } | Error::NoCredentials => Some(AUTH_HINT.into()),
            Error::CredentialsRefused { from, .. } => Some(refused_hint(from)),
            Error::SetEnv { hint, .. } | Error::Label { hint, .. } => Some(hint.clone()),
            Error::EnvDuration { cause, .. } => Some(cause.hint()),
            Error::AfterWrites { cause, .. } => cause.hint(),
            Error::Deadline { .. } => Some(
                "raise --timeout, or check the way to Google (network, proxy, CLOUDSDK_API_ENDPOINT_OVERRIDES_*); --request-timeout bounds each request".into(),
            ),
            Error::Endpoint(e) => Some(format!(
                "set {} to a base URL such as `https://run.googleapis.com/`, or unset it to use Google's",
                e.var
            )),
            Error::ImpersonationRefused { target, .. } => Some(format!(
                "the credentials need roles/iam.serviceAccountTokenCreator on the account: gcloud iam service-accounts add-iam-policy-binding {target} --member=user:YOU --role=roles/iam.serviceAccountTokenCreator"
            )),
            Error::SecretArgument { hint, .. } => Some(hint.clone()),
            Error::ReleaseArgument { hint, .. }
            | Error::ReleaseRefused { hint, .. }
            | Error::Targets { hint, .. } => {
                Some(hint.clone())
            }
            Error::SecretVersionMissing { .. } => {
                Some("list the versions with `autosre-deploy secrets status --env ENV`".into())
            }
            Error::VersionInUse { .. } => Some(
                "deploy a revision that reads another version first (add a version, then `autosre-deploy deploy --env ENV` pins it), then disable this one".into(),
            ),
            Error::SavedPlan(SavedPlanError::Edited { .. }) => {
                Some("make a new plan with `autosre-deploy plan --env ENV --out FILE`".into())
            }
            Error::SavedPlan(SavedPlanError::OtherVersion { .. }) => Some(
                "make the plan again with this version: `autosre-deploy plan --env ENV --out FILE`"
                    .into(),
            ),
            Error::BuildFailed { log_url, .. } => Some(match log_url {
                Some(url) => format!("read the whole build log at {url}"),
                None => "read the build's log in the Cloud Build console".into(),
            }),
            Error::StagedObjectDiffers { .. } => Some(
                "run the deploy again; if it persists, another writer is replacing the archive in the staging bucket".into(),
            ),
            Error::StagingBucketNotOwned { .. } => Some(
                "run the deploy again: a new bucket name is drawn each time".into(),
            ),
            Error::SavedSourcePlan { env } => Some(format!(
                "review with `autosre-deploy plan --env {env}` and run `autosre-deploy deploy --env {env}`, or save a plan for a built image with `--image IMAGE@sha256:DIGEST`"
            )),
            Error::Source(_) => Some(
                "pass `--source DIR` (or set `service.source`) to a directory with the service's code, or deploy an image with `--image`".into(),
            ),
            Error::NoImage { file, .. } => Some(format!(
                "set `service.image` or `service.source` in {} or pass `--image IMAGE` or `--source DIR`",
                file.display()
            )),
            Error::NoEnvironments { .. } => {
                Some("add a `<env>.yaml` file, or point --config-dir at the right directory".into())
            }
            Error::InvalidImage { .. } => Some(
                "pass a full image reference such as `us-docker.pkg.dev/PROJECT/REPO/IMAGE:TAG` or `IMAGE@sha256:DIGEST`".into(),
            ),
            Error::PlanForOtherEnvironment { given, .. } => Some(format!(
                "run `autosre-deploy plan --env {given} --out FILE` to plan `{given}`"
            )),
            Error::KeySecretMissing { env, .. } => {
                Some(format!("create it with a new key: autosre-deploy key init --env {env}"))
            }
            Error::KeyNoEnabledVersion { env, .. } | Error::KeyInvalid { env, .. } => {
                Some(crate::key::KeyFormatError::hint(env))
            }
            Error::ConfigChangedSincePlan { env, .. } | Error::Drift { env, .. } => Some(format!(
                "review a fresh plan: autosre-deploy plan --env {env} --out FILE"
            )),
            // Each problem carries its own hint, printed with it.
            Error::Preflight { .. } => None,
            // The message names the cause; there is no fix to add.
            Error::Connect(_)
            | Error::SavedPlan(
                SavedPlanError::Read { .. }
                | SavedPlanError::Write { .. }
                | SavedPlanError::NotAFile { .. }
                | SavedPlanError::NotAPlan { .. },
            )
            | Error::Random(_)
            | Error::Interrupted { .. }
            | Error::Reported(_) => None,
            #[cfg(feature = "sandbox")]
            Error::SandboxWorldRead { .. } | Error::SandboxWorld { .. } | Error::SandboxStart(_) => {
                None
            }
        }
    }

    /// Nothing left to print: the outcome said it all.
    pub(crate) fn is_reported(&self) -> bool {
        matches!(self, Error::Reported(_))
    }
}

/// The message and every cause below it, each once: `a: b: c` style chains
/// where a cause repeats its parent's text are collapsed.
pub(crate) fn chain(e: &Error) -> Vec<String> {
    let mut out = vec![e.to_string()];
    let mut next = std::error::Error::source(e);
    // `#[error(transparent)]` forwards source() to the inner error's source,
    // so the chain starts below what Display already showed.
    while let Some(cause) = next {
        let text = cause.to_string();
        if !text.is_empty() && !out.iter().any(|o| o.contains(&text)) {
            out.push(text);
        }
        next = cause.source();
    }
    out
}
