//! The names of what a plan reads and writes, from the config alone: the
//! service, its IAM resource and its IAP resource. Pure and shared by the
//! reads (`live`), the computed plan (`compute`) and the commands that name
//! the service without a plan (`secrets`, `release`).

use crate::config::Environment;
use crate::gcp::iam::PolicyResource;

/// `projects/P/locations/R/services/S`.
pub(crate) fn service_name(env: &Environment) -> String {
    format!(
        "projects/{}/locations/{}/services/{}",
        env.project, env.region, env.service.name
    )
}

pub(crate) fn service_resource(env: &Environment) -> PolicyResource {
    PolicyResource::Service {
        project: env.project.to_string(),
        region: env.region.to_string(),
        service: env.service.name.to_string(),
    }
}

/// The service's IAP resource, once the project number is known.
pub(crate) fn iap_resource(
    env: &Environment,
    project_number: Option<&str>,
) -> Option<PolicyResource> {
    Some(PolicyResource::IapWeb {
        project: env.project.to_string(),
        project_number: project_number?.to_string(),
        region: env.region.to_string(),
        service: env.service.name.to_string(),
    })
}

/// IAP's service agent, which must be able to invoke the service
/// (what gcloud's `--iap` grants: gcloud's `command_lib/run/serverless_operations.py`;
/// <https://cloud.google.com/run/docs/securing/identity-aware-proxy-cloud-run>).
pub(crate) fn iap_agent(project_number: &str) -> String {
    format!("serviceAccount:service-{project_number}@gcp-sa-iap.iam.gserviceaccount.com")
}
