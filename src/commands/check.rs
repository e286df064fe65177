//! `check`: the read-only preflight.

use super::shared::{preflight_result, print_plan, with_context};
use crate::ExitStatus;
use crate::cli::Output;
use crate::error::Error;
use crate::plan::{self, Options, Target};
use crate::printer::Printer;
use crate::report;
use crate::settings::Globals;

pub(crate) async fn run(
    globals: &Globals,
    printer: &Printer,
    vars: &crate::Env,
    env_name: String,
) -> Result<ExitStatus, Error> {
    let env = globals.load(&env_name)?;
    // With an image the check also covers the service; without one, the
    // secrets, the account and the grants.
    let target = match env.service.image.clone() {
        Some(image) => Target::deploy(image.to_string()),
        None => Target::Grant,
    };
    with_context(globals, printer, vars, &env, async |ctx| {
        let plan = plan::plan(&ctx.google, &env, &Options::of(target.clone()))
            .await?
            .plan;
        print_plan(ctx, &plan);
        // The full permission table (JSON has it in `preflight.permissions`).
        let format = match ctx.globals.output {
            Output::Human => Some(report::Format::Text(printer)),
            Output::Markdown => Some(report::Format::Markdown),
            Output::Json => None,
        };
        if let Some(format) = format {
            let table = report::permissions_table(&plan.preflight.permissions, format);
            if !table.is_empty() {
                printer.data(&table);
            }
        }
        preflight_result(&plan)?;
        printer.success("preflight passed");
        Ok(ExitStatus::Success)
    })
    .await
}
