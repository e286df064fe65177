//! `promote`, `rollback` and `history`: read the service and its revisions,
//! compute the move (or the history), apply it, report (see `crate::release`).

use serde::Serialize;

use super::shared::{Context, with_context};
use super::view::View;
use crate::ExitStatus;
use crate::apply::{self, Failure, ServiceOutcome};
use crate::cli::{HistoryArgs, PromoteArgs, RollbackArgs};
use crate::config::Environment;
use crate::error::{Category, Error};
use crate::plan::traffic::short;
use crate::printer::Printer;
use crate::release::history::History;
use crate::release::{self, MovePlan, Pick, view};
use crate::report;
use crate::settings::Globals;

pub(crate) async fn promote(
    globals: &Globals,
    printer: &Printer,
    vars: &crate::Env,
    args: PromoteArgs,
) -> Result<ExitStatus, Error> {
    let env = globals.load(&args.env.env)?;
    let pick = match (args.revision, args.tag) {
        (Some(r), _) => Pick::Revision(r),
        (None, Some(t)) => Pick::Tag(t),
        (None, None) => Pick::NewestReady,
    };
    let mv = Move {
        command: "promote",
        pick,
        percent: args.percent,
        record: false,
        dry_run: args.dry_run,
        timeout: globals.deadline,
    };
    with_context(globals, printer, vars, &env, async |ctx| {
        // Boxed: the move's state machine is large, and the run's future
        // lives on the caller's stack.
        Box::pin(move_traffic(ctx, &env, &mv)).await
    })
    .await
}

pub(crate) async fn rollback(
    globals: &Globals,
    printer: &Printer,
    vars: &crate::Env,
    args: RollbackArgs,
) -> Result<ExitStatus, Error> {
    let env = globals.load(&args.env.env)?;
    let mv = Move {
        command: "rollback",
        pick: args.to.map_or(Pick::Recorded, Pick::Revision),
        percent: 100,
        // Recorded, so that a second rollback undoes this one.
        record: true,
        dry_run: args.dry_run,
        timeout: globals.deadline,
    };
    with_context(globals, printer, vars, &env, async |ctx| {
        // Boxed: the move's state machine is large, and the run's future
        // lives on the caller's stack.
        Box::pin(move_traffic(ctx, &env, &mv)).await
    })
    .await
}

pub(crate) async fn history(
    globals: &Globals,
    printer: &Printer,
    vars: &crate::Env,
    args: HistoryArgs,
) -> Result<ExitStatus, Error> {
    let env = globals.load(&args.env.env)?;
    with_context(globals, printer, vars, &env, async |ctx| {
        let live = read(ctx, &env).await?;
        let h = release::history::history(&env, &live, args.limit);
        ctx.show(&h);
        Ok(ExitStatus::Success)
    })
    .await
}

/// One traffic move, as the flags ask it.
struct Move {
    command: &'static str,
    pick: Pick,
    percent: i32,
    record: bool,
    dry_run: bool,
    /// When the run must end (the global `--timeout`).
    timeout: std::time::Instant,
}

/// The service and its revisions; refused before the first deploy.
async fn read(ctx: &Context, env: &Environment) -> Result<release::Live, Error> {
    ctx.printer.step(&format!(
        "Reading service `{}` and its revisions (project {}, region {})",
        env.service.name, env.project, env.region
    ));
    Box::pin(release::read(&ctx.google, env))
        .await?
        .ok_or_else(|| Error::ReleaseRefused {
            message: format!("service `{}` does not exist yet", env.service.name),
            hint: format!(
                "deploy it first: `autosre-deploy deploy --env {}`",
                env.name
            ),
        })
}

/// A move's plan and what came of it: the JSON document of a move.
#[derive(Serialize)]
struct Report<'a> {
    schema_version: u32,
    plan: &'a MovePlan,
    outcome: &'a MoveOutcome,
}

#[derive(Default, Serialize)]
struct MoveOutcome {
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<ServiceOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<Failure>,
}

fn print_report(ctx: &Context, plan: &MovePlan, outcome: &MoveOutcome) {
    ctx.show(&Report {
        schema_version: release::SCHEMA_VERSION,
        plan,
        outcome,
    });
}

impl View for History {
    fn json(&self) -> impl Serialize + '_ {
        self
    }

    fn human(&self, _: &Printer) -> String {
        view::history_text(self, false)
    }

    fn markdown(&self, _: &Printer) -> String {
        view::history_text(self, true)
    }
}

/// A move's plan (`--dry-run`).
impl View for MovePlan {
    fn json(&self) -> impl Serialize + '_ {
        self
    }

    fn human(&self, _: &Printer) -> String {
        view::move_text(self, false)
    }

    fn markdown(&self, _: &Printer) -> String {
        view::move_text(self, true)
    }
}

/// A move's plan and what it did.
impl View for Report<'_> {
    fn json(&self) -> impl Serialize + '_ {
        self
    }

    fn human(&self, printer: &Printer) -> String {
        self.text(self.plan.human(printer))
    }

    fn markdown(&self, printer: &Printer) -> String {
        self.text(self.plan.markdown(printer))
    }
}

impl Report<'_> {
    /// The plan's text, then the service's outcome.
    fn text(&self, mut text: String) -> String {
        if let Some(s) = &self.outcome.service {
            text.push_str(&report::outcome_human(&apply::Outcome {
                service: Some(s.clone()),
                ..apply::Outcome::default()
            }));
        }
        text
    }
}

async fn move_traffic(ctx: &Context, env: &Environment, mv: &Move) -> Result<ExitStatus, Error> {
    let live = read(ctx, env).await?;
    let revision =
        release::pick(&live, &mv.pick).map_err(|(message, hint)| Error::ReleaseRefused {
            message: format!("{}: {message}", mv.command),
            hint: hint.replace("ENV", &env.name),
        })?;
    let r = live
        .revisions
        .iter()
        .find(|x| short(&x.name) == revision)
        .expect("picked among the revisions");
    let problems = Box::pin(release::start_problems(&ctx.google, env, r)).await?;
    let plan = release::plan_move(
        env, &live, mv.command, &revision, mv.percent, mv.record, problems,
    );
    let refused = || Error::Preflight {
        problems: plan.problems.clone(),
    };
    if mv.dry_run {
        ctx.show(&plan);
        return match plan.problems.is_empty() {
            true => Ok(ExitStatus::Success),
            false => Err(refused()),
        };
    }
    if !plan.problems.is_empty() {
        let e = refused();
        let outcome = MoveOutcome {
            failure: Some(Failure {
                message: e.to_string(),
                hint: None,
            }),
            ..MoveOutcome::default()
        };
        print_report(ctx, &plan, &outcome);
        return Err(e);
    }
    if !plan.changes {
        let outcome = MoveOutcome {
            service: Some(ServiceOutcome::of(&plan.service, &live.service, None, 0.0)),
            failure: None,
        };
        print_report(ctx, &plan, &outcome);
        ctx.printer.success(&format!(
            "No changes: traffic is already where {} would move it; nothing was written.",
            mv.command
        ));
        return Ok(ExitStatus::Success);
    }
    ctx.printer.step(&format!(
        "Moving traffic of `{}`: {}",
        plan.service,
        crate::plan::traffic::describe(&plan.after)
    ));
    match Box::pin(release::apply(&ctx.google, &live, &plan, mv.timeout)).await {
        Ok(service) => {
            let serving = service.serving.clone().unwrap_or_default();
            let outcome = MoveOutcome {
                service: Some(service),
                failure: None,
            };
            print_report(ctx, &plan, &outcome);
            ctx.printer.success(&format!(
                "{}: {} now serves {}% of `{}`",
                mv.command, revision, plan.percent, plan.service
            ));
            if mv.record {
                ctx.printer.info(&format!(
                    "Serving: {serving}. Undo with `autosre-deploy rollback --env {}`",
                    env.name
                ));
            }
            Ok(ExitStatus::Success)
        }
        Err(f) => {
            ctx.printer.error(&f.message, f.hint.as_deref());
            let outcome = MoveOutcome {
                service: None,
                failure: Some(f),
            };
            print_report(ctx, &plan, &outcome);
            Err(Error::Reported(Category::Failed))
        }
    }
}
