//! The upload path of `storage.objects.insert` (`/upload/storage/v1/b/{bucket}/o`):
//! `uploadType=media`, `multipart` and `resumable` sessions, and the checks every
//! completed write goes through (preconditions, sent checksums). The protocols are
//! described, with Google's pages, in the parent module's docs.

use serde_json::{Value, json};
use std::collections::HashMap;

use super::{Data, bucket, crc_b64, enc, int_param, md5_b64, precondition_failed, put, require};
use crate::error::ApiError;
use crate::routes::{Ctx, Reply};
use crate::state::State;

/// A resumable upload session.
#[derive(Debug, Clone)]
pub(super) struct Upload {
    bucket: String,
    name: String,
    resource: Value,
    data: Data,
    if_generation_match: Option<i64>,
    if_generation_not_match: Option<i64>,
    /// The object, once the session is finalized.
    result: Option<Value>,
}

/// Checks the `crc32c`/`md5Hash` of `sent` (object metadata or trailing checksums) against
/// `data`.
fn check_checksums(sent: &Value, data: &[u8]) -> Result<(), ApiError> {
    if let Some(want) = sent.get("crc32c").and_then(Value::as_str) {
        let got = crc_b64(data);
        if want != got {
            return Err(ApiError::storage(
                400,
                "invalid",
                format!("Provided CRC32C \"{want}\" doesn't match calculated CRC32C \"{got}\"."),
            ));
        }
    }
    if let Some(want) = sent.get("md5Hash").and_then(Value::as_str) {
        let got = md5_b64(data);
        if want != got {
            return Err(ApiError::storage(
                400,
                "invalid",
                format!(
                    "Provided MD5 hash \"{want}\" doesn't match calculated MD5 hash \"{got}\"."
                ),
            ));
        }
    }
    Ok(())
}

/// Stores `data` as `bucket/name` once the preconditions hold; the new object's JSON.
fn finish_write(
    st: &mut State,
    bname: &str,
    name: &str,
    resource: &Value,
    data: Vec<u8>,
    if_match: Option<i64>,
    if_not_match: Option<i64>,
) -> Result<Value, ApiError> {
    let b = bucket(st, bname)?;
    let live = b.objects.get(name).map(|o| o.generation);
    if if_match.is_some_and(|g| Some(g) != live && !(g == 0 && live.is_none()))
        || if_not_match.is_some_and(|g| Some(g) == live || (g == 0 && live.is_some()))
    {
        return Err(precondition_failed());
    }
    if live.is_some() {
        require(st, "storage.objects.delete", &b.project_id, "object")?;
    }
    check_checksums(resource, &data)?;
    let content_type = resource
        .get("contentType")
        .and_then(Value::as_str)
        .unwrap_or("application/octet-stream")
        .to_string();
    let metadata = resource.get("metadata").filter(|m| m.is_object()).cloned();
    Ok(put(st, bname, name, data, &content_type, metadata))
}

/// The object name: `?name=` wins, else the metadata's `name`.
fn object_name(c: &Ctx<'_>, resource: &Value) -> Result<String, ApiError> {
    c.q.get("name")
        .map(str::to_string)
        .or_else(|| {
            resource
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::storage(400, "required", "Required"))
}

fn header<'a>(c: &'a Ctx<'_>, name: &str) -> Option<&'a str> {
    c.headers.get(name).and_then(|v| v.to_str().ok())
}

/// `storage.objects.insert` on the upload path: `uploadType=media`, `multipart` or
/// `resumable` (the session's start).
pub(crate) fn upload(c: &mut Ctx<'_>) -> Result<Value, ApiError> {
    let bname = c.p[0].clone();
    let project_id = bucket(c.st, &bname)?.project_id.clone();
    require(c.st, "storage.objects.create", &project_id, "object")?;
    let if_match = int_param(c, "ifGenerationMatch")?;
    let if_not_match = int_param(c, "ifGenerationNotMatch")?;
    match c.q.get("uploadType").unwrap_or_default() {
        "media" => {
            let name = object_name(c, &Value::Null)?;
            let mut resource = json!({});
            if let Some(t) = header(c, "content-type") {
                resource["contentType"] = t.into();
            }
            let data = c.raw.to_vec();
            finish_write(c.st, &bname, &name, &resource, data, if_match, if_not_match)
        }
        "multipart" => {
            let ctype = header(c, "content-type").unwrap_or_default();
            let boundary = boundary(ctype)
                .ok_or_else(|| ApiError::storage(400, "invalid", "Missing multipart boundary."))?;
            let parts = multipart_parts(c.raw, &boundary);
            let [meta, media, rest @ ..] = parts.as_slice() else {
                return Err(ApiError::storage(
                    400,
                    "invalid",
                    "A multipart upload has a metadata part and a media part.",
                ));
            };
            let resource: Value = serde_json::from_slice(meta.1)
                .map_err(|e| ApiError::storage(400, "parseError", format!("Parse Error: {e}")))?;
            if let Some((_, trailing)) = rest.first() {
                let sums: Value = serde_json::from_slice(trailing).map_err(|e| {
                    ApiError::storage(400, "parseError", format!("Parse Error: {e}"))
                })?;
                check_checksums(&sums, media.1)?;
            }
            let mut resource = resource;
            if resource.get("contentType").is_none()
                && let Some(t) = media.0.get("content-type")
            {
                resource["contentType"] = t.clone().into();
            }
            let name = object_name(c, &resource)?;
            let data = media.1.to_vec();
            finish_write(c.st, &bname, &name, &resource, data, if_match, if_not_match)
        }
        "resumable" => {
            let resource: Value = if c.raw.iter().all(u8::is_ascii_whitespace) {
                json!({})
            } else {
                serde_json::from_slice(c.raw).map_err(|e| {
                    ApiError::storage(400, "parseError", format!("Parse Error: {e}"))
                })?
            };
            let name = object_name(c, &resource)?;
            c.st.storage.seq += 1;
            let id = format!(
                "ADPyc{}",
                crate::util::hash_hex(&[&bname, &name, &c.st.storage.seq.to_string()], 24)
            );
            c.st.storage.uploads.insert(
                id.clone(),
                Upload {
                    bucket: bname.clone(),
                    name: name.clone(),
                    resource,
                    data: Data::default(),
                    if_generation_match: if_match,
                    if_generation_not_match: if_not_match,
                    result: None,
                },
            );
            // The session URI points at this emulator (Google's at storage.googleapis.com;
            // clients send `Host: storage.googleapis.com` to any endpoint, so it cannot come
            // from the request).
            let location = format!(
                "{}/upload/storage/v1/b/{bname}/o?uploadType=resumable&name={}&upload_id={id}",
                c.base_url,
                enc(&name)
            );
            c.reply = Some(Reply {
                status: 200,
                headers: vec![("location".into(), location)],
                body: Vec::new(),
                content_type: "text/plain; charset=utf-8".into(),
            });
            Ok(Value::Null)
        }
        other => Err(ApiError::storage(
            400,
            "invalid",
            format!("Invalid upload type: '{other}'"),
        )),
    }
}

/// `Content-Range: bytes A-B/T`, `bytes A-B/*`, `bytes */T`, `bytes */*`: the chunk's
/// first byte (if it has data) and the total (if known).
fn content_range(v: &str) -> Option<(Option<u64>, Option<u64>)> {
    let (range, total) = v.trim().strip_prefix("bytes ")?.split_once('/')?;
    let total = match total {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    let first = match range {
        "*" => None,
        r => Some(r.split_once('-')?.0.parse().ok()?),
    };
    Some((first, total))
}

/// A PUT to a resumable session URI: a chunk, the last chunk, or a status query.
pub(crate) fn upload_chunk(c: &mut Ctx<'_>) -> Result<Value, ApiError> {
    let id = c.q.get("upload_id").unwrap_or_default().to_string();
    let missing = || ApiError::storage(404, "notFound", "No such upload session.");
    let up = c.st.storage.uploads.get(&id).ok_or_else(missing)?.clone();
    if let Some(done) = &up.result {
        return Ok(done.clone());
    }
    let (first, total) = match header(c, "content-range") {
        None => (Some(0), Some(c.raw.len() as u64)),
        Some(v) => content_range(v).ok_or_else(|| {
            ApiError::storage(400, "invalid", format!("Invalid Content-Range: {v}"))
        })?,
    };
    let mut data = up.data.0.clone();
    if let Some(first) = first {
        let have = data.len() as u64;
        if first > have {
            // A gap: nothing of this chunk is kept; the client re-syncs from `Range`.
            return Ok(incomplete(c, have));
        }
        let skip = (have - first) as usize;
        data.extend_from_slice(c.raw.get(skip..).unwrap_or_default());
    }
    let persisted = data.len() as u64;
    if let Some(s) = c.st.storage.uploads.get_mut(&id) {
        s.data = Data(data.clone());
    }
    if total != Some(persisted) {
        return Ok(incomplete(c, persisted));
    }
    let mut resource = up.resource.clone();
    if let Some(h) = header(c, "x-goog-hash") {
        for part in h.split(',') {
            if let Some(v) = part.trim().strip_prefix("crc32c=") {
                resource["crc32c"] = v.into();
            } else if let Some(v) = part.trim().strip_prefix("md5=") {
                resource["md5Hash"] = v.into();
            }
        }
    }
    let out = finish_write(
        c.st,
        &up.bucket,
        &up.name,
        &resource,
        data,
        up.if_generation_match,
        up.if_generation_not_match,
    )?;
    if let Some(s) = c.st.storage.uploads.get_mut(&id) {
        s.result = Some(out.clone());
        s.data = Data::default();
    }
    Ok(out)
}

/// `308 Resume Incomplete` with how much is persisted.
fn incomplete(c: &mut Ctx<'_>, persisted: u64) -> Value {
    let headers = match persisted {
        0 => Vec::new(),
        n => vec![("range".to_string(), format!("bytes=0-{}", n - 1))],
    };
    c.reply = Some(Reply {
        status: 308,
        headers,
        body: Vec::new(),
        content_type: "text/plain; charset=utf-8".into(),
    });
    Value::Null
}

/// The `boundary` parameter of a `multipart/related` content type, bare or quoted (gcloud
/// quotes it with `'`).
fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        (k.trim().eq_ignore_ascii_case("boundary"))
            .then(|| v.trim().trim_matches(['"', '\'']).to_string())
    })
}

/// The parts of a multipart body: each one's headers (lowercase names) and content. Lines
/// may end in CRLF (reqwest) or LF (Python's email generator, which gcloud's apitools uses).
fn multipart_parts<'a>(body: &'a [u8], boundary: &str) -> Vec<(HashMap<String, String>, &'a [u8])> {
    let delim = format!("--{boundary}");
    let d = delim.as_bytes();
    let find = |from: usize| {
        body.get(from..)
            .and_then(|rest| rest.windows(d.len()).position(|w| w == d))
            .map(|i| i + from)
    };
    let mut out = Vec::new();
    let Some(mut at) = find(0) else {
        return out;
    };
    loop {
        let mut start = at + d.len();
        if body.get(start..start + 2) == Some(b"--") {
            break;
        }
        // The rest of the delimiter line.
        match body
            .get(start..)
            .and_then(|r| r.iter().position(|b| *b == b'\n'))
        {
            Some(i) => start += i + 1,
            None => break,
        }
        let Some(next) = find(start) else {
            break;
        };
        // The part ends before the line break that precedes the next delimiter.
        let mut end = next;
        if end > start && body[end - 1] == b'\n' {
            end -= 1;
            if end > start && body[end - 1] == b'\r' {
                end -= 1;
            }
        }
        let part = &body[start..end];
        let (head, content) = split_head(part);
        let headers = String::from_utf8_lossy(head)
            .lines()
            .filter_map(|l| {
                let (k, v) = l.split_once(':')?;
                Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
            })
            .collect();
        out.push((headers, content));
        at = next;
    }
    out
}

/// A part's header block and its content (after the first empty line).
fn split_head(part: &[u8]) -> (&[u8], &[u8]) {
    for (sep, len) in [(&b"\r\n\r\n"[..], 4), (&b"\n\n"[..], 2)] {
        if let Some(i) = part.windows(len).position(|w| w == sep) {
            return (&part[..i], &part[i + len..]);
        }
    }
    // Some writers put no headers at all: the part starts with its empty line.
    match part
        .strip_prefix(b"\r\n")
        .or_else(|| part.strip_prefix(b"\n"))
    {
        Some(content) => (&[], content),
        None => (&[], part),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_bodies_split_with_crlf_or_lf() {
        let crlf = b"--xyz\r\nContent-Type: application/json\r\n\r\n{\"name\":\"a\"}\r\n--xyz\r\ncontent-type: text/plain\r\n\r\nhello\r\n--xyz--\r\n";
        let parts = multipart_parts(crlf, "xyz");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].1, b"{\"name\":\"a\"}");
        assert_eq!(parts[1].1, b"hello");
        assert_eq!(parts[1].0["content-type"], "text/plain");
        let lf = b"--===b==\nContent-Type: application/json\nMIME-Version: 1.0\n\n{}\n--===b==\nContent-Type: application/x-tar\n\nbytes\n--===b==--";
        let parts = multipart_parts(lf, "===b==");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1].1, b"bytes");
        assert_eq!(
            boundary("multipart/related; boundary=\"===b==\"").as_deref(),
            Some("===b==")
        );
        assert_eq!(
            boundary("multipart/related; boundary='===b=='").as_deref(),
            Some("===b==")
        );
    }

    #[test]
    fn content_ranges() {
        assert_eq!(content_range("bytes */*"), Some((None, None)));
        assert_eq!(content_range("bytes 0-9/10"), Some((Some(0), Some(10))));
        assert_eq!(content_range("bytes 5-9/*"), Some((Some(5), None)));
    }
}
