//! `deploy`: preflight, grants, rollout, readiness — or, with `--dry-run`,
//! the plan alone.

use super::shared::{
    Context, console_url, preflight_result, print_plan, report_outcome, settle, with_context,
};
use crate::ExitStatus;
use crate::apply;
use crate::config::Environment;
use crate::error::Error;
use crate::plan::saved::{self, SavedPlan};
use crate::plan::{self, Options, Planned, Target, TrafficAsk};
use crate::printer::Printer;
use crate::report;
use crate::settings::{Artifact, DeploySettings, Globals};
use crate::source::Package;
use crate::source::build::SourcePlan;

pub(crate) async fn run(
    globals: &Globals,
    printer: &Printer,
    vars: &crate::Env,
    settings: DeploySettings,
) -> Result<ExitStatus, Error> {
    let saved_plan = settings
        .saved_plan
        .as_deref()
        .map(SavedPlan::read)
        .transpose()?;
    let env_name = match (&settings.env, &saved_plan) {
        (Some(given), Some(s)) if *given != s.environment => {
            return Err(Error::PlanForOtherEnvironment {
                planned: s.environment.clone(),
                given: given.clone(),
            });
        }
        (Some(e), _) => e.clone(),
        (None, Some(s)) => s.environment.clone(),
        (None, None) => unreachable!("clap requires --env without --plan"),
    };
    let mut env = globals.load(&env_name)?;
    // `validate`'s rule, offline: a key that is not wired is the config's
    // fault (exit 2), found before any request.
    if let Some(e) = crate::config::key_wiring_error(&env) {
        return Err(e.into());
    }
    // A saved plan applies the overrides it was made with (clap refuses
    // `--set-env` next to `--plan`).
    let set_env = match &saved_plan {
        Some(s) => crate::settings::apply_set_env(&mut env, &s.set_env_pairs())?,
        None => crate::settings::apply_set_env(&mut env, &settings.set_env)?,
    };
    crate::settings::apply_labels(&mut env, &settings.labels, globals.github_sha.as_deref())?;
    // A tag Cloud Run would refuse is refused here, before anything is sent.
    if let Some(tag) = &settings.traffic.tag {
        crate::plan::traffic::check_tag(tag, &env.service.name).map_err(|message| {
            Error::ReleaseArgument {
                message: format!("--tag: {message}"),
                hint: "Cloud Run refuses a tag whose length plus the service name's exceeds 46 characters (\"Combined traffic tag and service name cannot exceed 46 characters\"); choose a shorter tag".into(),
            }
        })?;
    }
    let release = match &saved_plan {
        Some(s) => {
            check_config_unchanged(&env, s)?;
            // A saved plan is always for an image (`plan --out` refuses to
            // save one that builds).
            env.service.source = None;
            Release {
                image: s.image.clone(),
                source: None,
            }
        }
        None => release(printer, &mut env, &settings)?,
    };
    with_context(globals, printer, vars, &env, async |ctx| {
        // Boxed: the deploy's state machine is large, and the run's future
        // lives on the caller's stack.
        Box::pin(deploy_in(
            ctx,
            &env,
            &settings,
            saved_plan.as_ref(),
            release,
            &set_env,
        ))
        .await
    })
    .await
}

/// What a deploy rolls out: an image, or one built from a directory first
/// (the package to upload and the build's plan).
pub(crate) struct Release {
    image: String,
    source: Option<(Package, SourcePlan)>,
}

/// The release `settings` ask for: `--image`, else a build from `--source`
/// or `service.source` (packaged now, so that errors in the tree stop the
/// run before anything is read), else `service.image`.
pub(crate) fn release(
    printer: &Printer,
    env: &mut Environment,
    settings: &DeploySettings,
) -> Result<Release, Error> {
    Ok(match settings.artifact(env)? {
        Artifact::Image(image) => Release {
            image,
            source: None,
        },
        Artifact::Source(dir) => {
            let (package, source) = crate::source::prepare(env, &dir)?;
            let s = &source.package;
            printer.step(&format!(
                "Packaged {}: {} files, {} (ignore rules: {})",
                dir.display(),
                s.files,
                crate::source::build::human_size(s.bytes),
                s.ignore
            ));
            for link in &s.skipped_links {
                printer.warn(&format!(
                    "left out the symlink `{link}`: it points outside {}",
                    dir.display()
                ));
            }
            Release {
                image: source.planned_image(),
                source: Some((package, source)),
            }
        }
    })
}

/// The plan `deploy_in` would compute first, read-only: what `key rotate`
/// judges before it writes anything.
pub(crate) async fn plan_in(
    ctx: &Context,
    env: &Environment,
    release: &Release,
) -> Result<crate::plan::Plan, Error> {
    let options = Options {
        source: release.source.as_ref().map(|(_, s)| s.clone()),
        ..Options::of(Target::deploy(release.image.clone()))
    };
    let planned = Box::pin(plan::plan(&ctx.google, env, &options)).await?;
    Ok(planned.plan)
}

/// The deploy of `env` on an open connection: what `deploy` runs, and
/// `key rotate` after adding its version. `set_env` names the variables
/// `--set-env` set (already applied to `env`).
pub(crate) async fn deploy_in(
    ctx: &Context,
    env: &Environment,
    settings: &DeploySettings,
    saved_plan: Option<&SavedPlan>,
    release: Release,
    set_env: &[String],
) -> Result<ExitStatus, Error> {
    let printer = &ctx.printer;
    let Release { image, source } = release;
    let ask = TrafficAsk {
        to_latest: settings.traffic.to_latest,
        no_traffic: settings.traffic.no_traffic,
        tag: settings.traffic.tag.clone().map(|t| (t, revision_suffix())),
    };
    let mut options = Options {
        target: Target::Deploy {
            image: image.clone(),
            traffic: ask.clone(),
        },
        set_env: set_env.to_vec(),
        source: source.as_ref().map(|(_, s)| s.clone()),
        strict_iam: settings.apply.strict_iam,
        iap_left_to_deploy: false,
    };
    let reading = format!(
        "Reading live state for `{}` (project {}, region {})",
        env.name, env.project, env.region
    );
    let fold = ctx.globals.ci.group(printer, &reading);
    printer.step(&reading);
    // Boxed, as the apply below: the reads' and the rollout's state machines
    // are large, and the run's future lives on the caller's stack.
    let Planned {
        mut plan,
        mut to_send,
        mut live,
    } = Box::pin(plan::plan(&ctx.google, env, &options)).await?;
    drop(fold);
    ctx.globals.ci.plan(&plan, ctx.globals.command);
    if settings.dry_run {
        print_plan(ctx, &plan);
        preflight_result(&plan)?;
        return Ok(ExitStatus::Success);
    }
    if let Err(e) = preflight_result(&plan) {
        // With `--output json`, the plan and the refusal as one document.
        if ctx.globals.output == crate::cli::Output::Json {
            let outcome = apply::Outcome::failed(e.to_string(), e.hint());
            report_outcome(ctx, &plan, &outcome);
        }
        return Err(e);
    }
    // A source deploy builds once the preflight passed, then plans again
    // for the built image: the plan shown and applied is the one that
    // runs that digest.
    let mut build = None;
    if let (Some((package, _)), Some(source)) = (source, plan.source.clone()) {
        let (record, built) = Box::pin(apply::build(
            &ctx.google,
            env,
            printer,
            &source,
            package.archive,
            live.project_number.as_deref(),
            ctx.globals.poll_interval,
        ))
        .await;
        let image = match built {
            Ok(image) => image,
            Err(e) => {
                // The plan, what was written before the failure and the
                // failure, in the chosen format; the error itself (and its
                // exit code) as for any other.
                let outcome = apply::Outcome {
                    build: Some(record),
                    ..apply::Outcome::failed(e.to_string(), e.hint())
                };
                report_outcome(ctx, &plan, &outcome);
                return Err(e);
            }
        };
        build = Some(record);
        options.target = Target::Deploy {
            image,
            traffic: ask.clone(),
        };
        // The live state read before the build stands; only Cloud Run's
        // validation depends on the image.
        Planned {
            plan,
            to_send,
            live,
        } = plan::replan(&ctx.google, env, &options, live).await?;
        ctx.globals.ci.plan(&plan, ctx.globals.command);
        preflight_result(&plan)?;
    }
    if let Some(s) = saved_plan {
        let now = saved::Reads::from_parts(&plan, &live, to_send.as_ref());
        let drift = saved::drift(&s.reads, &now);
        if !drift.is_empty() {
            return Err(Error::Drift {
                env: env.name.clone(),
                drift,
            });
        }
        printer.info("The saved plan matches live state; applying it.");
    }
    if !plan.changes.any() {
        // Unchanged, the service is still what a pipeline's next step needs:
        // its URL, what serves and the tags.
        let outcome = apply::Outcome {
            service: live
                .service
                .as_ref()
                .map(|s| apply::ServiceOutcome::of(&env.service.name, s, None, 0.0)),
            ..apply::Outcome::default()
        };
        report_outcome(ctx, &plan, &outcome);
        let at = plan.service.as_ref().and_then(|s| s.url.as_deref());
        printer.success(&format!(
            "No changes: {} is up to date{}; nothing was written.",
            env.service.name,
            at.map(|u| format!(" at {u}")).unwrap_or_default()
        ));
        return Ok(ExitStatus::Success);
    }
    // What is about to change, for the people and logs watching; stdout
    // stays the outcome.
    printer.info(report::plan_human(&plan, &printer.painting_for_stderr()).trim_end());
    for w in &plan.warnings {
        printer.warn(&w.message);
    }
    let fold = ctx
        .globals
        .ci
        .group(printer, &format!("Applying the plan to `{}`", env.name));
    // A source deploy of an unchanged tree builds, then finds the service
    // already running that digest: it is reported as it is.
    let unchanged = plan
        .service
        .as_ref()
        .filter(|s| s.action == plan::ServiceAction::None)
        .and(live.service.clone());
    let mut outcome = Box::pin(apply::apply(
        &ctx.google,
        &plan,
        live,
        to_send,
        settings.apply.clone(),
        printer,
    ))
    .await;
    drop(fold);
    outcome.build = build;
    if let Some(s) = &unchanged {
        outcome.service = Some(apply::ServiceOutcome::of(&env.service.name, s, None, 0.0));
    }
    settle(ctx, &plan, &outcome)?;
    match outcome.service.as_ref() {
        Some(s) if unchanged.is_some() => printer.success(&format!(
            "No changes to {}: it runs the built image already at {}",
            env.service.name,
            s.url.as_deref().unwrap_or("-")
        )),
        Some(s) => {
            let url = s.url.as_deref().unwrap_or("-");
            let share: i32 = s
                .traffic
                .iter()
                .filter(|t| s.revision.as_ref() == Some(&t.revision))
                .map(|t| t.percent)
                .sum();
            match (&s.revision, share) {
                (Some(r), 0) if plan.service.as_ref().is_some_and(|c| c.new_revision) => {
                    printer.success(&format!(
                        "Deployed revision {r} of {} without traffic; {} serves {url}",
                        env.service.name,
                        s.serving.as_deref().unwrap_or("-")
                    ));
                    printer.info(&format!(
                        "Move traffic to it with `autosre-deploy promote --env {} --revision {r}`",
                        env.name
                    ));
                }
                _ => printer.success(&format!("Deployed {} to {url}", env.service.name)),
            }
            for t in s
                .traffic
                .iter()
                .filter(|t| s.revision.as_ref() == Some(&t.revision))
            {
                if let (Some(tag), Some(u)) = (&t.tag, &t.url) {
                    printer.info(&format!("Tagged URL `{tag}`: {u}"));
                }
            }
        }
        None => printer.success("Done."),
    }
    if let Some(url) = console_url(&plan) {
        printer.info(&format!("Revisions in the Console: {url}"));
    }
    Ok(ExitStatus::Success)
}

/// The environment the saved plan was made for must be the one the config
/// resolves to now (a comment or layout edit is no change).
fn check_config_unchanged(env: &Environment, s: &SavedPlan) -> Result<(), Error> {
    match saved::environment_sha256(env) == s.config_sha256 {
        true => Ok(()),
        false => Err(Error::ConfigChangedSincePlan {
            env: env.name.clone(),
            file: env.source.clone(),
        }),
    }
}

/// Three random lowercase letters and digits: the end of a revision name the
/// deploy gives (`SERVICE-00007-x2k`, as gcloud's `--tag` names revisions).
fn revision_suffix() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..3)
        .map(|_| CHARS[rand::random::<u32>() as usize % CHARS.len()] as char)
        .collect()
}
