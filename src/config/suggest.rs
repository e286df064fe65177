//! "Did you mean ...?" for unknown keys and values.
//!
//! Candidates are compared case-, `_`- and `-`-insensitively first (so `minInstances` and
//! `min-instances` both find `min_instances`), then by edit distance, allowing about one typo
//! per three characters. A key that is valid in another section (`image` at the top level) is
//! pointed at its section, since that mistake is an indentation slip, not a typo.

use super::schema;

/// The hint for an unknown key `field` in the mapping at `parent` (`""` for the top level),
/// whose valid keys are `expected`.
pub(super) fn unknown_key_hint(field: &str, expected: &[&str], parent: &str) -> String {
    if let Some(best) = closest(field, expected) {
        return format!("did you mean `{best}`?");
    }
    if let Some(hint) = misplaced_hint(field, parent) {
        return hint;
    }
    format!("valid keys here: {}", list(expected))
}

/// The hint for an unknown enum value such as `secret_access: per_secret`.
pub(super) fn unknown_value_hint(value: &str, expected: &[&str]) -> String {
    match closest(value, expected) {
        Some(best) => format!("did you mean `{best}`? valid values: {}", list(expected)),
        None => format!("valid values: {}", list(expected)),
    }
}

fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '_' && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The candidate most likely meant by `input`, if any is close enough.
pub(super) fn closest<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let norm = normalize(input);
    if let Some(same) = candidates.iter().find(|c| normalize(c) == norm) {
        return Some(same);
    }
    let budget = (input.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (levenshtein(&norm, &normalize(c)), *c))
        .filter(|(d, _)| *d <= budget)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

pub(super) fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Where a key named `field` is valid, when not in `parent`: read from the schema so that
/// this cannot drift from the file format.
fn misplaced_hint(field: &str, parent: &str) -> Option<String> {
    let schema = schema::json_schema();
    let root = schema.get("properties")?.as_object()?;
    if !parent.is_empty() && root.contains_key(field) {
        return Some(format!(
            "`{field}` is a top-level key; move it out of `{parent}:` (check the indentation)"
        ));
    }
    root.iter()
        .filter(|(name, _)| name.as_str() != parent)
        .find(|(_, section)| {
            section
                .get("properties")
                .and_then(|p| p.as_object())
                .is_some_and(|props| props.contains_key(field))
        })
        .map(|(name, _)| format!("`{field}` belongs under `{name}:`; check the indentation"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_and_spelling_variants() {
        let keys = [
            "name",
            "memory",
            "min_instances",
            "max_instances",
            "service_account",
        ];
        assert_eq!(closest("memroy", &keys), Some("memory"));
        assert_eq!(closest("minInstances", &keys), Some("min_instances"));
        assert_eq!(closest("min-instances", &keys), Some("min_instances"));
        assert_eq!(closest("serviceaccount", &keys), Some("service_account"));
        assert_eq!(closest("region", &keys), None);
    }

    #[test]
    fn points_misplaced_keys_at_their_section() {
        let top = ["project", "region", "service", "encryption_key", "iam"];
        assert_eq!(
            unknown_key_hint("image", &top, ""),
            "`image` belongs under `service:`; check the indentation"
        );
        assert_eq!(
            unknown_key_hint("project_roles", &top, ""),
            "`project_roles` belongs under `iam:`; check the indentation"
        );
    }
}
