//! The problems found while resolving one file, reported first-in-file-order.
//!
//! All problems in a file are collected and the first in file order is returned, so fixing
//! errors top to bottom never reveals an earlier one.

use std::path::Path;

use serde_saphyr::Spanned;

use super::error::ConfigError;
use super::raw::{Flag, Text};
use super::validate::InvalidValue;
use super::yaml::Pos;

pub(super) struct Problems<'a> {
    source: &'a Path,
    text: &'a str,
    found: Vec<(Pos, String, InvalidValue)>,
}

impl<'a> Problems<'a> {
    pub(crate) fn new(source: &'a Path, text: &'a str) -> Self {
        Problems {
            source,
            text,
            found: Vec::new(),
        }
    }

    pub(crate) fn report(&mut self, pos: Pos, key: impl Into<String>, problem: InvalidValue) {
        self.found.push((pos, key.into(), problem));
    }

    /// Validates a spanned value with `check`, recording the failure at the value.
    pub(crate) fn check<T, U>(
        &mut self,
        value: &Spanned<T>,
        key: &str,
        check: impl FnOnce(&T) -> Result<U, InvalidValue>,
    ) -> Option<U> {
        match check(&value.value) {
            Ok(v) => Some(v),
            Err(problem) => {
                self.report(Pos::of(value), key, problem);
                None
            }
        }
    }

    /// The text of `value`; a value of another type is reported and gives `None`.
    pub(crate) fn text<'v>(&mut self, value: &'v Spanned<Text>, key: &str) -> Option<&'v str> {
        match &value.value.0 {
            Ok(text) => Some(text),
            Err(kind) => {
                let (found, hint) = if kind.starts_with("the ") {
                    (
                        format!("{kind} `{}`", self.written(value)),
                        "quote the value to make it text, e.g. `\"12\"`, or write the intended \
                         name",
                    )
                } else {
                    (
                        (*kind).to_owned(),
                        "write a single value here, not a list or a mapping",
                    )
                };
                let problem = InvalidValue::new(format!("expected text, found {found}"), hint);
                self.report(Pos::of(value), key, problem);
                None
            }
        }
    }

    /// Validates a text value with `check`, reporting a wrong type or a rejected value.
    pub(crate) fn check_text<U>(
        &mut self,
        value: &Spanned<Text>,
        key: &str,
        check: impl FnOnce(&str) -> Result<U, InvalidValue>,
    ) -> Option<U> {
        let text = self.text(value, key)?;
        match check(text) {
            Ok(v) => Some(v),
            Err(problem) => {
                self.report(Pos::of(value), key, problem);
                None
            }
        }
    }

    /// A boolean, or `default` when absent; a value of another type is reported.
    pub(crate) fn flag(&mut self, value: Option<&Spanned<Flag>>, key: &str, default: bool) -> bool {
        let Some(value) = value else {
            return default;
        };
        match value.value.0 {
            Ok(b) => b,
            Err(kind) => {
                let found = if kind.starts_with("the ") {
                    format!("{kind} `{}`", self.written(value))
                } else {
                    kind.to_owned()
                };
                let problem = InvalidValue::new(
                    format!("expected `true` or `false`, found {found}"),
                    "write `true` or `false`, without quotes (a quoted `\"false\"` is text; \
                     YAML 1.1 spellings such as `yes`, `on` are not accepted)",
                );
                self.report(Pos::of(value), key, problem);
                default
            }
        }
    }

    /// The value exactly as written in the file (byte span of the scalar).
    pub(crate) fn written<T>(&self, value: &Spanned<T>) -> &str {
        let span = value.referenced.span();
        span.byte_offset()
            .zip(span.byte_len())
            .and_then(|(start, len)| {
                let start = usize::try_from(start).ok()?;
                self.text.get(start..start + usize::try_from(len).ok()?)
            })
            .unwrap_or("?")
    }

    /// `Ok` when nothing was reported, else the first problem in file order.
    pub(crate) fn finish(mut self) -> Result<(), ConfigError> {
        self.found.sort_by_key(|(pos, _, _)| *pos);
        match self.found.into_iter().next() {
            None => Ok(()),
            Some((pos, key, problem)) => Err(ConfigError::Invalid {
                path: self.source.to_owned(),
                line: pos.line,
                column: pos.column,
                key,
                message: problem.message().to_owned(),
                hint: problem.hint().to_owned(),
            }),
        }
    }
}
