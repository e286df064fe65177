//! Secret Manager v1: secrets, versions and payload access.
//!
//! Modelled from the secretmanager.v1 discovery document and Secret Manager docs:
//! - Resource names in responses use the project *number* even when the request used the
//!   project id (gcloud output such as "Secret Version
//!   [projects/348557092514/secrets/x/versions/1] is in DISABLED state." for a request by id;
//!   the API reference's examples name `projects/*/secrets/*` with numbers).
//! - `latest` is the most recently created version whatever its state: a disabled latest is
//!   not skipped (cloud.google.com/secret-manager/docs/access-secret-version).
//! - Accessing a version that is not ENABLED is FAILED_PRECONDITION with "Secret Version [..]
//!   is in DISABLED state." (observed gcloud output, above).
//! - Unknown projects answer 403 "Permission '...' denied for resource '...' (or it may not
//!   exist)." as Google does for resources the caller cannot see.
//!
//! Payloads are returned only by `access`; nothing here logs them.

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::state::{Project, Secret, SecretVersion, State};
use crate::util::{b64, b64_decode_any, crc32c};
use crate::world::VersionState;

fn project<'a>(
    st: &'a State,
    p: &str,
    permission: &str,
    resource: &str,
) -> Result<&'a Project, ApiError> {
    st.project(p).ok_or_else(|| {
        ApiError::permission_denied(format!(
            "Permission '{permission}' denied for resource '{resource}' (or it may not exist)."
        ))
    })
}

fn secret_name(number: u64, id: &str) -> String {
    format!("projects/{number}/secrets/{id}")
}

pub(crate) fn secret_json(number: u64, s: &Secret) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), secret_name(number, &s.id).into());
    for (k, v) in &s.fields {
        out.insert(k.clone(), v.clone());
    }
    out.insert("createTime".into(), s.create_time.clone().into());
    out.insert("etag".into(), s.etag.clone().into());
    Value::Object(out)
}

fn version_json(number: u64, s: &Secret, v: &SecretVersion) -> Value {
    let mut out = Map::new();
    out.insert(
        "name".into(),
        format!("{}/versions/{}", secret_name(number, &s.id), v.number).into(),
    );
    out.insert("createTime".into(), v.create_time.clone().into());
    if let Some(d) = &v.destroy_time {
        out.insert("destroyTime".into(), d.clone().into());
    }
    out.insert("state".into(), v.state.name().into());
    if s.fields
        .get("replication")
        .and_then(|r| r.get("automatic"))
        .is_some()
    {
        out.insert("replicationStatus".into(), json!({"automatic": {}}));
    }
    out.insert("etag".into(), v.etag.clone().into());
    Value::Object(out)
}

fn load<'a>(
    st: &'a State,
    p: &str,
    id: &str,
    permission: &str,
) -> Result<(u64, &'a Secret), ApiError> {
    let project = project(st, p, permission, &format!("projects/{p}/secrets/{id}"))?;
    let number = project.number;
    st.secrets
        .get(&format!("projects/{}/secrets/{id}", project.id))
        .map(|s| (number, s))
        .ok_or_else(|| {
            ApiError::not_found(format!("Secret [{}] not found.", secret_name(number, id)))
        })
}

/// Resolves `latest`, a number or an alias (`Secret.versionAliases`) to a version.
fn resolve<'a>(number: u64, s: &'a Secret, v: &str) -> Result<&'a SecretVersion, ApiError> {
    let found = match v {
        "latest" => {
            return s.versions.last().ok_or_else(|| {
                ApiError::not_found(format!(
                    "Secret [{}] not found or has no versions.",
                    secret_name(number, &s.id)
                ))
            });
        }
        _ => s.version(v),
    };
    found.ok_or_else(|| {
        ApiError::not_found(format!(
            "Secret Version [{}/versions/{v}] not found.",
            secret_name(number, &s.id)
        ))
    })
}

pub(crate) fn get(st: &State, p: &str, id: &str) -> Result<Value, ApiError> {
    let (number, s) = load(st, p, id, "secretmanager.secrets.get")?;
    Ok(secret_json(number, s))
}

pub(crate) fn list(st: &State, p: &str) -> Result<Value, ApiError> {
    let project = project(
        st,
        p,
        "secretmanager.secrets.list",
        &format!("projects/{p}"),
    )?;
    let secrets: Vec<Value> = st
        .secrets
        .values()
        .filter(|s| s.project_id == project.id)
        .map(|s| secret_json(project.number, s))
        .collect();
    let total = secrets.len();
    Ok(if total == 0 {
        json!({})
    } else {
        json!({"secrets": secrets, "totalSize": total})
    })
}

/// secrets.create: `secretId` "must be ... at most 255 characters. The ID can contain
/// uppercase and lowercase letters, numerals, and the hyphen (-) and underscore (_)
/// characters" (secretmanager.v1 discovery, secrets.create `secretId`).
pub(crate) fn create(
    st: &mut State,
    p: &str,
    secret_id: Option<&str>,
    body: &Value,
) -> Result<Value, ApiError> {
    let project = project(
        st,
        p,
        "secretmanager.secrets.create",
        &format!("projects/{p}"),
    )?
    .clone();
    let id = secret_id.unwrap_or_default();
    let valid = !id.is_empty()
        && id.len() <= 255
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(ApiError::invalid(format!("Invalid secret id '{id}'.")));
    }
    let key = format!("projects/{}/secrets/{id}", project.id);
    if st.secrets.contains_key(&key) {
        return Err(ApiError::already_exists(format!(
            "Secret [{}] already exists.",
            secret_name(project.number, id)
        )));
    }
    let mut fields = body.as_object().cloned().unwrap_or_default();
    for k in ["name", "createTime", "etag"] {
        fields.remove(k);
    }
    st.insert_secret(&project.id, id, fields);
    Ok(secret_json(project.number, &st.secrets[&key]))
}

/// Fields secrets.patch may change ("updateMask: Required. Specifies the fields to be
/// updated", secretmanager.v1 discovery); `replication` is immutable (Secret.replication:
/// "Immutable").
const PATCHABLE: &[&str] = &[
    "labels",
    "annotations",
    "versionAliases",
    "topics",
    "rotation",
    "expireTime",
    "ttl",
    "versionDestroyTtl",
];

/// secrets.patch, e.g. `updateMask=versionAliases` to point aliases at versions. Aliases:
/// "a string with a maximum length of 63 characters ... letters, numerals, and the hyphen
/// (`-`) and underscore ('_') characters. An alias string must start with a letter and cannot
/// be the string 'latest' or 'NEW'. No more than 50 aliases" (Secret.versionAliases); each
/// must name an existing version.
pub(crate) fn patch(
    st: &mut State,
    p: &str,
    id: &str,
    update_mask: Option<&str>,
    body: &Value,
) -> Result<Value, ApiError> {
    let (number, s) = load(st, p, id, "secretmanager.secrets.update")?;
    let mask: Vec<&str> = update_mask
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .collect();
    if mask.is_empty() {
        return Err(ApiError::invalid("update_mask is required."));
    }
    if let Some(bad) = mask.iter().find(|m| !PATCHABLE.contains(m)) {
        return Err(ApiError::invalid(format!(
            "Invalid update_mask path: \"{bad}\"; the field is immutable or unknown."
        )));
    }
    // A stale etag "fails with a FAILED_PRECONDITION error and an HTTP status code 400"
    // (cloud.google.com/secret-manager/docs/etags), not AIP-154's ABORTED.
    if let Some(e) = body.get("etag").and_then(Value::as_str)
        && !e.is_empty()
        && e != s.etag
    {
        return Err(ApiError::failed_precondition(format!(
            "The etag provided for secret [{}] does not match the current etag.",
            secret_name(number, id)
        )));
    }
    if mask.contains(&"versionAliases")
        && let Some(aliases) = body.get("versionAliases").and_then(Value::as_object)
    {
        if aliases.len() > 50 {
            return Err(ApiError::invalid(
                "No more than 50 aliases can be assigned to a secret.",
            ));
        }
        for (alias, v) in aliases {
            let ok = alias.len() <= 63
                && alias.starts_with(|c: char| c.is_ascii_alphabetic())
                && alias
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                && alias != "latest"
                && alias != "NEW";
            if !ok {
                return Err(ApiError::invalid(format!(
                    "Invalid version alias '{alias}'."
                )));
            }
            let n = v
                .as_str()
                .and_then(|v| v.parse::<u64>().ok())
                .or(v.as_u64());
            if n.is_none_or(|n| !s.versions.iter().any(|x| x.number == n)) {
                return Err(ApiError::invalid(format!(
                    "Version alias '{alias}' names a version that does not exist: {v}."
                )));
            }
        }
    }
    let salt = st.next_salt();
    let secret = st.secret_mut(p, id)?;
    for field in mask {
        match body.get(field).filter(|v| !v.is_null()) {
            // int64 values are JSON strings in Google's answers.
            Some(Value::Object(m)) if field == "versionAliases" => {
                let m: Map<String, Value> = m
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            Value::String(v.to_string().trim_matches('"').to_string()),
                        )
                    })
                    .collect();
                secret.fields.insert(field.to_string(), Value::Object(m));
            }
            Some(v) => {
                secret.fields.insert(field.to_string(), v.clone());
            }
            None => {
                secret.fields.remove(field);
            }
        }
    }
    secret.etag = format!("\"{}\"", crate::util::hash_hex(&[&salt], 7));
    let (number, s) = load(st, p, id, "secretmanager.secrets.update")?;
    Ok(secret_json(number, s))
}

pub(crate) fn delete(st: &mut State, p: &str, id: &str) -> Result<Value, ApiError> {
    load(st, p, id, "secretmanager.secrets.delete")?;
    st.delete_secret(p, id);
    Ok(json!({}))
}

pub(crate) fn add_version(
    st: &mut State,
    p: &str,
    id: &str,
    body: &Value,
) -> Result<Value, ApiError> {
    load(st, p, id, "secretmanager.versions.add")?;
    let payload = body
        .get("payload")
        .ok_or_else(|| ApiError::invalid("payload: field is required."))?;
    let data = match payload.get("data").and_then(Value::as_str) {
        Some(d) => {
            b64_decode_any(d).ok_or_else(|| ApiError::invalid("payload.data: invalid base64."))?
        }
        None => Vec::new(),
    };
    // "The maximum size of a secret payload is 64 KiB" (Secret Manager quotas and limits).
    if data.len() > 65_536 {
        return Err(ApiError::invalid(
            "Secret payload data must be at most 64 KiB.",
        ));
    }
    let checksum = payload.get("dataCrc32c").and_then(|c| {
        c.as_str()
            .and_then(|s| s.parse::<u64>().ok())
            .or(c.as_u64())
    });
    if let Some(c) = checksum
        && c != crc32c(&data) as u64
    {
        return Err(ApiError::invalid(
            "Checksum mismatch: payload.dataCrc32c does not match the CRC32C of payload.data.",
        ));
    }
    let n = st.push_secret_version(p, id, &data)?;
    let (number, s) = load(st, p, id, "secretmanager.versions.add")?;
    let v = s
        .versions
        .iter()
        .find(|v| v.number == n)
        .ok_or_else(|| ApiError::not_found("version"))?;
    let mut out = version_json(number, s, v);
    if checksum.is_some()
        && let Some(o) = out.as_object_mut()
    {
        o.insert("clientSpecifiedPayloadChecksum".into(), true.into());
    }
    Ok(out)
}

pub(crate) fn get_version(st: &State, p: &str, id: &str, v: &str) -> Result<Value, ApiError> {
    let (number, s) = load(st, p, id, "secretmanager.versions.get")?;
    Ok(version_json(number, s, resolve(number, s, v)?))
}

pub(crate) fn list_versions(st: &State, p: &str, id: &str) -> Result<Value, ApiError> {
    let (number, s) = load(st, p, id, "secretmanager.versions.list")?;
    // Newest first, as `gcloud secrets versions list` shows the API's order.
    let versions: Vec<Value> = s
        .versions
        .iter()
        .rev()
        .map(|v| version_json(number, s, v))
        .collect();
    let total = versions.len();
    Ok(if total == 0 {
        json!({})
    } else {
        json!({"versions": versions, "totalSize": total})
    })
}

pub(crate) fn access(st: &State, p: &str, id: &str, v: &str) -> Result<Value, ApiError> {
    let (number, s) = load(st, p, id, "secretmanager.versions.access")?;
    let version = resolve(number, s, v)?;
    let name = format!("{}/versions/{}", secret_name(number, id), version.number);
    if version.state != VersionState::Enabled {
        return Err(ApiError::failed_precondition(format!(
            "Secret Version [{name}] is in {} state.",
            version.state.name()
        )));
    }
    let data = &version.payload.0;
    Ok(
        json!({"name": name, "payload": {"data": b64(data), "dataCrc32c": crc32c(data).to_string()}}),
    )
}

/// versions.enable / disable / destroy.
pub(crate) fn change_state(
    st: &mut State,
    p: &str,
    id: &str,
    v: &str,
    to: VersionState,
) -> Result<Value, ApiError> {
    let (number, s) = load(st, p, id, "secretmanager.versions.get")?;
    // "Access by alias is only supported on GetSecretVersion and AccessSecretVersion"
    // (secretmanager.v1 discovery, Secret.versionAliases).
    if v != "latest" && v.parse::<u64>().is_err() {
        return Err(ApiError::invalid(format!(
            "Secret Version [{}/versions/{v}] is not a version number.",
            secret_name(number, id)
        )));
    }
    let version = resolve(number, s, v)?;
    let n = version.number;
    if version.state == VersionState::Destroyed {
        return Err(ApiError::failed_precondition(format!(
            "Secret Version [{}/versions/{n}] is in DESTROYED state.",
            secret_name(number, id)
        )));
    }
    st.set_version_state(p, id, n, to)?;
    let (number, s) = load(st, p, id, "secretmanager.versions.get")?;
    let version = resolve(number, s, &n.to_string())?;
    Ok(version_json(number, s, version))
}
