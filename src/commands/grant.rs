//! `grant`: the IAM part of a deploy alone (what grant_permissions.py did).

use super::shared::{print_plan, report_outcome, settle, with_context};
use crate::ExitStatus;
use crate::apply;
use crate::error::Error;
use crate::plan::{self, Options, Planned, ProblemKind, Target, WarningKind};
use crate::printer::Printer;
use crate::settings::{Globals, GrantSettings};

pub(crate) async fn run(
    globals: &Globals,
    printer: &Printer,
    vars: &crate::Env,
    settings: GrantSettings,
) -> Result<ExitStatus, Error> {
    let env = globals.load(&settings.env)?;
    with_context(globals, printer, vars, &env, async |ctx| {
        let options = Options {
            strict_iam: settings.apply.strict_iam,
            iap_left_to_deploy: true,
            ..Options::of(Target::Grant)
        };
        let Planned { plan, live, .. } = plan::plan(&ctx.google, &env, &options).await?;
        if settings.dry_run {
            print_plan(ctx, &plan);
            return Ok(ExitStatus::Success);
        }
        // A missing runtime account stops a grant (there is no one to grant
        // to), and so does a permission the grants need that the deploying
        // identity lacks (they would be denied). Secret problems and the key
        // wiring are the deploy's to refuse; a grant reports them and goes on.
        let (blocking, other): (Vec<_>, Vec<_>) =
            plan.preflight.problems.iter().cloned().partition(|p| {
                matches!(
                    p.kind,
                    ProblemKind::ServiceAccountMissing
                        | ProblemKind::MissingPermission
                        | ProblemKind::ReadRefused
                )
            });
        if !blocking.is_empty() {
            print_plan(ctx, &plan);
            return Err(Error::Preflight { problems: blocking });
        }
        for p in &other {
            printer.warn(&p.message);
        }
        for w in plan
            .warnings
            .iter()
            .filter(|w| w.kind == WarningKind::IapLeftToDeploy)
        {
            printer.warn(&w.message);
        }
        if !plan.changes.any() {
            report_outcome(ctx, &plan, &apply::Outcome::default());
            printer.success("Every grant is already in place; nothing was written.");
            return Ok(ExitStatus::Success);
        }
        let outcome = apply::apply(&ctx.google, &plan, live, None, settings.apply, printer).await;
        settle(ctx, &plan, &outcome)?;
        Ok(ExitStatus::Success)
    })
    .await
}
