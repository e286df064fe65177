//! `testIamPermissions`: which of the permissions a plan needs the caller
//! holds on one resource.
//!
//! Each of the four APIs answers with "the subset of the requested permissions
//! that the caller holds" (run.v2, secretmanager.v1, iam.v1 and
//! cloudresourcemanager.v3 discovery documents, `TestIamPermissionsResponse`),
//! never with wildcards, and needs no permission of its own. A permission that
//! does not fit the resource is refused with 400 (a project cannot be asked
//! for `resourcemanager.projects.create`), so callers ask each resource only
//! for what can be granted on it.

use super::iam::PolicyResource;
use super::retry::Safety;
use super::{Api, GcpError, Google};

impl Google {
    /// The subset of `permissions` the caller holds on `r`.
    pub(crate) async fn test_permissions(
        &self,
        r: &PolicyResource,
        permissions: &[String],
    ) -> Result<Vec<String>, GcpError> {
        let name = r.name();
        let key = format!("testIamPermissions {name} {}", permissions.join(","));
        self.shared_reads()
            .read(key, || async {
                let response = iam_call!(
                    self,
                    r,
                    name,
                    Safety::Read,
                    "testIamPermissions",
                    test_iam_permissions.set_permissions(permissions.iter().cloned())
                )?;
                Ok(response.permissions)
            })
            .await
    }
}
