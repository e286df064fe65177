//! The harness for end-to-end tests: an in-process emulator, a temporary
//! config directory, and the built binary pointed at both.
//!
//! Every run asserts that no secret payload seeded into the emulator appears
//! in the binary's stdout or stderr, so each test also pins the rule that
//! secret values never reach output.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;

pub use autosre_emulator::{Emulator, JournalEntry, Options, Server, VersionState, World};

pub const TOKEN: &str = "test-token";
/// As a value in `run_with`'s variables: remove the variable instead.
pub const UNSET: &str = "\u{0}unset";
/// Seeded as every secret's payload; must never be printed.
pub const PAYLOAD: &[u8] = b"gAAAAA-test-fernet-key-material-do-not-print";
pub const PROJECT: &str = "acme-sre-staging";
pub const NUMBER: u64 = 123_456_789_012;
pub const SA: &str = "autosre-run@acme-sre-staging.iam.gserviceaccount.com";
pub const SERVICE: &str = "projects/acme-sre-staging/locations/us-central1/services/autosre";

/// The repo's own config file.
pub fn repo_config(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config")
        .join(format!("{name}.yaml"));
    std::fs::read_to_string(path).expect("config file")
}

/// The world `config/staging.yaml` deploys into: project, runtime account,
/// and an enabled version of each of its three secrets.
pub fn staging_world() -> autosre_emulator::WorldBuilder {
    let mut b = World::builder()
        .project(PROJECT, NUMBER)
        .service_account(SA)
        .project_binding(PROJECT, "roles/owner", "user:owner@example.com");
    for s in [
        "gemini-api-key",
        "google-client-id",
        "sre-agent-encryption-key",
    ] {
        b = b
            .secret(PROJECT, s)
            .secret_version(PROJECT, s, VersionState::Enabled, PAYLOAD);
    }
    b
}

/// From `grant_permissions.py`, the script `config/example.yaml` replaces: one
/// `gcloud projects add-iam-policy-binding` per role, on the project, for the
/// runtime service account.
pub const SCRIPT_PROJECT_ROLES: [&str; 11] = [
    "roles/cloudtrace.agent",
    "roles/cloudtrace.user",
    "roles/telemetry.writer",
    "roles/logging.viewer",
    "roles/logging.logWriter",
    "roles/monitoring.viewer",
    "roles/monitoring.metricWriter",
    "roles/bigquery.dataViewer",
    "roles/aiplatform.user",
    "roles/secretmanager.secretAccessor",
    "roles/datastore.user",
];

/// From `grant_permissions.py`: granted `roles/iam.serviceAccountUser` on the
/// runtime service account; `{number}` is the project number.
pub const SCRIPT_SERVICE_ACCOUNT_USERS: [&str; 2] = [
    "serviceAccount:service-{number}@gcp-sa-aiplatform.iam.gserviceaccount.com",
    "serviceAccount:service-{number}@gcp-sa-aiplatform-re.iam.gserviceaccount.com",
];

/// The project of `config/example.yaml`.
pub const EXAMPLE_PROJECT: &str = "autosre-example";

/// Cloud Run's default runtime account, which the example (like the scripts) uses.
pub fn default_compute_account(number: u64) -> String {
    format!("{number}-compute@developer.gserviceaccount.com")
}

/// The world `config/example.yaml` deploys into: the project, its default
/// compute account and an enabled version of each secret it references.
pub fn example_world(number: u64) -> autosre_emulator::WorldBuilder {
    let mut b = World::builder()
        .project(EXAMPLE_PROJECT, number)
        .service_account(&default_compute_account(number))
        .project_binding(EXAMPLE_PROJECT, "roles/owner", "user:owner@example.com");
    for s in [
        "gemini-api-key",
        "google-client-id",
        "sre-agent-encryption-key",
    ] {
        b = b.secret(EXAMPLE_PROJECT, s).secret_version(
            EXAMPLE_PROJECT,
            s,
            VersionState::Enabled,
            PAYLOAD,
        );
    }
    b
}

pub struct Harness {
    pub emulator: Emulator,
    pub server: Server,
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

pub fn fast_options() -> Options {
    Options {
        token: Some(TOKEN.to_string()),
        operation_polls: 2,
        ..Options::default()
    }
}

impl Harness {
    pub async fn start(world: World) -> Harness {
        Harness::start_with(world, fast_options()).await
    }

    pub async fn start_with(world: World, options: Options) -> Harness {
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

    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    /// Write `config/<env>.yaml`.
    pub fn write_config(&self, env: &str, yaml: &str) {
        std::fs::write(self.config_dir().join(format!("{env}.yaml")), yaml).unwrap();
    }

    /// Run the binary with the emulator as every endpoint.
    pub async fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[]).await
    }

    /// Like [`Harness::run`], with extra (or overriding) environment variables.
    pub async fn run_with(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let mut cmd = self.command(env!("CARGO_BIN_EXE_autosre-deploy"), vars);
        cmd.args(args).arg("--config-dir").arg(self.config_dir());
        self.finish(cmd).await
    }

    /// Run the binary on a pseudo-terminal (util-linux `script`), as a person
    /// at a terminal would; stdout and stderr both arrive in `stdout`.
    pub async fn run_in_terminal(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
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

    /// A command with the emulator as every endpoint, a token, fast polling,
    /// `NO_COLOR` unless `vars` says otherwise, and nothing else from the
    /// environment.
    pub fn command(&self, program: &str, vars: &[(&str, &str)]) -> tokio::process::Command {
        let url = format!("{}/", self.server.url());
        let mut cmd = tokio::process::Command::new(program);
        cmd.current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .env("GOOGLE_OAUTH_ACCESS_TOKEN", TOKEN)
            .env("AUTOSRE_DEPLOY_POLL_INTERVAL_MS", "20")
            .env("AUTOSRE_DEPLOY_RETRY_INITIAL_MS", "5")
            .env("CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN", &url)
            .env("CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER", &url)
            .env("CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM", &url)
            .env("CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER", &url)
            .stdin(Stdio::null());
        for (k, v) in vars {
            match *v {
                UNSET => cmd.env_remove(k),
                _ => cmd.env(k, v),
            };
        }
        cmd
    }

    /// Wait for `cmd`, and check that no secret payload was printed.
    async fn finish(&self, mut cmd: tokio::process::Command) -> Run {
        let out = cmd.output().await.expect("the command runs");
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        let payload = String::from_utf8_lossy(PAYLOAD);
        assert!(
            !run.all().contains(payload.as_ref()),
            "a secret payload was printed:\n{}",
            run.all()
        );
        run
    }

    pub fn journal(&self) -> Vec<JournalEntry> {
        self.emulator.journal()
    }

    pub fn writes(&self) -> Vec<JournalEntry> {
        self.journal().into_iter().filter(|e| e.write).collect()
    }

    /// The discovery method ids of the writes, in order.
    pub fn write_rpcs(&self) -> Vec<String> {
        self.writes().into_iter().map(|e| e.rpc).collect()
    }
}

/// Replace the port the emulator happened to get, for snapshots.
pub fn redact(text: &str, h: &Harness) -> String {
    text.replace(&h.server.url(), "http://[EMULATOR]")
        .replace(&h.dir.path().display().to_string(), "[TMP]")
}

/// The longest sequence of requests in which each began after the previous
/// one ended: the number of sequential round trips a run took.
pub fn chain_depth(j: &[JournalEntry]) -> usize {
    let mut sorted: Vec<&JournalEntry> = j.iter().collect();
    sorted.sort_by_key(|e| e.started);
    let mut depth = vec![1usize; sorted.len()];
    for i in 0..sorted.len() {
        for k in 0..i {
            if sorted[k].ended <= sorted[i].started {
                depth[i] = depth[i].max(depth[k] + 1);
            }
        }
    }
    depth.into_iter().max().unwrap_or(0)
}
