//! The run as a CI step: GitHub Actions step outputs, step summary,
//! annotations and log folds.
//!
//! Commands feed a [`Ci`] the same data the reports print (the plan, the
//! outcome, the config errors); at the end of the run `lib.rs` calls
//! [`Ci::finish`], which writes everything once: outputs to
//! `$GITHUB_OUTPUT` (url, revision, changed, plan_file, exit_reason, and the
//! Markdown as `summary` for a pull-request comment), the Markdown plan or
//! outcome to `$GITHUB_STEP_SUMMARY`,
//! and `::error`/`::warning` annotations on stderr. GitHub's runner reads
//! workflow commands from both of a step's streams (actions/runner
//! `src/Runner.Worker/Handlers/ScriptHandler.cs`), so stdout stays the
//! data (one JSON document with `--output json`).
//!
//! Everything written here comes from reports that never hold a secret
//! value (plans redact, errors never quote values); `tests/it/ci.rs`
//! checks that with a secret-shaped value in the config.

pub(crate) mod github;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::apply::Outcome;
use crate::cli::CiMode;
use crate::config::ConfigError;
use crate::error::{Category, Error};
use crate::plan::Plan;
use crate::printer::Printer;
use crate::{Env, ExitStatus, report};
use github::Location;

/// The run's CI integration; off unless on GitHub Actions (or `--ci github`).
/// Cheap to clone: every clone records into the same run.
#[derive(Clone, Default)]
pub(crate) struct Ci {
    github: Option<Arc<Github>>,
}

impl std::fmt::Debug for Ci {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ci")
            .field("github", &self.github.is_some())
            .finish()
    }
}

struct Github {
    /// `$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY`: files the runner reads
    /// after the step (unset outside a runner: then nothing is written).
    output: Option<PathBuf>,
    summary: Option<PathBuf>,
    record: Mutex<Record>,
}

/// What the run reported, as the outputs and summary need it.
#[derive(Default)]
struct Record {
    url: Option<String>,
    revision: Option<String>,
    changed: Option<bool>,
    plan_file: Option<String>,
    summary: Option<String>,
    warnings: Vec<String>,
    /// Config errors, each on its file (and line and column when known).
    config_errors: Vec<(Option<Location>, String, String)>,
    /// The failure of an apply, already printed.
    failure: Option<String>,
    /// A run over several targets: one entry per target (see
    /// [`Ci::targets`]), the `targets` output as JSON.
    targets: Option<Vec<TargetOutput>>,
}

/// One target of a run over several, as the `targets` output lists it:
/// what a matrix job or a later step needs of each.
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct TargetOutput {
    /// `ENV/REGION`, as `deploy --target` takes it.
    pub(crate) target: String,
    pub(crate) changed: bool,
    /// After a deploy or grant: `done`, `unchanged`, `failed`, `not_rolled_out`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) revision: Option<String>,
    /// Why the target failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) failure: Option<String>,
}

impl Ci {
    /// On with `--ci github`, or with `--ci auto` when `GITHUB_ACTIONS` is
    /// `true` (set by the runner: https://docs.github.com/en/actions/reference/workflows-and-actions/variables).
    pub(crate) fn detect(mode: CiMode, env: &Env) -> Ci {
        let on = match mode {
            CiMode::Github => true,
            CiMode::None => false,
            CiMode::Auto => env.get("GITHUB_ACTIONS").as_deref() == Some("true"),
        };
        let file = |k: &str| env.get(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        Ci {
            github: on.then(|| {
                Arc::new(Github {
                    output: file("GITHUB_OUTPUT"),
                    summary: file("GITHUB_STEP_SUMMARY"),
                    record: Mutex::new(Record::default()),
                })
            }),
        }
    }

    fn record(&self, f: impl FnOnce(&mut Record)) {
        if let Some(g) = &self.github {
            f(&mut g.record.lock().unwrap_or_else(|p| p.into_inner()));
        }
    }

    /// A plan was made: what it would change, and the Markdown plan as the
    /// summary (until an outcome replaces it).
    pub(crate) fn plan(&self, plan: &Plan, command: &'static str) {
        self.record(|r| {
            r.changed = Some(plan.changes.any());
            r.url = plan.service.as_ref().and_then(|s| s.url.clone());
            r.summary = Some(report::plan_markdown_for(plan, command));
            for w in &plan.warnings {
                push_new(&mut r.warnings, &w.message);
            }
        });
    }

    /// `plan --out FILE` saved the plan.
    pub(crate) fn plan_file(&self, path: &Path) {
        self.record(|r| r.plan_file = Some(path.display().to_string()));
    }

    /// A deploy ran: its revision and URL, and what it did as the summary,
    /// the plan folded below it.
    pub(crate) fn outcome(&self, plan: &Plan, outcome: &Outcome, command: &'static str) {
        self.record(|r| {
            r.changed = Some(plan.changes.any());
            if let Some(s) = &outcome.service {
                r.revision = s.revision.clone().or_else(|| s.serving.clone());
                r.url = s.url.clone().or(r.url.take());
            }
            let what = match (&outcome.failure, plan.changes.any()) {
                (Some(_), _) => "failed",
                (None, true) => "deployed",
                (None, false) => "no changes",
            };
            let mut md = format!("### autosre-deploy: {} — {what}\n\n", plan.environment);
            let text = report::outcome_human(outcome);
            if !text.is_empty() {
                md.push_str(&format!("```text\n{}```\n\n", text));
            }
            if let Some(f) = &outcome.failure {
                md.push_str(&format!("**Failed:** {}\n\n", f.message));
                r.failure = Some(f.message.clone());
            }
            md.push_str(&format!(
                "<details><summary>Plan</summary>\n\n{}\n</details>\n",
                report::plan_markdown_for(plan, command)
            ));
            r.summary = Some(md);
            for w in &outcome.warnings {
                push_new(&mut r.warnings, w);
            }
        });
    }

    /// A run over several targets planned or applied: the `targets` output
    /// (one JSON array, an entry per target), `changed` when any target
    /// changes, and the run's Markdown (a heading per target) as the summary.
    /// `url` and `revision` are per target then, inside `targets`.
    pub(crate) fn targets(&self, targets: Vec<TargetOutput>, markdown: String) {
        self.record(|r| {
            r.changed = Some(targets.iter().any(|t| t.changed));
            r.url = None;
            r.revision = None;
            let failed: Vec<String> = targets
                .iter()
                .filter_map(|t| t.failure.as_ref().map(|f| format!("{}: {f}", t.target)))
                .collect();
            if !failed.is_empty() {
                r.failure = Some(failed.join("\n"));
            }
            r.targets = Some(targets);
            r.summary = Some(markdown);
        });
    }

    /// A config file is invalid: an annotation on its line and column.
    pub(crate) fn config_error(&self, e: &ConfigError) {
        self.record(|r| {
            let entry = config_annotation(e);
            if !r.config_errors.contains(&entry) {
                r.config_errors.push(entry);
            }
        });
    }

    /// Fold what `printer` writes until the returned guard drops into one
    /// collapsible group of the log.
    pub(crate) fn group(&self, printer: &Printer, title: &str) -> Group {
        match &self.github {
            Some(_) => {
                printer.workflow_command(&github::group(title));
                Group {
                    printer: Some(printer.clone()),
                }
            }
            None => Group { printer: None },
        }
    }

    /// The run ended: annotations on stderr, then the outputs and the summary.
    pub(crate) fn finish(&self, printer: &Printer, result: &Result<ExitStatus, Error>) {
        let Some(g) = &self.github else {
            return;
        };
        if let Err(Error::Config(e)) = result {
            self.config_error(e);
        }
        let r = g.record.lock().unwrap_or_else(|p| p.into_inner());
        let mut annotations = String::new();
        for (at, title, message) in &r.config_errors {
            annotations.push_str(&github::annotation("error", at.as_ref(), title, message));
        }
        match result {
            Err(Error::Config(_)) | Ok(_) => {}
            Err(Error::Reported(_)) => {
                if let Some(f) = &r.failure {
                    annotations.push_str(&github::annotation("error", None, TITLE, f));
                }
            }
            Err(e) => {
                let message = crate::error::chain(e).join("; ");
                annotations.push_str(&github::annotation("error", None, TITLE, &message));
            }
        }
        for w in &r.warnings {
            annotations.push_str(&github::annotation("warning", None, TITLE, w));
        }
        if !annotations.is_empty() {
            printer.workflow_command(&annotations);
        }
        let reason = exit_reason(result, !r.config_errors.is_empty());
        let mut pairs = vec![("exit_reason", reason.to_string())];
        if let Some(c) = r.changed {
            pairs.push(("changed", c.to_string()));
        }
        for (name, value) in [
            ("url", &r.url),
            ("revision", &r.revision),
            ("plan_file", &r.plan_file),
        ] {
            if let Some(v) = value {
                pairs.push((name, v.clone()));
            }
        }
        if let Some(t) = &r.targets {
            // One line of JSON: what `fromJSON` in a workflow takes.
            pairs.push(("targets", serde_json::to_string(t).unwrap_or_default()));
        }
        // The same Markdown as the summary, sized for a pull-request comment.
        if let Some(md) = &r.summary {
            pairs.push(("summary", github::capped(md, github::COMMENT_LIMIT)));
        }
        if let Some(path) = &g.output {
            let text = github::outputs(&pairs, rand::random());
            append(printer, path, "GITHUB_OUTPUT", &text);
        }
        if let (Some(path), Some(md)) = (&g.summary, &r.summary) {
            let mut md = github::capped(md, github::SUMMARY_LIMIT);
            if !md.ends_with('\n') {
                md.push('\n');
            }
            append(printer, path, "GITHUB_STEP_SUMMARY", &md);
        }
    }
}

/// The title of annotations that are not about a config key.
const TITLE: &str = "autosre-deploy";

/// Ends a log fold when dropped.
pub(crate) struct Group {
    printer: Option<Printer>,
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(p) = &self.printer {
            p.workflow_command(github::END_GROUP);
        }
    }
}

fn push_new(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|w| w == item) {
        list.push(item.to_string());
    }
}

/// A config error as (where, title, message): the key (or "invalid YAML")
/// as the title; the message without the location the annotation carries.
fn config_annotation(e: &ConfigError) -> (Option<Location>, String, String) {
    let (file, at, key) = e.location();
    let location = file.map(|f| Location {
        file: f.display().to_string(),
        line: at.map(|(l, _)| l),
        col: at.map(|(_, c)| c),
    });
    let (title, message) = match e {
        ConfigError::Invalid { key, message, .. } => (key.clone(), message.clone()),
        ConfigError::Syntax { message, .. } => ("invalid YAML".to_string(), message.clone()),
        _ => (key.unwrap_or(TITLE).to_string(), e.to_string()),
    };
    let message = match e.hint() {
        Some(h) => format!("{message}\nhint: {h}"),
        None => message,
    };
    (location, title, message)
}

/// The `exit_reason` output: why the run ended, from the typed error.
fn exit_reason(result: &Result<ExitStatus, Error>, config_errors: bool) -> &'static str {
    match result {
        Ok(ExitStatus::Changes) => "changes",
        Ok(_) => "success",
        Err(_) if config_errors => "config",
        Err(
            Error::Config(_)
            | Error::SetEnv { .. }
            | Error::InvalidImage { .. }
            | Error::NoImage { .. }
            | Error::NoEnvironments { .. },
        ) => "config",
        Err(Error::Preflight { .. }) => "preflight",
        Err(
            Error::Drift { .. }
            | Error::ConfigChangedSincePlan { .. }
            | Error::PlanForOtherEnvironment { .. },
        ) => "stale_plan",
        Err(e) => match e.category() {
            Category::User => "usage",
            Category::Failed => "failed",
            Category::Interrupted(_) => "interrupted",
        },
    }
}

/// Append `text` to a file the runner reads; a failure is a warning (the
/// deploy itself is done or refused by then).
fn append(printer: &Printer, path: &Path, var: &str, text: &str) {
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = written {
        printer.warn(&format!("cannot write ${var} ({}): {e}", path.display()));
    }
}
