//! The run over several targets: plan every target (one concurrent wave,
//! reads shared), judge them all before any write, then one IAM phase with
//! every policy written once, then the rollouts (one concurrent wave,
//! bounded by `--jobs`, stopped by the first failure unless `--keep-going`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;

use super::FleetOptions;
use super::report::{self, TargetResult, TargetStatus};
use super::saved::SavedFleet;
use crate::ExitStatus;
use crate::apply::{self, ApplyOptions, IamResult, Outcome};
use crate::commands::shared::{Context, with_context};
use crate::config::Environment;
use crate::error::{Category, Error};
use crate::plan::{self, Plan, ProblemKind, TrafficAsk};
use crate::printer::{Board, Printer};
use crate::settings::{Globals, ReleaseTraffic};

/// What the run does with the targets' plans.
pub(crate) enum Mode {
    /// `plan`: print them (and save them with `--out`).
    Plan {
        out: Option<PathBuf>,
        detailed_exitcode: bool,
    },
    /// `deploy`: apply them (with `--dry-run`, print them only); from a
    /// saved plan, only when every target's plan is unchanged.
    Deploy {
        dry_run: bool,
        saved: Option<SavedFleet>,
        traffic: ReleaseTraffic,
    },
    /// `grant`: their grants only.
    Grant { dry_run: bool },
}

/// One target, ready to be planned.
pub(super) struct Prepared {
    pub(super) id: String,
    pub(super) env: Environment,
    pub(super) image: Option<String>,
    /// `--set-env` names (already applied to `env`).
    pub(super) set_env: Vec<String>,
}

/// One target, planned: its plan, the exact service to send and the live
/// state both came from.
pub(super) struct Planned {
    pub(super) prepared: Prepared,
    pub(super) plan: Plan,
    pub(super) to_send: Option<plan::ToSend>,
    pub(super) live: plan::LiveState,
}

/// Run `mode` over `targets` (two or more).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run(
    globals: &Globals,
    printer: &Printer,
    vars: &crate::Env,
    targets: Vec<Environment>,
    mode: Mode,
    image: Option<String>,
    set_env: &[(String, String)],
    apply: ApplyOptions,
    fleet: FleetOptions,
) -> Result<ExitStatus, Error> {
    let prepared = super::prepare::prepare(targets, &mode, image, set_env)?;
    let first = prepared[0].env.clone();
    with_context(globals, printer, vars, &first, async |ctx| {
        Box::pin(run_in(ctx, prepared, mode, set_env, apply, fleet)).await
    })
    .await
}

async fn run_in(
    ctx: &Context,
    prepared: Vec<Prepared>,
    mode: Mode,
    set_env: &[(String, String)],
    options: ApplyOptions,
    fleet: FleetOptions,
) -> Result<ExitStatus, Error> {
    let printer = &ctx.printer;
    let google = &ctx.google;
    let ask = match &mode {
        Mode::Deploy { traffic, .. } => TrafficAsk {
            to_latest: traffic.to_latest,
            no_traffic: traffic.no_traffic,
            tag: traffic.tag.clone().map(|t| (t, revision_suffix())),
        },
        _ => TrafficAsk::default(),
    };
    printer.step(&format!(
        "Reading live state for {} targets ({} at a time)",
        prepared.len(),
        fleet.jobs
    ));
    let grant = matches!(mode, Mode::Grant { .. });
    let ids: Vec<String> = prepared.iter().map(|p| p.id.clone()).collect();
    let board_owned = printer.board(&ids);
    let board = &board_owned;
    // 1. Every target's plan, the reads they share made once.
    google.shared_reads().start();
    let planned: Vec<Result<Planned, Error>> = futures::stream::iter(
        prepared
            .into_iter()
            .map(|p| plan_one(google, board, p, ask.clone(), grant, options.strict_iam)),
    )
    .buffered(fleet.jobs)
    .collect()
    .await;
    google.shared_reads().stop();
    let planned = planned.into_iter().collect::<Result<Vec<_>, _>>()?;

    // 2. Judge every target before anything is written.
    if matches!(
        mode,
        Mode::Plan { .. } | Mode::Deploy { dry_run: true, .. } | Mode::Grant { dry_run: true }
    ) {
        for p in &planned {
            board.finish(&p.prepared.id, &format!("planned: {}", p.plan.changes));
        }
    }
    match &mode {
        Mode::Plan {
            out,
            detailed_exitcode,
        } => {
            report::print_plans(ctx, &planned_views(&planned));
            preflight(&planned, false)?;
            if let Some(out) = out {
                let each: Vec<plan::Planned> = planned
                    .iter()
                    .map(|p| plan::Planned {
                        plan: p.plan.clone(),
                        to_send: p.to_send.clone(),
                        live: p.live.clone(),
                    })
                    .collect();
                let saved = SavedFleet::new(
                    each.iter()
                        .zip(&planned)
                        .map(|(each, p)| (each, &p.prepared.env, p.prepared.image.as_deref())),
                    set_env,
                );
                saved.write(out)?;
                printer.success(&format!(
                    "Saved the plan of {n} targets to {f}; apply exactly it with `autosre-deploy deploy --plan {f}`",
                    n = planned.len(),
                    f = out.display(),
                ));
            }
            let changes = planned.iter().any(|p| p.plan.changes.any());
            return Ok(match detailed_exitcode & changes {
                true => ExitStatus::Changes,
                false => ExitStatus::Success,
            });
        }
        Mode::Deploy { dry_run: true, .. } | Mode::Grant { dry_run: true } => {
            report::print_plans(ctx, &planned_views(&planned));
            preflight(&planned, matches!(mode, Mode::Grant { .. }))?;
            return Ok(ExitStatus::Success);
        }
        Mode::Deploy { saved, .. } => {
            if let Err(e) = preflight(&planned, false) {
                report::print_plans(ctx, &planned_views(&planned));
                return Err(e);
            }
            if let Some(saved) = saved {
                // All or nothing: one stale target refuses every target.
                saved.same_targets(planned.iter().map(|p| p.prepared.id.as_str()))?;
                for p in &planned {
                    let s = saved.get(&p.prepared.id).expect("the same targets");
                    let now =
                        crate::plan::saved::Reads::from_parts(&p.plan, &p.live, p.to_send.as_ref());
                    let drift = crate::plan::saved::drift(&s.reads, &now);
                    if !drift.is_empty() {
                        return Err(Error::Drift {
                            env: p.prepared.id.clone(),
                            drift,
                        });
                    }
                }
                printer.info(&format!(
                    "The saved plan matches live state for all {} targets; applying it.",
                    planned.len()
                ));
            }
        }
        Mode::Grant { dry_run: false } => {
            if let Err(e) = preflight(&planned, true) {
                report::print_plans(ctx, &planned_views(&planned));
                return Err(e);
            }
        }
    }
    let total = crate::plan::Changes {
        add: planned.iter().map(|p| p.plan.changes.add).sum(),
        change: planned.iter().map(|p| p.plan.changes.change).sum(),
        remove: planned.iter().map(|p| p.plan.changes.remove).sum(),
    };
    if !total.any() {
        for p in &planned {
            board.finish(&p.prepared.id, "unchanged");
        }
        let results: Vec<TargetResult> = planned
            .iter()
            .map(|p| TargetResult {
                status: TargetStatus::Unchanged,
                outcome: unchanged(p),
            })
            .collect();
        report::print_outcomes(ctx, &planned_views(&planned), &results);
        printer.success(&format!(
            "No changes in {} targets; nothing was written.",
            planned.len()
        ));
        return Ok(ExitStatus::Success);
    }
    for p in &planned {
        let text = crate::report::plan_human(&p.plan, &printer.painting_for_stderr());
        printer.for_target(&p.prepared.id).info(text.trim_end());
    }

    // 3. One IAM phase: each policy read (by the plans) and written once.
    options.interrupt.start_writing();
    for p in planned
        .iter()
        .filter(|p| !apply::grant_order(&p.plan).0.is_empty())
    {
        board.set(&p.prepared.id, "granting");
    }
    let grants = super::grants::grant_all(google, printer, &planned).await;

    // 4. The rollouts, stopped by the first failure unless --keep-going.
    let stop = AtomicBool::new(false);
    let stop = &stop;
    let results: Vec<TargetResult> =
        futures::stream::iter(planned.iter().zip(grants).map(|(p, results)| {
            roll_out(google, printer, board, stop, p, results, &options, fleet)
        }))
        .buffered(fleet.jobs)
        .collect()
        .await;

    drop(board_owned);
    report::print_outcomes(ctx, &planned_views(&planned), &results);
    let failed: Vec<&str> = planned
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.outcome.failure.is_some())
        .map(|(p, _)| p.prepared.id.as_str())
        .collect();
    for (p, r) in planned.iter().zip(&results) {
        let printer = printer.for_target(&p.prepared.id);
        for w in &r.outcome.warnings {
            printer.warn(w);
        }
        if let Some(f) = &r.outcome.failure {
            printer.error(&f.message, f.hint.as_deref());
        }
    }
    if failed.is_empty() {
        printer.success(&format!("Done: {} targets.", planned.len()));
        return Ok(ExitStatus::Success);
    }
    let interrupted = results.iter().find_map(|r| r.outcome.interrupted);
    printer.error(
        &format!(
            "{} of {} targets failed or were not rolled out: {}",
            failed.len(),
            planned.len(),
            failed.join(", ")
        ),
        None,
    );
    Err(Error::Reported(match interrupted {
        Some(signal) => Category::Interrupted(signal),
        None => Category::Failed,
    }))
}

/// One target's rollout, exactly as alone, unless a failure elsewhere
/// stopped the run (`--fail-fast`): then what its grants did, and that it
/// was not rolled out.
#[allow(clippy::too_many_arguments)]
async fn roll_out(
    google: &crate::gcp::Google,
    printer: &Printer,
    board: &Board,
    stop: &AtomicBool,
    p: &Planned,
    results: Vec<IamResult>,
    options: &ApplyOptions,
    fleet: FleetOptions,
) -> TargetResult {
    let id = p.prepared.id.as_str();
    let printer = printer.for_target(id);
    if !p.plan.changes.any() {
        board.finish(id, "unchanged");
        return TargetResult {
            status: TargetStatus::Unchanged,
            outcome: unchanged(p),
        };
    }
    if stop.load(Ordering::SeqCst) {
        let mut outcome = apply::granted(&p.plan, results, options);
        let rolls_out = p
            .plan
            .service
            .as_ref()
            .is_some_and(|s| s.action != plan::ServiceAction::None);
        if rolls_out {
            board.finish(id, "not rolled out (--fail-fast)");
            outcome.failure.get_or_insert(apply::Failure {
                message: "not rolled out: another target's rollout failed (--fail-fast)".into(),
                hint: Some(
                    "deploy again, or pass --keep-going to roll out every target whatever one does"
                        .into(),
                ),
            });
            return TargetResult {
                status: TargetStatus::NotRolledOut,
                outcome,
            };
        }
        let status = status_of(&outcome);
        board.finish(id, status_word(status));
        return TargetResult { status, outcome };
    }
    board.set(id, "rolling out");
    let outcome = Box::pin(apply::apply_granted(
        google,
        &p.plan,
        p.live.clone(),
        p.to_send.clone(),
        options.clone(),
        &printer,
        results,
    ))
    .await;
    if outcome.failure.is_some() && !fleet.keep_going {
        stop.store(true, Ordering::SeqCst);
    }
    let status = status_of(&outcome);
    board.finish(id, status_word(status));
    TargetResult { status, outcome }
}

/// One target's plan, exactly as alone.
async fn plan_one(
    google: &crate::gcp::Google,
    board: &Board,
    p: Prepared,
    ask: TrafficAsk,
    grant: bool,
    strict_iam: bool,
) -> Result<Planned, Error> {
    board.set(&p.id, "reading live state");
    let target = match &p.image {
        Some(image) => plan::Target::Deploy {
            image: image.clone(),
            traffic: ask,
        },
        None => plan::Target::Grant,
    };
    let options = plan::Options {
        set_env: p.set_env.clone(),
        strict_iam,
        iap_left_to_deploy: grant,
        ..plan::Options::of(target)
    };
    let planned = match plan::plan(google, &p.env, &options).await {
        Ok(planned) => planned,
        Err(e) => {
            board.finish(&p.id, "could not read live state");
            return Err(e.into());
        }
    };
    board.set(&p.id, &format!("planned: {}", planned.plan.changes));
    Ok(Planned {
        prepared: p,
        plan: planned.plan,
        to_send: planned.to_send,
        live: planned.live,
    })
}

/// The plans, by target, for the report.
fn planned_views(planned: &[Planned]) -> Vec<(&str, &Plan)> {
    planned
        .iter()
        .map(|p| (p.prepared.id.as_str(), &p.plan))
        .collect()
}

/// Every target's preflight problems, each said with its target; `grant`
/// stops only for those its grants depend on (as for one target).
fn preflight(planned: &[Planned], grant: bool) -> Result<(), Error> {
    let problems: Vec<plan::Problem> = planned
        .iter()
        .flat_map(|p| {
            p.plan
                .preflight
                .problems
                .iter()
                .filter(|pr| {
                    !grant
                        || matches!(
                            pr.kind,
                            ProblemKind::ServiceAccountMissing
                                | ProblemKind::MissingPermission
                                | ProblemKind::ReadRefused
                        )
                })
                .map(|pr| plan::Problem {
                    message: format!("{}: {}", p.prepared.id, pr.message),
                    ..pr.clone()
                })
        })
        .collect();
    match problems.is_empty() {
        true => Ok(()),
        false => Err(Error::Preflight { problems }),
    }
}

/// What an unchanged target reports: its service as it is.
fn unchanged(p: &Planned) -> Outcome {
    Outcome {
        service: p
            .live
            .service
            .as_ref()
            .map(|s| apply::ServiceOutcome::of(&p.prepared.env.service.name, s, None, 0.0)),
        ..Outcome::default()
    }
}

/// A target's last phase on the board.
fn status_word(status: TargetStatus) -> &'static str {
    match status {
        TargetStatus::Done => "done",
        TargetStatus::Unchanged => "unchanged",
        TargetStatus::Failed => "FAILED",
        TargetStatus::NotRolledOut => "not rolled out",
    }
}

fn status_of(outcome: &Outcome) -> TargetStatus {
    match &outcome.failure {
        None => TargetStatus::Done,
        Some(_) => TargetStatus::Failed,
    }
}

/// Three random lowercase letters and digits, as `deploy --tag` names a
/// revision (`SERVICE-00007-x2k`).
fn revision_suffix() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..3)
        .map(|_| CHARS[rand::random::<u32>() as usize % CHARS.len()] as char)
        .collect()
}
