//! `deploy`: preflight, grants, rollout, readiness — or, with `--dry-run`,
//! the plan alone.

use super::{Context, plan::print_plan, with_context};
use crate::apply;
use crate::cli::DeployArgs;
use crate::error::{Category, CliError};
use crate::plan::saved::{self, SavedPlan, SavedPlanError};
use crate::plan::{self, Plan, Scope};
use crate::printer::Printer;
use crate::report;
use crate::settings::{self, Globals};

pub(crate) async fn run(
    globals: &Globals,
    printer: &Printer,
    args: DeployArgs,
) -> Result<(), CliError> {
    let saved_plan = args.plan.as_deref().map(read_saved).transpose()?;
    let env_name = match (args.env, &saved_plan) {
        (Some(e), Some(s)) if e != s.environment => {
            return Err(CliError::failed(
                format!(
                    "the saved plan is for environment `{}`, not `{e}`; nothing was written",
                    s.environment
                ),
                Some(format!(
                    "run `autosre-deploy plan --env {e} --out FILE` to plan `{e}`"
                )),
            ));
        }
        (Some(e), _) => e,
        (None, Some(s)) => s.environment.clone(),
        (None, None) => unreachable!("clap requires --env without --plan"),
    };
    let env = globals.load(&env_name)?;
    let image = match &saved_plan {
        Some(s) => {
            check_config_unchanged(&env, s)?;
            s.image.clone()
        }
        None => settings::image(&env, args.image)?,
    };
    with_context(globals, printer, &env, async |ctx: &Context| {
        printer.step(&format!(
            "Reading live state for `{}` (project {}, region {})",
            env.name, env.project, env.region
        ));
        let (plan, live) = plan::gather(&ctx.google, &env, Some(&image), Scope::Deploy).await?;
        if args.dry_run {
            print_plan(ctx, &plan);
            return preflight_result(&plan);
        }
        preflight_result(&plan)?;
        if let Some(s) = &saved_plan {
            let drift = saved::drift(&s.plan, &plan);
            if !drift.is_empty() {
                return Err(CliError::failed(
                    format!(
                        "live state changed since the plan was made; nothing was written:\n  - {}",
                        drift.join("\n  - ")
                    ),
                    Some(format!(
                        "review a fresh plan: autosre-deploy plan --env {} --out FILE",
                        env.name
                    )),
                ));
            }
            printer.info("The saved plan matches live state; applying it.");
        }
        if !plan.changes.any() {
            super::report_outcome(ctx, &plan, &apply::Outcome::default());
            let at = plan.service.as_ref().and_then(|s| s.url.as_deref());
            printer.success(&format!(
                "No changes: {} is up to date{}; nothing was written.",
                env.service.name,
                at.map(|u| format!(" at {u}")).unwrap_or_default()
            ));
            return Ok(());
        }
        // What is about to change, for the people and logs watching; stdout
        // stays the outcome.
        printer.info(report::plan_human(&plan, &printer.painting_for_stderr()).trim_end());
        let options = ctx
            .globals
            .apply_options(args.strict_iam, args.iam_propagation_timeout);
        let outcome = apply::apply(&ctx.google, &plan, live, options, printer).await;
        super::report_outcome(ctx, &plan, &outcome);
        for w in &outcome.warnings {
            printer.warn(w);
        }
        match &outcome.failure {
            Some(f) => {
                printer.error(&f.message, f.hint.as_deref());
                Err(CliError::silent(Category::Failed))
            }
            None => {
                if let Some(url) = outcome.service.as_ref().and_then(|s| s.url.as_deref()) {
                    printer.success(&format!("Deployed {} to {url}", env.service.name));
                } else {
                    printer.success("Done.");
                }
                Ok(())
            }
        }
    })
    .await
}

fn read_saved(path: &std::path::Path) -> Result<SavedPlan, CliError> {
    SavedPlan::read(path).map_err(|e| match e {
        SavedPlanError::Edited { .. } => CliError::failed(
            format!("{e}; nothing was written"),
            Some("make a new plan with `autosre-deploy plan --env ENV --out FILE`".into()),
        ),
        _ => CliError::user(e.to_string(), None),
    })
}

/// The config the saved plan was made from must be the one on disk now.
fn check_config_unchanged(env: &crate::config::Environment, s: &SavedPlan) -> Result<(), CliError> {
    let text = std::fs::read_to_string(&env.source).unwrap_or_default();
    if saved::sha256_hex(text.as_bytes()) != s.config_sha256 {
        return Err(CliError::failed(
            format!(
                "{} changed since the plan was made; nothing was written",
                env.source.display()
            ),
            Some(format!(
                "review a fresh plan: autosre-deploy plan --env {} --out FILE",
                env.name
            )),
        ));
    }
    Ok(())
}

/// Exit 1 with every problem printed when the preflight failed.
pub(crate) fn preflight_result(plan: &Plan) -> Result<(), CliError> {
    match plan.preflight.problems.len() {
        0 => Ok(()),
        n => {
            let mut message = format!("preflight failed with {n} problem(s); nothing was changed");
            for p in &plan.preflight.problems {
                message.push_str(&format!("\n  - {}\n    hint: {}", p.message, p.hint));
            }
            Err(CliError::failed(message, None))
        }
    }
}
