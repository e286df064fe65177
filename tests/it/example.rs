//! End-to-end: `config/example.yaml` deploys and grants exactly what the two Python scripts it
//! replaces did, so switching to autosre-deploy changes nothing in a project.
//!
//! The scripts are not in this repository; what they did is transcribed below from
//! `grant_permissions.py` (the project roles and the service-account users it granted) and
//! `deploy_web.py` (the `gcloud run deploy` command line it ran), and checked against the
//! emulator's state after `deploy --env example`, not against our own output.

use std::collections::BTreeMap;
use std::collections::BTreeSet;

use crate::harness::*;

/// From `deploy_web.py`: the command it ran, verbatim except that `P` is the project id and
/// `R` the region (`--project-id` and `--region`).
const SCRIPT_DEPLOY: &str = "gcloud run deploy autosre --region us-central1 --memory=16Gi \
    --cpu=4 --timeout=300 \
    --set-env-vars=GCP_PROJECT_ID=P,GCP_REGION=R,AGENT_ENGINE_LOCATION=R,GOOGLE_CLOUD_LOCATION=R,STRICT_EUC_ENFORCEMENT=true,LOG_FORMAT=JSON,LOG_LEVEL=INFO,WEB_CONCURRENCY=2,USE_ARIZE=false \
    --set-secrets=GOOGLE_API_KEY=gemini-api-key:latest,GEMINI_API_KEY=gemini-api-key:latest,GOOGLE_GENERATIVE_AI_API_KEY=gemini-api-key:latest,GOOGLE_CLIENT_ID=google-client-id:latest,SRE_AGENT_ENCRYPTION_KEY=sre-agent-encryption-key:latest \
    --no-allow-unauthenticated";

/// The project `config/example.yaml` names.
const EXAMPLE_NUMBER: u64 = 987_654_321_098;
const EXAMPLE_REGION: &str = "us-central1";

/// `deploy_web.py`'s command line, parsed.
struct ScriptDeploy {
    service: String,
    region: String,
    memory: String,
    cpu: String,
    /// `--timeout` in seconds (gcloud reads a bare number as seconds).
    timeout_seconds: u32,
    env: BTreeMap<String, String>,
    /// ENV -> (secret, version).
    secrets: BTreeMap<String, (String, String)>,
    allow_unauthenticated: bool,
}

fn script_deploy(project: &str, region: &str) -> ScriptDeploy {
    let words: Vec<&str> = SCRIPT_DEPLOY.split_whitespace().collect();
    assert_eq!(words[..3], ["gcloud", "run", "deploy"]);
    let mut d = ScriptDeploy {
        service: words[3].to_string(),
        region: String::new(),
        memory: String::new(),
        cpu: String::new(),
        timeout_seconds: 0,
        env: BTreeMap::new(),
        secrets: BTreeMap::new(),
        allow_unauthenticated: true,
    };
    let mut i = 4;
    while i < words.len() {
        let (flag, value) = match words[i].split_once('=') {
            Some((f, v)) => (f, v.to_string()),
            None if words[i] == "--region" => {
                i += 1;
                ("--region", words[i].to_string())
            }
            None => (words[i], String::new()),
        };
        match flag {
            "--region" => d.region = value,
            "--memory" => d.memory = value,
            "--cpu" => d.cpu = value,
            "--timeout" => d.timeout_seconds = value.parse().unwrap(),
            "--set-env-vars" => {
                for pair in value.split(',') {
                    let (k, v) = pair.split_once('=').unwrap();
                    let v = match v {
                        "P" => project,
                        "R" => region,
                        v => v,
                    };
                    d.env.insert(k.to_string(), v.to_string());
                }
            }
            "--set-secrets" => {
                for pair in value.split(',') {
                    let (k, reference) = pair.split_once('=').unwrap();
                    let (secret, version) = reference.split_once(':').unwrap();
                    d.secrets
                        .insert(k.to_string(), (secret.to_string(), version.to_string()));
                }
            }
            "--no-allow-unauthenticated" => d.allow_unauthenticated = false,
            other => panic!("flag {other} not transcribed"),
        }
        i += 1;
    }
    d
}

/// Every unconditional role `member` holds in `policy`, sorted.
fn roles_of(policy: &autosre_emulator::Policy, member: &str) -> BTreeSet<String> {
    policy
        .bindings
        .iter()
        .filter(|b| b.condition.is_none() && b.members.iter().any(|m| m == member))
        .map(|b| b.role.clone())
        .collect()
}

/// A copy of the repository's `config/` directory, so the run cannot touch the real one.
fn repo_config_dir_copy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("config");
    std::fs::create_dir(&dir).unwrap();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    for entry in std::fs::read_dir(repo).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
        }
    }
    tmp
}

/// The README's first command: the whole release path of `config/example.yaml` against the
/// binary's own in-process emulator, no harness and no credentials.
#[test]
fn example_deploys_in_the_sandbox() {
    let tmp = repo_config_dir_copy();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_autosre-deploy"))
        .args(["deploy", "--env", "example", "--sandbox", "--config-dir"])
        .arg(tmp.path().join("config"))
        .current_dir(tmp.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("AUTOSRE_DEPLOY_POLL_INTERVAL_MS", "20")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the binary runs");
    let run = Run::new(
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    // Ready, and `served by the in-process emulator`.
    assert_run_snapshot!(run);
}

/// The thorough check: deploy `config/example.yaml` into a project like the one the scripts
/// ran against, then compare the emulator's state with what the scripts would have left.
#[tokio::test(flavor = "multi_thread")]
#[expect(
    clippy::print_stderr,
    reason = "the figures are read in the test's output"
)]
async fn example_grants_and_deploys_what_the_scripts_did() {
    let script = script_deploy(EXAMPLE_PROJECT, EXAMPLE_REGION);
    let runtime = default_compute_account(EXAMPLE_NUMBER);
    let runtime_member = format!("serviceAccount:{runtime}");

    let h = Harness::start(example_world(EXAMPLE_NUMBER).build()).await;
    h.write_config("example", &repo_config("example"));
    let run = h.run(&["deploy", "--env", "example"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let first_writes = h.write_rpcs();
    let first_requests = h.journal().len();

    // grant_permissions.py, project: exactly the 11 roles for the runtime account.
    let project = h
        .emulator
        .policy(&format!("projects/{EXAMPLE_PROJECT}"))
        .expect("project policy");
    let expected: BTreeSet<String> = SCRIPT_PROJECT_ROLES.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        roles_of(&project, &runtime_member),
        expected,
        "{project:#?}"
    );
    assert!(
        project
            .bindings
            .iter()
            .all(|b| b.condition.is_none() || !b.members.contains(&runtime_member)),
        "no conditional grant was expected: {project:#?}"
    );
    // Nobody else's access changed.
    assert!(project.bindings.iter().any(|b| b.role == "roles/owner"
        && b.members == ["user:owner@example.com".to_string()]));

    // grant_permissions.py, service account: the two AI Platform agents, with the real number.
    let sa_policy = h
        .emulator
        .policy(&format!(
            "projects/{EXAMPLE_PROJECT}/serviceAccounts/{runtime}"
        ))
        .expect("service account policy");
    let users: BTreeSet<String> = SCRIPT_SERVICE_ACCOUNT_USERS
        .iter()
        .map(|m| m.replace("{number}", &EXAMPLE_NUMBER.to_string()))
        .collect();
    assert_eq!(sa_policy.bindings.len(), 1, "{sa_policy:#?}");
    let b = &sa_policy.bindings[0];
    assert_eq!(b.role, "roles/iam.serviceAccountUser");
    assert!(b.condition.is_none());
    assert_eq!(
        b.members.iter().cloned().collect::<BTreeSet<_>>(),
        users,
        "{sa_policy:#?}"
    );

    // deploy_web.py: the service.
    let name = format!(
        "projects/{EXAMPLE_PROJECT}/locations/{}/services/{}",
        script.region, script.service
    );
    let svc = h.emulator.service(&name).expect("service created");
    let template = &svc["template"];
    assert_eq!(template["serviceAccount"], runtime.as_str(), "{svc:#}");
    assert_eq!(
        template["timeout"],
        format!("{}s", script.timeout_seconds).as_str(),
        "{svc:#}"
    );
    let containers = template["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1, "{svc:#}");
    let c = &containers[0];
    assert_eq!(
        c["resources"]["limits"]["memory"],
        script.memory.as_str(),
        "{svc:#}"
    );
    assert_eq!(
        c["resources"]["limits"]["cpu"],
        script.cpu.as_str(),
        "{svc:#}"
    );

    let mut plain = BTreeMap::new();
    let mut secrets = BTreeMap::new();
    for e in c["env"].as_array().expect("env") {
        let name = e["name"].as_str().unwrap().to_string();
        assert!(
            !plain.contains_key(&name) && !secrets.contains_key(&name),
            "`{name}` is set twice: {svc:#}"
        );
        if let Some(v) = e.get("value").and_then(|v| v.as_str()) {
            assert!(e.get("valueSource").is_none(), "{e}");
            plain.insert(name, v.to_string());
        } else {
            let r = &e["valueSource"]["secretKeyRef"];
            let field = |f: &str| r[f].as_str().unwrap_or_else(|| panic!("{e}")).to_string();
            secrets.insert(name, (field("secret"), field("version")));
        }
    }
    assert_eq!(plain, script.env, "plain env vars");
    // The one deliberate difference: the script deployed `latest`; the tool
    // pins it to the version it resolves to (issue 9 §4), version 1 in this world.
    let pinned: BTreeMap<_, _> = script
        .secrets
        .iter()
        .map(|(k, (s, v))| {
            let v = if v == "latest" { "1" } else { v.as_str() };
            (k.clone(), (s.clone(), v.to_string()))
        })
        .collect();
    assert_eq!(secrets, pinned, "secret env vars");

    // --no-allow-unauthenticated: nobody unauthenticated may invoke it.
    assert!(!script.allow_unauthenticated);
    if let Some(p) = h.emulator.policy(&name) {
        assert!(
            !p.bindings
                .iter()
                .any(|b| b.members.iter().any(|m| m == "allUsers")),
            "{p:#?}"
        );
    }

    // The same deploy again changes nothing.
    h.emulator.clear_journal();
    let again = h.run(&["deploy", "--env", "example"]).await;
    assert_eq!(again.code, 0, "{}", again.all());
    let second_writes = h.write_rpcs();
    eprintln!(
        "example deploy: first run {first_requests} requests, {} write(s) {:?}; second run {} requests, {} write(s) {:?}",
        first_writes.len(),
        first_writes,
        h.journal().len(),
        second_writes.len(),
        second_writes
    );
    // One read-modify-write per policy whatever the number of roles, one services.create.
    let mut sorted = first_writes.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "cloudresourcemanager.projects.setIamPolicy",
            "iam.projects.serviceAccounts.setIamPolicy",
            "run.projects.locations.services.create",
        ]
    );
    assert!(
        second_writes.is_empty(),
        "second deploy wrote {second_writes:?}"
    );
    assert_eq!(h.emulator.revisions(&name).len(), 1);
}
