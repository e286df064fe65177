//! Saved plans: `plan --out FILE`, then `deploy --plan FILE` applies exactly
//! that plan or nothing.
//!
//! The file holds the plan (which never contains a secret value), the
//! environment, the image, the `--set-env` overrides the plan was made with
//! (plain values only: see [`SetEnv`]), a SHA-256 of the environment resolved
//! from the config file (so an edit of a comment or of the layout is no
//! change, a changed value is), and a SHA-256 digest over all of that. `deploy --plan` applies those
//! same overrides, and no others. Applying re-reads live state, recomputes
//! the plan and requires it to equal the saved one: the plan carries every
//! IAM policy's etag, the service's etag and generation, and what each secret
//! version resolves to, so any change to what the plan was computed from makes
//! the two differ. The digest catches a hand-edited file; it is an integrity
//! check, not a signature (anyone who can write the file can recompute it).

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Plan, SCHEMA_VERSION};

/// Marks the file as ours, so another JSON file is refused clearly.
const KIND: &str = "autosre-deploy-plan";

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SavedPlan {
    pub(crate) kind: String,
    pub(crate) schema_version: u32,
    pub(crate) environment: String,
    /// [`environment_sha256`] of the environment the plan was made for.
    pub(crate) config_sha256: String,
    pub(crate) image: String,
    /// `plan --set-env KEY=VALUE`, in the order given; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) set_env: Vec<SetEnv>,
    pub(crate) plan: Plan,
    pub(crate) digest: String,
}

/// One `--set-env KEY=VALUE` a saved plan was made with. Only names whose
/// values the plan shows are saved (`plan --out` refuses a credential-like
/// name even when `service.plain_env_allow` lists it), so the file holds no
/// value the plan would redact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SetEnv {
    pub(crate) name: String,
    pub(crate) value: String,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum SavedPlanError {
    #[error("cannot read the plan file `{path}`: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write the plan file `{path}`: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("the plan file `{path}` is not a regular file ({kind}); nothing was read")]
    NotAFile { path: String, kind: &'static str },
    #[error("`{path}` is not an autosre-deploy plan: {reason}")]
    NotAPlan { path: String, reason: String },
    #[error(
        "the plan file `{path}` was edited after it was made (its digest does not match); nothing was written"
    )]
    Edited { path: String },
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// The SHA-256 of the resolved environment: every value the deploy uses,
/// none of the file's bytes that do not change one (comments, layout, key
/// order, a default written out). The file's path is left out: the same
/// config reached by another `--config-dir` is the same config.
pub(crate) fn environment_sha256(env: &crate::config::Environment) -> String {
    let mut env = env.clone();
    env.source = std::path::PathBuf::new();
    sha256_hex(&serde_json::to_vec(&env).expect("an environment serializes"))
}

/// Refuse a plan file that cannot be written (a missing directory, a
/// directory, no permission) before anything is read from Google. A file
/// created to find out is removed again.
pub(crate) fn check_writable(path: &Path) -> Result<(), SavedPlanError> {
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|source| SavedPlanError::Write {
            path: path.display().to_string(),
            source,
        })?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

impl SavedPlan {
    pub(crate) fn new(
        plan: Plan,
        image: &str,
        set_env: &[(String, String)],
        environment_sha256: String,
    ) -> SavedPlan {
        let mut saved = SavedPlan {
            kind: KIND.into(),
            schema_version: SCHEMA_VERSION,
            environment: plan.environment.clone(),
            config_sha256: environment_sha256,
            image: image.into(),
            set_env: set_env
                .iter()
                .map(|(name, value)| SetEnv {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
            plan,
            digest: String::new(),
        };
        saved.digest = saved.compute_digest();
        saved
    }

    /// SHA-256 over everything but the digest itself. The `--set-env`
    /// overrides are covered when there are any (a plan saved without them
    /// keeps the digest it had before they were recorded).
    fn compute_digest(&self) -> String {
        let (kind, version, env, config, image, plan) = (
            &self.kind,
            self.schema_version,
            &self.environment,
            &self.config_sha256,
            &self.image,
            &self.plan,
        );
        let body = match self.set_env.as_slice() {
            [] => serde_json::to_vec(&(kind, version, env, config, image, plan)),
            set => serde_json::to_vec(&(kind, version, env, config, image, set, plan)),
        }
        .expect("a plan serializes");
        sha256_hex(&body)
    }

    /// The `--set-env` overrides to apply, as `KEY=VALUE` pairs.
    pub(crate) fn set_env_pairs(&self) -> Vec<(String, String)> {
        self.set_env
            .iter()
            .map(|s| (s.name.clone(), s.value.clone()))
            .collect()
    }

    pub(crate) fn write(&self, path: &Path) -> Result<(), SavedPlanError> {
        let text = serde_json::to_string_pretty(self).expect("a plan serializes");
        std::fs::write(path, text + "\n").map_err(|source| SavedPlanError::Write {
            path: path.display().to_string(),
            source,
        })
    }

    pub(crate) fn read(path: &Path) -> Result<SavedPlan, SavedPlanError> {
        let shown = path.display().to_string();
        // Checked before opening, as the config loader does: opening a FIFO
        // blocks until something writes to it.
        if let Ok(meta) = path.metadata()
            && !meta.is_file()
        {
            return Err(SavedPlanError::NotAFile {
                path: shown,
                kind: match meta.is_dir() {
                    true => "a directory",
                    false => "a FIFO, socket or device",
                },
            });
        }
        let text = std::fs::read_to_string(path).map_err(|source| SavedPlanError::Read {
            path: shown.clone(),
            source,
        })?;
        let saved: SavedPlan =
            serde_json::from_str(&text).map_err(|e| SavedPlanError::NotAPlan {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
        if saved.kind != KIND || saved.schema_version != SCHEMA_VERSION {
            return Err(SavedPlanError::NotAPlan {
                path: shown,
                reason: format!(
                    "kind `{}` schema_version {} (this autosre-deploy reads `{KIND}` schema_version {SCHEMA_VERSION})",
                    saved.kind, saved.schema_version
                ),
            });
        }
        if saved.digest != saved.compute_digest() {
            return Err(SavedPlanError::Edited { path: shown });
        }
        Ok(saved)
    }
}

/// What differs between the saved plan and the one computed now, in words.
/// Empty when they are the same.
pub(crate) fn drift(saved: &Plan, now: &Plan) -> Vec<String> {
    // The deploying identity's permissions are not live state the plan's
    // changes were computed from: a permission granted since is no drift.
    let without_permissions = |p: &Plan| {
        let mut p = p.clone();
        p.preflight.permissions.clear();
        p
    };
    if without_permissions(saved) == without_permissions(now) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for s in &saved.preflight.secrets {
        let n = now
            .preflight
            .secrets
            .iter()
            .find(|n| n.project == s.project && n.secret == s.secret && n.version == s.version);
        match n {
            Some(n) if n.resolved != s.resolved || n.state != s.state => out.push(format!(
                "secret {}:{} was version {} ({:?}), is now version {} ({:?})",
                s.secret,
                s.version,
                s.resolved.as_deref().unwrap_or("-"),
                s.state,
                n.resolved.as_deref().unwrap_or("-"),
                n.state
            )),
            None => out.push(format!(
                "secret {}:{} is no longer referenced",
                s.secret, s.version
            )),
            _ => {}
        }
    }
    let resources: std::collections::BTreeSet<_> = saved
        .iam
        .iter()
        .chain(&now.iam)
        .map(|c| c.resource.clone())
        .collect();
    for r in resources {
        let a = saved.iam.iter().find(|c| c.resource == r);
        let b = now.iam.iter().find(|c| c.resource == r);
        if a != b {
            out.push(format!(
                "the IAM policy of {} changed (etag {} -> {})",
                r.label(),
                a.and_then(|c| c.etag.as_deref()).unwrap_or("-"),
                b.and_then(|c| c.etag.as_deref()).unwrap_or("-"),
            ));
        }
    }
    match (&saved.service, &now.service) {
        // The live service moved (someone deployed). A service that only
        // differs in what the plan would send follows from the lines above
        // (a secret that resolves to another version changes the pin).
        (Some(a), Some(b)) if a.generation != b.generation || a.etag != b.etag => {
            out.push(format!(
                "the Cloud Run service {} changed (generation {} -> {})",
                a.name,
                a.generation
                    .map(|g| g.to_string())
                    .unwrap_or_else(|| "none".into()),
                b.generation
                    .map(|g| g.to_string())
                    .unwrap_or_else(|| "none".into()),
            ))
        }
        _ => {}
    }
    if out.is_empty() {
        out.push("the plan computed from live state now differs from the saved one".into());
    }
    out
}
