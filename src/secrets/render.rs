//! `secrets status` for people: plain text for a terminal, Markdown for a
//! pull request or a ticket. Both walk the [`Report`] in the same order with
//! the same words; only the layout differs (indented lines, or one table of
//! versions per secret). JSON is the [`Report`] itself.

use std::fmt::Write;

use super::Report;
use super::usage::{Break, SecretStatus, Use, VersionStatus};
use crate::printer::markdown;

/// What disabling a version would break, in words (also the warnings of
/// `secrets disable`).
pub(crate) fn break_words(b: &Break) -> String {
    match b {
        Break::ServingRevision { revision, percent } => {
            format!(
                "serving revision {revision} ({percent}% of traffic) could start no new instance"
            )
        }
        Break::Rollback { revision } => {
            format!("revision {revision} (no traffic) could no longer be rolled back to")
        }
        Break::NextDeploy { env } => format!(
            "the next deploy would stop: the config reads it for {}",
            env.join(", ")
        ),
    }
}

fn serving_words(r: &Report) -> String {
    let serving: Vec<String> = r
        .serving
        .iter()
        .map(|(rev, p)| format!("{rev} {p}%"))
        .collect();
    match serving.is_empty() {
        true => "nothing (no service yet)".to_string(),
        false => serving.join(", "),
    }
}

fn config_words(st: &SecretStatus) -> Vec<String> {
    st.config
        .iter()
        .map(|c| {
            let now = c
                .resolves_to
                .map(|n| format!(" -> {n} now"))
                .unwrap_or_else(|| " -> nothing now".into());
            format!("{} reads {}{now}", c.env, c.reference)
        })
        .collect()
}

fn version_words(st: &SecretStatus, v: &VersionStatus) -> String {
    match st.latest == Some(v.version) {
        true => format!("{} (latest)", v.version),
        false => v.version.to_string(),
    }
}

fn use_words(u: &Use) -> String {
    let traffic = match u.serving {
        true => format!("serving {}%", u.percent),
        false => "not serving".into(),
    };
    format!("{} ({traffic}) as {} ({})", u.revision, u.env, u.how())
}

/// What disabling an enabled version breaks; nothing for other states.
fn breaks_words(v: &VersionStatus) -> Vec<String> {
    match (v.state == "ENABLED", v.breaks.is_empty()) {
        (false, _) => Vec::new(),
        (true, true) => vec!["nothing known".into()],
        (true, false) => v.breaks.iter().map(break_words).collect(),
    }
}

/// Indented lines for a terminal.
pub(crate) fn human(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Secret versions for environment `{}` (service {})",
        r.environment, r.service
    );
    let _ = writeln!(s, "Serving: {}", serving_words(r));
    for st in &r.secrets {
        let _ = writeln!(s, "\nsecret {} (project {})", st.secret, st.project);
        if !st.exists {
            let _ = writeln!(s, "  NOT FOUND");
            continue;
        }
        for c in config_words(st) {
            let _ = writeln!(s, "  config: {c}");
        }
        for v in &st.versions {
            let _ = writeln!(
                s,
                "  version {}: {}, created {}",
                version_words(st, v),
                v.state,
                v.create_time
            );
            for u in &v.used_by {
                let _ = writeln!(s, "    read by {}", use_words(u));
            }
            match (v.state == "ENABLED", v.breaks.is_empty()) {
                (false, _) => {}
                (true, true) => {
                    let _ = writeln!(s, "    disabling it breaks nothing known");
                }
                (true, false) => {
                    for b in &v.breaks {
                        let _ = writeln!(s, "    disabling it: {}", break_words(b));
                    }
                }
            }
        }
    }
    s
}

/// GitHub-flavoured Markdown: a heading per secret and a table of its
/// versions, several readers or breaks in one cell separated by `<br>`.
pub(crate) fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "### Secret versions for environment `{}` (service `{}`)\n",
        r.environment, r.service
    );
    let _ = writeln!(s, "Serving: {}", markdown::cell(&serving_words(r)));
    for st in &r.secrets {
        let _ = writeln!(
            s,
            "\n#### Secret `{}` (project `{}`)\n",
            st.secret, st.project
        );
        if !st.exists {
            let _ = writeln!(s, "**Not found.**");
            continue;
        }
        for c in config_words(st) {
            let _ = writeln!(s, "- config: {}", markdown::cell(&c));
        }
        if !st.config.is_empty() {
            s.push('\n');
        }
        if st.versions.is_empty() {
            let _ = writeln!(s, "No versions.");
            continue;
        }
        let _ = writeln!(
            s,
            "{}",
            markdown::header(&["Version", "State", "Created", "Read by", "Disabling it"])
        );
        for v in &st.versions {
            let readers: Vec<String> = v.used_by.iter().map(use_words).collect();
            let _ = writeln!(
                s,
                "{}",
                markdown::row(&[
                    version_words(st, v),
                    v.state.to_string(),
                    v.create_time.to_string(),
                    cells(&readers),
                    cells(&breaks_words(v)),
                ])
            );
        }
    }
    s
}

/// Several items in one cell, one per line (the table writer makes each line break a
/// `<br>`).
fn cells(items: &[String]) -> String {
    match items.is_empty() {
        true => "-".into(),
        false => items.join("\n"),
    }
}
