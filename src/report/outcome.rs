//! What a deploy did, as text: each IAM change with its status, then the
//! service's revision and readiness.
//!
//! Its own file because it renders an [`Outcome`] (what happened), while the
//! parent module renders a plan (what would happen).

use std::fmt::Write;

use crate::apply::{IamStatus, Outcome};
use crate::plan::Plan;
use crate::source::build::{BuildRecord, StepResult};

/// What a deploy did, as text for stdout.
pub(crate) fn outcome_human(outcome: &Outcome) -> String {
    let mut s = String::new();
    if let Some(b) = &outcome.build {
        let _ = writeln!(
            s,
            "build: {} id={} digest={} log={}",
            build_word(b),
            b.id.as_deref().unwrap_or("-"),
            b.digest.as_deref().unwrap_or("-"),
            b.log_url.as_deref().unwrap_or("-")
        );
        for step in &b.steps {
            let _ = writeln!(s, "  {}: {}", step.target, step_word(step.result));
        }
    }
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
        for g in &i.not_added {
            let _ = writeln!(s, "  ! {} {} (not granted)", g.role, g.member);
        }
        for g in &i.not_removed {
            let _ = writeln!(s, "  ! {} {} (not removed)", g.role, g.member);
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
        // The split, when it is not simply all to the one revision named
        // above, and every tagged URL.
        let all_to_one = svc.traffic.iter().filter(|t| t.percent > 0).count() == 1
            && svc.traffic.iter().all(|t| t.tag.is_none());
        if !svc.traffic.is_empty() && !all_to_one {
            let shares: Vec<String> = svc
                .traffic
                .iter()
                .filter(|t| t.percent > 0)
                .map(|t| {
                    let latest = if t.latest { " (LATEST)" } else { "" };
                    format!("{}% {}{latest}", t.percent, t.revision)
                })
                .collect();
            let _ = writeln!(s, "traffic: {}", shares.join(", "));
        }
        for t in &svc.traffic {
            if let (Some(tag), Some(url)) = (&t.tag, &t.url) {
                let _ = writeln!(s, "tag {tag}: {} {url}", t.revision);
            }
        }
    }
    s
}

/// What a deploy (or `grant`) did, as Markdown for a CI step summary: a
/// heading naming the command and where, then one item per IAM change and
/// the service.
pub(crate) fn outcome_markdown(plan: &Plan, outcome: &Outcome, command: &str) -> String {
    let mut s = format!(
        "### autosre-deploy {command}: `{}` ({} / {})\n\n",
        plan.environment, plan.project, plan.region
    );
    let before = s.len();
    if let Some(b) = &outcome.build {
        let code = |v: Option<&str>| v.map(|v| format!("`{v}`")).unwrap_or_else(|| "-".into());
        let _ = writeln!(
            s,
            "- Build {}: {}, digest {}, log {}",
            code(b.id.as_deref()),
            match b.image.is_some() {
                true => "built",
                false => "**FAILED**",
            },
            code(b.digest.as_deref()),
            b.log_url.as_deref().unwrap_or("-")
        );
        for step in &b.steps {
            let _ = writeln!(s, "  - `{}`: {}", step.target, step_word(step.result));
        }
    }
    for i in &outcome.iam {
        let word = match i.status {
            IamStatus::Applied => "granted",
            IamStatus::AlreadyPresent => "already present",
            IamStatus::Denied => "**DENIED**",
            IamStatus::Failed => "**FAILED**",
        };
        let _ = writeln!(s, "- IAM on `{}`: {word}", i.resource.label());
        for (marker, grants, note) in [
            ("+", &i.added, ""),
            ("-", &i.removed, ""),
            ("!", &i.not_added, " (not granted)"),
            ("!", &i.not_removed, " (not removed)"),
        ] {
            for g in grants {
                let _ = writeln!(s, "  - `{marker} {} {}`{note}", g.role, g.member);
            }
        }
    }
    if let Some(svc) = &outcome.service {
        let code = |v: Option<&str>| v.map(|v| format!("`{v}`")).unwrap_or_else(|| "-".into());
        let _ = writeln!(
            s,
            "- Service `{}`: {}, revision {}, serving {}, URL {}",
            svc.name,
            if svc.ready { "ready" } else { "**NOT READY**" },
            code(svc.revision.as_deref()),
            code(svc.serving.as_deref()),
            svc.url.as_deref().unwrap_or("-")
        );
    }
    if let Some(f) = &outcome.failure {
        let _ = writeln!(s, "\n**Failed:** {}", f.message);
    }
    if s.len() == before {
        s.push_str("No changes: nothing was written.\n");
    }
    s
}

/// A build's result in a word.
fn build_word(b: &BuildRecord) -> &'static str {
    match b.image.is_some() {
        true => "built",
        false => "FAILED",
    }
}

/// What one source step came to, in words; what it wrote says so.
fn step_word(r: StepResult) -> &'static str {
    match r {
        StepResult::Created => "created (written)",
        StepResult::Uploaded => "uploaded (written)",
        StepResult::Existing => "there already",
        StepResult::Built => "built (written)",
        StepResult::Failed => "FAILED",
    }
}
