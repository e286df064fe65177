//! A source deploy's writes before the rollout, in gcloud's order
//! (`lib/surface/run/deploy.py`, `command_lib/run/sourcedeploys/`): the
//! staging bucket and the archive in it, the Artifact Registry repository,
//! the build, and from its result the image by digest that the revision runs.
//!
//! The staging bucket is gcloud's (`command_lib/run/sourcedeploys/sources.py`):
//! `run-sources-PROJECT-REGION`, the region shortened as gcloud's
//! `region_name_util.ShortenGcpRegion` does when the name would pass 63
//! characters; when that bucket is another project's (or reading it is
//! refused with 403) a new `run-sources-<uuid>` bucket instead, so that a
//! name claimed by someone else neither receives the source nor stops the
//! deploy. The build gets the uploaded object's generation, so it builds
//! exactly the bytes uploaded.
//!
//! Differences from gcloud, on purpose: the object is named after the
//! archive's SHA-256 (gcloud: time and a UUID), so an unchanged tree is
//! uploaded once; the archive is a tar.gz (Cloud Build takes both); a
//! `service.dockerfile` other than the root `Dockerfile` builds through Cloud
//! Build directly, since `builds:submit`'s `dockerBuild` has no Dockerfile
//! path (Run v2 discovery document, `GoogleCloudRunV2DockerBuild`).

use std::time::{Duration, Instant};

use bytes::Bytes;
use google_cloud_build_v1::model::{self as cb, build::Status};
use serde::{Deserialize, Serialize};

mod failure;
mod names;
mod request;

use super::{Package, Summary};
use crate::config::Environment;
use crate::error::Error;
use crate::gcp::Google;
use crate::gcp::source::{BucketCheck, BuildPoll, Staged, Submit};
use crate::plan::live::account_project;
use crate::printer::Printer;
use failure::failure;
use names::bucket_name;
use request::cloud_build_request;

/// gcloud's repository for source deploys.
pub(crate) const REPOSITORY: &str = "cloud-run-source-deploy";

/// What a source deploy uploads and builds: part of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SourcePlan {
    #[serde(flatten)]
    pub(crate) package: Summary,
    /// `gs://BUCKET/OBJECT` of the archive.
    pub(crate) bucket: String,
    pub(crate) object: String,
    /// The image repository path the build pushes to (no tag).
    pub(crate) image: String,
    /// `docker` or `buildpacks`.
    pub(crate) builder: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) dockerfile: Option<String>,
    /// The checkout's commit, an image tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) commit: Option<String>,
    /// The account the build runs as: `build.service_account`, or the
    /// project's default build account as Cloud Build names it (absent when
    /// it could not be asked or there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) build_account: Option<String>,
    /// Where a Cloud Build build is created (`global` unless `build.region`
    /// or `build.worker_pool` say otherwise).
    pub(crate) build_location: String,
    /// The writes before the rollout, in order, as live state found what
    /// they write to (set by `compute`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) steps: Vec<SourceStep>,
}

/// One write a source deploy makes before its rollout, as the plan sees it
/// from live state: `apply` makes them first, in this order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SourceStep {
    pub(crate) step: StepKind,
    pub(crate) action: StepAction,
    /// What it writes to: `gs://BUCKET`, `gs://BUCKET/OBJECT`, the
    /// repository's name, the image.
    pub(crate) target: String,
    /// In words, for people.
    pub(crate) description: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StepKind {
    Bucket,
    Upload,
    Repository,
    Build,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StepAction {
    /// Made by this deploy.
    Create,
    /// There already: used as it is.
    Use,
    /// Could not be read (403): made at apply when missing.
    CreateIfMissing,
}

impl StepAction {
    /// Whether the plan counts it as a change (`+`): what it may write.
    pub(crate) fn writes(self) -> bool {
        self != StepAction::Use
    }
}

/// What a source deploy's steps did: part of the outcome, also when a step
/// failed (then what was written before it is listed).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct BuildRecord {
    /// The build's id, once Cloud Build made one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<String>,
    /// `sha256:...` of the image it pushed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) digest: Option<String>,
    /// `IMAGE@sha256:...`: what the revision runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) log_url: Option<String>,
    /// Cloud Build directly, after `builds:submit` answered 404 (or for a
    /// non-root Dockerfile).
    pub(crate) cloud_build: bool,
    /// Each step made, in order, with what it came to.
    pub(crate) steps: Vec<StepRecord>,
}

/// One step of a source deploy and what it came to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct StepRecord {
    pub(crate) step: StepKind,
    pub(crate) target: String,
    pub(crate) result: StepResult,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StepResult {
    /// Written by this run.
    Created,
    Uploaded,
    /// There already (the same archive, for an upload).
    Existing,
    Built,
    Failed,
}

impl BuildRecord {
    fn push(&mut self, step: StepKind, target: impl Into<String>, result: StepResult) {
        self.steps.push(StepRecord {
            step,
            target: target.into(),
            result,
        });
    }
}

impl SourcePlan {
    /// Where `package` of `env`'s service goes, and how it is built.
    pub(crate) fn new(env: &Environment, package: &Package, commit: Option<String>) -> SourcePlan {
        let s = &package.summary;
        let dockerfile = env
            .service
            .dockerfile
            .clone()
            .or_else(|| s.root_dockerfile.then(|| "Dockerfile".to_string()));
        SourcePlan {
            bucket: bucket_name(env.project.as_ref(), env.region.as_ref()),
            object: format!("services/{}/{}.tar.gz", env.service.name, s.sha256),
            image: format!(
                "{}-docker.pkg.dev/{}/{REPOSITORY}/{}",
                env.region, env.project, env.service.name
            ),
            builder: match dockerfile {
                Some(_) => "docker".into(),
                None => "buildpacks".into(),
            },
            dockerfile,
            commit,
            package: s.clone(),
            build_account: env.build.service_account.clone(),
            build_location: env.build.location(),
            steps: Vec::new(),
        }
    }

    /// The plan's source section with the build's account as live state
    /// found it (the configured one, or Cloud Build's default).
    pub(crate) fn builds_as(mut self, live: &crate::plan::live::LiveState) -> SourcePlan {
        if let Some(email) = live.build_account.as_ref().and_then(|a| a.email()) {
            self.build_account = Some(email.to_string());
        }
        self
    }

    /// The image the plan shows before the build: the repository, untagged.
    pub(crate) fn planned_image(&self) -> String {
        self.image.clone()
    }

    fn tags(&self) -> Vec<String> {
        self.commit.iter().cloned().collect()
    }

    /// A Dockerfile that `builds:submit` cannot take (not the root one).
    pub(crate) fn custom_dockerfile(&self) -> Option<&str> {
        self.dockerfile
            .as_deref()
            .filter(|d| d.trim_start_matches("./") != "Dockerfile")
    }
}

/// Make the plan's source steps: the staging bucket, the upload (unless the
/// same archive is there), the repository, the build; return the image by
/// digest. `record` says what each step came to, also when one fails.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn build(
    google: &Google,
    env: &Environment,
    printer: &Printer,
    plan: &SourcePlan,
    archive: Vec<u8>,
    project_number: Option<&str>,
    poll: Duration,
    record: &mut BuildRecord,
) -> Result<String, Error> {
    let mut plan = plan.clone();
    let plan = &mut plan;
    let project = env.project.to_string();
    let region = env.region.to_string();
    let number = match project_number {
        Some(n) => n.to_string(),
        None => google.project_number(&project).await?,
    };
    let (bucket, created) =
        staging_bucket(google, printer, &project, &number, &region, &plan.bucket).await?;
    let result = match created {
        true => StepResult::Created,
        false => StepResult::Existing,
    };
    record.push(StepKind::Bucket, format!("gs://{bucket}"), result);
    plan.bucket = bucket;
    let s = &plan.package;
    printer.step(&format!(
        "Uploading {} files ({}, {} compressed) to gs://{}/{}",
        s.files,
        size(s.bytes),
        size(s.archive_bytes),
        plan.bucket,
        plan.object
    ));
    let object = format!("gs://{}/{}", plan.bucket, plan.object);
    let generation = match google
        .stage(&plan.bucket, &plan.object, Bytes::from(archive))
        .await?
    {
        Staged::Uploaded(g) => {
            record.push(StepKind::Upload, &object, StepResult::Uploaded);
            g
        }
        Staged::Reused(g) => {
            printer.info(&format!(
                "The same source is already at {object}; nothing uploaded"
            ));
            record.push(StepKind::Upload, &object, StepResult::Existing);
            g
        }
        Staged::Differs => {
            return Err(Error::StagedObjectDiffers { object });
        }
    };
    let repository = repository_name(env);
    let created = google
        .ensure_repository(&project, &region, REPOSITORY, poll)
        .await?;
    if created {
        printer.info(&format!(
            "Created the Artifact Registry repository {REPOSITORY} in {region}"
        ));
    }
    let result = match created {
        true => StepResult::Created,
        false => StepResult::Existing,
    };
    record.push(StepKind::Repository, repository, result);
    let parent = format!("projects/{project}/locations/{region}");
    let tagged = match &plan.commit {
        Some(c) => format!("{}:{c}", plan.image),
        None => plan.image.clone(),
    };
    let account = env.build.service_account.as_deref().map(|email| {
        format!(
            "projects/{}/serviceAccounts/{email}",
            account_project(email, &project)
        )
    });
    let submitted = match plan.custom_dockerfile() {
        Some(_) => None,
        None => {
            google
                .submit_build(&Submit {
                    parent: &parent,
                    bucket: &plan.bucket,
                    object: &plan.object,
                    generation,
                    image: &tagged,
                    docker: plan.dockerfile.is_some(),
                    service_account: account.as_deref(),
                    worker_pool: env.build.worker_pool.as_deref(),
                })
                .await?
        }
    };
    record.cloud_build = submitted.is_none();
    let operation = match submitted {
        Some(op) => op,
        None => {
            let parent = format!("projects/{project}/locations/{}", plan.build_location);
            let request = cloud_build_request(plan, generation, env, account.as_deref());
            google.create_build(&parent, request).await?
        }
    };
    let build = follow(google, printer, env.service.name.as_ref(), &operation, poll);
    let build = match build.await {
        Ok(b) => b,
        Err(e) => {
            record.push(StepKind::Build, &plan.image, StepResult::Failed);
            return Err(e);
        }
    };
    record.id = Some(build.id.clone()).filter(|i| !i.is_empty());
    record.log_url = Some(build.log_url.clone()).filter(|u| !u.is_empty());
    if build.status != Status::Success {
        record.push(StepKind::Build, &plan.image, StepResult::Failed);
        return Err(failure(google, env.service.name.as_ref(), &build).await);
    }
    let digest = match build
        .results
        .as_ref()
        .and_then(|r| {
            r.images
                .iter()
                .find(|i| i.name.starts_with(&plan.image) && !i.digest.is_empty())
                .or_else(|| r.images.iter().find(|i| !i.digest.is_empty()))
        })
        .map(|i| i.digest.clone())
    {
        Some(d) => d,
        None => {
            record.push(StepKind::Build, &plan.image, StepResult::Failed);
            return Err(Error::BuildFailed {
                service: env.service.name.to_string(),
                step: None,
                log_tail: vec!["the build succeeded but reported no image digest".into()],
                log_url: record.log_url.clone(),
            });
        }
    };
    let image = format!("{}@{digest}", plan.image);
    printer.success(&format!("Built {image} (build {})", build.id));
    record.push(StepKind::Build, &image, StepResult::Built);
    record.digest = Some(digest);
    record.image = Some(image.clone());
    Ok(image)
}

/// The repository's full name, as Artifact Registry names it.
pub(crate) fn repository_name(env: &Environment) -> String {
    format!(
        "projects/{}/locations/{}/repositories/{REPOSITORY}",
        env.project, env.region
    )
}

/// The bucket to stage in (and whether this run created it): `default` when it is (or is made) this
/// project's; when it is another project's, or reading it is refused, a new
/// `run-sources-<uuid>` bucket, as gcloud does (`sources.py`,
/// `_GetOrCreateBucket`, "to handle Denial-of-Service attacks"), which must
/// then be this project's too.
async fn staging_bucket(
    google: &Google,
    printer: &Printer,
    project: &str,
    number: &str,
    region: &str,
    default: &str,
) -> Result<(String, bool), Error> {
    let refused = match google.ensure_bucket(project, number, region, default).await {
        Ok(BucketCheck::Owned) => return Ok((default.to_string(), false)),
        Ok(BucketCheck::Created) => {
            printer.info(&format!("Created the staging bucket gs://{default}"));
            return Ok((default.to_string(), true));
        }
        Ok(BucketCheck::NotOwned) => "belongs to another project".to_string(),
        Err(e) if e.is(crate::gcp::Kind::PermissionDenied) => "cannot be read (403)".to_string(),
        Err(e) => return Err(e.into()),
    };
    let random = format!("run-sources-{:032x}", rand::random::<u128>());
    printer.warn(&format!(
        "the staging bucket gs://{default} {refused}; staging in a new bucket gs://{random} instead"
    ));
    match google
        .ensure_bucket(project, number, region, &random)
        .await?
    {
        BucketCheck::Created => Ok((random, true)),
        BucketCheck::Owned => Ok((random, false)),
        BucketCheck::NotOwned => Err(Error::StagingBucketNotOwned { bucket: random }),
    }
}

/// Poll the build's operation to its end, showing steps done / total.
async fn follow(
    google: &Google,
    printer: &Printer,
    service: &str,
    operation: &str,
    poll: Duration,
) -> Result<cb::Build, Error> {
    let started = Instant::now();
    let mut progress = printer.progress(&format!("Building {service}"));
    let mut waits = crate::gcp::poll_waits(poll);
    loop {
        match google.build_operation(operation).await {
            Ok(BuildPoll::Done(build)) => {
                let text = format!(
                    "{} after {}s",
                    status_word(build.status.clone()),
                    started.elapsed().as_secs()
                );
                match build.status == Status::Success {
                    true => progress.finish(&text),
                    false => progress.fail(&text),
                }
                return Ok(*build);
            }
            Ok(BuildPoll::Failed { message }) => {
                progress.fail("failed");
                return Err(Error::BuildFailed {
                    service: service.to_string(),
                    step: None,
                    log_tail: vec![message],
                    log_url: None,
                });
            }
            Ok(BuildPoll::Running(build)) => {
                if let Some(b) = build {
                    progress.update(&steps_done(&b));
                }
            }
            Err(e) => {
                progress.fail("could not follow the build");
                return Err(e.into());
            }
        }
        tokio::time::sleep(waits.next().unwrap_or(poll)).await;
    }
}

/// `step 2/3: gcr.io/cloud-builders/docker`, or the build's status before
/// any step runs.
fn steps_done(b: &cb::Build) -> String {
    let total = b.steps.len();
    if total == 0 {
        return status_word(b.status.clone()).to_lowercase();
    }
    let done = b
        .steps
        .iter()
        .filter(|s| s.status == Status::Success)
        .count();
    let current = b
        .steps
        .iter()
        .find(|s| s.status != Status::Success)
        .map(|s| s.name.as_str())
        .unwrap_or("");
    format!("{done}/{total} steps done {current}")
        .trim_end()
        .to_string()
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Success => "SUCCESS",
        Status::Failure => "FAILURE",
        Status::InternalError => "INTERNAL_ERROR",
        Status::Timeout => "TIMEOUT",
        Status::Cancelled => "CANCELLED",
        Status::Expired => "EXPIRED",
        Status::Queued | Status::Pending => "QUEUED",
        Status::Working => "WORKING",
        _ => "UNKNOWN",
    }
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// `1.2 MiB`, `3.0 KiB`, `12 B`: for summaries.
pub(crate) fn human_size(bytes: u64) -> String {
    size(bytes)
}
