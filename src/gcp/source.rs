//! The calls of a source deploy: the staging bucket and object, the Artifact
//! Registry repository, and the build (Cloud Run's `builds:submit`, Cloud
//! Build's `builds.create` as the fallback) with its operation and log.
//!
//! Storage (the bucket, the object's metadata, the upload) goes through
//! the Storage JSON API over HTTP on the tool's own request path
//! ([`Google::storage_json`]), with the same credentials, the
//! `CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE` endpoint and the same retries
//! as every other call: the official crate's `StorageControl` client speaks
//! only gRPC, which neither an HTTP proxy nor the emulator serve, and its
//! `Storage` client brought a gRPC stack into the binary for one upload.
//!
//! The staging bucket is checked as gcloud checks it
//! (`command_lib/run/sourcedeploys/sources.py`, `_GetOrCreateBucket`, and
//! `api_lib/storage/storage_api.py`, `CreateBucketIfNotExists`): a bucket
//! that exists must belong to this project (its `projectNumber`), since
//! bucket names are global and a guessable name can be claimed first by
//! someone else; see [`BucketCheck`].

use bytes::Bytes;
use google_cloud_artifactregistry_v1::model::{Repository, repository::Format};
use google_cloud_build_v1::model::{Build, BuildOperationMetadata};
use google_cloud_gax::error::Error as GaxError;
use google_cloud_gax::error::rpc::Status;
use google_cloud_longrunning::model::Operation;

mod reads;

use super::retry::Safety;
use super::{Api, GcpError, Google, Kind, found};

/// What the staging bucket turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BucketCheck {
    /// Created now.
    Created,
    /// There already, and this project's.
    Owned,
    /// There already, and another project's: never upload to it.
    NotOwned,
}

/// An object's metadata as Storage describes it (storage.v1 `Object`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ObjectMeta {
    pub(crate) generation: i64,
    /// Base64 of the big-endian CRC32C.
    crc32c: Option<String>,
    /// Base64 of the MD5 (absent for composite objects).
    md5: Option<String>,
}

impl ObjectMeta {
    fn parse(bytes: &[u8]) -> Option<ObjectMeta> {
        let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
        let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        Some(ObjectMeta {
            generation: text("generation")?.parse().ok()?,
            crc32c: text("crc32c"),
            md5: text("md5Hash"),
        })
    }

    /// Whether the object holds `data`: its CRC32C, else its MD5, compared
    /// with ours. An object with neither is not taken for ours.
    pub(crate) fn holds(&self, data: &[u8]) -> bool {
        match (&self.crc32c, &self.md5) {
            (Some(c), _) => *c == crc32c_b64(data),
            (None, Some(m)) => *m == md5_b64(data),
            (None, None) => false,
        }
    }
}

/// The JSON API's `crc32c`: base64 of the big-endian CRC32C (storage.v1
/// discovery, `Object.crc32c`).
fn crc32c_b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(crate::key::crc32c(data).to_be_bytes())
}

/// The JSON API's `md5Hash`: base64 of the MD5.
fn md5_b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(md5::compute(data).0)
}

/// What uploading the archive came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Staged {
    /// The same bytes were there already (checksums match): this generation.
    Reused(i64),
    /// Written now: this generation.
    Uploaded(i64),
    /// Something else holds the name, and it is not this archive.
    Differs,
}

/// What `builds:submit` is asked to build.
pub(crate) struct Submit<'a> {
    /// `projects/P/locations/R`, Cloud Run's region.
    pub(crate) parent: &'a str,
    pub(crate) bucket: &'a str,
    pub(crate) object: &'a str,
    pub(crate) generation: i64,
    pub(crate) image: &'a str,
    /// A Dockerfile build, else buildpacks.
    pub(crate) docker: bool,
    /// `projects/P/serviceAccounts/EMAIL`, else the default build account.
    pub(crate) service_account: Option<&'a str>,
    /// `projects/P/locations/R/workerPools/N`.
    pub(crate) worker_pool: Option<&'a str>,
}

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
        let body = body.map(|b| ("application/json".to_string(), Bytes::from(b.to_string())));
        self.storage_request(method, path, body).await
    }

    /// [`Google::storage_json`] with a body of any type.
    async fn storage_request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<(String, Bytes)>,
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
        if let Some((content_type, body)) = body {
            request = request
                .header(http::header::CONTENT_TYPE, content_type)
                .body(body);
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

    /// Make sure the staging bucket exists and is this project's (number
    /// `project_number`): get, and create it in `region` when missing
    /// (storage.buckets.get/insert), with uniform bucket-level access and
    /// gcloud's `used-by: cloudrun` label. A create that finds it already
    /// made (409, a concurrent deploy or a squatter) reads it again and
    /// checks its owner, as gcloud does. The create is repeated on a 5xx:
    /// a repeat of one that landed is that same 409.
    pub(crate) async fn ensure_bucket(
        &self,
        project: &str,
        project_number: &str,
        region: &str,
        bucket: &str,
    ) -> Result<BucketCheck, GcpError> {
        if let Some(b) = self.bucket(bucket).await? {
            return Ok(owner(&b, project_number));
        }
        let body = serde_json::json!({
            "name": bucket,
            "location": region,
            "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": true}},
            "labels": {"used-by": "cloudrun"},
        });
        let path = format!("storage/v1/b?project={}", encode(project));
        let created = self
            .call(
                Api::Storage,
                "buckets.insert",
                bucket,
                Safety::Idempotent,
                || self.storage_json(reqwest::Method::POST, &path, Some(&body)),
            )
            .await;
        match created {
            Ok(_) => Ok(BucketCheck::Created),
            Err(e) if e.is(Kind::AlreadyExists) || e.is(Kind::Aborted) => {
                match self.bucket(bucket).await? {
                    Some(b) => Ok(owner(&b, project_number)),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// A bucket's metadata (storage.buckets.get), `None` when it does not exist.
    pub(super) async fn bucket(&self, bucket: &str) -> Result<Option<serde_json::Value>, GcpError> {
        let path = format!("storage/v1/b/{}", encode(bucket));
        let got = self
            .call(Api::Storage, "buckets.get", bucket, Safety::Read, || {
                self.storage_json(reqwest::Method::GET, &path, None)
            })
            .await;
        Ok(found(got)?.map(|b| serde_json::from_slice(&b).unwrap_or_default()))
    }

    /// An object's metadata (storage.objects.get), `None` when it does not
    /// exist.
    pub(crate) async fn object_meta(
        &self,
        bucket: &str,
        object: &str,
    ) -> Result<Option<ObjectMeta>, GcpError> {
        let path = format!("storage/v1/b/{}/o/{}", encode(bucket), encode(object));
        let resource = format!("gs://{bucket}/{object}");
        let got = self
            .call(Api::Storage, "objects.get", &resource, Safety::Read, || {
                self.storage_json(reqwest::Method::GET, &path, None)
            })
            .await;
        match found(got)? {
            None => Ok(None),
            Some(bytes) => ObjectMeta::parse(&bytes).map(Some).ok_or_else(|| {
                GcpError::operation_failed(
                    "objects.get",
                    &resource,
                    "the answer is not an object's metadata".into(),
                )
            }),
        }
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

    /// Put the archive at `bucket/object`, reusing what is there only when
    /// its checksum (CRC32C, else MD5) is the archive's. The upload is one
    /// multipart `objects.insert` (JSON API, `uploadType=multipart`) with
    /// the archive's CRC32C, which Storage verifies, and a precondition:
    /// `ifGenerationMatch=0` (create only), or the generation of a differing
    /// object it replaces. A repeat after a lost success, or a concurrent
    /// upload, fails that precondition with 412; then the object is read
    /// again and compared, never taken for ours by assumption
    /// (cloud.google.com/storage/docs/request-preconditions).
    pub(crate) async fn stage(
        &self,
        bucket: &str,
        object: &str,
        data: Bytes,
    ) -> Result<Staged, GcpError> {
        let expected = match self.object_meta(bucket, object).await? {
            Some(m) if m.holds(&data) => return Ok(Staged::Reused(m.generation)),
            Some(m) => m.generation,
            None => 0,
        };
        let resource = format!("gs://{bucket}/{object}");
        let path = format!(
            "upload/storage/v1/b/{}/o?uploadType=multipart&ifGenerationMatch={expected}",
            encode(bucket)
        );
        let boundary = format!("autosre{:032x}", rand::random::<u128>());
        let metadata = serde_json::json!({
            "name": object,
            "contentType": "application/gzip",
            "crc32c": crc32c_b64(&data),
        });
        let mut body = format!(
            "--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{metadata}\r\n--{boundary}\r\nContent-Type: application/gzip\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(&data);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let body = Bytes::from(body);
        let content_type = format!("multipart/related; boundary={boundary}");
        let r = self
            .call(
                Api::Storage,
                "objects.insert",
                &resource,
                Safety::Guarded,
                || {
                    self.storage_request(
                        reqwest::Method::POST,
                        &path,
                        Some((content_type.clone(), body.clone())),
                    )
                },
            )
            .await;
        match r {
            Ok(bytes) => match ObjectMeta::parse(&bytes) {
                Some(m) => Ok(Staged::Uploaded(m.generation)),
                None => Err(GcpError::operation_failed(
                    "objects.insert",
                    &resource,
                    "the answer is not an object's metadata".into(),
                )),
            },
            // Storage answers a failed precondition with 412, in a body that
            // may carry no `status`.
            Err(e) if e.is(Kind::FailedPrecondition) || e.http_status == Some(412) => {
                match self.object_meta(bucket, object).await? {
                    Some(m) if m.holds(&data) => Ok(Staged::Reused(m.generation)),
                    _ => Ok(Staged::Differs),
                }
            }
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
        if self
            .repository_exists(project, location, repository)
            .await?
        {
            return Ok(false);
        }
        let repo = Repository::new()
            .set_format(Format::Docker)
            .set_description("Cloud Run source deployments");
        // Repeated on a 5xx: a repeat of a create that landed answers
        // ALREADY_EXISTS, which is "there".
        let op = self
            .call(
                Api::ArtifactRegistry,
                "repositories.create",
                &name,
                Safety::Idempotent,
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
        let mut waits = super::poll_waits(poll);
        while !op.done {
            tokio::time::sleep(waits.next().unwrap_or(poll)).await;
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
    /// (`command_lib/run/sourcedeploys/deployer.py`). The object's
    /// generation, the build's account and pool are sent as gcloud sends
    /// them (`_PrepareSubmitBuildRequest`).
    pub(crate) async fn submit_build(&self, s: &Submit<'_>) -> Result<Option<String>, GcpError> {
        use google_cloud_run_v2::model::{StorageSource, submit_build_request as sb};
        let source = StorageSource::new()
            .set_bucket(s.bucket)
            .set_object(s.object)
            .set_generation(s.generation);
        let r = self
            .call(
                Api::Run,
                "builds.submit",
                s.parent,
                Safety::Unguarded,
                || {
                    let request = self
                        .builds
                        .submit_build()
                        .set_parent(s.parent)
                        .set_storage_source(source.clone())
                        .set_image_uri(s.image)
                        .set_service_account(s.service_account.unwrap_or_default())
                        .set_worker_pool(s.worker_pool.unwrap_or_default());
                    match s.docker {
                        true => request.set_docker_build(sb::DockerBuild::new()),
                        false => request.set_buildpack_build(sb::BuildpacksBuild::new()),
                    }
                    .send()
                },
            )
            .await;
        match r {
            Ok(response) => Ok(Some(
                response.build_operation.map(|o| o.name).unwrap_or_default(),
            )),
            Err(e) if e.is(Kind::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Cloud Build's default build account for builds in `location`
    /// (`projects.locations.getDefaultServiceAccount`, cloudbuild v1
    /// discovery): its email, `None` when no account builds by default.
    /// Since 2024 a new project's default can be the Compute Engine default
    /// account (cloud.google.com/build/docs/cloud-build-service-account-updates).
    pub(crate) async fn default_build_account(
        &self,
        project: &str,
        location: &str,
    ) -> Result<Option<String>, GcpError> {
        let name = format!("projects/{project}/locations/{location}/defaultServiceAccount");
        let got = self
            .call(
                Api::CloudBuild,
                "getDefaultServiceAccount",
                &name,
                Safety::Read,
                || {
                    self.cloud_build
                        .get_default_service_account()
                        .set_name(&name)
                        .send()
                },
            )
            .await?;
        // `projects/{project}/serviceAccounts/{email}`, or empty.
        let email = got.service_account_email;
        let email = email.rsplit('/').next().unwrap_or_default();
        Ok((!email.is_empty()).then(|| email.to_string()))
    }

    /// Cloud Build's `builds.create` in `parent` (`projects/P/locations/L`,
    /// `L` being `global` unless the config names a region or a pool): the
    /// operation's name. Only `parent` is set: with `project_id` too, the
    /// client picks the project route (`POST /v1/projects/{projectId}/builds`),
    /// while this is `POST /v1/{parent=projects/*/locations/*}/builds`
    /// (cloudbuild v1 discovery, `projects.locations.builds.create`), the
    /// route gcloud's source deploy uses with `cloudbuild_util.DEFAULT_REGION`
    /// (`command_lib/run/sourcedeploys/deployer.py`, `_BuildFromSource`).
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

/// Whose bucket `b` is: gcloud's ownership check asks whether the bucket
/// is listed in this project; its `projectNumber` says the same in one read.
fn owner(b: &serde_json::Value, project_number: &str) -> BucketCheck {
    match b.get("projectNumber").and_then(|n| n.as_str()) {
        Some(n) if n == project_number => BucketCheck::Owned,
        _ => BucketCheck::NotOwned,
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
