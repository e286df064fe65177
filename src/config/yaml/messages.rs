//! The wording of YAML errors: what was expected, what was found (read from the source text,
//! never echoing a secret-looking env value), and the hint.

use std::path::Path;

use serde_path_to_error::Path as KeyPath;

use super::super::error::ConfigError;
use super::super::{redact, suggest};
use super::{Pos, join_path, key_path};

/// What the value at `pos` is, for "found ..." in messages, read from the source: `a list`,
/// `a mapping`, `an empty value`, or the scalar as written with its YAML type.
fn describe_at(text: &str, pos: Pos, redact_scalars: bool) -> String {
    let line = text
        .lines()
        .nth(
            usize::try_from(pos.line)
                .unwrap_or(usize::MAX)
                .saturating_sub(1),
        )
        .unwrap_or("");
    let rest: String = line
        .chars()
        .skip(usize::try_from(pos.column).unwrap_or(1).saturating_sub(1))
        .collect();
    let rest = rest.trim_end();
    if rest.starts_with('[') || rest == "-" || rest.starts_with("- ") {
        return "a list".to_owned();
    }
    if rest.starts_with('{') {
        return "a mapping".to_owned();
    }
    let shown = |token: &str| {
        if redact_scalars {
            redact::REDACTED.to_owned()
        } else {
            token.to_owned()
        }
    };
    if let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let end = rest[1..].find(quote).map_or(rest.len(), |i| i + 2);
        return format!("the text `{}`", shown(&rest[..end]));
    }
    let token = rest.split(" #").next().unwrap_or("").trim_end();
    if token.ends_with(':') || token.contains(": ") {
        return "a mapping".to_owned();
    }
    match token {
        "" | "~" | "null" | "Null" | "NULL" => "an empty value".to_owned(),
        "true" | "false" => format!("the boolean `{}`", shown(token)),
        t if t.parse::<f64>().is_ok() || t.parse::<i128>().is_ok() => {
            format!("the number `{}`", shown(t))
        }
        t => format!("the text `{}`", shown(t)),
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
/// from `serde_path_to_error`.
pub(super) fn from_deser_error(
    source: &Path,
    text: &str,
    path: &KeyPath,
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
    let path = key_path(path);
    // Values under `service.env` whose names look secret are never echoed.
    let redact_value = path
        .strip_prefix("service.env.")
        .is_some_and(redact::is_sensitive_name);
    let found = || describe_at(text, pos, redact_value);

    let (key, message, hint) = match err {
        E::SerdeUnknownField {
            field, expected, ..
        } => {
            let key = path.clone();
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
            path.clone(),
            format!("unknown value `{variant}`"),
            suggest::unknown_value_hint(variant, expected),
        ),
        E::DuplicateMappingKey { key, .. } => {
            let name = key.clone().unwrap_or_else(|| "?".to_owned());
            (
                join_path(&path, &name),
                format!("key `{name}` appears more than once in this mapping"),
                "keep one of them; YAML does not merge repeated keys".to_owned(),
            )
        }
        E::InvalidBooleanStrict { .. } => (
            path.clone(),
            format!("expected `true` or `false`, found {}", found()),
            "write `true` or `false` (YAML 1.1 spellings such as `yes`, `on` are not accepted)"
                .to_owned(),
        ),
        E::InvalidScalar { ty, .. } => {
            let (what, hint) = expected_scalar(ty);
            (
                path.clone(),
                format!("expected {what}, found {}", found()),
                hint.to_owned(),
            )
        }
        E::NullIntoString { .. } => (
            path.clone(),
            "expected text, found an empty value".to_owned(),
            "write a value, or delete the line".to_owned(),
        ),
        E::Unexpected { expected, .. } => {
            let (what, hint) = expected_shape(expected);
            (
                path.clone(),
                format!("expected {what}, found {}", found()),
                hint.to_owned(),
            )
        }
        E::SerdeInvalidType { expected, .. } if expected == "`true` or `false`" => (
            path.clone(),
            format!("expected `true` or `false`, found {}", found()),
            "write `true` or `false` without quotes (a quoted `\"false\"` is text, not a \
             boolean)"
                .to_owned(),
        ),
        E::SerdeInvalidType { expected, .. }
            if expected == "text" && found().starts_with("the ") =>
        {
            (
                path.clone(),
                format!("expected text, found {}", found()),
                "quote the value to make it text, e.g. `\"12\"`, or write the intended name"
                    .to_owned(),
            )
        }
        E::SerdeInvalidType { expected, .. } | E::SerdeInvalidValue { expected, .. } => {
            let (what, hint) = expected_shape(expected);
            (
                path.clone(),
                format!("expected {what}, found {}", found()),
                hint.to_owned(),
            )
        }
        other => (
            path.clone(),
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
