//! Artifact Registry's answer for an image tag: which version (digest) it
//! names now. More `impl Google`, through the same client, credentials,
//! retries and endpoint override (`CLOUDSDK_API_ENDPOINT_OVERRIDES_ARTIFACTREGISTRY`)
//! as every other call.

use super::retry::Safety;
use super::{Api, GcpError, Google, found};

impl Google {
    /// `projects.locations.repositories.packages.tags.get` of the tag
    /// `name` (`projects/P/locations/L/repositories/R/packages/PKG/tags/T`,
    /// the package id escaped): the tag's `version`, `None` when the tag (or
    /// its repository) does not exist. Needs `artifactregistry.tags.get`
    /// (cloud.google.com/artifact-registry/docs/reference/rest/v1/projects.locations.repositories.packages.tags/get).
    pub(crate) async fn image_tag_version(&self, name: &str) -> Result<Option<String>, GcpError> {
        let r = self
            .call(
                Api::ArtifactRegistry,
                "tags.get",
                name,
                Safety::Read,
                || self.artifacts.get_tag().set_name(name).send(),
            )
            .await;
        found(r).map(|t| t.map(|t| t.version))
    }
}
