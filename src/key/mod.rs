//! The encryption key itself: making one, and judging one. Pure, no I/O.
//!
//! `SRE_AGENT_ENCRYPTION_KEY` is a Fernet key: "the base64url encoding of"
//! a 16-byte signing key and a 16-byte encryption key (the Fernet spec,
//! github.com/fernet/spec `Spec.md`, "Key Format"), that is 32 random bytes
//! in URL-safe base64 with padding, 44 characters, as Python's
//! `Fernet.generate_key()` makes it. A key that is not one makes the agent
//! crash at start, so `key check`, `plan` and `deploy` judge the payload
//! before any revision reads it.
//!
//! Nothing here keeps, prints or formats a key's value: a [`KeyFormatError`]
//! says what is wrong in words and lengths only.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use serde::{Deserialize, Serialize};

/// How many bytes a Fernet key decodes to.
pub(crate) const KEY_BYTES: usize = 32;

/// A new Fernet key from the operating system's randomness: 44 characters
/// of URL-safe base64 (with its one `=` of padding), no newline.
pub(crate) fn generate() -> Result<String, rand::rand_core::OsError> {
    use rand::TryRngCore;
    let mut bytes = [0u8; KEY_BYTES];
    rand::rngs::OsRng.try_fill_bytes(&mut bytes)?;
    Ok(URL_SAFE.encode(bytes))
}

/// Why a payload is not a Fernet key. Each kind names a cause people meet:
/// `echo "$KEY" | gcloud secrets create ... --data-file=-` stores the key
/// with a trailing newline; `openssl rand -base64 32` uses the standard
/// alphabet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub(crate) enum KeyFormatError {
    #[error("the payload is empty")]
    Empty,
    #[error(
        "the key ends with a newline (as `echo \"$KEY\" | gcloud secrets versions add` stores it)"
    )]
    TrailingNewline,
    #[error("the key ends with a space or tab")]
    TrailingWhitespace,
    #[error(
        "the key uses the standard base64 alphabet (`+`, `/`), not the URL-safe one (`-`, `_`)"
    )]
    StandardAlphabet,
    #[error("the key is not URL-safe base64 with padding ({chars} characters)")]
    NotBase64 { chars: usize },
    #[error("the key decodes to {bytes} bytes, not {KEY_BYTES}")]
    WrongLength { bytes: usize },
}

impl KeyFormatError {
    /// The fix, the same for every kind: store a freshly generated key.
    pub(crate) fn hint(env: &str) -> String {
        format!(
            "add a new version with a valid key: `autosre-deploy key rotate --env {env}` (or `autosre-deploy key generate | tr -d '\\n' | gcloud secrets versions add SECRET --data-file=-`)"
        )
    }
}

/// Whether `payload` is a Fernet key: URL-safe base64, padded, decoding to
/// exactly 32 bytes. Trailing whitespace is named before anything else, since
/// the rest of such a key is usually fine.
pub(crate) fn validate(payload: &[u8]) -> Result<(), KeyFormatError> {
    if payload.is_empty() {
        return Err(KeyFormatError::Empty);
    }
    if payload.ends_with(b"\n") {
        return Err(KeyFormatError::TrailingNewline);
    }
    if payload.ends_with(b" ") || payload.ends_with(b"\t") || payload.ends_with(b"\r") {
        return Err(KeyFormatError::TrailingWhitespace);
    }
    match URL_SAFE.decode(payload) {
        Ok(bytes) if bytes.len() == KEY_BYTES => Ok(()),
        Ok(bytes) => Err(KeyFormatError::WrongLength { bytes: bytes.len() }),
        Err(_) if payload.iter().any(|b| *b == b'+' || *b == b'/') => {
            Err(KeyFormatError::StandardAlphabet)
        }
        Err(_) => Err(KeyFormatError::NotBase64 {
            chars: payload.len(),
        }),
    }
}

/// CRC32C (Castagnoli), the checksum Secret Manager returns with a payload
/// as `payload.dataCrc32c` and accepts with `addVersion`
/// (cloud.google.com/secret-manager/docs/data-integrity).
pub(crate) fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0x82F6_3B78 & mask);
        }
    }
    !crc
}

/// What Secret Manager's checksum said about a payload it returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Checksum {
    /// `dataCrc32c` matches the bytes received.
    Verified,
    /// The answer carried no `dataCrc32c`.
    Absent,
    /// The bytes received do not match `dataCrc32c`: corrupted on the way.
    Mismatch,
}

/// Compare a payload with the `dataCrc32c` that came with it.
pub(crate) fn checksum(data: &[u8], data_crc32c: Option<i64>) -> Checksum {
    match data_crc32c {
        None => Checksum::Absent,
        Some(c) if c == i64::from(crc32c(data)) => Checksum::Verified,
        Some(_) => Checksum::Mismatch,
    }
}

/// Everything known about one key version's payload once it was read: the
/// judgement, never the value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Inspection {
    /// The version number the payload came from.
    pub(crate) version: String,
    pub(crate) checksum: Checksum,
    /// `None` when the key is a valid Fernet key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<KeyFormatError>,
}

impl Inspection {
    /// Judge a payload read from `version` (its resource name or number).
    pub(crate) fn of(version: &str, data: &[u8], data_crc32c: Option<i64>) -> Inspection {
        Inspection {
            version: version.rsplit('/').next().unwrap_or(version).to_string(),
            checksum: checksum(data, data_crc32c),
            error: validate(data).err(),
        }
    }

    /// A usable key: a valid format, and bytes that were not corrupted.
    pub(crate) fn valid(&self) -> bool {
        self.error.is_none() && self.checksum != Checksum::Mismatch
    }

    /// What is wrong, in words, when something is.
    pub(crate) fn fault(&self) -> Option<String> {
        match (self.checksum, &self.error) {
            (Checksum::Mismatch, _) => Some(
                "the payload does not match the CRC32C checksum Secret Manager sent with it".into(),
            ),
            (_, Some(e)) => Some(e.to_string()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "dGVzdC1mZXJuZXQta2V5LWRvLW5vdC1wcmludC0zMmI=";

    #[test]
    fn generated_keys_are_valid_44_character_fernet_keys() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_eq!(a.len(), 44);
        assert!(a.ends_with('='));
        assert_eq!(validate(a.as_bytes()), Ok(()));
        assert_ne!(a, b, "each key is fresh");
    }

    #[test]
    fn a_fernet_key_is_url_safe_base64_of_32_bytes() {
        assert_eq!(validate(VALID.as_bytes()), Ok(()));
        // The URL-safe alphabet's own characters are fine.
        assert_eq!(
            validate(URL_SAFE.encode([0xfb_u8; 32]).as_bytes()),
            Ok(()),
            "-_ in the key"
        );
    }

    #[test]
    fn each_malformed_key_names_its_cause() {
        let cases: Vec<(Vec<u8>, KeyFormatError)> = vec![
            (b"".to_vec(), KeyFormatError::Empty),
            (
                format!("{VALID}\n").into_bytes(),
                KeyFormatError::TrailingNewline,
            ),
            (
                format!("{VALID}\r\n").into_bytes(),
                KeyFormatError::TrailingNewline,
            ),
            (
                format!("{VALID} ").into_bytes(),
                KeyFormatError::TrailingWhitespace,
            ),
            (
                format!("{VALID}\t").into_bytes(),
                KeyFormatError::TrailingWhitespace,
            ),
            (
                b"not a key at all!".to_vec(),
                KeyFormatError::NotBase64 { chars: 17 },
            ),
            // Padding left off: Python's urlsafe_b64decode refuses it too.
            (
                VALID.trim_end_matches('=').as_bytes().to_vec(),
                KeyFormatError::NotBase64 { chars: 43 },
            ),
            (
                base64::engine::general_purpose::STANDARD
                    .encode([0xfb_u8; 32])
                    .into_bytes(),
                KeyFormatError::StandardAlphabet,
            ),
            (
                URL_SAFE.encode([7u8; 16]).into_bytes(),
                KeyFormatError::WrongLength { bytes: 16 },
            ),
            (
                URL_SAFE.encode([7u8; 33]).into_bytes(),
                KeyFormatError::WrongLength { bytes: 33 },
            ),
        ];
        for (payload, want) in cases {
            assert_eq!(
                validate(&payload),
                Err(want),
                "{:?}",
                String::from_utf8_lossy(&payload)
            );
        }
    }

    #[test]
    fn error_messages_never_quote_the_key() {
        let key = format!("{VALID}\n");
        let e = validate(key.as_bytes()).unwrap_err();
        assert!(!e.to_string().contains(VALID));
        let e = validate(&key.as_bytes()[..20]).unwrap_err();
        assert!(!e.to_string().contains(&VALID[..20]), "{e}");
    }

    #[test]
    fn crc32c_matches_the_reference_vectors() {
        // RFC 3720 B.4, and Secret Manager's own example ("YQo=" is "a\n").
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b"a\n"), 163_439_259);
    }

    #[test]
    fn inspection_combines_the_checksum_and_the_format() {
        let data = VALID.as_bytes();
        let good = Inspection::of(
            "projects/1/secrets/k/versions/3",
            data,
            Some(i64::from(crc32c(data))),
        );
        assert_eq!(good.version, "3");
        assert_eq!(good.checksum, Checksum::Verified);
        assert!(good.valid());
        assert_eq!(good.fault(), None);

        let corrupted = Inspection::of("3", data, Some(1));
        assert_eq!(corrupted.checksum, Checksum::Mismatch);
        assert!(!corrupted.valid());

        let unchecked = Inspection::of("3", data, None);
        assert_eq!(unchecked.checksum, Checksum::Absent);
        assert!(unchecked.valid());

        let newline = Inspection::of("3", b"abc\n", None);
        assert!(!newline.valid());
        assert!(newline.fault().unwrap().contains("newline"));
    }
}
