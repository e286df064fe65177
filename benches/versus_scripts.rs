//! What the old grant script cost, against what `autosre-deploy grant` costs, with 100 ms
//! added to every request: requests, writes and sequential round trips from the emulator's
//! journal, and wall time. Prints the figures; asserts nothing (the test
//! `versus_scripts::grant_leaves_the_same_policies_as_the_script` checks the outcome).
//!
//! `cargo bench --bench versus_scripts --features gcloud-tests` (gcloud must be on PATH).

#[path = "../tests/it/harness.rs"]
mod harness;
#[path = "../tests/it/scripts.rs"]
mod scripts;

use std::time::{Duration, Instant};

use harness::*;

const LATENCY: Duration = Duration::from_millis(100);

struct Cost {
    requests: usize,
    writes: usize,
    depth: usize,
    wall: Duration,
}

fn cost(h: &Harness, wall: Duration) -> Cost {
    let j = h.journal();
    Cost {
        requests: j.len(),
        writes: j.iter().filter(|e| e.write).count(),
        depth: chain_depth(&j),
        wall,
    }
}

fn print(label: &str, c: &Cost) {
    println!(
        "grant, {label:<26} {:>3} requests, {:>2} writes, {:>2} sequential round trips ({} ms at {} ms each), wall {} ms",
        c.requests,
        c.writes,
        c.depth,
        c.depth as u128 * LATENCY.as_millis(),
        LATENCY.as_millis(),
        c.wall.as_millis(),
    );
}

async fn measure() {
    let old = Harness::start(example_world(NUMBER).build()).await;
    old.emulator.set_latency(LATENCY);
    let started = Instant::now();
    scripts::replay_grant_script(&old);
    let script = cost(&old, started.elapsed());

    let new = Harness::start(example_world(NUMBER).build()).await;
    new.write_config("example", &repo_config("example"));
    new.emulator.set_latency(LATENCY);
    let started = Instant::now();
    let run = new.run(&["grant", "--env", "example"]).await;
    let tool = cost(&new, started.elapsed());
    if run.code != 0 {
        eprintln!("autosre-deploy grant failed:\n{}", run.all());
        std::process::exit(1);
    }

    print("script (gcloud x14):", &script);
    print("autosre-deploy:", &tool);
    println!(
        "ratios (script / tool): requests {:.1}x, writes {:.1}x, round trips {:.1}x, wall {:.1}x",
        script.requests as f64 / tool.requests as f64,
        script.writes as f64 / tool.writes as f64,
        script.depth as f64 / tool.depth as f64,
        script.wall.as_secs_f64() / tool.wall.as_secs_f64(),
    );
}

fn main() {
    // `cargo bench` passes `--bench`; there is nothing to filter.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(measure());
}
