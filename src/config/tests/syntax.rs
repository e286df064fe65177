//! The file's shape: YAML syntax, unknown and misplaced keys, value types, duplicates.

use super::*;

/// Each row `from => to, shown, hint;` is one [`assert_error`] on the example with `from`
/// replaced by `to` ([`example_with`]): refused with exactly `shown`, hint containing `hint`.
macro_rules! assert_edits_refused {
    ($($from:expr => $to:expr, $shown:expr, $hint:expr;)+) => {
        $(assert_error(&example_with($from, $to), $shown, $hint);)+
    };
}
pub(super) use assert_edits_refused;

#[test]
fn malformed_yaml_is_a_syntax_error() {
    let (shown, hint) = error_of("region: us-central1\nproject: [acme-sre-prod\n");
    assert_eq!(
        shown,
        "config/prod.yaml:2:10: invalid YAML: unclosed bracket '['"
    );
    assert!(hint.contains("syntax"));
    let (shown, _) = error_of("project: acme-sre-prod\n  region: us-central1\n");
    assert_error(
        "project: acme-sre-prod\n---\nproject: acme-sre-dev\n",
        "config/prod.yaml:2:1: invalid YAML: more than one YAML document (`---`) in the file",
        "one environment per file",
    );
    // The parser reports the bad indentation somewhere on line 2.
    assert!(shown.starts_with("config/prod.yaml:2:"), "{shown}");
    assert!(shown.contains(": invalid YAML: "), "{shown}");
}

#[test]
fn a_file_that_is_not_a_mapping_is_rejected() {
    assert_error(
        "- project: acme-sre-prod\n",
        "config/prod.yaml:1:1: (document): expected a mapping of `key: value` lines, found a list",
        "indent",
    );
}

#[test]
fn alias_bombs_are_refused() {
    let mut text = String::from(
        "project: acme-sre-prod\nx0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..10 {
        let prev = i - 1;
        text.push_str(&format!(
            "x{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
        ));
    }
    let error = parse_text(&text).unwrap_err();
    assert!(
        matches!(error, ConfigError::Syntax { .. }),
        "an alias bomb must be refused by the parser budget, got: {error}"
    );
}

#[test]
fn unknown_keys_are_rejected_at_every_level_with_a_suggestion() {
    assert_edits_refused! {
        "region: us-central1" => "regoin: us-central1",
            "config/prod.yaml:2:1: regoin: unknown key `regoin`",
            "did you mean `region`?";
        "memory: 16Gi" => "memroy: 16Gi",
            "config/prod.yaml:8:3: service.memroy: unknown key `memroy`",
            "did you mean `memory`?";
        "min_instances: 0" => "minInstances: 0",
            "config/prod.yaml:11:3: service.minInstances: unknown key `minInstances`",
            "did you mean `min_instances`?";
        "  secret: sre-agent" => "  secert: sre-agent",
            "config/prod.yaml:23:3: encryption_key.secert: unknown key `secert`",
            "did you mean `secret`?";
        "  secret_access:" => "  secrets_access:",
            "config/prod.yaml:27:3: iam.secrets_access: unknown key `secrets_access`",
            "did you mean `secret_access`?";
    }
    assert_error(
        "project: acme-sre-prod\nservice:\n  frobnicate: 1\n",
        "config/prod.yaml:3:3: service.frobnicate: unknown key `frobnicate`",
        "valid keys here: `name`, `image`",
    );
}

#[test]
fn misplaced_keys_point_at_their_section() {
    assert_error(
        "project: acme-sre-prod\nimage: us-docker.pkg.dev/p/r/i:1\n",
        "config/prod.yaml:2:1: image: unknown key `image`",
        "`image` belongs under `service:`",
    );
    assert_error(
        "project: acme-sre-prod\nservice:\n  region: us-east1\n",
        "config/prod.yaml:3:3: service.region: unknown key `region`",
        "`region` is a top-level key",
    );
}

#[test]
fn wrong_types_name_the_key_and_what_was_found() {
    assert_edits_refused! {
        "concurrency: 80" => "concurrency: eighty",
            "config/prod.yaml:10:16: service.concurrency: expected a whole number (0 or more), \
             found the text `eighty`",
            "whole number";
        "min_instances: 0" => "min_instances: -1",
            "config/prod.yaml:11:18: service.min_instances: expected a whole number (0 or more), \
             found the number `-1`",
            "whole number";
        "allow_unauthenticated: false" => "allow_unauthenticated: yes",
            "config/prod.yaml:13:26: service.allow_unauthenticated: expected `true` or `false`, \
             found the text `yes`",
            "`true` or `false`";
    }
    assert_error(
        "project: acme-sre-prod\nservice: autosre\n",
        "config/prod.yaml:2:10: service: expected a mapping of `key: value` lines, found the \
         text `autosre`",
        "indent",
    );
    assert_error(
        "project: acme-sre-prod\niam:\n  project_roles: roles/run.invoker\n",
        "config/prod.yaml:3:18: iam.project_roles: expected a list, found the text \
         `roles/run.invoker`",
        "`[a, b]`",
    );
    assert_error(
        "project: [a, b]\n",
        "config/prod.yaml:1:10: project: expected text, found a list",
        "single value",
    );
    assert_error(
        &example_with("secret_access: per-secret", "secret_access: per_secret"),
        "config/prod.yaml:27:18: iam.secret_access: unknown value `per_secret`",
        "did you mean `per-secret`?",
    );
}

#[test]
fn duplicate_keys_are_rejected() {
    assert_error(
        "project: acme-sre-prod\nservice:\n  memory: 1Gi\n  memory: 2Gi\n",
        "config/prod.yaml:4:3: service.memory: key `memory` appears more than once in this mapping",
        "keep one",
    );
}

#[test]
fn quoted_booleans_and_numeric_names_are_type_errors() {
    assert_edits_refused! {
        "allow_unauthenticated: false" => "allow_unauthenticated: \"false\"",
            "config/prod.yaml:13:26: service.allow_unauthenticated: expected `true` or `false`, \
             found the text `\"false\"`",
            "without quotes";
        "  secret: sre-agent-encryption-key" => "  secret: 12",
            "config/prod.yaml:23:11: encryption_key.secret: expected text, found the number `12`",
            "quote";
        "GOOGLE_API_KEY: gemini-api-key:latest" => "GOOGLE_API_KEY: 12",
            "config/prod.yaml:19:21: service.secrets.GOOGLE_API_KEY: expected text, found the \
             number `12`",
            "quote";
    }
}
