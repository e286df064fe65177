//! The reads a plan makes of a source deploy's staging: whether the staging
//! bucket is there and whose it is, and whether the image repository is.

use super::super::retry::Safety;
use super::super::{Api, GcpError, Google, found};

impl Google {
    /// The project number that owns `bucket` (storage.buckets.get,
    /// `projectNumber`; empty when the answer has none), `None` when the
    /// bucket does not exist: the plan's read of the staging bucket.
    pub(crate) async fn bucket_project_number(
        &self,
        bucket: &str,
    ) -> Result<Option<String>, GcpError> {
        Ok(self.bucket(bucket).await?.map(|b| {
            b.get("projectNumber")
                .and_then(|n| n.as_str())
                .unwrap_or_default()
                .to_string()
        }))
    }

    /// Whether the repository exists (repositories.get).
    pub(crate) async fn repository_exists(
        &self,
        project: &str,
        location: &str,
        repository: &str,
    ) -> Result<bool, GcpError> {
        let name = format!("projects/{project}/locations/{location}/repositories/{repository}");
        let got = self
            .call(
                Api::ArtifactRegistry,
                "repositories.get",
                &name,
                Safety::Read,
                || self.artifacts.get_repository().set_name(&name).send(),
            )
            .await;
        Ok(found(got)?.is_some())
    }
}
