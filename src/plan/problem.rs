//! What stops a deploy ([`Problem`]) and what a reviewer should know
//! ([`Warning`]), each with a typed kind.
//!
//! Callers branch on the kind, never on the words: `grant` tolerates missing
//! secrets but not a missing runtime account, hints are chosen per kind, and
//! the JSON output carries the kind for machines.

use serde::{Deserialize, Serialize};

/// Something that stops the deploy, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Problem {
    pub(crate) kind: ProblemKind,
    pub(crate) message: String,
    pub(crate) hint: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ProblemKind {
    /// The encryption key's env var is not wired to its secret at all.
    KeyNotWired,
    /// The encryption key's env var reads another secret.
    KeyWiredToOtherSecret,
    /// A referenced secret does not exist.
    SecretNotFound,
    /// A referenced secret version does not exist.
    VersionNotFound,
    /// A referenced version (or what `latest` resolves to) is not ENABLED.
    VersionNotEnabled,
    /// The runtime service account does not exist.
    ServiceAccountMissing,
    /// Cloud Run's own validation (validateOnly) refused the service.
    ServiceRejected,
    /// The deploying identity lacks a permission a required step needs
    /// (or, with `--strict-iam`, one any planned grant needs).
    MissingPermission,
    /// A read a required step depends on was refused (403).
    ReadRefused,
    /// The encryption key's payload is not a Fernet key.
    KeyMalformed,
    /// The key's payload does not match the checksum Secret Manager sent.
    KeyChecksumMismatch,
    /// `--no-traffic` on a first deploy: there is no revision to keep serving.
    NoTrafficOnFirstDeploy,
    /// A revision traffic would move to cannot start (`promote`, `rollback`).
    RevisionCannotStart,
    /// The image's Artifact Registry tag does not exist.
    ImageTagNotFound,
    /// The deploying identity may not read the image's tag
    /// (`artifactregistry.tags.get`), so it cannot be resolved to a digest.
    ImageTagUnreadable,
}

/// Something a reviewer should know that does not stop the deploy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Warning {
    pub(crate) kind: WarningKind,
    pub(crate) message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum WarningKind {
    /// Traffic is pinned to named revisions: the new revision gets none.
    TrafficPinned,
    /// The live service holds a credential as a plain env var value.
    PlainCredentialInLiveService,
    /// Cloud Run's validation fails on what this plan grants first.
    ValidationAwaitsGrants,
    /// Cloud Run could not validate the service (404, 403, no answer).
    NotValidatedByCloudRun,
    /// Before a source build, Cloud Run's validation did not find the image
    /// the build is to make; it is validated again after the build.
    ValidationAwaitsBuild,
    /// The update drops system annotations or labels the live service has.
    SystemKeysDropped,
    /// The deploying identity lacks a permission only a non-required grant
    /// needs: that grant will be denied.
    MissingPermission,
    /// A read was refused (403); the plan says what it could not check.
    ReadRefused,
    /// testIamPermissions was refused or not served for a resource.
    PermissionsNotChecked,
    /// `--set-env` sets an env var for this run, over the config.
    SetEnv,
    /// The encryption key's payload could not be read, so its format was
    /// not verified.
    KeyFormatNotVerified,
    /// The encryption key is valid but holds characters the agent's Fernet
    /// skips (a trailing newline, quotes): it works, a stricter reader may
    /// not take it.
    KeyStrayCharacters,
    /// The account a source deploy's build runs as holds, in the project
    /// policy the plan read, no role with the build permissions (or Cloud
    /// Build has no default account): the build would fail.
    BuildAccountWithoutBuildRole,
    /// `service.pin_secret_versions: false` leaves the encryption key at
    /// `latest` (or an alias) with more than one instance allowed.
    EncryptionKeyUnpinned,
    /// `grant` leaves `iap:` to `deploy`: the IAP resource and its agent's
    /// invoker grant belong to the service.
    IapLeftToDeploy,
    /// The image is in a registry the tool cannot ask: deployed by its tag,
    /// so a moved tag is not noticed.
    ImageTagNotResolved,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every problem kind, by [`problem_index`]'s order.
    const PROBLEMS: [ProblemKind; 15] = [
        ProblemKind::KeyNotWired,
        ProblemKind::KeyWiredToOtherSecret,
        ProblemKind::SecretNotFound,
        ProblemKind::VersionNotFound,
        ProblemKind::VersionNotEnabled,
        ProblemKind::ServiceAccountMissing,
        ProblemKind::ServiceRejected,
        ProblemKind::MissingPermission,
        ProblemKind::ReadRefused,
        ProblemKind::KeyMalformed,
        ProblemKind::KeyChecksumMismatch,
        ProblemKind::NoTrafficOnFirstDeploy,
        ProblemKind::RevisionCannotStart,
        ProblemKind::ImageTagNotFound,
        ProblemKind::ImageTagUnreadable,
    ];

    /// Exhaustive: a new kind does not compile until it is listed above.
    fn problem_index(k: ProblemKind) -> usize {
        match k {
            ProblemKind::KeyNotWired => 0,
            ProblemKind::KeyWiredToOtherSecret => 1,
            ProblemKind::SecretNotFound => 2,
            ProblemKind::VersionNotFound => 3,
            ProblemKind::VersionNotEnabled => 4,
            ProblemKind::ServiceAccountMissing => 5,
            ProblemKind::ServiceRejected => 6,
            ProblemKind::MissingPermission => 7,
            ProblemKind::ReadRefused => 8,
            ProblemKind::KeyMalformed => 9,
            ProblemKind::KeyChecksumMismatch => 10,
            ProblemKind::NoTrafficOnFirstDeploy => 11,
            ProblemKind::RevisionCannotStart => 12,
            ProblemKind::ImageTagNotFound => 13,
            ProblemKind::ImageTagUnreadable => 14,
        }
    }

    const WARNINGS: [WarningKind; 16] = [
        WarningKind::PlainCredentialInLiveService,
        WarningKind::ValidationAwaitsGrants,
        WarningKind::NotValidatedByCloudRun,
        WarningKind::ValidationAwaitsBuild,
        WarningKind::SystemKeysDropped,
        WarningKind::MissingPermission,
        WarningKind::ReadRefused,
        WarningKind::PermissionsNotChecked,
        WarningKind::SetEnv,
        WarningKind::KeyFormatNotVerified,
        WarningKind::KeyStrayCharacters,
        WarningKind::BuildAccountWithoutBuildRole,
        WarningKind::EncryptionKeyUnpinned,
        WarningKind::IapLeftToDeploy,
        WarningKind::TrafficPinned,
        WarningKind::ImageTagNotResolved,
    ];

    fn warning_index(k: WarningKind) -> usize {
        match k {
            WarningKind::PlainCredentialInLiveService => 0,
            WarningKind::ValidationAwaitsGrants => 1,
            WarningKind::NotValidatedByCloudRun => 2,
            WarningKind::ValidationAwaitsBuild => 3,
            WarningKind::SystemKeysDropped => 4,
            WarningKind::MissingPermission => 5,
            WarningKind::ReadRefused => 6,
            WarningKind::PermissionsNotChecked => 7,
            WarningKind::SetEnv => 8,
            WarningKind::KeyFormatNotVerified => 9,
            WarningKind::KeyStrayCharacters => 10,
            WarningKind::BuildAccountWithoutBuildRole => 11,
            WarningKind::EncryptionKeyUnpinned => 12,
            WarningKind::IapLeftToDeploy => 13,
            WarningKind::TrafficPinned => 14,
            WarningKind::ImageTagNotResolved => 15,
        }
    }

    fn name<T: Serialize>(kind: T) -> String {
        serde_json::to_value(kind)
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The documented kinds are the code's kinds: `docs/output.md` has a row
    /// for every problem and warning kind, and no other.
    #[test]
    fn the_docs_list_every_kind() {
        let docs = include_str!("../../docs/output.md");
        let rows = |section: &str| -> Vec<String> {
            let start = docs.find(section).expect(section);
            docs[start..]
                .lines()
                .skip(1)
                .skip_while(|l| !l.starts_with("| `"))
                .take_while(|l| l.starts_with('|'))
                .filter_map(|l| l.strip_prefix("| `")?.split('`').next().map(str::to_string))
                .collect()
        };
        for (i, k) in PROBLEMS.iter().enumerate() {
            assert_eq!(problem_index(*k), i);
        }
        for (i, k) in WARNINGS.iter().enumerate() {
            assert_eq!(warning_index(*k), i);
        }
        let problems: Vec<String> = PROBLEMS.iter().map(|k| name(*k)).collect();
        let warnings: Vec<String> = WARNINGS.iter().map(|k| name(*k)).collect();
        assert_eq!(rows("### Problem kinds"), problems);
        assert_eq!(rows("### Warning kinds"), warnings);
    }
}
