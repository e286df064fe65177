//! The calls of a source deploy: the staging bucket and object, the Artifact
//! Registry repository, and the build (Cloud Run's `builds:submit`, Cloud
//! Build's `builds.create` as the fallback) with its operation and log.
//!
//! Buckets and object metadata go through the Storage JSON API over HTTP on
//! the tool's own request path ([`Google::storage_json`]): the official
//! crate's `StorageControl` client, which owns those methods, speaks only
//! gRPC, which neither an HTTP proxy nor the emulator serve. The upload
//! itself uses the crate's `Storage` client (JSON API, HTTP). Both take the
//! same credentials, the `CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE` endpoint
//! and the same retries as every other call.

use bytes::Bytes;
use google_cloud_artifactregistry_v1::model::{Repository, repository::Format};
use google_cloud_build_v1::model::{Build, BuildOperationMetadata};
use google_cloud_gax::error::Error as GaxError;
use google_cloud_gax::error::rpc::Status;
use google_cloud_longrunning::model::Operation;

use super::retry::Safety;
use super::{Api, GcpError, Google, Kind, found};

/// What a build operation says at one poll.
pub(crate) enum BuildPoll {
    /// Not done; the build as far as it got, when the metadata carries it.
    Running(Option<Box<Build>>),
    /// Done: the final build (its status says how it ended).
    Done(Box<Build>),
    /// Done with an error and no build to show.
    Failed { message: String },
}

impl Google {
    /// One request of the Storage JSON API on the tool's own path: the
    /// credentials' headers, Google's error body turned into the same error
    /// the clients give, so `call` classifies and retries it like any other.
    async fn storage_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Bytes, GaxError> {
        let headers = match self
            .creds
            .headers(http::Extensions::new())
            .await
            .map_err(GaxError::authentication)?
        {
            google_cloud_auth::credentials::CacheableResource::New { data, .. } => data,
            google_cloud_auth::credentials::CacheableResource::NotModified => {
                http::HeaderMap::new()
            }
        };
        let url = format!("{}/{path}", self.storage_endpoint);
        let mut request = self.http.request(method, url).headers(headers);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| match e.is_connect() {
            true => GaxError::connect(e),
            false => GaxError::io(e),
        })?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map_err(GaxError::io)?;
        if (200..300).contains(&status) {
            return Ok(bytes);
        }
        Err(match Status::try_from(&bytes) {
            Ok(s) => GaxError::service_with_http_metadata(s, Some(status), Some(headers)),
            Err(_) => GaxError::http(status, headers, bytes),
        })
    }

    /// Make sure the staging bucket exists: get, and create it in `region`
    /// when missing (storage.buckets.get/insert). A create that finds it
    /// already made (409, a concurrent deploy) is fine.
    pub(crate) async fn ensure_bucket(
        &self,
        project: &str,
        region: &str,
        bucket: &str,
    ) -> Result<bool, GcpError> {
        let path = format!("storage/v1/b/{}", encode(bucket));
        let got = self
            .call(Api::Storage, "buckets.get", bucket, Safety::Read, || {
                self.storage_json(reqwest::Method::GET, &path, None)
            })
            .await;
        if found(got)?.is_some() {
            return Ok(false);
        }
        let body = serde_json::json!({
            "name": bucket,
            "location": region,
            "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": true}},
        });
        let path = format!("storage/v1/b?project={}", encode(project));
        let created = self
            .call(
                Api::Storage,
                "buckets.insert",
                bucket,
                Safety::Unguarded,
                || self.storage_json(reqwest::Method::POST, &path, Some(&body)),
            )
            .await;
        match created {
            Ok(_) => Ok(true),
            Err(e) if e.is(Kind::AlreadyExists) || e.is(Kind::Aborted) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether the object exists (storage.objects.get, metadata only).
    pub(crate) async fn object_exists(&self, bucket: &str, object: &str) -> Result<bool, GcpError> {
        let path = format!("storage/v1/b/{}/o/{}", encode(bucket), encode(object));
        let resource = format!("gs://{bucket}/{object}");
        let got = self
            .call(Api::Storage, "objects.get", &resource, Safety::Read, || {
                self.storage_json(reqwest::Method::GET, &path, None)
            })
            .await;
        Ok(found(got)?.is_some())
    }

    /// An object's bytes (`alt=media`), `None` when it does not exist.
    pub(crate) async fn read_object(
        &self,
        bucket: &str,
        object: &str,
    ) -> Result<Option<Bytes>, GcpError> {
        let path = format!(
            "storage/v1/b/{}/o/{}?alt=media",
            encode(bucket),
            encode(object)
        );
        let resource = format!("gs://{bucket}/{object}");
        let got = self
            .call(Api::Storage, "objects.get", &resource, Safety::Read, || {
                self.storage_json(reqwest::Method::GET, &path, None)
            })
            .await;
        found(got)
    }

    /// Upload `data` as a new object. `ifGenerationMatch=0` makes it a
    /// create-only write, so a repeat after a lost success is refused
    /// instead of writing twice, and a concurrent upload of the same content
    /// (same name) is simply there already.
    pub(crate) async fn upload(
        &self,
        bucket: &str,
        object: &str,
        data: Bytes,
    ) -> Result<(), GcpError> {
        let resource = format!("gs://{bucket}/{object}");
        let full = format!("projects/_/buckets/{bucket}");
        let r = self
            .call(
                Api::Storage,
                "objects.insert",
                &resource,
                Safety::Guarded,
                || {
                    self.storage
                        .write_object(&full, object, data.clone())
                        .set_if_generation_match(0)
                        .set_content_type("application/gzip")
                        .send_unbuffered()
                },
            )
            .await;
        match r {
            Ok(_) => Ok(()),
            // Storage answers a failed `ifGenerationMatch` with 412, in a
            // body that may carry no `status`.
            Err(e) if e.is(Kind::FailedPrecondition) || e.http_status == Some(412) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Make sure the Docker repository exists in `location`: get, and create
    /// it when missing (a long-running operation, followed to its end).
    pub(crate) async fn ensure_repository(
        &self,
        project: &str,
        location: &str,
        repository: &str,
        poll: std::time::Duration,
    ) -> Result<bool, GcpError> {
        let parent = format!("projects/{project}/locations/{location}");
        let name = format!("{parent}/repositories/{repository}");
        let got = self
            .call(
                Api::ArtifactRegistry,
                "repositories.get",
                &name,
                Safety::Read,
                || self.artifacts.get_repository().set_name(&name).send(),
            )
            .await;
        if found(got)?.is_some() {
            return Ok(false);
        }
        let repo = Repository::new()
            .set_format(Format::Docker)
            .set_description("Cloud Run source deployments");
        let op = self
            .call(
                Api::ArtifactRegistry,
                "repositories.create",
                &name,
                Safety::Unguarded,
                || {
                    self.artifacts
                        .create_repository()
                        .set_parent(&parent)
                        .set_repository_id(repository)
                        .set_repository(repo.clone())
                        .send()
                },
            )
            .await;
        let mut op = match op {
            Ok(op) => op,
            Err(e) if e.is(Kind::AlreadyExists) => return Ok(false),
            Err(e) => return Err(e),
        };
        while !op.done {
            tokio::time::sleep(poll).await;
            op = self
                .call(
                    Api::ArtifactRegistry,
                    "operations.get",
                    &op.name,
                    Safety::Read,
                    || self.artifacts.get_operation().set_name(&op.name).send(),
                )
                .await?;
        }
        match op.result {
            Some(google_cloud_longrunning::model::operation::Result::Error(s)) if s.code != 6 => {
                Err(GcpError::operation_failed(
                    "repositories.create",
                    &name,
                    s.message.clone(),
                ))
            }
            _ => Ok(true),
        }
    }

    /// Cloud Run's `builds:submit`: the Cloud Build operation's name. `None`
    /// when Cloud Run answers 404 (the method is not available there), the
    /// cue for the Cloud Build fallback, as gcloud does
    /// (`command_lib/run/sourcedeploys/deployer.py`).
    pub(crate) async fn submit_build(
        &self,
        parent: &str,
        bucket: &str,
        object: &str,
        image: &str,
        docker: bool,
        tags: &[String],
    ) -> Result<Option<String>, GcpError> {
        use google_cloud_run_v2::model::{StorageSource, submit_build_request as sb};
        let source = StorageSource::new().set_bucket(bucket).set_object(object);
        let r = self
            .call(Api::Run, "builds.submit", parent, Safety::Unguarded, || {
                let request = self
                    .builds
                    .submit_build()
                    .set_parent(parent)
                    .set_storage_source(source.clone())
                    .set_image_uri(image)
                    .set_tags(tags.to_vec());
                match docker {
                    true => request.set_docker_build(sb::DockerBuild::new()),
                    false => request.set_buildpack_build(sb::BuildpacksBuild::new()),
                }
                .send()
            })
            .await;
        match r {
            Ok(response) => Ok(Some(
                response.build_operation.map(|o| o.name).unwrap_or_default(),
            )),
            Err(e) if e.is(Kind::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Cloud Build's `builds.create` in `parent` (`projects/P/locations/R`):
    /// the operation's name. Only `parent` is set: with `project_id` too,
    /// the client picks the global route (`POST /v1/projects/{projectId}/builds`),
    /// while a regional build is created at
    /// `POST /v1/{parent=projects/*/locations/*}/builds`
    /// (cloudbuild v1 discovery, `projects.locations.builds.create`), as
    /// gcloud does for `--region`.
    pub(crate) async fn create_build(
        &self,
        parent: &str,
        build: Build,
    ) -> Result<String, GcpError> {
        let op = self
            .call(
                Api::CloudBuild,
                "builds.create",
                parent,
                Safety::Unguarded,
                || {
                    self.cloud_build
                        .create_build()
                        .set_parent(parent)
                        .set_build(build.clone())
                        .send()
                },
            )
            .await?;
        Ok(op.name)
    }

    /// One read of a Cloud Build operation.
    pub(crate) async fn build_operation(&self, name: &str) -> Result<BuildPoll, GcpError> {
        let op: Operation = self
            .call(
                Api::CloudBuild,
                "operations.get",
                name,
                Safety::Read,
                || self.cloud_build.get_operation().set_name(name).send(),
            )
            .await?;
        let metadata = op
            .metadata
            .as_ref()
            .and_then(|m| m.to_msg::<BuildOperationMetadata>().ok())
            .and_then(|m| m.build)
            .map(Box::new);
        use google_cloud_longrunning::model::operation::Result as OpResult;
        Ok(match (op.done, op.result) {
            (false, _) => BuildPoll::Running(metadata),
            (true, Some(OpResult::Response(any))) => match any.to_msg::<Build>() {
                Ok(b) => BuildPoll::Done(Box::new(b)),
                Err(_) => match metadata {
                    Some(b) => BuildPoll::Done(b),
                    None => BuildPoll::Failed {
                        message: "the build operation ended without a build".into(),
                    },
                },
            },
            (true, Some(OpResult::Error(s))) => match metadata {
                Some(b) => BuildPoll::Done(b),
                None => BuildPoll::Failed {
                    message: s.message.clone(),
                },
            },
            (true, _) => match metadata {
                Some(b) => BuildPoll::Done(b),
                None => BuildPoll::Failed {
                    message: "the build operation ended without a result".into(),
                },
            },
        })
    }
}

/// Percent-encoding of one path segment or query value (RFC 3986
/// unreserved characters stay).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
