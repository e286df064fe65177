//! What the plan's unit tests build their scenarios from: an environment file's text, and a
//! live state of a runtime account and secrets (no process, no emulator).

use std::path::Path;

use google_cloud_iam_v1::model::{Binding, Policy};
use google_cloud_secretmanager_v1::model::SecretVersion;
use google_cloud_secretmanager_v1::model::secret_version::State as VersionState;

use crate::config::Environment;
use crate::plan::live::{AccountState, LiveState, SecretId, SecretLive, VersionRef};

/// The fixtures' project, runtime account and image.
pub(crate) const PROJECT: &str = "acme-prod";
pub(crate) const SA: &str = "run@acme-prod.iam.gserviceaccount.com";
pub(crate) const IMAGE: &str = "us-docker.pkg.dev/acme-prod/autosre/autosre:1";

/// `yaml` as `config/test.yaml`.
pub(crate) fn env_from(yaml: &str) -> Environment {
    crate::config::parse(Path::new("config/test.yaml"), "test", yaml).expect("valid fixture")
}

/// An IAM policy (version 3) with `etag` and `bindings`.
pub(crate) fn policy(etag: &'static [u8], bindings: Vec<Binding>) -> Policy {
    Policy::new()
        .set_version(3)
        .set_etag(bytes::Bytes::from_static(etag))
        .set_bindings(bindings)
}

/// Version `n` of `secret` (in project number 1), in `state`.
pub(crate) fn version(secret: &str, n: u32, state: VersionState) -> SecretVersion {
    SecretVersion::new()
        .set_name(format!("projects/1/secrets/{secret}/versions/{n}"))
        .set_state(state)
}

/// The runtime account `email` exists (its policy read as `policy`); nothing else is read.
pub(crate) fn with_account(email: &str, policy: Option<Policy>) -> LiveState {
    LiveState {
        account: AccountState {
            email: email.into(),
            default: false,
            exists: true,
            policy,
        },
        ..LiveState::default()
    }
}

/// Secret `secret` of `project` exists with `policy`, and its `latest` is version 1, enabled.
pub(crate) fn add_secret(live: &mut LiveState, project: &str, secret: &str, policy: Policy) {
    let id = SecretId {
        project: project.into(),
        secret: secret.into(),
    };
    live.secrets.insert(
        id.clone(),
        SecretLive {
            exists: true,
            policy: Some(policy),
        },
    );
    live.versions.insert(
        VersionRef {
            id,
            version: "latest".into(),
        },
        Some(version(secret, 1, VersionState::Enabled)),
    );
}
