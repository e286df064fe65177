//! Errors from loading an environment file.
//!
//! Display is one line, `<file>:<line>:<col>: <key>: <message>` for problems inside a file,
//! with no colour and no hint: the caller prints [`ConfigError::hint`] on its own `hint:`
//! line, as every error the tool prints. Every variant is a user error: the file or the directory
//! is wrong, not the operation.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    /// `config/<env>.yaml` does not exist.
    #[error("{}: environment `{env}` not found", path.display())]
    NotFound {
        env: String,
        /// The file that was looked for.
        path: PathBuf,
        /// Environments that do exist in the directory, sorted.
        available: Vec<String>,
        hint: String,
    },
    /// `--env` was given a path (`../config/staging`), not a name.
    #[error("`{env}` is not an environment name: an environment is named by its file stem")]
    NotAName { env: String, hint: String },
    /// Both `<env>.yaml` and `<env>.yml` exist; neither is preferred silently.
    #[error("{}: environment `{env}` is defined by more than one file", path.display())]
    Ambiguous {
        env: String,
        path: PathBuf,
        hint: String,
    },
    /// `config/<env>.yaml` exists but is a directory, FIFO, socket or device.
    #[error("{}: not a file ({kind})", path.display())]
    NotAFile {
        path: PathBuf,
        /// What it is instead: `a directory`, `a FIFO`, ...
        kind: String,
        hint: String,
    },
    /// The file or directory exists but cannot be read (permissions, not UTF-8, ...).
    #[error("{}: cannot read: {reason}", path.display())]
    Unreadable {
        path: PathBuf,
        reason: String,
        hint: String,
    },
    /// Not valid YAML, or over the parser's size budgets.
    #[error("{}:{line}:{column}: invalid YAML: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: u64,
        column: u64,
        message: String,
        hint: String,
    },
    /// Valid YAML that is not a valid environment: unknown key, wrong type, bad value.
    #[error("{}:{line}:{column}: {key}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: u64,
        column: u64,
        /// Dotted key path: `service.memory`, `service.env.LOG_LEVEL`, `iam.project_roles[0]`.
        key: String,
        message: String,
        hint: String,
    },
}

impl ConfigError {
    /// Where the problem is, as fields: the file, and for a problem inside it the line,
    /// column and (for a value) the dotted key.
    pub(crate) fn location(&self) -> (Option<&std::path::Path>, Option<(u64, u64)>, Option<&str>) {
        match self {
            ConfigError::NotFound { path, .. }
            | ConfigError::Ambiguous { path, .. }
            | ConfigError::NotAFile { path, .. }
            | ConfigError::Unreadable { path, .. } => (Some(path), None, None),
            ConfigError::NotAName { .. } => (None, None, None),
            ConfigError::Syntax {
                path, line, column, ..
            } => (Some(path), Some((*line, *column)), None),
            ConfigError::Invalid {
                path,
                line,
                column,
                key,
                ..
            } => (Some(path), Some((*line, *column)), Some(key)),
        }
    }

    /// What to do about it, for a separate `hint:` line.
    pub(crate) fn hint(&self) -> Option<&str> {
        let hint = match self {
            ConfigError::NotFound { hint, .. }
            | ConfigError::NotAName { hint, .. }
            | ConfigError::Ambiguous { hint, .. }
            | ConfigError::NotAFile { hint, .. }
            | ConfigError::Unreadable { hint, .. }
            | ConfigError::Syntax { hint, .. }
            | ConfigError::Invalid { hint, .. } => hint,
        };
        (!hint.is_empty()).then_some(hint.as_str())
    }
}
