//! `plan`: what `deploy` would change, from live state, read-only.

use super::{Context, deploy::preflight_result, with_context};
use crate::cli::{Output, PlanArgs};
use crate::error::{Category, CliError};
use crate::plan::saved::SavedPlan;
use crate::plan::{self, Plan, Scope};
use crate::printer::Printer;
use crate::report;
use crate::settings::{self, Globals};

pub(crate) async fn run(
    globals: &Globals,
    printer: &Printer,
    args: PlanArgs,
) -> Result<(), CliError> {
    let env = globals.load(&args.env.env)?;
    let image = settings::image(&env, args.image)?;
    let mut changes = false;
    with_context(globals, printer, &env, async |ctx: &Context| {
        let (plan, _) = plan::gather(&ctx.google, &env, Some(&image), Scope::Deploy).await?;
        print_plan(ctx, &plan);
        changes = plan.changes.any();
        preflight_result(&plan)?;
        if let Some(out) = &args.out {
            let text = std::fs::read_to_string(&env.source).unwrap_or_default();
            SavedPlan::new(plan, &image, &text)
                .write(out)
                .map_err(|e| CliError::failed(e.to_string(), None))?;
            printer.success(&format!(
                "Saved the plan to {0}; apply exactly it with `autosre-deploy deploy --plan {0}`",
                out.display()
            ));
        }
        Ok(())
    })
    .await?;
    if args.detailed_exitcode && changes {
        // Terraform's convention: 2 means "succeeded, and there are changes".
        return Err(CliError::silent(Category::User));
    }
    Ok(())
}

pub(crate) fn print_plan(ctx: &Context, plan: &Plan) {
    let text = match ctx.globals.output {
        Output::Human => report::plan_human(plan, &ctx.printer),
        Output::Json => report::json(plan),
        Output::Markdown => report::plan_markdown(plan),
    };
    ctx.printer.data(&text);
}
