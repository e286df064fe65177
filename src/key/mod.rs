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
//! What counts as a key is what the agent's `Fernet(key)` accepts, no more
//! and no less ([`KeyFormatError`]): a key with a trailing newline or the
//! standard alphabet works in the agent, so it is accepted, and stray
//! characters only make a [`KeyWarning`].
//!
//! Nothing here keeps, prints or formats a key's value: a [`KeyFormatError`]
//! or [`KeyWarning`] says what is wrong in words and lengths only.

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

/// Why a payload is not a Fernet key: exactly the payloads `Fernet(key)`
/// refuses. The agent builds `Fernet(os.environ[...])` with Python's
/// `cryptography`, which decodes the key with `base64.urlsafe_b64decode`
/// (pyca/cryptography `src/cryptography/fernet.py`, `Fernet.__init__`): a
/// `str` must be ASCII, and the decoder is CPython's non-strict
/// `binascii.a2b_base64` (CPython `Modules/binascii.c`), which skips
/// characters outside the alphabet and needs only a whole last quantum;
/// then the key must be 32 bytes. Held to a table made with `cryptography`
/// itself (`testdata/fernet_verdicts.tsv`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub(crate) enum KeyFormatError {
    #[error("the payload is empty")]
    Empty,
    #[error("the key holds a character outside ASCII, which Python refuses in a key string")]
    NotAscii,
    #[error(
        "the key's base64 ends in an incomplete group ({data_chars} base64 characters; padding with `=` missing or wrong)"
    )]
    Padding { data_chars: usize },
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

/// What the agent's Fernet accepts but is worth knowing: characters its
/// decoder skips (a trailing newline from `echo "$KEY" | gcloud secrets
/// versions add ... --data-file=-`, `\r\n`, blanks, quotes, anything after
/// the padding). The key works; a stricter reader of the same secret may not
/// take it. Named by class and count, never by value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub(crate) enum KeyWarning {
    StrayCharacters {
        count: usize,
        /// Which kinds: `newline`, `carriage_return`, `space_or_tab`,
        /// `quote`, `after_padding`, `other`.
        classes: Vec<String>,
    },
}

impl std::fmt::Display for KeyWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyWarning::StrayCharacters { count, classes } => write!(
                f,
                "the key holds {count} character(s) outside base64 ({}); the agent's Fernet skips them, but other readers of the secret may not",
                classes.join(", ").replace('_', " ")
            ),
        }
    }
}

/// A key `Fernet(key)` accepts, and what was skipped to read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Accepted {
    pub(crate) warning: Option<KeyWarning>,
}

/// Whether `payload` is a key the agent's `Fernet(key)` accepts: see
/// [`KeyFormatError`] for the rule, [`decode`] for the decoder.
pub(crate) fn validate(payload: &[u8]) -> Result<Accepted, KeyFormatError> {
    if payload.is_empty() {
        return Err(KeyFormatError::Empty);
    }
    let (bytes, stray) = decode(payload)?;
    if bytes.len() != KEY_BYTES {
        return Err(KeyFormatError::WrongLength { bytes: bytes.len() });
    }
    let warning = (!stray.is_empty()).then(|| {
        let mut classes: Vec<String> = Vec::new();
        for s in &stray {
            let c = s.class().to_string();
            if !classes.contains(&c) {
                classes.push(c);
            }
        }
        KeyWarning::StrayCharacters {
            count: stray.len(),
            classes,
        }
    });
    Ok(Accepted { warning })
}

/// A character the decoder skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stray {
    Byte(u8),
    /// After the padding that ended the input.
    AfterPadding(u8),
}

impl Stray {
    fn class(self) -> &'static str {
        match self {
            Stray::Byte(b'\n') | Stray::AfterPadding(b'\n') => "newline",
            Stray::Byte(b'\r') | Stray::AfterPadding(b'\r') => "carriage_return",
            Stray::Byte(b' ' | b'\t') | Stray::AfterPadding(b' ' | b'\t') => "space_or_tab",
            Stray::Byte(b'"' | b'\'') | Stray::AfterPadding(b'"' | b'\'') => "quote",
            Stray::AfterPadding(b) if b == b'=' || sextet(b).is_some() => "after_padding",
            Stray::Byte(_) | Stray::AfterPadding(_) => "other",
        }
    }
}

/// A base64 character's value, in either alphabet.
fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// `base64.urlsafe_b64decode` of a `str`: ASCII only, `-`/`_` read as
/// `+`/`/` (so both alphabets decode), then CPython's non-strict
/// `a2b_base64`: a character outside the alphabet is skipped; `=` after two
/// or three characters of a group ends the input once the group is full
/// (`xx==`, `xxx=`), and whatever follows is skipped; otherwise `=` is
/// skipped. A last group of one character, or of two or three without its
/// padding, is refused. The decoded bytes, and what was skipped.
fn decode(payload: &[u8]) -> Result<(Vec<u8>, Vec<Stray>), KeyFormatError> {
    if !payload.is_ascii() {
        return Err(KeyFormatError::NotAscii);
    }
    let mut out = Vec::with_capacity(payload.len() * 3 / 4);
    let mut stray = Vec::new();
    let (mut quad, mut left, mut pads, mut data_chars) = (0u8, 0u32, 0u8, 0usize);
    for (i, &c) in payload.iter().enumerate() {
        if c == b'=' {
            if quad >= 2 {
                pads += 1;
                if quad + pads >= 4 {
                    stray.extend(payload[i + 1..].iter().map(|&b| Stray::AfterPadding(b)));
                    return Ok((out, stray));
                }
            } else {
                stray.push(Stray::Byte(c));
            }
            continue;
        }
        let Some(v) = sextet(c) else {
            stray.push(Stray::Byte(c));
            continue;
        };
        let v = u32::from(v);
        data_chars += 1;
        pads = 0;
        match quad {
            0 => left = v,
            1 => {
                out.push(((left << 2) | (v >> 4)) as u8);
                left = v & 0x0f;
            }
            2 => {
                out.push(((left << 4) | (v >> 2)) as u8);
                left = v & 0x03;
            }
            _ => out.push(((left << 6) | v) as u8),
        }
        quad = (quad + 1) % 4;
    }
    match quad {
        0 => Ok((out, stray)),
        _ => Err(KeyFormatError::Padding { data_chars }),
    }
}

/// CRC32C (Castagnoli), the checksum Secret Manager returns with a payload
/// as `payload.dataCrc32c` and accepts with `addVersion`
/// (cloud.google.com/secret-manager/docs/data-integrity).
pub(crate) fn crc32c(data: &[u8]) -> u32 {
    ::crc32c::crc32c(data)
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
    /// What a valid key holds that the agent's Fernet skips.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) warning: Option<KeyWarning>,
}

impl Inspection {
    /// Judge a payload read from `version` (its resource name or number).
    pub(crate) fn of(version: &str, data: &[u8], data_crc32c: Option<i64>) -> Inspection {
        let (error, warning) = match validate(data) {
            Ok(a) => (None, a.warning),
            Err(e) => (Some(e), None),
        };
        Inspection {
            version: version.rsplit('/').next().unwrap_or(version).to_string(),
            checksum: checksum(data, data_crc32c),
            error,
            warning,
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
        assert_eq!(validate(a.as_bytes()), Ok(Accepted { warning: None }));
        assert_ne!(a, b, "each key is fresh");
    }

    /// The verdicts Python's `cryptography` gave (`testdata/gen_fernet_verdicts.py`):
    /// the check accepts exactly what `Fernet(key)` accepts, decodes it to
    /// the same bytes, and refuses the rest for the same reason.
    #[test]
    fn the_check_agrees_with_pythons_fernet_on_every_row_of_the_table() {
        let table = include_str!("testdata/fernet_verdicts.tsv");
        assert!(
            table.starts_with("# cryptography "),
            "the table records its version"
        );
        let mut rows = 0;
        for line in table.lines().filter(|l| !l.starts_with('#')) {
            let cols: Vec<&str> = line.split('\t').collect();
            let payload = unhex(cols[0]);
            let shown = String::from_utf8_lossy(&payload).escape_debug().to_string();
            let ours = validate(&payload);
            match (cols[1], cols[2]) {
                ("ok", bytes) => {
                    assert!(ours.is_ok(), "{shown}: Fernet accepts it, we say {ours:?}");
                    assert_eq!(decode(&payload).unwrap().0, unhex(bytes), "{shown}");
                }
                ("refused", "ascii") => assert_eq!(ours, Err(KeyFormatError::NotAscii), "{shown}"),
                ("refused", "binascii") => assert!(
                    matches!(
                        ours,
                        Err(KeyFormatError::Padding { .. } | KeyFormatError::Empty)
                    ),
                    "{shown}: {ours:?}"
                ),
                ("refused", length) => {
                    let n: usize = length.trim_start_matches("length:").parse().unwrap();
                    let want = match (n, payload.is_empty()) {
                        (0, true) => KeyFormatError::Empty,
                        _ => KeyFormatError::WrongLength { bytes: n },
                    };
                    assert_eq!(ours, Err(want), "{shown}");
                }
                other => panic!("unknown verdict {other:?}"),
            }
            rows += 1;
        }
        assert!(rows > 400, "{rows} rows");
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// What `echo "$KEY" |`, a Windows editor, a shell's quotes or
    /// `openssl rand -base64 32` leave in a key works in the agent: accepted,
    /// with a warning that names the kind of character, never the key.
    #[test]
    fn stray_characters_and_the_standard_alphabet_are_accepted_with_a_warning() {
        let stray = |payload: String, count: usize, classes: &[&str]| {
            let got = validate(payload.as_bytes()).unwrap();
            let want = KeyWarning::StrayCharacters {
                count,
                classes: classes.iter().map(|c| c.to_string()).collect(),
            };
            assert_eq!(got.warning, Some(want), "{payload:?}");
        };
        stray(format!("{VALID}\n"), 1, &["newline"]);
        stray(format!("{VALID}AAAA"), 4, &["after_padding"]);
        let bare = VALID.trim_end_matches('=');
        stray(format!("{bare}\n="), 1, &["newline"]);
        stray(
            format!("\"{bare}=\"\r\n"),
            4,
            &["quote", "carriage_return", "newline"],
        );
        stray(
            format!(" {}\t{}=", &bare[..10], &bare[10..]),
            2,
            &["space_or_tab"],
        );
        let standard = base64::engine::general_purpose::STANDARD.encode([0xfb_u8; 32]);
        assert_eq!(
            validate(standard.as_bytes()),
            Ok(Accepted { warning: None })
        );
        assert_eq!(
            validate(URL_SAFE.encode([0xfb_u8; 32]).as_bytes()),
            Ok(Accepted { warning: None }),
            "-_ in the key"
        );
    }

    #[test]
    fn each_refused_key_names_its_cause() {
        let cases: Vec<(Vec<u8>, KeyFormatError)> = vec![
            (b"".to_vec(), KeyFormatError::Empty),
            (
                b"not a key at all!".to_vec(),
                KeyFormatError::WrongLength { bytes: 9 },
            ),
            // Padding left off: Python's urlsafe_b64decode refuses it too.
            (
                VALID.trim_end_matches('=').as_bytes().to_vec(),
                KeyFormatError::Padding { data_chars: 43 },
            ),
            (format!("{VALID}é").into_bytes(), KeyFormatError::NotAscii),
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
    fn messages_never_quote_the_key() {
        let key = format!("\"{VALID}\"\n");
        let w = validate(key.as_bytes()).unwrap().warning.unwrap();
        assert!(!w.to_string().contains(&VALID[..8]), "{w}");
        let e = validate(&key.as_bytes()[..20]).unwrap_err();
        assert!(!e.to_string().contains(&VALID[..19]), "{e}");
    }

    #[test]
    fn crc32c_matches_the_reference_vectors() {
        // RFC 3720 B.4, and Secret Manager's own example ("YQo=" is "a\n").
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b"a\n"), 163_439_259);
        // RFC 3720 B.4's vectors (its bytes are the CRC least significant first).
        let incrementing: Vec<u8> = (0..32).collect();
        let decrementing: Vec<u8> = (0..32).rev().collect();
        assert_eq!(crc32c(&[0; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xFF; 32]), 0x62A8_AB43);
        assert_eq!(crc32c(&incrementing), 0x46DD_794E);
        assert_eq!(crc32c(&decrementing), 0x113F_DB5C);
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

        let short = Inspection::of("3", b"abc\n", None);
        assert!(!short.valid());
        assert!(short.fault().unwrap().contains("incomplete group"));

        let newline = Inspection::of("3", format!("{VALID}\n").as_bytes(), None);
        assert!(newline.valid(), "Fernet skips a trailing newline");
        assert!(newline.warning.is_some());
    }
}
