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

pub(crate) mod credentials;
pub(crate) mod endpoints;
pub(crate) mod error;
pub(crate) mod iam;
pub(crate) mod retry;

use std::future::Future;
use std::time::Instant;

use google_cloud_auth::credentials::Credentials;
use google_cloud_gax::error::Error as GaxError;
use google_cloud_gax::retry_policy::NeverRetry;
use google_cloud_iam_v1::model::{GetPolicyOptions, Policy};
use google_cloud_longrunning::model::Operation;
use google_cloud_run_v2::model::Service;
use google_cloud_secretmanager_v1::model::SecretVersion;
use google_cloud_wkt::FieldMask;

pub(crate) use endpoints::{Api, Endpoints};
pub(crate) use error::{GcpError, Kind};
use iam::{POLICY_VERSION, PolicyResource};
pub(crate) use retry::Retry;
use retry::Safety;

/// Connected clients for the four APIs.
pub(crate) struct Google {
    run: google_cloud_run_v2::client::Services,
    secrets: google_cloud_secretmanager_v1::client::SecretManagerService,
    iam: google_cloud_iam_admin_v1::client::Iam,
    projects: google_cloud_resourcemanager_v3::client::Projects,
    retry: Retry,
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
            .map_err(|e| ConnectError {
                api: $api.short(),
                message: e.to_string(),
            })?
    };
}

/// The same IAM call on whichever client owns the resource: the four
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
        }
    };
}

mod permissions;

impl Google {
    pub(crate) async fn connect(
        endpoints: &Endpoints,
        creds: &Credentials,
        retry: Retry,
    ) -> Result<Google, ConnectError> {
        Ok(Google {
            retry,
            run: build_client!(
                google_cloud_run_v2::client::Services,
                Api::Run,
                endpoints,
                creds
            ),
            secrets: build_client!(
                google_cloud_secretmanager_v1::client::SecretManagerService,
                Api::SecretManager,
                endpoints,
                creds
            ),
            iam: build_client!(
                google_cloud_iam_admin_v1::client::Iam,
                Api::Iam,
                endpoints,
                creds
            ),
            projects: build_client!(
                google_cloud_resourcemanager_v3::client::Projects,
                Api::ResourceManager,
                endpoints,
                creds
            ),
        })
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
        let mut attempt = 0;
        loop {
            let started = Instant::now();
            let result = match tokio::time::timeout(self.retry.attempt_timeout, send()).await {
                Ok(r) => r,
                Err(_) => Err(GaxError::timeout(format!(
                    "no answer within {:?}",
                    self.retry.attempt_timeout
                ))),
            };
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
    }

    /// Whether the service account exists.
    pub(crate) async fn service_account_exists(
        &self,
        project: &str,
        email: &str,
    ) -> Result<bool, GcpError> {
        let name = format!("projects/{project}/serviceAccounts/{email}");
        let r = self
            .call(Api::Iam, "serviceAccounts.get", &name, Safety::Read, || {
                self.iam.get_service_account().set_name(&name).send()
            })
            .await;
        found(r).map(|sa| sa.is_some())
    }

    /// Whether the secret exists.
    pub(crate) async fn secret_exists(
        &self,
        project: &str,
        secret: &str,
    ) -> Result<bool, GcpError> {
        let name = format!("projects/{project}/secrets/{secret}");
        let r = self
            .call(
                Api::SecretManager,
                "secrets.get",
                &name,
                Safety::Read,
                || self.secrets.get_secret().set_name(&name).send(),
            )
            .await;
        found(r).map(|s| s.is_some())
    }

    /// A secret version's metadata (never its payload), `None` when absent.
    pub(crate) async fn secret_version(
        &self,
        project: &str,
        secret: &str,
        version: &str,
    ) -> Result<Option<SecretVersion>, GcpError> {
        let name = format!("projects/{project}/secrets/{secret}/versions/{version}");
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
        let options = GetPolicyOptions::new().set_requested_policy_version(POLICY_VERSION);
        found(iam_call!(
            self,
            r,
            name,
            Safety::Read,
            "getIamPolicy",
            get_iam_policy.set_options(options.clone())
        ))
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
        // Only bindings and etag: auditConfigs are not ours to touch.
        let mask = FieldMask::default().set_paths(["bindings", "etag"]);
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
                .set_update_mask(mask.clone())
        )
    }

    /// Create the service (`services.create`): refused with ALREADY_EXISTS
    /// when someone else created it since the plan. Returns the operation.
    pub(crate) async fn create_service(
        &self,
        parent: &str,
        id: &str,
        service: Service,
    ) -> Result<Operation, GcpError> {
        let name = format!("{parent}/services/{id}");
        // A create that may have landed is not repeated (a repeat would be
        // refused as ALREADY_EXISTS and misreported).
        self.call(
            Api::Run,
            "services.create",
            &name,
            Safety::Unguarded,
            || {
                self.run
                    .create_service()
                    .set_parent(parent)
                    .set_service_id(id)
                    .set_service(service.clone())
                    .send()
            },
        )
        .await
    }

    /// Update the service (`services.patch`) with the etag it was read with,
    /// so a concurrent change is refused, never overwritten. Returns the
    /// operation.
    pub(crate) async fn update_service(&self, service: Service) -> Result<Operation, GcpError> {
        let name = service.name.clone();
        self.call(Api::Run, "services.patch", &name, Safety::Guarded, || {
            self.run
                .update_service()
                .set_service(service.clone())
                .send()
        })
        .await
    }

    /// One read of a long-running operation. With `wait`, Cloud Run's
    /// `operations.wait` holds the answer until the operation is done or
    /// `wait` passes (it "may return early"; run.v2 discovery), so readiness
    /// is seen when it happens; without, a plain `operations.get`.
    pub(crate) async fn operation(
        &self,
        name: &str,
        wait: Option<std::time::Duration>,
    ) -> Result<Operation, GcpError> {
        match wait {
            Some(timeout) => {
                let timeout = google_cloud_wkt::Duration::clamp(
                    timeout.as_secs() as i64,
                    timeout.subsec_nanos() as i32,
                );
                self.call(Api::Run, "operations.wait", name, Safety::Read, || {
                    self.run
                        .wait_operation()
                        .set_name(name)
                        .set_timeout(timeout)
                        .send()
                })
                .await
            }
            None => {
                self.call(Api::Run, "operations.get", name, Safety::Read, || {
                    self.run.get_operation().set_name(name).send()
                })
                .await
            }
        }
    }

    /// Ask Cloud Run to validate `service` as a create-or-update without
    /// persisting anything (`validateOnly=true`: "the request should be
    /// validated and default values populated, without persisting the request
    /// or updating any resources", run.v2 discovery, services.patch).
    ///
    /// Google documents neither what this answers for a service that does
    /// not exist yet nor whether it checks secret access, so every answer is
    /// data ([`Validated`]), and only a failure to ask at all is an error.
    pub(crate) async fn validate_service(&self, service: Service) -> Result<Validated, GcpError> {
        use google_cloud_longrunning::model::operation::Result as OpResult;
        /// Reads of an operation that is not done yet, each a long poll.
        const POLLS: u32 = 3;
        let name = service.name.clone();
        let sent = self
            .call(
                Api::Run,
                "services.patch(validateOnly)",
                &name,
                Safety::Read,
                || {
                    self.run
                        .update_service()
                        .set_service(service.clone())
                        .set_allow_missing(true)
                        .set_validate_only(true)
                        .send()
                },
            )
            .await;
        let mut op = match sent {
            Ok(op) => op,
            // The request itself refused: the service as sent is invalid.
            Err(e) if e.is(Kind::InvalidArgument) || e.is(Kind::FailedPrecondition) => {
                return Ok(Validated::Refused(e.message));
            }
            Err(e) if e.is(Kind::NotFound) || e.is(Kind::PermissionDenied) => {
                return Ok(Validated::NoVerdict(e.to_string()));
            }
            Err(e) => return Err(e),
        };
        for _ in 0..POLLS {
            if op.done {
                break;
            }
            op = match self
                .operation(&op.name, Some(std::time::Duration::from_secs(5)))
                .await
            {
                Ok(next) => next,
                Err(e) => return Ok(Validated::NoVerdict(e.to_string())),
            };
        }
        Ok(match (op.done, op.result) {
            (false, _) => Validated::NoVerdict(format!(
                "the validation operation `{}` did not finish",
                op.name
            )),
            // The checks Cloud Run makes when it rolls out, run ahead of time.
            (true, Some(OpResult::Error(status))) => Validated::RolloutCheckFailed {
                code: status.code,
                message: status.message,
            },
            (true, _) => Validated::Accepted,
        })
    }
}

/// What Cloud Run said to `validateOnly`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Validated {
    Accepted,
    /// The request was refused (INVALID_ARGUMENT, FAILED_PRECONDITION): the
    /// service as sent is not valid.
    Refused(String),
    /// Accepted as a request, but the operation failed: a check Cloud Run
    /// makes at rollout (such as secret access), with its `google.rpc.Code`.
    RolloutCheckFailed {
        code: i32,
        message: String,
    },
    /// Cloud Run could not validate it (404, 403, an operation that did not
    /// finish): not a verdict on the service.
    NoVerdict(String),
}

/// NotFound becomes `None`; every other error stays an error.
fn found<T>(r: Result<T, GcpError>) -> Result<Option<T>, GcpError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is(Kind::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}
