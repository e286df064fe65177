//! The old `grant_permissions.py`, replayed with the real gcloud CLI against a harness's
//! emulator: first `gcloud projects describe` for the project number (Resource Manager v1
//! `projects.get`), then one `gcloud projects add-iam-policy-binding` per project role (11)
//! and one `gcloud iam service-accounts add-iam-policy-binding` per AI Platform agent (2), one
//! after another, each its own read-modify-write. Shared by the `versus_scripts` test and the `deploy` benchmark;
//! compiled only with the `gcloud-tests` feature.

use std::path::Path;

use crate::harness::*;

/// Runs `gcloud ARGS` against the emulator (with `--format=none` unless `args` choose a
/// format); returns what it printed.
fn run_gcloud(h: &Harness, token_file: &Path, args: &[String]) -> String {
    let mut cmd = autosre_emulator::gcloud::command(
        &h.server.url(),
        &h.dir.path().join("gcloud"),
        token_file,
    );
    cmd.args(args);
    if !args.iter().any(|a| a.starts_with("--format")) {
        cmd.arg("--format=none");
    }
    let out = cmd.output().expect("gcloud runs");
    assert!(
        out.status.success(),
        "gcloud {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Replays the script against `h` (the world of `config/example.yaml`). gcloud blocks; the
/// emulator keeps serving on the other worker threads, so call this from a multi-threaded
/// runtime.
pub(crate) fn replay_grant_script(h: &Harness) {
    let token = h.dir.path().join("token");
    std::fs::write(&token, TOKEN).unwrap();
    tokio::task::block_in_place(|| {
        // The script's first command: the project number, for the default compute
        // account and the AI Platform service agents.
        let described = run_gcloud(
            h,
            &token,
            &[
                "projects".into(),
                "describe".into(),
                EXAMPLE_PROJECT.into(),
                "--format=value(projectNumber)".into(),
            ],
        );
        let number: u64 = described
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("gcloud projects describe printed {described:?}: {e}"));
        let sa = default_compute_account(number);
        for role in SCRIPT_PROJECT_ROLES {
            run_gcloud(
                h,
                &token,
                &[
                    "projects".into(),
                    "add-iam-policy-binding".into(),
                    EXAMPLE_PROJECT.into(),
                    format!("--member=serviceAccount:{sa}"),
                    format!("--role={role}"),
                    "--condition=None".into(),
                ],
            );
        }
        for member in SCRIPT_SERVICE_ACCOUNT_USERS {
            run_gcloud(
                h,
                &token,
                &[
                    "iam".into(),
                    "service-accounts".into(),
                    "add-iam-policy-binding".into(),
                    sa.clone(),
                    format!("--project={EXAMPLE_PROJECT}"),
                    format!(
                        "--member={}",
                        member.replace("{number}", &number.to_string())
                    ),
                    "--role=roles/iam.serviceAccountUser".into(),
                ],
            );
        }
    });
}
