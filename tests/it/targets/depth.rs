//! Depth that does not grow with the number of targets: 20 targets in 4 projects against
//! 1, for a first deploy and for the read-only checks (counted from the emulator's journal,
//! never timed).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::harness::*;

/// A first deploy's sequential depth and writes with `projects` x `regions` targets.
async fn first_deploy(projects: usize, regions: &[&str]) -> (usize, Vec<JournalEntry>) {
    let h = Harness::start(fleet_world(projects).build()).await;
    for p in 0..projects {
        h.write_config(&format!("env-{p}"), &fleet_config(p, regions));
    }
    // Long enough that the requests of one wave, which start together, cannot look
    // sequential on a loaded machine.
    h.emulator.set_latency(Duration::from_millis(1000));
    let run = h.run(&["deploy", "--all", "--jobs", "20"]).await;
    run.assert_code(0);
    let journal = h.journal();
    (chain_depth(&journal), journal)
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_targets_in_four_projects_have_the_depth_of_one() {
    let (one, one_journal) = first_deploy(1, &FLEET_REGIONS[..1]).await;
    let (twenty, journal) = first_deploy(4, &FLEET_REGIONS).await;
    assert_eq!(
        twenty,
        one,
        "the sequential depth grew with the targets: 1 target {} requests, 20 targets {}",
        one_journal.len(),
        journal.len()
    );
    assert_eq!(
        journal
            .iter()
            .filter(|e| e.rpc == "run.projects.locations.services.create")
            .count(),
        20
    );
    // Each IAM policy is written once however many targets need a binding in it.
    let mut writes: BTreeMap<&str, usize> = BTreeMap::new();
    for e in journal.iter().filter(|e| e.rpc.ends_with("setIamPolicy")) {
        *writes.entry(e.path.as_str()).or_default() += 1;
    }
    assert!(writes.values().all(|n| *n == 1), "{writes:#?}");
    // 4 project policies, 12 secret policies, 4 runtime accounts' policies.
    assert_eq!(writes.len(), 20, "{writes:#?}");
    // Reads the targets share are made once: one project read and one policy read each.
    for rpc in [
        "cloudresourcemanager.projects.getIamPolicy",
        "secretmanager.projects.secrets.getIamPolicy",
        "secretmanager.projects.secrets.get",
    ] {
        let n = journal.iter().filter(|e| e.rpc == rpc).count();
        let per_target = one_journal.iter().filter(|e| e.rpc == rpc).count();
        assert_eq!(n, per_target * 4, "{rpc}: {n} requests for 4 projects");
    }
}

/// `args` over `projects` x `regions` targets, `--all --jobs 20`: the run's sequential depth
/// and its stderr.
async fn checked(projects: usize, regions: &[&str], args: &[&str]) -> (usize, String) {
    let h = Harness::start(fleet_world(projects).build()).await;
    for p in 0..projects {
        h.write_config(&format!("env-{p}"), &fleet_config(p, regions));
    }
    // Long enough that requests sent together cannot look sequential on a loaded machine.
    h.emulator.set_latency(Duration::from_millis(300));
    let run = h.run(&[args, &["--all", "--jobs", "20"]].concat()).await;
    run.assert_code(0);
    (chain_depth(&h.journal()), run.stderr)
}

/// `check`, `secrets status` and `key check` over 20 targets wait on the network together,
/// yet print each target's lines together, the targets in order, as if one after another.
#[tokio::test(flavor = "multi_thread")]
async fn checks_of_twenty_targets_have_the_depth_of_one_and_print_in_order() {
    for args in [&["check"][..], &["secrets", "status"], &["key", "check"]] {
        let (one, _) = checked(1, &FLEET_REGIONS[..1], args).await;
        let (twenty, stderr) = checked(4, &FLEET_REGIONS, args).await;
        assert_eq!(twenty, one, "{args:?}: 20 targets went deeper than one");
        let mut order: Vec<&str> = stderr
            .lines()
            .filter_map(|l| l.strip_prefix('[')?.split(']').next())
            .collect();
        order.dedup();
        let expected: Vec<String> = (0..4)
            .flat_map(|p| FLEET_REGIONS.map(|r| format!("env-{p}/{r}")))
            .collect();
        assert_eq!(order, expected, "{args:?}: {stderr}");
    }
}
