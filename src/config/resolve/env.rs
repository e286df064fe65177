//! `service.env` and `service.secrets`: names checked, values redacted where they look like
//! credentials, the encryption key's variable refused as a plain value, and a name in both
//! maps reported.

use std::collections::BTreeMap;

use super::super::environment::EncryptionKey;
use super::super::problems::Problems;
use super::super::raw::{EnvValue, SpannedMap, Text};
use super::super::redact;
use super::super::secret_ref::SecretRef;
use super::super::validate::{self, InvalidValue};
use super::super::yaml::{Pos, join_path};

/// Plain env vars, keeping the line of each name for the env-vs-secrets check.
pub(super) fn resolve_env(
    p: &mut Problems<'_>,
    encryption_key: &EncryptionKey,
    raw: Option<&SpannedMap<EnvValue>>,
) -> BTreeMap<String, (Pos, String)> {
    let mut env = BTreeMap::new();
    for (name, value) in raw.map(|m| m.0.as_slice()).unwrap_or_default() {
        let key = join_path("service.env", &name.value);
        p.check(name, &key, |s| validate::env_name(s));
        if name.value == encryption_key.env {
            // Never echo the value: it may be the real key.
            p.report(
                Pos::of(name),
                key.clone(),
                InvalidValue::new(
                    format!(
                        "`{}` is the encryption key's variable (`encryption_key.env`) and must \
                         not be a plain value",
                        name.value
                    ),
                    format!(
                        "a plain value would make the agent encrypt with a key written in this \
                         file, readable by anyone with the repository or project Viewer \
                         access; delete it from `env` and wire it from Secret Manager under \
                         `service.secrets`: `{}: {}:latest` (and rotate the key if the value \
                         was real)",
                        name.value, encryption_key.secret
                    ),
                ),
            );
        }
        let problem = match &value.value {
            EnvValue::Text(text) => validate::env_value_size(&name.value, text).err(),
            EnvValue::Empty => Some(InvalidValue::new(
                format!("`{}` has no value", name.value),
                format!(
                    "write `{}: \"\"` for an empty string, or delete the line",
                    name.value
                ),
            )),
            EnvValue::Collection(kind) => Some(InvalidValue::new(
                format!("env values must be text, found {kind}"),
                format!("write one quoted value: `{}: \"...\"`", name.value),
            )),
            EnvValue::NotText(kind) => {
                let secret_like = redact::is_sensitive_name(&name.value);
                let shown = if secret_like {
                    redact::REDACTED
                } else {
                    p.written(value)
                };
                let secret_note = if secret_like {
                    "; a secret belongs in `service.secrets`, not `env`"
                } else {
                    ""
                };
                Some(InvalidValue::new(
                    format!("env values must be text; YAML reads `{shown}` as {kind}"),
                    format!(
                        "quote it: `{}: \"{shown}\"` (unquoted numbers and booleans can be \
                         rewritten, e.g. `1.10` becomes `1.1`){secret_note}",
                        name.value
                    ),
                ))
            }
        };
        if let Some(problem) = problem {
            p.report(Pos::of(value), key, problem);
        }
        let text = match &value.value {
            EnvValue::Text(text) => text.clone(),
            _ => String::new(),
        };
        env.insert(name.value.clone(), (Pos::of(name), text));
    }
    env
}

pub(super) fn resolve_secrets(
    p: &mut Problems<'_>,
    env: &BTreeMap<String, (Pos, String)>,
    raw: Option<&SpannedMap<Text>>,
) -> BTreeMap<String, SecretRef> {
    let mut secrets = BTreeMap::new();
    for (name, value) in raw.map(|m| m.0.as_slice()).unwrap_or_default() {
        let key = join_path("service.secrets", &name.value);
        p.check(name, &key, |s| validate::env_name(s));
        if let Some((env_pos, _)) = env.get(&name.value) {
            p.report(
                Pos::of(name),
                key.clone(),
                InvalidValue::new(
                    format!(
                        "`{}` is set both in `service.env` (line {}) and in `service.secrets`",
                        name.value, env_pos.line
                    ),
                    "keep one: a variable comes either from a plain value or from Secret Manager",
                ),
            );
        }
        if let Some(reference) = p.check_text(value, &key, SecretRef::parse) {
            secrets.insert(name.value.clone(), reference);
        }
    }
    secrets
}
