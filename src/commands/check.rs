//! `check`: the read-only preflight.

use super::shared::{preflight_result, print_plan, with_context};
use crate::ExitStatus;
use crate::error::Error;
use crate::plan::{self, Target};
use crate::printer::Printer;
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
        Some(image) => Target::Deploy {
            image: image.to_string(),
        },
        None => Target::Grant,
    };
    with_context(globals, printer, vars, &env, async |ctx| {
        let (plan, _) = plan::plan(&ctx.google, &env, &target).await?;
        print_plan(ctx, &plan);
        preflight_result(&plan)?;
        printer.success("preflight passed");
        Ok(ExitStatus::Success)
    })
    .await
}
