//! Every default of the file format, in one place.
//!
//! `resolve.rs` applies them and `schema.rs` publishes them, both from these constants, so the
//! documented default cannot drift from the applied one. The Cloud Run values are Cloud Run's
//! own defaults, so a file that omits a key deploys what `gcloud run deploy` would:
//!
//! - cpu 1: <https://cloud.google.com/run/docs/configuring/services/cpu>
//! - memory 512Mi: <https://cloud.google.com/run/docs/configuring/services/memory-limits>
//! - timeout 300s: <https://cloud.google.com/run/docs/configuring/request-timeout>
//! - concurrency 80: <https://cloud.google.com/run/docs/about-concurrency>
//! - max instances 100: <https://cloud.google.com/run/docs/configuring/max-instances-limits>
//! - min instances 0 (scale to zero) and no public access: Cloud Run's behaviour when unset.

use autosre_types::{Cpu, Memory, Timeout};

use super::environment::SecretAccess;

/// `region`: Cloud Run's most common region; override per environment.
pub(super) const REGION: &str = "us-central1";
/// `service.name`.
pub(super) const SERVICE_NAME: &str = "autosre";
/// `service.cpu`: 1 CPU (published as its canonical spelling, `1`).
pub(super) const CPU: Cpu = Cpu::DEFAULT;
/// `service.memory`: 512 MiB (published as `512Mi`).
pub(super) const MEMORY: Memory = Memory::DEFAULT;
/// `service.timeout`: 300 seconds (published as `300s`).
pub(super) const TIMEOUT: Timeout = Timeout::DEFAULT;
/// `service.concurrency`: maximum concurrent requests per instance.
pub(super) const CONCURRENCY: u32 = 80;
/// `service.min_instances`: scale to zero.
pub(super) const MIN_INSTANCES: u32 = 0;
/// `service.max_instances`.
pub(super) const MAX_INSTANCES: u32 = 100;
/// `service.allow_unauthenticated`: no `allUsers` invoker binding; the agent is private.
pub(super) const ALLOW_UNAUTHENTICATED: bool = false;
/// `service.pin_secret_versions`: pin `latest` to the version number it resolves to.
pub(super) const PIN_SECRET_VERSIONS: bool = true;
/// `service.traffic`: each deploy serves its new revision (Cloud Run's own default: an
/// empty `traffic` is "100% to the latest Ready revision", googleapis
/// `google/cloud/run/v2/service.proto`).
pub(super) const TRAFFIC: &str = "latest";
/// `production`: the stricter production guardrails are off unless asked for.
pub(super) const PRODUCTION: bool = false;
/// `encryption_key.secret`.
pub(super) const ENCRYPTION_KEY_SECRET: &str = "sre-agent-encryption-key";
/// `encryption_key.env`: the variable the agent reads its key from.
pub(super) const ENCRYPTION_KEY_ENV: &str = "SRE_AGENT_ENCRYPTION_KEY";
/// `iap.exclusive`: add-only, as the old deploy script was; members granted by hand stay.
pub(super) const IAP_EXCLUSIVE: bool = false;
/// `iam.secret_access`: least privilege, one binding per referenced secret.
pub(super) const SECRET_ACCESS: SecretAccess = SecretAccess::PerSecret;

// Defaults with no constant: `service.image` none (may come from `--image`),
// `service.public_ack` none, `service.plain_env_allow` empty,
// `service.service_account` none (Cloud Run's Compute Engine default account),
// `service.env`, `service.secrets` empty, `iam.project_roles`, `iam.service_account_users`
// empty.
