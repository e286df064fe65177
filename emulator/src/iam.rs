//! IAM allow policies, one implementation for every resource kind the emulator serves
//! (projects, secrets, service accounts, Cloud Run services).
//!
//! What is modelled, and from where:
//! - `google/iam/v1/policy.proto` (`Policy`, `Binding`, `Policy.version`): etags, versions 1
//!   and 3, conditional bindings only with version 3, and "if you omit [the etag], IAM allows
//!   you to overwrite a version 3 policy with a version 1 policy" (blind overwrite).
//! - `google/iam/v1/iam_policy.proto` (`SetIamPolicyRequest.update_mask`): "If no mask is
//!   provided, the following default mask is used: `paths: "bindings, etag"`".
//! - `google/iam/v1/options.proto` (`GetPolicyOptions.requested_policy_version`): "Requests
//!   for policies with any conditional role bindings must specify version 3 ... if you
//!   specify version 3, but the policy has no conditional role bindings, the response uses
//!   version 1."
//! - IAM docs, "Troubleshooting withcond" (cloud.google.com/iam/docs/troubleshooting-withcond):
//!   a version-1 view of a conditional binding shows `ROLE_withcond_<hash>` and no condition.
//! - A stale etag answers 409 ABORTED with Google's "There were concurrent policy changes"
//!   message (cloud.google.com/iam/docs/policies#etag, "Using etags to avoid conflicts").
//! - An empty, never-written policy has etag `ACAB` (bytes 00 20 01), as Google returns.
//!
//! Etags are compared as decoded bytes: proto3 JSON accepts standard and URL-safe base64,
//! padded or not, and gcloud sends URL-safe.

use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::time::Duration;

use crate::error::ApiError;
use crate::util::{b64, b64_decode_any, hash_hex};

/// A binding's condition (`google.type.Expr`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct Condition {
    pub expression: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
}

/// One role binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Binding {
    pub role: String,
    pub members: Vec<String>,
    pub condition: Option<Condition>,
}

/// An allow policy as stored (always the full, version-3 view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// 3 when any binding is conditional, else 1.
    pub version: i32,
    pub bindings: Vec<Binding>,
    /// The raw etag bytes; the wire carries their base64.
    pub etag: Vec<u8>,
}

/// Etag of a policy nobody has written yet, as Google answers for one.
const EMPTY_ETAG: [u8; 3] = [0x00, 0x20, 0x01];

/// The stored policy of one resource, plus the bookkeeping the emulator needs.
#[derive(Debug, Clone)]
pub(crate) struct StoredPolicy {
    pub(crate) policy: Policy,
    pub(crate) audit_configs: Option<Value>,
    /// When (on the emulator clock) each unconditional (role, member) pair was granted
    /// through setIamPolicy; pairs from the world file are absent, i.e. granted long ago.
    pub(crate) granted: HashMap<(String, String), Duration>,
}

impl Default for StoredPolicy {
    fn default() -> Self {
        StoredPolicy {
            policy: Policy {
                version: 1,
                bindings: Vec::new(),
                etag: EMPTY_ETAG.to_vec(),
            },
            audit_configs: None,
            granted: HashMap::new(),
        }
    }
}

/// Rules that depend on the resource kind, supplied by the caller.
pub(crate) struct SetRules<'a> {
    /// Extra member check (project policies reject unknown service accounts).
    pub(crate) check_member: &'a dyn Fn(&str) -> Result<(), ApiError>,
    /// Project policies word unknown roles differently from other resources.
    pub(crate) is_project: bool,
}

impl StoredPolicy {
    fn has_conditions(&self) -> bool {
        self.policy.bindings.iter().any(|b| b.condition.is_some())
    }

    /// Replaces the etag with fresh bytes; `salt` makes them differ on every write.
    pub(crate) fn bump_etag(&mut self, salt: &str) {
        let hex = hash_hex(&[salt], 8);
        self.policy.etag = (0..8)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0))
            .collect();
        self.policy.version = if self.has_conditions() { 3 } else { 1 };
    }

    /// Adds `member` to `role` (unconditional), as a concurrent writer or a seed would.
    pub(crate) fn add_member(
        &mut self,
        role: &str,
        member: &str,
        condition: Option<Condition>,
        at: Option<Duration>,
    ) {
        match self
            .policy
            .bindings
            .iter_mut()
            .find(|b| b.role == role && b.condition == condition)
        {
            Some(b) if b.members.iter().any(|m| m == member) => return,
            Some(b) => b.members.push(member.to_string()),
            None => self.policy.bindings.push(Binding {
                role: role.to_string(),
                members: vec![member.to_string()],
                condition: condition.clone(),
            }),
        }
        if condition.is_none()
            && let Some(at) = at
        {
            self.granted
                .insert((role.to_string(), member.to_string()), at);
        }
    }

    /// The policy as getIamPolicy/setIamPolicy answer it for `requested_version`.
    pub(crate) fn to_json(&self, requested_version: i32) -> Value {
        let full = requested_version >= 3;
        let bindings: Vec<Value> = self
            .policy
            .bindings
            .iter()
            .map(|b| match (&b.condition, full) {
                (Some(c), true) => {
                    let mut cond = Map::new();
                    cond.insert("expression".into(), c.expression.clone().into());
                    if !c.title.is_empty() {
                        cond.insert("title".into(), c.title.clone().into());
                    }
                    if !c.description.is_empty() {
                        cond.insert("description".into(), c.description.clone().into());
                    }
                    json!({"role": b.role, "members": b.members, "condition": cond})
                }
                (Some(c), false) => {
                    json!({"role": withcond_role(&b.role, c), "members": b.members})
                }
                (None, _) => json!({"role": b.role, "members": b.members}),
            })
            .collect();
        let mut out = Map::new();
        let version = if full && self.has_conditions() { 3 } else { 1 };
        out.insert("version".into(), version.into());
        if !bindings.is_empty() {
            out.insert("bindings".into(), bindings.into());
        }
        if let Some(a) = &self.audit_configs {
            out.insert("auditConfigs".into(), a.clone());
        }
        out.insert("etag".into(), b64(&self.policy.etag).into());
        Value::Object(out)
    }

    /// setIamPolicy: validates `request` (a `SetIamPolicyRequest` body) and applies it.
    pub(crate) fn set(
        &mut self,
        request: &Value,
        rules: &SetRules<'_>,
        now: Duration,
        salt: &str,
    ) -> Result<(), ApiError> {
        let policy = request
            .get("policy")
            .filter(|p| p.is_object())
            .ok_or_else(|| ApiError::invalid("Request contains an invalid argument."))?;
        let mask: Vec<String> = match request.get("updateMask").and_then(Value::as_str) {
            Some(m) if !m.trim().is_empty() => m.split(',').map(|p| p.trim().to_string()).collect(),
            _ => vec!["bindings".into(), "etag".into()],
        };
        for path in &mask {
            if !matches!(
                path.as_str(),
                "bindings" | "etag" | "auditConfigs" | "version"
            ) {
                return Err(ApiError::invalid(format!(
                    "Invalid update_mask path: \"{path}\"."
                )));
            }
        }
        let version = match policy.get("version") {
            None | Some(Value::Null) => 0,
            Some(v) => v
                .as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .ok_or_else(|| ApiError::invalid("Invalid policy version."))?,
        };
        if !matches!(version, 0 | 1 | 3) {
            // policy.proto: "Valid values are 0, 1, and 3. Requests that specify an invalid
            // value are rejected."
            return Err(ApiError::invalid(format!(
                "Invalid policy version {version}: valid values are 0, 1, and 3."
            )));
        }
        let etag = match policy.get("etag").and_then(Value::as_str) {
            Some(e) if mask.iter().any(|m| m == "etag") => {
                Some(b64_decode_any(e).ok_or_else(|| ApiError::invalid("Invalid etag encoding."))?)
            }
            _ => None,
        };
        if let Some(etag) = &etag
            && *etag != self.policy.etag
        {
            return Err(ApiError::aborted(
                "There were concurrent policy changes. Please retry the whole \
                 read-modify-write with exponential backoff.",
            ));
        }
        let mut new_bindings = self.policy.bindings.clone();
        if mask.iter().any(|m| m == "bindings") {
            let parsed = parse_bindings(policy.get("bindings"), rules)?;
            let conditional = parsed.iter().any(|b| b.condition.is_some());
            if conditional && version < 3 {
                return Err(ApiError::invalid(
                    "Conditional role bindings require policy version 3; set \
                     `policy.version` to 3.",
                ));
            }
            // policy.proto: removing or changing bindings of a policy that has conditions
            // "must specify version 3"; only a blind write (no etag) may replace it with a
            // version-1 policy.
            if self.has_conditions() && etag.is_some() && version < 3 {
                return Err(ApiError::invalid(
                    "The policy has conditional role bindings; a read-modify-write of it \
                     must use policy version 3.",
                ));
            }
            new_bindings = parsed;
        }
        let old_pairs: Vec<(String, String)> = self.granted_pairs();
        self.policy.bindings = new_bindings;
        if mask.iter().any(|m| m == "auditConfigs") {
            self.audit_configs = policy
                .get("auditConfigs")
                .filter(|a| a.as_array().is_some_and(|a| !a.is_empty()))
                .cloned();
        }
        let new_pairs = self.granted_pairs();
        self.granted.retain(|k, _| new_pairs.contains(k));
        for pair in new_pairs {
            if !old_pairs.contains(&pair) {
                self.granted.insert(pair, now);
            }
        }
        self.bump_etag(salt);
        Ok(())
    }

    fn granted_pairs(&self) -> Vec<(String, String)> {
        self.policy
            .bindings
            .iter()
            .filter(|b| b.condition.is_none())
            .flat_map(|b| b.members.iter().map(|m| (b.role.clone(), m.clone())))
            .collect()
    }

    /// The roles bound unconditionally to a member `matches` accepts, counting a fresh grant
    /// only once `propagation` has passed since it. IAM changes are eventually consistent:
    /// "Typically 2 minutes, potentially 7 minutes or longer"
    /// (cloud.google.com/iam/docs/access-change-propagation).
    pub(crate) fn effective_roles(
        &self,
        matches: impl Fn(&str) -> bool,
        now: Duration,
        propagation: Duration,
    ) -> Vec<&str> {
        self.policy
            .bindings
            .iter()
            .filter(|b| b.condition.is_none())
            .filter(|b| {
                b.members.iter().any(|m| {
                    matches(m)
                        && self
                            .granted
                            .get(&(b.role.clone(), m.clone()))
                            .is_none_or(|at| now.saturating_sub(*at) >= propagation)
                })
            })
            .map(|b| b.role.as_str())
            .collect()
    }
}

/// `ROLE_withcond_<hash>`: the version-1 name of a conditional binding. Google's hash is
/// opaque (20 hex digits in the documented example); ours is derived from the condition.
fn withcond_role(role: &str, c: &Condition) -> String {
    format!(
        "{role}_withcond_{}",
        hash_hex(&[role, &c.expression, &c.title, &c.description], 10)
    )
}

fn parse_bindings(v: Option<&Value>, rules: &SetRules<'_>) -> Result<Vec<Binding>, ApiError> {
    let items = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(ApiError::invalid("Invalid JSON payload: bindings.")),
    };
    let mut out: Vec<Binding> = Vec::new();
    for item in items {
        let role = item
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if role.is_empty() {
            return Err(ApiError::invalid(
                "Role must be specified for each binding.",
            ));
        }
        let known_shape = role.starts_with("roles/")
            || (role.starts_with("projects/") || role.starts_with("organizations/"))
                && role.contains("/roles/");
        if !known_shape || role.contains("_withcond_") {
            // A `_withcond_` name is a display artefact of the version-1 view, not a role;
            // Google rejects it like any unknown role (troubleshooting-withcond: "specify
            // version 3 when you get or set an allow policy").
            return Err(ApiError::invalid(if rules.is_project {
                format!("Role ({role}) does not exist in the resource's hierarchy.")
            } else {
                format!("Role {role} is not supported for this resource.")
            }));
        }
        let condition = match item.get("condition") {
            None | Some(Value::Null) => None,
            Some(c) => {
                let expression = c
                    .get("expression")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if expression.trim().is_empty() {
                    return Err(ApiError::invalid("Condition expression must be specified."));
                }
                let text = |k: &str| {
                    c.get(k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                Some(Condition {
                    expression: expression.to_string(),
                    title: text("title"),
                    description: text("description"),
                })
            }
        };
        let members: Vec<String> = item
            .get("members")
            .and_then(Value::as_array)
            .map(|m| {
                m.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        for m in &members {
            validate_member(m)?;
            (rules.check_member)(m)?;
        }
        // Google keeps one binding per (role, condition) and each member once.
        match out
            .iter_mut()
            .find(|b| b.role == role && b.condition == condition)
        {
            Some(b) => {
                for m in members {
                    if !b.members.contains(&m) {
                        b.members.push(m);
                    }
                }
            }
            None => {
                let mut uniq: Vec<String> = Vec::new();
                for m in members {
                    if !uniq.contains(&m) {
                        uniq.push(m);
                    }
                }
                out.push(Binding {
                    role,
                    members: uniq,
                    condition,
                });
            }
        }
    }
    out.retain(|b| !b.members.is_empty());
    Ok(out)
}

/// Principal identifiers, from the `Binding.members` documentation in `policy.proto`
/// (allUsers, allAuthenticatedUsers, user:, serviceAccount:, group:, domain:, principal://,
/// principalSet://, deleted:user|serviceAccount|group:...?uid=) plus the legacy
/// projectOwner:/projectEditor:/projectViewer: convenience values.
pub(crate) fn validate_member(m: &str) -> Result<(), ApiError> {
    let bad = || ApiError::invalid("Policy members must be of the form \"<type>:<value>\".");
    if m == "allUsers" || m == "allAuthenticatedUsers" {
        return Ok(());
    }
    if m.starts_with("principal://") || m.starts_with("principalSet://") {
        return Ok(());
    }
    let rest = m.strip_prefix("deleted:").unwrap_or(m);
    let (kind, value) = rest.split_once(':').ok_or_else(bad)?;
    if value.is_empty() {
        return Err(bad());
    }
    let email = value.split('?').next().unwrap_or_default();
    let valid_email = |e: &str| {
        e.split_once('@')
            .is_some_and(|(a, d)| !a.is_empty() && d.contains('.') && !e.contains(' '))
    };
    match kind {
        "user" | "serviceAccount" | "group" if valid_email(email) => Ok(()),
        "user" | "serviceAccount" | "group" => Err(ApiError::invalid(format!(
            "Invalid principal identifier {m}: {kind} needs an email address."
        ))),
        "domain" | "projectOwner" | "projectEditor" | "projectViewer"
            if !m.starts_with("deleted:") =>
        {
            Ok(())
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> SetRules<'static> {
        SetRules {
            check_member: &|_| Ok(()),
            is_project: false,
        }
    }

    #[test]
    fn members_are_validated() {
        for ok in [
            "user:a@example.com",
            "serviceAccount:x@p.iam.gserviceaccount.com",
            "group:g@example.com",
            "domain:example.com",
            "allUsers",
            "allAuthenticatedUsers",
            "principal://iam.googleapis.com/x",
            "principalSet://iam.googleapis.com/y",
            "deleted:user:a@example.com?uid=123",
        ] {
            assert!(validate_member(ok).is_ok(), "{ok}");
        }
        for bad in [
            "alice",
            "user:",
            "user:alice",
            "robot:x@y.z",
            "deleted:domain:x.com",
        ] {
            assert_eq!(
                validate_member(bad).unwrap_err().status,
                "INVALID_ARGUMENT",
                "{bad}"
            );
        }
    }

    #[test]
    fn stale_etag_is_aborted_and_blind_write_wins() {
        let mut p = StoredPolicy::default();
        let now = Duration::ZERO;
        let req = json!({"policy": {"bindings": [{"role": "roles/viewer", "members": ["user:a@x.com"]}]}});
        p.set(&req, &rules(), now, "1").unwrap();
        let stale = json!({"policy": {"etag": "ACAB", "bindings": []}});
        assert_eq!(
            p.set(&stale, &rules(), now, "2").unwrap_err().status,
            "ABORTED"
        );
        let blind = json!({"policy": {"bindings": []}});
        p.set(&blind, &rules(), now, "3").unwrap();
        assert!(p.policy.bindings.is_empty());
    }

    #[test]
    fn conditional_bindings_need_version_3_and_show_withcond_at_version_1() {
        let mut p = StoredPolicy::default();
        let now = Duration::ZERO;
        let cond =
            json!({"expression": "request.time < timestamp('2030-01-01T00:00:00Z')", "title": "t"});
        let v1 = json!({"policy": {"bindings": [{"role": "roles/viewer", "members": ["user:a@x.com"], "condition": cond}]}});
        assert_eq!(
            p.set(&v1, &rules(), now, "1").unwrap_err().status,
            "INVALID_ARGUMENT"
        );
        let v3 = json!({"policy": {"version": 3, "bindings": [{"role": "roles/viewer", "members": ["user:a@x.com"], "condition": cond}]}});
        p.set(&v3, &rules(), now, "2").unwrap();
        let full = p.to_json(3);
        assert_eq!(full["version"], 3);
        assert_eq!(full["bindings"][0]["condition"]["title"], "t");
        let old = p.to_json(1);
        assert_eq!(old["version"], 1);
        let role = old["bindings"][0]["role"].as_str().unwrap();
        assert!(role.starts_with("roles/viewer_withcond_"), "{role}");
        assert!(old["bindings"][0].get("condition").is_none());
        let back = json!({"policy": {"etag": old["etag"], "bindings": old["bindings"]}});
        assert_eq!(
            p.set(&back, &rules(), now, "3").unwrap_err().status,
            "INVALID_ARGUMENT"
        );
    }

    #[test]
    fn propagation_delay_hides_fresh_grants() {
        let mut p = StoredPolicy::default();
        let t0 = Duration::from_secs(5);
        let req =
            json!({"policy": {"bindings": [{"role": "roles/owner", "members": ["user:a@x.com"]}]}});
        p.set(&req, &rules(), t0, "1").unwrap();
        let delay = Duration::from_secs(120);
        let a = |m: &str| m == "user:a@x.com";
        assert!(p.effective_roles(a, t0, delay).is_empty());
        assert_eq!(p.effective_roles(a, t0 + delay, delay), ["roles/owner"]);
        assert_eq!(p.effective_roles(a, t0, Duration::ZERO), ["roles/owner"]);
    }
}
