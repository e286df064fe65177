//! The harness for end-to-end tests: an in-process emulator, a temporary
//! config directory, and the tool pointed at both, either called in-process
//! ([`Harness::run`], `autosre_deploy::run` with captured output) or spawned
//! as the built binary ([`Harness::spawn`], for what needs a real process).
//!
//! Every run asserts that no secret payload seeded into the emulator appears
//! in stdout or stderr, so each test also pins the rule that secret values
//! never reach output.
//!
//! ```ignore
//! let h = Harness::start(staging_world().build()).await;      // or start_with(world, options)
//! h.write_config("staging", &repo_config("staging"));
//! let run = h.run(&["deploy", "--env", "staging"]).await;      // in-process
//! assert_run_snapshot!(run);                                   // exit code + stdout + stderr
//! assert_eq!(h.write_rpcs(), [..]);                            // the emulator's journal
//! ```

#![allow(dead_code)]

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

#[allow(unused_imports)]
pub(crate) use autosre_emulator::{
    Clock, Emulator, Fault, JournalEntry, Options, Server, VersionState, World,
};

pub(crate) const TOKEN: &str = "test-token";
/// As a value in `run_with`'s variables: remove the variable instead.
pub(crate) const UNSET: &str = "\u{0}unset";
// A path the benchmark, which mounts this file with `#[path]`, resolves too.
#[path = "harness/worlds.rs"]
mod worlds;
pub(crate) use worlds::*;

pub(crate) struct Harness {
    pub emulator: Emulator,
    pub server: Server,
    pub dir: tempfile::TempDir,
}

/// One finished run of the tool.
#[derive(Debug)]
pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// Literal texts that vary between runs (the emulator's URL, the temp
    /// dir) and what [`Run::snapshot`] writes instead.
    redactions: Vec<(String, &'static str)>,
}

impl Run {
    pub(crate) fn new(code: i32, stdout: String, stderr: String) -> Run {
        Run {
            code,
            stdout,
            stderr,
            redactions: Vec::new(),
        }
        .checked()
    }

    pub(crate) fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Exit code, stdout and stderr in one text, with this run's emulator
    /// URL and temp dir replaced; [`assert_run_snapshot!`] filters the rest.
    pub(crate) fn snapshot(&self) -> String {
        let mut text = format!(
            "exit_code: {}\n----- stdout -----\n{}\n----- stderr -----\n{}",
            self.code, self.stdout, self.stderr
        );
        for (from, to) in &self.redactions {
            text = text.replace(from.as_str(), to);
        }
        text
    }

    /// Assert the exit code, showing stdout and stderr if it differs.
    #[track_caller]
    pub(crate) fn assert_code(&self, code: i32) {
        assert_eq!(self.code, code, "{}", self.all());
    }

    /// Assert that stderr contains `text`, showing stderr if not.
    #[track_caller]
    pub(crate) fn assert_stderr_contains(&self, text: &str) {
        assert!(self.stderr.contains(text), "{}", self.stderr);
    }

    /// Assert that stdout contains `text`, showing stdout if not.
    #[track_caller]
    pub(crate) fn assert_stdout_contains(&self, text: &str) {
        assert!(self.stdout.contains(text), "{}", self.stdout);
    }

    /// Assert that stdout or stderr contains `text`, showing both if not.
    #[track_caller]
    pub(crate) fn assert_all_contains(&self, text: &str) {
        assert!(self.all().contains(text), "{}", self.all());
    }

    fn checked(self) -> Run {
        for secret in [PAYLOAD, KEY] {
            let payload = String::from_utf8_lossy(secret);
            assert!(
                !self.all().contains(payload.as_ref()),
                "a secret payload was printed:\n{}",
                self.all()
            );
        }
        self
    }
}

/// What varies between runs beyond a harness's own URL and temp dir:
/// `(regex, replacement)` for insta's filters.
pub(crate) const SNAPSHOT_FILTERS: &[(&str, &str)] = &[
    // Another emulator's port (e.g. the sandbox's own).
    (r"http://127\.0\.0\.1:\d+", "http://[EMULATOR]"),
    // Temp dirs the harness did not make.
    (r"(?:/[^\s/:]+)*/\.tmp[A-Za-z0-9]{6}", "[TMP]"),
    // Elapsed times: `(0.3s)`, `0.12s`, `(1.2s elapsed)`, `45 ms`.
    (r"\b\d+\.\d+s\b", "[TIME]"),
    (r"\b\d+ ?ms\b", "[TIME]"),
    (r"\(\d+s\)", "([TIME])"),
    (r"\d+s elapsed", "[TIME] elapsed"),
    (r"\(\d+s of (\d+)s used\)", "([TIME] of ${1}s used)"),
    // A rollout's random run id, and the random suffix of revision names.
    (r"\b[0-9a-f]{8}-(\d+)\b", "[RUN]-$1"),
    (r"(autosre-\d{5})-[a-z0-9]{3}\b", "$1-[RND]"),
    // Etags.
    (r#""etag": "(?:[^"\\]|\\.)*""#, r#""etag": "[ETAG]""#),
    (
        r"\betag [A-Za-z0-9+/=_-]+ -> [A-Za-z0-9+/=_-]+",
        "etag [ETAG] -> [ETAG]",
    ),
];

/// Snapshot a [`Run`]'s exit code, stdout and stderr together (as uv's
/// `uv_snapshot!`), with [`SNAPSHOT_FILTERS`] applied; the snapshot is named
/// after the test, or `$name`.
#[allow(unused_macros)]
macro_rules! assert_run_snapshot {
    ($run:expr) => {{
        let text = $run.snapshot();
        insta::with_settings!({filters => $crate::harness::SNAPSHOT_FILTERS.to_vec()}, {
            insta::assert_snapshot!(text);
        });
    }};
    ($name:expr, $run:expr) => {{
        let text = $run.snapshot();
        insta::with_settings!({filters => $crate::harness::SNAPSHOT_FILTERS.to_vec()}, {
            insta::assert_snapshot!($name, text);
        });
    }};
}

pub(crate) fn fast_options() -> Options {
    Options {
        token: Some(TOKEN.to_string()),
        operation_polls: 2,
        ..Options::default()
    }
}

/// [`fast_options`] on the emulator's manual clock: time moves only when the
/// test calls `emulator.advance`.
pub(crate) fn manual_clock_options() -> Options {
    Options {
        clock: Clock::Manual,
        ..fast_options()
    }
}

/// A `Write` into a shared buffer, read back after the run.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Call the tool in-process with exactly `env` (nothing from this
/// process's environment), capturing what it prints.
pub(crate) async fn run_in_process(args: &[&str], env: autosre_deploy::Env) -> Run {
    let (out, err) = (Buffer::default(), Buffer::default());
    let argv: Vec<OsString> = std::iter::once("autosre-deploy")
        .chain(args.iter().copied())
        .map(OsString::from)
        .collect();
    let status = autosre_deploy::run(argv, env, Box::new(out.clone()), Box::new(err.clone())).await;
    Run {
        code: i32::from(status.code()),
        stdout: out.text(),
        stderr: err.text(),
        redactions: Vec::new(),
    }
    .checked()
}

impl Harness {
    pub(crate) async fn start(world: World) -> Harness {
        Harness::start_with(world, fast_options()).await
    }

    pub(crate) async fn start_with(world: World, options: Options) -> Harness {
        let emulator = Emulator::new(world, options);
        let server = emulator.serve().await.expect("emulator serves");
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("config")).unwrap();
        Harness {
            emulator,
            server,
            dir,
        }
    }

    /// [`Harness::start`] with `config/staging.yaml` written.
    pub(crate) async fn start_staging(world: World) -> Harness {
        Harness::start_staging_with(world, fast_options()).await
    }

    /// [`Harness::start_with`] with `config/staging.yaml` written.
    pub(crate) async fn start_staging_with(world: World, options: Options) -> Harness {
        let h = Harness::start_with(world, options).await;
        h.write_config("staging", &staging());
        h
    }

    pub(crate) fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    /// Write `config/<env>.yaml`.
    pub(crate) fn write_config(&self, env: &str, yaml: &str) {
        std::fs::write(self.config_dir().join(format!("{env}.yaml")), yaml).unwrap();
    }

    /// The variables every run gets: the emulator as every endpoint, a
    /// token, fast polling and retries, `NO_COLOR`; then `vars` on top
    /// (a value of [`UNSET`] removes the variable).
    pub(crate) fn env_vars(&self, vars: &[(&str, &str)]) -> Vec<(String, String)> {
        let url = format!("{}/", self.server.url());
        let mut env: Vec<(String, String)> = [
            ("NO_COLOR", "1"),
            ("GOOGLE_OAUTH_ACCESS_TOKEN", TOKEN),
            ("AUTOSRE_DEPLOY_POLL_INTERVAL_MS", "20"),
            ("AUTOSRE_DEPLOY_RETRY_INITIAL_MS", "5"),
            ("CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN", &url),
            ("CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER", &url),
            ("CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM", &url),
            ("CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER", &url),
            ("CLOUDSDK_API_ENDPOINT_OVERRIDES_IAP", &url),
            ("CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE", &url),
            ("CLOUDSDK_API_ENDPOINT_OVERRIDES_ARTIFACTREGISTRY", &url),
            ("CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD", &url),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in vars {
            env.retain(|(name, _)| name != k);
            if *v != UNSET {
                env.push((k.to_string(), v.to_string()));
            }
        }
        env
    }

    /// Run the tool in-process (`autosre_deploy::run`) with the emulator as
    /// every endpoint and `--config-dir` the harness's.
    pub(crate) async fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[]).await
    }

    /// Like [`Harness::run`], with extra (or overriding) environment variables.
    pub(crate) async fn run_with(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let config_dir = self.config_dir().display().to_string();
        let args: Vec<&str> = args
            .iter()
            .copied()
            .chain(["--config-dir", &config_dir])
            .collect();
        let env = self.env_vars(vars).into_iter().collect();
        self.redacted(run_in_process(&args, env).await)
    }

    /// Run the built binary as a separate process, for what needs one (exit
    /// codes of the real process, credentials the auth library reads from
    /// the process environment).
    pub(crate) async fn spawn(&self, args: &[&str]) -> Run {
        self.spawn_with(args, &[]).await
    }

    /// Like [`Harness::spawn`], with extra (or overriding) environment variables.
    pub(crate) async fn spawn_with(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let mut cmd = self.command(env!("CARGO_BIN_EXE_autosre-deploy"), vars);
        cmd.args(args).arg("--config-dir").arg(self.config_dir());
        self.finish(cmd).await
    }

    /// Run the binary on a pseudo-terminal (util-linux `script`), as a person
    /// at a terminal would; stdout and stderr both arrive in `stdout`.
    pub(crate) async fn run_in_terminal(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let line = std::iter::once(env!("CARGO_BIN_EXE_autosre-deploy").to_string())
            .chain(args.iter().map(|a| a.to_string()))
            .chain([
                "--config-dir".to_string(),
                self.config_dir().display().to_string(),
            ])
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(" ");
        let mut cmd = self.command("script", vars);
        cmd.args(["-q", "-e", "-c", &line, "/dev/null"]);
        self.finish(cmd).await
    }

    /// A command with [`Harness::env_vars`], `PATH`, and nothing else from
    /// the environment.
    pub(crate) fn command(&self, program: &str, vars: &[(&str, &str)]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(program);
        cmd.current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.env_vars(vars))
            .stdin(Stdio::null());
        cmd
    }

    /// Wait for `cmd`, and check that no secret payload was printed.
    async fn finish(&self, mut cmd: tokio::process::Command) -> Run {
        let out = cmd.output().await.expect("the command runs");
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            redactions: Vec::new(),
        };
        self.redacted(run.checked())
    }

    fn redacted(&self, mut run: Run) -> Run {
        run.redactions = vec![
            (self.server.url(), "http://[EMULATOR]"),
            (self.dir.path().display().to_string(), "[TMP]"),
        ];
        run
    }

    pub(crate) fn journal(&self) -> Vec<JournalEntry> {
        self.emulator.journal()
    }

    pub(crate) fn writes(&self) -> Vec<JournalEntry> {
        self.journal().into_iter().filter(|e| e.write).collect()
    }

    /// The discovery method ids of the writes, in order.
    pub(crate) fn write_rpcs(&self) -> Vec<String> {
        self.writes().into_iter().map(|e| e.rpc).collect()
    }

    /// The discovery method ids of the rollout writes (Cloud Run's
    /// `services.create`/`services.patch`/...), in order.
    pub(crate) fn rollouts(&self) -> Vec<String> {
        self.write_rpcs()
            .into_iter()
            .filter(|r| r.starts_with("run."))
            .collect()
    }

    /// The IAM policy of `resource`, which must have one.
    #[track_caller]
    pub(crate) fn policy(&self, resource: &str) -> autosre_emulator::Policy {
        self.emulator
            .policy(resource)
            .unwrap_or_else(|| panic!("no policy on {resource}"))
    }

    /// Assert that the service's latest ready revision is `revision` (its
    /// name or the tail of it).
    #[track_caller]
    pub(crate) fn assert_latest_ready(&self, revision: &str) {
        let svc = self.emulator.service(SERVICE).expect("the service");
        assert!(
            svc["latestReadyRevision"]
                .as_str()
                .unwrap()
                .ends_with(revision),
            "{svc}"
        );
    }

    /// How many requests called the discovery method `rpc`.
    pub(crate) fn count(&self, rpc: &str) -> usize {
        self.journal().iter().filter(|e| e.rpc == rpc).count()
    }
}

/// Google applies a new grant in about 2 and up to 7 minutes; the emulator
/// models that as `iam_propagation`. On the manual clock the grants propagate
/// only when a test moves it, so a first deploy, which grants secret access and
/// rolls out at once, has a first revision that cannot read the secrets yet.
pub(crate) const PROPAGATION: std::time::Duration = std::time::Duration::from_secs(120);

/// A harness on the manual clock whose new grants take [`PROPAGATION`] to count
/// for Cloud Run's secret check.
pub(crate) async fn propagating(world: World) -> Harness {
    let options = Options {
        iam_propagation: PROPAGATION,
        ..manual_clock_options()
    };
    Harness::start_staging_with(world, options).await
}

/// Moves the clock past [`PROPAGATION`] when the tool, told its rollout failed,
/// re-reads the service: the grants have propagated by the retry. Armed when the
/// tool first watches the rollout's operation.
pub(crate) fn propagate_after_the_first_rollout(h: &Harness) {
    let emulator = h.emulator.clone();
    h.emulator.before_request("POST", "/operations/", move |_| {
        let clock = emulator.clone();
        emulator.before_request("GET", "/services/autosre", move |_| {
            clock.advance(PROPAGATION)
        });
    });
}

/// A first deploy of `world` ([`RETRY_ARGS`]) whose grants have not propagated
/// for its first rollout and have for the retry.
pub(crate) async fn deploy_retried_once(world: World) -> (Harness, Run) {
    let h = propagating(world).await;
    propagate_after_the_first_rollout(&h);
    let run = h.run(&RETRY_ARGS).await;
    (h, run)
}

/// Whether `policy` binds `member` to `role` (with or without a condition).
pub(crate) fn binds(policy: &autosre_emulator::Policy, role: &str, member: &str) -> bool {
    policy
        .bindings
        .iter()
        .any(|b| b.role == role && b.members.iter().any(|m| m == member))
}

/// A deploy of staging that retries rollouts every 10 ms, for up to 10 s.
pub(crate) const RETRY_ARGS: [&str; 7] = [
    "deploy",
    "--env",
    "staging",
    "--propagation-retry-ms",
    "10",
    "--iam-propagation-timeout",
    "10",
];

/// The longest sequence of requests in which each began after the previous
/// one ended: the number of sequential round trips a run took.
pub(crate) fn chain_depth(j: &[JournalEntry]) -> usize {
    autosre_emulator::critical_chain(j).depth
}
