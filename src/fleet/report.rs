//! The report of a run over several targets: one document, a section per
//! target (each what the target alone would print) and a total.
//!
//! - text: each target's plan or outcome as alone, then
//!   `Plan: 3 targets, 12 to add, 2 to change, 0 to remove.`;
//! - JSON: `{schema_version, targets: [...], totals}`, each entry of
//!   `targets` the single-target document with `target` (`ENV/REGION`) and,
//!   after a deploy or grant, `status`;
//! - Markdown: one document, a heading per target, fit for a PR comment.

use serde::Serialize;

use crate::apply::Outcome;
use crate::ci::TargetOutput;
use crate::commands::shared::{Context, console_url};
use crate::commands::view::{View, show};
use crate::gcp::credentials::Identity;
use crate::plan::{Changes, Plan, SCHEMA_VERSION};
use crate::printer::Printer;
use crate::report;

/// What became of one target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TargetStatus {
    /// Its plan was applied.
    Done,
    /// Nothing to change.
    Unchanged,
    /// A grant or its rollout failed (the outcome says which, and what was
    /// written before).
    Failed,
    /// Its grants may be written; its service was not rolled out because
    /// another target's rollout failed (`--fail-fast`).
    NotRolledOut,
}

pub(crate) struct TargetResult {
    pub(crate) status: TargetStatus,
    pub(crate) outcome: Outcome,
}

/// The sums over the targets.
#[derive(Debug, Serialize)]
struct Totals {
    targets: usize,
    add: usize,
    change: usize,
    remove: usize,
    /// After a deploy or grant: targets per status.
    #[serde(skip_serializing_if = "Option::is_none")]
    done: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unchanged: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failed: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_rolled_out: Option<usize>,
}

fn totals(plans: &[(&str, &Plan)], results: Option<&[TargetResult]>) -> Totals {
    let count = |s: TargetStatus| results.map(|r| r.iter().filter(|r| r.status == s).count());
    Totals {
        targets: plans.len(),
        add: plans.iter().map(|(_, p)| p.changes.add).sum(),
        change: plans.iter().map(|(_, p)| p.changes.change).sum(),
        remove: plans.iter().map(|(_, p)| p.changes.remove).sum(),
        done: count(TargetStatus::Done),
        unchanged: count(TargetStatus::Unchanged),
        failed: count(TargetStatus::Failed),
        not_rolled_out: count(TargetStatus::NotRolledOut),
    }
}

/// `Plan: 3 targets, 12 to add, 2 to change, 0 to remove.`
fn total_line(t: &Totals) -> String {
    let changes = Changes {
        add: t.add,
        change: t.change,
        remove: t.remove,
    };
    match changes.any() {
        false => format!("No changes in {} targets.", t.targets),
        true => format!(
            "Plan: {} targets, {} to add, {} to change, {} to remove.",
            t.targets, t.add, t.change, t.remove
        ),
    }
}

/// One target's plan in the JSON: the single-target document and its name.
#[derive(Serialize)]
struct PlanEntry<'a> {
    target: &'a str,
    #[serde(flatten)]
    plan: &'a Plan,
    identity: &'a Identity,
}

/// One target's outcome in the JSON: the single-target document, its name
/// and its status.
#[derive(Serialize)]
struct OutcomeEntry<'a> {
    target: &'a str,
    status: TargetStatus,
    schema_version: u32,
    plan: &'a Plan,
    outcome: &'a Outcome,
    identity: &'a Identity,
    #[serde(skip_serializing_if = "Option::is_none")]
    console_url: Option<String>,
}

#[derive(Serialize)]
struct Document<T: Serialize> {
    schema_version: u32,
    targets: Vec<T>,
    totals: Totals,
}

/// Every target's plan: the view `plan`, `--dry-run` and a refused run print.
struct Plans<'a> {
    ctx: &'a Context,
    plans: &'a [(&'a str, &'a Plan)],
}

impl View for Plans<'_> {
    fn json(&self) -> impl Serialize + '_ {
        Document {
            schema_version: SCHEMA_VERSION,
            targets: self
                .plans
                .iter()
                .map(|(target, plan)| PlanEntry {
                    target,
                    plan,
                    identity: &self.ctx.identity,
                })
                .collect(),
            totals: totals(self.plans, None),
        }
    }

    fn human(&self, printer: &Printer) -> String {
        let mut s = String::new();
        for (_, plan) in self.plans {
            s.push_str(&report::plan_human(plan, printer));
            s.push('\n');
        }
        s.push_str(&total_line(&totals(self.plans, None)));
        s
    }

    fn markdown(&self, _: &Printer) -> String {
        let command = self.ctx.globals.command;
        let mut s = format!(
            "## autosre-deploy {command}: {} targets\n\n**{}**\n\n",
            self.plans.len(),
            total_line(&totals(self.plans, None))
        );
        for (_, plan) in self.plans {
            s.push_str(&report::plan_markdown_for(plan, command));
            s.push('\n');
        }
        s
    }
}

/// Every target's plan on stdout, in the chosen format, and to the CI step.
pub(crate) fn print_plans(ctx: &Context, plans: &[(&str, &Plan)]) {
    let view = Plans { ctx, plans };
    show(ctx.globals.output, &ctx.printer, &view);
    let targets = plans
        .iter()
        .map(|(target, plan)| TargetOutput {
            target: target.to_string(),
            changed: plan.changes.any(),
            status: None,
            url: plan.service.as_ref().and_then(|s| s.url.clone()),
            revision: None,
            failure: None,
        })
        .collect();
    ctx.globals.ci.targets(targets, view.markdown(&ctx.printer));
}

/// What the run did to every target.
struct Outcomes<'a> {
    ctx: &'a Context,
    plans: &'a [(&'a str, &'a Plan)],
    results: &'a [TargetResult],
}

impl View for Outcomes<'_> {
    fn json(&self) -> impl Serialize + '_ {
        Document {
            schema_version: SCHEMA_VERSION,
            targets: self
                .plans
                .iter()
                .zip(self.results)
                .map(|((target, plan), r)| OutcomeEntry {
                    target,
                    status: r.status,
                    schema_version: SCHEMA_VERSION,
                    plan,
                    outcome: &r.outcome,
                    identity: &self.ctx.identity,
                    console_url: console_url(plan),
                })
                .collect(),
            totals: totals(self.plans, Some(self.results)),
        }
    }

    fn human(&self, _: &Printer) -> String {
        let mut s = String::new();
        for ((target, _), r) in self.plans.iter().zip(self.results) {
            s.push_str(&format!("{target}: {}\n", status_word(r.status)));
            for line in report::outcome_human(&r.outcome).lines() {
                s.push_str(&format!("  {line}\n"));
            }
        }
        s.push_str(&status_line(&totals(self.plans, Some(self.results))));
        s
    }

    fn markdown(&self, _: &Printer) -> String {
        let command = self.ctx.globals.command;
        let mut s = format!(
            "## autosre-deploy {command}: {} targets\n\n**{}**\n\n",
            self.plans.len(),
            status_line(&totals(self.plans, Some(self.results)))
        );
        for ((_, plan), r) in self.plans.iter().zip(self.results) {
            s.push_str(&report::outcome_markdown(plan, &r.outcome, command));
            s.push_str(&format!("\nStatus: **{}**\n\n", status_word(r.status)));
        }
        s
    }
}

/// What the run did to every target, on stdout, in the chosen format, and
/// to the CI step.
pub(crate) fn print_outcomes(ctx: &Context, plans: &[(&str, &Plan)], results: &[TargetResult]) {
    let view = Outcomes {
        ctx,
        plans,
        results,
    };
    show(ctx.globals.output, &ctx.printer, &view);
    let targets = plans
        .iter()
        .zip(results)
        .map(|((target, plan), r)| {
            let service = r.outcome.service.as_ref();
            TargetOutput {
                target: target.to_string(),
                changed: plan.changes.any(),
                status: Some(status_key(r.status)),
                url: service
                    .and_then(|s| s.url.clone())
                    .or_else(|| plan.service.as_ref().and_then(|s| s.url.clone())),
                revision: service.and_then(|s| s.revision.clone().or_else(|| s.serving.clone())),
                failure: r.outcome.failure.as_ref().map(|f| f.message.clone()),
            }
        })
        .collect();
    ctx.globals.ci.targets(targets, view.markdown(&ctx.printer));
}

/// The status as the JSON spells it (`TargetStatus`'s serde names).
fn status_key(s: TargetStatus) -> &'static str {
    match s {
        TargetStatus::Done => "done",
        TargetStatus::Unchanged => "unchanged",
        TargetStatus::Failed => "failed",
        TargetStatus::NotRolledOut => "not_rolled_out",
    }
}

fn status_word(s: TargetStatus) -> &'static str {
    match s {
        TargetStatus::Done => "done",
        TargetStatus::Unchanged => "unchanged",
        TargetStatus::Failed => "FAILED",
        TargetStatus::NotRolledOut => "NOT ROLLED OUT",
    }
}

/// `3 targets: 2 done, 1 failed, 0 not rolled out, 0 unchanged.`
fn status_line(t: &Totals) -> String {
    format!(
        "{} targets: {} done, {} failed, {} not rolled out, {} unchanged.",
        t.targets,
        t.done.unwrap_or(0),
        t.failed.unwrap_or(0),
        t.not_rolled_out.unwrap_or(0),
        t.unchanged.unwrap_or(0)
    )
}
