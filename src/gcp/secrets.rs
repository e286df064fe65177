//! The reads and the one write `secrets status` / `secrets disable` need:
//! a secret (for its version aliases), every version of it, every revision
//! of a service, and `versions.disable`. More `impl Google`.

use google_cloud_run_v2::model::Revision;
use google_cloud_secretmanager_v1::model::{Secret, SecretVersion};

use super::retry::Safety;
use super::{Api, GcpError, Google, found};

impl Google {
    /// The secret's metadata (its `versionAliases`), `None` when absent.
    pub(crate) async fn secret(
        &self,
        project: &str,
        secret: &str,
    ) -> Result<Option<Secret>, GcpError> {
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
        found(r)
    }

    /// Every version of a secret (metadata only, never payloads), every page.
    pub(crate) async fn secret_versions(
        &self,
        project: &str,
        secret: &str,
    ) -> Result<Vec<SecretVersion>, GcpError> {
        let parent = format!("projects/{project}/secrets/{secret}");
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .call(
                    Api::SecretManager,
                    "secrets.versions.list",
                    &parent,
                    Safety::Read,
                    || {
                        self.secrets
                            .list_secret_versions()
                            .set_parent(&parent)
                            .set_page_token(&token)
                            .send()
                    },
                )
                .await?;
            out.extend(page.versions);
            if page.next_page_token.is_empty() {
                return Ok(out);
            }
            token = page.next_page_token;
        }
    }

    /// Disable a version. Repeating it is harmless (a disabled version stays
    /// disabled), so a lost answer may be retried.
    pub(crate) async fn disable_secret_version(
        &self,
        project: &str,
        secret: &str,
        version: &str,
    ) -> Result<SecretVersion, GcpError> {
        let name = format!("projects/{project}/secrets/{secret}/versions/{version}");
        self.call(
            Api::SecretManager,
            "secrets.versions.disable",
            &name,
            Safety::Guarded,
            || self.secrets.disable_secret_version().set_name(&name).send(),
        )
        .await
    }

    /// Every revision of a Cloud Run service, every page.
    pub(crate) async fn revisions(&self, service: &str) -> Result<Vec<Revision>, GcpError> {
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .call(
                    Api::Run,
                    "services.revisions.list",
                    service,
                    Safety::Read,
                    || {
                        self.revisions
                            .list_revisions()
                            .set_parent(service)
                            .set_page_token(&token)
                            .send()
                    },
                )
                .await?;
            out.extend(page.revisions);
            if page.next_page_token.is_empty() {
                return Ok(out);
            }
            token = page.next_page_token;
        }
    }
}
