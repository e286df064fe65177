//! End-to-end: an invalid config is a user error caught offline.
//!
//! Each test breaks one thing in the shipped `config/staging.yaml` and pins the contract from
//! docs/configuration.md ("Rejected offline"): exit code
//! 2, not a single request to the emulator, nothing on stdout, and on stderr
//! `<file>:<line>:<col>: <key>: <message>` naming the exact line of the offending key or value,
//! followed by a separate `hint:` line saying what to write instead.
//!
//! The expected line is computed from the broken file itself (the one line holding a given
//! fragment), so the tests do not depend on the layout of `config/staging.yaml`.

use crate::harness::*;

/// `base` with the one occurrence of `old` replaced by `new`.
fn replace_once(base: &str, old: &str, new: &str) -> String {
    assert_eq!(
        base.matches(old).count(),
        1,
        "`{old}` must occur exactly once in config/staging.yaml"
    );
    base.replacen(old, new, 1)
}

/// `base` with `new_line` inserted after the line that is exactly `after`.
fn insert_after(base: &str, after: &str, new_line: &str) -> String {
    let mut out = String::new();
    let mut found = 0;
    for line in base.lines() {
        out.push_str(line);
        out.push('\n');
        if line == after {
            out.push_str(new_line);
            out.push('\n');
            found += 1;
        }
    }
    assert_eq!(found, 1, "line `{after}` must occur exactly once");
    out
}

/// The 1-based number of the one line of `yaml` that contains `fragment`.
fn line_of(yaml: &str, fragment: &str) -> usize {
    let hits: Vec<usize> = yaml
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(fragment))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "`{fragment}` must be on exactly one line of the test's YAML, found on {hits:?}"
    );
    hits[0]
}

/// One located error as printed on stderr.
#[derive(Debug)]
struct Located {
    /// The file name as printed, e.g. `/tmp/.../config/staging.yaml`.
    file: String,
    line: usize,
    column: usize,
    /// `<key>: <message>`, or `invalid YAML: <message>`.
    rest: String,
    /// The text after `hint:` on the next line.
    hint: String,
}

/// Every `error: <file>:<line>:<col>: ...` line of stderr for a file ending in `file_suffix`,
/// with its hint. Panics (printing stderr) when an error line has no line/column or no hint.
fn located_errors(stderr: &str, file_suffix: &str) -> Vec<Located> {
    let lines: Vec<&str> = stderr.lines().collect();
    let mut found = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(at) = l.find(&format!("{file_suffix}:")) else {
            continue;
        };
        let file_end = at + file_suffix.len();
        let file = l[..file_end].trim_start_matches("error: ").to_string();
        let mut parts = l[file_end + 1..].splitn(3, ':');
        let line = parts.next().and_then(|s| s.parse().ok());
        let column = parts.next().and_then(|s| s.parse().ok());
        let (Some(line), Some(column), Some(rest)) = (line, column, parts.next()) else {
            panic!("error without `<line>:<col>:` in {l:?}\nstderr:\n{stderr}");
        };
        let hint = lines
            .get(i + 1)
            .and_then(|h| h.trim_start().strip_prefix("hint:"))
            .unwrap_or_else(|| panic!("no `hint:` line after {l:?}\nstderr:\n{stderr}"))
            .trim()
            .to_string();
        found.push(Located {
            file,
            line,
            column,
            rest: rest.trim_start().to_string(),
            hint,
        });
    }
    found
}

/// The single located error about `staging.yaml`.
fn the_error(run: &Run) -> Located {
    let mut errors = located_errors(&run.stderr, "staging.yaml");
    assert_eq!(
        errors.len(),
        1,
        "expected one located error\nstderr:\n{}",
        run.stderr
    );
    errors.remove(0)
}

/// Runs `args` with `yaml` as `config/staging.yaml` and checks the invariants of every
/// rejection: exit 2, no request sent, nothing on stdout.
async fn rejected_with(yaml: &str, args: &[&str]) -> Run {
    let h = Harness::start(staging_world().build()).await;
    h.write_config("staging", yaml);
    let run = h.run(args).await;
    assert_eq!(run.code, 2, "exit code\n{}", run.all());
    assert!(
        h.journal().is_empty(),
        "an invalid config sent {} request(s): {:?}",
        h.journal().len(),
        h.journal().iter().map(|e| &e.rpc).collect::<Vec<_>>()
    );
    assert!(run.stdout.is_empty(), "stdout is for data:\n{}", run.stdout);
    run
}

async fn rejected(yaml: &str) -> Run {
    rejected_with(yaml, &["deploy", "--env", "staging"]).await
}

/// One broken file and what the error must say about it.
struct Case {
    yaml: String,
    /// A fragment of the offending line (it must be on exactly one line of `yaml`).
    at: &'static str,
    /// The dotted key path the error names; `None` for a YAML syntax error.
    key: Option<&'static str>,
    /// Must appear in the message.
    message: &'static str,
    /// Must appear in the hint.
    hint: &'static str,
}

impl Case {
    async fn check(self) -> Run {
        self.check_with(&["deploy", "--env", "staging"]).await
    }

    /// The same rejection from `validate`, `plan` and `deploy`, which share the loader.
    async fn check_everywhere(self) {
        for args in [
            &["validate", "--env", "staging"][..],
            &["plan", "--env", "staging"],
            &["deploy", "--env", "staging"],
        ] {
            let case = Case {
                yaml: self.yaml.clone(),
                ..self
            };
            case.check_with(args).await;
        }
    }

    async fn check_with(self, args: &[&str]) -> Run {
        let run = rejected_with(&self.yaml, args).await;
        let e = the_error(&run);
        let line = line_of(&self.yaml, self.at);
        assert_eq!(
            e.line,
            line,
            "wrong line (the offending line is {line}: {:?})\nstderr:\n{}",
            self.yaml.lines().nth(line - 1).unwrap(),
            run.stderr
        );
        let width = self.yaml.lines().nth(line - 1).unwrap().chars().count();
        assert!(
            (1..=width + 1).contains(&e.column),
            "column {} outside line {line}\nstderr:\n{}",
            e.column,
            run.stderr
        );
        let prefix = match self.key {
            Some(key) => format!("{key}: "),
            None => "invalid YAML: ".to_string(),
        };
        assert!(
            e.rest.starts_with(&prefix),
            "expected `{prefix}` after the position\nstderr:\n{}",
            run.stderr
        );
        assert!(
            e.rest.contains(self.message),
            "message should contain {:?}\nstderr:\n{}",
            self.message,
            run.stderr
        );
        assert!(
            e.hint.contains(self.hint),
            "hint should contain {:?}\nstderr:\n{}",
            self.hint,
            run.stderr
        );
        run
    }
}

/// One `#[tokio::test]` per row, each a [`Case`] run through `Case::$check`. A row is
/// `name: yaml => (at, key, message, hint);`, the columns being the fields of [`Case`].
macro_rules! case_tests {
    ($check:ident: $($(#[$attr:meta])* $name:ident: $yaml:expr => ($at:expr, $key:expr, $message:expr, $hint:expr);)*) => {
        $(
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread")]
            async fn $name() {
                Case { yaml: $yaml, at: $at, key: $key, message: $message, hint: $hint }
                    .$check()
                    .await;
            }
        )*
    };
}

/// The shipped `config/staging.yaml` with the one occurrence of `old` replaced by `new`.
fn replaced(old: &str, new: &str) -> String {
    replace_once(&staging(), old, new)
}

fn with_env_line(line: &str) -> String {
    insert_after(&staging(), "    LOG_LEVEL: INFO", line)
}

fn with_secret_ref(env: &str, reference: &str) -> String {
    let old_line = staging()
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{env}: ")))
        .unwrap()
        .to_string();
    replace_once(&staging(), &old_line, &format!("    {env}: {reference}"))
}

case_tests! { check:
    unknown_top_level_key: format!("{}colour: blue\n", staging())
        => ("colour: blue", Some("colour"), "unknown key `colour`", "`project`");
    unknown_nested_key_suggests_the_close_one: replaced("  memory: 16Gi\n", "  memroy: 16Gi\n")
        => ("memroy:", Some("service.memroy"), "unknown key `memroy`", "`memory`");
    malformed_yaml_bad_indentation: replaced("  memory: 16Gi\n", "   memory: 16Gi\n")
        => ("   memory: 16Gi", None, "", "indentation");
    malformed_yaml_unclosed_quote:
        replaced("STRICT_EUC_ENFORCEMENT: \"true\"", "STRICT_EUC_ENFORCEMENT: \"true")
        => ("STRICT_EUC_ENFORCEMENT", None, "quote", "quotes");
    memory_with_a_byte_unit: replaced("memory: 16Gi", "memory: 16GB")
        => ("memory: 16GB", Some("service.memory"), "`16GB`", "`16Gi`");
    cpu_in_words: replaced("cpu: \"4\"", "cpu: four")
        => ("cpu: four", Some("service.cpu"), "`four`", "\"4\"");
    timeout_without_a_unit: replaced("timeout: 300s", "timeout: 300")
        => ("timeout: 300", Some("service.timeout"), "`300`", "`300s`");
    timeout_over_the_maximum: replaced("timeout: 300s", "timeout: 90m")
        => ("timeout: 90m", Some("service.timeout"), "maximum", "`3600s`");
    env_name_starting_with_a_digit: with_env_line("    1BAD: x")
        => ("1BAD: x", Some("service.env.1BAD"), "`1BAD`", "not starting with a digit");
    env_name_with_a_dash: with_env_line("    WITH-DASH: x")
        => ("WITH-DASH: x", Some("service.env.WITH-DASH"), "`WITH-DASH`", "`WITH_DASH`");
    env_name_reserved_by_cloud_run: with_env_line("    PORT: \"8080\"")
        => ("PORT: \"8080\"", Some("service.env.PORT"), "reserved", "remove it");
    secret_ref_with_two_colons: with_secret_ref("GOOGLE_CLIENT_ID", "a:b:c")
        => ("GOOGLE_CLIENT_ID: a:b:c", Some("service.secrets.GOOGLE_CLIENT_ID"), "`a:b:c`",
            "`name:version`");
    /// `v1` is a valid version alias; `1v` starts with a digit but is no number.
    secret_ref_with_a_version_that_is_neither_a_number_nor_an_alias:
        with_secret_ref("GOOGLE_API_KEY", "gemini-api-key:1v")
        => ("GOOGLE_API_KEY: gemini-api-key:1v", Some("service.secrets.GOOGLE_API_KEY"), "`1v`",
            "`latest`");
    secret_ref_path_without_a_name: with_secret_ref("GOOGLE_CLIENT_ID", "projects/p/secrets/")
        => ("GOOGLE_CLIENT_ID: projects/p/secrets/", Some("service.secrets.GOOGLE_CLIENT_ID"),
            "`projects/p/secrets/`", "projects/PROJECT/secrets/NAME");
    role_without_the_roles_prefix: replaced("[roles/cloudtrace.agent,", "[cloudtrace.agent,")
        => ("project_roles:", Some("iam.project_roles[0]"), "`cloudtrace.agent`",
            "`roles/cloudtrace.agent`");
    member_without_a_type: format!("{}    - alice@example.com\n", staging())
        => ("- alice@example.com", Some("iam.service_account_users[1]"), "`alice@example.com`",
            "`user:alice@example.com`");
    service_name_with_capitals: replaced("  name: autosre\n", "  name: AutoSRE\n")
        => ("name: AutoSRE", Some("service.name"), "`AutoSRE`", "`autosre`");
    service_name_starting_with_a_hyphen: replaced("  name: autosre\n", "  name: -x\n")
        => ("name: -x", Some("service.name"), "`-x`", "starting with a letter");
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_check_and_grant_send_nothing_for_an_invalid_config() {
    let yaml = replace_once(&staging(), "memory: 16Gi", "memory: 16GB");
    let line = line_of(&yaml, "memory: 16GB");
    for args in [
        &["plan", "--env", "staging"][..],
        &["grant", "--env", "staging"],
        &["grant", "--env", "staging", "--dry-run"],
        &["check", "--env", "staging"],
        &["deploy", "--env", "staging", "--dry-run"],
    ] {
        let run = rejected_with(&yaml, args).await;
        let e = the_error(&run);
        assert_eq!(e.line, line, "{args:?}\n{}", run.stderr);
        assert!(
            e.rest.starts_with("service.memory: "),
            "{args:?}\n{}",
            run.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_reports_every_bad_file_and_sends_nothing() {
    let h = Harness::start_staging(staging_world().build()).await;
    let dev = replace_once(&staging(), "memory: 16Gi", "memory: 16GB");
    let prod = replace_once(
        &staging(),
        "STRICT_EUC_ENFORCEMENT: \"true\"",
        "STRICT_EUC_ENFORCEMENT: \"true",
    );
    h.write_config("dev", &dev);
    h.write_config("prod", &prod);

    let run = h.run(&["validate"]).await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(h.journal().is_empty(), "validate sent requests");
    let dev_errors = located_errors(&run.stderr, "dev.yaml");
    let prod_errors = located_errors(&run.stderr, "prod.yaml");
    assert_eq!(dev_errors.len(), 1, "{}", run.stderr);
    assert_eq!(prod_errors.len(), 1, "{}", run.stderr);
    assert_eq!(dev_errors[0].line, line_of(&dev, "memory: 16GB"));
    assert!(dev_errors[0].rest.starts_with("service.memory: "));
    assert_eq!(
        prod_errors[0].line,
        line_of(&prod, "STRICT_EUC_ENFORCEMENT")
    );
    assert!(prod_errors[0].rest.starts_with("invalid YAML: "));
    assert!(
        dev_errors[0].file.ends_with("config/dev.yaml"),
        "{:?}",
        dev_errors[0]
    );
    assert!(
        located_errors(&run.stderr, "staging.yaml").is_empty(),
        "the good file was reported:\n{}",
        run.stderr
    );
    // ...but it is listed as good, not hidden by the bad ones.
    assert!(run.stdout.contains("ok: staging"), "{}", run.stdout);
    assert_run_snapshot!(run);
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_accepts_the_shipped_staging_file() {
    let h = Harness::start_staging(staging_world().build()).await;
    let run = h.run(&["validate", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(h.journal().is_empty(), "validate sent requests");
    assert_run_snapshot!(run);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_environment_lists_the_ones_that_exist() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.write_config("example", &repo_config("example"));
    for args in [
        &["deploy", "--env", "nope"][..],
        &["validate", "--env", "nope"],
    ] {
        let run = h.run(args).await;
        assert_eq!(run.code, 2, "{args:?}\n{}", run.all());
        assert!(h.journal().is_empty(), "{args:?} sent requests");
        assert!(run.stdout.is_empty(), "{args:?}\n{}", run.stdout);
        let error = run
            .stderr
            .lines()
            .find(|l| l.contains("nope.yaml"))
            .unwrap_or_else(|| panic!("{args:?}: the file is not named\n{}", run.stderr));
        assert!(
            error.contains("`nope` not found"),
            "{args:?}\n{}",
            run.stderr
        );
        let hint = run
            .stderr
            .lines()
            .find_map(|l| l.trim_start().strip_prefix("hint:"))
            .unwrap_or_else(|| panic!("{args:?}: no hint\n{}", run.stderr));
        assert!(
            hint.contains("`example`") && hint.contains("`staging`"),
            "{args:?}: the hint should list the environments\n{}",
            run.stderr
        );
        assert_run_snapshot!(format!("missing_environment_{}", args[0]), run);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_reports_as_json_too() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.write_config(
        "dev",
        &replace_once(&staging(), "memory: 16Gi", "memory: 16GB"),
    );
    let run = h.run(&["validate", "--output", "json"]).await;
    assert_eq!(run.code, 2, "{}", run.all());
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect(&run.stdout);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["environments"][0]["name"], "staging");
    let message = v["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("dev.yaml:") && message.contains("service.memory"),
        "{message}"
    );
    assert!(v["errors"][0]["hint"].is_string());
    // Where, as fields: the file, line, column and key.
    let e = &v["errors"][0];
    assert!(e["file"].as_str().unwrap().ends_with("dev.yaml"), "{e}");
    assert_eq!(e["key"], "service.memory", "{e}");
    assert!(e["line"].as_u64().unwrap() > 1, "{e}");
    assert!(e["column"].as_u64().unwrap() > 1, "{e}");
    assert!(h.journal().is_empty());
}

/// `--image` is held to the rule `service.image` is: an empty value or one
/// that is no image reference is a usage error, and nothing is sent.
#[tokio::test(flavor = "multi_thread")]
async fn a_bad_image_flag_is_refused_before_anything_is_sent() {
    let h = Harness::start(staging_world().build()).await;
    h.write_config("staging", &repo_config("staging"));
    for image in ["", "not an image", "UPPER/case:1"] {
        let run = h.run(&["plan", "--env", "staging", "--image", image]).await;
        assert_eq!(run.code, 2, "{image:?}: {}", run.all());
        run.assert_stderr_contains("error: --image:");
        run.assert_stderr_contains("hint:");
    }
    assert!(h.journal().is_empty(), "nothing was sent");
}

/// `validate` refuses what `deploy` would: an encryption key that is not
/// wired, offline, with the file and key named.
#[tokio::test(flavor = "multi_thread")]
async fn validate_refuses_an_unwired_encryption_key() {
    let h = Harness::start(staging_world().build()).await;
    h.write_config(
        "staging",
        &repo_config("staging").replace(
            "    SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key:latest\n",
            "",
        ),
    );
    let run = h.run(&["validate", "--env", "staging"]).await;
    assert_eq!(run.code, 2, "{}", run.all());
    run.assert_stderr_contains(
        "staging.yaml:22:5: service.secrets: `SRE_AGENT_ENCRYPTION_KEY` is not wired",
    );
    assert!(h.journal().is_empty());
}

mod rules;
