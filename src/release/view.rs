//! How a traffic move and the history read as text and Markdown (JSON is
//! the same structs, serialized).

use std::fmt::Write;

use super::MovePlan;
use super::history::History;
use crate::plan::traffic::describe;
use crate::printer::markdown;

/// A move's plan for people: the split before and after, and its problems.
pub(crate) fn move_text(plan: &MovePlan, markdown: bool) -> String {
    let mut s = String::new();
    let what = match plan.percent {
        100 => format!("all traffic to {}", plan.revision),
        p => format!("{p}% of traffic to {}", plan.revision),
    };
    match markdown {
        true => {
            let _ = writeln!(
                s,
                "### autosre-deploy {}: `{}` ({})\n\n{what}\n\n{}\n{}\n{}",
                plan.command,
                plan.service,
                plan.environment,
                markdown::header(&["", "traffic"]),
                markdown::row(&["before".to_string(), describe(&plan.before)]),
                markdown::row(&["after".to_string(), describe(&plan.after)]),
            );
        }
        false => {
            let _ = writeln!(
                s,
                "{} {} ({}, project {}, region {}): {what}",
                plan.command, plan.service, plan.environment, plan.project, plan.region
            );
            let _ = writeln!(s, "  traffic: {}", describe(&plan.before));
            let _ = writeln!(s, "       -> {}", describe(&plan.after));
        }
    }
    if let Some(i) = &plan.image {
        let _ = match markdown {
            true => writeln!(s, "\nImage: `{i}`"),
            false => writeln!(s, "  image: {i}"),
        };
    }
    if let Some(r) = &plan.records {
        let _ = writeln!(
            s,
            "{}records {r} as the revision to roll back to",
            if markdown { "\n" } else { "  " }
        );
    }
    for p in &plan.problems {
        let _ = writeln!(
            s,
            "{}problem: {}\n    hint: {}",
            if markdown { "- " } else { "  " },
            p.message,
            p.hint
        );
    }
    if !plan.changes {
        let _ = writeln!(s, "{}No changes.", if markdown { "\n" } else { "" });
    }
    s
}

/// The history for people: one block per revision, newest first.
pub(crate) fn history_text(h: &History, markdown: bool) -> String {
    let mut s = String::new();
    if markdown {
        let _ = writeln!(
            s,
            "### Revisions of `{}` ({})\n\n{}",
            h.service,
            h.environment,
            markdown::header(&[
                "revision",
                "created",
                "ready",
                "traffic",
                "tags",
                "image",
                "secrets",
                "deployed by",
                "",
            ])
        );
    } else {
        let _ = writeln!(
            s,
            "Revisions of {} ({}), newest first:",
            h.service, h.environment
        );
    }
    for r in &h.revisions {
        let tags: Vec<String> = r
            .tags
            .iter()
            .map(|t| match &t.url {
                Some(u) => format!("{} {u}", t.tag),
                None => t.tag.clone(),
            })
            .collect();
        let secrets: Vec<String> = r
            .secrets
            .iter()
            .map(|u| format!("{}={}:{}", u.env, u.secret, u.version))
            .collect();
        let by = match (&r.tool_version, &r.commit) {
            (Some(v), Some(c)) => format!("autosre-deploy {v}, commit {c}"),
            (Some(v), None) => format!("autosre-deploy {v}"),
            (None, Some(c)) => format!("commit {c}"),
            (None, None) => "-".into(),
        };
        let mark = match h.rollback_target.as_deref() == Some(r.name.as_str()) {
            true => "rollback target",
            false => "",
        };
        if markdown {
            let _ = writeln!(
                s,
                "{}",
                markdown::row(&[
                    markdown::code(&r.name),
                    r.created.to_string(),
                    if r.ready { "yes" } else { "no" }.to_string(),
                    format!("{}%", r.traffic),
                    tags.join(", "),
                    markdown::code(&r.image),
                    secrets.join(", "),
                    by,
                    mark.to_string(),
                ])
            );
        } else {
            let _ = writeln!(
                s,
                "{} {:>3}% {} created {}{}",
                r.name,
                r.traffic,
                if r.ready { "ready" } else { "NOT READY" },
                r.created,
                if mark.is_empty() {
                    String::new()
                } else {
                    format!("  <- {mark}")
                }
            );
            let _ = writeln!(s, "  image: {}", r.image);
            if !secrets.is_empty() {
                let _ = writeln!(s, "  secrets: {}", secrets.join(", "));
            }
            for t in &tags {
                let _ = writeln!(s, "  tag: {t}");
            }
            let _ = writeln!(s, "  deployed by: {by}");
        }
    }
    if h.more > 0 {
        let _ = writeln!(
            s,
            "\n({} older revision(s) not shown; raise --limit)",
            h.more
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::printer::markdown::assert_tables_intact;
    use crate::release::SecretUse;
    use crate::release::history::{RevisionEntry, TagUrl};

    /// A `|` or a line break in a value stays in its cell of the history table.
    #[test]
    fn a_pipe_in_a_value_stays_in_its_cell() {
        let h = History {
            schema_version: 1,
            environment: "staging".into(),
            service: "svc".into(),
            rollback_target: Some("svc-1".into()),
            revisions: vec![RevisionEntry {
                name: "svc-1".into(),
                created: "2026-01-01T00:00:00Z".into(),
                image: "img|x".into(),
                ready: true,
                traffic: 100,
                tags: vec![TagUrl {
                    tag: "a|b".into(),
                    url: None,
                }],
                secrets: vec![SecretUse {
                    env: "KEY".into(),
                    project: "p".into(),
                    secret: "key".into(),
                    version: "1".into(),
                }],
                tool_version: None,
                commit: Some("fix|\nup".into()),
                service_account: "run@p.iam.gserviceaccount.com".into(),
            }],
            more: 0,
        };
        let md = history_text(&h, true);
        assert_eq!(assert_tables_intact(&md), 1, "{md}");
        assert!(
            md.contains("`img\\|x`") && md.contains("commit fix\\|<br>up"),
            "{md}"
        );
    }
}
