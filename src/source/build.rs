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

use super::{Package, Summary};
use crate::config::Environment;
use crate::error::Error;
use crate::gcp::Google;
use crate::gcp::source::{BucketCheck, BuildPoll, Staged, Submit};
use crate::plan::live::account_project;
use crate::printer::Printer;

/// gcloud's repository for source deploys.
pub(crate) const REPOSITORY: &str = "cloud-run-source-deploy";
/// How many log lines a failed build shows.
const LOG_TAIL: usize = 20;
/// The builder gcloud's Cloud Build fallback uses for buildpacks.
const PACK_BUILDER: &str = "gcr.io/buildpacks/builder:latest";

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
    /// After the build: what happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) built: Option<Built>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Built {
    /// False when the same archive was in the bucket already.
    pub(crate) uploaded: bool,
    pub(crate) build_id: String,
    /// `IMAGE@sha256:...`: what the revision runs.
    pub(crate) image: String,
    /// Cloud Build directly, after `builds:submit` answered 404 (or for a
    /// non-root Dockerfile).
    pub(crate) cloud_build: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) log_url: String,
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
            built: None,
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
    fn custom_dockerfile(&self) -> Option<&str> {
        self.dockerfile
            .as_deref()
            .filter(|d| d.trim_start_matches("./") != "Dockerfile")
    }
}

/// Upload (unless already there), build, and return the image by digest;
/// `plan.built` says what happened.
pub(crate) async fn build(
    google: &Google,
    env: &Environment,
    printer: &Printer,
    plan: &mut SourcePlan,
    archive: Vec<u8>,
    project_number: Option<&str>,
    poll: Duration,
) -> Result<String, Error> {
    let project = env.project.to_string();
    let region = env.region.to_string();
    let number = match project_number {
        Some(n) => n.to_string(),
        None => google.project_number(&project).await?,
    };
    plan.bucket = staging_bucket(google, printer, &project, &number, &region, &plan.bucket).await?;
    let s = &plan.package;
    printer.step(&format!(
        "Uploading {} files ({}, {} compressed) to gs://{}/{}",
        s.files,
        size(s.bytes),
        size(s.archive_bytes),
        plan.bucket,
        plan.object
    ));
    let (uploaded, generation) = match google
        .stage(&plan.bucket, &plan.object, Bytes::from(archive))
        .await?
    {
        Staged::Uploaded(g) => (true, g),
        Staged::Reused(g) => {
            printer.info(&format!(
                "The same source is already at gs://{}/{}; nothing uploaded",
                plan.bucket, plan.object
            ));
            (false, g)
        }
        Staged::Differs => {
            return Err(Error::StagedObjectDiffers {
                object: format!("gs://{}/{}", plan.bucket, plan.object),
            });
        }
    };
    if google
        .ensure_repository(&project, &region, REPOSITORY, poll)
        .await?
    {
        printer.info(&format!(
            "Created the Artifact Registry repository {REPOSITORY} in {region}"
        ));
    }
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
    let cloud_build = submitted.is_none();
    let operation = match submitted {
        Some(op) => op,
        None => {
            let parent = format!("projects/{project}/locations/{}", plan.build_location);
            let request = cloud_build_request(plan, generation, env, account.as_deref());
            google.create_build(&parent, request).await?
        }
    };
    let build = follow(google, printer, env.service.name.as_ref(), &operation, poll).await?;
    if build.status != Status::Success {
        return Err(failure(google, env.service.name.as_ref(), &build).await);
    }
    let digest = build
        .results
        .as_ref()
        .and_then(|r| {
            r.images
                .iter()
                .find(|i| i.name.starts_with(&plan.image) && !i.digest.is_empty())
                .or_else(|| r.images.iter().find(|i| !i.digest.is_empty()))
        })
        .map(|i| i.digest.clone())
        .ok_or_else(|| Error::BuildFailed {
            service: env.service.name.to_string(),
            step: None,
            log_tail: vec!["the build succeeded but reported no image digest".into()],
            log_url: Some(build.log_url.clone()).filter(|u| !u.is_empty()),
        })?;
    let image = format!("{}@{digest}", plan.image);
    printer.success(&format!("Built {image} (build {})", build.id));
    plan.built = Some(Built {
        uploaded,
        build_id: build.id.clone(),
        image: image.clone(),
        cloud_build,
        log_url: build.log_url.clone(),
    });
    Ok(image)
}

/// The Cloud Build request: docker (with `-f` for a non-root Dockerfile) or
/// pack with gcloud's builder; the image tagged with the build id
/// (`$BUILD_ID`, substituted by Cloud Build) and the commit when known; the
/// source at the generation uploaded; the pool and the account the config
/// names. A build with an account of the user's own must send its logs to
/// Cloud Logging only or to a bucket of the user's
/// (cloud.google.com/build/docs/securing-builds/configure-user-specified-service-accounts):
/// Cloud Logging only, here.
fn cloud_build_request(
    plan: &SourcePlan,
    generation: i64,
    env: &Environment,
    account: Option<&str>,
) -> cb::Build {
    let mut images = vec![format!("{}:$BUILD_ID", plan.image)];
    images.extend(plan.tags().iter().map(|t| format!("{}:{t}", plan.image)));
    let step = match &plan.dockerfile {
        Some(file) => {
            let mut args = vec!["build".to_string()];
            for i in &images {
                args.extend(["-t".to_string(), i.clone()]);
            }
            args.extend(["-f".to_string(), file.clone(), ".".to_string()]);
            cb::BuildStep::new()
                .set_name("gcr.io/cloud-builders/docker")
                .set_args(args)
        }
        None => cb::BuildStep::new()
            .set_name("gcr.io/k8s-skaffold/pack")
            .set_entrypoint("pack")
            .set_args([
                "build",
                images[0].as_str(),
                "--builder",
                PACK_BUILDER,
                "--network",
                "cloudbuild",
            ]),
    };
    let mut steps = vec![step];
    if plan.dockerfile.is_none() {
        // pack publishes nothing by itself here; tag the rest with docker.
        for extra in images.iter().skip(1) {
            steps.push(
                cb::BuildStep::new()
                    .set_name("gcr.io/cloud-builders/docker")
                    .set_args(["tag", images[0].as_str(), extra.as_str()]),
            );
        }
    }
    let mut options = cb::BuildOptions::new();
    if let Some(pool) = &env.build.worker_pool {
        options = options.set_pool(cb::build_options::PoolOption::new().set_name(pool));
    }
    if account.is_some() {
        options = options.set_logging(cb::build_options::LoggingMode::CloudLoggingOnly);
    }
    cb::Build::new()
        .set_source(
            cb::Source::new().set_storage_source(
                cb::StorageSource::new()
                    .set_bucket(&plan.bucket)
                    .set_object(&plan.object)
                    .set_generation(generation),
            ),
        )
        .set_steps(steps)
        .set_images(images)
        .set_tags(["autosre-deploy"])
        .set_service_account(account.unwrap_or_default())
        .set_options(options)
}

/// gcloud's staging bucket: `run-sources-PROJECT-REGION`, the project made
/// safe for a bucket name (`:` and `.` to `_`, `google` to `elgoog`), and
/// the region shortened when the name would pass 63 characters
/// (`sources.py`, `_GetDefaultBucketName` and `_GetBucketName`). A region
/// that cannot be shortened keeps its name; Storage then refuses it.
pub(crate) fn bucket_name(project: &str, region: &str) -> String {
    /// Bucket names are at most 63 characters (sources.py `_MAX_BUCKET_NAME_LENGTH`).
    const MAX: usize = 63;
    let safe = project.replace([':', '.'], "_").replace("google", "elgoog");
    let name = format!("run-sources-{safe}-{region}");
    match (name.len() > MAX, shorten_region(region)) {
        (true, Some(short)) => format!("run-sources-{safe}-{short}"),
        _ => name,
    }
}

/// gcloud's `command_lib/run/sourcedeploys/region_name_util.py`,
/// `ShortenGcpRegion`: `[prefix-]continent-direction<N>[q]` with each part
/// abbreviated (`northamerica-northeast1` -> `na-ne1`); `None` for a region
/// it does not know.
pub(crate) fn shorten_region(region: &str) -> Option<String> {
    let continent = |c: &str| {
        Some(match c {
            "africa" => "af",
            "asia" => "as",
            "antarctica" => "an",
            "australia" => "au",
            "europe" => "eu",
            "me" => "me",
            "northamerica" => "na",
            "southamerica" => "sa",
            "us" => "us",
            "france" => "fr",
            "germany" => "de",
            _ => return None,
        })
    };
    let direction = |d: &str| {
        Some(match d {
            "north" => "n",
            "south" => "s",
            "east" => "e",
            "west" => "w",
            "northeast" => "ne",
            "southeast" => "se",
            "northwest" => "nw",
            "southwest" => "sw",
            "central" => "c",
            "prp" => "p",
            _ => return None,
        })
    };
    // `([a-z]+-)?([a-z]+)-([a-z]+)(\d{1,2})(q)?`
    let parts: Vec<&str> = region.split('-').collect();
    let (prefix, cont, rest) = match parts.as_slice() {
        [c, r] => ("", *c, *r),
        [p, c, r] => (*p, *c, *r),
        _ => return None,
    };
    let lower = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase());
    let (rest, quarantine) = match rest.strip_suffix('q') {
        Some(r) if r.ends_with(|c: char| c.is_ascii_digit()) => (r, true),
        _ => (rest, false),
    };
    let digits = rest.len() - rest.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (area, num) = rest.split_at(rest.len() - digits);
    if !(1..=2).contains(&digits)
        || !lower(area)
        || !lower(cont)
        || !(prefix.is_empty() || lower(prefix))
    {
        return None;
    }
    let prefix = match (quarantine, prefix) {
        (true, _) => "q-".to_string(),
        (false, "") => String::new(),
        (false, "tpcl") => "t-".to_string(),
        (false, "prp") => "p-".to_string(),
        (false, p) => format!("{p}-"),
    };
    Some(format!(
        "{prefix}{}-{}{num}",
        continent(cont)?,
        direction(area)?
    ))
}

/// The bucket to stage in: `default` when it is (or is made) this
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
) -> Result<String, Error> {
    let refused = match google.ensure_bucket(project, number, region, default).await {
        Ok(BucketCheck::Owned) => return Ok(default.to_string()),
        Ok(BucketCheck::Created) => {
            printer.info(&format!("Created the staging bucket gs://{default}"));
            return Ok(default.to_string());
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
        BucketCheck::Created | BucketCheck::Owned => Ok(random),
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
        tokio::time::sleep(poll).await;
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

/// The failing step, the end of its log (from the logs bucket, where Cloud
/// Build writes `log-BUILD_ID.txt` with `Step #N` prefixes), and the log URL.
async fn failure(google: &Google, service: &str, build: &cb::Build) -> Error {
    let failing = build.steps.iter().enumerate().find(|(_, s)| {
        matches!(
            s.status,
            Status::Failure
                | Status::InternalError
                | Status::Timeout
                | Status::Cancelled
                | Status::Expired
        )
    });
    let step = failing.map(|(i, s)| match s.id.is_empty() {
        true => format!("#{i} ({})", s.name),
        false => format!("#{i} {} ({})", s.id, s.name),
    });
    let mut log_tail = Vec::new();
    if let Some((bucket, prefix)) = logs_location(&build.logs_bucket) {
        let object = format!("{prefix}log-{}.txt", build.id);
        if let Ok(Some(bytes)) = google.read_object(&bucket, &object).await {
            let text = String::from_utf8_lossy(&bytes);
            log_tail = tail_of_step(&text, failing.map(|(i, _)| i));
        }
    }
    if log_tail.is_empty() {
        if let Some(info) = &build.failure_info {
            log_tail.push(info.detail.clone());
        } else if !build.status_detail.is_empty() {
            log_tail.push(build.status_detail.clone());
        }
    }
    Error::BuildFailed {
        service: service.to_string(),
        step,
        log_tail,
        log_url: Some(build.log_url.clone()).filter(|u| !u.is_empty()),
    }
}

/// `gs://bucket/some/path` -> (`bucket`, `some/path/`).
fn logs_location(logs_bucket: &str) -> Option<(String, String)> {
    let rest = logs_bucket.strip_prefix("gs://")?;
    let (bucket, path) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = match path.trim_matches('/') {
        "" => String::new(),
        p => format!("{p}/"),
    };
    (!bucket.is_empty()).then(|| (bucket.to_string(), prefix))
}

/// The last lines of step `step`'s output (`Step #N` prefixed lines), or of
/// the whole log when the step is unknown or has none.
pub(crate) fn tail_of_step(log: &str, step: Option<usize>) -> Vec<String> {
    let lines: Vec<&str> = log.lines().collect();
    let of_step: Vec<&str> = match step {
        Some(i) => {
            let prefix = format!("Step #{i}");
            lines
                .iter()
                .copied()
                .filter(|l| {
                    l.strip_prefix(&prefix)
                        .is_some_and(|r| !r.starts_with(|c: char| c.is_ascii_digit()))
                })
                .collect()
        }
        None => Vec::new(),
    };
    let chosen = if of_step.is_empty() { lines } else { of_step };
    let start = chosen.len().saturating_sub(LOG_TAIL);
    chosen[start..].iter().map(|l| l.to_string()).collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_tail_is_the_failing_steps_own_lines() {
        let log = "starting build\nStep #0: ok\nStep #1: compiling\nStep #1: error: boom\nStep #10: other\nDONE\n";
        assert_eq!(
            tail_of_step(log, Some(1)),
            ["Step #1: compiling", "Step #1: error: boom"]
        );
        assert_eq!(tail_of_step(log, Some(7)).len(), 6);
        let long: String = (0..50).map(|i| format!("line {i}\n")).collect();
        let tail = tail_of_step(&long, None);
        assert_eq!(tail.len(), LOG_TAIL);
        assert_eq!(tail.last().map(String::as_str), Some("line 49"));
    }

    /// gcloud's `_GetBucketName` and `ShortenGcpRegion`: a 30-character
    /// project in `northamerica-northeast1` passes 63 characters and gets
    /// the short region; a short name keeps the region whole.
    #[test]
    fn the_staging_bucket_is_named_as_gcloud_names_it() {
        assert_eq!(
            bucket_name("acme-sre-staging", "us-central1"),
            "run-sources-acme-sre-staging-us-central1"
        );
        let long = "a-thirty-character-project-id0";
        assert_eq!(long.len(), 30);
        let name = bucket_name(long, "northamerica-northeast1");
        assert_eq!(name, format!("run-sources-{long}-na-ne1"));
        assert!(name.len() <= 63);
        assert_eq!(
            bucket_name("example.com:google-sre", "us-east1"),
            "run-sources-example_com_elgoog-sre-us-east1"
        );
        for (region, short) in [
            ("us-central1", Some("us-c1")),
            ("europe-west10", Some("eu-w10")),
            ("asia-southeast2", Some("as-se2")),
            ("me-central2", Some("me-c2")),
            ("us-east1q", Some("q-us-e1")),
            ("prp-us-central1", Some("p-us-c1")),
            ("mars-central1", None),
            ("us-central", None),
            ("us-central123", None),
        ] {
            assert_eq!(shorten_region(region).as_deref(), short, "{region}");
        }
    }

    #[test]
    fn logs_bucket_urls_split_into_bucket_and_prefix() {
        assert_eq!(
            logs_location("gs://123.cloudbuild-logs.googleusercontent.com"),
            Some((
                "123.cloudbuild-logs.googleusercontent.com".into(),
                String::new()
            ))
        );
        assert_eq!(
            logs_location("gs://b/logs/"),
            Some(("b".into(), "logs/".into()))
        );
        assert_eq!(logs_location("b"), None);
    }
}
