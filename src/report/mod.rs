//! Render a plan or an outcome for people (text, Markdown) and machines (JSON).
//!
//! The JSON is the serialization of the very structs the text is rendered
//! from, so the two cannot say different things. Secret values never reach
//! these structs: a secret env var is shown as its reference.

use std::fmt::Write;

use serde::Serialize;

use crate::apply::{IamStatus, Outcome};
use crate::plan::service::Op;
use crate::plan::{Plan, SecretCheck, SecretState, ServiceAction};
use crate::printer::{Printer, Style};

fn state_word(c: &SecretCheck) -> String {
    let v = c.resolved.as_deref().unwrap_or(&c.version);
    match c.state {
        SecretState::Enabled => format!("version {v} ENABLED"),
        SecretState::Disabled => format!("version {v} DISABLED"),
        SecretState::Destroyed => format!("version {v} DESTROYED"),
        SecretState::SecretNotFound => "secret NOT FOUND".into(),
        SecretState::VersionNotFound => format!("version {} NOT FOUND", c.version),
    }
}

fn action_words(action: ServiceAction) -> &'static str {
    match action {
        ServiceAction::Create => "will be created",
        ServiceAction::Update => "will be updated",
        ServiceAction::None => "is up to date",
    }
}

/// The plan as text, with `+`/`-`/`~` markers.
pub(crate) fn plan_human(plan: &Plan, p: &Printer) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Plan for environment `{}` (project {}, region {})",
        plan.environment, plan.project, plan.region
    );
    let pf = &plan.preflight;
    let _ = writeln!(s, "\nPreflight:");
    let mark = |ok: bool| match ok {
        true => p.paint_out(Style::Green, "ok  "),
        false => p.paint_out(Style::Red, "FAIL"),
    };
    let sa = &pf.service_account;
    let _ = writeln!(
        s,
        "  {} runtime service account {}{}{}",
        mark(sa.exists),
        sa.email,
        if sa.default {
            " (Cloud Run default)"
        } else {
            ""
        },
        if sa.exists { "" } else { ": does not exist" }
    );
    let k = &pf.encryption_key;
    let key_ok = k.wired && k.state == Some(SecretState::Enabled);
    let _ = writeln!(
        s,
        "  {} encryption key {} <- secret {}{}",
        mark(key_ok),
        k.env,
        k.secret,
        if k.wired { "" } else { ": NOT WIRED" }
    );
    for c in &pf.secrets {
        let _ = writeln!(
            s,
            "  {} secret {}:{} -> {} ({})",
            mark(c.state == SecretState::Enabled),
            c.secret,
            c.version,
            state_word(c),
            c.env.join(", ")
        );
    }
    if !plan.iam.is_empty() {
        let _ = writeln!(s, "\nIAM:");
        for c in &plan.iam {
            let _ = writeln!(s, "  {}", c.resource.label());
            for g in &c.add {
                let _ = writeln!(
                    s,
                    "    {} {} {}",
                    p.paint_out(Style::Green, "+"),
                    g.role,
                    g.member
                );
            }
            for g in &c.remove {
                let _ = writeln!(
                    s,
                    "    {} {} {}",
                    p.paint_out(Style::Red, "-"),
                    g.role,
                    g.member
                );
            }
        }
    }
    if let Some(svc) = &plan.service {
        let _ = writeln!(
            s,
            "\nCloud Run service {} {}:",
            svc.name,
            action_words(svc.action)
        );
        for f in &svc.fields {
            let line = match f.op {
                Op::Add => format!(
                    "{} {}: {}",
                    p.paint_out(Style::Green, "+"),
                    f.field,
                    f.after.as_deref().unwrap_or_default()
                ),
                Op::Change => format!(
                    "{} {}: {} -> {}",
                    p.paint_out(Style::Yellow, "~"),
                    f.field,
                    f.before.as_deref().unwrap_or_default(),
                    f.after.as_deref().unwrap_or_default()
                ),
                Op::Remove => format!(
                    "{} {}: {}",
                    p.paint_out(Style::Red, "-"),
                    f.field,
                    f.before.as_deref().unwrap_or_default()
                ),
            };
            let _ = writeln!(s, "    {line}");
        }
        let _ = writeln!(
            s,
            "  new revision: {}; traffic: {}",
            if svc.new_revision { "yes" } else { "no" },
            svc.traffic
        );
    }
    if !pf.problems.is_empty() {
        let _ = writeln!(
            s,
            "\nProblems (the deploy would stop before changing anything):"
        );
        for pr in &pf.problems {
            let _ = writeln!(s, "  - {}\n    hint: {}", pr.message, pr.hint);
        }
    }
    let _ = writeln!(s, "\n{}", plan.changes);
    s
}

/// The plan as Markdown, for pull-request comments and CI step summaries.
pub(crate) fn plan_markdown(plan: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "### autosre-deploy plan: `{}` ({} / {})\n",
        plan.environment, plan.project, plan.region
    );
    let _ = writeln!(s, "**{}**\n", plan.changes);
    let _ = writeln!(s, "| check | result |\n|---|---|");
    let pf = &plan.preflight;
    let sa = &pf.service_account;
    let _ = writeln!(
        s,
        "| runtime service account `{}` | {} |",
        sa.email,
        if sa.exists { "ok" } else { "**missing**" }
    );
    let k = &pf.encryption_key;
    let _ = writeln!(
        s,
        "| encryption key `{}` <- `{}` | {} |",
        k.env,
        k.secret,
        if k.wired { "wired" } else { "**not wired**" }
    );
    for c in &pf.secrets {
        let _ = writeln!(
            s,
            "| secret `{}:{}` | {} |",
            c.secret,
            c.version,
            state_word(c)
        );
    }
    if !plan.iam.is_empty() {
        let _ = writeln!(s, "\n#### IAM\n\n```diff");
        for c in &plan.iam {
            let _ = writeln!(s, "# {}", c.resource.label());
            for g in &c.add {
                let _ = writeln!(s, "+ {} {}", g.role, g.member);
            }
            for g in &c.remove {
                let _ = writeln!(s, "- {} {}", g.role, g.member);
            }
        }
        let _ = writeln!(s, "```");
    }
    if let Some(svc) = &plan.service {
        let _ = writeln!(
            s,
            "\n#### Cloud Run service `{}` {}\n",
            svc.name,
            action_words(svc.action)
        );
        if !svc.fields.is_empty() {
            let _ = writeln!(s, "```diff");
            for f in &svc.fields {
                match f.op {
                    Op::Add => {
                        let _ = writeln!(
                            s,
                            "+ {}: {}",
                            f.field,
                            f.after.as_deref().unwrap_or_default()
                        );
                    }
                    Op::Remove => {
                        let _ = writeln!(
                            s,
                            "- {}: {}",
                            f.field,
                            f.before.as_deref().unwrap_or_default()
                        );
                    }
                    Op::Change => {
                        let _ = writeln!(
                            s,
                            "- {}: {}",
                            f.field,
                            f.before.as_deref().unwrap_or_default()
                        );
                        let _ = writeln!(
                            s,
                            "+ {}: {}",
                            f.field,
                            f.after.as_deref().unwrap_or_default()
                        );
                    }
                }
            }
            let _ = writeln!(s, "```");
        }
        let _ = writeln!(
            s,
            "\nNew revision: {}. Traffic: {}.",
            if svc.new_revision { "yes" } else { "no" },
            svc.traffic
        );
    }
    if !pf.problems.is_empty() {
        let _ = writeln!(s, "\n#### Problems\n");
        for pr in &pf.problems {
            let _ = writeln!(s, "- {}  \n  hint: `{}`", pr.message, pr.hint);
        }
    }
    s
}

/// What a deploy did, as text for stdout.
pub(crate) fn outcome_human(outcome: &Outcome) -> String {
    let mut s = String::new();
    for i in &outcome.iam {
        let word = match i.status {
            IamStatus::Applied => "granted",
            IamStatus::AlreadyPresent => "already present",
            IamStatus::Denied => "DENIED",
            IamStatus::Failed => "FAILED",
        };
        let _ = writeln!(s, "iam: {}: {word}", i.resource.label());
        for g in &i.added {
            let _ = writeln!(s, "  + {} {}", g.role, g.member);
        }
        for g in &i.removed {
            let _ = writeln!(s, "  - {} {}", g.role, g.member);
        }
    }
    if let Some(svc) = &outcome.service {
        let _ = writeln!(
            s,
            "service: {} {} revision={} serving={} url={}",
            svc.name,
            if svc.ready { "ready" } else { "NOT READY" },
            svc.revision.as_deref().unwrap_or("-"),
            svc.serving.as_deref().unwrap_or("-"),
            svc.url.as_deref().unwrap_or("-")
        );
    }
    s
}

/// JSON with a `schema_version`, keys in declaration order.
pub(crate) fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("plan and outcome types serialize")
}
