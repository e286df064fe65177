//! The top of the error stack: one place decides the exit code.
//!
//! `2` is the user's to fix before anything is sent (usage, config); `1` is an
//! operation that failed (preflight, an API error, a revision that is not
//! ready). Each error carries a separate `hint` with the fix, printed on its
//! own line.

use crate::config::ConfigError;
use crate::gcp::GcpError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Category {
    /// Exit 2: invalid usage or config; nothing was sent.
    User,
    /// Exit 1: the operation failed.
    Failed,
}

#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) category: Category,
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
}

impl CliError {
    pub(crate) fn user(message: impl Into<String>, hint: Option<String>) -> CliError {
        CliError {
            category: Category::User,
            message: message.into(),
            hint,
        }
    }

    pub(crate) fn failed(message: impl Into<String>, hint: Option<String>) -> CliError {
        CliError {
            category: Category::Failed,
            message: message.into(),
            hint,
        }
    }

    /// An outcome already reported in full (a deploy's failure, every
    /// invalid file of `validate`), or `plan --detailed-exitcode` with changes
    /// present (exit 2, Terraform's convention): only the exit code remains.
    pub(crate) fn silent(category: Category) -> CliError {
        CliError {
            category,
            message: String::new(),
            hint: None,
        }
    }

    pub(crate) fn exit_code(&self) -> u8 {
        match self.category {
            Category::User => 2,
            Category::Failed => 1,
        }
    }
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> CliError {
        let hint = e.hint().map(str::to_string);
        CliError::user(e.to_string(), hint)
    }
}

impl From<GcpError> for CliError {
    fn from(e: GcpError) -> CliError {
        let hint = e.hint();
        CliError::failed(e.to_string(), hint)
    }
}
