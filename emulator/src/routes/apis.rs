//! The APIs a world may disable, and the refusal Google sends for a disabled one, checked
//! before any route's permission check.

use serde_json::{Value, json};

use super::{Ctx, Route};
use crate::error::ApiError;
use crate::journal::Api;

/// The APIs a world may disable, by service name, with the title Google's refusal names.
/// Cloud Storage is not among them: its JSON API answers in an error shape of its own.
const APIS: [(&str, Api, &str); 8] = [
    ("run.googleapis.com", Api::Run, "Cloud Run Admin API"),
    (
        "secretmanager.googleapis.com",
        Api::SecretManager,
        "Secret Manager API",
    ),
    (
        "iam.googleapis.com",
        Api::Iam,
        "Identity and Access Management (IAM) API",
    ),
    (
        "iamcredentials.googleapis.com",
        Api::IamCredentials,
        "IAM Service Account Credentials API",
    ),
    (
        "cloudresourcemanager.googleapis.com",
        Api::ResourceManager,
        "Cloud Resource Manager API",
    ),
    (
        "iap.googleapis.com",
        Api::Iap,
        "Cloud Identity-Aware Proxy API",
    ),
    (
        "cloudbuild.googleapis.com",
        Api::CloudBuild,
        "Cloud Build API",
    ),
    (
        "artifactregistry.googleapis.com",
        Api::ArtifactRegistry,
        "Artifact Registry API",
    ),
];

/// The service names `disabledApis` accepts.
pub(crate) fn disableable() -> Vec<&'static str> {
    APIS.iter().map(|(s, _, _)| *s).collect()
}

pub(crate) fn api_named(service: &str) -> Option<Api> {
    APIS.iter()
        .find(|(s, _, _)| *s == service)
        .map(|(_, a, _)| *a)
}

/// A request to an API the world disabled: 403 PERMISSION_DENIED with the
/// `google.rpc.ErrorInfo` Google documents for it, reason `SERVICE_DISABLED`, domain
/// `googleapis.com`, metadata `service` and `consumer` (`projects/NUMBER`)
/// (googleapis/googleapis `google/api/error_reason.proto`; cloud.google.com/apis/design/errors),
/// and the message Google sends (quoted in terraform-google-modules/
/// terraform-google-project-factory#753 for the Cloud Build API).
pub(super) fn service_disabled(api: Api, c: &Ctx<'_>) -> ApiError {
    let (service, _, title) = APIS
        .iter()
        .find(|(_, a, _)| *a == api)
        .copied()
        .unwrap_or(("", api, ""));
    // The consumer: the project the path names, else the world's first.
    let number =
        c.p.first()
            .and_then(|p| c.st.project(p))
            .or_else(|| c.st.projects.first())
            .map_or(0, |p| p.number);
    ApiError::permission_denied(format!(
        "{title} has not been used in project {number} before or it is disabled. Enable it by \
         visiting https://console.developers.google.com/apis/api/{service}/overview?project={number} \
         then retry. If you enabled this API recently, wait a few minutes for the action to \
         propagate to our systems and retry."
    ))
    .with_detail(json!({
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "SERVICE_DISABLED",
        "domain": "googleapis.com",
        "metadata": {"service": service, "consumer": format!("projects/{number}")},
    }))
}

impl Route {
    pub(crate) fn call(&self, ctx: &mut Ctx<'_>) -> Result<Value, ApiError> {
        // An API not enabled answers before any permission is checked. Cloud Run's
        // builds:submit starts a Cloud Build in the caller's project, so it needs Cloud
        // Build enabled too (how Google words that refusal is not documented: the same
        // ErrorInfo, naming Cloud Build, is modelled).
        let needs = match self.spec.method_id {
            "run.projects.locations.builds.submit" => vec![self.api, Api::CloudBuild],
            _ => vec![self.api],
        };
        if let Some(api) = needs
            .into_iter()
            .find(|a| ctx.st.behaviour.disabled_apis.contains(a))
        {
            return Err(service_disabled(api, ctx));
        }
        crate::authz::authorize(self.spec.method_id, ctx)?;
        (self.handler)(ctx)
    }
}
