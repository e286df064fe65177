//! Small wire helpers the handlers share: RFC 3339 timestamps, percent-decoding of paths and
//! query strings, deterministic ids, base64 that accepts every alphabet proto3 JSON accepts,
//! and CRC32C for Secret Manager payload checksums.
//!
//! They are hand-written to keep the crate's dependency list short; each is a few lines and
//! tested below.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::time::{SystemTime, UNIX_EPOCH};

/// The elements of a JSON array field, none when it is absent or not an array.
pub(crate) fn items(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    v.and_then(Value::as_array).into_iter().flatten()
}

/// Now as an RFC 3339 UTC timestamp with microseconds, the shape Google's JSON uses
/// for `google.protobuf.Timestamp`.
/// `msg` packed as a `google.protobuf.Any` in JSON: `@type` first, then the message's fields.
pub(crate) fn any(type_url: &str, msg: &Value) -> Value {
    let mut any = serde_json::Map::new();
    any.insert("@type".into(), type_url.into());
    for (k, v) in msg.as_object().into_iter().flatten() {
        any.entry(k.clone()).or_insert(v.clone());
    }
    Value::Object(any)
}

pub(crate) fn now_rfc3339() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(d.as_secs() as i64, d.subsec_micros())
}

pub(crate) fn rfc3339(secs: i64, micros: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm (public domain, "chrono-Compatible Low-Level
/// Date Algorithms").
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Decodes `%XX` escapes; `plus_is_space` for `application/x-www-form-urlencoded` queries.
pub(crate) fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A parsed query string, in order, with repeated keys kept.
#[derive(Debug, Default, Clone)]
pub(crate) struct Query(pub(crate) Vec<(String, String)>);

impl Query {
    pub(crate) fn parse(raw: &str) -> Query {
        Query(
            raw.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (percent_decode(k, true), percent_decode(v, true))
                })
                .collect(),
        )
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true") | Some("1"))
    }
}

/// Lowercase hex of the first `n` bytes of SHA-256 over `parts`.
pub(crate) fn hash_hex(parts: &[&str], n: usize) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize()[..n]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Raw SHA-256 bytes over `parts`.
pub(crate) fn hash_bytes(parts: &[&str]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize().into()
}

/// A UUID-shaped (8-4-4-4-12 hex) id derived from `seed`; unique as long as the seed is.
pub(crate) fn uuid_from(seed: &str) -> String {
    let h = hash_hex(&[seed], 16);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// `n` lowercase letters derived from `seed` (Cloud Run's revision suffix is three of them).
pub(crate) fn letters_from(seed: &str, n: usize) -> String {
    hash_bytes(&[seed])[..n]
        .iter()
        .map(|b| (b'a' + b % 26) as char)
        .collect()
}

/// Standard base64 with padding, what Google emits for `bytes` fields.
pub(crate) fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes base64 in any alphabet proto3 JSON accepts: "Either standard or URL-safe base64
/// encoding with/without paddings are accepted" (protobuf.dev, "ProtoJSON Format", bytes).
pub(crate) fn b64_decode_any(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    STANDARD
        .decode(s)
        .or_else(|_| URL_SAFE.decode(s))
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .or_else(|_| URL_SAFE_NO_PAD.decode(s))
        .ok()
}

/// CRC32C (Castagnoli), the checksum Secret Manager uses for `dataCrc32c`
/// (secretmanager.v1 discovery, `SecretPayload.dataCrc32c`).
pub(crate) fn crc32c(data: &[u8]) -> u32 {
    ::crc32c::crc32c(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339(1_700_000_000, 5), "2023-11-14T22:13:20.000005Z");
    }

    #[test]
    fn percent_decoding_handles_plus_and_escapes() {
        assert_eq!(percent_decode("a%40b.com", false), "a@b.com");
        assert_eq!(percent_decode("a+b", true), "a b");
        assert_eq!(percent_decode("100%", false), "100%");
        let q = Query::parse("%24alt=json%3Benum-encoding%3Dint&validateOnly=true");
        assert_eq!(q.get("$alt"), Some("json;enum-encoding=int"));
        assert!(q.flag("validateOnly"));
    }

    #[test]
    fn base64_accepts_every_alphabet() {
        let bytes = [0xfb, 0xff, 0x01, 0x02];
        for s in ["+/8BAg==", "-_8BAg==", "+/8BAg", "-_8BAg"] {
            assert_eq!(b64_decode_any(s).as_deref(), Some(&bytes[..]), "{s}");
        }
    }

    #[test]
    fn crc32c_matches_the_reference_vector() {
        // RFC 3720 B.4: CRC32C of "123456789" is 0xE3069283.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        // RFC 3720 B.4's vectors (its bytes are the CRC least significant first).
        let incrementing: Vec<u8> = (0..32).collect();
        let decrementing: Vec<u8> = (0..32).rev().collect();
        assert_eq!(crc32c(&[0; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xFF; 32]), 0x62A8_AB43);
        assert_eq!(crc32c(&incrementing), 0x46DD_794E);
        assert_eq!(crc32c(&decrementing), 0x113F_DB5C);
    }
}
