//! Render a plan or an outcome for people (text, Markdown) and machines (JSON).
//!
//! The JSON is the serialization of the very structs the text is rendered
//! from, so the two cannot say different things. Secret values never reach
//! these structs: a secret env var is shown as its reference.
//!
//! The plan walk is here; the permission table (`check`) is in
//! `permissions.rs`, the text of a deploy's outcome in `outcome.rs`.

mod outcome;
mod permissions;

use std::fmt::Write;

use serde::Serialize;

use crate::plan::image::ImageResolution;
use crate::plan::permissions::PermissionStatus;
use crate::plan::service::{FieldChange, Op};
use crate::plan::{
    Plan, Preflight, Problem, SecretCheck, SecretState, ServiceAction, ServiceChange, Warning,
};
use crate::printer::{Printer, Style, markdown};

pub(crate) use outcome::{outcome_human, outcome_markdown};
pub(crate) use permissions::permissions_table;

fn state_word(c: &SecretCheck) -> String {
    let v = c.resolved.as_deref().unwrap_or(&c.version);
    match c.state {
        SecretState::Enabled => format!("version {v} ENABLED"),
        SecretState::Disabled => format!("version {v} DISABLED"),
        SecretState::Destroyed => format!("version {v} DESTROYED"),
        SecretState::SecretNotFound => "secret NOT FOUND".into(),
        SecretState::VersionNotFound => format!("version {} NOT FOUND", c.version),
        SecretState::Unreadable => "NOT READABLE by the deploying identity".into(),
    }
}

fn action_words(action: ServiceAction) -> &'static str {
    match action {
        ServiceAction::Create => "will be created",
        ServiceAction::Update => "will be updated",
        ServiceAction::None => "is up to date",
    }
}

/// How a plan is written for people.
#[derive(Clone, Copy)]
pub(crate) enum Format<'a> {
    /// Text for a terminal or a log, the markers painted by the printer.
    Text(&'a Printer),
    /// Markdown, for pull-request comments and CI step summaries.
    Markdown,
}

/// The plan as text, with `+`/`-`/`~` markers.
pub(crate) fn plan_human(plan: &Plan, p: &Printer) -> String {
    plan_text(plan, Format::Text(p))
}

/// The plan as Markdown, the diffs in `diff` blocks.
#[cfg(test)]
pub(crate) fn plan_markdown(plan: &Plan) -> String {
    plan_markdown_for(plan, "plan")
}

/// [`plan_markdown`] headed by the command that printed it (`check`,
/// `deploy --dry-run`): a CI summary says which step it is.
pub(crate) fn plan_markdown_for(plan: &Plan, command: &'static str) -> String {
    render(plan, Format::Markdown, command)
}

/// The plan for people. Both formats walk the plan in the same order with
/// the same words; only the layout differs (a list or a table, a heading
/// line or a `####`, markers painted or in a `diff` block).
pub(crate) fn plan_text(plan: &Plan, format: Format<'_>) -> String {
    render(plan, format, "plan")
}

fn render(plan: &Plan, format: Format<'_>, command: &'static str) -> String {
    let mut r = Renderer {
        s: String::new(),
        format,
        command,
    };
    r.header(plan);
    r.preflight(&plan.preflight, &plan.project);
    if !plan.iam.is_empty() {
        r.heading("IAM");
        r.open_diff();
        for c in &plan.iam {
            r.group(&c.resource.label());
            for g in &c.add {
                r.diff(Op::Add, &format!("{} {}", g.role, g.member));
            }
            for g in &c.remove {
                r.diff(Op::Remove, &format!("{} {}", g.role, g.member));
            }
        }
        r.close_diff();
    }
    if let Some(source) = &plan.source {
        r.source(source);
    }
    if let Some(svc) = &plan.service {
        r.service(svc, plan.image.as_ref());
    }
    r.warnings(&plan.warnings);
    r.problems(&plan.preflight.problems);
    if let Format::Text(_) = format {
        r.line(format_args!("\n{}", plan.changes));
    }
    r.s
}

struct Renderer<'a> {
    s: String,
    format: Format<'a>,
    /// The command named in a Markdown heading.
    command: &'static str,
}

impl Renderer<'_> {
    fn line(&mut self, args: std::fmt::Arguments<'_>) {
        let _ = self.s.write_fmt(args);
        self.s.push('\n');
    }

    fn markdown(&self) -> bool {
        matches!(self.format, Format::Markdown)
    }

    /// A literal: in backticks in Markdown, as is in text.
    fn code(&self, text: &str) -> String {
        match self.format {
            Format::Markdown => format!("`{text}`"),
            Format::Text(_) => text.to_string(),
        }
    }

    fn header(&mut self, plan: &Plan) {
        match self.format {
            Format::Text(_) => {
                self.line(format_args!(
                    "Plan for environment `{}` (project {}, region {})",
                    plan.environment, plan.project, plan.region
                ));
                self.line(format_args!("\nPreflight:"));
            }
            Format::Markdown => {
                let command = self.command;
                self.line(format_args!(
                    "### autosre-deploy {command}: `{}` ({} / {})\n",
                    plan.environment, plan.project, plan.region
                ));
                self.line(format_args!("**{}**\n", plan.changes));
                self.line(format_args!("{}", markdown::header(&["check", "result"])));
            }
        }
    }

    /// What a source deploy uploads and builds.
    fn source(&mut self, s: &crate::source::build::SourcePlan) {
        use crate::source::build::human_size;
        let p = &s.package;
        self.heading(&format!("Source {}", self.code(&p.dir)));
        self.line(format_args!(
            "  {} files, {} ({} compressed); ignore rules: {}",
            p.files,
            human_size(p.bytes),
            human_size(p.archive_bytes),
            p.ignore
        ));
        // The steps, in the order apply makes them: `+` what they write.
        for step in &s.steps {
            let marker = if step.action.writes() { "+" } else { " " };
            self.line(format_args!("  {marker} {}", step.description));
        }
        if let Some(commit) = &s.commit {
            self.line(format_args!("  commit {}", self.code(commit)));
        }
        let account = match &s.build_account {
            Some(a) => self.code(a),
            None => "the project's default build account (unknown)".to_string(),
        };
        self.line(format_args!("  builds as {account}"));
        if !p.largest.is_empty() {
            self.line(format_args!("  largest files:"));
            for f in &p.largest {
                self.line(format_args!(
                    "    {:>10}  {}",
                    human_size(f.bytes),
                    self.code(&f.path)
                ));
            }
        }
        for link in &p.skipped_links {
            self.line(format_args!(
                "  left out: symlink {} points outside the directory",
                self.code(link)
            ));
        }
    }

    fn heading(&mut self, title: &str) {
        match self.format {
            Format::Text(_) => self.line(format_args!("\n{title}:")),
            Format::Markdown => self.line(format_args!("\n#### {title}\n")),
        }
    }

    /// One preflight check: `detail` follows the subject in text, `result`
    /// is the second column in Markdown.
    fn check(&mut self, ok: bool, subject: &str, detail: &str, result: &str) {
        match self.format {
            Format::Text(p) => {
                let mark = match ok {
                    true => p.paint_out(Style::Green, "ok  "),
                    false => p.paint_out(Style::Red, "FAIL"),
                };
                self.line(format_args!("  {mark} {subject}{detail}"));
            }
            Format::Markdown => self.line(format_args!("{}", markdown::row(&[subject, result]))),
        }
    }

    /// `project` is the deploy's own: a secret in another project says
    /// which, so a reader sees where its access is checked and granted.
    fn preflight(&mut self, pf: &Preflight, project: &str) {
        let sa = &pf.service_account;
        let subject = format!("runtime service account {}", self.code(&sa.email));
        let detail = format!(
            "{}{}",
            if sa.default {
                " (Cloud Run default)"
            } else {
                ""
            },
            if sa.exists { "" } else { ": does not exist" }
        );
        let result = if sa.exists { "ok" } else { "**missing**" };
        self.check(sa.exists, &subject, &detail, result);

        let k = &pf.encryption_key;
        let subject = format!(
            "encryption key {} <- {}{}",
            self.code(&k.env),
            if self.markdown() { "" } else { "secret " },
            self.code(&k.secret)
        );
        // A key read and found malformed fails its line; the problem says why.
        let malformed = match &k.format {
            Some(crate::plan::key::KeyFormat::Invalid { version, .. }) => Some(version),
            _ => None,
        };
        let ok = k.wired && k.state == Some(SecretState::Enabled) && malformed.is_none();
        let (detail, result) = match (k.wired, malformed) {
            (false, _) => (": NOT WIRED".to_string(), "**not wired**".to_string()),
            (true, Some(v)) => (
                format!(": version {v} is NOT A VALID KEY"),
                format!("**version {v} is not a valid key**"),
            ),
            (true, None) => (String::new(), "wired".to_string()),
        };
        self.check(ok, &subject, &detail, &result);

        for c in &pf.secrets {
            // Pinned: `gemini-api-key: latest -> 7`, the version deployed.
            let reference = match &c.pinned {
                Some(v) => format!(
                    "{} (pinned)",
                    self.code(&format!("{}: {} -> {v}", c.secret, c.version))
                ),
                None => self.code(&format!("{}:{}", c.secret, c.version)),
            };
            let subject = match c.project == project {
                true => format!("secret {reference}"),
                false => format!("secret {reference} in project {}", c.project),
            };
            let state = state_word(c);
            let detail = match c.pinned {
                // The number is in the subject; the state is the version's.
                Some(_) => format!(
                    ", {} ({})",
                    state.rsplit(' ').next().unwrap_or_default(),
                    c.env.join(", ")
                ),
                None => format!(" -> {state} ({})", c.env.join(", ")),
            };
            self.check(c.state == SecretState::Enabled, &subject, &detail, &state);
        }

        // The deploying identity: one line when it holds everything asked,
        // else one per permission it lacks (`check` prints the full table).
        let held = pf
            .permissions
            .iter()
            .filter(|c| c.status == PermissionStatus::Held)
            .count();
        if !pf.permissions.is_empty() && held == pf.permissions.len() {
            let subject = format!("deploying identity holds the {held} permissions the plan needs");
            self.check(true, &subject, "", "ok");
        }
        for c in pf
            .permissions
            .iter()
            .filter(|c| c.status == PermissionStatus::Missing)
        {
            let subject = format!(
                "deploying identity lacks {} on {}",
                self.code(&c.permission),
                c.resource.label()
            );
            let detail = format!(
                " ({}; granted by {})",
                if c.required {
                    "required"
                } else {
                    "for a grant"
                },
                c.role
            );
            let result = format!("**missing** (granted by {})", self.code(&c.role));
            self.check(false, &subject, &detail, &result);
        }
    }

    fn warnings(&mut self, warnings: &[Warning]) {
        if warnings.is_empty() {
            return;
        }
        self.heading("Warnings");
        for w in warnings {
            match self.format {
                Format::Text(_) => self.line(format_args!("  - {}", w.message)),
                Format::Markdown => self.line(format_args!("- {}", w.message)),
            }
        }
    }

    fn open_diff(&mut self) {
        if self.markdown() {
            self.line(format_args!("```diff"));
        }
    }

    fn close_diff(&mut self) {
        if self.markdown() {
            self.line(format_args!("```"));
        }
    }

    /// The resource a group of diff lines is about.
    fn group(&mut self, label: &str) {
        match self.format {
            Format::Text(_) => self.line(format_args!("  {label}")),
            Format::Markdown => self.line(format_args!("# {label}")),
        }
    }

    /// One diff line with its marker. Markdown's `diff` has no "changed"
    /// marker: a change is its old line removed and its new line added.
    fn diff(&mut self, op: Op, text: &str) {
        let (marker, style) = match op {
            Op::Add => ("+", Style::Green),
            Op::Remove => ("-", Style::Red),
            Op::Change => ("~", Style::Yellow),
        };
        match self.format {
            Format::Text(p) => self.line(format_args!("    {} {text}", p.paint_out(style, marker))),
            Format::Markdown => self.line(format_args!("{marker} {text}")),
        }
    }

    fn field(&mut self, f: &FieldChange) {
        let before = f.before.as_deref().unwrap_or_default();
        let after = f.after.as_deref().unwrap_or_default();
        match (f.op, self.format) {
            (Op::Add, _) => self.diff(Op::Add, &format!("{}: {after}", f.field)),
            (Op::Remove, _) => self.diff(Op::Remove, &format!("{}: {before}", f.field)),
            (Op::Change, Format::Text(_)) => {
                self.diff(Op::Change, &format!("{}: {before} -> {after}", f.field))
            }
            (Op::Change, Format::Markdown) => {
                self.diff(Op::Remove, &format!("{}: {before}", f.field));
                self.diff(Op::Add, &format!("{}: {after}", f.field));
            }
        }
    }

    fn service(&mut self, svc: &ServiceChange, image: Option<&ImageResolution>) {
        let title = format!(
            "Cloud Run service {} {}",
            self.code(&svc.name),
            action_words(svc.action)
        );
        self.heading(&title);
        if !svc.fields.is_empty() {
            self.open_diff();
            for f in &svc.fields {
                self.field(f);
            }
            self.close_diff();
        }
        let new_revision = if svc.new_revision { "yes" } else { "no" };
        match self.format {
            Format::Text(_) => self.line(format_args!(
                "  new revision: {new_revision}; traffic: {}",
                svc.traffic
            )),
            Format::Markdown => self.line(format_args!(
                "\nNew revision: {new_revision}. Traffic: {}.",
                svc.traffic
            )),
        }
        // The image as given and the build it names: `:latest -> sha256:…`.
        if let Some(i) = image {
            match self.format {
                Format::Text(_) => self.line(format_args!("  image: {}", i.shown())),
                Format::Markdown => self.line(format_args!("\nImage: `{}`.", i.shown())),
            }
        }
    }

    fn problems(&mut self, problems: &[Problem]) {
        if problems.is_empty() {
            return;
        }
        match self.format {
            Format::Text(_) => {
                self.heading("Problems (the deploy would stop before changing anything)")
            }
            Format::Markdown => self.heading("Problems"),
        }
        for pr in problems {
            match self.format {
                Format::Text(_) => {
                    self.line(format_args!("  - {}\n    hint: {}", pr.message, pr.hint))
                }
                Format::Markdown => {
                    self.line(format_args!("- {}  \n  hint: `{}`", pr.message, pr.hint))
                }
            }
        }
    }
}

/// `--output json` of a run that failed before it had anything else to
/// print: `{"schema_version": 1, "failure": {"message", "hint"}}`.
#[derive(Serialize)]
pub(crate) struct FailureReport<'a> {
    schema_version: u32,
    failure: FailureText<'a>,
}

#[derive(Serialize)]
struct FailureText<'a> {
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<&'a str>,
}

impl<'a> FailureReport<'a> {
    pub(crate) fn new(message: &'a str, hint: Option<&'a str>) -> FailureReport<'a> {
        FailureReport {
            schema_version: crate::plan::SCHEMA_VERSION,
            failure: FailureText { message, hint },
        }
    }
}

/// JSON with a `schema_version`, keys in declaration order.
pub(crate) fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("plan and outcome types serialize")
}

#[cfg(test)]
mod tests;
