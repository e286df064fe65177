//! No secret value in any output (issue 7, defect 1).
//!
//! The usual migration: an older deploy set `SRE_AGENT_ENCRYPTION_KEY` and
//! `GOOGLE_API_KEY` as plain env values of the live service; the config now
//! takes both from Secret Manager, and holds a plain `DB_PASSWORD` that
//! `service.plain_env_allow` lets through. Every output path (`plan` in
//! three formats, `plan --out`, `deploy --dry-run`, `deploy` at every
//! verbosity and log format, `check`) must show these values only as
//! `(sensitive, N bytes, sha256 abcd)`, never the value; the plan warns that
//! a credential sat in plain text; the deploy leaves the key read by secret
//! reference.

use sha2::{Digest, Sha256};

use crate::harness::*;

/// Every value below carries this marker, so that a value printed in part
/// (truncated, quoted, escaped) is caught too.
const MARKER: &str = "LEAKCANARY";
/// The encryption key as an older deploy set it: plain text in the service.
const LIVE_KEY: &str = "LEAKCANARY-live-encryption-key-3b9d1f0e7a";
/// The Gemini API key as an older deploy set it.
const LIVE_API_KEY: &str = "LEAKCANARY-live-api-key-5c2e8a4d61";
/// The database password the live service holds (allowed as plain text).
const LIVE_DB_PASSWORD: &str = "hunter1-LEAKCANARY-old-db-password";
/// The database password the config sets (allowed as plain text).
const DB_PASSWORD: &str = "hunter2-LEAKCANARY-new-db-password";
const VALUES: [&str; 4] = [LIVE_KEY, LIVE_API_KEY, LIVE_DB_PASSWORD, DB_PASSWORD];

const OLD_IMAGE: &str = "us-docker.pkg.dev/acme-sre-staging/autosre/autosre:2026.10.01";

/// How a plan shows a value it must not print.
fn sensitive(value: &str) -> String {
    let hex = format!("{:x}", Sha256::digest(value.as_bytes()));
    format!("(sensitive, {} bytes, sha256 {})", value.len(), &hex[..4])
}

/// `config/staging.yaml` (both keys from Secret Manager) plus a plain
/// `DB_PASSWORD` that `service.plain_env_allow` allows.
fn config() -> String {
    let text = repo_config("staging");
    let once = |text: &str, from: &str, to: &str| {
        assert_eq!(text.matches(from).count(), 1, "`{from}` must occur once");
        text.replace(from, to)
    };
    let text = once(
        &text,
        "  allow_unauthenticated: false\n",
        "  allow_unauthenticated: false\n  plain_env_allow: [DB_PASSWORD]\n",
    );
    let text = once(
        &text,
        "    LOG_LEVEL: INFO\n",
        &format!("    LOG_LEVEL: INFO\n    DB_PASSWORD: {DB_PASSWORD}\n"),
    );
    assert!(text.contains("GOOGLE_API_KEY: gemini-api-key"));
    assert!(text.contains("SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key"));
    text
}

/// A world whose live service was deployed by an older tool: the key, the
/// API key and the database password as plain env values.
async fn migrating() -> Harness {
    let h = Harness::start(staging_world().build()).await;
    h.write_config("staging", &config());
    let service = serde_json::json!({
        "name": "autosre",
        "template": {
            "serviceAccount": SA,
            "containers": [{
                "image": OLD_IMAGE,
                "env": [
                    {"name": "LOG_FORMAT", "value": "JSON"},
                    {"name": "LOG_LEVEL", "value": "INFO"},
                    {"name": "STRICT_EUC_ENFORCEMENT", "value": "true"},
                    {"name": "SRE_AGENT_ENCRYPTION_KEY", "value": LIVE_KEY},
                    {"name": "GOOGLE_API_KEY", "value": LIVE_API_KEY},
                    {"name": "DB_PASSWORD", "value": LIVE_DB_PASSWORD},
                    {"name": "GOOGLE_CLIENT_ID", "valueSource": {"secretKeyRef": {
                        "secret": "google-client-id", "version": "latest"
                    }}},
                ],
            }],
        },
    });
    h.emulator
        .with_state(|st| st.seed_service(PROJECT, "us-central1", service))
        .expect("the older deploy's service");
    let live = h.emulator.service(SERVICE).expect("seeded");
    assert!(live.to_string().contains(LIVE_KEY), "seeded as plain text");
    h.emulator.clear_journal();
    h
}

/// No value, not even in part, anywhere in `text`.
fn assert_no_value(what: &str, text: &str) {
    for v in VALUES {
        assert!(!text.contains(v), "{what} prints `{v}`:\n{text}");
    }
    assert!(
        !text.contains(MARKER),
        "{what} prints part of a value:\n{text}"
    );
    assert!(
        !text.contains("hunter"),
        "{what} prints part of a password:\n{text}"
    );
}

/// Every changed value is shown by size and hash prefix.
fn assert_sensitive_shown(what: &str, text: &str) {
    for v in VALUES {
        let shown = sensitive(v);
        assert!(
            text.contains(&shown),
            "{what} does not show `{shown}`:\n{text}"
        );
    }
}

/// The JSON plan warns, by kind, about both credentials that sat in plain
/// text; the text names neither value.
fn assert_plain_credential_warnings(what: &str, plan: &serde_json::Value) {
    let warned: Vec<&str> = plan["warnings"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no `warnings` array: {plan:#}"))
        .iter()
        .filter(|w| w["kind"] == "plain_credential_in_live_service")
        .filter_map(|w| w["message"].as_str())
        .collect();
    for name in ["SRE_AGENT_ENCRYPTION_KEY", "GOOGLE_API_KEY"] {
        assert!(
            warned.iter().any(|m| m.contains(&format!("`{name}`"))),
            "{what}: no plain_credential_in_live_service warning for {name}: {warned:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn plans_show_no_value_and_warn_about_plain_credentials() {
    let h = migrating().await;

    // Human.
    let run = h.run(&["plan", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_no_value("plan", &run.all());
    assert_sensitive_shown("plan", &run.stdout);
    assert!(
        run.all().contains("plain env var value"),
        "plan warns that a credential sat in plain text:\n{}",
        run.all()
    );
    assert_run_snapshot!("plan_human", run);

    // Markdown.
    let run = h
        .run(&["plan", "--env", "staging", "--output", "markdown"])
        .await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_no_value("plan --output markdown", &run.all());
    assert_sensitive_shown("plan --output markdown", &run.stdout);
    run.assert_all_contains("plain env var value");
    assert_run_snapshot!("plan_markdown", run);

    // JSON.
    let run = h
        .run(&["plan", "--env", "staging", "--output", "json"])
        .await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_no_value("plan --output json", &run.all());
    assert_sensitive_shown("plan --output json", &run.stdout);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).expect("plan JSON");
    assert_plain_credential_warnings("plan --output json", &plan);

    // A saved plan.
    let file = h.dir.path().join("plan.json");
    let file_s = file.to_str().unwrap();
    let run = h.run(&["plan", "--env", "staging", "--out", file_s]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_no_value("plan --out (output)", &run.all());
    let saved = std::fs::read_to_string(&file).expect("the plan file");
    assert_no_value("plan --out (file)", &saved);
    assert_sensitive_shown("plan --out (file)", &saved);

    // A dry run.
    let run = h.run(&["deploy", "--env", "staging", "--dry-run"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_no_value("deploy --dry-run", &run.all());
    assert_sensitive_shown("deploy --dry-run", &run.all());

    // Preflight.
    let run = h.run(&["check", "--env", "staging"]).await;
    assert_no_value("check", &run.all());

    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());
}

/// The migration deploy at every verbosity and log format (each on its own
/// live service that still holds the plain values): no value on stdout or
/// stderr, and afterwards the service reads both keys by secret reference.
#[tokio::test(flavor = "multi_thread")]
async fn deploys_show_no_value_and_leave_the_key_behind_a_secret_reference() {
    // `RUST_LOG=trace` lets every library log too (the HTTP and auth stacks).
    let trace: &[(&str, &str)] = &[("RUST_LOG", "trace")];
    for (flags, vars) in [
        (&[][..], &[][..]),
        (&["-v"][..], &[][..]),
        (&["-vv"][..], &[][..]),
        (&["--log-format", "json"][..], &[][..]),
        (&["-vv", "--log-format", "json"][..], &[][..]),
        (&["--output", "json"][..], &[][..]),
        (&["-vv"][..], trace),
    ] {
        let what = format!("deploy {} {vars:?}", flags.join(" "));
        let h = migrating().await;
        let args = [&["deploy", "--env", "staging"][..], flags].concat();
        let run = h.run_with(&args, vars).await;
        assert_eq!(run.code, 0, "{what}: {}", run.all());
        assert_no_value(&what, &run.all());
        assert!(!run.all().contains(TOKEN), "{what} prints the token");
        assert_sensitive_shown(&what, &run.all());
        if flags.contains(&"json") && flags.contains(&"--log-format") {
            for line in run.stderr.lines() {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {line}"));
            }
        }
        if flags == ["--output", "json"] {
            let out: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON outcome");
            assert_no_value(&what, &out.to_string());
        }
        assert_reads_keys_by_reference(&what, &h);

        // And the next plan has nothing left to warn about.
        let run = h
            .run(&["plan", "--env", "staging", "--output", "json"])
            .await;
        assert_eq!(run.code, 0, "{what}: {}", run.all());
        assert_no_value(&what, &run.all());
        let plan: serde_json::Value = serde_json::from_str(&run.stdout).expect("plan JSON");
        // No warnings at all is omitted from the JSON.
        let still_plain: Vec<String> = plan["warnings"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter(|w| w["kind"] == "plain_credential_in_live_service")
            .map(|w| w["message"].as_str().unwrap_or_default().to_owned())
            .filter(|m| m.contains("`SRE_AGENT_ENCRYPTION_KEY`") || m.contains("`GOOGLE_API_KEY`"))
            .collect();
        assert!(
            still_plain.is_empty(),
            "{what}: the keys still sit in plain text: {still_plain:#?}"
        );
    }
}

/// A deploy from a saved plan shows no value either.
#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_from_a_saved_plan_shows_no_value() {
    let h = migrating().await;
    let file = h.dir.path().join("plan.json");
    let file_s = file.to_str().unwrap();
    let run = h.run(&["plan", "--env", "staging", "--out", file_s]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let run = h.run(&["deploy", "--plan", file_s, "-vv"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_no_value("deploy --plan", &run.all());
    assert_reads_keys_by_reference("deploy --plan", &h);
}

/// The live service after the deploy: both keys by secret reference, no
/// plain value of either (the password stays plain, as allowed, with the
/// config's value); the new revision resolved the key from Secret Manager.
fn assert_reads_keys_by_reference(what: &str, h: &Harness) {
    let svc = h.emulator.service(SERVICE).expect("the service");
    let env = svc["template"]["containers"][0]["env"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no env: {svc:#}"))
        .clone();
    let var = |name: &str| {
        env.iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("{what}: no {name}: {svc:#}"))
            .clone()
    };
    for (name, secret) in [
        ("SRE_AGENT_ENCRYPTION_KEY", "sre-agent-encryption-key"),
        ("GOOGLE_API_KEY", "gemini-api-key"),
    ] {
        let e = var(name);
        assert!(e.get("value").is_none(), "{what}: {name} is plain: {e}");
        let r = &e["valueSource"]["secretKeyRef"];
        let s = r["secret"].as_str().unwrap_or_default();
        assert!(
            s == secret || s.ends_with(&format!("/secrets/{secret}")),
            "{what}: {name} reads {r}"
        );
    }
    assert_eq!(var("DB_PASSWORD")["value"], DB_PASSWORD, "{what}");
    let text = svc.to_string();
    assert!(
        !text.contains(LIVE_KEY) && !text.contains(LIVE_API_KEY),
        "{what}: {svc:#}"
    );
    let revisions = h.emulator.revisions(SERVICE);
    let newest = revisions.last().expect("a revision");
    assert!(newest.ready, "{what}: {newest:?}");
    assert!(
        newest
            .secret_versions
            .iter()
            .any(|r| r.env == "SRE_AGENT_ENCRYPTION_KEY"
                && r.secret == format!("projects/{PROJECT}/secrets/sre-agent-encryption-key")),
        "{what}: the new revision does not read the key from Secret Manager: {newest:?}"
    );
}

/// The other commands, and failures: `validate` and `grant` (which read the
/// same config), and a deploy that Cloud Run refuses, in text and JSON.
#[tokio::test(flavor = "multi_thread")]
async fn other_commands_and_failures_show_no_value() {
    let h = migrating().await;
    for args in [
        &["validate"][..],
        &["validate", "--env", "staging"][..],
        &["grant", "--env", "staging", "--dry-run"][..],
        &["grant", "--env", "staging", "-vv"][..],
    ] {
        let run = h.run(args).await;
        assert_eq!(run.code, 0, "{args:?}: {}", run.all());
        assert_no_value(&format!("{args:?}"), &run.all());
    }

    // Cloud Run refuses every write of the service, validateOnly included.
    h.emulator
        .inject_fault(Fault::status(Some("PATCH"), "/services/autosre", 400, 1000));
    for flags in [&["-vv"][..], &["--output", "json"][..]] {
        let args = [&["deploy", "--env", "staging"][..], flags].concat();
        let run = h.run(&args).await;
        assert_eq!(run.code, 1, "{args:?}: {}", run.all());
        assert_no_value(&format!("{args:?}"), &run.all());
    }
    let live = h.emulator.service(SERVICE).expect("the service");
    assert!(live.to_string().contains(LIVE_KEY), "left as it was");
}

/// The ways a run can print: every verbosity, both log formats, JSON output.
pub(crate) const LOUDNESS: [&[&str]; 5] = [
    &[],
    &["-v"],
    &["-vv"],
    &["-vv", "--log-format", "json"],
    &["-vv", "--log-format", "json", "--output", "json"],
];

/// Run `args` at every [`LOUDNESS`] (and once more with `RUST_LOG=trace`,
/// which lets every library log), and return the runs.
pub(crate) async fn loudly(h: &Harness, args: &[&str]) -> Vec<Run> {
    let mut runs = Vec::new();
    for extra in LOUDNESS {
        let all: Vec<&str> = args.iter().chain(extra.iter()).copied().collect();
        // Boxed: a whole run of the tool is a large future, and a test
        // holds many.
        runs.push(Box::pin(h.run(&all)).await);
    }
    let all: Vec<&str> = args.iter().copied().chain(["-vv"]).collect();
    runs.push(Box::pin(h.run_with(&all, &[("RUST_LOG", "trace")])).await);
    runs
}

/// Issue 9 §9: `secrets status` (every format) and `secrets disable` (a
/// refusal, a dry run, a disable) at every verbosity print no payload: the
/// harness checks every run for the seeded [`KEY`] and [`PAYLOAD`]; here
/// also the base64 of each, should a payload ever be shown encoded.
#[tokio::test(flavor = "multi_thread")]
async fn secrets_commands_show_no_payload_at_any_verbosity() {
    use base64::Engine;
    let h = Harness::start_staging(staging_world().build()).await;
    assert_eq!(h.run(&["deploy", "--env", "staging"]).await.code, 0);
    h.emulator.with_state(|s| {
        s.add_secret_version(PROJECT, "gemini-api-key", PAYLOAD);
    });
    h.emulator.clear_journal();
    let status = ["secrets", "status", "--env", "staging"];
    let mut runs = loudly(&h, &status).await;
    runs.extend(loudly(&h, &[&status[..], &["--output", "markdown"]].concat()).await);
    let disable = ["secrets", "disable", "--env", "staging"];
    // Refused: the serving revision pins the key's version 1.
    let refused = loudly(
        &h,
        &[&disable[..], &["sre-agent-encryption-key", "1"]].concat(),
    )
    .await;
    assert!(refused.iter().all(|r| r.code == 1), "{}", refused[0].all());
    runs.extend(refused);
    runs.extend(
        loudly(
            &h,
            &[&disable[..], &["gemini-api-key", "2", "--dry-run"]].concat(),
        )
        .await,
    );
    runs.extend(loudly(&h, &[&disable[..], &["gemini-api-key", "2"]].concat()).await);
    assert_eq!(
        h.count("secretmanager.projects.secrets.versions.disable"),
        1,
        "disabled once, then already disabled"
    );
    assert_eq!(h.count("secretmanager.projects.secrets.versions.access"), 0);
    let b64 = base64::engine::general_purpose::STANDARD;
    for run in &runs {
        for secret in [PAYLOAD, KEY] {
            let text = String::from_utf8_lossy(secret);
            assert!(!run.all().contains(text.as_ref()), "{}", run.all());
            assert!(!run.all().contains(&b64.encode(secret)), "{}", run.all());
        }
    }
}

/// As a GitHub Actions step: the step outputs, the step summary and the
/// annotations carry no value either, while the plain-credential warnings
/// still become `::warning` annotations.
#[tokio::test(flavor = "multi_thread")]
async fn github_outputs_summary_and_annotations_show_no_value() {
    let h = migrating().await;
    let file = h.dir.path().join("plan.json").display().to_string();
    for (name, args) in [
        ("plan", vec!["plan", "--env", "staging", "--out", &file]),
        ("dry-run", vec!["deploy", "--env", "staging", "--dry-run"]),
        ("deploy", vec!["deploy", "--plan", &file]),
    ] {
        let step = crate::ci::Step::new(&h, name);
        let run = step.run(&h, &args).await;
        assert_eq!(run.code, 0, "{name}: {}", run.all());
        let outputs = std::fs::read_to_string(&step.output).expect("$GITHUB_OUTPUT");
        let summary = std::fs::read_to_string(&step.summary).expect("$GITHUB_STEP_SUMMARY");
        for (what, text) in [
            ("run", run.all()),
            ("$GITHUB_OUTPUT", outputs),
            ("$GITHUB_STEP_SUMMARY", summary.clone()),
        ] {
            assert_no_value(&format!("{name}: {what}"), &text);
        }
        assert_sensitive_shown(name, &summary);
        let warnings: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| l.starts_with("::warning "))
            .collect();
        for key in ["SRE_AGENT_ENCRYPTION_KEY", "GOOGLE_API_KEY"] {
            assert!(
                warnings.iter().any(|w| w.contains(&format!("`{key}`"))),
                "{name}: no ::warning about {key}: {warnings:#?}"
            );
        }
    }
}
