//! End-to-end: the encryption key commands (`key generate | init | check |
//! rotate`) and the key format check of `plan` and `deploy`.
//!
//! Pinned: init creates the key secret (automatic or user-managed
//! replication, the managed-by label, version 1 with a valid key and its
//! checksum) on a fresh project and changes nothing when it exists; a
//! key the agent's `Fernet(key)` refuses (wrong length, an incomplete last
//! group, a character outside ASCII) fails `key check` and stops `deploy`
//! before any write when the deployer may read the payload, and is only "not
//! verified" when it may not; a key Fernet accepts with stray characters (a
//! trailing newline, quotes) passes with a warning; rotation adds a
//! version and deploys. No key, seeded or made by the tool, is ever printed
//! (see also `leaks.rs`).

use base64::Engine;

use crate::harness::*;
use crate::leaks::loudly;

const KEY_SECRET: &str = "sre-agent-encryption-key";

/// Malformed keys, each a kind `key check` names.
const WRONG_LENGTH: &[u8] = b"c2hvcnQta2V5LW1hdGVyaWFsLTI0Ynl0ZXM=";
const NOT_BASE64: &[u8] = b"not-a-fernet-key!secret-material-xyz";
const NOT_ASCII: &[u8] = "c2hvcnQta2V5LW1hdGVyaWFsLTI0Ynl0ZXM\u{e9}".as_bytes();

/// The key as `echo "$KEY" | gcloud secrets versions add ... --data-file=-`
/// stores it, or quoted from a YAML file on a Windows editor: the agent's
/// Fernet skips those characters.
fn with_newline() -> Vec<u8> {
    [KEY, b"\n"].concat()
}
fn quoted_crlf() -> Vec<u8> {
    [b"\"", KEY, b"\"\r\n"].concat()
}

/// The staging world without the key secret.
fn world_without_key() -> autosre_emulator::WorldBuilder {
    let mut b = World::builder()
        .project(PROJECT, NUMBER)
        .service_account(SA)
        .project_binding(PROJECT, "roles/owner", "user:owner@example.com");
    for s in ["gemini-api-key", "google-client-id"] {
        b = b
            .secret(PROJECT, s)
            .secret_version(PROJECT, s, VersionState::Enabled, PAYLOAD);
    }
    with_staging_images(b)
}

/// The staging world whose key secret holds `key`.
fn world_with_key(key: &[u8]) -> autosre_emulator::WorldBuilder {
    world_without_key()
        .secret(PROJECT, KEY_SECRET)
        .secret_version(PROJECT, KEY_SECRET, VersionState::Enabled, key)
}

/// Assert that none of `secrets` appears in the run's output.
#[track_caller]
fn assert_absent(run: &Run, secrets: &[&[u8]]) {
    for s in secrets {
        let text = String::from_utf8_lossy(s);
        let text = text.trim_end();
        assert!(
            !run.all().contains(text),
            "key material was printed:\n{}",
            run.all()
        );
    }
}

/// The key version the live service's template reads (`secretKeyRef.version`).
fn key_version_read(h: &Harness) -> String {
    let service = h.emulator.service(SERVICE).expect("the service");
    let key = service["template"]["containers"][0]["env"]
        .as_array()
        .and_then(|env| env.iter().find(|e| e["name"] == "SRE_AGENT_ENCRYPTION_KEY"))
        .unwrap_or_else(|| panic!("no SRE_AGENT_ENCRYPTION_KEY: {service:#}"));
    key["valueSource"]["secretKeyRef"]["version"]
        .as_str()
        .unwrap_or_else(|| panic!("not a secret reference: {key}"))
        .to_string()
}

fn is_fernet_key(bytes: &[u8]) -> bool {
    bytes.len() == 44
        && base64::engine::general_purpose::URL_SAFE
            .decode(bytes)
            .is_ok_and(|b| b.len() == 32)
}

#[tokio::test(flavor = "multi_thread")]
async fn generate_prints_one_fernet_key_and_a_newline() {
    let h = Harness::start(World::builder().build()).await;
    let run = h.run(&["key", "generate"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.ends_with('\n'));
    let key = run.stdout.strip_suffix('\n').unwrap();
    assert!(is_fernet_key(key.as_bytes()), "{key:?}");
    assert_eq!(run.stderr, "");
    assert!(h.journal().is_empty(), "generate talks to nobody");
    let again = h.run(&["key", "generate"]).await;
    assert_ne!(again.stdout, run.stdout, "each key is new");
}

#[tokio::test(flavor = "multi_thread")]
async fn init_creates_the_key_secret_on_a_fresh_project() {
    let h = Harness::start_staging(world_without_key().build()).await;
    let run = h.run(&["key", "init", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        h.write_rpcs(),
        [
            "secretmanager.projects.secrets.create",
            "secretmanager.projects.secrets.addVersion"
        ]
    );
    let secret = h.emulator.secret(PROJECT, KEY_SECRET).unwrap();
    assert_eq!(secret["labels"]["managed-by"], "autosre-deploy");
    assert!(secret["replication"].get("automatic").is_some(), "{secret}");
    let payloads = h.emulator.secret_payloads(PROJECT, KEY_SECRET);
    assert_eq!(payloads.len(), 1);
    assert!(is_fernet_key(&payloads[0]));
    assert_absent(&run, &[&payloads[0]]);
    // The checksum went with the payload, and Secret Manager checked it.
    let add = h
        .journal()
        .into_iter()
        .find(|e| e.rpc == "secretmanager.projects.secrets.addVersion")
        .unwrap();
    assert_eq!(add.status, 200);
    run.assert_all_contains("Created secret `sre-agent-encryption-key`");
    run.assert_all_contains("version 1");

    // What was made passes the check, and a plan reads it as valid.
    let check = h.run(&["key", "check", "--env", "staging"]).await;
    assert_eq!(check.code, 0, "{}", check.all());
    check.assert_all_contains("version 1");
    check.assert_all_contains("a valid Fernet key");
    assert_absent(&check, &[&payloads[0]]);
}

#[tokio::test(flavor = "multi_thread")]
async fn init_replicates_where_the_config_says() {
    let h = Harness::start_with(world_without_key().build(), fast_options()).await;
    let config = staging().replace(
        "  env: SRE_AGENT_ENCRYPTION_KEY\n",
        "  env: SRE_AGENT_ENCRYPTION_KEY\n  replica_locations: [us-central1, us-east1]\n",
    );
    assert_ne!(
        config,
        staging(),
        "the config has an encryption_key section"
    );
    h.write_config("staging", &config);
    let run = h.run(&["key", "init", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let secret = h.emulator.secret(PROJECT, KEY_SECRET).unwrap();
    let replicas = &secret["replication"]["userManaged"]["replicas"];
    assert_eq!(
        replicas,
        &serde_json::json!([{"location": "us-central1"}, {"location": "us-east1"}]),
        "{secret}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn init_on_an_existing_key_changes_nothing() {
    let h = Harness::start_staging(staging_world().build()).await;
    let run = h.run(&["key", "init", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());
    run.assert_all_contains("exists");
    run.assert_all_contains("nothing was changed");
    assert_eq!(h.emulator.secret_payloads(PROJECT, KEY_SECRET), [KEY]);
}

#[tokio::test(flavor = "multi_thread")]
async fn init_dry_run_says_what_it_would_create_and_writes_nothing() {
    let h = Harness::start_staging(world_without_key().build()).await;
    let run = h
        .run(&[
            "key",
            "init",
            "--env",
            "staging",
            "--dry-run",
            "--output",
            "json",
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["action"], "would_create");
    assert_eq!(report["replication"], serde_json::json!(["automatic"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn init_without_the_create_permission_names_it_and_writes_nothing() {
    let world = world_without_key()
        .caller("deployer@example.com")
        .enforce_caller_permissions()
        .project_binding(
            PROJECT,
            "roles/secretmanager.viewer",
            "user:deployer@example.com",
        )
        .build();
    let h = Harness::start_staging(world).await;
    let run = h.run(&["key", "init", "--env", "staging"]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());
    run.assert_stderr_contains("secretmanager.secrets.create");
    run.assert_stderr_contains("gcloud projects add-iam-policy-binding acme-sre-staging");
}

/// Each malformed key: `key check` names its kind (exit 1), and `deploy`
/// stops before any write.
#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_key_fails_check_and_stops_deploy_before_any_write() {
    let cases: [(&[u8], &str); 3] = [
        (WRONG_LENGTH, "decodes to 26 bytes, not 32"),
        (NOT_BASE64, "ends in an incomplete group"),
        (NOT_ASCII, "outside ASCII"),
    ];
    for (key, words) in cases {
        let h = Harness::start_staging(world_with_key(key).build()).await;

        let check = h.run(&["key", "check", "--env", "staging"]).await;
        assert_eq!(check.code, 1, "{}", check.all());
        check.assert_all_contains(words);
        check.assert_stderr_contains("autosre-deploy key rotate --env staging");
        assert_absent(&check, &[key]);

        let json = h
            .run(&["key", "check", "--env", "staging", "--output", "json"])
            .await;
        assert_eq!(json.code, 1, "{}", json.all());
        let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
        assert_eq!(report["valid"], false);
        assert_eq!(report["version"], "1");
        assert_eq!(report["checksum"], "verified");

        let deploy = h.run(&["deploy", "--env", "staging"]).await;
        assert_eq!(deploy.code, 1, "{}", deploy.all());
        deploy.assert_stderr_contains("preflight failed");
        deploy.assert_all_contains("is not a valid Fernet key");
        deploy.assert_all_contains(words);
        assert!(h.writes().is_empty(), "{words}: {:?}", h.write_rpcs());
        assert_absent(&deploy, &[key]);

        let plan = h
            .run(&["plan", "--env", "staging", "--output", "json"])
            .await;
        assert_eq!(plan.code, 1, "{}", plan.all());
        let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
        let format = &plan["preflight"]["encryption_key"]["format"];
        assert_eq!(format["status"], "invalid", "{format}");
        assert!(
            plan["preflight"]["problems"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["kind"] == "key_malformed"),
            "{plan}"
        );
    }
}

/// A key the agent's `Fernet(key)` accepts is never refused: a trailing
/// newline (what `echo "$KEY" |` stores) or quotes and `\r\n` make a
/// warning by kind, `key check` exits 0, and the deploy goes through.
/// Nothing prints the key, at any verbosity.
#[tokio::test(flavor = "multi_thread")]
async fn a_key_with_stray_characters_works_with_a_warning() {
    for (key, kind) in [(with_newline(), "newline"), (quoted_crlf(), "quote")] {
        let h = Harness::start_staging(world_with_key(&key).build()).await;
        let check = h.run(&["key", "check", "--env", "staging"]).await;
        assert_eq!(check.code, 0, "{}", check.all());
        check.assert_all_contains("a valid Fernet key, but");
        check.assert_all_contains(kind);
        let json = h
            .run(&["key", "check", "--env", "staging", "--output", "json"])
            .await;
        let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
        assert_eq!(report["valid"], true, "{report}");
        assert_eq!(report["warning"]["kind"], "stray_characters", "{report}");

        let plan = h
            .run(&["plan", "--env", "staging", "--output", "json"])
            .await;
        assert_eq!(plan.code, 0, "{}", plan.all());
        let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
        let format = &plan["preflight"]["encryption_key"]["format"];
        assert_eq!(format["status"], "valid", "{format}");
        assert!(
            plan["warnings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w["kind"] == "key_stray_characters"),
            "{plan}"
        );
        let mut runs = loudly(&h, &["deploy", "--env", "staging"]).await;
        runs.push(check);
        for run in &runs {
            assert_eq!(run.code, 0, "{}", run.all());
            assert_absent(run, &[KEY]);
        }
        assert!(h.emulator.service(SERVICE).is_some());
    }
}

/// Without `secretmanager.versions.access` the plan cannot read the key:
/// it says the format was not verified, and the deploy goes on.
#[tokio::test(flavor = "multi_thread")]
async fn without_payload_access_the_format_is_not_verified_and_deploy_goes_on() {
    const MEMBER: &str = "user:deployer@example.com";
    let role = format!("projects/{PROJECT}/roles/secretsNoAccess");
    let mut world = world_with_key(NOT_BASE64)
        .caller("deployer@example.com")
        .enforce_caller_permissions()
        .custom_role(
            PROJECT,
            "secretsNoAccess",
            &[
                "secretmanager.secrets.get",
                "secretmanager.versions.get",
                "secretmanager.secrets.getIamPolicy",
                "secretmanager.secrets.setIamPolicy",
            ],
        )
        .project_binding(PROJECT, &role, MEMBER);
    for r in [
        "roles/run.developer",
        "roles/iam.serviceAccountUser",
        "roles/iam.serviceAccountAdmin",
        "roles/resourcemanager.projectIamAdmin",
        "roles/artifactregistry.reader",
    ] {
        world = world.project_binding(PROJECT, r, MEMBER);
    }
    let h = Harness::start_staging(world.build()).await;
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    run.assert_stderr_contains("the encryption key's format was not verified");
    run.assert_stderr_contains("secretmanager.versions.access");
    assert_eq!(h.count("secretmanager.projects.secrets.versions.access"), 0);
    assert_absent(&run, &[NOT_BASE64]);
}

#[tokio::test(flavor = "multi_thread")]
async fn rotation_adds_a_version_and_deploys() {
    let h = Harness::start_staging(staging_world().build()).await;
    assert_eq!(h.run(&["deploy", "--env", "staging"]).await.code, 0);
    let before = h.emulator.revisions(SERVICE).len();

    let run = h.run(&["key", "rotate", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let payloads = h.emulator.secret_payloads(PROJECT, KEY_SECRET);
    assert_eq!(payloads.len(), 2);
    assert!(is_fernet_key(&payloads[1]));
    assert_ne!(payloads[1], KEY);
    assert_absent(&run, &[&payloads[1]]);
    run.assert_stderr_contains("Added version 2 with a new key");
    // Which key version each serving revision reads.
    let revisions = h.emulator.revisions(SERVICE);
    let serving = &revisions.last().unwrap().name;
    let serving = serving.rsplit('/').next().unwrap();
    run.assert_all_contains(&format!("serving: revision {serving} (100% of traffic)"));
    assert!(revisions.len() >= before);
    // The plan after it sees version 2, valid.
    let plan = h
        .run(&["plan", "--env", "staging", "--output", "json"])
        .await;
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(
        plan["preflight"]["encryption_key"]["format"],
        serde_json::json!({"status": "valid", "version": "2", "checksum": "verified"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rotation_without_deploy_adds_only_the_version_and_dry_run_nothing() {
    let h = Harness::start_staging(staging_world().build()).await;
    let dry = h
        .run(&["key", "rotate", "--env", "staging", "--dry-run"])
        .await;
    assert_eq!(dry.code, 0, "{}", dry.all());
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());
    dry.assert_all_contains("Would add a version with a new key");

    let run = h
        .run(&["key", "rotate", "--env", "staging", "--no-deploy"])
        .await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        h.write_rpcs(),
        ["secretmanager.projects.secrets.addVersion"]
    );
    let payloads = h.emulator.secret_payloads(PROJECT, KEY_SECRET);
    assert_eq!(payloads.len(), 2);
    assert_absent(&run, &[&payloads[1]]);
}

#[tokio::test(flavor = "multi_thread")]
async fn rotation_of_a_missing_key_points_to_init() {
    let h = Harness::start_staging(world_without_key().build()).await;
    let run = h.run(&["key", "rotate", "--env", "staging"]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains("does not exist");
    run.assert_stderr_contains("autosre-deploy key init --env staging");
    assert!(h.writes().is_empty());
}

/// Rotation pins the new version: the revision it deploys references the
/// new version's number, not `latest` (pinning is on by default).
#[tokio::test(flavor = "multi_thread")]
async fn rotation_pins_the_new_version() {
    let h = Harness::start_staging(staging_world().build()).await;
    assert_eq!(h.run(&["deploy", "--env", "staging"]).await.code, 0);
    let run = h.run(&["key", "rotate", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let revisions = h.emulator.revisions(SERVICE);
    assert_eq!(revisions.len(), 2, "the rotation made a new revision");
    assert_eq!(key_version_read(&h), "2");
    let serving = revisions[1].name.rsplit('/').next().unwrap();
    run.assert_all_contains(&format!(
        "serving: revision {serving} (100% of traffic) reads key version 2"
    ));
}

/// A rotation whose deploy fails (Cloud Run refuses the service's update):
/// the version is added, the command fails, and it says the service keeps
/// its previous key until a deploy succeeds; the service still reads the
/// old version.
#[tokio::test(flavor = "multi_thread")]
async fn a_rotation_whose_deploy_fails_says_the_service_keeps_its_old_key() {
    let h = Harness::start_staging(staging_world().build()).await;
    assert_eq!(h.run(&["deploy", "--env", "staging"]).await.code, 0);
    h.emulator
        .inject_fault(Fault::status(Some("PATCH"), "/services/autosre", 400, 1000));
    let run = h
        .run(&["key", "rotate", "--env", "staging", "--output", "json"])
        .await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains("Added version 2 with a new key");
    run.assert_stderr_contains(
        "version 2 was added, but the deploy did not finish; the service keeps its previous key until `autosre-deploy deploy --env staging` succeeds",
    );
    // Every output says the version was added: the error line, and the one
    // JSON document.
    run.assert_stderr_contains(
        "error: added version 2 with a new key to secret `sre-agent-encryption-key`; then: preflight failed",
    );
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect(&run.stdout);
    assert_eq!(
        v["written_before"],
        serde_json::json!(["added version 2 with a new key to secret `sre-agent-encryption-key`"]),
        "{}",
        run.stdout
    );
    let payloads = h.emulator.secret_payloads(PROJECT, KEY_SECRET);
    assert_eq!(payloads.len(), 2);
    assert_absent(&run, &[&payloads[1]]);
    assert_eq!(key_version_read(&h), "1");
    assert_eq!(h.emulator.revisions(SERVICE).len(), 1);

    // The next rotation sees Cloud Run refuse the deploy before it adds
    // anything.
    let run = h.run(&["key", "rotate", "--env", "staging"]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains("nothing was changed");
    assert_eq!(h.emulator.secret_payloads(PROJECT, KEY_SECRET).len(), 2);
}

/// The rotation's deploy is judged before the key version is added: with
/// another referenced secret's latest version disabled, nothing is written
/// (no new version at every try), and the refusal says nothing changed,
/// which is true. A key with no enabled version is what rotation fixes: it
/// does not stop it.
#[tokio::test(flavor = "multi_thread")]
async fn a_rotation_whose_deploy_would_fail_its_preflight_adds_nothing() {
    let h = Harness::start_staging(staging_world().build()).await;
    assert_eq!(h.run(&["deploy", "--env", "staging"]).await.code, 0);
    h.emulator
        .with_state(|s| s.disable_secret_version(PROJECT, "gemini-api-key", 1));
    h.emulator.clear_journal();
    for _ in 0..2 {
        let run = h.run(&["key", "rotate", "--env", "staging"]).await;
        assert_eq!(run.code, 1, "{}", run.all());
        run.assert_stderr_contains("preflight failed with 1 problem(s); nothing was changed");
        run.assert_stderr_contains("secret `gemini-api-key`");
        let dry = h
            .run(&["key", "rotate", "--env", "staging", "--dry-run"])
            .await;
        assert_eq!(dry.code, 1, "{}", dry.all());
    }
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());
    assert_eq!(h.emulator.secret_payloads(PROJECT, KEY_SECRET).len(), 1);

    // The key's own disabled version does not stop the rotation that replaces it.
    h.emulator.with_state(|s| {
        s.enable_secret_version(PROJECT, "gemini-api-key", 1);
        s.disable_secret_version(PROJECT, KEY_SECRET, 1);
    });
    let run = h.run(&["key", "rotate", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(key_version_read(&h), "2");
}

/// Issue 9 §9: key material, seeded or made by the tool, appears in no
/// stdout, stderr, log line, plan file or error of `key init`, `key check`,
/// `key rotate` and `plan --out` (the harness checks the seeded [`KEY`] and
/// [`PAYLOAD`] in every run).
#[tokio::test(flavor = "multi_thread")]
async fn no_key_material_in_any_output_log_or_plan_file() {
    // A fresh project: init makes a key.
    let h = Harness::start_staging(world_without_key().build()).await;
    let mut runs = loudly(&h, &["key", "init", "--env", "staging"]).await;
    assert_eq!(runs[0].code, 0, "{}", runs[0].all());
    runs.extend(loudly(&h, &["key", "check", "--env", "staging"]).await);
    runs.extend(loudly(&h, &["key", "rotate", "--env", "staging"]).await);
    runs.extend(loudly(&h, &["key", "rotate", "--env", "staging", "--no-deploy"]).await);
    let plan_file = h.dir.path().join("plan.json");
    let plan_arg = plan_file.display().to_string();
    runs.extend(loudly(&h, &["plan", "--env", "staging", "--out", &plan_arg]).await);
    let made = h.emulator.secret_payloads(PROJECT, KEY_SECRET);
    assert!(made.len() >= 6, "init and the rotations added versions");
    let plan_text = std::fs::read_to_string(&plan_file).unwrap();
    for key in &made {
        let text = String::from_utf8_lossy(key);
        assert!(!plan_text.contains(text.as_ref()), "a key in the plan file");
        for run in &runs {
            assert!(
                !run.all().contains(text.as_ref()),
                "a key the tool made was printed:\n{}",
                run.all()
            );
        }
    }
}

/// Issue 9 §9, malformed keys: `key check` names the fault and `deploy`
/// refuses it; neither prints it, at any verbosity.
#[tokio::test(flavor = "multi_thread")]
async fn no_malformed_key_in_any_output_or_log() {
    for key in [WRONG_LENGTH, NOT_ASCII, NOT_BASE64] {
        let h = Harness::start_staging(world_with_key(key).build()).await;
        let mut runs = loudly(&h, &["key", "check", "--env", "staging"]).await;
        runs.extend(loudly(&h, &["deploy", "--env", "staging"]).await);
        runs.extend(loudly(&h, &["plan", "--env", "staging"]).await);
        for run in &runs {
            assert_eq!(run.code, 1, "{}", run.all());
            assert_absent(run, &[key]);
        }
        assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());
    }
}
