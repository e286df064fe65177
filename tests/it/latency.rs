//! A plan costs as many sequential round trips as its dependency depth, not
//! as many as it has resources.
//!
//! The dependency depth of `config/example.yaml` is 2: first everything that
//! depends on nothing (the project number, every secret and version, the
//! project policy, the service and its policy), then what needs the project
//! number or the live service (Cloud Run's default account, whose email is
//! `<number>-compute@...`, and Cloud Run's validateOnly check of the service
//! we would send). With 300 ms injected per request, the longest chain of
//! requests that each started after the previous one ended must be exactly 2,
//! for 3 secrets and for 30. Wall time is printed, not asserted. The latency is
//! long so that requests of one phase, which start together, cannot look
//! sequential on a loaded machine running the other tests alongside.

use std::time::{Duration, Instant};

use crate::harness::*;

const LATENCY: Duration = Duration::from_millis(300);
const DEPTH: usize = 2;

/// config/example.yaml, with `extra` more secrets wired as env vars.
fn example_with(extra: usize) -> (String, Vec<String>) {
    let mut yaml = repo_config("example");
    let mut names = vec![
        "gemini-api-key".to_string(),
        "google-client-id".to_string(),
        "sre-agent-encryption-key".to_string(),
    ];
    let mut lines = String::new();
    for i in 0..extra {
        let name = format!("extra-secret-{i:02}");
        lines.push_str(&format!("    EXTRA_SECRET_{i:02}: {name}:latest\n"));
        names.push(name);
    }
    let anchor = "    SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key:latest\n";
    yaml = yaml.replace(anchor, &format!("{anchor}{lines}"));
    (yaml, names)
}

#[expect(
    clippy::print_stderr,
    reason = "the figures are read in the test's output"
)]
async fn measure(extra: usize) -> (usize, usize, Duration) {
    let (yaml, secrets) = example_with(extra);
    let mut world = example_world(NUMBER);
    for s in &secrets[3..] {
        world = world.secret("autosre-example", s).secret_version(
            "autosre-example",
            s,
            VersionState::Enabled,
            PAYLOAD,
        );
    }
    let h = Harness::start(world.build()).await;
    h.write_config("example", &yaml);
    h.emulator.set_latency(LATENCY);
    let started = Instant::now();
    let run = h.run(&["plan", "--env", "example"]).await;
    let wall = started.elapsed();
    assert_eq!(run.code, 0, "{}", run.all());
    let journal = h.journal();
    assert!(
        journal.iter().all(|e| !e.write),
        "a plan wrote: {journal:#?}"
    );
    assert!(
        journal.iter().any(|e| e.validate_only),
        "the plan asks Cloud Run to validate the service"
    );
    let depth = chain_depth(&journal);
    eprintln!(
        "plan with {} secrets: {} requests, chain depth {depth}, wall {:.0} ms vs depth x latency {} ms ({:.2}x)",
        secrets.len(),
        journal.len(),
        wall.as_secs_f64() * 1000.0,
        depth as u128 * LATENCY.as_millis(),
        wall.as_secs_f64() / (depth as f64 * LATENCY.as_secs_f64()),
    );
    (secrets.len(), depth, wall)
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_round_trips_equal_the_dependency_depth_for_3_and_30_secrets() {
    let (n3, depth3, _) = measure(0).await;
    let (n30, depth30, _) = measure(27).await;
    assert_eq!((n3, n30), (3, 30));
    assert_eq!(depth3, DEPTH, "3 secrets");
    assert_eq!(depth30, DEPTH, "30 secrets");
}

/// `rollback`'s check of the target revision (every secret version it pins,
/// its runtime account) is one concurrent wave: its depth is the same for 3
/// secrets and for 30. It was read one version after another (depth 11 for
/// the example, 58 for 50 secrets, in the deploy benchmark).
async fn rollback_depth(extra: usize) -> usize {
    let (yaml, secrets) = example_with(extra);
    let mut world = example_world(NUMBER);
    for s in &secrets[3..] {
        world = world.secret("autosre-example", s).secret_version(
            "autosre-example",
            s,
            VersionState::Enabled,
            PAYLOAD,
        );
    }
    let h = Harness::start(world.build()).await;
    h.write_config("example", &yaml);
    let image = "us-docker.pkg.dev/autosre-example/autosre/autosre:2";
    h.run(&["deploy", "--env", "example"]).await.assert_code(0);
    h.run(&["deploy", "--env", "example", "--image", image])
        .await
        .assert_code(0);
    let before = h.journal().len();
    h.emulator.set_latency(LATENCY);
    let run = h.run(&["rollback", "--env", "example", "--dry-run"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    chain_depth(&h.journal()[before..])
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_round_trips_do_not_grow_with_secrets() {
    let (d3, d30) = (rollback_depth(0).await, rollback_depth(27).await);
    assert_eq!(d3, d30, "3 secrets: depth {d3}; 30 secrets: depth {d30}");
}
