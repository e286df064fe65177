//! Cloud Storage JSON API v1: buckets (get, insert) and objects (get, with `alt=media`
//! downloads, and insert through the upload path), enough for a source deploy's staging
//! bucket, its archive and the build logs.
//!
//! Modelled from the storage.v1 discovery document and the JSON API docs:
//! - Uploads (`objects.insert`'s `mediaUpload.protocols.simple.path`,
//!   `/upload/storage/v1/b/{bucket}/o`), cloud.google.com/storage/docs/uploads-downloads:
//!   `uploadType=media` (the body is the object), `uploadType=multipart` (a
//!   `multipart/related` body: the object's JSON metadata, then its bytes; google-cloud-storage
//!   1.21 may add a third JSON part with `crc32c`/`md5Hash` computed while streaming), and
//!   `uploadType=resumable` (cloud.google.com/storage/docs/performing-resumable-uploads): the
//!   POST answers an empty 200 with the session URI in `Location`; each `PUT` to it carries
//!   `Content-Range: bytes FIRST-LAST/TOTAL` (`*` for a total not yet known, `bytes */*` to
//!   ask how much was persisted); an unfinished session answers `308` with
//!   `Range: bytes=0-LAST` (no `Range` when nothing was persisted), the last chunk the
//!   object. A final `x-goog-hash: crc32c=...` header is checked like the metadata's.
//! - Checksums: `crc32c` is the big-endian CRC32C in base64, `md5Hash` the MD5 in base64
//!   (storage.v1 discovery, Object); a sent one that does not match the data is 400 `invalid`.
//! - `generation` grows with every write of a name; `ifGenerationMatch=0` means "only if no
//!   live object has this name", another number "only if that is the live generation";
//!   otherwise 412 `conditionNotMet` (cloud.google.com/storage/docs/request-preconditions).
//!   For resumable uploads the preconditions are evaluated when the upload completes.
//! - Downloads (`alt=media`) answer the bytes with the `x-goog-generation`,
//!   `x-goog-metageneration`, `x-goog-hash`, `x-goog-stored-content-length`,
//!   `x-goog-stored-content-encoding`, `x-goog-storage-class` headers, and a `Range` header
//!   gets `206` (cloud.google.com/storage/docs/xml-api/reference-headers).
//! - Errors use the JSON API's envelope with `errors[].reason` (see [`ApiError::storage`]).
//! - Permissions (with `enforceCallerPermissions`): `storage.buckets.get`/`create`,
//!   `storage.objects.get`/`create`, and `storage.objects.delete` to replace an existing object
//!   (cloud.google.com/storage/docs/access-control/iam-json), held through the bucket's
//!   project (bucket-level policies are not modelled). A missing bucket is 404 to anyone.
//!
//! Not modelled: listing, deletion, object versioning (only the live generation is kept),
//! ACLs, bucket policies.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

use crate::error::ApiError;
use crate::routes::{Ctx, Reply};
use crate::state::State;
use crate::util::{crc32c, now_rfc3339};

mod upload;

use upload::Upload;
pub(crate) use upload::{upload, upload_chunk};

/// Object bytes; `Debug` shows only their length.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Data(pub(crate) Vec<u8>);

impl std::fmt::Debug for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Data(<{} bytes>)", self.0.len())
    }
}

#[derive(Debug, Clone)]
pub(crate) struct StoredObject {
    pub(crate) name: String,
    pub(crate) generation: i64,
    pub(crate) data: Data,
    pub(crate) content_type: String,
    metadata: Option<Value>,
    created: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    pub(crate) name: String,
    pub(crate) project_id: String,
    location: String,
    storage_class: String,
    labels: Option<Value>,
    created: String,
    pub(crate) objects: BTreeMap<String, StoredObject>,
}

/// Buckets, their objects and open upload sessions.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub(crate) buckets: BTreeMap<String, Bucket>,
    uploads: HashMap<String, Upload>,
    /// Generations and upload ids come from here, so runs are repeatable.
    seq: u64,
}

/// Generations look like Google's (microseconds since the epoch); the emulator's only grow.
const GENERATION_BASE: i64 = 1_700_000_000_000_000;

fn not_found_bucket() -> ApiError {
    ApiError::storage(404, "notFound", "The specified bucket does not exist.")
}

fn forbidden(st: &State, perm: &str, what: &str) -> ApiError {
    ApiError::storage(
        403,
        "forbidden",
        format!(
            "{} does not have {perm} access to the Google Cloud Storage {what}. Permission \
             '{perm}' denied on resource (or it may not exist).",
            st.caller
        ),
    )
}

/// Whether the caller holds `perm` through `project_id` (always, unless permissions are
/// enforced).
fn holds(st: &State, perm: &str, project_id: &str) -> bool {
    st.caller_member
        .as_deref()
        .is_none_or(|who| crate::authz::holds(st, who, perm, &format!("projects/{project_id}")))
}

fn require(st: &State, perm: &str, project_id: &str, what: &str) -> Result<(), ApiError> {
    if holds(st, perm, project_id) {
        Ok(())
    } else {
        Err(forbidden(st, perm, what))
    }
}

/// Bucket names: 3-63 characters of lowercase letters, digits, `-`, `_` and `.`, starting
/// and ending with a letter or digit (cloud.google.com/storage/docs/buckets#naming).
fn valid_bucket_name(n: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&n.len())
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
        && edge(n.chars().next())
        && edge(n.chars().last())
}

/// Percent-encodes everything but RFC 3986 unreserved characters (object names in URLs).
pub(crate) fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn location_type(location: &str) -> &'static str {
    match location {
        "US" | "EU" | "ASIA" => "multi-region",
        "NAM4" | "EUR4" | "ASIA1" | "EUR5" | "EUR7" | "EUR8" => "dual-region",
        _ => "region",
    }
}

fn bucket_json(st: &State, b: &Bucket) -> Value {
    let number = st.project(&b.project_id).map_or(0, |p| p.number);
    let mut out = json!({
        "kind": "storage#bucket",
        "selfLink": format!("https://www.googleapis.com/storage/v1/b/{}", b.name),
        "id": b.name,
        "name": b.name,
        "projectNumber": number.to_string(),
        "metageneration": "1",
        "location": b.location,
        "storageClass": b.storage_class,
        "etag": "CAE=",
        "timeCreated": b.created,
        "updated": b.created,
        "locationType": location_type(&b.location),
    });
    if let Some(l) = &b.labels {
        out["labels"] = l.clone();
    }
    out
}

fn md5_b64(data: &[u8]) -> String {
    STANDARD.encode(md5::compute(data).0)
}

fn crc_b64(data: &[u8]) -> String {
    STANDARD.encode(crc32c(data).to_be_bytes())
}

fn object_json(bucket: &str, o: &StoredObject) -> Value {
    let gen_ = o.generation;
    let mut out = json!({
        "kind": "storage#object",
        "id": format!("{bucket}/{}/{gen_}", o.name),
        "selfLink": format!("https://www.googleapis.com/storage/v1/b/{bucket}/o/{}", enc(&o.name)),
        "mediaLink": format!(
            "https://storage.googleapis.com/download/storage/v1/b/{bucket}/o/{}?generation={gen_}&alt=media",
            enc(&o.name)
        ),
        "name": o.name,
        "bucket": bucket,
        "generation": gen_.to_string(),
        "metageneration": "1",
        "contentType": o.content_type,
        "storageClass": "STANDARD",
        "size": o.data.0.len().to_string(),
        "md5Hash": md5_b64(&o.data.0),
        "crc32c": crc_b64(&o.data.0),
        // The JSON API's object etag is opaque; Google's is the base64 of a short proto.
        "etag": STANDARD.encode(gen_.to_be_bytes()),
        "timeCreated": o.created,
        "updated": o.created,
        "timeStorageClassUpdated": o.created,
        "timeFinalized": o.created,
    });
    if let Some(m) = &o.metadata {
        out["metadata"] = m.clone();
    }
    out
}

fn bucket<'a>(st: &'a State, name: &str) -> Result<&'a Bucket, ApiError> {
    st.storage.buckets.get(name).ok_or_else(not_found_bucket)
}

/// `storage.buckets.get`.
pub(crate) fn get_bucket(c: &mut Ctx<'_>) -> Result<Value, ApiError> {
    let b = bucket(c.st, &c.p[0])?;
    require(c.st, "storage.buckets.get", &b.project_id, "bucket")?;
    Ok(bucket_json(c.st, b))
}

/// `storage.buckets.insert`: `?project=` names the project (id or number).
pub(crate) fn insert_bucket(c: &mut Ctx<'_>) -> Result<Value, ApiError> {
    let project =
        c.q.get("project")
            .ok_or_else(|| ApiError::storage(400, "required", "Required parameter: project"))?;
    let project_id = c.st.project(project).map(|p| p.id.clone()).ok_or_else(|| {
        ApiError::storage(400, "invalid", format!("Unknown project id: {project}"))
    })?;
    if !holds(c.st, "storage.buckets.create", &project_id) {
        return Err(ApiError::storage(
            403,
            "forbidden",
            format!(
                "{} does not have storage.buckets.create access to the Google Cloud project. \
             Permission 'storage.buckets.create' denied on resource (or it may not exist).",
                c.st.caller
            ),
        ));
    }
    let name = c
        .body
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::storage(400, "required", "Required"))?
        .to_string();
    if !valid_bucket_name(&name) {
        return Err(ApiError::storage(
            400,
            "invalid",
            format!("Invalid bucket name: '{name}'"),
        ));
    }
    if let Some(existing) = c.st.storage.buckets.get(&name) {
        // The namespace is global: the answer says whether the caller's project owns it.
        let msg = if existing.project_id == project_id {
            "Your previous request to create the named bucket succeeded and you already own it."
        } else {
            "The requested bucket name is not available. The bucket namespace is shared by \
             all users of the system. Please select a different name and try again."
        };
        return Err(ApiError::storage(409, "conflict", msg));
    }
    let text = |k: &str| c.body.get(k).and_then(Value::as_str).map(str::to_string);
    let b = Bucket {
        name: name.clone(),
        project_id,
        location: text("location")
            .unwrap_or_else(|| "US".into())
            .to_uppercase(),
        storage_class: text("storageClass").unwrap_or_else(|| "STANDARD".into()),
        labels: c.body.get("labels").cloned(),
        created: now_rfc3339(),
        objects: BTreeMap::new(),
    };
    let out = bucket_json(c.st, &b);
    c.st.storage.buckets.insert(name, b);
    Ok(out)
}

fn precondition_failed() -> ApiError {
    ApiError::storage(
        412,
        "conditionNotMet",
        "At least one of the pre-conditions you specified did not hold.",
    )
}

fn int_param(c: &Ctx<'_>, key: &str) -> Result<Option<i64>, ApiError> {
    c.q.get(key)
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                ApiError::storage(400, "invalid", format!("Invalid argument for {key}: {v}"))
            })
        })
        .transpose()
}

/// `storage.objects.list` with `prefix` and `delimiter` (what `gcloud storage` uses to
/// look a name up); everything in one page.
pub(crate) fn list_objects(c: &mut Ctx<'_>) -> Result<Value, ApiError> {
    let bname = c.p[0].clone();
    let b = bucket(c.st, &bname)?;
    require(c.st, "storage.objects.list", &b.project_id, "bucket")?;
    let prefix = c.q.get("prefix").unwrap_or_default();
    let delimiter = c.q.get("delimiter").filter(|d| !d.is_empty());
    let mut items = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    for (name, o) in b.objects.iter().filter(|(n, _)| n.starts_with(prefix)) {
        let rest = &name[prefix.len()..];
        match delimiter.and_then(|d| rest.find(d).map(|i| (i, d))) {
            Some((i, d)) => {
                let p = format!("{prefix}{}{d}", &rest[..i]);
                if !prefixes.contains(&p) {
                    prefixes.push(p);
                }
            }
            None => items.push(object_json(&bname, o)),
        }
    }
    let mut out = json!({"kind": "storage#objects"});
    if !items.is_empty() {
        out["items"] = items.into();
    }
    if !prefixes.is_empty() {
        out["prefixes"] = prefixes.into();
    }
    Ok(out)
}

/// `storage.objects.get`: the metadata, or with `alt=media` the bytes.
pub(crate) fn get_object(c: &mut Ctx<'_>) -> Result<Value, ApiError> {
    let (bname, oname) = (c.p[0].clone(), c.p[1].clone());
    let b = bucket(c.st, &bname)?;
    require(c.st, "storage.objects.get", &b.project_id, "object")?;
    let missing = || ApiError::storage(404, "notFound", format!("No such object: {bname}/{oname}"));
    let o = b.objects.get(&oname).ok_or_else(missing)?;
    if int_param(c, "generation")?.is_some_and(|g| g != o.generation) {
        return Err(missing());
    }
    if int_param(c, "ifGenerationMatch")?.is_some_and(|g| g != o.generation)
        || int_param(c, "ifGenerationNotMatch")?.is_some_and(|g| g == o.generation)
    {
        return Err(precondition_failed());
    }
    if c.q.get("alt") != Some("media") {
        return Ok(object_json(&bname, o));
    }
    let data = &o.data.0;
    let total = data.len();
    let mut status = 200;
    let mut headers = vec![
        ("x-goog-generation".to_string(), o.generation.to_string()),
        ("x-goog-metageneration".into(), "1".into()),
        ("x-goog-stored-content-length".into(), total.to_string()),
        ("x-goog-stored-content-encoding".into(), "identity".into()),
        ("x-goog-storage-class".into(), "STANDARD".into()),
        (
            "x-goog-hash".into(),
            format!("crc32c={},md5={}", crc_b64(data), md5_b64(data)),
        ),
        ("etag".into(), STANDARD.encode(o.generation.to_be_bytes())),
    ];
    let mut body = data.clone();
    if let Some((first, last)) = c
        .headers
        .get("range")
        .and_then(|r| r.to_str().ok())
        .and_then(|r| byte_range(r, total))
    {
        status = 206;
        body = data[first..=last].to_vec();
        headers.push((
            "content-range".into(),
            format!("bytes {first}-{last}/{total}"),
        ));
    }
    c.reply = Some(Reply {
        status,
        headers,
        body,
        content_type: o.content_type.clone(),
    });
    Ok(Value::Null)
}

/// `bytes=A-B`, `bytes=A-` or `bytes=-N` over `total` bytes, as an inclusive range.
fn byte_range(r: &str, total: usize) -> Option<(usize, usize)> {
    let (a, b) = r.trim().strip_prefix("bytes=")?.split_once('-')?;
    if total == 0 {
        return None;
    }
    let (first, last) = match (a.parse::<usize>().ok(), b.parse::<usize>().ok()) {
        (Some(a), Some(b)) => (a, b.min(total - 1)),
        (Some(a), None) => (a, total - 1),
        (None, Some(n)) => (total.saturating_sub(n), total - 1),
        (None, None) => return None,
    };
    (first <= last).then_some((first, last))
}

fn put(
    st: &mut State,
    bname: &str,
    name: &str,
    data: Vec<u8>,
    content_type: &str,
    metadata: Option<Value>,
) -> Value {
    st.storage.seq += 1;
    let o = StoredObject {
        name: name.to_string(),
        generation: GENERATION_BASE + st.storage.seq as i64,
        data: Data(data),
        content_type: content_type.to_string(),
        metadata,
        created: now_rfc3339(),
    };
    let out = object_json(bname, &o);
    if let Some(b) = st.storage.buckets.get_mut(bname) {
        b.objects.insert(name.to_string(), o);
    }
    out
}

/// Writes an object on Google's side (a build's log), creating the Google-owned bucket in
/// `project_id` when it does not exist.
pub(crate) fn write_internal(
    st: &mut State,
    project_id: &str,
    bname: &str,
    name: &str,
    data: Vec<u8>,
    content_type: &str,
) {
    ensure_bucket(st, project_id, bname);
    put(st, bname, name, data, content_type, None);
}

/// Creates bucket `bname` in `project_id` unless it exists.
pub(crate) fn ensure_bucket(st: &mut State, project_id: &str, bname: &str) {
    if !st.storage.buckets.contains_key(bname) {
        st.storage.buckets.insert(
            bname.to_string(),
            Bucket {
                name: bname.to_string(),
                project_id: project_id.to_string(),
                location: "US".into(),
                storage_class: "STANDARD".into(),
                labels: None,
                created: now_rfc3339(),
                objects: BTreeMap::new(),
            },
        );
    }
}

/// Object names in a bucket (for tests and the emulator's own checks).
pub(crate) fn object_names(st: &State, bname: &str) -> Vec<String> {
    st.storage
        .buckets
        .get(bname)
        .map(|b| b.objects.keys().cloned().collect())
        .unwrap_or_default()
}

/// The live generation of `bucket/name`.
pub(crate) fn object_generation(st: &State, bname: &str, name: &str) -> Option<i64> {
    st.storage
        .buckets
        .get(bname)?
        .objects
        .get(name)
        .map(|o| o.generation)
}

pub(crate) fn object_bytes(st: &State, bname: &str, name: &str) -> Option<Vec<u8>> {
    Some(
        st.storage
            .buckets
            .get(bname)?
            .objects
            .get(name)?
            .data
            .0
            .clone(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_names() {
        assert_eq!(byte_range("bytes=2-4", 10), Some((2, 4)));
        assert_eq!(byte_range("bytes=8-", 10), Some((8, 9)));
        assert_eq!(byte_range("bytes=-3", 10), Some((7, 9)));
        assert!(valid_bucket_name("run-sources-acme-us-central1"));
        assert!(!valid_bucket_name("Run_Sources"));
        assert!(!valid_bucket_name("ab"));
        // The CRC32C of "hello" is 0x9a71bb4c (RFC 3720 polynomial).
        assert_eq!(
            crc_b64(b"hello"),
            STANDARD.encode(0x9a71_bb4c_u32.to_be_bytes())
        );
    }
}
