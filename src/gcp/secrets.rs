//! Secret Manager beyond the reads of a plan, and the revisions that read
//! secrets: what `secrets status` / `secrets disable` need (a secret for its
//! version aliases, every version, every revision of a service,
//! `versions.disable`) and what the `key` commands need (payload access,
//! create a secret, add a version). More `impl Google`.
//!
//! A payload is held only as a [`Payload`], whose `Debug` shows its length,
//! never its bytes; nothing here logs one (`call` logs method, resource and
//! status only).

use google_cloud_run_v2::model::Revision;
use google_cloud_secretmanager_v1::model::replication::user_managed::Replica;
use google_cloud_secretmanager_v1::model::replication::{Automatic, UserManaged};
use google_cloud_secretmanager_v1::model::{Replication, Secret, SecretPayload, SecretVersion};

use super::retry::Safety;
use super::{Api, GcpError, Google, found};

/// A secret version's payload as Secret Manager returned it.
pub(crate) struct Payload {
    /// The version's resource name (`latest` and aliases resolved).
    pub(crate) name: String,
    pub(crate) data: bytes::Bytes,
    /// `payload.dataCrc32c`, when Secret Manager sent it.
    pub(crate) data_crc32c: Option<i64>,
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payload")
            .field("name", &self.name)
            .field("data", &format_args!("({} bytes)", self.data.len()))
            .field("data_crc32c", &self.data_crc32c)
            .finish()
    }
}

impl Google {
    /// The secret's metadata (its `versionAliases`), `None` when absent.
    pub(crate) async fn secret(
        &self,
        project: &str,
        secret: &str,
    ) -> Result<Option<Secret>, GcpError> {
        let name = format!("projects/{project}/secrets/{secret}");
        self.shared_reads()
            .read(format!("secrets.get {name}"), || async {
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
            })
            .await
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

    /// Every Cloud Run service of `project` in `region`, every page
    /// (run.v2 `services.list`, parent `projects/P/locations/R`).
    pub(crate) async fn services(
        &self,
        project: &str,
        region: &str,
    ) -> Result<Vec<google_cloud_run_v2::model::Service>, GcpError> {
        let parent = format!("projects/{project}/locations/{region}");
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .call(Api::Run, "services.list", &parent, Safety::Read, || {
                    self.run
                        .list_services()
                        .set_parent(&parent)
                        .set_page_token(&token)
                        .send()
                })
                .await?;
            out.extend(page.services);
            if page.next_page_token.is_empty() {
                return Ok(out);
            }
            token = page.next_page_token;
        }
    }

    /// The payload of `version` (a number, `latest` or an alias).
    pub(crate) async fn access_secret_version(
        &self,
        project: &str,
        secret: &str,
        version: &str,
    ) -> Result<Payload, GcpError> {
        let name = format!("projects/{project}/secrets/{secret}/versions/{version}");
        let r = self
            .call(
                Api::SecretManager,
                "secrets.versions.access",
                &name,
                Safety::Read,
                || self.secrets.access_secret_version().set_name(&name).send(),
            )
            .await?;
        let payload = r.payload.unwrap_or_default();
        Ok(Payload {
            name: r.name,
            data: payload.data,
            data_crc32c: payload.data_crc32c,
        })
    }

    /// Create a secret with no versions: automatic replication, or
    /// user-managed in `locations` when given; `labels` on it.
    pub(crate) async fn create_secret(
        &self,
        project: &str,
        secret: &str,
        locations: &[String],
        labels: &[(&str, &str)],
    ) -> Result<Secret, GcpError> {
        let parent = format!("projects/{project}");
        let resource = format!("{parent}/secrets/{secret}");
        let replication = match locations.is_empty() {
            true => Replication::new().set_automatic(Automatic::new()),
            false => Replication::new().set_user_managed(
                UserManaged::new()
                    .set_replicas(locations.iter().map(|l| Replica::new().set_location(l))),
            ),
        };
        let body = Secret::new()
            .set_replication(replication)
            .set_labels(labels.iter().map(|(k, v)| (*k, *v)));
        // A repeat of a create that landed is refused (ALREADY_EXISTS), so
        // it is retried only when the first cannot have been processed.
        self.call(
            Api::SecretManager,
            "secrets.create",
            &resource,
            Safety::Unguarded,
            || {
                self.secrets
                    .create_secret()
                    .set_parent(&parent)
                    .set_secret_id(secret)
                    .set_secret(body.clone())
                    .send()
            },
        )
        .await
    }

    /// Add a version holding `data`, with its CRC32C so that Secret Manager
    /// verifies what it stores. A repeat could add a second version, so it is
    /// retried only when the first cannot have been processed.
    pub(crate) async fn add_secret_version(
        &self,
        project: &str,
        secret: &str,
        data: &[u8],
    ) -> Result<SecretVersion, GcpError> {
        let parent = format!("projects/{project}/secrets/{secret}");
        let payload = SecretPayload::new()
            .set_data(bytes::Bytes::copy_from_slice(data))
            .set_data_crc32c(i64::from(crate::key::crc32c(data)));
        self.call(
            Api::SecretManager,
            "secrets.addVersion",
            &parent,
            Safety::Unguarded,
            || {
                self.secrets
                    .add_secret_version()
                    .set_parent(&parent)
                    .set_payload(payload.clone())
                    .send()
            },
        )
        .await
    }
}
