//! Step 0 of a source deploy, before any grant: the plan's source steps (the
//! staging bucket, the upload, the repository, the build), made in order.
//! What each came to is recorded, also when one fails, so that the outcome
//! says what was written before the failure. The rollout of the built digest
//! follows (see `commands/deploy.rs`: the plan is computed again for the
//! digest, since Cloud Run validates the service with the image it runs).

use std::time::Duration;

use crate::config::Environment;
use crate::error::Error;
use crate::gcp::Google;
use crate::printer::Printer;
use crate::source::build::{BuildRecord, SourcePlan};

/// Make `source`'s steps with `archive`; the image by digest, and the record
/// of what was written either way.
pub(crate) async fn build(
    google: &Google,
    env: &Environment,
    printer: &Printer,
    source: &SourcePlan,
    archive: Vec<u8>,
    project_number: Option<&str>,
    poll: Duration,
) -> (BuildRecord, Result<String, Error>) {
    let mut record = BuildRecord::default();
    // Boxed: the build's state machine is large, and the run's future lives
    // on the caller's stack.
    let image = Box::pin(crate::source::build::build(
        google,
        env,
        printer,
        source,
        archive,
        project_number,
        poll,
        &mut record,
    ))
    .await;
    (record, image)
}
