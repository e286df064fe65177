//! Environment files: `config/<env>.yaml` -> one resolved, validated [`Environment`].
//!
//! This module owns the file format and everything that can be checked without Google:
//! syntax, unknown keys, types, value syntax (project ids, regions, CPU and memory quantities,
//! durations, env var names, secret references, IAM roles and members) and the cross-field
//! rules (min vs max instances, a variable in both `env` and `secrets`, the encryption key as a
//! plain value). It never talks to Google; `plan` checks what exists.
//!
//! # Shape
//!
//! ```text
//! text --yaml.rs (syntax check, then one serde_path_to_error pass)--> RawFile (raw.rs: every
//!      field optional, with positions)
//!      --resolve.rs (defaults from defaults.rs, values.rs types checked by validate.rs,
//!        guardrails.rs)--> Environment
//! ```
//!
//! The rest of the program sees only the resolved types in `environment.rs`, `values.rs` and
//! `secret_ref.rs`, and the Cloud Run quantities of the `autosre-types` crate. Defaults are applied in one function (`resolve::resolve`) from constants
//! in one file (`defaults.rs`), which the published schema reads too (`schema.rs` derives it
//! from the file-format types in `raw.rs` with schemars; pinned as `schema.json`).
//!
//! # Errors
//!
//! Every error inside a file reads `config/prod.yaml:7:11: service.memory: invalid memory
//! quantity `16GB`` and carries a separate hint (`ConfigError::hint`). One error is reported
//! per file: the first in file order. [`load_all`] collects one per file across files.
//! Values of `service.env` entries whose names look like credentials (`…_KEY`, `…_TOKEN`,
//! `…_SECRET`, `…PASSWORD…`, `…CREDENTIALS…`, see `redact.rs`) are shown as `<redacted>`, and
//! the encryption key's value is never shown.
//!
//! # YAML crate
//!
//! serde-saphyr 2.2: pure Rust (no libyaml), maintained (serde_yaml is archived upstream),
//! errors with line and column, `Spanned<T>` for the position of every value (so resolve-time
//! errors point at the value, not just the file), YAML 1.2 booleans on request
//! (`strict_booleans`), duplicate keys rejected by default, and parse budgets that refuse
//! alias bombs and absurd nesting before they cost memory. Settings are in `yaml::options`.
//!
//! # Choices
//!
//! - `service.env` values must be YAML strings: `LEVEL: 3` or `DEBUG: true` is an error with
//!   a hint to quote it, as in Kubernetes, so what is deployed is exactly what is written.
//! - `service.cpu` may be written as a number (`cpu: 4`); cpu and memory are held as values
//!   (`Cpu`, `Memory`) and print canonically (`0.5` prints `500m`, `2048Mi` prints `2Gi`).
//! - A number or boolean where text is expected (`secret: 12`), or text where a boolean is
//!   expected (`allow_unauthenticated: "false"`), is a type error.
//! - `service.timeout` needs a unit (`300s`, `5m`, `1h`, `1m30s`); a bare `300` is rejected
//!   with the fix in the hint.
//! - A key written with an empty value (`image:`) counts as absent and takes the default.

mod defaults;
mod environment;
mod error;
mod guardrails;
pub(crate) mod labels;
mod problems;
mod raw;
mod redact;
mod resolve;
mod schema;
mod secret_ref;
mod suggest;
mod validate;
mod values;
mod wiring;
mod yaml;

use std::path::{Path, PathBuf};

pub(crate) use autosre_types::{Cpu, Memory};
pub(crate) use environment::TrafficMode;
#[cfg(test)]
pub(crate) use environment::{EncryptionKey, IamSpec, ServiceSpec};
pub(crate) use environment::{Environment, KeyWiring, SecretAccess};
pub(crate) use error::ConfigError;
pub(crate) use guardrails::{PlainEnvRefusal, plain_env_refusal};
/// The credential-name rule (`…KEY`, `…TOKEN`, `…SECRET`, `…PASSWORD`...):
/// values of such env vars are never shown, in config errors or in plans.
pub(crate) use redact::{is_sensitive_name, redact_url_userinfo};
#[cfg(test)]
pub(crate) use schema::json_schema;
pub(crate) use secret_ref::SecretRef;
pub(crate) use validate::InvalidValue;
pub(crate) use validate::{env_name, env_value_size};
pub(crate) use values::parse_image;
pub(crate) use wiring::key_wiring_error;

/// File extensions recognised as environment files, in order of preference for messages.
const EXTENSIONS: &[&str] = &["yaml", "yml"];

/// Parses one environment from `text`. Pure: `source` is only used in messages and
/// [`Environment::source`], `env_name` becomes [`Environment::name`].
pub(crate) fn parse(source: &Path, env_name: &str, text: &str) -> Result<Environment, ConfigError> {
    let raw = yaml::parse_raw(source, text)?;
    resolve::resolve(source, env_name, text, raw)
}

/// Loads `<config_dir>/<env>.yaml` (or `.yml`).
pub(crate) fn load(config_dir: &Path, env: &str) -> Result<Environment, ConfigError> {
    let candidates: Vec<PathBuf> = EXTENSIONS
        .iter()
        .map(|ext| config_dir.join(format!("{env}.{ext}")))
        .collect();
    let plain_name = !env.is_empty()
        && !env.starts_with('.')
        && !env.contains(['/', '\\'])
        && Path::new(env).components().count() == 1;
    if !plain_name && !env.is_empty() {
        return Err(not_a_name(env));
    }
    // Anything at the path counts as existing, a symlink that leads nowhere included, so a
    // directory, a FIFO or a broken link named `prod.yaml` is reported as what it is, not as a
    // missing environment.
    let existing: Vec<&PathBuf> = candidates
        .iter()
        .filter(|p| p.symlink_metadata().is_ok())
        .collect();
    match existing.as_slice() {
        [path] => {
            not_a_file(path)?;
            let text = read(path)?;
            parse(path, env, &text)
        }
        [] => Err(not_found(config_dir, env, &candidates[0], plain_name)),
        [first, ..] => Err(ambiguous(config_dir, env, first)),
    }
}

/// Loads every `*.yaml` / `*.yml` in `config_dir`, sorted by environment name. Every file is
/// parsed; all errors (one per file) are returned together, in the same order.
pub(crate) fn load_all(config_dir: &Path) -> Loaded {
    let files = match environment_files(config_dir) {
        Ok(files) => files,
        Err(error) => {
            return Loaded {
                environments: Vec::new(),
                errors: vec![error],
            };
        }
    };
    let mut environments = Vec::new();
    let mut errors = Vec::new();
    let mut previous: Option<&str> = None;
    for (name, path) in &files {
        if previous == Some(name.as_str()) {
            errors.push(ambiguous(config_dir, name, path));
            continue;
        }
        previous = Some(name);
        match not_a_file(path)
            .and_then(|()| read(path))
            .and_then(|text| parse(path, name, &text))
        {
            Ok(env) => environments.push(env),
            Err(error) => errors.push(error),
        }
    }
    Loaded {
        environments,
        errors,
    }
}

/// Every environment of a directory that loaded, and every error, so a caller
/// can report the good files as well as the bad ones.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) environments: Vec<Environment>,
    pub(crate) errors: Vec<ConfigError>,
}

/// `(env name, path)` for every environment file in `dir`, sorted by name then extension
/// preference. Hidden files (editor swap files, `.template.yaml`) are skipped.
fn environment_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, ConfigError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ConfigError::Unreadable {
        path: dir.to_owned(),
        reason: e.to_string(),
        hint: format!(
            "the environments live in `{}`; create it with one `<env>.yaml` per environment, \
             or point at the right directory",
            dir.display()
        ),
    })?;
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let (Some(stem), Some(ext)) = (
            path.file_stem().and_then(|s| s.to_str()),
            path.extension().and_then(|s| s.to_str()),
        ) else {
            continue;
        };
        let Some(rank) = EXTENSIONS.iter().position(|e| *e == ext) else {
            continue;
        };
        // A symlink that leads nowhere is kept: it is reported as a broken file, not skipped.
        if stem.starts_with('.') || path.symlink_metadata().is_err() {
            continue;
        }
        files.push((stem.to_owned(), rank, path));
    }
    files.sort();
    Ok(files
        .into_iter()
        .map(|(name, _, path)| (name, path))
        .collect())
}

/// `env` has both a `.yaml` and a `.yml` file; `path` is the one named in the message.
fn ambiguous(config_dir: &Path, env: &str, path: &Path) -> ConfigError {
    ConfigError::Ambiguous {
        env: env.to_owned(),
        path: path.to_owned(),
        hint: format!(
            "both `{env}.yaml` and `{env}.yml` exist in `{}`; delete one",
            config_dir.display()
        ),
    }
}

/// An error unless `path` is a regular file (after following symlinks). Checked before
/// reading: opening a FIFO would block until someone writes to it.
fn not_a_file(path: &Path) -> Result<(), ConfigError> {
    let meta = match path.metadata() {
        Ok(meta) => meta,
        // A symlink whose target is missing, or a loop of symlinks.
        Err(e) if path.symlink_metadata().is_ok_and(|m| m.is_symlink()) => {
            let target = std::fs::read_link(path)
                .map(|t| format!(" to `{}`", t.display()))
                .unwrap_or_default();
            return Err(ConfigError::NotAFile {
                path: path.to_owned(),
                kind: format!("a broken symbolic link{target}: {e}"),
                hint: format!(
                    "point `{}` at an existing YAML file, or remove it",
                    path.display()
                ),
            });
        }
        Err(_) => return Ok(()), // vanished: `read` reports it
    };
    if meta.is_file() {
        return Ok(());
    }
    let kind = if meta.is_dir() {
        "a directory"
    } else {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            let t = meta.file_type();
            if t.is_fifo() {
                "a FIFO"
            } else if t.is_socket() {
                "a socket"
            } else {
                "a device"
            }
        }
        #[cfg(not(unix))]
        {
            "not a regular file"
        }
    };
    Err(ConfigError::NotAFile {
        path: path.to_owned(),
        kind: kind.to_owned(),
        hint: format!(
            "an environment is a YAML file; move `{}` aside and create the file",
            path.display()
        ),
    })
}

fn read(path: &Path) -> Result<String, ConfigError> {
    let bytes = std::fs::read(path).map_err(|e| ConfigError::Unreadable {
        path: path.to_owned(),
        reason: e.to_string(),
        hint: "check that the file exists and is readable by this user".to_owned(),
    })?;
    String::from_utf8(bytes).map_err(|e| {
        // Where the first byte that is not UTF-8 is, as a position like any
        // other error in the file.
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|b| **b == b'\n').count() as u64 + 1;
        let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&good[line_start..]).chars().count() as u64 + 1;
        ConfigError::Syntax {
            path: path.to_owned(),
            line,
            column,
            message: "the file is not UTF-8 text".to_owned(),
            hint: "save the file as UTF-8".to_owned(),
        }
    })
}

/// `--env` given a path: name the environment and its directory apart.
fn not_a_name(env: &str) -> ConfigError {
    let path = Path::new(env);
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty() && !s.starts_with('.'));
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.display().to_string());
    let hint = match (dir, stem) {
        (Some(dir), Some(stem)) => format!(
            "name the directory with --config-dir: `--config-dir {dir} --env {stem}`"
        ),
        _ => "an environment is named by its file stem, such as `staging` for               `config/staging.yaml`; name another directory with --config-dir"
            .to_owned(),
    };
    ConfigError::NotAName {
        env: env.to_owned(),
        hint,
    }
}

fn not_found(config_dir: &Path, env: &str, path: &Path, plain_name: bool) -> ConfigError {
    let mut available: Vec<String> = environment_files(config_dir)
        .map(|files| files.into_iter().map(|(name, _)| name).collect())
        .unwrap_or_default();
    available.dedup();
    let hint = if !plain_name {
        "an environment is named by its file stem, such as `staging` for \
         `config/staging.yaml`"
            .to_owned()
    } else if available.is_empty() {
        format!(
            "no environments in `{}`; create `{}`",
            config_dir.display(),
            path.display()
        )
    } else {
        let names: Vec<&str> = available.iter().map(String::as_str).collect();
        let guess = suggest::closest(env, &names)
            .map(|g| format!("did you mean `{g}`? "))
            .unwrap_or_default();
        format!(
            "{guess}environments in `{}`: {}",
            config_dir.display(),
            available
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    ConfigError::NotFound {
        env: env.to_owned(),
        path: path.to_owned(),
        available,
        hint,
    }
}

#[cfg(test)]
mod tests;
