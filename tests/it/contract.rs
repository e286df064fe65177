//! The output contract, for every command and subcommand, on success and on failure: with
//! `--output json` stdout is exactly one JSON document; with `--log-format json` every line
//! on stderr is one JSON object. Usage errors from the argument parser are held to it too.
//! And `--output markdown` is Markdown headed by the command that printed it.

use crate::harness::*;

/// Every command and subcommand, as `(args, expected exit code)`, run in order on one
/// staging world: each succeeds where it can, and each fails once.
const RUNS: &[(&[&str], i32)] = &[
    // Success.
    (&["validate"], 0),
    (&["validate", "--env", "staging"], 0),
    (&["plan", "--env", "staging"], 0),
    (&["check", "--env", "staging"], 0),
    (&["grant", "--env", "staging", "--dry-run"], 0),
    (&["grant", "--env", "staging"], 0),
    (&["deploy", "--env", "staging", "--dry-run"], 0),
    (&["deploy", "--env", "staging"], 0),
    (&["deploy", "--env", "staging"], 0),
    (&["secrets", "status", "--env", "staging"], 0),
    (
        &[
            "secrets",
            "disable",
            "--env",
            "staging",
            "old-token",
            "1",
            "--dry-run",
        ],
        0,
    ),
    (
        &["secrets", "disable", "--env", "staging", "old-token", "1"],
        0,
    ),
    (&["key", "generate"], 0),
    (&["key", "init", "--env", "staging"], 0),
    (&["key", "init", "--env", "staging", "--dry-run"], 0),
    (&["key", "check", "--env", "staging"], 0),
    (&["key", "rotate", "--env", "staging", "--dry-run"], 0),
    (&["key", "rotate", "--env", "staging", "--no-deploy"], 0),
    (&["key", "rotate", "--env", "staging"], 0),
    // Release engineering: the rotation's deploy made a second revision.
    (&["history", "--env", "staging"], 0),
    (&["rollback", "--env", "staging", "--dry-run"], 0),
    (&["rollback", "--env", "staging"], 0),
    (&["promote", "--env", "staging", "--dry-run"], 0),
    (&["promote", "--env", "staging"], 0),
    // Failure: an environment that does not exist (exit 2, nothing sent).
    (&["validate", "--env", "nope"], 2),
    (&["plan", "--env", "nope"], 2),
    (&["check", "--env", "nope"], 2),
    (&["grant", "--env", "nope"], 2),
    (&["deploy", "--env", "nope"], 2),
    (&["secrets", "status", "--env", "nope"], 2),
    (
        &["secrets", "disable", "--env", "nope", "old-token", "1"],
        2,
    ),
    (&["key", "init", "--env", "nope"], 2),
    (&["key", "check", "--env", "nope"], 2),
    (&["key", "rotate", "--env", "nope"], 2),
    (&["history", "--env", "nope"], 2),
    (&["rollback", "--env", "nope"], 2),
    (&["promote", "--env", "nope"], 2),
    (
        &["rollback", "--env", "staging", "--to", "no-such-revision"],
        1,
    ),
    // Failure: refused by the tool's own checks, after reading.
    (
        &[
            "secrets",
            "disable",
            "--env",
            "staging",
            "gemini-api-key",
            "1",
        ],
        1,
    ),
    (
        &[
            "secrets",
            "disable",
            "--env",
            "staging",
            "gemini-api-key",
            "latest",
        ],
        2,
    ),
    // Failure: usage errors from the argument parser.
    (&["deploy", "--env", "staging", "--bogus"], 2),
    (&["plan", "--env", "staging", "--timeout", "5"], 2),
    (&["key", "generate", "--bogus"], 2),
    (&["secrets"], 2),
    (&["promote", "--env", "staging", "--percent", "101"], 2),
    (&[], 2),
];

/// Assert the contract on one run: one JSON document on stdout, JSON lines on stderr.
#[track_caller]
fn assert_contract(args: &[&str], run: &Run) {
    let docs: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&run.stdout)
        .into_iter::<serde_json::Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{args:?}: stdout is not JSON ({e}):\n{}", run.stdout));
    assert_eq!(
        docs.len(),
        1,
        "{args:?}: one JSON document:\n{}",
        run.stdout
    );
    assert!(docs[0].is_object(), "{args:?}: {}", run.stdout);
    for line in run.stderr.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{args:?}: a stderr line is not JSON ({e}): {line}"));
        assert!(v.is_object(), "{args:?}: {line}");
        assert!(v["severity"].is_string(), "{args:?}: {line}");
    }
    if run.code != 0 {
        let failed = docs[0]["failure"].is_object()
            || docs[0]["outcome"]["failure"].is_object()
            || docs[0]["errors"].as_array().is_some_and(|e| !e.is_empty());
        assert!(failed, "{args:?}: a failure says so:\n{}", run.stdout);
    }
}

/// The staging world, with a secret no config references (`old-token`, two versions).
fn world() -> World {
    staging_world()
        .secret(PROJECT, "old-token")
        .secret_version(PROJECT, "old-token", VersionState::Enabled, PAYLOAD)
        .secret_version(PROJECT, "old-token", VersionState::Enabled, PAYLOAD)
        .build()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_prints_one_json_document_and_json_log_lines() {
    let h = Harness::start_staging(world()).await;
    for (args, code) in RUNS {
        let args: Vec<&str> = args
            .iter()
            .copied()
            .chain(["--output", "json", "--log-format", "json"])
            .collect();
        let run = Box::pin(h.run(&args)).await;
        assert_eq!(run.code, *code, "{args:?}:\n{}", run.all());
        assert_contract(&args, &run);
    }
    // `--output=json` spelled with `=` is the same request.
    let run = h
        .run(&["plan", "--bogus", "--output=json", "--log-format=json"])
        .await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contract(&["plan", "--bogus"], &run);
}

/// `--output markdown` is Markdown for every command that prints a result, headed by the
/// command (a CI step summary says which step it is).
#[tokio::test(flavor = "multi_thread")]
async fn markdown_is_headed_by_the_command() {
    let h = Harness::start_staging(world()).await;
    for (args, heading) in [
        (
            &["check", "--env", "staging"][..],
            "### autosre-deploy check: `staging`",
        ),
        (
            &["plan", "--env", "staging"],
            "### autosre-deploy plan: `staging`",
        ),
        (
            &["deploy", "--env", "staging", "--dry-run"],
            "### autosre-deploy deploy --dry-run: `staging`",
        ),
        (
            &["deploy", "--env", "staging"],
            "### autosre-deploy deploy: `staging`",
        ),
        (
            &["deploy", "--env", "staging"],
            "### autosre-deploy deploy: `staging`",
        ),
    ] {
        let args: Vec<&str> = args
            .iter()
            .copied()
            .chain(["--output", "markdown"])
            .collect();
        let run = Box::pin(h.run(&args)).await;
        assert_eq!(run.code, 0, "{args:?}:\n{}", run.all());
        assert!(
            run.stdout.starts_with(heading),
            "{args:?}: {heading}\n{}",
            run.stdout
        );
        assert!(
            !run.stdout.contains("service: autosre ready"),
            "{}",
            run.stdout
        );
    }
}
