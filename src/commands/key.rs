//! `key generate | init | check | rotate`: the agent's encryption key.
//!
//! The key is a Fernet key in the secret `encryption_key.secret`. These
//! commands make one ([`crate::key::generate`]), store it (a secret created
//! with automatic or user-managed replication, a version added with its
//! CRC32C), and judge the one stored ([`crate::key::Inspection`]). No key
//! value is ever printed or logged, except by `key generate`, whose whole
//! point is to print one on stdout for a pipe.
//!
//! Before a write, the deploying identity's permissions are asked with
//! testIamPermissions, as the plan does: a missing one stops the command
//! with the role that grants it and the command that grants that.
//! `key rotate` deploys through the same path as `deploy` (the caller
//! passes it in: commands do not import each other).

use serde::Serialize;

use super::permissions::{Ask, IfMissing, require};
use super::shared::{Context, with_context};
use super::view::{self, Reported, View};
use crate::ExitStatus;
use crate::cli::Output;
use crate::config::{Environment, KeyWiring};
use crate::error::Error;
use crate::gcp::Kind;
use crate::gcp::iam::PolicyResource;
use crate::key::{Checksum, Inspection};
use crate::plan::live::SecretId;
use crate::plan::{Plan, Problem, ProblemKind, SCHEMA_VERSION, preflight};
use crate::printer::Printer;
use crate::secrets::ServingRead;
use crate::settings::Globals;

/// The label on secrets the tool creates.
const MANAGED_BY: (&str, &str) = ("managed-by", "autosre-deploy");

/// What `key init` asks of the project before it creates the key secret.
pub(crate) const CREATE: [&str; 2] = ["secretmanager.secrets.create", "secretmanager.versions.add"];
/// What `key check` asks of the key secret.
pub(crate) const CHECK: [&str; 2] = [
    "secretmanager.versions.list",
    "secretmanager.versions.access",
];
/// What `key rotate` asks of the key secret.
pub(crate) const ROTATE: [&str; 1] = ["secretmanager.versions.add"];

/// `key generate`: a new key and a newline on stdout, nothing else; with
/// `--output json`, `{"key": "..."}` (the one document every JSON run
/// prints); with `--output markdown`, the key as code.
pub(crate) fn generate(globals: &Globals, printer: &Printer) -> Result<ExitStatus, Error> {
    let key = crate::key::generate().map_err(Error::Random)?;
    view::show(globals.output, printer, &Generated { key: &key });
    Ok(ExitStatus::Success)
}

/// `key generate`'s key: as is, in a JSON document, or as code in Markdown.
#[derive(Serialize)]
struct Generated<'a> {
    key: &'a str,
}

impl View for Generated<'_> {
    fn json(&self) -> impl Serialize + '_ {
        self
    }

    fn human(&self, _: &Printer) -> String {
        self.key.to_string()
    }

    fn markdown(&self, _: &Printer) -> String {
        format!("`{}`", self.key)
    }
}

/// What `key init` found or did.
#[derive(Serialize)]
struct InitReport<'a> {
    schema_version: u32,
    environment: &'a str,
    project: &'a str,
    secret: &'a str,
    /// `exists`, `would_create` or `created`.
    action: &'static str,
    /// `automatic`, or the user-managed replica locations.
    replication: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
}

/// `key init`: create the key secret with a new key as version 1, unless it
/// exists.
pub(crate) async fn init(
    globals: &Globals,
    printer: &Printer,
    vars: &crate::Env,
    env_name: &str,
    dry_run: bool,
) -> Result<ExitStatus, Error> {
    let env = globals.load(env_name)?;
    warn_unwired(printer, &env);
    let project = env.project.to_string();
    let secret = env.encryption_key.secret.clone();
    let locations = env.encryption_key.replica_locations.clone();
    with_context(globals, printer, vars, &env, async |ctx| {
        let mut report = InitReport {
            schema_version: SCHEMA_VERSION,
            environment: &env.name,
            project: &project,
            secret: &secret,
            action: "exists",
            replication: match locations.is_empty() {
                true => vec!["automatic".into()],
                false => locations.clone(),
            },
            version: None,
        };
        if ctx.google.secret_exists(&project, &secret).await? {
            print_report(ctx, &report, || {
                format!("The encryption key secret `{secret}` exists in project {project}; nothing was changed.")
            });
            return Ok(ExitStatus::Success);
        }
        // The secret does not exist yet: both are asked of the project, whose
        // grants its secrets inherit.
        let project_resource = PolicyResource::Project {
            project: project.clone(),
        };
        require(
            ctx,
            vec![Ask::new(
                project_resource,
                &CREATE,
                IfMissing::Fail,
            )],
        )
        .await?;
        let replication = match locations.is_empty() {
            true => "automatic replication".to_string(),
            false => format!("replicas in {}", locations.join(", ")),
        };
        if dry_run {
            report.action = "would_create";
            print_report(ctx, &report, || {
                format!(
                    "Would create secret `{secret}` in project {project} ({replication}, label {}={}) with a new key as version 1; nothing was changed.",
                    MANAGED_BY.0, MANAGED_BY.1
                )
            });
            return Ok(ExitStatus::Success);
        }
        let key = crate::key::generate().map_err(Error::Random)?;
        ctx.google
            .create_secret(&project, &secret, &locations, &[MANAGED_BY])
            .await?;
        let version = ctx
            .google
            .add_secret_version(&project, &secret, key.as_bytes())
            .await?;
        let number = last_segment(&version.name);
        report.action = "created";
        report.version = Some(number.clone());
        print_report(ctx, &report, || {
            format!(
                "Created secret `{secret}` in project {project} ({replication}) with a new key as version {number}."
            )
        });
        Ok(ExitStatus::Success)
    })
    .await
}

/// What `key check` found.
#[derive(Serialize)]
struct CheckReport<'a> {
    schema_version: u32,
    environment: &'a str,
    project: &'a str,
    secret: &'a str,
    version: String,
    /// RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    age_days: Option<i64>,
    checksum: Checksum,
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<crate::key::KeyFormatError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    warning: Option<crate::key::KeyWarning>,
}

/// `key check`: the newest enabled version's checksum and format.
pub(crate) async fn check(
    globals: &Globals,
    printer: &Printer,
    vars: &crate::Env,
    env_name: &str,
) -> Result<ExitStatus, Error> {
    let env = globals.load(env_name)?;
    let project = env.project.to_string();
    let secret = env.encryption_key.secret.clone();
    with_context(globals, printer, vars, &env, async |ctx| {
        let resource = PolicyResource::Secret {
            project: project.clone(),
            secret: secret.clone(),
        };
        let missing = || Error::KeySecretMissing {
            env: env.name.clone(),
            project: project.clone(),
            secret: secret.clone(),
        };
        let ask = Ask::new(resource, &CHECK, IfMissing::Fail);
        match require(ctx, vec![ask]).await {
            Err(Error::Gcp(e)) if e.is(Kind::NotFound) => return Err(missing()),
            r => r?,
        }
        let versions = ctx.google.secret_versions(&project, &secret).await?;
        let newest = newest_enabled(&versions).ok_or_else(|| Error::KeyNoEnabledVersion {
            env: env.name.clone(),
            secret: secret.clone(),
        })?;
        let number = last_segment(&newest.name);
        let payload = ctx
            .google
            .access_secret_version(&project, &secret, &number)
            .await?;
        let inspection = Inspection::of(&payload.name, &payload.data, payload.data_crc32c);
        drop(payload);
        let created = newest.create_time.as_ref().map(|t| t.seconds());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        let report = CheckReport {
            schema_version: SCHEMA_VERSION,
            environment: &env.name,
            project: &project,
            secret: &secret,
            version: inspection.version.clone(),
            created: created.and_then(rfc3339),
            age_days: created.map(|c| (now - c).max(0) / 86_400),
            checksum: inspection.checksum,
            valid: inspection.valid(),
            error: inspection.error,
            warning: inspection.warning.clone(),
        };
        print_report(ctx, &report, || {
            let age = match (&report.created, report.age_days) {
                (Some(c), Some(d)) => format!(", created {c} ({d} days ago)"),
                _ => String::new(),
            };
            let checksum = match report.checksum {
                Checksum::Verified => "CRC32C checksum verified",
                Checksum::Absent => "no checksum returned",
                Checksum::Mismatch => "CRC32C checksum MISMATCH",
            };
            let verdict = match (inspection.fault(), &inspection.warning) {
                (None, None) => "a valid Fernet key".to_string(),
                (None, Some(w)) => format!("a valid Fernet key, but {w}"),
                (Some(f), _) => format!("NOT a valid Fernet key: {f}"),
            };
            format!(
                "Encryption key `{secret}` version {}{age}: {verdict} ({checksum}).",
                report.version
            )
        });
        match inspection.fault() {
            None => Ok(ExitStatus::Success),
            Some(fault) => Err(Error::KeyInvalid {
                env: env.name.clone(),
                secret: secret.clone(),
                version: inspection.version.clone(),
                fault,
            }),
        }
    })
    .await
}

/// What `key rotate` did.
#[derive(Serialize)]
struct RotateReport<'a> {
    schema_version: u32,
    environment: &'a str,
    project: &'a str,
    secret: &'a str,
    /// `would_add` (`--dry-run`) or `added`.
    action: &'static str,
    /// The version added (absent with `--dry-run`).
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    deployed: bool,
    /// What each serving revision reads the key from, after the deploy.
    serving: Vec<ServingRead>,
}

/// How `key rotate` deploys: the plan a deploy would make (judged before
/// anything is written) and the deploy itself. Passed in by the caller:
/// commands do not import each other.
pub(crate) struct Deploy<P, R> {
    pub(crate) plan: P,
    pub(crate) run: R,
}

/// What stops a rotation's deploy: every problem of its plan but those the
/// new key version fixes (the key secret's own version and format).
fn rotation_blockers(plan: &Plan, env: &Environment) -> Vec<Problem> {
    let own = preflight::check_for_env(&plan.preflight.secrets, &env.encryption_key.env)
        .and_then(|c| preflight::secret_problem(c, env));
    plan.preflight
        .problems
        .iter()
        .filter(|p| {
            !matches!(
                p.kind,
                ProblemKind::KeyMalformed | ProblemKind::KeyChecksumMismatch
            )
        })
        .filter(|p| own.as_ref() != Some(*p))
        .cloned()
        .collect()
}

/// `key rotate`: unless `no_deploy`, the deploy's whole preflight first
/// (nothing is written when it fails); then add a version with a new key,
/// deploy in the same connection, and say which key version each serving
/// revision reads. Once the version is added, every failure says so.
pub(crate) async fn rotate<P, R>(
    globals: &Globals,
    printer: &Printer,
    vars: &crate::Env,
    env_name: &str,
    no_deploy: bool,
    dry_run: bool,
    deploy: Deploy<P, R>,
) -> Result<ExitStatus, Error>
where
    P: AsyncFnOnce(&Context, &Environment) -> Result<Plan, Error>,
    R: AsyncFnOnce(&Context, &Environment) -> Result<ExitStatus, Error>,
{
    let env = globals.load(env_name)?;
    if no_deploy {
        warn_unwired(printer, &env);
    } else if let Some(e) = crate::config::key_wiring_error(&env) {
        // The deploy would refuse it (as `deploy` and `validate` do): before
        // any request, nothing added.
        return Err(e.into());
    }
    let project = env.project.to_string();
    let secret = env.encryption_key.secret.clone();
    with_context(globals, printer, vars, &env, async |ctx| {
        let resource = PolicyResource::Secret {
            project: project.clone(),
            secret: secret.clone(),
        };
        let ask = Ask::new(resource, &ROTATE, IfMissing::Fail);
        match require(ctx, vec![ask]).await {
            Err(Error::Gcp(e)) if e.is(Kind::NotFound) => {
                return Err(Error::KeySecretMissing {
                    env: env.name.clone(),
                    project: project.clone(),
                    secret: secret.clone(),
                });
            }
            r => r?,
        }
        if !no_deploy {
            printer.step(&format!(
                "Checking that `{}` can deploy before adding a key version",
                env.name
            ));
            let plan = (deploy.plan)(ctx, &env).await?;
            let problems = rotation_blockers(&plan, &env);
            if !problems.is_empty() {
                return Err(Error::Preflight { problems });
            }
        }
        let mut report = RotateReport {
            schema_version: SCHEMA_VERSION,
            environment: &env.name,
            project: &project,
            secret: &secret,
            action: "would_add",
            version: None,
            deployed: false,
            serving: Vec::new(),
        };
        if dry_run {
            let then = match no_deploy {
                true => "the service keeps its key until the next deploy".to_string(),
                false => format!("then deploy `{}` so the service uses it", env.name),
            };
            print_report(ctx, &report, || {
                format!(
                    "Would add a version with a new key to secret `{secret}` in project {project}; {then}. Nothing was changed."
                )
            });
            return Ok(ExitStatus::Success);
        }
        let key = crate::key::generate().map_err(Error::Random)?;
        let added = ctx
            .google
            .add_secret_version(&project, &secret, key.as_bytes())
            .await?;
        drop(key);
        let number = last_segment(&added.name);
        ctx.wrote(format!("added version {number} with a new key to secret `{secret}`"));
        printer.success(&format!(
            "Added version {number} with a new key to secret `{secret}`."
        ));
        report.action = "added";
        report.version = Some(number.clone());
        if no_deploy {
            printer.info(&format!(
                "The service keeps its key until the next deploy: autosre-deploy deploy --env {}",
                env.name
            ));
        } else {
            // The deploy prints its own plan and outcome on stdout; with
            // `--output json` that is the one JSON document, and it lists
            // the version added (`written_before`).
            if let Err(e) = (deploy.run)(ctx, &env).await {
                printer.warn(&format!(
                    "version {number} was added, but the deploy did not finish; the service keeps its previous key until `autosre-deploy deploy --env {}` succeeds",
                    env.name
                ));
                return Err(match e.is_reported() {
                    true => e,
                    false => Error::AfterWrites {
                        written: ctx.written(),
                        cause: Box::new(e),
                    },
                });
            }
            report.deployed = true;
        }
        // Who reads which key version: the same reads and rules as
        // `secrets status`, for the key secret alone.
        let key = SecretId {
            project: project.clone(),
            secret: secret.clone(),
        };
        let status = crate::secrets::read(&ctx.google, &env, Some(&key)).await?;
        report.serving = crate::secrets::serving_reads(&status, &key, &env.encryption_key.env);
        let lines: Vec<String> = report.serving.iter().map(ServingRead::words).collect();
        // After a deploy, its JSON document is the one on stdout: the reads
        // go to stderr then.
        if report.deployed && ctx.globals.output == Output::Json {
            lines.iter().for_each(|l| printer.info(l));
        } else {
            ctx.show(&Reported {
                json: &report,
                text: lines.join("\n"),
            });
        }
        Ok(ExitStatus::Success)
    })
    .await
}

/// The newest version that is ENABLED (highest number).
fn newest_enabled(
    versions: &[google_cloud_secretmanager_v1::model::SecretVersion],
) -> Option<&google_cloud_secretmanager_v1::model::SecretVersion> {
    use google_cloud_secretmanager_v1::model::secret_version::State;
    versions
        .iter()
        .filter(|v| v.state == State::Enabled)
        .max_by_key(|v| last_segment(&v.name).parse::<u64>().unwrap_or(0))
}

/// The key commands work on the secret whether or not the service reads it
/// yet; a config that does not wire it is said once.
fn warn_unwired(printer: &Printer, env: &Environment) {
    if env.encryption_key_wiring() != KeyWiring::Wired {
        let p = preflight::wiring_problem(env);
        printer.warn(&format!("{}\n  hint: {}", p.message, p.hint));
    }
}

/// A report on stdout: the JSON document, or the sentence for people.
fn print_report<T: Serialize>(ctx: &Context, report: &T, human: impl FnOnce() -> String) {
    ctx.show(&Reported {
        json: report,
        text: human(),
    });
}

fn last_segment(name: &str) -> String {
    name.rsplit('/').next().unwrap_or(name).to_string()
}

fn rfc3339(seconds: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(seconds).ok()?;
    t.format(&time::format_description::well_known::Rfc3339)
        .ok()
}
