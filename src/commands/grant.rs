//! `grant`: the IAM part of a deploy alone (what grant_permissions.py did).

use super::{Context, plan::print_plan, with_context};
use crate::apply;
use crate::cli::GrantArgs;
use crate::error::{Category, CliError};
use crate::plan::{self, Scope};
use crate::printer::Printer;
use crate::settings::Globals;

pub(crate) async fn run(
    globals: &Globals,
    printer: &Printer,
    args: GrantArgs,
) -> Result<(), CliError> {
    let env = globals.load(&args.env.env)?;
    with_context(globals, printer, &env, async |ctx: &Context| {
        let (plan, live) = plan::gather(&ctx.google, &env, None, Scope::Grant).await?;
        if args.dry_run {
            print_plan(ctx, &plan);
            return Ok(());
        }
        if !plan.preflight.service_account.exists {
            print_plan(ctx, &plan);
            return Err(CliError::failed(
                format!(
                    "the runtime service account `{}` does not exist",
                    plan.runtime_service_account
                ),
                plan.preflight
                    .problems
                    .iter()
                    .find(|p| p.message.contains("service account"))
                    .map(|p| p.hint.clone()),
            ));
        }
        // Missing secrets do not stop a grant; they are reported.
        for p in &plan.preflight.problems {
            printer.warn(&p.message);
        }
        if !plan.changes.any() {
            printer.success("Every grant is already in place; nothing was written.");
            return Ok(());
        }
        let options = ctx.globals.apply_options(args.strict_iam, 0);
        let outcome = apply::apply(&ctx.google, &plan, live, options, printer).await;
        super::report_outcome(ctx, &plan, &outcome);
        for w in &outcome.warnings {
            printer.warn(w);
        }
        match outcome.failure {
            Some(f) => {
                printer.error(&f.message, f.hint.as_deref());
                Err(CliError::silent(Category::Failed))
            }
            None => Ok(()),
        }
    })
    .await
}
