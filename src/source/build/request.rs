//! The Cloud Build request of a build that `builds:submit` cannot make.

use google_cloud_build_v1::model as cb;

use super::SourcePlan;
use crate::config::Environment;

/// The builder gcloud's Cloud Build fallback uses for buildpacks.
const PACK_BUILDER: &str = "gcr.io/buildpacks/builder:latest";

/// The Cloud Build request: docker (with `-f` for a non-root Dockerfile) or
/// pack with gcloud's builder; the image tagged with the build id
/// (`$BUILD_ID`, substituted by Cloud Build) and the commit when known; the
/// source at the generation uploaded; the pool and the account the config
/// names. A build with an account of the user's own must send its logs to
/// Cloud Logging only or to a bucket of the user's
/// (cloud.google.com/build/docs/securing-builds/configure-user-specified-service-accounts):
/// Cloud Logging only, here.
pub(super) fn cloud_build_request(
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
