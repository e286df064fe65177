//! The old grant script's gcloud sequence against `grant`, at the same
//! latency and on the same world: both rows, the ratios, and whether the
//! final policies are identical.

use super::*;

/// The old script's grant against `grant`, at the same latency.
pub(crate) struct Versus {
    pub(crate) script: Outcome,
    pub(crate) tool: Outcome,
    /// Whether both left the same project and service account policies; `None` when the
    /// script did not run.
    pub(crate) identical: Option<bool>,
}

impl Versus {
    pub(crate) fn rows(&self) -> Vec<Row> {
        vec![
            Row::new("grant_permissions.py (gcloud x15)", self.script.clone()),
            Row::new("this tool's grant", self.tool.clone()),
        ]
    }

    pub(crate) fn wall_ratio(&self) -> String {
        let (s, t) = self.pair();
        ratio(s.map(|m| m.wall_ms), t.map(|m| m.wall_ms))
    }

    pub(crate) fn depth_ratio(&self) -> String {
        let (s, t) = self.pair();
        ratio(s.map(|m| m.depth as f64), t.map(|m| m.depth as f64))
    }

    pub(crate) fn pair(&self) -> (Option<&Measured>, Option<&Measured>) {
        (self.script.measured(), self.tool.measured())
    }
}

/// Every binding of `resource`'s policy, members sorted, in a stable order.
fn bindings(h: &Harness, resource: &str) -> Vec<String> {
    let mut all: Vec<String> = h
        .emulator
        .policy(resource)
        .map(|p| p.bindings)
        .unwrap_or_default()
        .into_iter()
        .map(|mut b| {
            b.members.sort();
            format!("{} {:?} {:?}", b.role, b.members, b.condition)
        })
        .collect();
    all.sort();
    all
}

/// Whether the two emulators hold the same project and runtime account policies.
fn same_policies(a: &Harness, b: &Harness) -> bool {
    let sa = default_compute_account(NUMBER);
    [
        format!("projects/{EXAMPLE_PROJECT}"),
        format!("projects/{EXAMPLE_PROJECT}/serviceAccounts/{sa}"),
    ]
    .iter()
    .all(|r| bindings(a, r) == bindings(b, r))
}

/// The script's gcloud sequence against a fresh example world (`crate::scripts`, shared
/// with the `versus_scripts` test), after one untimed gcloud call that sets up its config
/// directory as a user's would already be. Without gcloud on PATH, the row says so.
pub(crate) fn script(bench: &Bench, tool: &Harness) -> (Outcome, Option<bool>) {
    if autosre_emulator::gcloud::find().is_none() {
        return (Outcome::NotAvailable("gcloud is not on PATH".into()), None);
    }
    let h = bench.harness(
        example_world(NUMBER).build(),
        "example",
        &repo_config("example"),
    );
    let token = h.dir.path().join("token");
    std::fs::write(&token, TOKEN).expect("token file");
    let warm =
        autosre_emulator::gcloud::command(&h.server.url(), &h.dir.path().join("gcloud"), &token)
            .args(["config", "list", "--format=none"])
            .output()
            .expect("gcloud runs");
    assert!(
        warm.status.success(),
        "{}",
        String::from_utf8_lossy(&warm.stderr)
    );
    h.emulator.clear_journal();
    let spawned = h.emulator.elapsed();
    let started = Instant::now();
    bench
        .rt
        .block_on(async { scripts::replay_grant_script(&h) });
    let m = measured(&h, spawned, started.elapsed(), 0);
    (Outcome::Measured(m), Some(same_policies(&h, tool)))
}
