//! The encryption key's wiring as a config error: the one rule `validate`, `deploy` and
//! `key rotate` apply offline, before anything is sent, with the same words and exit code.
//!
//! The [`Environment`] keeps no positions, so the file is parsed again to point at the line:
//! the key's own entry under `service.secrets` when it reads another secret, else the first
//! entry of `service.secrets` (or the top of the file when there is none).

use super::environment::{Environment, KeyWiring};
use super::error::ConfigError;
use super::yaml::{self, Pos};

/// `None` when the key's env var reads the key secret; else the error to stop on.
pub(crate) fn key_wiring_error(env: &Environment) -> Option<ConfigError> {
    let k = &env.encryption_key;
    let (message, at) = match env.encryption_key_wiring() {
        KeyWiring::Wired => return None,
        KeyWiring::WiredToOtherSecret(other) => (
            format!(
                "`{}` reads secret `{other}`, not the encryption key secret `{}`",
                k.env, k.secret
            ),
            Some(k.env.as_str()),
        ),
        KeyWiring::NotWired => (
            format!(
                "`{}` is not wired to the encryption key secret `{}`; without it the agent makes a throw-away key at start-up and stored tokens become unreadable",
                k.env, k.secret
            ),
            None,
        ),
    };
    let pos = std::fs::read_to_string(&env.source)
        .ok()
        .and_then(|text| yaml::parse_raw(&env.source, &text).ok())
        .and_then(|raw| {
            let entries = raw.service?.secrets?.0;
            let entry = match at {
                Some(name) => entries.into_iter().find(|(n, _)| n.value == name),
                None => entries.into_iter().next(),
            }?;
            Some(Pos::of(&entry.0))
        })
        .unwrap_or(Pos::START);
    let key = match at {
        Some(name) => format!("service.secrets.{name}"),
        None => "service.secrets".to_owned(),
    };
    Some(ConfigError::Invalid {
        path: env.source.clone(),
        line: pos.line,
        column: pos.column,
        key,
        message,
        hint: format!(
            "add `{}: {}:latest` under `service.secrets`",
            k.env, k.secret
        ),
    })
}
