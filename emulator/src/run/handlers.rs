//! The service and revision methods: get, list, create/patch, delete.

use serde_json::{Map, Value, json};

use super::admission::{
    apply_defaults, check_reserved_keys, clean_input, valid_service_id, validate,
};
use super::operations::{Operation, Outcome, operation_json};
use super::render::with_type;
use super::rollout::{finalize, new_revision};
use super::{RunService, condition, not_found, project_or_denied, service_key};
use crate::behaviour::{MissingImageValidation, MissingServiceValidation};
use crate::error::ApiError;
use crate::state::State;
use crate::util::{now_rfc3339, uuid_from};

/// What a write asks for.
pub(crate) struct Write<'a> {
    pub(crate) project: &'a str,
    pub(crate) region: &'a str,
    pub(crate) id: &'a str,
    pub(crate) body: &'a Value,
    pub(crate) update_mask: Option<&'a str>,
    pub(crate) validate_only: bool,
    pub(crate) create: bool,
    pub(crate) allow_missing: bool,
    pub(crate) force_new_revision: bool,
    /// A world-file service: may carry what a client may not send (system annotations).
    pub(crate) seed: bool,
}

/// The name of the operation a write or delete of service `key` starts.
fn operation_name(project_id: &str, region: &str, key: &str, salt: &str) -> String {
    let id = uuid_from(&format!("op:{key}:{salt}"));
    format!("projects/{project_id}/locations/{region}/operations/{id}")
}

/// services.create and services.patch.
pub(crate) fn write(st: &mut State, w: Write<'_>) -> Result<Value, ApiError> {
    let project = project_or_denied(st, w.project)?.clone();
    let key = service_key(&project.id, w.region, w.id);
    if w.create && !valid_service_id(w.id) {
        return Err(ApiError::invalid(format!(
            "Invalid service id '{}': must use only lowercase alphanumeric characters and \
             dashes, begin with a letter, not end with a dash, and be at most 49 characters.",
            w.id
        )));
    }
    if !w.validate_only
        && let Some(pending) = st.services.get(&key).and_then(|s| s.pending_op.clone())
    {
        // A new write supersedes the rollout in flight; settle that one first.
        finalize(st, &pending);
    }
    let existing = st.services.get(&key).cloned();
    match (&existing, w.create) {
        (Some(_), true) => {
            // Terraform shows Google's text: "Error 409: Resource 'x' already exists."
            return Err(ApiError::already_exists(format!(
                "Resource '{}' already exists.",
                w.id
            )));
        }
        (None, false) if !w.allow_missing => return Err(not_found(w.id)),
        _ => {}
    }
    // validateOnly on a service that does not exist yet: undocumented, so the world chooses.
    let mut pending_when_missing = false;
    if w.validate_only && existing.is_none() && !w.create {
        match st.behaviour.validate_only.missing_service {
            MissingServiceValidation::DoneOperation => {}
            MissingServiceValidation::PendingOperation => pending_when_missing = true,
            MissingServiceValidation::NotFound => return Err(not_found(w.id)),
            MissingServiceValidation::PermissionDenied => {
                return Err(crate::authz::denied(
                    "run.services.create",
                    &format!(
                        "projects/{}/locations/{}/services/{}",
                        w.project, w.region, w.id
                    ),
                ));
            }
        }
    }
    // validateOnly with an Artifact Registry image not pushed yet: whether Google resolves
    // the image then is undocumented, so the world chooses.
    let missing_image = w
        .body
        .pointer("/template/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("image").and_then(Value::as_str))
        .find(|i| crate::registry::image_exists(st, i) == Some(false))
        .map(str::to_string);
    if let (true, Some(image)) = (w.validate_only, missing_image) {
        let message = format!("Image '{image}' not found.");
        match st.behaviour.validate_only.missing_image {
            MissingImageValidation::NotResolved => {}
            MissingImageValidation::NotFound => return Err(ApiError::not_found(message)),
            MissingImageValidation::FailedOperation => {
                let op_name = operation_name(&project.id, w.region, &key, &st.next_salt());
                return Ok(
                    json!({"name": op_name, "done": true, "error": {"code": 5, "message": message}}),
                );
            }
        }
    }
    // AIP-154: a stale etag on an update is rejected with ABORTED.
    if let (Some(svc), Some(etag)) = (&existing, w.body.get("etag").and_then(Value::as_str))
        && !etag.is_empty()
        && etag != svc.etag
    {
        return Err(ApiError::aborted(format!(
            "The etag '{etag}' does not match the current etag of service '{}'.",
            w.id
        )));
    }
    let input = clean_input(w.body)?;
    // The top-level fields an update mask names; none (or `*`) means the whole resource.
    let masked: Option<Vec<&str>> = w
        .update_mask
        .map(str::trim)
        .filter(|m| !m.is_empty() && *m != "*")
        .map(|m| {
            m.split(',')
                .map(|p| p.trim().split('.').next().unwrap_or(""))
                .collect()
        });
    if !w.seed {
        let request = if w.create {
            "CreateServiceRequest"
        } else {
            "UpdateServiceRequest"
        };
        check_reserved_keys(&input, masked.as_deref(), request)?;
    }
    let mut spec = match (&existing, &masked) {
        (Some(svc), Some(tops)) => {
            let mut spec = svc.spec.clone();
            for &top in tops {
                match input.get(top) {
                    Some(v) => {
                        spec.insert(top.to_string(), v.clone());
                    }
                    None => {
                        spec.remove(top);
                    }
                }
            }
            spec
        }
        _ => input,
    };
    apply_defaults(&mut spec, project.number);
    validate(&spec)?;
    super::traffic::validate(&spec, w.id)?;
    let salt = st.next_salt();
    let at = now_rfc3339();
    let template = spec.get("template").cloned().unwrap_or(Value::Null);
    let mut svc = existing.clone().unwrap_or_else(|| RunService {
        project_id: project.id.clone(),
        region: w.region.to_string(),
        id: w.id.to_string(),
        uid: uuid_from(&format!("{key}:{salt}")),
        spec: Map::new(),
        generation: 0,
        observed_generation: 0,
        create_time: at.clone(),
        update_time: at.clone(),
        creator: st.caller.clone(),
        last_modifier: st.caller.clone(),
        etag: String::new(),
        revisions: Vec::new(),
        revision_counter: 0,
        latest_created: None,
        latest_ready: None,
        terminal: Value::Null,
        conditions: Vec::new(),
        reconciling: false,
        pending_op: None,
        served_traffic: None,
    });
    let served_before = svc
        .served_traffic
        .clone()
        .or_else(|| svc.spec.get("traffic").cloned());
    let spec_changed = existing.is_none() || svc.spec != spec;
    let template_changed =
        existing.is_none() || w.force_new_revision || svc.spec.get("template") != Some(&template);
    svc.spec = spec;
    if spec_changed {
        svc.generation += 1;
        svc.update_time = at.clone();
        svc.last_modifier = st.caller.clone();
        svc.etag = format!(
            "\"{}\"",
            crate::util::b64(&crate::util::hash_bytes(&[&salt])[..12])
        );
    }
    let (outcome, problems) = if template_changed {
        new_revision(st, &mut svc, &key, &salt, &template, &at)?
    } else {
        let outcome = super::rollout::unroutable(st, &svc, served_before.unwrap_or(Value::Null));
        (outcome.unwrap_or(Outcome::NoRevision), Vec::new())
    };
    // A REVISION target names an existing revision, or the one this request creates (the
    // template's `revision`, as gcloud's `--tag` sends). Google's wording is not documented.
    if let Some(missing) = super::traffic::named(&svc.spec)
        .into_iter()
        .find(|n| !svc.revisions.iter().any(|r| &r.rev.name == n))
    {
        return Err(ApiError::invalid(format!(
            "spec.traffic.revision: Revision '{missing}' referenced in traffic not found."
        )));
    }
    if spec_changed || template_changed {
        svc.reconciling = true;
        svc.terminal = condition("Ready", "CONDITION_RECONCILING", None, &at);
    }
    let op_name = operation_name(&project.id, w.region, &key, &salt);
    if w.validate_only {
        // Nothing persists; answer the would-be Service as an operation.
        let v = with_type(svc.render(project.number));
        if st.behaviour.validate_only.check_secrets && !problems.is_empty() {
            // Whether validateOnly checks secret access is undocumented; when the world says
            // it does, the refusal comes back as the operation's error, worded as at rollout.
            let error = json!({"code": 9, "message": problems.join("\n")});
            return Ok(json!({"name": op_name, "metadata": v, "done": true, "error": error}));
        }
        if pending_when_missing {
            let needed = st.operation_polls.max(1);
            let op = Operation::new(
                &op_name,
                key,
                needed,
                Outcome::NoRevision,
                v.clone(),
                Some(v),
            );
            st.operations.insert(op_name.clone(), op);
            return Ok(operation_json(&st.operations[&op_name]));
        }
        return Ok(json!({"name": op_name, "metadata": v, "done": true, "response": v}));
    }
    svc.pending_op = Some(op_name.clone());
    let metadata = with_type(svc.render(project.number));
    st.services.insert(key.clone(), svc);
    let op = Operation::new(&op_name, key, st.operation_polls, outcome, metadata, None);
    st.operations.insert(op_name.clone(), op);
    if st.operation_polls == 0 {
        finalize(st, &op_name);
    }
    Ok(operation_json(&st.operations[&op_name]))
}

/// A world-file service: deployed and ready, whatever its secrets say.
pub(crate) fn seed_service(
    st: &mut State,
    project_id: &str,
    region: &str,
    mut service: Value,
) -> Result<String, ApiError> {
    let id = service
        .get("name")
        .and_then(Value::as_str)
        .map(|n| n.rsplit('/').next().unwrap_or(n).to_string())
        .ok_or_else(|| ApiError::invalid("a world service needs a `name`"))?;
    if let Some(o) = service.as_object_mut() {
        o.remove("name");
    }
    let w = Write {
        project: project_id,
        region,
        id: &id,
        body: &service,
        update_mask: None,
        validate_only: false,
        create: true,
        allow_missing: false,
        force_new_revision: false,
        seed: true,
    };
    let op = write(st, w)?;
    let op_name = op["name"].as_str().unwrap_or_default().to_string();
    if let Some(o) = st.operations.get_mut(&op_name) {
        o.outcome = Outcome::Ready;
    }
    finalize(st, &op_name);
    st.operations.remove(&op_name);
    Ok(service_key(project_id, region, &id))
}

/// The project's number and the service, or the error Cloud Run answers for either missing.
fn find_service<'a>(
    st: &'a State,
    project: &str,
    region: &str,
    id: &str,
) -> Result<(u64, &'a RunService), ApiError> {
    let p = project_or_denied(st, project)?;
    st.services
        .get(&service_key(&p.id, region, id))
        .map(|s| (p.number, s))
        .ok_or_else(|| not_found(id))
}

pub(crate) fn get(st: &State, project: &str, region: &str, id: &str) -> Result<Value, ApiError> {
    let (number, svc) = find_service(st, project, region, id)?;
    Ok(svc.render(number))
}

pub(crate) fn list(st: &State, project: &str, region: &str) -> Result<Value, ApiError> {
    let p = project_or_denied(st, project)?;
    let services: Vec<Value> = st
        .services
        .values()
        .filter(|s| s.project_id == p.id && (region == "-" || s.region == region))
        .map(|s| s.render(p.number))
        .collect();
    Ok(if services.is_empty() {
        json!({})
    } else {
        json!({"services": services})
    })
}

pub(crate) fn delete(
    st: &mut State,
    project: &str,
    region: &str,
    id: &str,
    validate_only: bool,
) -> Result<Value, ApiError> {
    let (number, svc) = find_service(st, project, region, id)?;
    let project_id = svc.project_id.clone();
    let rendered = with_type(svc.render(number));
    let key = service_key(&project_id, region, id);
    let salt = st.next_salt();
    let op_name = operation_name(&project_id, region, &key, &salt);
    if validate_only {
        return Ok(
            json!({"name": op_name, "metadata": rendered, "done": true, "response": rendered}),
        );
    }
    st.services.remove(&key);
    st.policies.remove(&key);
    let needed = st.operation_polls;
    let op = Operation {
        done: needed == 0,
        ..Operation::new(
            &op_name,
            key,
            needed,
            Outcome::NoRevision,
            rendered.clone(),
            Some(rendered),
        )
    };
    st.operations.insert(op_name.clone(), op);
    Ok(operation_json(&st.operations[&op_name]))
}

pub(crate) fn get_revision(
    st: &State,
    project: &str,
    region: &str,
    id: &str,
    rev: &str,
) -> Result<Value, ApiError> {
    let (_, svc) = find_service(st, project, region, id)?;
    svc.revisions
        .iter()
        .find(|r| r.rev.name == rev)
        .map(|r| svc.render_revision(r))
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Resource '{rev}' of kind 'REVISION' does not exist."
            ))
        })
}

pub(crate) fn list_revisions(
    st: &State,
    project: &str,
    region: &str,
    id: &str,
    page_size: Option<&str>,
    page_token: Option<&str>,
) -> Result<Value, ApiError> {
    let (_, svc) = find_service(st, project, region, id)?;
    // revisions.list takes only `parent`, `pageSize`, `pageToken` and `showDeleted`: no
    // filter and no order (run.v2 discovery, services.revisions.list). The emulator lists
    // by uid, an order unrelated to creation, so a client that needs the newest sorts by
    // `createTime` itself, and pages of 10 unless asked otherwise, so a client that stops
    // after one page misses revisions.
    let mut recs: Vec<_> = svc.revisions.iter().collect();
    recs.sort_by(|a, b| a.uid.cmp(&b.uid));
    let size = page_size
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(10);
    let start = match page_token.filter(|t| !t.is_empty()) {
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| ApiError::invalid(format!("Invalid page token '{t}'.")))?,
        None => 0,
    };
    let revs: Vec<Value> = recs
        .iter()
        .skip(start)
        .take(size)
        .map(|r| svc.render_revision(r))
        .collect();
    let mut out = json!({"revisions": revs});
    if start + size < recs.len() {
        out["nextPageToken"] = (start + size).to_string().into();
    }
    Ok(out)
}
