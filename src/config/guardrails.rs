//! Guardrails: well-formed files that would deploy something unsafe.
//!
//! - A plain `service.env` variable whose name looks like a credential (`*_KEY`, `*_TOKEN`,
//!   `*_SECRET`, `*PASSWORD*`, `*CREDENTIALS*`; the rule is `redact::is_sensitive_name`) is an
//!   error unless `service.plain_env_allow` lists it: a credential belongs in
//!   `service.secrets`, where Secret Manager holds it and IAM guards it. The allow-list is
//!   for names that only look like credentials (`PUBLIC_KEY_ID`); an entry that names no plain
//!   variable is an error too, so the list cannot go stale.
//! - `production: true` requires `STRICT_EUC_ENFORCEMENT: "true"` in `service.env` (the
//!   agent's end-user-credential enforcement), and `allow_unauthenticated: true` there needs
//!   `service.public_ack`: a sentence saying why this production service is public, which
//!   reviewers read in the diff.
//!
//! (The encryption key as a plain value has its own, stricter error in `resolve.rs`.)

use serde_saphyr::Spanned;

use super::environment::ServiceSpec;
use super::problems::Problems;
use super::raw::{EnvValue, Flag, RawService};
use super::redact;
use super::validate::{self, InvalidValue};
use super::yaml::{Pos, join_path};

/// The variable `production: true` requires, and its required value.
const STRICT_EUC: (&str, &str) = ("STRICT_EUC_ENFORCEMENT", "true");

/// Why a name may not be a plain env var of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PlainEnvRefusal {
    /// The encryption key's variable (`encryption_key.env`): the key comes from Secret
    /// Manager only.
    EncryptionKey,
    /// `service.secrets` sets it from Secret Manager.
    InSecrets,
    /// It looks like a credential ([`redact::is_sensitive_name`]) and
    /// `service.plain_env_allow` does not list it.
    LooksLikeCredential,
}

/// The rule for plain env vars, the one both `service.env` (here) and `--set-env`
/// (`settings::apply_set_env`) go through: `None` when `name` may be set as a plain value of a
/// service whose allow-list is `allow`, whose encryption key variable is `encryption_key_env`,
/// and where `in_secrets` says whether `service.secrets` sets `name`.
pub(crate) fn plain_env_refusal(
    name: &str,
    allow: &[String],
    encryption_key_env: &str,
    in_secrets: bool,
) -> Option<PlainEnvRefusal> {
    if name == encryption_key_env {
        Some(PlainEnvRefusal::EncryptionKey)
    } else if in_secrets {
        Some(PlainEnvRefusal::InSecrets)
    } else if redact::is_sensitive_name(name) && !allow.iter().any(|a| a == name) {
        Some(PlainEnvRefusal::LooksLikeCredential)
    } else {
        None
    }
}

pub(super) fn check(
    p: &mut Problems<'_>,
    production: Option<&Spanned<Flag>>,
    raw: &RawService,
    service: &ServiceSpec,
    encryption_key_env: &str,
) {
    credentials_in_plain_env(p, raw, service, encryption_key_env);
    if let Some(flag) = production.filter(|f| f.value.0 == Ok(true)) {
        production_rules(p, Pos::of(flag), raw, service);
    }
}

fn credentials_in_plain_env(
    p: &mut Problems<'_>,
    raw: &RawService,
    service: &ServiceSpec,
    encryption_key_env: &str,
) {
    for entry in raw.plain_env_allow.iter().flatten() {
        let name = entry.value.as_str();
        let key = "service.plain_env_allow";
        if p.check_text(entry, key, validate::env_name).is_some() && !service.env.contains_key(name)
        {
            p.report(
                Pos::of(entry),
                key,
                InvalidValue::new(
                    format!(
                        "`{name}` is allowed as a plain value but `service.env` does not set it"
                    ),
                    "remove it from `service.plain_env_allow`, or fix its spelling",
                ),
            );
        }
    }
    let entries = raw.env.as_ref().map(|m| m.0.as_slice()).unwrap_or_default();
    let in_secrets = |name: &str| {
        raw.secrets
            .as_ref()
            .is_some_and(|m| m.0.iter().any(|(n, _)| n.value == name))
    };
    for (name, value) in entries {
        let name_text = &name.value;
        // One error per entry: a mistyped value, a name also in `secrets` and the encryption
        // key's variable have their own messages (`resolve/env.rs`).
        let refusal = plain_env_refusal(
            name_text,
            &service.plain_env_allow,
            encryption_key_env,
            in_secrets(name_text),
        );
        if !matches!(value.value, EnvValue::Text(_))
            || refusal != Some(PlainEnvRefusal::LooksLikeCredential)
        {
            continue;
        }
        p.report(
            Pos::of(name),
            join_path("service.env", name_text),
            InvalidValue::new(
                format!(
                    "`{name_text}` looks like a credential and is set as a plain value, \
                     readable by anyone who can read this file or the service"
                ),
                format!(
                    "store it in Secret Manager and reference it under `service.secrets` \
                     (`{name_text}: SECRET_NAME:latest`); if it is not secret, list it under \
                     `service.plain_env_allow: [{name_text}]`"
                ),
            ),
        );
    }
}

fn production_rules(p: &mut Problems<'_>, at: Pos, raw: &RawService, service: &ServiceSpec) {
    let (var, required) = STRICT_EUC;
    let written = raw
        .env
        .as_ref()
        .and_then(|m| m.0.iter().find(|(name, _)| name.value == var));
    match (written, service.env.get(var)) {
        (Some(_), Some(value)) if value == required => {}
        (Some((name, _)), _) => p.report(
            Pos::of(name),
            join_path("service.env", var),
            InvalidValue::new(
                format!("`production: true` requires `{var}: \"{required}\"`"),
                format!("write `{var}: \"{required}\"` under `service.env`"),
            ),
        ),
        (None, _) => p.report(
            at,
            "production",
            InvalidValue::new(
                format!("`production: true` requires `{var}: \"{required}\"` in `service.env`"),
                format!(
                    "add `{var}: \"{required}\"` under `service.env`, or remove \
                     `production: true` if this is not a production environment"
                ),
            ),
        ),
    }
    let acknowledged = service
        .public_ack
        .as_deref()
        .is_some_and(|a| !a.trim().is_empty());
    if service.allow_unauthenticated && !acknowledged {
        let (pos, key) = match (&raw.public_ack, &raw.allow_unauthenticated) {
            (Some(ack), _) => (Pos::of(ack), "service.public_ack"),
            (None, Some(flag)) => (Pos::of(flag), "service.allow_unauthenticated"),
            (None, None) => (at, "service.allow_unauthenticated"),
        };
        p.report(
            pos,
            key,
            InvalidValue::new(
                "a production service is public (`allow_unauthenticated: true`) only with \
                 `service.public_ack`",
                "add `public_ack: \"<why this service must be reachable without signing in>\"` \
                 under `service:`, or set `allow_unauthenticated: false`",
            ),
        );
    }
}
