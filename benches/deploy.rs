//! `cargo bench --bench deploy [-- --latency-ms N --json FILE --binary FILE]`
//!
//! The release build of `autosre-deploy`, run as its own process against the emulator with
//! a fixed latency added to every request (50 ms unless `--latency-ms`), for
//! `config/example.yaml`: requests, writes and sequential depth from the emulator's journal,
//! wall time from spawn to exit, and the floor no client can beat (depth x latency plus the
//! emulator's own time along that chain). Then the old grant script's gcloud sequence
//! (when gcloud is on PATH) against `grant` at the same latency, the same table for an
//! environment of 50 secrets and 40 roles and for 20 targets in 4 projects against 1, and
//! start-up: `--version`, `validate`, and `plan` at 0 latency, 20 runs each
//! (median wall time, peak RSS, time to the first request). Prints Markdown tables; `--json
//! FILE` writes the same figures. Asserts nothing: the tests check behaviour, this measures.
//!
//! A benchmark (`harness = false`) rather than a binary of the package: `cargo bench` builds
//! the binary it runs (with `[profile.bench]`: the release profile without fat LTO, see
//! Cargo.toml) and the in-process emulator in one command, and nothing of it ships. What the build lacks (a `rollback` command, regions and many targets, gcloud) is
//! read from the tool's `--help` and PATH at run time, and its row says so.

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the benchmark's Markdown tables and its notes are its output"
)]

#[path = "deploy/fleet.rs"]
mod fleet;
#[path = "../tests/it/harness.rs"]
mod harness;
#[path = "deploy/process.rs"]
mod process;
#[path = "deploy/report.rs"]
mod report;
#[path = "../tests/it/scripts.rs"]
mod scripts;
#[path = "deploy/synthetic.rs"]
mod synthetic;
#[path = "deploy/versus.rs"]
mod versus;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use autosre_emulator::critical_chain;
use harness::*;
use report::{Measured, Outcome, Row, markdown, median, ms, ratio};
use serde_json::json;
use versus::{Versus, script};

const RUNS: usize = 20;
/// How long the emulator's Cloud Build builds run in the source deploy rows. Polls alone
/// finish them in the tests; here they take time as real builds do, so that the tool's
/// poll interval is judged against a build's length. Shorter than any real build (a build
/// of even a small image queues, pulls a builder and pushes), so the row errs against the
/// tool: its polls overshoot the build's end by up to one interval.
const BUILD: Duration = Duration::from_secs(10);
const SECRETS: usize = 50;
/// The image of the image-only change.
const IMAGE: &str = "us-central1-docker.pkg.dev/autosre-example/autosre/autosre:bench-2";

/// One row of the example's (and the scaled environment's) table.
struct Scenario {
    name: &'static str,
    /// The tool's arguments, `{env}`, `{image}` and `{src}` (a 4-file source tree) filled
    /// in; empty for the `grant` row, which runs on a fresh world of its own.
    args: &'static [&'static str],
    /// The subcommand the build must have; without it the row says so.
    needs: Option<&'static str>,
}

/// The scenarios, in the order they run against one emulator. A new command or option is
/// one more entry; an environment of its own is a row built like [`Bench::two_regions`], or
/// a table like `fleet`'s.
const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "first deploy",
        args: &["deploy", "--env", "{env}"],
        needs: None,
    },
    Scenario {
        name: "no-op redeploy",
        args: &["deploy", "--env", "{env}"],
        needs: None,
    },
    Scenario {
        name: "image-only change",
        args: &["deploy", "--env", "{env}", "--image", "{image}"],
        needs: None,
    },
    Scenario {
        name: "plan",
        args: &["plan", "--env", "{env}"],
        needs: None,
    },
    Scenario {
        name: "grant only (fresh project)",
        args: &[],
        needs: None,
    },
    Scenario {
        name: "check",
        args: &["check", "--env", "{env}"],
        needs: None,
    },
    Scenario {
        name: "key check",
        args: &["key", "check", "--env", "{env}"],
        needs: None,
    },
    Scenario {
        name: "source deploy (4 files, a 10 s build)",
        args: &["deploy", "--env", "{env}", "--source", "{src}"],
        needs: None,
    },
    Scenario {
        name: "rollback",
        args: &["rollback", "--env", "{env}"],
        needs: Some("rollback"),
    },
];

struct Bench {
    rt: tokio::runtime::Runtime,
    latency: Duration,
    binary: PathBuf,
    /// The subcommands the build's `--help` lists.
    commands: Vec<String>,
}

impl Bench {
    /// A fresh emulator serving `world` with the bench's latency, and `config/<env>.yaml`.
    fn harness(&self, world: World, env: &str, yaml: &str) -> Harness {
        let options = Options {
            token: Some(TOKEN.to_string()),
            latency: self.latency,
            ..Options::default()
        };
        let h = self.rt.block_on(Harness::start_with(world, options));
        h.write_config(env, yaml);
        h
    }

    /// The release binary with `args`, pointed at `h` as the harness's own runs are, with
    /// the default poll and retry intervals (the harness shortens them for tests).
    fn tool(&self, h: &Harness, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.current_dir(h.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(h.env_vars(&[
                ("AUTOSRE_DEPLOY_POLL_INTERVAL_MS", UNSET),
                ("AUTOSRE_DEPLOY_RETRY_INITIAL_MS", UNSET),
            ]))
            .args(args)
            .arg("--config-dir")
            .arg(h.config_dir());
        cmd
    }

    /// Runs the tool once against `h` and reads the run's requests from the journal.
    fn measure(&self, h: &Harness, args: &[&str]) -> Outcome {
        h.emulator.clear_journal();
        let spawned = h.emulator.elapsed();
        let done = process::run(self.tool(h, args));
        if done.code != 0 {
            return Outcome::Failed(done.failure());
        }
        // Peak RSS is measured apart (`process::peak_rss`): this process is large by now.
        Outcome::Measured(measured(h, spawned, done.wall, 0))
    }

    /// [`Bench::measure`] of a run that builds its source, the build taking [`BUILD`] on
    /// the emulator's clock; the floor counts the build (see [`Measured::with_build`]).
    fn measure_build(&self, h: &Harness, args: &[&str]) -> Outcome {
        h.emulator.set_build_duration(BUILD);
        let outcome = self.measure(h, args);
        h.emulator.set_build_duration(Duration::ZERO);
        match outcome {
            Outcome::Measured(m) => {
                Outcome::Measured(m.with_build(&h.journal(), BUILD, h.emulator.latency()))
            }
            other => other,
        }
    }

    fn has_command(&self, name: &str) -> bool {
        self.commands.iter().any(|c| c == name)
    }

    /// The table's rows for `env` in `h`, in the order of [`SCENARIOS`] (each run starts
    /// from the state the previous one left); `grant` was measured on a fresh world of its
    /// own.
    fn scenarios(&self, h: &Harness, env: &str, grant: Outcome) -> Vec<Row> {
        let src = h.dir.path().join("src");
        synthetic::source_tree(&src);
        let src = src.to_str().expect("a UTF-8 temp dir");
        let mut grant = Some(grant);
        SCENARIOS
            .iter()
            .map(|s| {
                let outcome = match (s.args, s.needs) {
                    ([], _) => grant.take().expect("one grant row"),
                    (_, Some(command)) if !self.has_command(command) => {
                        Outcome::NotAvailable(format!("no `{command}` command in this build"))
                    }
                    (args, _) => {
                        let args: Vec<&str> = args
                            .iter()
                            .map(|a| match *a {
                                "{env}" => env,
                                "{src}" => src,
                                "{image}" => IMAGE,
                                a => a,
                            })
                            .collect();
                        match s.args.contains(&"{src}") {
                            true => self.measure_build(h, &args),
                            false => self.measure(h, &args),
                        }
                    }
                };
                Row::new(s.name, outcome)
            })
            .collect()
    }

    /// `grant` on a fresh world.
    fn grant(&self, world: World, env: &str, yaml: &str) -> (Harness, Outcome) {
        let h = self.harness(world, env, yaml);
        let outcome = self.measure(&h, &["grant", "--env", env]);
        (h, outcome)
    }

    /// `config/example.yaml` in two regions, when the build takes `regions:`.
    fn two_regions(&self) -> Row {
        let outcome = match self.has_command("targets") {
            false => Outcome::NotAvailable(
                "no `regions:` (many-targets support, the `targets` command) in this build".into(),
            ),
            true => {
                let h = self.harness(
                    example_world(NUMBER).build(),
                    "two",
                    &synthetic::two_regions(),
                );
                self.measure(&h, &["deploy", "--env", "two"])
            }
        };
        Row::new("two-region deploy", outcome)
    }

    /// Runs `cmd()` [`RUNS`] times: median wall and the median time from spawn to the
    /// first request `h` saw (when given); then once more through the spawner for its peak
    /// RSS (`process::peak_rss`).
    fn startup(&self, what: &str, h: Option<&Harness>, cmd: impl Fn() -> Command) -> Startup {
        let (mut walls, mut firsts) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            if let Some(h) = h {
                h.emulator.clear_journal();
            }
            let spawned = h.map(|h| h.emulator.elapsed());
            let done = process::run(cmd());
            assert_eq!(done.code, 0, "{what}: {}", done.failure());
            walls.push(ms(done.wall));
            if let (Some(h), Some(spawned)) = (h, spawned) {
                firsts.extend(measured(h, spawned, done.wall, 0).first_request_ms);
            }
        }
        if let Some(h) = h {
            h.emulator.clear_journal();
        }
        let (code, peak_rss_kib) = process::peak_rss(&cmd());
        assert_eq!(code, 0, "{what}: exit {code} under the spawner");
        Startup {
            what: what.to_string(),
            runs: RUNS,
            median_wall_ms: median(&walls),
            peak_rss_kib,
            median_first_request_ms: (!firsts.is_empty()).then(|| median(&firsts)),
        }
    }
}

/// The run just finished against `h`, from its journal.
fn measured(h: &Harness, spawned: Duration, wall: Duration, rss: u64) -> Measured {
    let journal = h.journal();
    let latency = h.emulator.latency();
    Measured::new(
        &journal,
        critical_chain(&journal),
        latency,
        spawned,
        wall,
        rss,
    )
}

/// Start-up figures of one command over [`RUNS`] runs.
#[derive(serde::Serialize)]
struct Startup {
    what: String,
    runs: usize,
    median_wall_ms: f64,
    peak_rss_kib: u64,
    median_first_request_ms: Option<f64>,
}

impl Startup {
    fn cells(&self) -> Vec<String> {
        vec![
            self.what.clone(),
            self.runs.to_string(),
            format!("{:.1} ms", self.median_wall_ms),
            format!("{:.1} MiB", self.peak_rss_kib as f64 / 1024.0),
            self.median_first_request_ms
                .map_or_else(|| "-".to_string(), |f| format!("{f:.1} ms")),
        ]
    }
}

/// The subcommands listed under `Commands:` in `help`.
fn commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

struct Args {
    latency: Duration,
    json: Option<PathBuf>,
    /// The binary to run instead of the one `cargo bench` built (`[profile.bench]`): the
    /// release build, to time what ships.
    binary: Option<PathBuf>,
}

fn args() -> Args {
    let mut args = Args {
        latency: Duration::from_millis(50),
        json: None,
        binary: None,
    };
    let mut argv = std::env::args().skip(1);
    while let Some(a) = argv.next() {
        match a.as_str() {
            "--latency-ms" => {
                let v = argv.next().and_then(|v| v.parse().ok());
                args.latency = Duration::from_millis(v.expect("--latency-ms takes a number"));
            }
            "--json" => args.json = Some(argv.next().expect("--json takes a file").into()),
            "--binary" => args.binary = Some(argv.next().expect("--binary takes a file").into()),
            // `cargo bench` passes `--bench`; there is nothing to filter.
            "--bench" => {}
            other => {
                eprintln!(
                    "unknown argument `{other}`; usage: [--latency-ms N] [--json FILE] [--binary FILE]"
                );
                std::process::exit(2);
            }
        }
    }
    args
}

fn main() {
    if let Some(code) = process::spawner_exit_code() {
        std::process::exit(code);
    }
    let started = Instant::now();
    let args = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let built = PathBuf::from(env!("CARGO_BIN_EXE_autosre-deploy"));
    if args
        .binary
        .as_ref()
        .is_some_and(|b| process::same_file(b, &built))
    {
        // Both profiles write target/release/autosre-deploy.
        eprintln!(
            "--binary names the build `cargo bench` just made ({}): copy the release binary \
             elsewhere after `cargo build --release`, and name the copy",
            built.display()
        );
        std::process::exit(2);
    }
    let binary = args.binary.clone().unwrap_or(built);
    let help = process::run({
        let mut c = Command::new(&binary);
        c.arg("--help");
        c
    });
    let bench = Bench {
        rt,
        latency: args.latency,
        binary,
        commands: commands(&help.stdout),
    };
    let bytes = std::fs::metadata(&bench.binary).map_or(0, |m| m.len());
    let latency_ms = args.latency.as_millis();
    println!(
        "autosre-deploy {} ({}, {bytes} bytes), {latency_ms} ms per request, {} cores\n",
        env!("CARGO_PKG_VERSION"),
        match (&args.binary, cfg!(debug_assertions)) {
            (Some(file), _) => format!("`{}`", file.display()),
            (None, true) => "debug build".to_string(),
            (None, false) => "the `bench` profile's build".to_string(),
        },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );

    // config/example.yaml.
    let example = repo_config("example");
    let (granted, grant) = bench.grant(example_world(NUMBER).build(), "example", &example);
    let h = bench.harness(example_world(NUMBER).build(), "example", &example);
    let mut rows = bench.scenarios(&h, "example", grant.clone());
    rows.push(bench.two_regions());
    println!(
        "config/example.yaml, {latency_ms} ms per request:\n\n{}",
        report::table(&rows)
    );

    // The old script's grant, same latency.
    let (script, identical) = script(&bench, &granted);
    let versus = Versus {
        script,
        tool: grant,
        identical,
    };
    println!(
        "grant_permissions.py's gcloud sequence against `grant`, {latency_ms} ms per request:\n\n{}",
        report::table(&versus.rows())
    );
    println!(
        "wall: script / grant = {}; sequential depth: script / grant = {}; final policies identical: {}\n",
        versus.wall_ratio(),
        versus.depth_ratio(),
        match versus.identical {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "- (the script did not run)",
        }
    );

    // Scale: 50 secrets, 40 project roles.
    let (yaml, secrets) = synthetic::scaled_example(SECRETS);
    let (_, grant) = bench.grant(synthetic::world_with(&secrets), "scaled", &yaml);
    let scaled = bench.harness(synthetic::world_with(&secrets), "scaled", &yaml);
    let scale = bench.scenarios(&scaled, "scaled", grant);
    println!(
        "{SECRETS} secrets and 40 project roles, {latency_ms} ms per request:\n\n{}",
        report::table(&scale)
    );
    println!("{}\n", scale_summary(&rows, &scale));

    // Scale: 20 targets in 4 projects against 1 target, one run each.
    let fleet: Vec<Vec<Row>> = fleet::SIZES
        .iter()
        .map(|(label, projects, regions)| bench.fleet(label, *projects, *regions))
        .collect();
    let fleet_rows: Vec<Row> = fleet.concat();
    println!(
        "many targets (config/staging.yaml in 4 projects x 5 regions, `--all --jobs 20`), \
         {latency_ms} ms per request:\n\n{}\n{}\n",
        report::table(&fleet_rows),
        fleet::summary(&fleet[0], &fleet[1]),
    );

    // Start-up and memory, at 0 latency.
    h.emulator.set_latency(Duration::ZERO);
    let startup = [
        bench.startup("--version", None, || {
            let mut c = Command::new(&bench.binary);
            c.arg("--version");
            c
        }),
        bench.startup("validate --env example", None, || {
            bench.tool(&h, &["validate", "--env", "example"])
        }),
        bench.startup("plan --env example (0 ms latency)", Some(&h), || {
            bench.tool(&h, &["plan", "--env", "example"])
        }),
    ];
    // A first deploy of the example once more, on a fresh emulator, for its peak RSS.
    let fresh = bench.harness(example_world(NUMBER).build(), "example", &example);
    let deploy_rss = match process::peak_rss(&bench.tool(&fresh, &["deploy", "--env", "example"])) {
        (0, rss) => rss,
        (code, _) => panic!("the first deploy for its peak RSS exited {code}"),
    };
    println!(
        "start-up and memory, {RUNS} runs each:\n\n{}\npeak RSS of a first deploy (one more, on a fresh emulator): {:.1} MiB\n",
        markdown(
            &[
                "command",
                "runs",
                "median wall",
                "peak RSS",
                "median first request"
            ],
            &startup.iter().map(Startup::cells).collect::<Vec<_>>(),
        ),
        deploy_rss as f64 / 1024.0,
    );
    println!("benchmark took {:.0} s", started.elapsed().as_secs_f64());

    if let Some(file) = &args.json {
        let doc = json!({
            "schema_version": 1,
            "latency_ms": latency_ms as u64,
            "binary": bench.binary.display().to_string(),
            "binary_bytes": bytes,
            "example": rows,
            "versus_scripts": {
                "rows": versus.rows(),
                "wall_ratio": versus.wall_ratio(),
                "depth_ratio": versus.depth_ratio(),
                "identical_policies": versus.identical,
            },
            "scale": {"secrets": SECRETS, "project_roles": 40, "rows": scale},
            "targets": {"rows": fleet_rows, "summary": fleet::summary(&fleet[0], &fleet[1])},
            "startup": startup,
            "first_deploy_peak_rss_kib": deploy_rss,
        });
        let text = serde_json::to_string_pretty(&doc).expect("JSON");
        std::fs::write(file, text + "\n")
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", file.display()));
        println!("wrote {}", file.display());
    }
}

/// Whether depth (without the polls that found a build still running) stayed as it was
/// with more secrets and roles, and each policy was written at most once.
fn scale_summary(example: &[Row], scale: &[Row]) -> String {
    let mut grew = Vec::new();
    let mut rewritten = Vec::new();
    for (a, b) in example.iter().zip(scale) {
        if let (Some(m), Some(n)) = (a.measured(), b.measured()) {
            if n.needed_depth() > m.needed_depth() {
                grew.push(format!(
                    "{} ({} -> {})",
                    b.scenario,
                    m.needed_depth(),
                    n.needed_depth()
                ));
            }
            if n.max_writes_per_policy > 1 {
                rewritten.push(b.scenario.clone());
            }
        }
    }
    format!(
        "sequential depth (less the polls that found a build running) against the example: {}; each IAM policy written at most once per run: {}",
        match grew.is_empty() {
            true => "the same or less in every row".to_string(),
            false => format!("deeper in {}", grew.join(", ")),
        },
        match rewritten.is_empty() {
            true => "yes".to_string(),
            false => format!("NO ({})", rewritten.join(", ")),
        },
    )
}
