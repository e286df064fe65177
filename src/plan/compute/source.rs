//! A source deploy's steps in the plan: the staging bucket, the upload, the
//! repository and the build, each said as live state found what it writes
//! to (create, or use what is there), then the rollout of the built digest.

use crate::plan::live::{LiveState, Presence};
use crate::source::build::{
    SourcePlan, SourceStep, StepAction, StepKind, human_size, repository_name,
};

use crate::config::Environment;

/// `source` with the build's account as live state found it and its steps.
pub(super) fn source_plan(env: &Environment, source: &SourcePlan, live: &LiveState) -> SourcePlan {
    let mut s = source.clone().builds_as(live);
    s.steps = steps(env, &s, live);
    s
}

fn steps(env: &Environment, s: &SourcePlan, live: &LiveState) -> Vec<SourceStep> {
    let staging = live.staging.as_ref();
    let number = live.project_number.as_deref();
    let bucket = format!("gs://{}", s.bucket);
    // gcloud stages in a new `run-sources-<uuid>` bucket when the default
    // one is another project's (`sources.py`, `_GetOrCreateBucket`).
    let (bucket_action, bucket_words, new_bucket) = match staging.map(|st| &st.bucket) {
        Some(Presence::Present(owner)) if Some(owner.as_str()) == number => (
            StepAction::Use,
            format!("stage in {bucket} (this project's)"),
            false,
        ),
        Some(Presence::Present(_)) => (
            StepAction::Create,
            format!(
                "create a new staging bucket run-sources-<random>: {bucket} is another project's"
            ),
            true,
        ),
        Some(Presence::Absent) => (
            StepAction::Create,
            format!("create the staging bucket {bucket}"),
            false,
        ),
        Some(Presence::Unread) | None => (
            StepAction::CreateIfMissing,
            format!(
                "stage in {bucket}, created unless it is there, or in a new run-sources-<random> bucket when it is not this project's (it could not be read)"
            ),
            false,
        ),
    };
    let object = format!("{bucket}/{}", s.object);
    let archive = format!(
        "{} archive sha256:{}",
        human_size(s.package.archive_bytes),
        &s.package.sha256[..s.package.sha256.len().min(12)]
    );
    let (upload_action, upload_words) = match staging.map(|st| &st.object) {
        _ if new_bucket => (StepAction::Create, format!("upload the {archive}")),
        Some(Presence::Present(())) => (
            StepAction::Use,
            format!("the {archive} is at {object} already: nothing to upload"),
        ),
        Some(Presence::Absent) => (
            StepAction::Create,
            format!("upload the {archive} to {object}"),
        ),
        Some(Presence::Unread) | None => (
            StepAction::CreateIfMissing,
            format!("upload the {archive} to {object} unless it is there (it could not be read)"),
        ),
    };
    let repository = repository_name(env);
    let (repo_action, repo_words) = match staging.map(|st| &st.repository) {
        Some(Presence::Present(())) => (
            StepAction::Use,
            format!("push to the repository {repository}"),
        ),
        Some(Presence::Absent) => (
            StepAction::Create,
            format!("create the Docker repository {repository}"),
        ),
        Some(Presence::Unread) | None => (
            StepAction::CreateIfMissing,
            format!(
                "create the Docker repository {repository} unless it is there (it could not be read)"
            ),
        ),
    };
    let with = match &s.dockerfile {
        Some(file) => format!("docker ({file})"),
        None => "buildpacks".to_string(),
    };
    // Cloud Run's `builds:submit` takes only the root Dockerfile; another
    // one builds through Cloud Build directly (see `SourcePlan`).
    let via = match s.custom_dockerfile() {
        Some(_) => "Cloud Build",
        None => "Cloud Run's builds:submit",
    };
    let step = |step, action, target: &str, description: String| SourceStep {
        step,
        action,
        target: target.to_string(),
        description,
    };
    vec![
        step(StepKind::Bucket, bucket_action, &bucket, bucket_words),
        step(StepKind::Upload, upload_action, &object, upload_words),
        step(StepKind::Repository, repo_action, &repository, repo_words),
        step(
            StepKind::Build,
            StepAction::Create,
            &s.image,
            format!(
                "build {} with {with} through {via}, then deploy the built digest",
                s.image
            ),
        ),
    ]
}
