//! The only code that talks to Google.
//!
//! [`Google`] owns one client per API, built against injectable endpoints
//! ([`endpoints`]) and credentials ([`credentials`]). Every call goes through
//! [`Google::call`], which bounds each attempt in time, retries what is
//! transient and safe to repeat ([`retry`]), logs each attempt at debug level
//! (`-v`: API, method, resource, status, latency) and turns the client's
//! error into a [`GcpError`] whose [`Kind`] callers branch on. Reads of
//! something that may legitimately be absent return `Option`, so "not found"
//! is data, not an error, everywhere above this module.
//!
//! This file holds the clients, `call` and the reads and IAM policy calls;
//! Cloud Run's writes, their operations and `validateOnly` are in `run.rs`,
//! `testIamPermissions` in `permissions.rs` (both more `impl Google`).

pub(crate) mod credentials;
pub(crate) mod endpoints;
pub(crate) mod error;
pub(crate) mod iam;
pub(crate) mod retry;
pub(crate) mod shared_reads;
pub(crate) mod waits;

use std::future::Future;
use std::time::Instant;

use google_cloud_auth::credentials::Credentials;
use google_cloud_gax::error::Error as GaxError;
use google_cloud_gax::retry_policy::NeverRetry;
use google_cloud_iam_v1::model::{GetPolicyOptions, Policy};
use google_cloud_run_v2::model::Service;
use google_cloud_secretmanager_v1::model::SecretVersion;
use google_cloud_wkt::FieldMask;

pub(crate) use endpoints::{Api, EndpointError, Endpoints};
pub(crate) use error::{GcpError, Kind};
use iam::{POLICY_VERSION, PolicyResource};
pub(crate) use retry::Retry;
use retry::Safety;
pub(crate) use run::Validated;

/// Clients, one per API: Cloud Run (services, revisions, builds), Secret
/// Manager, IAM, Resource Manager, IAP, Cloud Build, Artifact Registry and
/// Cloud Storage; each built on its first call (see [`Lazy`]).
pub(crate) struct Google {
    run: Lazy<google_cloud_run_v2::client::Services>,
    revisions: Lazy<google_cloud_run_v2::client::Revisions>,
    secrets: Lazy<google_cloud_secretmanager_v1::client::SecretManagerService>,
    iam: Lazy<google_cloud_iam_admin_v1::client::Iam>,
    projects: Lazy<google_cloud_resourcemanager_v3::client::Projects>,
    iap: Lazy<google_cloud_iap_v1::client::IdentityAwareProxyAdminService>,
    builds: Lazy<google_cloud_run_v2::client::Builds>,
    cloud_build: Lazy<google_cloud_build_v1::client::CloudBuild>,
    artifacts: Lazy<google_cloud_artifactregistry_v1::client::ArtifactRegistry>,
    /// The Storage JSON API: buckets, objects, uploads (see `source.rs`).
    http: Lazy<reqwest::Client>,
    creds: Credentials,
    endpoints: Endpoints,
    storage_endpoint: String,
    retry: Retry,
    /// The calls in flight (see [`waits`]).
    waits: waits::Waits,
    /// Reads the targets of one run share (see [`shared_reads`]).
    shared: shared_reads::SharedReads,
}

/// A client built on its first use. Each client makes its own HTTP client
/// and TLS verifier (the official crates take no shared one), which parses
/// the CA certificates again (their files are read once: [`preload_roots`]):
/// built up front, the eleven clients held the first request back by all of
/// them, though most runs call only a few APIs. [`Google::call`] builds the
/// client of its operation ([`Google::ready`]) before running the closure that
/// uses it, so the `Deref` below always finds the client built.
pub(crate) struct Lazy<T>(tokio::sync::OnceCell<T>);

impl<T> Lazy<T> {
    fn new() -> Lazy<T> {
        Lazy(tokio::sync::OnceCell::new())
    }

    async fn init<F: Future<Output = Result<T, ConnectError>>>(
        &self,
        build: impl FnOnce() -> F,
    ) -> Result<(), ConnectError> {
        self.0.get_or_try_init(build).await.map(|_| ())
    }
}

impl<T> std::ops::Deref for Lazy<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.0
            .get()
            .expect("Google::call builds the clients of its API before using them")
    }
}

/// Start loading the system's CA certificates on a thread of their own, so
/// that the load runs beside the tool's own start and its first round trips:
/// a TLS verifier asks for them only when it verifies the first server
/// certificate, a round trip after the first connection's first bytes left
/// (rustls-platform-verifier, patched to build its root store then, once per
/// process), and by then the load is done (rustls-native-certs, patched to
/// read the store once per process; both in vendor/). Where the TLS stack
/// asks the OS instead (macOS, Windows, Android), there is nothing to load.
///
/// Once per process: `main` starts it before anything else when the
/// arguments name a command that connects ([`crate::preload`]), and
/// `commands::run` for every command that does (in-process runs included).
pub(crate) fn preload_roots() {
    #[cfg(all(unix, not(target_os = "android"), not(target_vendor = "apple")))]
    {
        static STARTED: std::sync::Once = std::sync::Once::new();
        STARTED.call_once(|| {
            std::thread::spawn(|| drop(rustls_native_certs::load_native_certs()));
        });
    }
}

/// The waits between the polls of an operation that has no long poll (a
/// build, an Artifact Registry repository's creation): a quarter of
/// `interval` first, then half as long again each time, never longer than
/// `interval` (`--poll-interval-ms`). A short operation is seen done soon
/// after it is; a long one is polled no more often than `interval`, and seen
/// done at most `interval` late.
pub(crate) fn poll_waits(
    interval: std::time::Duration,
) -> impl Iterator<Item = std::time::Duration> {
    std::iter::successors(Some(interval / 4), move |d| {
        Some((*d * 3 / 2).min(interval))
    })
}

/// A client could not be built (bad endpoint URL, TLS setup).
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the {api} client: {message}")]
pub(crate) struct ConnectError {
    api: &'static str,
    message: String,
}

macro_rules! build_client {
    ($client:ty, $api:expr, $endpoints:expr, $creds:expr) => {
        <$client>::builder()
            .with_endpoint($endpoints.get($api))
            .with_credentials($creds.clone())
            // Retries are ours (see `retry`): the clients try once.
            .with_retry_policy(NeverRetry)
            .build()
            .await
            .map_err(connect_error($api))?
    };
}

/// A client of `api` that could not be built.
fn connect_error<E: std::fmt::Display>(api: Api) -> impl FnOnce(E) -> ConnectError {
    move |e| ConnectError {
        api: api.short(),
        message: e.to_string(),
    }
}

/// The same IAM call on whichever client owns the resource: the five
/// clients' request builders have the same setters but no common trait.
/// Only one arm runs, so arguments may be moved in each.
macro_rules! iam_call {
    ($self:ident, $r:expr, $name:ident, $safety:expr, $op:literal, $method:ident $(. $setter:ident($arg:expr))*) => {
        match $r {
            PolicyResource::Project { .. } => {
                $self.call(Api::ResourceManager, concat!("projects.", $op), &$name, $safety,
                    || $self.projects.$method().set_resource(&$name) $(.$setter($arg))* .send()).await
            }
            PolicyResource::Secret { .. } => {
                $self.call(Api::SecretManager, concat!("secrets.", $op), &$name, $safety,
                    || $self.secrets.$method().set_resource(&$name) $(.$setter($arg))* .send()).await
            }
            PolicyResource::ServiceAccount { .. } => {
                $self.call(Api::Iam, concat!("serviceAccounts.", $op), &$name, $safety,
                    || $self.iam.$method().set_resource(&$name) $(.$setter($arg))* .send()).await
            }
            PolicyResource::Service { .. } => {
                $self.call(Api::Run, concat!("services.", $op), &$name, $safety,
                    || $self.run.$method().set_resource(&$name) $(.$setter($arg))* .send()).await
            }
            PolicyResource::IapWeb { .. } => {
                $self.call(Api::Iap, concat!("iap.", $op), &$name, $safety,
                    || $self.iap.$method().set_resource(&$name) $(.$setter($arg))* .send()).await
            }
        }
    };
}

mod images;
mod permissions;
mod run;
pub(crate) mod secrets;
pub(crate) mod source;

impl Google {
    /// The clients for `endpoints` with `creds`; none is built yet (see
    /// [`Lazy`]). Returns a `Result` for the errors of building a client,
    /// which now surface at the first call of its API.
    pub(crate) async fn connect(
        endpoints: &Endpoints,
        creds: &Credentials,
        retry: Retry,
    ) -> Result<Google, ConnectError> {
        Ok(Google {
            retry,
            run: Lazy::new(),
            revisions: Lazy::new(),
            secrets: Lazy::new(),
            iam: Lazy::new(),
            projects: Lazy::new(),
            iap: Lazy::new(),
            builds: Lazy::new(),
            cloud_build: Lazy::new(),
            artifacts: Lazy::new(),
            http: Lazy::new(),
            creds: creds.clone(),
            endpoints: endpoints.clone(),
            storage_endpoint: endpoints.get(Api::Storage).to_string(),
            waits: waits::Waits::default(),
            shared: shared_reads::SharedReads::default(),
        })
    }

    /// Build the client that `operation` of `api` uses, once. Cloud Run's
    /// three clients are built apart: most runs list no revisions and submit
    /// no build, and each client built loads the CA certificates again.
    async fn ready(&self, api: Api, operation: &str) -> Result<(), ConnectError> {
        let (endpoints, creds) = (&self.endpoints, &self.creds);
        macro_rules! init {
            ($field:ident, $client:ty) => {
                self.$field
                    .init(|| async { Ok(build_client!($client, api, endpoints, creds)) })
                    .await?
            };
        }
        match api {
            Api::Run if operation.starts_with("services.revisions.") => {
                init!(revisions, google_cloud_run_v2::client::Revisions)
            }
            Api::Run if operation.starts_with("builds.") => {
                init!(builds, google_cloud_run_v2::client::Builds)
            }
            Api::Run => init!(run, google_cloud_run_v2::client::Services),
            Api::SecretManager => {
                init!(
                    secrets,
                    google_cloud_secretmanager_v1::client::SecretManagerService
                )
            }
            Api::Iam => init!(iam, google_cloud_iam_admin_v1::client::Iam),
            Api::ResourceManager => {
                init!(projects, google_cloud_resourcemanager_v3::client::Projects)
            }
            Api::Iap => init!(
                iap,
                google_cloud_iap_v1::client::IdentityAwareProxyAdminService
            ),
            Api::CloudBuild => init!(cloud_build, google_cloud_build_v1::client::CloudBuild),
            Api::ArtifactRegistry => init!(
                artifacts,
                google_cloud_artifactregistry_v1::client::ArtifactRegistry
            ),
            Api::Storage => {
                let timeout = self.retry.attempt_timeout;
                self.http
                    .init(|| async move {
                        reqwest::Client::builder()
                            .timeout(timeout)
                            .build()
                            .map_err(connect_error(Api::Storage))
                    })
                    .await?;
            }
            // Impersonation's token calls are the credentials' own.
            Api::IamCredentials => {}
        }
        Ok(())
    }

    /// The reads the targets of a run share (see [`shared_reads`]).
    pub(crate) fn shared_reads(&self) -> &shared_reads::SharedReads {
        &self.shared
    }

    /// The calls in flight: what a long wait is for.
    pub(crate) fn waits(&self) -> &waits::Waits {
        &self.waits
    }

    /// How failed calls are retried: also the backoff of a read-modify-write
    /// redone after a concurrent change.
    pub(crate) fn retry(&self) -> &Retry {
        &self.retry
    }

    /// Run one API call: each attempt bounded by the attempt timeout, logged,
    /// and retried while transient and safe to repeat (see [`retry`]). The
    /// final error says how many attempts were made.
    async fn call<T, F>(
        &self,
        api: Api,
        operation: &'static str,
        resource: &str,
        safety: Safety,
        send: impl Fn() -> F,
    ) -> Result<T, GcpError>
    where
        F: Future<Output = Result<T, GaxError>>,
    {
        // Boxed: building a client is a large state machine, and every
        // call's future would otherwise carry it.
        Box::pin(self.ready(api, operation))
            .await
            .map_err(|e| GcpError::operation_failed(operation, resource, e.to_string()))?;
        let mut attempt = 0;
        loop {
            let started = Instant::now();
            let waiting = self
                .waits
                .start(format!("{} {operation} `{resource}`", api.short()));
            let result = match tokio::time::timeout(self.retry.attempt_timeout, send()).await {
                Ok(r) => r,
                Err(_) => Err(GaxError::timeout(format!(
                    "no answer within {:?}",
                    self.retry.attempt_timeout
                ))),
            };
            drop(waiting);
            let latency_ms = started.elapsed().as_millis() as u64;
            let e = match result {
                Ok(v) => {
                    tracing::debug!(
                        api = api.short(),
                        method = operation,
                        resource,
                        status = "OK",
                        latency_ms,
                        attempt = attempt + 1,
                        "api call"
                    );
                    return Ok(v);
                }
                Err(e) => e,
            };
            let transience = retry::transience(&e);
            let mut err = GcpError::from_gax(operation, resource, &e);
            tracing::debug!(
                api = api.short(),
                method = operation,
                resource,
                status = err.status_word(),
                latency_ms,
                attempt = attempt + 1,
                "api call"
            );
            attempt += 1;
            if attempt >= self.retry.attempts || !Retry::should_retry(safety, transience) {
                err.attempts = attempt;
                err.transient = transience != retry::Transience::Permanent;
                return Err(err);
            }
            let delay = self.retry.delay(attempt - 1, retry::retry_after(&e));
            tracing::info!(
                method = operation,
                resource,
                status = err.status_word(),
                retry_in_ms = delay.as_millis() as u64,
                "transient error; retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// `projects/{id}` -> its number, e.g. `123456789012`.
    pub(crate) async fn project_number(&self, project: &str) -> Result<String, GcpError> {
        let name = format!("projects/{project}");
        self.shared
            .read(format!("projects.get {name}"), || async {
                let p = self
                    .call(
                        Api::ResourceManager,
                        "projects.get",
                        &name,
                        Safety::Read,
                        || self.projects.get_project().set_name(&name).send(),
                    )
                    .await?;
                Ok(p.name.trim_start_matches("projects/").to_string())
            })
            .await
    }

    /// Whether the service account exists.
    pub(crate) async fn service_account_exists(
        &self,
        project: &str,
        email: &str,
    ) -> Result<bool, GcpError> {
        let name = format!("projects/{project}/serviceAccounts/{email}");
        self.shared
            .read(format!("serviceAccounts.get {name}"), || async {
                let r = self
                    .call(Api::Iam, "serviceAccounts.get", &name, Safety::Read, || {
                        self.iam.get_service_account().set_name(&name).send()
                    })
                    .await;
                found(r).map(|sa| sa.is_some())
            })
            .await
    }

    /// Whether the secret exists.
    pub(crate) async fn secret_exists(
        &self,
        project: &str,
        secret: &str,
    ) -> Result<bool, GcpError> {
        // The same `secrets.get` as [`Google::secret`] (in `secrets.rs`).
        self.secret(project, secret).await.map(|s| s.is_some())
    }

    /// A secret version's metadata (never its payload), `None` when absent.
    pub(crate) async fn secret_version(
        &self,
        project: &str,
        secret: &str,
        version: &str,
    ) -> Result<Option<SecretVersion>, GcpError> {
        let name = format!("projects/{project}/secrets/{secret}/versions/{version}");
        self.shared
            .read(format!("secrets.versions.get {name}"), || async {
                let r = self
                    .call(
                        Api::SecretManager,
                        "secrets.versions.get",
                        &name,
                        Safety::Read,
                        || self.secrets.get_secret_version().set_name(&name).send(),
                    )
                    .await;
                found(r)
            })
            .await
    }

    /// The Cloud Run service, `None` when it does not exist yet.
    pub(crate) async fn service(&self, name: &str) -> Result<Option<Service>, GcpError> {
        let r = self
            .call(Api::Run, "services.get", name, Safety::Read, || {
                self.run.get_service().set_name(name).send()
            })
            .await;
        found(r)
    }

    /// Read a policy at version 3; `None` when the resource does not exist.
    pub(crate) async fn get_policy(&self, r: &PolicyResource) -> Result<Option<Policy>, GcpError> {
        let name = r.name();
        self.shared
            .read(format!("getIamPolicy {name}"), || async {
                let options = GetPolicyOptions::new().set_requested_policy_version(POLICY_VERSION);
                found(iam_call!(
                    self,
                    r,
                    name,
                    Safety::Read,
                    "getIamPolicy",
                    get_iam_policy.set_options(options.clone())
                ))
            })
            .await
    }

    /// Write a policy with the etag it was read with; a stale one comes back
    /// as [`Kind::Aborted`]. A policy without an etag is never written: Google
    /// would apply it unconditionally, over any concurrent change.
    pub(crate) async fn set_policy(
        &self,
        r: &PolicyResource,
        policy: Policy,
    ) -> Result<Policy, GcpError> {
        let name = r.name();
        if policy.etag.is_empty() {
            return Err(GcpError::no_etag("setIamPolicy", &name));
        }
        // Only bindings and etag: auditConfigs are not ours to touch. IAP's
        // SetIamPolicyRequest has no update mask (iap.v1 discovery) and Google
        // refuses an unknown field, so IAP gets none (its default is the same).
        let mask = match r {
            PolicyResource::IapWeb { .. } => None,
            _ => Some(FieldMask::default().set_paths(["bindings", "etag"])),
        };
        // The etag makes a repeat safe: if the first attempt landed, the
        // repeat is refused with ABORTED and the caller re-reads.
        iam_call!(
            self,
            r,
            name,
            Safety::Guarded,
            "setIamPolicy",
            set_iam_policy
                .set_policy(policy.clone())
                .set_or_clear_update_mask(mask.clone())
        )
    }
}

/// NotFound becomes `None`; every other error stays an error.
fn found<T>(r: Result<T, GcpError>) -> Result<Option<T>, GcpError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is(Kind::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn polls_start_at_a_quarter_of_the_interval_and_grow_to_it() {
        let waits: Vec<u128> = super::poll_waits(Duration::from_secs(1))
            .take(7)
            .map(|d| d.as_micros())
            .collect();
        assert_eq!(
            waits,
            [
                250_000, 375_000, 562_500, 843_750, 1_000_000, 1_000_000, 1_000_000
            ]
        );
    }
}
