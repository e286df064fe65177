//! Waits that end: every command that talks to Google ends at its `--timeout`, naming the
//! call it waited for, and shows a long wait; a configuration error (a malformed endpoint
//! override) is refused before anything is sent, never retried as transient.

use crate::harness::*;

/// A request Google never answers: every command that talks to Google ends at
/// its `--timeout` (exit 1), naming what it was waiting for, and a wait longer
/// than `--slow-wait-ms` is shown with what is awaited. A short deadline, no
/// timing asserted.
#[tokio::test(flavor = "multi_thread")]
async fn a_request_that_never_answers_ends_at_the_deadline_and_is_shown() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.emulator.inject_fault(Fault::hang(
        Some("GET"),
        "secrets/sre-agent-encryption-key",
        1000,
    ));
    // Two seconds, so that even a loaded machine has sent the read before the
    // deadline; the six commands run at once, so the test waits about that long.
    let runs = futures::future::join_all(
        [
            &["plan", "--env", "staging"][..],
            &["check", "--env", "staging"],
            &["deploy", "--env", "staging"],
            &["secrets", "status", "--env", "staging"],
            &["key", "check", "--env", "staging"],
            &["key", "rotate", "--env", "staging"],
        ]
        .map(|args| {
            let args: Vec<&str> = args
                .iter()
                .copied()
                .chain(["--timeout", "2s", "--slow-wait-ms", "10"])
                .collect();
            let h = &h;
            async move { (h.run(&args).await, args) }
        }),
    )
    .await;
    for (run, args) in runs {
        assert_eq!(run.code, 1, "{args:?}: {}", run.all());
        run.assert_stderr_contains("error: --timeout 2s ran out while waiting for secretmanager ");
        run.assert_stderr_contains("sre-agent-encryption-key");
        run.assert_stderr_contains("Waiting for Google: secretmanager ");
    }
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());
}

/// A malformed endpoint override names the variable and the value, exits 2
/// and sends nothing; `ftp://` is a configuration error too, never retried.
#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_endpoint_override_is_a_usage_error() {
    let h = Harness::start_staging(staging_world().build()).await;
    for value in ["not-a-url", "ftp://example.com/"] {
        let run = h
            .run_with(
                &["plan", "--env", "staging"],
                &[("CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN", value)],
            )
            .await;
        assert_eq!(run.code, 2, "{}", run.all());
        run.assert_stderr_contains(&format!(
            "error: CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN=`{value}` is not an API endpoint"
        ));
        assert!(!run.stderr.contains("retry"), "{}", run.stderr);
    }
    assert!(h.journal().is_empty());
}
