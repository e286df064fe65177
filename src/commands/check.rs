//! `check`: the read-only preflight.

use super::{Context, deploy::preflight_result, plan::print_plan, with_context};
use crate::cli::EnvArg;
use crate::error::CliError;
use crate::plan::{self, Scope};
use crate::printer::Printer;
use crate::settings::Globals;

pub(crate) async fn run(
    globals: &Globals,
    printer: &Printer,
    args: EnvArg,
) -> Result<(), CliError> {
    let env = globals.load(&args.env)?;
    // With an image the check also covers the service; without one, the
    // secrets, the account and the grants.
    let (image, scope) = match env.service.image.clone() {
        Some(i) => (Some(i), Scope::Deploy),
        None => (None, Scope::Grant),
    };
    with_context(globals, printer, &env, async |ctx: &Context| {
        let (plan, _) = plan::gather(&ctx.google, &env, image.as_deref(), scope).await?;
        print_plan(ctx, &plan);
        preflight_result(&plan)?;
        printer.success("preflight passed");
        Ok(())
    })
    .await
}
