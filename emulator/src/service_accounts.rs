//! IAM v1 service accounts: get, list, create.
//!
//! From the iam.v1 discovery document: the project segment may be `-` ("Using `-` as a
//! wildcard for the `PROJECT_ID` will infer the project from the account"), and the account
//! may be named by email or unique id. Google answers an unknown account with 404 "Unknown
//! service account", and a duplicate create with 409 "Service account X already exists
//! within project projects/P.".

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::state::{ServiceAccount, State};

pub(crate) fn account_json(sa: &ServiceAccount) -> Value {
    let mut out = Map::new();
    out.insert(
        "name".into(),
        format!("projects/{}/serviceAccounts/{}", sa.project_id, sa.email).into(),
    );
    out.insert("projectId".into(), sa.project_id.clone().into());
    out.insert("uniqueId".into(), sa.unique_id.clone().into());
    out.insert("email".into(), sa.email.clone().into());
    if let Some(d) = &sa.display_name {
        out.insert("displayName".into(), d.clone().into());
    }
    if let Some(d) = &sa.description {
        out.insert("description".into(), d.clone().into());
    }
    out.insert(
        "etag".into(),
        crate::util::b64(&crate::util::hash_bytes(&[&sa.email])[..8]).into(),
    );
    out.insert("oauth2ClientId".into(), sa.unique_id.clone().into());
    if sa.disabled {
        out.insert("disabled".into(), true.into());
    }
    Value::Object(out)
}

fn unknown() -> ApiError {
    ApiError::not_found("Unknown service account")
}

pub(crate) fn get(st: &State, project: &str, account: &str) -> Result<Value, ApiError> {
    let sa = st.service_account_by_ref(account).ok_or_else(unknown)?;
    if project != "-" && st.project(project).is_none_or(|p| p.id != sa.project_id) {
        return Err(unknown());
    }
    Ok(account_json(sa))
}

pub(crate) fn list(st: &State, project: &str) -> Result<Value, ApiError> {
    let p = st.project(project).ok_or_else(|| {
        ApiError::permission_denied(format!("Permission denied on resource project {project}."))
    })?;
    let accounts: Vec<Value> = st
        .service_accounts
        .values()
        .filter(|s| s.project_id == p.id)
        .map(account_json)
        .collect();
    Ok(if accounts.is_empty() {
        json!({})
    } else {
        json!({"accounts": accounts})
    })
}

/// `accountId` "must be 6-30 characters long, and match the regular expression
/// `[a-z]([-a-z0-9]*[a-z0-9])`" (iam.v1 discovery, CreateServiceAccountRequest.accountId).
pub(crate) fn create(st: &mut State, project: &str, body: &Value) -> Result<Value, ApiError> {
    let p = st
        .project(project)
        .ok_or_else(|| {
            ApiError::permission_denied(format!("Permission denied on resource project {project}."))
        })?
        .clone();
    let id = body
        .get("accountId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let valid = (6..=30).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(ApiError::invalid(format!(
            "Invalid account ID '{id}': it must be 6-30 characters long, and match the \
             regular expression [a-z]([-a-z0-9]*[a-z0-9])."
        )));
    }
    let email = format!("{id}@{}.iam.gserviceaccount.com", p.id);
    if st.service_accounts.contains_key(&email) {
        return Err(ApiError::already_exists(format!(
            "Service account {id} already exists within project projects/{}.",
            p.id
        )));
    }
    let sa = body.get("serviceAccount");
    let text = |k: &str| {
        sa.and_then(|s| s.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let email = st.create_service_account(&p.id, id, text("displayName"), text("description"));
    Ok(account_json(&st.service_accounts[&email]))
}

/// Project policies reject a `serviceAccount:` member that names an account of a known
/// project that does not exist: "INVALID_ARGUMENT: Service account X does not exist."
/// (gcloud output for `projects add-iam-policy-binding`). Google-managed accounts
/// (`service-N@gcp-sa-*.iam.gserviceaccount.com`, `N-compute@developer.gserviceaccount.com`)
/// are accepted when project number N is known.
pub(crate) fn check_project_member(st: &State, member: &str) -> Result<(), ApiError> {
    let Some(email) = member.strip_prefix("serviceAccount:") else {
        return Ok(());
    };
    let Some((name, domain)) = email.split_once('@') else {
        return Ok(());
    };
    let missing = || ApiError::invalid(format!("Service account {email} does not exist."));
    if let Some(agent_domain) = domain.strip_suffix(".iam.gserviceaccount.com") {
        if agent_domain.starts_with("gcp-sa-") {
            let known = name
                .strip_prefix("service-")
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|n| st.project_by_number(n).is_some());
            return if known || name.strip_prefix("service-").is_none() {
                Ok(())
            } else {
                Err(missing())
            };
        }
        if st.project(agent_domain).is_some() && !st.service_accounts.contains_key(email) {
            return Err(missing());
        }
    }
    Ok(())
}
