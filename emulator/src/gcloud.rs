//! The real gcloud CLI pointed at an emulator: what the tests that drive gcloud share (this
//! crate's `tests/gcloud.rs`, the tool's replay of the old grant script, and the `deploy`
//! benchmark, which runs that replay whenever gcloud is on PATH ([`find`]).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The gcloud CLI on PATH, if any.
pub fn find() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("gcloud"))
            .find(|f| f.is_file())
    })
}

/// The gcloud CLI on PATH. The tests of the `gcloud-tests` feature call this, so a missing
/// gcloud fails them; they never skip.
pub fn path() -> PathBuf {
    find().unwrap_or_else(|| {
        panic!(
            "the `gcloud-tests` feature is on but `gcloud` is not on PATH: install the \
                 Google Cloud CLI, or run the tests without `--features gcloud-tests`"
        )
    })
}

/// A gcloud command that talks only to the emulator at `url`: its own config directory,
/// the token from `token_file` (gcloud's `auth/access_token_file`), no prompts, update checks
/// or usage reports, and every API the emulator serves overridden to `url`.
pub fn command(url: &str, config_dir: &Path, token_file: &Path) -> Command {
    let endpoint = format!("{}/", url.trim_end_matches('/'));
    let mut cmd = Command::new(path());
    cmd.env("CLOUDSDK_CONFIG", config_dir)
        .env("CLOUDSDK_AUTH_ACCESS_TOKEN_FILE", token_file)
        .env("CLOUDSDK_CORE_DISABLE_PROMPTS", "1")
        .env("CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK", "1")
        .env("CLOUDSDK_CORE_DISABLE_USAGE_REPORTING", "1");
    for api in [
        "SECRETMANAGER",
        "IAM",
        "CLOUDRESOURCEMANAGER",
        "RUN",
        "IAP",
        "ARTIFACTREGISTRY",
        "CLOUDBUILD",
    ] {
        cmd.env(format!("CLOUDSDK_API_ENDPOINT_OVERRIDES_{api}"), &endpoint);
    }
    // Storage's base URL path is `storage/v1/`, so its override carries it.
    cmd.env(
        "CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE",
        format!("{endpoint}storage/v1/"),
    );
    cmd
}
