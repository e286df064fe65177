//! Reading YAML with serde-saphyr, and turning its errors into ours.
//!
//! A file is parsed twice, both cheap for a config-sized file:
//!
//! 1. into a generic [`Node`] tree, which reports YAML syntax errors and gives us a
//!    [`PathIndex`]: for every key and value in the file, its position and its key path
//!    (`service.memory`, `iam.project_roles[1]`);
//! 2. into the typed partial layer ([`RawFile`]), whose serde errors (unknown key, wrong type)
//!    carry only a position. The index turns that position back into the key path and a
//!    description of the offending value, so every message reads
//!    `file:line:col: key.path: message`.
//!
//! serde-saphyr's own error text is developer-oriented ("invalid u32"); [`from_deser_error`]
//! rewrites the common cases into messages that say what was expected and what was found.

use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Budget, DuplicateKeyPolicy, NonFiniteFloatPolicy, Options, Spanned};

use super::error::ConfigError;
use super::raw::RawFile;
use super::redact;
use super::suggest;

/// A 1-based line and column (characters, not bytes), as serde-saphyr reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Pos {
    pub line: u64,
    pub column: u64,
}

impl Pos {
    /// Where errors about the document as a whole (for example a missing `project`) point.
    pub const START: Pos = Pos { line: 1, column: 1 };

    pub fn of<T>(spanned: &Spanned<T>) -> Pos {
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
fn options(duplicate_keys: DuplicateKeyPolicy) -> Options {
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
    options.duplicate_keys = duplicate_keys;
    options.strict_booleans = true;
    options.non_finite_float_policy = NonFiniteFloatPolicy::AsString;
    options.with_snippet = false;
    options
}

/// Pass 1: the generic tree. Duplicate keys are let through here (last wins) so that pass 2
/// reports them with a key path instead of as a bare syntax error.
pub(super) fn parse_index(text: &str) -> Result<PathIndex, serde_saphyr::Error> {
    let tree: Spanned<Node> =
        serde_saphyr::from_str_with_options(text, options(DuplicateKeyPolicy::LastWins))?;
    let mut index = PathIndex {
        entries: Vec::new(),
    };
    index.walk(text, &tree, "", false);
    Ok(index)
}

/// Pass 2: the typed partial layer.
pub(super) fn parse_raw(text: &str) -> Result<RawFile, serde_saphyr::Error> {
    // An empty file (or one holding only comments) is a null document: treat it as an empty
    // mapping so the user hears "missing `project`" rather than a type error.
    let raw: Option<RawFile> =
        serde_saphyr::from_str_with_options(text, options(DuplicateKeyPolicy::Error))?;
    Ok(raw.unwrap_or_default())
}

/// Any YAML value, with positions; only used to build the [`PathIndex`].
#[derive(Debug)]
enum Node {
    Scalar(Scalar),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<Node>, Spanned<Node>)>),
}

#[derive(Debug)]
enum Scalar {
    Str(String),
    Bool,
    Number,
    Null,
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NodeVisitor;

        impl<'de> Visitor<'de> for NodeVisitor {
            type Value = Node;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Scalar(Scalar::Str(v.to_owned())))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
                Ok(Node::Scalar(Scalar::Bool))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
                Ok(Node::Scalar(Scalar::Number))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
                Ok(Node::Scalar(Scalar::Number))
            }
            fn visit_i128<E: de::Error>(self, _: i128) -> Result<Node, E> {
                Ok(Node::Scalar(Scalar::Number))
            }
            fn visit_u128<E: de::Error>(self, _: u128) -> Result<Node, E> {
                Ok(Node::Scalar(Scalar::Number))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
                Ok(Node::Scalar(Scalar::Number))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Scalar(Scalar::Null))
            }
            fn visit_none<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Scalar(Scalar::Null))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Node::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key()? {
                    let value = map.next_value()?;
                    entries.push((key, value));
                }
                Ok(Node::Map(entries))
            }
        }

        deserializer.deserialize_any(NodeVisitor)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Key,
    Value,
}

#[derive(Debug)]
struct Entry {
    pos: Pos,
    role: Role,
    path: String,
    /// What the value is, for "found ..." in messages; already redacted where needed.
    found: String,
}

/// Position -> key path, for every key and value in a file.
#[derive(Debug)]
pub(super) struct PathIndex {
    entries: Vec<Entry>,
}

impl PathIndex {
    fn walk(&mut self, text: &str, node: &Spanned<Node>, path: &str, redact_scalars: bool) {
        let pos = Pos::of(node);
        let found = describe(text, node, redact_scalars);
        self.entries.push(Entry {
            pos,
            role: Role::Value,
            path: path.to_owned(),
            found,
        });
        match &node.value {
            Node::Scalar(_) => {}
            Node::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.walk(text, item, &format!("{path}[{i}]"), redact_scalars);
                }
            }
            Node::Map(entries) => {
                for (key, value) in entries {
                    let name = key_text(text, key);
                    let child = join_path(path, &name);
                    self.entries.push(Entry {
                        pos: Pos::of(key),
                        role: Role::Key,
                        path: child.clone(),
                        found: format!("`{name}`"),
                    });
                    // Values under `service.env` whose names look secret are never echoed.
                    let redact_child =
                        redact_scalars || (path == "service.env" && redact::looks_secret(&name));
                    self.walk(text, value, &child, redact_child);
                }
            }
        }
    }

    /// The entry at `pos`, preferring keys or values (a nested mapping starts at the position
    /// of its first key, so both can match); else the closest entry before `pos`.
    fn lookup(&self, pos: Pos, prefer: Role) -> Option<&Entry> {
        let exact = |role| self.entries.iter().find(|e| e.pos == pos && e.role == role);
        let other = if prefer == Role::Key {
            Role::Value
        } else {
            Role::Key
        };
        exact(prefer).or_else(|| exact(other)).or_else(|| {
            self.entries
                .iter()
                .filter(|e| e.pos <= pos)
                .max_by_key(|e| e.pos)
        })
    }
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

fn source_text<'t, T>(text: &'t str, node: &Spanned<T>) -> Option<&'t str> {
    let span = node.referenced.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    text.get(start..start.checked_add(len)?)
}

fn key_text(text: &str, key: &Spanned<Node>) -> String {
    match &key.value {
        Node::Scalar(Scalar::Str(s)) => s.clone(),
        Node::Scalar(_) => source_text(text, key).unwrap_or("?").to_owned(),
        Node::Seq(_) | Node::Map(_) => "?".to_owned(),
    }
}

fn describe(text: &str, node: &Spanned<Node>, redact_scalars: bool) -> String {
    let shown = |fallback: &str| {
        if redact_scalars {
            redact::REDACTED.to_owned()
        } else {
            source_text(text, node).unwrap_or(fallback).to_owned()
        }
    };
    match &node.value {
        Node::Scalar(Scalar::Str(s)) => format!("the text `{}`", shown(s)),
        Node::Scalar(Scalar::Number) => format!("the number `{}`", shown("?")),
        Node::Scalar(Scalar::Bool) => format!("the boolean `{}`", shown("?")),
        Node::Scalar(Scalar::Null) => "an empty value".to_owned(),
        Node::Seq(_) => "a list".to_owned(),
        Node::Map(_) => "a mapping".to_owned(),
    }
}

/// serde-saphyr appends " at line L, column C" to its messages; we print the position first.
fn strip_location(message: &str) -> &str {
    match message.find(" at line ") {
        Some(i) => &message[..i],
        None => message,
    }
}

/// A YAML syntax error (pass 1 failed).
pub(super) fn syntax_error(source: &Path, err: &serde_saphyr::Error) -> ConfigError {
    use serde_saphyr::Error as E;
    use serde_saphyr::budget::BudgetBreach;

    let pos = err
        .location()
        .map(|l| Pos::from_location(&l))
        .unwrap_or(Pos::START);
    let inner = match err.without_snippet() {
        E::AliasError { error, .. } => error.as_ref(),
        other => other,
    };
    let (message, hint) = match inner {
        E::Budget {
            breach: BudgetBreach::Documents { .. },
            ..
        }
        | E::MultipleDocuments { .. } => (
            "more than one YAML document (`---`) in the file".to_owned(),
            "keep one environment per file: split it into `config/<env>.yaml` files",
        ),
        E::Budget { .. }
        | E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. } => (
            "the file exceeds the parser's safety limits (size, nesting or alias expansion)"
                .to_owned(),
            "a deploy config needs a few dozen keys and no deep alias chains; simplify the file",
        ),
        other => (
            strip_location(&other.to_string()).to_owned(),
            "fix the YAML syntax at this position (check indentation, quotes and brackets)",
        ),
    };
    ConfigError::Syntax {
        path: source.to_owned(),
        line: pos.line,
        column: pos.column,
        message,
        hint: hint.to_owned(),
    }
}

/// A serde error from pass 2 (unknown key, wrong type, duplicate key), with the key path
/// recovered from the index.
pub(super) fn from_deser_error(
    source: &Path,
    index: &PathIndex,
    err: &serde_saphyr::Error,
) -> ConfigError {
    use serde_saphyr::Error as E;

    let err = match err.without_snippet() {
        // An error reached through an alias: report the inner error (at the use site).
        E::AliasError { error, .. } => error.as_ref(),
        other => other,
    };
    let pos = err
        .location()
        .map(|l| Pos::from_location(&l))
        .unwrap_or(Pos::START);
    let at = |role| index.lookup(pos, role);
    let key_at = |role| at(role).map(|e| e.path.clone()).unwrap_or_default();
    let found = || {
        at(Role::Value)
            .map(|e| e.found.clone())
            .unwrap_or_else(|| "something else".to_owned())
    };

    let (key, message, hint) = match err {
        E::SerdeUnknownField {
            field, expected, ..
        } => {
            let key = key_at(Role::Key);
            let parent = key.rsplit_once('.').map(|(p, _)| p).unwrap_or("");
            (
                key.clone(),
                format!("unknown key `{field}`"),
                suggest::unknown_key_hint(field, expected, parent),
            )
        }
        E::SerdeUnknownVariant {
            variant, expected, ..
        } => (
            key_at(Role::Value),
            format!("unknown value `{variant}`"),
            suggest::unknown_value_hint(variant, expected),
        ),
        E::DuplicateMappingKey { key, .. } => {
            let name = key.clone().unwrap_or_else(|| "?".to_owned());
            (
                key_at(Role::Key),
                format!("key `{name}` appears more than once in this mapping"),
                "keep one of them; YAML does not merge repeated keys".to_owned(),
            )
        }
        E::InvalidBooleanStrict { .. } => (
            key_at(Role::Value),
            format!("expected `true` or `false`, found {}", found()),
            "write `true` or `false` (YAML 1.1 spellings such as `yes`, `on` are not accepted)"
                .to_owned(),
        ),
        E::InvalidScalar { ty, .. } => {
            let (what, hint) = expected_scalar(ty);
            (
                key_at(Role::Value),
                format!("expected {what}, found {}", found()),
                hint.to_owned(),
            )
        }
        E::NullIntoString { .. } => (
            key_at(Role::Value),
            "expected text, found an empty value".to_owned(),
            "write a value, or delete the line".to_owned(),
        ),
        E::Unexpected { expected, .. } => {
            let (what, hint) = expected_shape(expected);
            (
                key_at(Role::Value),
                format!("expected {what}, found {}", found()),
                hint.to_owned(),
            )
        }
        E::SerdeInvalidType { expected, .. } | E::SerdeInvalidValue { expected, .. } => {
            let (what, hint) = expected_shape(expected);
            (
                key_at(Role::Value),
                format!("expected {what}, found {}", found()),
                hint.to_owned(),
            )
        }
        other => (
            key_at(Role::Value),
            strip_location(&other.to_string()).to_owned(),
            "see the file format in src/config/schema.json".to_owned(),
        ),
    };
    let key = if key.is_empty() {
        "(document)".to_owned()
    } else {
        key
    };
    ConfigError::Invalid {
        path: source.to_owned(),
        line: pos.line,
        column: pos.column,
        key,
        message,
        hint,
    }
}

fn expected_scalar(ty: &str) -> (&'static str, &'static str) {
    match ty {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => (
            "a whole number (0 or more)",
            "write a whole number without quotes or units, such as `80`",
        ),
        "bool" => (
            "`true` or `false`",
            "write `true` or `false` without quotes",
        ),
        _ => (
            "a different kind of value",
            "see the file format in src/config/schema.json",
        ),
    }
}

fn expected_shape(expected: &str) -> (String, &'static str) {
    let e = expected.to_ascii_lowercase();
    if e.contains("mapping") || e.contains("map") || e.contains("struct") {
        (
            "a mapping of `key: value` lines".to_owned(),
            "indent the keys of this section under it, one `key: value` per line",
        )
    } else if e.contains("sequence") || e.contains("seq") || e.contains("list") {
        (
            "a list".to_owned(),
            "write a YAML list: `[a, b]`, or one `- item` per line",
        )
    } else if e.contains("string") {
        (
            "text".to_owned(),
            "write a single value here, not a list or a mapping",
        )
    } else {
        (
            expected.to_owned(),
            "see the file format in src/config/schema.json",
        )
    }
}
