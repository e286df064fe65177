//! The encryption key's format in the plan: which version `plan` and
//! `deploy` read, whether they may read it, and what its payload means.
//!
//! A malformed key makes the agent crash at start, so when the deploying
//! identity holds `secretmanager.versions.access` on the key secret (asked
//! with the other testIamPermissions questions), the second read phase reads
//! the payload of the version the service will use (the read is in `live`,
//! with every other read) and judges it here with [`crate::key`]. A malformed or corrupted key is a [`Problem`]: nothing is
//! written. Without the permission the plan says the format was not verified
//! and goes on. Only the judgement is kept: [`KeyPayload`] never holds bytes.

use serde::{Deserialize, Serialize};

use super::live::{LiveState, SecretId, VersionRef};
use super::{Problem, ProblemKind, Warning, WarningKind};
use crate::config::{Environment, KeyWiring};
use crate::key::{Checksum, Inspection, KeyFormatError, KeyWarning};

/// The permission that reads a payload.
pub(crate) const ACCESS: &str = "secretmanager.versions.access";

/// The key secret's reference, when the config wires the key to its secret.
pub(crate) fn reference(env: &Environment) -> Option<VersionRef> {
    if env.encryption_key_wiring() != KeyWiring::Wired {
        return None;
    }
    let r = env.service.secrets.get(&env.encryption_key.env)?;
    Some(VersionRef {
        id: SecretId {
            project: r.project.clone().unwrap_or_else(|| env.project.to_string()),
            secret: r.secret.clone(),
        },
        version: r.version.clone(),
    })
}

/// The version of the key the new revision will read, as a number: what the
/// reference resolves to now ([`LiveState::resolved_version`]: the number
/// itself, or what Secret Manager resolves `latest` or an alias to, which is
/// also the number a pinned deploy writes into the revision). `None` when
/// that version is not there to read. The one place that decides which
/// version `plan` and `deploy` check.
pub(crate) fn version_to_check(env: &Environment, live: &LiveState) -> Option<(SecretId, String)> {
    let r = reference(env)?;
    let number = live.resolved_version(&r)?.to_string();
    Some((r.id, number))
}

/// What reading the key's payload gave.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum KeyPayload {
    /// Nothing to read: the key is not wired, or its version is missing or
    /// not enabled (the preflight reports that).
    #[default]
    NotRead,
    /// Not read, for this reason (a missing permission, a refused read).
    NotVerified(String),
    Inspected(Inspection),
}

/// The key's format as the plan reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub(crate) enum KeyFormat {
    /// A valid Fernet key (and, when sent, a matching checksum).
    Valid {
        version: String,
        checksum: Checksum,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warning: Option<KeyWarning>,
    },
    /// Not usable: malformed, or corrupted on the way.
    Invalid {
        version: String,
        checksum: Checksum,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<KeyFormatError>,
    },
    /// Not read; why.
    NotVerified { reason: String },
}

/// The key's format, and the problem or warning it makes.
pub(crate) fn assess(
    env: &Environment,
    payload: &KeyPayload,
) -> (Option<KeyFormat>, Option<Problem>, Option<Warning>) {
    let secret = &env.encryption_key.secret;
    match payload {
        KeyPayload::NotRead => (None, None, None),
        KeyPayload::NotVerified(reason) => (
            Some(KeyFormat::NotVerified {
                reason: reason.clone(),
            }),
            None,
            Some(Warning {
                kind: WarningKind::KeyFormatNotVerified,
                message: format!(
                    "the encryption key's format was not verified: {reason}; grant `{ACCESS}` (roles/secretmanager.secretAccessor) on secret {secret} to the deploying identity to have it checked"
                ),
            }),
        ),
        KeyPayload::Inspected(i) if i.valid() => (
            Some(KeyFormat::Valid {
                version: i.version.clone(),
                checksum: i.checksum,
                warning: i.warning.clone(),
            }),
            None,
            i.warning.as_ref().map(|w| Warning {
                kind: WarningKind::KeyStrayCharacters,
                message: format!(
                    "the encryption key secret `{secret}` version {}: {w}; to store it clean: `autosre-deploy key rotate --env {}`",
                    i.version, env.name
                ),
            }),
        ),
        KeyPayload::Inspected(i) => {
            let kind = match i.checksum {
                Checksum::Mismatch => ProblemKind::KeyChecksumMismatch,
                _ => ProblemKind::KeyMalformed,
            };
            let fault = i.fault().unwrap_or_default();
            (
                Some(KeyFormat::Invalid {
                    version: i.version.clone(),
                    checksum: i.checksum,
                    error: i.error,
                }),
                Some(Problem {
                    kind,
                    message: format!(
                        "the encryption key secret `{secret}` version {} is not a valid Fernet key: {fault}; the agent would crash at start",
                        i.version
                    ),
                    hint: match kind {
                        ProblemKind::KeyChecksumMismatch => "run again: the bytes were corrupted between Secret Manager and this machine; if it persists, check the network path (a proxy rewriting responses)".into(),
                        _ => KeyFormatError::hint(&env.name),
                    },
                }),
                None,
            )
        }
    }
}
