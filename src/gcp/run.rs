//! Cloud Run's writes and their operations: create and update a service,
//! follow the long-running operation they return, and ask Cloud Run to
//! validate a service without persisting it.
//!
//! An `impl Google` block of its own because these calls share what reads
//! and IAM calls do not: a long-running `Operation`, and a retry safety that
//! depends on whether a repeat could do a write twice (see `retry::Safety`).
//! Every call still goes through [`Google::call`].

use google_cloud_longrunning::model::Operation;
use google_cloud_run_v2::model::Service;

use super::retry::Safety;
use super::{Api, GcpError, Google, Kind};

impl Google {
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
            Err(e) if e.is(Kind::NotFound) => return Ok(Validated::NotFound(e.to_string())),
            Err(e) if e.is(Kind::PermissionDenied) => {
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
    /// 404 NOT_FOUND: the service (validateOnly with allowMissing on a
    /// service not created yet) or something it names, such as an image
    /// not built yet; not a verdict on the service.
    NotFound(String),
    /// Cloud Run could not validate it (403, an operation that did not
    /// finish): not a verdict on the service.
    NoVerdict(String),
}
