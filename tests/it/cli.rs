//! End-to-end: the command-line surface. `--help` of the tool and of every subcommand is
//! snapshotted, so a flag that appears, disappears or changes its wording shows up
//! in review; `-v` and `--log-format json` are checked against the emulator.

use std::process::{Command, Stdio};

use crate::harness::*;

/// Runs the built binary with a fixed terminal width and no colour, outside any harness.
fn bin(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_autosre-deploy"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    Run::new(
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `args` must print help on stdout, nothing on stderr, and exit 0.
fn help(args: &[&str]) -> String {
    let run = bin(args);
    assert_eq!(run.code, 0, "{args:?}\n{}", run.all());
    assert!(run.stderr.is_empty(), "{args:?}\n{}", run.stderr);
    run.stdout
}

#[test]
fn help_top_level() {
    insta::assert_snapshot!("help", help(&["--help"]));
}

#[test]
fn help_deploy() {
    insta::assert_snapshot!("help_deploy", help(&["deploy", "--help"]));
}

#[test]
fn help_plan() {
    insta::assert_snapshot!("help_plan", help(&["plan", "--help"]));
}

#[test]
fn help_grant() {
    insta::assert_snapshot!("help_grant", help(&["grant", "--help"]));
}

#[test]
fn help_check() {
    insta::assert_snapshot!("help_check", help(&["check", "--help"]));
}

#[test]
fn help_validate() {
    insta::assert_snapshot!("help_validate", help(&["validate", "--help"]));
}

/// The lines on stderr that log an API call.
fn api_call_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains("api call")).collect()
}

/// `-v` logs one line per request the emulator answered, with the method, the resource, the
/// status and the latency, and `--log-format json` turns each into a JSON object with the same
/// fields.
#[tokio::test(flavor = "multi_thread")]
async fn verbose_logs_every_api_call_as_text_or_json() {
    let h = Harness::start(staging_world().build()).await;
    h.write_config("staging", &repo_config("staging"));

    // Text.
    let run = h.run(&["plan", "--env", "staging", "-v"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let requests = h.journal().len();
    let lines = api_call_lines(&run.stderr);
    assert!(requests > 0);
    assert_eq!(
        lines.len(),
        requests,
        "one log line per request\n{}",
        run.stderr
    );
    let version = format!("projects/{PROJECT}/secrets/sre-agent-encryption-key/versions/latest");
    let line = lines
        .iter()
        .find(|l| l.contains("secrets.versions.get") && l.contains(&version))
        .unwrap_or_else(|| panic!("no log line for {version}\n{}", run.stderr));
    assert!(line.contains("status=\"OK\""), "{line}");
    assert!(line.contains("latency_ms="), "{line}");
    // The service does not exist yet: its read is logged with Google's status.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("services.get") && l.contains("status=\"NOT_FOUND\"")),
        "{}",
        run.stderr
    );
    // The token is never logged.
    assert!(!run.all().contains(TOKEN), "{}", run.all());
    // Without -v, no API call is logged.
    let quiet = h.run(&["plan", "--env", "staging"]).await;
    assert!(api_call_lines(&quiet.stderr).is_empty(), "{}", quiet.stderr);

    // JSON.
    h.emulator.clear_journal();
    let run = h
        .run(&["plan", "--env", "staging", "-v", "--log-format", "json"])
        .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let requests = h.journal().len();
    let mut calls = Vec::new();
    for l in run
        .stderr
        .lines()
        .filter(|l| l.trim_start().starts_with('{'))
    {
        let v: serde_json::Value = serde_json::from_str(l)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{}", run.stderr));
        assert!(v.is_object(), "{l}");
        if v["message"] == "api call" {
            calls.push(v);
        }
    }
    assert!(
        api_call_lines(&run.stderr)
            .iter()
            .all(|l| l.trim_start().starts_with('{')),
        "an API call logged as text\n{}",
        run.stderr
    );
    assert_eq!(
        calls.len(),
        requests,
        "one JSON line per request\n{}",
        run.stderr
    );
    let call = calls
        .iter()
        .find(|v| v["method"] == "secrets.versions.get" && v["resource"] == version.as_str())
        .unwrap_or_else(|| panic!("no JSON log line for {version}\n{}", run.stderr));
    assert_eq!(call["status"], "OK", "{call}");
    assert!(call["latency_ms"].is_u64(), "{call}");
    assert_eq!(call["api"], "secretmanager", "{call}");
    assert!(!run.all().contains(TOKEN), "{}", run.all());
}

/// `--iam-propagation-timeout` takes a duration like every other duration flag (`7m`, `420s`),
/// and a bare number is still seconds; a value that is neither is a usage error before
/// anything is sent.
#[tokio::test(flavor = "multi_thread")]
async fn iam_propagation_timeout_takes_a_duration_or_seconds() {
    for value in ["7m", "420s", "420"] {
        let h = Harness::start_staging(staging_world().build()).await;
        let run = h
            .run(&[
                "deploy",
                "--env",
                "staging",
                "--iam-propagation-timeout",
                value,
            ])
            .await;
        run.assert_code(0);
    }
    let h = Harness::start_staging(staging_world().build()).await;
    let run = h
        .run(&[
            "deploy",
            "--env",
            "staging",
            "--iam-propagation-timeout",
            "7x",
        ])
        .await;
    run.assert_code(2);
    run.assert_stderr_contains("`7x` is not a duration");
    assert!(h.journal().is_empty(), "nothing sent");
}

/// A duration environment variable goes through the same parser: a bare number is
/// milliseconds, a unit works, and a value that is neither is refused (never replaced by the
/// default) before anything is sent.
#[tokio::test(flavor = "multi_thread")]
async fn duration_variables_take_units_and_refuse_the_rest() {
    let h = Harness::start_staging(staging_world().build()).await;
    for value in ["20", "20ms"] {
        let run = h
            .run_with(
                &["check", "--env", "staging"],
                &[("AUTOSRE_DEPLOY_POLL_INTERVAL_MS", value)],
            )
            .await;
        run.assert_code(0);
    }
    let sent = h.journal().len();
    let run = h
        .run_with(
            &["check", "--env", "staging"],
            &[("AUTOSRE_DEPLOY_POLL_INTERVAL_MS", "soon")],
        )
        .await;
    run.assert_code(2);
    run.assert_stderr_contains("AUTOSRE_DEPLOY_POLL_INTERVAL_MS: `soon` is not a duration");
    assert_eq!(h.journal().len(), sent, "nothing sent");
}
