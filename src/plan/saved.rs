//! Saved plans: `plan --out FILE`, then `deploy --plan FILE` applies exactly
//! that plan or nothing.
//!
//! The file holds the version of autosre-deploy that made it, the plan
//! (which never contains a secret value), the environment, the image, the
//! `--set-env` overrides the plan was made with (plain values only: see
//! [`SetEnv`]), a SHA-256 of the environment resolved from the config file
//! (so an edit of a comment or of the layout is no change, a changed value
//! is), what the plan read ([`Reads`]), and a SHA-256 digest over all of
//! that. `deploy --plan` applies those same overrides, and no others.
//!
//! A plan made by another version is refused, as Terraform refuses a plan
//! file from another Terraform version: how a version turns a plan into
//! writes is not a contract between versions. Applying re-reads live state
//! and computes the plan again; it is stale when what it was computed from
//! changed: an IAM policy's etag, the service's etag and generation, what
//! each secret reference resolves to (and its state), or the exact service
//! the deploy would send (by its SHA-256). The plan's words (warnings,
//! hints) are not compared: a rewording is no change to apply. The digest
//! catches a hand-edited file; it is an integrity check, not a signature
//! (anyone who can write the file can recompute it).

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{LiveState, Plan, Planned, SCHEMA_VERSION, SecretState, ToSend};
use crate::gcp::iam::{self, PolicyResource};

/// Marks the file as ours, so another JSON file is refused clearly.
const KIND: &str = "autosre-deploy-plan";

/// The version of this tool: a saved plan is applied only by the version
/// that made it.
pub(crate) const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SavedPlan {
    pub(crate) kind: String,
    /// The autosre-deploy version that made the plan.
    pub(crate) tool_version: String,
    pub(crate) schema_version: u32,
    pub(crate) environment: String,
    /// [`environment_sha256`] of the environment the plan was made for.
    pub(crate) config_sha256: String,
    pub(crate) image: String,
    /// `plan --set-env KEY=VALUE`, in the order given; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) set_env: Vec<SetEnv>,
    pub(crate) plan: Plan,
    /// What the plan was computed from: what makes it stale.
    pub(crate) reads: Reads,
    pub(crate) digest: String,
}

/// What a plan was computed from, as far as a change to it makes the plan
/// stale: every IAM policy's etag, the live service's etag and generation,
/// what each secret reference resolved to, and a digest of the exact service
/// the deploy would send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Reads {
    /// Every policy read, with its etag (base64).
    pub(crate) policies: Vec<PolicyRead>,
    /// The live service, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) service: Option<ServiceRead>,
    pub(crate) secrets: Vec<SecretRead>,
    /// SHA-256 of the service the deploy would send (its JSON, keys
    /// sorted); absent when it sends none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) service_sha256: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PolicyRead {
    pub(crate) resource: PolicyResource,
    pub(crate) etag: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ServiceRead {
    pub(crate) name: String,
    pub(crate) etag: String,
    pub(crate) generation: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SecretRead {
    pub(crate) project: String,
    pub(crate) secret: String,
    /// As the config asks.
    pub(crate) version: String,
    /// The version number it resolved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) resolved: Option<String>,
    pub(crate) state: SecretState,
}

impl Reads {
    /// What `planned` was computed from.
    pub(crate) fn of(planned: &Planned) -> Reads {
        Reads::from_parts(&planned.plan, &planned.live, planned.to_send.as_ref())
    }

    pub(crate) fn from_parts(plan: &Plan, live: &LiveState, to_send: Option<&ToSend>) -> Reads {
        let mut policies: Vec<PolicyRead> = Vec::new();
        let mut read = |resource: PolicyResource,
                        p: Option<&google_cloud_iam_v1::model::Policy>| {
            if let Some(p) = p {
                policies.push(PolicyRead {
                    resource,
                    etag: iam::etag_text(p),
                });
            }
        };
        read(
            PolicyResource::Project {
                project: plan.project.clone(),
            },
            live.project_policy.as_ref(),
        );
        for (id, s) in &live.secrets {
            read(id.resource(), s.policy.as_ref());
        }
        let email = &live.account.email;
        read(
            PolicyResource::ServiceAccount {
                project: super::live::account_project(email, &plan.project),
                email: email.clone(),
            },
            live.account.policy.as_ref(),
        );
        if let Some(s) = &plan.service {
            read(
                PolicyResource::Service {
                    project: plan.project.clone(),
                    region: plan.region.clone(),
                    service: s.name.clone(),
                },
                live.service_policy.as_ref(),
            );
            if let Some(number) = &plan.project_number {
                read(
                    PolicyResource::IapWeb {
                        project: plan.project.clone(),
                        project_number: number.clone(),
                        region: plan.region.clone(),
                        service: s.name.clone(),
                    },
                    live.iap_policy.as_ref(),
                );
            }
        }
        Reads {
            policies,
            service: live.service.as_ref().map(|s| ServiceRead {
                name: s.name.rsplit('/').next().unwrap_or_default().to_string(),
                etag: s.etag.clone(),
                generation: s.generation,
            }),
            secrets: plan
                .preflight
                .secrets
                .iter()
                .map(|c| SecretRead {
                    project: c.project.clone(),
                    secret: c.secret.clone(),
                    version: c.version.clone(),
                    resolved: c.resolved.clone(),
                    state: c.state,
                })
                .collect(),
            service_sha256: to_send.map(|s| service_sha256(s.service())),
        }
    }
}

/// SHA-256 of a service's JSON with every object's keys sorted: the same
/// service gives the same digest whatever order its maps iterate in. Plain
/// env values are hashed as the plan shows them (a credential-named one by
/// its size and 16-bit hash prefix, a URL without its userinfo): a full
/// digest over a weak password would let anyone holding the file confirm a
/// guess of it. The values themselves come from the config and the saved
/// `--set-env`, both checked on their own.
fn service_sha256(service: &google_cloud_run_v2::model::Service) -> String {
    use google_cloud_run_v2::model::env_var::Values;
    let mut service = service.clone();
    for c in service
        .template
        .iter_mut()
        .flat_map(|t| t.containers.iter_mut())
    {
        for e in &mut c.env {
            if let Some(Values::Value(v)) = &mut e.values {
                *v = match crate::config::is_sensitive_name(&e.name) {
                    true => super::service::Sensitive::of(v).to_string(),
                    false => crate::config::redact_url_userinfo(v).into_owned(),
                };
            }
        }
    }
    fn canonical(v: &serde_json::Value, out: &mut String) {
        match v {
            serde_json::Value::Object(m) => {
                let sorted: std::collections::BTreeMap<&String, &serde_json::Value> =
                    m.iter().collect();
                out.push('{');
                for (i, (k, v)) in sorted.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::from(k.as_str()).to_string());
                    out.push(':');
                    canonical(v, out);
                }
                out.push('}');
            }
            serde_json::Value::Array(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    canonical(v, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let value = serde_json::to_value(&service).expect("a service serializes");
    let mut text = String::new();
    canonical(&value, &mut text);
    sha256_hex(text.as_bytes())
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
    /// As Terraform: "Only the same Terraform version can apply a plan file."
    #[error(
        "the plan file `{path}` was made by autosre-deploy {saved}, and this is autosre-deploy {TOOL_VERSION}: a plan is applied only by the version that made it; nothing was written"
    )]
    OtherVersion { path: String, saved: String },
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
        planned: &Planned,
        image: &str,
        set_env: &[(String, String)],
        environment_sha256: String,
    ) -> SavedPlan {
        let plan = planned.plan.clone();
        let mut saved = SavedPlan {
            kind: KIND.into(),
            tool_version: TOOL_VERSION.into(),
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
            reads: Reads::of(planned),
            digest: String::new(),
        };
        saved.digest = saved.compute_digest();
        saved
    }

    /// SHA-256 over everything but the digest itself.
    fn compute_digest(&self) -> String {
        let body = serde_json::to_vec(&(
            &self.kind,
            &self.tool_version,
            self.schema_version,
            &self.environment,
            &self.config_sha256,
            &self.image,
            &self.set_env,
            &self.plan,
            &self.reads,
        ))
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
        // Which version made it is read first, from the JSON as it is: a
        // plan of another version is refused as such, whatever its shape.
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| SavedPlanError::NotAPlan {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
        if value["kind"] == KIND && value["tool_version"] != TOOL_VERSION {
            return Err(SavedPlanError::OtherVersion {
                path: shown,
                saved: match &value["tool_version"] {
                    serde_json::Value::String(v) => v.clone(),
                    _ => "an earlier version (that did not record it)".into(),
                },
            });
        }
        let saved: SavedPlan =
            serde_json::from_value(value).map_err(|e| SavedPlanError::NotAPlan {
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

/// What changed since the saved plan was made, in words: what it read then
/// against what the plan computed now read. Empty when nothing did. The
/// plans themselves are not compared: a warning worded otherwise, or a
/// permission granted since, is no change to apply.
pub(crate) fn drift(saved: &Reads, now: &Reads) -> Vec<String> {
    let mut out = Vec::new();
    for s in &saved.secrets {
        let n = now
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
    let resources: std::collections::BTreeSet<&PolicyResource> = saved
        .policies
        .iter()
        .chain(&now.policies)
        .map(|p| &p.resource)
        .collect();
    for r in resources {
        let etag = |reads: &Reads| {
            reads
                .policies
                .iter()
                .find(|p| &p.resource == r)
                .map(|p| p.etag.clone())
        };
        let (a, b) = (etag(saved), etag(now));
        if a != b {
            out.push(format!(
                "the IAM policy of {} changed (etag {} -> {})",
                r.label(),
                a.as_deref().unwrap_or("-"),
                b.as_deref().unwrap_or("-"),
            ));
        }
    }
    let generation = |s: &Option<ServiceRead>| {
        s.as_ref()
            .map(|s| s.generation.to_string())
            .unwrap_or_else(|| "none".into())
    };
    if saved.service != now.service {
        let name = saved.service.as_ref().or(now.service.as_ref());
        out.push(format!(
            "the Cloud Run service {}changed (generation {} -> {})",
            name.map(|s| format!("{} ", s.name)).unwrap_or_default(),
            generation(&saved.service),
            generation(&now.service)
        ));
    }
    // The service to send follows from the reads above (a secret that
    // resolves to another version changes its pin): said on its own only
    // when nothing above explains it.
    if out.is_empty() && saved.service_sha256 != now.service_sha256 {
        out.push(format!(
            "the service the deploy would send changed (sha256 {} -> {})",
            short(saved.service_sha256.as_deref()),
            short(now.service_sha256.as_deref())
        ));
    }
    out
}

fn short(digest: Option<&str>) -> &str {
    digest.map_or("none", |d| &d[..d.len().min(12)])
}

#[cfg(test)]
mod tests;
