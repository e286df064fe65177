//! What the old grant script cost, against what `autosre-deploy grant` costs,
//! measured in one run through the emulator's journal with 100 ms per request.
//!
//! grant_permissions.py ran one `gcloud projects add-iam-policy-binding` per
//! project role (11) and one `gcloud iam service-accounts
//! add-iam-policy-binding` per agent (2), one after another; each is its own
//! read-modify-write. Here the real gcloud CLI replays exactly that against
//! the emulator, and the tool grants the same bindings from
//! config/example.yaml. Requests, writes and sequential round trips come from
//! the journal; the figures are printed for the record and compared as ratios.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::harness::*;

const GCLOUD: &str = "/usr/bin/gcloud";
const LATENCY: Duration = Duration::from_millis(100);
struct Cost {
    requests: usize,
    writes: usize,
    depth: usize,
}

fn cost(h: &Harness) -> Cost {
    let j = h.journal();
    Cost {
        requests: j.len(),
        writes: j.iter().filter(|e| e.write).count(),
        depth: chain_depth(&j),
    }
}

fn gcloud(h: &Harness, token_file: &Path, args: &[String]) {
    let endpoint = format!("{}/", h.server.url());
    let mut cmd = Command::new(GCLOUD);
    cmd.args(args)
        .arg("--format=none")
        .env("CLOUDSDK_CONFIG", h.dir.path().join("gcloud"))
        .env("CLOUDSDK_AUTH_ACCESS_TOKEN_FILE", token_file)
        .env("CLOUDSDK_CORE_DISABLE_PROMPTS", "1")
        .env("CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK", "1")
        .env("CLOUDSDK_CORE_DISABLE_USAGE_REPORTING", "1");
    for api in ["IAM", "CLOUDRESOURCEMANAGER"] {
        cmd.env(format!("CLOUDSDK_API_ENDPOINT_OVERRIDES_{api}"), &endpoint);
    }
    let out = cmd.output().expect("gcloud runs");
    assert!(
        out.status.success(),
        "gcloud {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_write_per_policy_instead_of_one_per_role() {
    if !Path::new(GCLOUD).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{GCLOUD} must exist in CI"
        );
        eprintln!("skipping: {GCLOUD} is not installed");
        return;
    }
    let sa = format!("{NUMBER}-compute@developer.gserviceaccount.com");

    // The script, replayed with the real gcloud.
    let old = Harness::start(example_world(NUMBER).build()).await;
    old.emulator.set_latency(LATENCY);
    let token = old.dir.path().join("token");
    std::fs::write(&token, TOKEN).unwrap();
    // gcloud blocks; the emulator keeps serving on the other worker threads.
    tokio::task::block_in_place(|| {
        for role in SCRIPT_PROJECT_ROLES {
            gcloud(
                &old,
                &token,
                &[
                    "projects".into(),
                    "add-iam-policy-binding".into(),
                    "autosre-example".into(),
                    format!("--member=serviceAccount:{sa}"),
                    format!("--role={role}"),
                    "--condition=None".into(),
                ],
            );
        }
        for agent in ["gcp-sa-aiplatform", "gcp-sa-aiplatform-re"] {
            gcloud(
                &old,
                &token,
                &[
                    "iam".into(),
                    "service-accounts".into(),
                    "add-iam-policy-binding".into(),
                    sa.clone(),
                    "--project=autosre-example".into(),
                    format!(
                        "--member=serviceAccount:service-{NUMBER}@{agent}.iam.gserviceaccount.com"
                    ),
                    "--role=roles/iam.serviceAccountUser".into(),
                ],
            );
        }
    });
    let script = cost(&old);

    // The tool, granting the same bindings.
    let new = Harness::start(example_world(NUMBER).build()).await;
    new.write_config("example", &repo_config("example"));
    new.emulator.set_latency(LATENCY);
    let run = new.run(&["grant", "--env", "example"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let tool = cost(&new);

    // Both end with the same bindings.
    for h in [&old, &new] {
        let p = h.emulator.policy("projects/autosre-example").unwrap();
        for role in SCRIPT_PROJECT_ROLES {
            assert!(
                p.bindings
                    .iter()
                    .any(|b| b.role == role && b.members.contains(&format!("serviceAccount:{sa}"))),
                "{role}"
            );
        }
    }

    eprintln!(
        "grant, script (gcloud x13): {} requests, {} writes, {} sequential round trips ({} ms at {} ms each)",
        script.requests,
        script.writes,
        script.depth,
        script.depth as u128 * LATENCY.as_millis(),
        LATENCY.as_millis()
    );
    eprintln!(
        "grant, autosre-deploy:      {} requests, {} writes, {} sequential round trips ({} ms at {} ms each)",
        tool.requests,
        tool.writes,
        tool.depth,
        tool.depth as u128 * LATENCY.as_millis(),
        LATENCY.as_millis()
    );
    eprintln!(
        "ratios (script / tool): writes {:.1}x, round trips {:.1}x",
        script.writes as f64 / tool.writes as f64,
        script.depth as f64 / tool.depth as f64
    );
    assert_eq!(script.writes, 13, "one setIamPolicy per binding");
    assert_eq!(tool.writes, 2, "one setIamPolicy per policy");
    assert!(
        tool.depth * 5 <= script.depth,
        "{} vs {}",
        tool.depth,
        script.depth
    );
}
