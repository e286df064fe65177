//! The only code that talks to Google.
//!
//! [`Google`] owns one client per API, built against injectable endpoints
//! ([`endpoints`]) and credentials ([`credentials`]). Every call goes through
//! [`Google::call`], which logs it at debug level (`-v`: API, method,
//! resource, status, latency) and turns the client's error into a
//! [`GcpError`] whose [`Kind`] callers branch on. Reads of something that may
//! legitimately be absent return `Option`, so "not found" is data, not an
//! error, everywhere above this module.

pub(crate) mod credentials;
pub(crate) mod endpoints;
pub(crate) mod error;
pub(crate) mod iam;

use std::future::Future;
use std::time::Instant;

use google_cloud_auth::credentials::Credentials;
use google_cloud_gax::error::Error as GaxError;
use google_cloud_gax::retry_policy::{Aip194Strict, RetryPolicyExt};
use google_cloud_iam_v1::model::{GetPolicyOptions, Policy};
use google_cloud_run_v2::model::Service;
use google_cloud_secretmanager_v1::model::SecretVersion;
use google_cloud_wkt::FieldMask;

pub(crate) use endpoints::{Api, Endpoints};
pub(crate) use error::{GcpError, Kind};
use iam::{POLICY_VERSION, PolicyResource};

/// Connected clients for the four APIs.
pub(crate) struct Google {
    run: google_cloud_run_v2::client::Services,
    secrets: google_cloud_secretmanager_v1::client::SecretManagerService,
    iam: google_cloud_iam_admin_v1::client::Iam,
    projects: google_cloud_resourcemanager_v3::client::Projects,
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
            // Reads and idempotent calls are retried on UNAVAILABLE and the
            // like (AIP-194); setIamPolicy is not idempotent and is retried by
            // our own read-modify-write loop instead.
            .with_retry_policy(Aip194Strict.with_attempt_limit(4))
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
    ($self:ident, $r:expr, $name:ident, $op:literal, $method:ident $(. $setter:ident($arg:expr))*) => {
        match $r {
            PolicyResource::Project { .. } => {
                let fut = $self.projects.$method().set_resource(&$name) $(.$setter($arg))* .send();
                $self.call(Api::ResourceManager, concat!("projects.", $op), &$name, fut).await
            }
            PolicyResource::Secret { .. } => {
                let fut = $self.secrets.$method().set_resource(&$name) $(.$setter($arg))* .send();
                $self.call(Api::SecretManager, concat!("secrets.", $op), &$name, fut).await
            }
            PolicyResource::ServiceAccount { .. } => {
                let fut = $self.iam.$method().set_resource(&$name) $(.$setter($arg))* .send();
                $self.call(Api::Iam, concat!("serviceAccounts.", $op), &$name, fut).await
            }
            PolicyResource::Service { .. } => {
                let fut = $self.run.$method().set_resource(&$name) $(.$setter($arg))* .send();
                $self.call(Api::Run, concat!("services.", $op), &$name, fut).await
            }
        }
    };
}

impl Google {
    pub(crate) async fn connect(
        endpoints: &Endpoints,
        creds: &Credentials,
    ) -> Result<Google, ConnectError> {
        Ok(Google {
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

    /// Run one API call, log it, and classify its error.
    async fn call<T>(
        &self,
        api: Api,
        operation: &'static str,
        resource: &str,
        fut: impl Future<Output = Result<T, GaxError>>,
    ) -> Result<T, GcpError> {
        let started = Instant::now();
        let result = fut.await;
        let latency_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(v) => {
                tracing::debug!(
                    api = api.short(),
                    method = operation,
                    resource,
                    status = "OK",
                    latency_ms,
                    "api call"
                );
                Ok(v)
            }
            Err(e) => {
                let err = GcpError::from_gax(operation, resource, &e);
                tracing::debug!(
                    api = api.short(),
                    method = operation,
                    resource,
                    status = err.status_word(),
                    latency_ms,
                    "api call"
                );
                Err(err)
            }
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
                self.projects.get_project().set_name(&name).send(),
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
            .call(
                Api::Iam,
                "serviceAccounts.get",
                &name,
                self.iam.get_service_account().set_name(&name).send(),
            )
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
                self.secrets.get_secret().set_name(&name).send(),
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
                self.secrets.get_secret_version().set_name(&name).send(),
            )
            .await;
        found(r)
    }

    /// The Cloud Run service, `None` when it does not exist yet.
    pub(crate) async fn service(&self, name: &str) -> Result<Option<Service>, GcpError> {
        let r = self
            .call(
                Api::Run,
                "services.get",
                name,
                self.run.get_service().set_name(name).send(),
            )
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
            "getIamPolicy",
            get_iam_policy.set_options(options)
        ))
    }

    /// Write a policy. The caller sets the etag it read; a stale one comes
    /// back as [`Kind::Aborted`].
    pub(crate) async fn set_policy(
        &self,
        r: &PolicyResource,
        policy: Policy,
    ) -> Result<Policy, GcpError> {
        let name = r.name();
        // Only bindings and etag: auditConfigs are not ours to touch.
        let mask = FieldMask::default().set_paths(["bindings", "etag"]);
        iam_call!(
            self,
            r,
            name,
            "setIamPolicy",
            set_iam_policy.set_policy(policy).set_update_mask(mask)
        )
    }

    /// Start a create-or-update of the service (`PATCH` with
    /// `allowMissing=true`), or only validate it when `validate_only`.
    /// Returns a poller over the long-running operation.
    pub(crate) fn upsert_service(
        &self,
        service: Service,
        validate_only: bool,
    ) -> impl google_cloud_lro::Poller<Service, Service> + use<> {
        self.run
            .update_service()
            .set_service(service)
            .set_allow_missing(true)
            .set_validate_only(validate_only)
            .poller()
    }

    /// Ask Cloud Run to validate `service` as a create-or-update without
    /// persisting anything (`validateOnly=true`: "the request should be
    /// validated and default values populated, without persisting the request
    /// or updating any resources", run.v2 discovery, services.patch). `Ok(None)`
    /// when it would be accepted, `Ok(Some(reason))` when Cloud Run rejects it.
    pub(crate) async fn validate_service(
        &self,
        service: Service,
    ) -> Result<Option<String>, GcpError> {
        use google_cloud_longrunning::model::operation::Result as OpResult;
        let name = service.name.clone();
        let r = self
            .call(
                Api::Run,
                "services.patch(validateOnly)",
                &name,
                self.run
                    .update_service()
                    .set_service(service)
                    .set_allow_missing(true)
                    .set_validate_only(true)
                    .send(),
            )
            .await;
        match r {
            Ok(op) => Ok(match op.result {
                Some(OpResult::Error(status)) => Some(status.message),
                _ => None,
            }),
            Err(e) if e.is(Kind::InvalidArgument) || e.is(Kind::FailedPrecondition) => {
                Ok(Some(e.message))
            }
            Err(e) => Err(e),
        }
    }

    /// Log one poll of a long-running operation the same way as a call.
    pub(crate) fn log_poll(&self, resource: &str, status: &str, latency_ms: u64) {
        tracing::debug!(
            api = Api::Run.short(),
            method = "operations.get",
            resource,
            status,
            latency_ms,
            "api call"
        );
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
