//! The IAM policy methods every API serves the same way (`getIamPolicy`, `setIamPolicy`,
//! `testIamPermissions`), over the state's policies keyed by canonical resource name, and
//! IAP's own request rules.

use serde_json::{Value, json};

use super::Ctx;
use crate::error::ApiError;
use crate::iam::SetRules;
use crate::service_accounts;
use crate::state::State;

/// The IAP resource a request names: only web services of Cloud Run are modelled.
pub(super) fn iap_resource(c: &Ctx<'_>) -> Result<String, ApiError> {
    let res = c.p[0].clone();
    match res.split('/').collect::<Vec<_>>().as_slice() {
        ["projects", _, "iap_web", kind, "services", _] if kind.starts_with("cloud_run-") => {
            Ok(res)
        }
        _ => Err(ApiError::not_found(format!(
            "Resource '{res}' was not found"
        ))),
    }
}

/// IAP's `SetIamPolicyRequest` has one field, `policy` (iap.v1.json; no `updateMask`, unlike
/// the other APIs' requests), and Google's JSON front end refuses a field a request message
/// does not declare: 400 "Invalid JSON payload received. Unknown name ...".
pub(super) fn only_policy(body: &Value) -> Result<(), ApiError> {
    let unknown = body
        .as_object()
        .into_iter()
        .flat_map(|o| o.keys())
        .find(|k| *k != "policy");
    match unknown {
        Some(k) => Err(ApiError::invalid(format!(
            "Invalid JSON payload received. Unknown name \"{k}\": Cannot find field."
        ))
        .with_detail(json!({
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{
                "description": format!("Invalid JSON payload received. Unknown name \"{k}\": Cannot find field.")
            }]
        }))),
        None => Ok(()),
    }
}

fn canonical_or_not_found(c: &Ctx<'_>, resource: &str) -> Result<String, ApiError> {
    if resource.starts_with("projects/") && resource.matches('/').count() == 1 {
        // Resource Manager hides missing projects behind 403.
        return c
            .st
            .canonical_resource(resource)
            .map_err(|_| ApiError::permission_denied("The caller does not have permission"));
    }
    c.st.canonical_resource(resource)
}

/// getIamPolicy: `options.requestedPolicyVersion` comes in the query (GET and IAM's POST)
/// or in the body (Resource Manager's POST `GetIamPolicyRequest.options`).
pub(super) fn get_iam(c: &mut Ctx<'_>, resource: &str) -> Result<Value, ApiError> {
    let key = canonical_or_not_found(c, resource)?;
    let requested =
        c.q.get("options.requestedPolicyVersion")
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| ApiError::invalid("Invalid requestedPolicyVersion."))
            })
            .transpose()?
            .or_else(|| {
                c.body
                    .pointer("/options/requestedPolicyVersion")
                    .and_then(|v| {
                        v.as_i64()
                            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    })
            })
            .unwrap_or(0);
    if !matches!(requested, 0 | 1 | 3) {
        return Err(ApiError::invalid(format!(
            "Invalid requested policy version {requested}: valid values are 0, 1, and 3."
        )));
    }
    let policy = c.st.policies.get(&key).cloned().unwrap_or_default();
    Ok(policy.to_json(requested as i32))
}

pub(super) fn set_iam(
    c: &mut Ctx<'_>,
    resource: &str,
    is_project: bool,
) -> Result<Value, ApiError> {
    let key = canonical_or_not_found(c, resource)?;
    let salt = c.st.next_salt();
    let before = c.st.policies.get(&key).cloned().unwrap_or_default();
    let mut policy = before.clone();
    {
        let st: &State = c.st;
        let check = |m: &str| {
            if is_project {
                service_accounts::check_project_member(st, m)
            } else {
                Ok(())
            }
        };
        let rules = SetRules {
            check_member: &check,
            is_project,
        };
        policy.set(&c.body, &rules, st.now(), &salt)?;
        crate::behaviour::check_domain_restriction(st, &key, &before.policy, &policy.policy)?;
    }
    crate::behaviour::check_iap_agent(c.st, &before.policy, &policy.policy)?;
    let requested = c
        .body
        .pointer("/policy/version")
        .and_then(Value::as_i64)
        .unwrap_or(1) as i32;
    let out = policy.to_json(requested.max(if policy.policy.version == 3 { 3 } else { 1 }));
    c.st.policies.insert(key, policy);
    Ok(out)
}

/// testIamPermissions: "Returns permissions that a caller has on the specified resource"
/// (the held subset; D-run/D-sm). Without `enforceCallerPermissions` the caller is treated as
/// an owner and holds everything asked.
pub(super) fn test_iam(c: &mut Ctx<'_>, resource: &str) -> Result<Value, ApiError> {
    canonical_or_not_found(c, resource)?;
    let mut perms = c.body.get("permissions").cloned().unwrap_or(json!([]));
    if let (Some(who), Some(list)) = (&c.st.caller_member, perms.as_array_mut()) {
        list.retain(|p| {
            p.as_str()
                .is_some_and(|p| crate::authz::holds(c.st, who, p, resource))
        });
    }
    Ok(if perms.as_array().is_some_and(|p| !p.is_empty()) {
        json!({"permissions": perms})
    } else {
        json!({})
    })
}
