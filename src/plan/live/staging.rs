//! The reads of a source deploy's staging: whether the staging bucket is
//! there and whose it is, whether the archive is in it already, and whether
//! the image repository is there. What the plan's source steps say (create,
//! or use what is there) comes from these; `apply` still makes each step
//! safe against a change since (a bucket's owner is checked again, an upload
//! is guarded by a generation precondition).

use futures::future::try_join3;

use crate::config::Environment;
use crate::gcp::{GcpError, Google, Kind};
use crate::source::build::{REPOSITORY, SourcePlan};

/// What the staging reads found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Staging {
    /// The staging bucket, by the project number that owns it.
    pub(crate) bucket: Presence<String>,
    /// The archive's object (named after its SHA-256).
    pub(crate) object: Presence<()>,
    pub(crate) repository: Presence<()>,
}

/// Whether a resource is there, as a read found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Presence<T> {
    Present(T),
    Absent,
    /// The read was refused (403).
    Unread,
}

impl<T> Presence<T> {
    fn of(r: Result<Option<T>, GcpError>) -> Result<Presence<T>, GcpError> {
        match r {
            Ok(Some(t)) => Ok(Presence::Present(t)),
            Ok(None) => Ok(Presence::Absent),
            Err(e) if e.is(Kind::PermissionDenied) => Ok(Presence::Unread),
            Err(e) => Err(e),
        }
    }
}

/// The three reads, at once.
pub(super) async fn read(
    google: &Google,
    env: &Environment,
    source: &SourcePlan,
) -> Result<Staging, GcpError> {
    let (bucket, object, repository) = try_join3(
        async { Presence::of(google.bucket_project_number(&source.bucket).await) },
        async {
            let meta = google.object_meta(&source.bucket, &source.object).await;
            Presence::of(meta.map(|m| m.map(|_| ())))
        },
        async {
            let exists = google
                .repository_exists(&env.project, &env.region, REPOSITORY)
                .await;
            Presence::of(exists.map(|e| e.then_some(())))
        },
    )
    .await?;
    Ok(Staging {
        bucket,
        object,
        repository,
    })
}
