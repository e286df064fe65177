//! Many targets at once: the same environment deployed by one run to 1 target and to 20
//! targets in 4 projects (`regions:` of 5 regions in each project's file, `--all --jobs 20`),
//! so that the table shows whether depth stays that of one target, requests grow with the
//! targets, and each IAM policy is written once (docs/targets.md, "One run, three waves").

use crate::Bench;
use crate::harness::*;
use crate::report::{Outcome, Row};

/// The fleet's sizes: `(label, projects, regions per project)`.
pub(crate) const SIZES: [(&str, usize, usize); 2] = [
    ("1 target", 1, 1),
    ("20 targets in 4 projects", 4, FLEET_REGIONS.len()),
];

/// What each size runs, in order against one emulator; `grant` runs first on a fresh one.
const SCENARIOS: [(&str, &[&str]); 4] = [
    ("first deploy", &["deploy", "--all", "--jobs", "20"]),
    ("no-op redeploy", &["deploy", "--all", "--jobs", "20"]),
    ("plan", &["plan", "--all", "--jobs", "20"]),
    ("check", &["check", "--all", "--jobs", "20"]),
];

impl Bench {
    /// The rows of one fleet size: `grant` on a fresh world, then [`SCENARIOS`].
    pub(crate) fn fleet(&self, label: &str, projects: usize, regions: usize) -> Vec<Row> {
        let name = |scenario: &str| format!("{scenario} ({label})");
        if !self.has_command("targets") {
            let why = "no many-targets support (`targets` command) in this build";
            return vec![Row::new(&name("deploy"), Outcome::NotAvailable(why.into()))];
        }
        let start = || {
            let h = self.harness(fleet_world(projects).build(), "env-0", &config(0, regions));
            for p in 1..projects {
                h.write_config(&format!("env-{p}"), &config(p, regions));
            }
            h
        };
        let mut rows = vec![Row::new(
            &name("grant only (fresh projects)"),
            self.measure(&start(), &["grant", "--all", "--jobs", "20"]),
        )];
        let h = start();
        rows.extend(
            SCENARIOS
                .iter()
                .map(|(scenario, args)| Row::new(&name(scenario), self.measure(&h, args))),
        );
        rows
    }
}

fn config(project: usize, regions: usize) -> String {
    fleet_config(project, &FLEET_REGIONS[..regions])
}

/// For each scenario, whether 20 targets went deeper than 1, how many times the requests
/// grew, and whether any IAM policy was written twice in a run.
pub(crate) fn summary(one: &[Row], many: &[Row]) -> String {
    let mut deeper = Vec::new();
    let mut growth = Vec::new();
    let mut rewritten = Vec::new();
    for (a, b) in one.iter().zip(many) {
        if let (Some(m), Some(n)) = (a.measured(), b.measured()) {
            let scenario = a.scenario.split(" (").next().unwrap_or(&a.scenario);
            if n.depth > m.depth {
                deeper.push(format!("{scenario} ({} -> {})", m.depth, n.depth));
            }
            if m.requests > 0 {
                growth.push(format!(
                    "{scenario} {:.1}x",
                    n.requests as f64 / m.requests as f64
                ));
            }
            if n.max_writes_per_policy > 1 {
                rewritten.push(scenario.to_string());
            }
        }
    }
    format!(
        "sequential depth, 20 targets against 1: {}; requests, 20 targets over 1: {}; \
         each IAM policy written at most once per run: {}",
        match deeper.is_empty() {
            true => "the same or less in every row".to_string(),
            false => format!("deeper in {}", deeper.join(", ")),
        },
        match growth.is_empty() {
            true => "-".to_string(),
            false => growth.join(", "),
        },
        match rewritten.is_empty() {
            true => "yes".to_string(),
            false => format!("NO ({})", rewritten.join(", ")),
        },
    )
}
