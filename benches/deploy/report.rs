//! The figures of `cargo bench --bench deploy` and how they are printed. Pure (no clock, no
//! process), so that its tests run with the integration tests (`cargo test --test it
//! bench_report`) while every timing stays in the benchmark.

#![allow(dead_code)]

use std::time::Duration;

use autosre_emulator::{Chain, JournalEntry};
use serde::Serialize;

/// One run of the tool (or of a script), read from the process and the emulator's journal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Measured {
    pub requests: usize,
    pub writes: usize,
    /// The sequential depth: the longest chain of requests that waited for one another.
    pub depth: usize,
    pub wall_ms: f64,
    /// `depth` x the injected latency + the emulator's own time along that chain.
    pub floor_ms: f64,
    /// The emulator's own time along the chain (its share of the floor beyond latency).
    pub emulator_ms: f64,
    /// The most `setIamPolicy` calls on any one resource.
    pub max_writes_per_policy: usize,
    /// From the process's spawn to the first request the emulator saw.
    pub first_request_ms: Option<f64>,
    /// Peak resident set size of the process, in KiB (0 when unknown).
    pub peak_rss_kib: u64,
    /// How long the emulator's Cloud Build build ran (its share of the floor), when the run
    /// built one; see [`Measured::with_build`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_ms: Option<f64>,
    /// Of `depth`, the polls that found the build still running (the client's interval).
    pub waiting_polls: usize,
}

impl Measured {
    /// The figures of one run: `journal` holds its requests alone, `spawned` is when the
    /// process started on the journal's clock, `wall` how long it ran.
    pub(crate) fn new(
        journal: &[JournalEntry],
        chain: Chain,
        latency: Duration,
        spawned: Duration,
        wall: Duration,
        peak_rss_kib: u64,
    ) -> Measured {
        let (floor, emulator) = floor(chain, latency);
        Measured {
            requests: journal.len(),
            writes: journal.iter().filter(|e| e.write).count(),
            depth: chain.depth,
            wall_ms: ms(wall),
            floor_ms: ms(floor),
            emulator_ms: ms(emulator),
            max_writes_per_policy: max_writes_per_policy(journal),
            first_request_ms: journal
                .iter()
                .map(|e| e.started)
                .min()
                .map(|first| ms(first.saturating_sub(spawned))),
            peak_rss_kib,
            build_ms: None,
            waiting_polls: 0,
        }
    }

    /// The depth without the polls that found a build still running: the round trips any
    /// client needs, which must not grow with secrets, roles or targets.
    pub(crate) fn needed_depth(&self) -> usize {
        self.depth - self.waiting_polls
    }

    /// The floor of a run that waited on a Cloud Build build of `build` on the emulator's
    /// clock. The emulator adds latency before it answers, so the build starts `latency`
    /// after the create request does, and the poll that sees it done ends no sooner than
    /// `build` after that: the create and that one poll take `latency + build`, not
    /// `2 x latency`. The polls that found it still running are this client's choice of
    /// interval, not a round trip any client needs, so they leave the floor.
    pub(crate) fn with_build(
        mut self,
        journal: &[JournalEntry],
        build: Duration,
        latency: Duration,
    ) -> Measured {
        let polls = journal
            .iter()
            .filter(|e| BUILD_POLLS.contains(&e.rpc.as_str()))
            .count();
        self.waiting_polls = polls.saturating_sub(1).min(self.depth);
        let still_running = self.waiting_polls as f64;
        self.floor_ms += ms(build.saturating_sub(latency)) - still_running * ms(latency);
        self.build_ms = Some(ms(build));
        self
    }

    /// Wall time over the floor; `None` for a run that sent nothing.
    pub(crate) fn over_floor(&self) -> Option<f64> {
        (self.floor_ms > 0.0).then(|| self.wall_ms / self.floor_ms)
    }
}

/// The requests that ask whether a Cloud Build build is done (cloudbuild.v1 discovery).
const BUILD_POLLS: [&str; 2] = [
    "cloudbuild.projects.locations.operations.get",
    "cloudbuild.projects.locations.builds.get",
];

/// The floor of a run whose critical chain is `chain`: `depth x latency` plus the time the
/// emulator itself spent on those requests; returns `(floor, emulator's own time)`.
pub(crate) fn floor(chain: Chain, latency: Duration) -> (Duration, Duration) {
    let waited = latency * chain.depth as u32;
    let own = chain.busy.saturating_sub(waited);
    (waited + own, own)
}

/// The most `setIamPolicy` calls made on one resource ("each IAM policy is written once").
pub(crate) fn max_writes_per_policy(journal: &[JournalEntry]) -> usize {
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for e in journal
        .iter()
        .filter(|e| e.write && e.rpc.ends_with(".setIamPolicy"))
    {
        *counts.entry(e.path.as_str()).or_default() += 1;
    }
    counts.into_values().max().unwrap_or(0)
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A row of a table: the figures, or why there are none.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Outcome {
    Measured(Measured),
    /// The build has no such command or feature, or gcloud is missing: why.
    NotAvailable(String),
    /// It ran and failed: the exit code and the last line it printed.
    Failed(String),
}

impl Outcome {
    pub(crate) fn measured(&self) -> Option<&Measured> {
        match self {
            Outcome::Measured(m) => Some(m),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Row {
    pub scenario: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl Row {
    pub(crate) fn new(scenario: &str, outcome: Outcome) -> Row {
        Row {
            scenario: scenario.to_string(),
            outcome,
        }
    }

    pub(crate) fn measured(&self) -> Option<&Measured> {
        self.outcome.measured()
    }
}

const COLUMNS: [&str; 7] = [
    "scenario",
    "requests",
    "writes",
    "sequential depth",
    "wall",
    "floor",
    "wall / floor",
];

/// The rows as a Markdown table (columns padded, so it reads as well in a terminal).
pub(crate) fn table(rows: &[Row]) -> String {
    let cells: Vec<Vec<String>> = rows.iter().map(cells).collect();
    markdown(&COLUMNS, &cells)
}

fn cells(row: &Row) -> Vec<String> {
    let mut cells = match &row.outcome {
        Outcome::Measured(m) => vec![
            row.scenario.clone(),
            m.requests.to_string(),
            m.writes.to_string(),
            m.depth.to_string(),
            format!("{:.0} ms", m.wall_ms),
            format!("{:.0} ms", m.floor_ms),
            m.over_floor()
                .map_or_else(|| "-".to_string(), |r| format!("{r:.2}x")),
        ],
        Outcome::NotAvailable(why) => vec![format!("{}: not available ({why})", row.scenario)],
        Outcome::Failed(why) => vec![format!("{}: failed ({why})", row.scenario)],
    };
    cells.resize(COLUMNS.len(), "-".to_string());
    cells
}

/// A Markdown table; numbers (cells after the first starting with a digit) are right-aligned.
pub(crate) fn markdown(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
    let pad = |(i, (cell, &w)): (usize, (&String, &usize))| {
        let fill = " ".repeat(w - cell.chars().count());
        match i > 0 && cell.starts_with(|c: char| c.is_ascii_digit()) {
            true => format!("{fill}{cell}"),
            false => format!("{cell}{fill}"),
        }
    };
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let mut out = line(header.iter().zip(&widths).enumerate().map(pad).collect());
    out.push_str(&line(widths.iter().map(|&w| "-".repeat(w)).collect()));
    for row in rows {
        out.push_str(&line(
            row.iter().zip(&widths).enumerate().map(pad).collect(),
        ));
    }
    out
}

/// `a / b` as `12.3x`, or `-` when either side is missing or zero.
pub(crate) fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if a > 0.0 && b > 0.0 => format!("{:.1}x", a / b),
        _ => "-".to_string(),
    }
}

/// The median of `values` (the mean of the middle two for an even count); 0 for none.
pub(crate) fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(rpc: &str, path: &str, write: bool, start_ms: u64) -> JournalEntry {
        JournalEntry {
            seq: 0,
            api: autosre_emulator::Api::Iam,
            method: "POST".into(),
            path: path.into(),
            query: String::new(),
            rpc: rpc.into(),
            write,
            validate_only: false,
            status: 200,
            faulted: false,
            principal: String::new(),
            started: Duration::from_millis(start_ms),
            ended: Duration::from_millis(start_ms + 50),
        }
    }

    fn chain(depth: usize, busy_ms: u64) -> Chain {
        Chain {
            depth,
            busy: Duration::from_millis(busy_ms),
        }
    }

    #[test]
    fn the_floor_is_depth_times_latency_plus_the_emulators_own_time() {
        let latency = Duration::from_millis(50);
        assert_eq!(
            floor(chain(5, 262), latency),
            (Duration::from_millis(262), Duration::from_millis(12))
        );
        // A chain timed shorter than its latency (clock granularity) is never under it.
        assert_eq!(
            floor(chain(2, 99), latency),
            (Duration::from_millis(100), Duration::ZERO)
        );
    }

    #[test]
    fn a_run_is_counted_from_its_journal() {
        let j = [
            entry("iam.getIamPolicy", "/v1/projects/p:getIamPolicy", false, 10),
            entry("x.setIamPolicy", "/v1/projects/p:setIamPolicy", true, 70),
            entry("x.setIamPolicy", "/v1/projects/p:setIamPolicy", true, 130),
            entry(
                "y.setIamPolicy",
                "/v1/projects/p/serviceAccounts/a:setIamPolicy",
                true,
                70,
            ),
            entry("run.projects.locations.services.create", "/v2/s", true, 190),
        ];
        let m = Measured::new(
            &j,
            chain(4, 200),
            Duration::from_millis(50),
            Duration::from_millis(4),
            Duration::from_millis(250),
            20_000,
        );
        assert_eq!((m.requests, m.writes, m.depth), (5, 4, 4));
        assert_eq!(m.max_writes_per_policy, 2);
        assert_eq!(m.first_request_ms, Some(6.0));
        assert_eq!((m.floor_ms, m.emulator_ms), (200.0, 0.0));
        assert_eq!(m.over_floor(), Some(1.25));
    }

    #[test]
    fn a_timed_build_replaces_the_polls_that_found_it_running_in_the_floor() {
        let poll = |start| {
            entry(
                "cloudbuild.projects.locations.operations.get",
                "/v1/o",
                false,
                start,
            )
        };
        // create, 3 polls (the last sees it done), deploy: depth 5 at 50 ms.
        let j = [
            entry(
                "cloudbuild.projects.locations.builds.create",
                "/v1/b",
                true,
                0,
            ),
            poll(1_050),
            poll(2_100),
            poll(3_150),
            entry(
                "run.projects.locations.services.patch",
                "/v2/s",
                true,
                3_200,
            ),
        ];
        let latency = Duration::from_millis(50);
        let m = Measured::new(
            &j,
            chain(5, 250),
            latency,
            Duration::ZERO,
            Duration::from_millis(3_300),
            0,
        )
        .with_build(&j, Duration::from_millis(3_000), latency);
        // 5 x 50 = 250; minus the 2 polls that found it running; plus 3,000 - 50.
        assert_eq!(m.floor_ms, 250.0 - 100.0 + 2_950.0);
        assert_eq!((m.build_ms, m.needed_depth()), (Some(3_000.0), 3));
    }

    #[test]
    fn a_run_without_requests_has_no_first_request_and_no_ratio() {
        let m = Measured::new(
            &[],
            chain(0, 0),
            Duration::from_millis(50),
            Duration::ZERO,
            Duration::from_millis(3),
            5_000,
        );
        assert_eq!((m.first_request_ms, m.over_floor()), (None, None));
        assert_eq!(cells(&Row::new("validate", Outcome::Measured(m)))[6], "-");
    }

    #[test]
    fn the_table_aligns_numbers_and_says_what_is_not_available() {
        let m = Measured {
            requests: 23,
            writes: 3,
            depth: 5,
            wall_ms: 307.4,
            floor_ms: 252.0,
            emulator_ms: 2.0,
            max_writes_per_policy: 1,
            first_request_ms: Some(12.0),
            peak_rss_kib: 20_000,
            build_ms: None,
            waiting_polls: 0,
        };
        let rows = [
            Row::new("first deploy", Outcome::Measured(m)),
            Row::new(
                "rollback",
                Outcome::NotAvailable("no `rollback` command".into()),
            ),
            Row::new("2 regions", Outcome::Failed("exit 1: boom".into())),
        ];
        assert_eq!(
            table(&rows),
            "\
| scenario                                        | requests | writes | sequential depth | wall   | floor  | wall / floor |
| ----------------------------------------------- | -------- | ------ | ---------------- | ------ | ------ | ------------ |
| first deploy                                    |       23 |      3 |                5 | 307 ms | 252 ms |        1.22x |
| rollback: not available (no `rollback` command) | -        | -      | -                | -      | -      | -            |
| 2 regions: failed (exit 1: boom)                | -        | -      | -                | -      | -      | -            |
"
        );
    }

    #[test]
    fn rows_serialize_with_their_outcome_named() {
        let row = Row::new("rollback", Outcome::NotAvailable("no command".into()));
        assert_eq!(
            serde_json::to_value(&row).unwrap(),
            serde_json::json!({"scenario": "rollback", "not_available": "no command"})
        );
    }

    #[test]
    fn ratios_and_medians() {
        assert_eq!(ratio(Some(10_700.0), Some(200.0)), "53.5x");
        assert_eq!(ratio(Some(1.0), None), "-");
        assert_eq!(ratio(Some(1.0), Some(0.0)), "-");
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}
