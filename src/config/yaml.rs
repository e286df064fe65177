//! Reading YAML with serde-saphyr, and turning its errors into ours.
//!
//! A file is parsed once, into the typed partial layer ([`RawFile`]), through
//! [`serde_path_to_error`]: serde-saphyr gives every error its line and column, and
//! `serde_path_to_error` gives the key path it happened at (`service.memory`,
//! `iam.project_roles[1]`), so every message reads `file:line:col: key.path: message`.
//! What the offending value was ("found the number `-1`") is read from the source text at the
//! error's position.
//!
//! serde-saphyr's own error text is developer-oriented ("invalid u32"); [`from_deser_error`]
//! rewrites the common cases into messages that say what was expected and what was found;
//! that wording is in `yaml/messages.rs`.

use std::path::Path;

use serde_path_to_error::{Path as KeyPath, Segment};
use serde_saphyr::{Budget, DuplicateKeyPolicy, NonFiniteFloatPolicy, Options, Spanned};

use super::error::ConfigError;
use super::raw::RawFile;

mod messages;

use messages::{from_deser_error, syntax_error};

/// A 1-based line and column (characters, not bytes), as serde-saphyr reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Pos {
    pub(crate) line: u64,
    pub(crate) column: u64,
}

impl Pos {
    /// Where errors about the document as a whole (for example a missing `project`) point.
    pub(crate) const START: Pos = Pos { line: 1, column: 1 };

    pub(crate) fn of<T>(spanned: &Spanned<T>) -> Pos {
        Pos::from_location(&spanned.referenced)
    }

    fn from_location(loc: &serde_saphyr::Location) -> Pos {
        if loc.line() == 0 {
            Pos::START
        } else {
            Pos {
                line: loc.line(),
                column: loc.column(),
            }
        }
    }
}

/// Parser settings shared by both passes.
///
/// - duplicate keys are an error (a second `memory:` silently winning is a classic config bug);
/// - strict booleans: only `true`/`false`, so `allow_unauthenticated: yes` is an error and an
///   env value `yes` stays the text `yes` (YAML 1.2, not 1.1);
/// - tight budgets: a deploy config is a few dozen lines, so anything beyond these limits is
///   a mistake or an alias bomb ("billion laughs"), and is refused before it costs memory;
/// - no snippet wrapping: we render our own one-line message, and a snippet could echo a
///   secret-looking env value from a neighbouring line.
fn options() -> Options {
    let mut budget = Budget::default();
    budget.max_depth = 16;
    budget.max_nodes = 20_000;
    budget.max_events = 100_000;
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_documents = 1;
    budget.max_total_scalar_bytes = 4 * 1024 * 1024;
    budget.max_merge_keys = 100;
    let mut options = Options::default();
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = 100_000;
    options.duplicate_keys = DuplicateKeyPolicy::Error;
    options.strict_booleans = true;
    options.non_finite_float_policy = NonFiniteFloatPolicy::AsString;
    options.with_snippet = false;
    options
}

/// Parses `text` into the partial layer; any error is located and worded for the user.
///
/// Syntax is checked first, on its own (into [`serde::de::IgnoredAny`]: no tree is built), so
/// that a broken file is reported as broken YAML even when a content error comes earlier in
/// it. Duplicate keys are let through there so that the typed pass reports them with a path.
pub(super) fn parse_raw(source: &Path, text: &str) -> Result<RawFile, ConfigError> {
    let mut syntax_options = options();
    syntax_options.duplicate_keys = DuplicateKeyPolicy::LastWins;
    serde_saphyr::from_str_with_options::<serde::de::IgnoredAny>(text, syntax_options)
        .map_err(|e| syntax_error(source, &e))?;
    let mut key_path = None;
    let parsed = serde_saphyr::with_deserializer_from_str_with_options(text, options(), |de| {
        // An empty file (or one holding only comments) is a null document: treat it as an
        // empty mapping so the user hears "missing `project`" rather than a type error.
        serde_path_to_error::deserialize::<_, Option<RawFile>>(de).map_err(|e| {
            key_path = Some(e.path().clone());
            e.into_inner()
        })
    });
    match parsed {
        Ok(raw) => Ok(raw.unwrap_or_default()),
        Err(e) => Err(match key_path {
            Some(path) if is_deser_error(&e) => from_deser_error(source, text, &path, &e),
            _ => syntax_error(source, &e),
        }),
    }
}

/// Whether `err` is about the content (wrong key, type or value) rather than the YAML syntax.
fn is_deser_error(err: &serde_saphyr::Error) -> bool {
    use serde_saphyr::Error as E;
    match err.without_snippet() {
        E::AliasError { error, .. } => is_deser_error(error),
        E::SerdeUnknownField { .. }
        | E::SerdeUnknownVariant { .. }
        | E::DuplicateMappingKey { .. }
        | E::InvalidBooleanStrict { .. }
        | E::InvalidScalar { .. }
        | E::NullIntoString { .. }
        | E::Unexpected { .. }
        | E::SerdeInvalidType { .. }
        | E::SerdeInvalidValue { .. }
        | E::SerdeMissingField { .. }
        | E::Message { .. } => true,
        _ => false,
    }
}

/// The dotted key path of a `serde_path_to_error` path: `service.env."MY VAR"`,
/// `iam.project_roles[1]`. A [`Spanned`] leaf is a struct to serde, whose `value` field adds
/// one trailing segment; it is dropped.
pub(super) fn key_path(path: &KeyPath) -> String {
    let segments: Vec<&Segment> = path.iter().collect();
    let segments = match segments.split_last() {
        Some((Segment::Map { key }, rest)) if key == "value" => rest,
        _ => &segments[..],
    };
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => out = join_path(&out, key),
            Segment::Enum { variant } => out = join_path(&out, variant),
            Segment::Unknown => {}
        }
    }
    out
}

/// `a` + `b` -> `a.b`; keys that are not plain identifiers are quoted: `service.env."MY VAR"`.
pub(super) fn join_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if plain {
        key.to_owned()
    } else {
        format!("{key:?}")
    };
    if parent.is_empty() {
        key
    } else {
        format!("{parent}.{key}")
    }
}
