//! `secrets status` and `secrets disable`: the versions of every referenced
//! secret, who reads which, and disabling one only when no serving revision
//! reads it.
//!
//! Both ask the deploying identity's permissions first (as `key` and
//! `check` do): reading the service and its revisions, listing each
//! secret's versions and, for `disable`, disabling one. A missing
//! permission stops the command with the role and the grant command.

use super::permissions::{Ask, IfMissing, require};
use super::shared::{Context, with_context};
use super::view::{Reported, View};
use crate::ExitStatus;
use crate::config::{Environment, SecretRef};
use crate::error::Error;
use crate::gcp::iam::PolicyResource;
use crate::plan::live::{SecretId, VersionRef};
use crate::plan::names;
use crate::printer::Printer;
use crate::secrets::render::{self, break_words};
use crate::secrets::{self, guard_disable};
use crate::settings::Globals;

/// What reading the service's revisions needs, asked of the service (or of
/// the project before the first deploy: the service inherits its grants).
pub(crate) const READ_SERVICE: [&str; 2] = ["run.services.get", "run.revisions.list"];
/// What reading a secret's versions and aliases needs.
pub(crate) const READ_SECRET: [&str; 2] =
    ["secretmanager.secrets.get", "secretmanager.versions.list"];
/// What `secrets disable` needs beyond reading.
pub(crate) const DISABLE: &str = "secretmanager.versions.disable";

/// Ask for the reads of the service and of `secrets` (plus `extra` on each
/// secret); a secret that does not exist is reported by the read itself.
async fn require_reads(
    ctx: &Context,
    env: &Environment,
    secrets: &[SecretId],
    extra: &[&'static str],
) -> Result<(), Error> {
    let project = PolicyResource::Project {
        project: env.project.to_string(),
    };
    let mut asks = vec![Ask::new(
        names::service_resource(env),
        &READ_SERVICE,
        IfMissing::Ask(project),
    )];
    let on_secret: Vec<&'static str> = READ_SECRET.iter().chain(extra).copied().collect();
    asks.extend(
        secrets
            .iter()
            .map(|id| Ask::new(id.resource(), &on_secret, IfMissing::Skip)),
    );
    require(ctx, asks).await
}

/// The secrets the config references (those only old revisions reference
/// are known after the read; a refused read of one is its own error).
fn config_secrets(env: &Environment) -> Vec<SecretId> {
    let mut ids: Vec<SecretId> = env
        .service
        .secrets
        .values()
        .map(|r| VersionRef::of(env, r).id)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

pub(crate) async fn status(
    globals: &Globals,
    printer: &Printer,
    vars: &crate::Env,
    env_name: String,
) -> Result<ExitStatus, Error> {
    let env = globals.load(&env_name)?;
    with_context(globals, printer, vars, &env, async |ctx| {
        require_reads(ctx, &env, &config_secrets(&env), &[]).await?;
        let r = secrets::read(&ctx.google, &env, None).await?;
        ctx.show(&r);
        Ok(ExitStatus::Success)
    })
    .await
}

/// What `secrets disable` found or did.
#[derive(serde::Serialize)]
struct DisableReport<'a> {
    schema_version: u32,
    environment: &'a str,
    project: &'a str,
    secret: &'a str,
    version: u64,
    /// `disabled`, `would_disable` (`--dry-run`) or `already_<state>`.
    action: String,
    /// Whether the environment's config references the secret.
    referenced_by_config: bool,
    /// Other Cloud Run services of the project and region whose current
    /// template reads the secret; `null` when they could not be listed.
    other_services: Option<Vec<String>>,
}

pub(crate) async fn disable(
    globals: &Globals,
    printer: &Printer,
    vars: &crate::Env,
    args: crate::cli::SecretsDisableArgs,
) -> Result<ExitStatus, Error> {
    let env = globals.load(&args.env.env)?;
    let (id, version) = parse_target(&env.project, &args.secret, &args.version)?;
    with_context(globals, printer, vars, &env, async |ctx| {
        require_reads(ctx, &env, std::slice::from_ref(&id), &[DISABLE]).await?;
        let r = secrets::read(&ctx.google, &env, Some(&id)).await?;
        let status = &r.secrets[0];
        guard_disable(status, version)?;
        let v = status
            .versions
            .iter()
            .find(|v| v.version == version)
            .expect("guard_disable checked it exists");
        let what = format!("version {version} of secret `{}`", id.secret);
        let mut report = DisableReport {
            schema_version: crate::plan::SCHEMA_VERSION,
            environment: &env.name,
            project: &id.project,
            secret: &id.secret,
            version,
            action: format!("already_{}", v.state.to_ascii_lowercase()),
            referenced_by_config: config_secrets(&env).contains(&id),
            other_services: None,
        };
        if v.state != "ENABLED" {
            print_disable(ctx, &report, &format!("{what} is already {}; nothing was written", v.state));
            return Ok(ExitStatus::Success);
        }
        for b in &v.breaks {
            printer.warn(&break_words(b));
        }
        report.other_services = other_readers(ctx, &env, &id).await;
        if !report.referenced_by_config {
            printer.warn(&format!(
                "environment `{}` does not reference secret `{}`: only its service's revisions were checked, and other services may read it",
                env.name, id.secret
            ));
        }
        if let Some(names) = report.other_services.as_ref().filter(|n| !n.is_empty()) {
            printer.warn(&format!(
                "other services in project {} (region {}) read secret `{}`: {}; disabling a version they read breaks their next instance start",
                env.project,
                env.region,
                id.secret,
                names.join(", ")
            ));
        }
        if args.dry_run {
            report.action = "would_disable".into();
            print_disable(ctx, &report, &format!("would disable {what}; nothing was written (--dry-run)"));
            return Ok(ExitStatus::Success);
        }
        ctx.google
            .disable_secret_version(&id.project, &id.secret, &version.to_string())
            .await?;
        report.action = "disabled".into();
        print_disable(ctx, &report, &format!("disabled {what}"));
        Ok(ExitStatus::Success)
    })
    .await
}

/// The other services of the environment's project and region that read
/// `id` (run.v2 `services.list`); `None`, with a warning, when the list is
/// refused or fails: the check is advice, the guard is the serving revisions.
async fn other_readers(ctx: &Context, env: &Environment, id: &SecretId) -> Option<Vec<String>> {
    let project = env.project.to_string();
    match ctx.google.services(&project, env.region.as_ref()).await {
        Ok(services) => {
            let own = env.service.name.to_string();
            Some(
                secrets::services_reading(&services, id, &project)
                    .into_iter()
                    .filter(|s| *s != own)
                    .collect(),
            )
        }
        Err(e) => {
            ctx.printer.warn(&format!(
                "could not list the services of project {project} (region {}) to see which read secret `{}`: {e}",
                env.region, id.secret
            ));
            None
        }
    }
}

/// The result on stdout: the JSON document, or the sentence.
fn print_disable(ctx: &Context, report: &DisableReport<'_>, words: &str) {
    ctx.show(&Reported {
        json: report,
        text: words.to_string(),
    });
}

/// `SECRET` (`name` or `projects/P/secrets/S`) and a version number.
fn parse_target(project: &str, secret: &str, version: &str) -> Result<(SecretId, u64), Error> {
    let bad = |message: String, hint: &str| Error::SecretArgument {
        message,
        hint: hint.into(),
    };
    let r = SecretRef::parse(secret).map_err(|e| bad(e.message().to_string(), e.hint()))?;
    if secret.contains(':') {
        return Err(bad(
            format!("`{secret}`: give the version as its own argument"),
            "autosre-deploy secrets disable --env ENV SECRET VERSION",
        ));
    }
    // versions.disable takes a number: "Access by alias is only supported on
    // GetSecretVersion and AccessSecretVersion" (secretmanager.v1 discovery).
    let n: u64 = version.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
        bad(
            format!("`{version}` is not a version number"),
            "name the version by its number, as `secrets status` lists it",
        )
    })?;
    Ok((
        SecretId {
            project: r.project.unwrap_or_else(|| project.to_string()),
            secret: r.secret,
        },
        n,
    ))
}

/// `secrets status`: a block per secret, or a table per secret in Markdown.
impl View for secrets::Report {
    fn json(&self) -> impl serde::Serialize + '_ {
        self
    }

    fn human(&self, _: &Printer) -> String {
        render::human(self)
    }

    fn markdown(&self, _: &Printer) -> String {
        render::markdown(self)
    }
}
