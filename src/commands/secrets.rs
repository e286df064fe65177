//! `secrets status` and `secrets disable`: the versions of every referenced
//! secret, who reads which, and disabling one only when no serving revision
//! reads it.

use super::shared::with_context;
use crate::ExitStatus;
use crate::cli::Output;
use crate::config::SecretRef;
use crate::error::Error;
use crate::plan::live::SecretId;
use crate::printer::Printer;
use crate::report;
use crate::secrets::usage::{self, Break, SecretStatus};
use crate::secrets::{self, Report};
use crate::settings::Globals;

pub(crate) async fn status(
    globals: &Globals,
    printer: &Printer,
    vars: &crate::Env,
    env_name: String,
) -> Result<ExitStatus, Error> {
    let env = globals.load(&env_name)?;
    with_context(globals, printer, vars, &env, async |ctx| {
        let r = secrets::read(&ctx.google, &env, None).await?;
        match ctx.globals.output {
            Output::Json => printer.data(&report::json(&r)),
            Output::Human | Output::Markdown => printer.data(&status_human(&r)),
        }
        Ok(ExitStatus::Success)
    })
    .await
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
        let r = secrets::read(&ctx.google, &env, Some(&id)).await?;
        let status = &r.secrets[0];
        guard_disable(status, version)?;
        let v = status
            .versions
            .iter()
            .find(|v| v.version == version)
            .expect("guard_disable checked it exists");
        let what = format!("version {version} of secret `{}`", id.secret);
        if v.state != "ENABLED" {
            printer.success(&format!(
                "{what} is already {}; nothing was written",
                v.state
            ));
            return Ok(ExitStatus::Success);
        }
        for b in &v.breaks {
            printer.warn(&break_words(b));
        }
        if args.dry_run {
            printer.success(&format!(
                "would disable {what}; nothing was written (--dry-run)"
            ));
            return Ok(ExitStatus::Success);
        }
        ctx.google
            .disable_secret_version(&id.project, &id.secret, &version.to_string())
            .await?;
        printer.success(&format!("disabled {what}"));
        Ok(ExitStatus::Success)
    })
    .await
}

/// Refuse to disable `version` when it does not exist or a serving revision
/// reads it (pinned, or through `latest` or an alias): its new instances
/// would fail to start. For every command that disables or destroys a
/// version (`secrets disable`, the `key` commands).
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

fn break_words(b: &Break) -> String {
    match b {
        Break::ServingRevision { revision, percent } => {
            format!(
                "serving revision {revision} ({percent}% of traffic) could start no new instance"
            )
        }
        Break::Rollback { revision } => {
            format!("revision {revision} (no traffic) could no longer be rolled back to")
        }
        Break::NextDeploy { env } => format!(
            "the next deploy would stop: the config reads it for {}",
            env.join(", ")
        ),
    }
}

fn status_human(r: &Report) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Secret versions for environment `{}` (service {})",
        r.environment, r.service
    );
    let serving: Vec<String> = r
        .serving
        .iter()
        .map(|(rev, p)| format!("{rev} {p}%"))
        .collect();
    let _ = writeln!(
        s,
        "Serving: {}",
        match serving.is_empty() {
            true => "nothing (no service yet)".to_string(),
            false => serving.join(", "),
        }
    );
    for st in &r.secrets {
        let _ = writeln!(s, "\nsecret {} (project {})", st.secret, st.project);
        if !st.exists {
            let _ = writeln!(s, "  NOT FOUND");
            continue;
        }
        for c in &st.config {
            let now = c
                .resolves_to
                .map(|n| format!(" -> {n} now"))
                .unwrap_or_else(|| " -> nothing now".into());
            let _ = writeln!(s, "  config: {} reads {}{now}", c.env, c.reference);
        }
        for v in &st.versions {
            let latest = match st.latest == Some(v.version) {
                true => " (latest)",
                false => "",
            };
            let _ = writeln!(
                s,
                "  version {}{latest}: {}, created {}",
                v.version, v.state, v.create_time
            );
            for u in &v.used_by {
                let how = match u.reference.parse::<u64>() {
                    Ok(_) => "pinned".to_string(),
                    Err(_) => format!("via `{}`", u.reference),
                };
                let traffic = match u.serving {
                    true => format!("serving {}%", u.percent),
                    false => "not serving".into(),
                };
                let _ = writeln!(
                    s,
                    "    read by {} ({traffic}) as {} ({how})",
                    u.revision, u.env
                );
            }
            if v.state == "ENABLED" {
                match v.breaks.is_empty() {
                    true => {
                        let _ = writeln!(s, "    disabling it breaks nothing known");
                    }
                    false => {
                        for b in &v.breaks {
                            let _ = writeln!(s, "    disabling it: {}", break_words(b));
                        }
                    }
                }
            }
        }
    }
    s
}
