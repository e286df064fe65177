//! `check`: the read-only preflight.

use super::shared::{PlanView, preflight_result, with_context};
use super::view::{View, blocks};
use crate::ExitStatus;
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
        ctx.show(&CheckView(ctx.plan_view(&plan)));
        ctx.globals.ci.plan(&plan, ctx.globals.command);
        preflight_result(&plan)?;
        printer.success("preflight passed");
        Ok(ExitStatus::Success)
    })
    .await
}

/// The plan, and after it the full permission table (JSON has it in
/// `preflight.permissions`).
struct CheckView<'a>(PlanView<'a>);

impl View for CheckView<'_> {
    fn json(&self) -> impl serde::Serialize + '_ {
        &self.0
    }

    fn human(&self, printer: &Printer) -> String {
        let table = report::permissions_table(
            &self.0.plan.preflight.permissions,
            report::Format::Text(printer),
        );
        blocks(&[&self.0.human(printer), &table])
    }

    fn markdown(&self, printer: &Printer) -> String {
        let table =
            report::permissions_table(&self.0.plan.preflight.permissions, report::Format::Markdown);
        blocks(&[&self.0.markdown(printer), &table])
    }
}
