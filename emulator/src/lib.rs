//! A local, stateful stand-in for the Google Cloud control plane that `autosre-deploy`
//! talks to: Cloud Run Admin v2, Secret Manager v1, IAM v1 (service accounts), Resource
//! Manager v3 (and v1 project IAM, which gcloud uses), Identity-Aware Proxy v1 policies, IAM
//! Credentials v1 and, for source deploys, Cloud Storage JSON v1, Artifact Registry v1 and
//! Cloud Build v1, served as their real REST shapes on `127.0.0.1` so the official
//! google-cloud-rust clients and the `gcloud` CLI work against it unmodified.
//!
//! Routes, methods, query parameters and field names come from Google's discovery documents
//! (vendored in `emulator/discovery/`); behaviour is modelled from Google's documentation and protos,
//! cited where it is implemented. Tests drive it in process ([`Emulator::serve`]) and shape
//! it with a [`World`], latency, injected [`Fault`]s and [`Emulator::before_request`] hooks;
//! the [`JournalEntry`] list records every request for performance and reliability checks.
//!
//! Module map: `routes` (what is served), `http` (auth, faults, latency), `journal` (every
//! request), `fault` (injected faults), `clock` (the emulator's time), `iam` (allow policies),
//! `authz` (the caller's permissions), `credentials` (IAM Credentials' tokens), `behaviour`
//! (world options for undocumented or project-specific behaviour), `run` (split by concern,
//! see its docs), `secrets`, `service_accounts`, `projects`, `storage`, `registry`, `build`
//! (one per API), `state`/`world` (the estate), `gcloud` (the real gcloud CLI pointed at the
//! emulator), `enums`/`error`/`util` (wire details).

mod authz;
mod behaviour;
mod build;
mod clock;
mod credentials;
mod enums;
mod error;
mod fault;
pub mod gcloud;
mod http;
mod iam;
mod journal;
mod projects;
mod registry;
mod routes;
mod run;
mod secrets;
mod service_accounts;
mod state;
mod storage;
mod util;
mod world;

pub use behaviour::{MissingImageValidation, MissingServiceValidation};
pub use build::{DefaultBuildAccount, SubmitBuild};
pub use clock::Clock;
pub use fault::{Fault, FaultKind, status_for_code};
pub use iam::{Binding, Condition, Policy};
pub use journal::{Api, Chain, JournalEntry, critical_chain};
pub use registry::{PushedImage, digest_for};
pub use routes::{RouteSpec, routes};
pub use run::{ResolvedSecret, Revision};
pub use state::State;
pub use world::{VersionState, World, WorldBuilder, WorldError};

use axum::extract::State as AxState;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How the emulator behaves beyond its world.
#[derive(Debug, Clone)]
pub struct Options {
    /// When set, every request must carry `Authorization: Bearer <token>`; else 401.
    pub token: Option<String>,
    /// Added before every answer.
    pub latency: Duration,
    /// GETs an operation needs before it reports done (1: the first GET sees it done;
    /// 0: operations are done when created).
    pub operation_polls: u32,
    /// How long a new IAM grant takes before Cloud Run's secret check sees it, on `clock`.
    pub iam_propagation: Duration,
    /// The time the emulator's behaviour follows: [`Clock::Real`] (the default, for the
    /// binary) or [`Clock::Manual`] (tests move it with [`Emulator::advance`]).
    pub clock: Clock,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            token: None,
            latency: Duration::ZERO,
            operation_polls: 1,
            iam_propagation: Duration::ZERO,
            clock: Clock::Real,
        }
    }
}

type Hook = Box<dyn FnOnce(&mut State) + Send>;

struct Control {
    latency: Duration,
    faults: Vec<Fault>,
    hooks: Vec<(String, String, Hook)>,
    journal: Vec<JournalEntry>,
    /// `http://127.0.0.1:PORT` of the last server started, for URLs the emulator hands out
    /// (a resumable upload's session URI).
    base_url: String,
}

struct Inner {
    state: Mutex<State>,
    control: Mutex<Control>,
    token: Option<String>,
    /// Real time, for the journal.
    created: Instant,
    clock: clock::SharedClock,
}

/// The emulator: cheap to clone, all clones share one state.
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking hook must not wedge every later request.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Emulator {
    /// Builds the emulator from a world, for tests whose worlds are written in code.
    ///
    /// # Panics
    ///
    /// When the world is inconsistent, i.e. when [`World::check`] refuses it. Programs that
    /// load a world from a file use [`Emulator::try_new`].
    pub fn new(world: World, options: Options) -> Emulator {
        Self::try_new(world, options).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the emulator from a world; fails exactly when [`World::check`] does.
    pub fn try_new(world: World, options: Options) -> Result<Emulator, WorldError> {
        let clock = clock::SharedClock::new(options.clock);
        let state = State::from_world(
            world,
            options.operation_polls,
            options.iam_propagation,
            clock.clone(),
        )?;
        Ok(Emulator {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                control: Mutex::new(Control {
                    latency: options.latency,
                    faults: Vec::new(),
                    hooks: Vec::new(),
                    journal: Vec::new(),
                    base_url: String::new(),
                }),
                token: options.token,
                created: Instant::now(),
                clock,
            }),
        })
    }

    /// Serves on `127.0.0.1` at a free port, on the current tokio runtime.
    pub async fn serve(&self) -> std::io::Result<Server> {
        self.serve_on(0).await
    }

    /// Serves on `127.0.0.1:port` (0 picks a free port).
    pub async fn serve_on(&self, port: u16) -> std::io::Result<Server> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        lock(&self.inner.control).base_url = format!("http://{addr}");
        // Stops the server, and releases requests held by `FaultKind::Hang`.
        let (tx, rx) = tokio::sync::watch::channel(false);
        let app = axum::Router::new()
            .route(
                "/_emulator/journal",
                axum::routing::get(http::journal_endpoint),
            )
            .route("/token", axum::routing::post(http::token_endpoint))
            .fallback({
                let stop = rx.clone();
                move |AxState(emu): AxState<Emulator>, req: axum::extract::Request| {
                    http::handle(emu, stop.clone(), req)
                }
            })
            .with_state(self.clone());
        let task = tokio::spawn(async move {
            let mut rx = rx;
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                })
                .await;
        });
        Ok(Server {
            addr,
            stop: tx,
            task,
        })
    }

    /// Real time since the emulator was created: the time base of the journal's `started`
    /// and `ended`, so that a client can place its own events (a process spawned) among them.
    pub fn elapsed(&self) -> Duration {
        self.inner.created.elapsed()
    }

    pub(crate) fn token(&self) -> Option<&str> {
        self.inner.token.as_deref()
    }

    pub(crate) fn base_url(&self) -> String {
        lock(&self.inner.control).base_url.clone()
    }

    /// The latency added before every answer now.
    pub fn latency(&self) -> Duration {
        lock(&self.inner.control).latency
    }

    pub(crate) fn record(&self, mut entry: JournalEntry) {
        let mut c = lock(&self.inner.control);
        entry.seq = c.journal.len() as u64 + 1;
        c.journal.push(entry);
    }

    pub(crate) fn take_fault(&self, method: &str, path: &str) -> Option<Fault> {
        let mut c = lock(&self.inner.control);
        let f = c.faults.iter_mut().find(|f| f.matches(method, path))?;
        f.times -= 1;
        Some(f.clone())
    }

    /// Runs the first hook registered for this request, if any: hooks with
    /// the same match run on successive requests, in the order registered
    /// (three hooks, three concurrent writers, one per write).
    pub(crate) fn run_hooks(&self, method: &str, path: &str) {
        let hook = {
            let mut c = lock(&self.inner.control);
            c.hooks
                .iter()
                .position(|(m, p, _)| m.eq_ignore_ascii_case(method) && path.contains(p.as_str()))
                .map(|i| c.hooks.remove(i).2)
        };
        if let Some(h) = hook {
            self.with_state(h);
        }
    }

    /// Moves the emulator clock forward by `by` (with [`Clock::Manual`], the only way it
    /// moves): a grant made before is seen by IAM once `iam_propagation` has passed.
    pub fn advance(&self, by: Duration) {
        self.inner.clock.advance(by);
    }

    /// Now on the emulator clock, as time since the emulator was created.
    pub fn now(&self) -> Duration {
        self.inner.clock.now()
    }

    /// Every request answered so far, in arrival order.
    pub fn journal(&self) -> Vec<JournalEntry> {
        lock(&self.inner.control).journal.clone()
    }

    pub fn clear_journal(&self) {
        lock(&self.inner.control).journal.clear();
    }

    pub fn set_latency(&self, latency: Duration) {
        lock(&self.inner.control).latency = latency;
    }

    /// Answers the next `fault.times` matching requests as `fault.kind` says; faults are
    /// tried in the order injected.
    pub fn inject_fault(&self, fault: Fault) {
        lock(&self.inner.control).faults.push(fault);
    }

    /// How many GETs a new operation needs before it reports done; `u32::MAX` means it
    /// never finishes (neither by polling nor by `operations.wait`).
    pub fn set_operation_polls(&self, polls: u32) {
        self.with_state(|st| st.set_operation_polls(polls));
    }

    /// How long a Cloud Build build runs on the emulator clock before a poll can see it
    /// done (see [`State::set_build_duration`]).
    pub fn set_build_duration(&self, duration: Duration) {
        self.with_state(|st| st.set_build_duration(duration));
    }

    /// Runs `hook` once, just before the first request whose method is `method` and whose
    /// path contains `path_contains` is handled (e.g. to play a concurrent writer). Hooks
    /// registered for the same match run on successive such requests, in order.
    pub fn before_request(
        &self,
        method: &str,
        path_contains: &str,
        hook: impl FnOnce(&mut State) + Send + 'static,
    ) {
        lock(&self.inner.control).hooks.push((
            method.to_string(),
            path_contains.to_string(),
            Box::new(hook),
        ));
    }

    /// Runs `f` with the state locked.
    pub fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut lock(&self.inner.state))
    }

    /// From now on, every new revision of the services whose name
    /// (`projects/P/locations/R/services/S`) contains `service_contains` fails with this
    /// run.v2 `CommonReason` name and message (as the world's `failRevisions` with `only`):
    /// one region's rollout fails while another's succeeds.
    pub fn fail_revisions_of(&self, service_contains: &str, reason: &str, message: &str) {
        self.with_state(|st| {
            st.behaviour.fail_revisions = Some(behaviour::FailRevisions {
                reason: reason.to_string(),
                message: message.to_string(),
                only: Some(service_contains.to_string()),
            })
        });
    }

    /// The stored policy of a resource such as `projects/acme`,
    /// `projects/acme/secrets/x`, `projects/acme/serviceAccounts/e@x` or
    /// `projects/acme/locations/us-central1/services/s`; `None` if it does not exist.
    pub fn policy(&self, resource: &str) -> Option<Policy> {
        self.with_state(|st| st.policy(resource))
    }

    /// A Cloud Run service by full name, as Google returns it (enum names).
    pub fn service(&self, name: &str) -> Option<serde_json::Value> {
        self.with_state(|st| run::service_json(st, name))
    }

    /// The world's caller (an email): whom requests with the emulator's own token act as.
    pub fn caller(&self) -> String {
        self.with_state(|st| st.caller.clone())
    }

    /// The bytes of Cloud Storage object `name` in `bucket`, if it exists.
    pub fn object(&self, bucket: &str, name: &str) -> Option<Vec<u8>> {
        self.with_state(|st| storage::object_bytes(st, bucket, name))
    }

    /// The names of the objects in `bucket`, sorted (empty when it does not exist).
    pub fn objects(&self, bucket: &str) -> Vec<String> {
        self.with_state(|st| storage::object_names(st, bucket))
    }

    /// The images builds pushed to Artifact Registry repository `name`
    /// (`projects/P/locations/L/repositories/R`), oldest first.
    pub fn images(&self, repository: &str) -> Vec<PushedImage> {
        self.with_state(|st| registry::images(st, repository))
    }

    /// Cloud Build build `id` as builds.get answers it (enum names), without polling it.
    pub fn build(&self, id: &str) -> Option<serde_json::Value> {
        self.with_state(|st| build::build_json(st, id))
    }

    /// A service's revisions, oldest first.
    pub fn revisions(&self, service_name: &str) -> Vec<Revision> {
        self.with_state(|st| run::revisions(st, service_name))
    }

    /// A secret by project id and secret id, as `secrets.get` returns it
    /// (replication, labels, ...); `None` if it does not exist.
    pub fn secret(&self, project_id: &str, secret_id: &str) -> Option<serde_json::Value> {
        self.with_state(|st| {
            let number = st.project(project_id)?.number;
            let s = st
                .secrets
                .get(&format!("projects/{project_id}/secrets/{secret_id}"))?;
            Some(secrets::secret_json(number, s))
        })
    }

    /// The payloads of a secret's versions, oldest first: for tests that
    /// check what was stored and that it was never printed.
    pub fn secret_payloads(&self, project_id: &str, secret_id: &str) -> Vec<Vec<u8>> {
        self.with_state(|st| {
            st.secrets
                .get(&format!("projects/{project_id}/secrets/{secret_id}"))
                .map(|s| s.versions.iter().map(|v| v.payload.0.clone()).collect())
                .unwrap_or_default()
        })
    }
}

/// A running HTTP server; dropping it leaves the server running until the runtime ends.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections and waits for the server task.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Waits until the server stops (used by the binary, which serves until killed).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}
