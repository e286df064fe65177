//! World options for behaviours Google leaves undocumented or that depend on the project's
//! setup (organisation policies, the caller's permissions). Each is read from the world file
//! (see `emulator/README.md`) and kept in [`crate::State`] while the emulator runs.

use serde::Deserialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

use crate::error::ApiError;
use crate::iam::Policy;
use crate::state::State;

/// What `services.patch?validateOnly=true&allowMissing=true` answers for a service that does
/// not exist. Google does not document it, so tests try each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MissingServiceValidation {
    /// A done Operation whose `response` is the would-be Service.
    #[default]
    DoneOperation,
    /// An Operation not done yet; polling it finishes it as `operationPolls` says.
    PendingOperation,
    /// 404 NOT_FOUND, as if `allowMissing` were ignored.
    NotFound,
    /// 403 PERMISSION_DENIED.
    PermissionDenied,
}

/// What validateOnly answers when the service's Artifact Registry image has not been pushed
/// (a source deploy validates before its build). Google does not document whether
/// validateOnly resolves the image, so tests try each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MissingImageValidation {
    /// The image is not resolved: the validation goes on as if it existed.
    #[default]
    NotResolved,
    /// 404 NOT_FOUND "Image '...' not found.".
    NotFound,
    /// A done Operation whose `error` is NOT_FOUND (code 5), as a rollout check.
    FailedOperation,
}

/// `validateOnly: {missingService: ..., checkSecrets: ..., missingImage: ...}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ValidateOnly {
    #[serde(default)]
    pub(crate) missing_service: MissingServiceValidation,
    /// validateOnly also checks that the runtime account can read the secrets (default no).
    #[serde(default)]
    pub(crate) check_secrets: bool,
    #[serde(default)]
    pub(crate) missing_image: MissingImageValidation,
}

/// `revisionFailure: {code: 9 | 13, revisionPrefix: bool}`: how a failed rollout's operation
/// error looks. Observed: code 13, and 9 as well; the message with or without the
/// "Revision 'NAME' is not ready and cannot serve traffic. " prefix.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RevisionFailure {
    /// The `google.rpc.Code`; by default 9 (FAILED_PRECONDITION) when the runtime account
    /// may not read a secret, 13 (INTERNAL) otherwise.
    #[serde(default)]
    pub(crate) code: Option<i32>,
    #[serde(default = "crate::world::yes")]
    pub(crate) revision_prefix: bool,
}

impl Default for RevisionFailure {
    fn default() -> Self {
        RevisionFailure {
            code: None,
            revision_prefix: true,
        }
    }
}

/// `failRevisions: {reason: CONTAINER_MISSING, message: "...", only: "/locations/R/"}`: every new
/// revision (of the services `only` matches) fails
/// with this `Condition.reason` (a run.v2 `CommonReason` name) and message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct FailRevisions {
    pub(crate) reason: String,
    pub(crate) message: String,
    /// Only the revisions of services whose name
    /// (`projects/P/locations/R/services/S`) contains this, e.g. `/locations/europe-west1/`:
    /// one region's rollout fails while another's succeeds. Every service when absent.
    #[serde(default)]
    pub(crate) only: Option<String>,
}

/// A project's organisation policy constraints the emulator models.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct OrgPolicy {
    /// `constraints/iam.allowedPolicyMemberDomains`: `allUsers` and `allAuthenticatedUsers`
    /// may not be added to any allow policy in the project.
    #[serde(default)]
    pub(crate) domain_restricted_sharing: bool,
}

/// A custom role `projects/P/roles/ID` and its permissions.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CustomRole {
    pub(crate) id: String,
    pub(crate) permissions: Vec<String>,
}

/// Everything above, as the running emulator holds it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Behaviour {
    pub(crate) validate_only: ValidateOnly,
    pub(crate) revision_failure: RevisionFailure,
    pub(crate) fail_revisions: Option<FailRevisions>,
    /// Project ids under domain-restricted sharing.
    pub(crate) restricted_projects: BTreeSet<String>,
    /// `projects/P/roles/ID` -> permissions.
    pub(crate) custom_roles: BTreeMap<String, Vec<String>>,
    /// The APIs not enabled (`disabledApis`).
    pub(crate) disabled_apis: Vec<crate::journal::Api>,
    /// Project number -> setIamPolicy calls adding IAP's service agent still to refuse
    /// (`iapAgentPending`).
    pub(crate) iap_agent_pending: BTreeMap<u64, u32>,
}

/// IAP's service agent not created yet (`iapAgentPending`): a setIamPolicy that adds
/// `serviceAccount:service-NUMBER@gcp-sa-iap.iam.gserviceaccount.com` is 400
/// INVALID_ARGUMENT, as for any account that does not exist, and nothing is written. Google
/// creates the agent when IAP is first used in the project; until then gcloud's `--iap`
/// invoker grant answers 400, which gcloud retries 10 times 15 s apart
/// (gcloud's `command_lib/run/serverless_operations.py`). Each refusal counts down.
pub(crate) fn check_iap_agent(
    st: &mut State,
    before: &Policy,
    after: &Policy,
) -> Result<(), ApiError> {
    let has = |p: &Policy, m: &str| p.bindings.iter().any(|b| b.members.iter().any(|x| x == m));
    let added = st
        .behaviour
        .iap_agent_pending
        .iter()
        .filter(|(_, left)| **left > 0)
        .map(|(number, _)| *number)
        .find(|n| {
            let agent = format!("serviceAccount:service-{n}@gcp-sa-iap.iam.gserviceaccount.com");
            has(after, &agent) && !has(before, &agent)
        });
    let Some(number) = added else {
        return Ok(());
    };
    if let Some(left) = st.behaviour.iap_agent_pending.get_mut(&number) {
        *left -= 1;
    }
    Err(ApiError::invalid(format!(
        "Service account service-{number}@gcp-sa-iap.iam.gserviceaccount.com does not exist."
    )))
}

/// Domain-restricted sharing: a setIamPolicy that adds `allUsers` or
/// `allAuthenticatedUsers` to a policy in a restricted project is refused with 400
/// FAILED_PRECONDITION and a `google.rpc.PreconditionFailure` whose violation type is
/// `constraints/iam.allowedPolicyMemberDomains` (the shape Terraform prints,
/// terraform-google-modules/terraform-example-foundation#1454). The message is Resource
/// Manager's for project policies and Cloud Run's (with "perhaps due to an organization
/// policy", GoogleCloudPlatform/genai-for-marketing#153) for the others.
pub(crate) fn check_domain_restriction(
    st: &State,
    key: &str,
    before: &Policy,
    after: &Policy,
) -> Result<(), ApiError> {
    let project = key.split('/').nth(1).unwrap_or_default();
    if !st.behaviour.restricted_projects.contains(project) {
        return Ok(());
    }
    let had = |m: &str| {
        before
            .bindings
            .iter()
            .any(|b| b.members.iter().any(|x| x == m))
    };
    let added: Vec<&str> = after
        .bindings
        .iter()
        .flat_map(|b| b.members.iter())
        .map(String::as_str)
        .filter(|m| matches!(*m, "allUsers" | "allAuthenticatedUsers") && !had(m))
        .collect();
    let Some(first) = added.first() else {
        return Ok(());
    };
    let message = if key.matches('/').count() == 1 {
        "One or more users named in the policy do not belong to a permitted customer."
    } else {
        "One or more users named in the policy do not belong to a permitted customer, perhaps due to an organization policy."
    };
    Err(ApiError::failed_precondition(message).with_detail(json!({
        "@type": "type.googleapis.com/google.rpc.PreconditionFailure",
        "violations": [{
            "type": "constraints/iam.allowedPolicyMemberDomains",
            "subject": format!("orgpolicy:projects/{project}?configvalue={first}"),
            "description": format!("User {first} is not in permitted organization."),
        }],
    })))
}
