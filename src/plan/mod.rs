//! The plan: every change a deploy would make, computed ahead of time from
//! live state with read-only calls.
//!
//! Two steps, as cargo-dist's `gather_work` does it, from what the run asks
//! ([`Options`]: the scope and image, the traffic ask, `--set-env`, the
//! source build, `--strict-iam`):
//!
//! ```text
//! live::read(google, env, needs, desire) -> LiveState  (every read, concurrently; no decisions)
//! compute::compute(env, options, &live)  -> Computed   (pure: no I/O, unit-tested on fixtures)
//! ```
//!
//! `compute` is the only producer of a plan: no command edits one. It
//! returns the [`Plan`], plain serializable data (what `plan` prints, what
//! `--dry-run` stops at, what a saved plan holds), and beside it the exact
//! service a deploy sends ([`ToSend`], never serialised). The service part
//! is decided once, from the first read phase ([`compute::desired`], handed
//! to `live::read` as a function so the reads need nothing of `compute`):
//! Cloud Run validates that service, and `apply` sends the same one. `deploy`
//! executes exactly the plan it shows, against the [`LiveState`] it was
//! computed from (so a read-modify-write costs no second read), so the
//! preview cannot drift from what happens.

pub(crate) mod compute;
#[cfg(test)]
pub(crate) mod fixtures;
pub(crate) mod image;
pub(crate) mod key;
pub(crate) mod live;
pub(crate) mod names;
mod needs;
pub(crate) mod permissions;
pub(crate) mod preflight;
pub(crate) mod problem;
pub(crate) mod saved;
pub(crate) mod service;
pub(crate) mod traffic;

use serde::{Deserialize, Serialize};

use crate::config::Environment;
use crate::gcp::iam::{Grant, PolicyResource};
use crate::gcp::{GcpError, Google};
pub(crate) use compute::ToSend;
pub(crate) use live::LiveState;
pub(crate) use problem::{Problem, ProblemKind, Warning, WarningKind};
use service::{FieldChange, ServiceView};

/// How much of the release path a command covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// IAM grants only (`grant`, and `check` without an image).
    Grant,
    /// Grants and the service, with this image (`deploy`, `plan`, `check`),
    /// and what the deploy asks of traffic.
    Deploy { image: String, traffic: TrafficAsk },
}

impl Target {
    /// A deploy of `image` that asks nothing of traffic beyond the config.
    pub(crate) fn deploy(image: impl Into<String>) -> Target {
        Target::Deploy {
            image: image.into(),
            traffic: TrafficAsk::default(),
        }
    }

    pub(crate) fn image(&self) -> Option<&str> {
        match self {
            Target::Grant => None,
            Target::Deploy { image, .. } => Some(image),
        }
    }

    pub(crate) fn traffic(&self) -> TrafficAsk {
        match self {
            Target::Grant => TrafficAsk::default(),
            Target::Deploy { traffic, .. } => traffic.clone(),
        }
    }
}

/// What `deploy`'s flags ask of traffic, over the config's `service.traffic`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TrafficAsk {
    /// `--to-latest`: LATEST = 100 whatever the config says.
    pub(crate) to_latest: bool,
    /// `--no-traffic`: the new revision gets none; the live split stays by name.
    pub(crate) no_traffic: bool,
    /// `--tag`: the tag for the new revision, and the random suffix of its
    /// name (a tagged revision is named by the deploy, as gcloud does, so that
    /// the tag can name it in the same request).
    pub(crate) tag: Option<(String, String)>,
}

/// What a run asks of its plan: every input besides the config and live
/// state. `compute` alone turns it into the plan.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    /// How much of the release path, with the image and traffic ask.
    pub(crate) target: Target,
    /// The env vars `--set-env` set (already applied to the environment):
    /// the plan says that they depart from the config file.
    pub(crate) set_env: Vec<String>,
    /// A source deploy: what is uploaded and built.
    pub(crate) source: Option<crate::source::build::SourcePlan>,
    /// `--strict-iam`: what would be a permission warning stops the run.
    pub(crate) strict_iam: bool,
    /// `grant`: the plan says that `iap:` is left to `deploy`.
    pub(crate) iap_left_to_deploy: bool,
}

impl Options {
    /// Nothing asked beyond `target`.
    pub(crate) fn of(target: Target) -> Options {
        Options {
            target,
            set_env: Vec::new(),
            source: None,
            strict_iam: false,
            iap_left_to_deploy: false,
        }
    }
}

/// A computed plan, the exact service to send, and the live state both came
/// from (what `apply` starts from).
#[derive(Debug)]
pub(crate) struct Planned {
    pub(crate) plan: Plan,
    pub(crate) to_send: Option<ToSend>,
    pub(crate) live: LiveState,
}

/// Read live state and compute the plan for `env`: the one entry point every
/// command uses.
pub(crate) async fn plan(
    google: &Google,
    env: &Environment,
    options: &Options,
) -> Result<Planned, GcpError> {
    let needs = live::Needs::of(env, &options.target);
    // The service part, decided once from the first read phase: what Cloud
    // Run validates in the second, and what `compute` takes.
    let mut desired = None;
    let source = options.source.as_ref();
    let live = live::read(google, env, &needs, source, |first, account| {
        let d = compute::desired(env, &options.target, first, account);
        let to_validate = d
            .as_ref()
            .and_then(|d| d.to_send.as_ref())
            .map(|s| s.service().clone());
        desired = d;
        to_validate
    })
    .await?;
    let computed = compute::compute(env, options, &live, desired);
    Ok(Planned {
        plan: computed.plan,
        to_send: computed.to_send,
        live,
    })
}

/// The plan for other `options` on live state already read (a source
/// deploy's, once its image is built), validated by Cloud Run again (see
/// [`live::validate`]).
pub(crate) async fn replan(
    google: &Google,
    env: &Environment,
    options: &Options,
    mut live: LiveState,
) -> Result<Planned, GcpError> {
    let desired = compute::desired(env, &options.target, &live, &live.account.email);
    let to_validate = desired
        .as_ref()
        .and_then(|d| d.to_send.as_ref())
        .map(|s| s.service().clone());
    live::validate(google, &mut live, to_validate).await?;
    let computed = compute::compute(env, options, &live, desired);
    Ok(Planned {
        plan: computed.plan,
        to_send: computed.to_send,
        live,
    })
}

/// Bumped whenever the JSON shape of a plan changes incompatibly.
pub(crate) const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Plan {
    pub(crate) schema_version: u32,
    pub(crate) environment: String,
    pub(crate) project: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) project_number: Option<String>,
    pub(crate) region: String,
    pub(crate) runtime_service_account: String,
    pub(crate) preflight: Preflight,
    pub(crate) iam: Vec<IamChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) service: Option<ServiceChange>,
    /// The image as given and as deployed: a tag resolved to its digest
    /// (see [`image`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) image: Option<image::ImageResolution>,
    /// A source deploy: what is uploaded and built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) source: Option<crate::source::build::SourcePlan>,
    /// What a reviewer should know; nothing here stops the deploy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) warnings: Vec<Warning>,
    pub(crate) changes: Changes,
}

/// What must hold before anything is written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Preflight {
    pub(crate) secrets: Vec<SecretCheck>,
    pub(crate) service_account: AccountCheck,
    pub(crate) encryption_key: KeyCheck,
    /// The deploying identity's permissions the plan needs, as
    /// testIamPermissions answered (see [`permissions`]).
    #[serde(default)]
    pub(crate) permissions: Vec<permissions::PermissionCheck>,
    /// Everything that stops a deploy, in the order found.
    pub(crate) problems: Vec<Problem>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct SecretCheck {
    /// The env vars that take their value from this secret version.
    pub(crate) env: Vec<String>,
    pub(crate) project: String,
    pub(crate) secret: String,
    /// As the config asks: `latest`, a number or a version alias.
    pub(crate) version: String,
    /// The version number the reference resolves to now (see
    /// [`LiveState::resolved_version`]), when it exists: the version a new
    /// instance would read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) resolved: Option<String>,
    /// The version number the revision is deployed with in place of the
    /// reference (`service.pin_secret_versions`): set when the config reads
    /// `latest` or an alias and the reference resolved; absent when the
    /// config names a number, pinning is off, or nothing resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pinned: Option<String>,
    pub(crate) state: SecretState,
}

/// The version each secret env var is deployed with where pinning replaced
/// the config's reference: env var name -> version number.
pub(crate) type Pins = std::collections::BTreeMap<String, String>;

/// The pins of these checks (see [`SecretCheck::pinned`]).
pub(crate) fn pins_of(checks: &[SecretCheck]) -> Pins {
    checks
        .iter()
        .filter_map(|c| c.pinned.as_ref().map(|v| (c, v)))
        .flat_map(|(c, v)| c.env.iter().map(move |e| (e.clone(), v.clone())))
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum SecretState {
    Enabled,
    Disabled,
    Destroyed,
    SecretNotFound,
    VersionNotFound,
    /// Reading the secret or the version was refused (403).
    Unreadable,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct AccountCheck {
    pub(crate) email: String,
    /// True when the config names none and Cloud Run's default is used.
    pub(crate) default: bool,
    pub(crate) exists: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct KeyCheck {
    pub(crate) env: String,
    pub(crate) secret: String,
    pub(crate) wired: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) state: Option<SecretState>,
    /// Whether the payload is a valid Fernet key, when it was read (see
    /// [`key`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) format: Option<key::KeyFormat>,
}

/// The bindings to add to (and remove from) one resource's policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IamChange {
    pub(crate) resource: PolicyResource,
    /// The etag of the policy the change was computed from (base64); absent
    /// when the resource does not exist yet (the service on a first deploy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) etag: Option<String>,
    pub(crate) add: Vec<Grant>,
    pub(crate) remove: Vec<Grant>,
    /// A denied write of a required change fails the deploy (the service
    /// cannot read its secrets without it); other denials are warnings.
    pub(crate) required: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ServiceChange {
    pub(crate) name: String,
    pub(crate) action: ServiceAction,
    pub(crate) fields: Vec<FieldChange>,
    pub(crate) new_revision: bool,
    /// Where traffic goes after the deploy, in words.
    pub(crate) traffic: String,
    pub(crate) desired: ServiceView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) etag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) generation: Option<i64>,
    /// The live service's URL, when it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) url: Option<String>,
    /// The split the deploy sends (see [`traffic`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) requested_traffic: Vec<traffic::Target>,
    /// What serves now, from the live service's `trafficStatuses`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) serving: Vec<traffic::Share>,
    /// The new revision's name, when the deploy names it (`--tag`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) revision_name: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ServiceAction {
    Create,
    Update,
    None,
}

/// Counts, as in `Plan: 3 to add, 1 to change, 0 to remove`: one per line
/// of the diff the plan shows (`+`, `~`, `-`), so the summary says what the
/// reader sees.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Changes {
    pub(crate) add: usize,
    pub(crate) change: usize,
    pub(crate) remove: usize,
}

impl Changes {
    pub(crate) fn any(&self) -> bool {
        self.add + self.change + self.remove > 0
    }

    pub(crate) fn of(
        iam: &[IamChange],
        service: Option<&ServiceChange>,
        source: Option<&crate::source::build::SourcePlan>,
    ) -> Changes {
        let mut c = Changes::default();
        // A source deploy's steps: each one that writes is a `+`.
        c.add += source.map_or(0, |s| s.steps.iter().filter(|s| s.action.writes()).count());
        for i in iam {
            c.add += i.add.len();
            c.remove += i.remove.len();
        }
        let Some(s) = service.filter(|s| s.action != ServiceAction::None) else {
            return c;
        };
        for f in &s.fields {
            match f.op {
                service::Op::Add => c.add += 1,
                service::Op::Change => c.change += 1,
                service::Op::Remove => c.remove += 1,
            }
        }
        // A change with no field line (none today) still counts once.
        if s.fields.is_empty() {
            match s.action {
                ServiceAction::Create => c.add += 1,
                _ => c.change += 1,
            }
        }
        c
    }
}

impl std::fmt::Display for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.any() {
            return f.write_str("No changes.");
        }
        write!(
            f,
            "Plan: {} to add, {} to change, {} to remove.",
            self.add, self.change, self.remove
        )
    }
}
