//! Cloud Run labels: the rules a key and a value must follow, checked before anything is
//! sent, and the tool's own labels.
//!
//! Cloud Run services and revisions take Resource Manager labels
//! (cloud.google.com/run/docs/configuring/services/labels), whose requirements are
//! (cloud.google.com/resource-manager/docs/labels-overview#requirements): at most 64 labels
//! a resource; keys 1 to 63 characters, values 0 to 63; only lowercase letters, digits,
//! underscores and dashes (international characters allowed); keys start with a lowercase
//! letter or an international character. Cloud Run API v2 also rejects labels in the
//! `run.googleapis.com`, `cloud.googleapis.com`, `serving.knative.dev` and
//! `autoscaling.knative.dev` namespaces (run.v2 discovery, `Service.labels`).
//!
//! The tool's labels follow google-github-actions/deploy-cloudrun (`src/main.ts`,
//! `defaultLabels`): `managed-by` (there `github-actions`, here `autosre-deploy`) and
//! `commit-sha` from `GITHUB_SHA`, lowercased; labels the user gives win over them, and
//! labels set on the service by others are kept (`--update-labels`).

use std::collections::BTreeMap;

use serde_saphyr::Spanned;

use super::problems::Problems;
use super::raw::{EnvValue, RawLabels};
use super::validate::InvalidValue;
use super::yaml::{Pos, join_path};

/// The label naming the tool that manages the service.
pub(crate) const MANAGED_BY: &str = "managed-by";
/// The label carrying the commit deployed (as deploy-cloudrun's).
pub(crate) const COMMIT_SHA: &str = "commit-sha";
/// `managed-by`'s value.
pub(crate) const TOOL: &str = "autosre-deploy";
/// At most this many labels on a resource.
pub(crate) const MAX_LABELS: usize = 64;

const RESERVED: [&str; 4] = [
    "run.googleapis.com/",
    "cloud.googleapis.com/",
    "serving.knative.dev/",
    "autoscaling.knative.dev/",
];

const RULES: &str = "labels hold lowercase letters, digits, `_` and `-`, at most 63 characters, and a key starts with a lowercase letter";

/// A lowercase letter, a digit, `_`, `-`, or an international character (a letter with no
/// case, or a lowercase one).
fn allowed(c: char) -> bool {
    c.is_ascii_lowercase()
        || c.is_ascii_digit()
        || c == '_'
        || c == '-'
        || (!c.is_ascii() && c.is_alphabetic() && !c.is_uppercase())
}

/// Checks a label key.
pub(crate) fn label_key(key: &str) -> Result<(), InvalidValue> {
    if let Some(p) = RESERVED.iter().find(|p| key.starts_with(*p)) {
        return Err(InvalidValue::new(
            format!("label `{key}` is in the `{p}` namespace, which Cloud Run reserves"),
            "use a key of your own, such as `team`",
        ));
    }
    let first = key.chars().next();
    let bad = match first {
        None => Some("a label key is empty".to_string()),
        Some(c) if !(c.is_ascii_lowercase() || (!c.is_ascii() && allowed(c))) => Some(format!(
            "label key `{key}` does not start with a lowercase letter"
        )),
        _ if key.chars().count() > 63 => Some(format!(
            "label key `{key}` is {} characters long, over 63",
            key.chars().count()
        )),
        _ => key
            .chars()
            .find(|c| !allowed(*c))
            .map(|c| format!("label key `{key}` holds `{c}`")),
    };
    match bad {
        Some(message) => Err(InvalidValue::new(message, RULES)),
        None => Ok(()),
    }
}

/// Checks the value of label `key`.
pub(crate) fn label_value(key: &str, value: &str) -> Result<(), InvalidValue> {
    let bad = if value.chars().count() > 63 {
        Some(format!(
            "the value of label `{key}` is {} characters long, over 63",
            value.chars().count()
        ))
    } else {
        value
            .chars()
            .find(|c| !allowed(*c))
            .map(|c| format!("the value of label `{key}` holds `{c}`"))
    };
    match bad {
        Some(message) => Err(InvalidValue::new(message, RULES)),
        None => Ok(()),
    }
}

/// Checks how many labels there are.
pub(crate) fn label_count(count: usize) -> Result<(), InvalidValue> {
    match count > MAX_LABELS {
        true => Err(InvalidValue::new(
            format!("{count} labels, over Cloud Run's {MAX_LABELS}"),
            "remove some labels",
        )),
        false => Ok(()),
    }
}

/// `service.labels`: the labels (checked, each at its line), whether the tool adds its own,
/// and the `commit-sha` the file gives.
pub(super) fn resolve(
    p: &mut Problems<'_>,
    raw: Option<&Spanned<RawLabels>>,
) -> (BTreeMap<String, String>, bool, Option<String>) {
    let mut labels = BTreeMap::new();
    let Some(raw) = raw else {
        return (labels, true, None);
    };
    let entries = match &raw.value {
        RawLabels::Flag(false) => return (labels, false, None),
        RawLabels::Map(entries) => entries,
        RawLabels::Flag(true) => {
            p.report(
                Pos::of(raw),
                "service.labels",
                InvalidValue::new(
                    "`labels: true` is not a setting",
                    "write a mapping of labels (`labels: {team: sre}`), or `labels: false` to leave out the tool's own labels",
                ),
            );
            return (labels, true, None);
        }
        RawLabels::Other(kind) => {
            p.report(
                Pos::of(raw),
                "service.labels",
                InvalidValue::new(
                    format!("labels must be a mapping or `false`, found {kind}"),
                    "write `labels: {team: sre}`, or `labels: false`",
                ),
            );
            return (labels, true, None);
        }
    };
    for (key, value) in entries {
        let at = join_path("service.labels", &key.value);
        p.check(key, &at, |k| label_key(k));
        let text = match &value.value {
            EnvValue::Text(t) => t.clone(),
            EnvValue::Empty => String::new(),
            EnvValue::NotText(kind) | EnvValue::Collection(kind) => {
                p.report(
                    Pos::of(value),
                    at.clone(),
                    InvalidValue::new(
                        format!("label values are text, found {kind}"),
                        format!("quote it: `{}: \"...\"`", key.value),
                    ),
                );
                continue;
            }
        };
        let checked = Spanned {
            value: text,
            referenced: value.referenced,
            defined: value.defined,
        };
        p.check(&checked, &at, |v| label_value(&key.value, v));
        labels.insert(key.value.clone(), checked.value);
    }
    if let Some(last) = entries.last() {
        p.check(&last.0, "service.labels", |_| label_count(labels.len()));
    }
    let commit = labels.remove(COMMIT_SHA);
    (labels, true, commit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_follow_the_resource_manager_rules() {
        for ok in ["team", "a", "commit-sha", "x_1", "équipe", &"k".repeat(63)] {
            assert!(label_key(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Team",
            "1team",
            "-team",
            "team.name",
            "team/name",
            "run.googleapis.com/x",
            &"k".repeat(64),
        ] {
            assert!(label_key(bad).is_err(), "{bad}");
        }
        for ok in ["", "sre", "0a1b2c", "v1-2_3", &"v".repeat(63)] {
            assert!(label_value("k", ok).is_ok(), "{ok}");
        }
        for bad in ["SRE", "a b", "1.2", "a/b", &"v".repeat(64)] {
            assert!(label_value("k", bad).is_err(), "{bad}");
        }
        assert!(label_count(64).is_ok());
        assert!(label_count(65).is_err());
    }

    #[test]
    fn a_reserved_namespace_is_named() {
        let e = label_key("serving.knative.dev/x").unwrap_err();
        assert!(
            e.message().contains("serving.knative.dev/"),
            "{}",
            e.message()
        );
    }
}
