//! Ctrl-C and SIGTERM on the real process: what was written is said, the
//! operation still in progress is named with how to watch it, and the exit
//! code is 128 + the signal.

use std::process::Stdio;

use crate::harness::*;

/// Start a deploy whose rollout never finishes, wait until it watches the
/// operation (told by an emulator hook, not a clock), then send `signal`.
async fn interrupted_deploy(signal: &str) -> (i32, String, Harness) {
    let h = Harness::start(staging_world().build()).await;
    h.emulator.set_operation_polls(u32::MAX);
    let (watching, watched) = tokio::sync::oneshot::channel::<()>();
    h.emulator.before_request("POST", "/operations/", move |_| {
        let _ = watching.send(());
    });
    h.write_config("staging", &staging());
    let mut cmd = h.command(env!("CARGO_BIN_EXE_autosre-deploy"), &[]);
    cmd.args(["deploy", "--env", "staging", "--config-dir"])
        .arg(h.config_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("the binary starts");
    let pid = child.id().expect("a pid").to_string();
    watched.await.expect("the deploy watches its operation");
    assert!(
        h.write_rpcs()
            .iter()
            .any(|r| r == "run.projects.locations.services.create"),
        "the rollout started"
    );
    let status = tokio::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().await.unwrap();
    let all = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(std::str::from_utf8(PAYLOAD).unwrap()));
    (out.status.code().unwrap_or(-1), all, h)
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_mid_rollout_names_the_operation_and_exits_130() {
    let (code, all, h) = interrupted_deploy("-INT").await;
    assert_eq!(code, 130, "{all}");
    assert!(all.contains("interrupted by SIGINT"), "{all}");
    assert!(all.contains("is still in progress"), "{all}");
    assert!(
        all.contains("/operations/"),
        "the operation is named: {all}"
    );
    assert!(
        all.contains("gcloud run services describe autosre"),
        "how to watch it: {all}"
    );
    // The grants that were written are listed.
    assert!(all.contains("iam: secret gemini-api-key: granted"), "{all}");
    // Nothing was written after the signal.
    let writes = h.write_rpcs();
    assert_eq!(
        writes.last().map(String::as_str),
        Some("run.projects.locations.services.create")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_exits_143() {
    let (code, all, _) = interrupted_deploy("-TERM").await;
    assert_eq!(code, 143, "{all}");
    assert!(all.contains("interrupted by SIGTERM"), "{all}");
}

/// `deploy --plan FIFO` is refused before the file is opened (opening a FIFO
/// blocks until something writes to it), exit 2, nothing sent.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_plan_file_that_is_a_fifo_is_refused_before_opening() {
    let h = Harness::start_staging(staging_world().build()).await;
    let fifo = h.dir.path().join("plan.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let run = h.run(&["deploy", "--plan", fifo.to_str().unwrap()]).await;
    run.assert_code(2);
    run.assert_stderr_contains("is not a regular file (a FIFO, socket or device)");
    assert!(h.journal().is_empty());
}

/// A signal while the run reads live state (a request Google never answers)
/// ends it at once: exit 143, nothing written.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_while_reading_ends_the_run() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.emulator.inject_fault(Fault::hang(
        Some("GET"),
        "secrets/sre-agent-encryption-key",
        1000,
    ));
    let (reading, read) = tokio::sync::oneshot::channel::<()>();
    h.emulator
        .before_request("GET", "secrets/sre-agent-encryption-key", move |_| {
            let _ = reading.send(());
        });
    let mut cmd = h.command(env!("CARGO_BIN_EXE_autosre-deploy"), &[]);
    cmd.args(["plan", "--env", "staging", "--config-dir"])
        .arg(h.config_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("the binary starts");
    let pid = child.id().expect("a pid").to_string();
    read.await.expect("the plan reads the key secret");
    let status = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(
        stderr.contains("interrupted by SIGTERM; nothing was written"),
        "{stderr}"
    );
    assert!(h.writes().is_empty());
}
