//! The agent's own settings (`agent.url`, `agent.id`), `--set-env` one-off
//! overrides, and the Console link a deploy prints: the parts of
//! `deploy_web.py` that set the agent up.

use crate::harness::*;
use serde_json::Value;

const AGENT: &str = "agent:\n  url: https://sre-agent.example.com\n  id: agent-1234\n";

/// The deployed service's plain env vars, name -> value.
fn deployed_env(h: &Harness) -> Vec<(String, String)> {
    let svc = h.emulator.service(SERVICE).expect("the service exists");
    svc["template"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| Some((e["name"].as_str()?.into(), e["value"].as_str()?.into())))
        .collect()
}

fn has(env: &[(String, String)], name: &str, value: &str) -> bool {
    env.iter().any(|(n, v)| n == name && v == value)
}

#[tokio::test]
async fn agent_settings_expand_to_the_three_variables() {
    let h = Harness::start(staging_world().build()).await;
    h.write_config("staging", &format!("{}{AGENT}", staging()));
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let env = deployed_env(&h);
    assert!(
        has(&env, "SRE_AGENT_URL", "https://sre-agent.example.com"),
        "{env:?}"
    );
    assert!(
        has(&env, "SRE_AGENT_API_URL", "https://sre-agent.example.com"),
        "{env:?}"
    );
    assert!(has(&env, "SRE_AGENT_ID", "agent-1234"), "{env:?}");
}

#[tokio::test]
async fn agent_url_must_be_https_unless_local() {
    let h = Harness::start(staging_world().build()).await;
    h.write_config(
        "staging",
        &format!("{}agent:\n  url: http://sre-agent.example.com\n", staging()),
    );
    let run = h.run(&["validate", "--env", "staging"]).await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert_run_snapshot!(run);
    h.write_config(
        "staging",
        &format!("{}agent:\n  url: http://localhost:8080\n", staging()),
    );
    let run = h.run(&["validate", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    h.write_config("staging", &format!("{}agent:\n  id: \" \"\n", staging()));
    let run = h.run(&["validate", "--env", "staging"]).await;
    assert_eq!(run.code, 2, "{}", run.all());
    run.assert_stderr_contains("agent.id is empty");
}

#[tokio::test]
async fn a_variable_set_by_agent_and_service_env_is_an_error() {
    let h = Harness::start(staging_world().build()).await;
    let yaml = staging().replace(
        "    LOG_LEVEL: INFO\n",
        "    LOG_LEVEL: INFO\n    SRE_AGENT_ID: other\n",
    );
    h.write_config("staging", &format!("{yaml}{AGENT}"));
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 2, "{}", run.all());
    run.assert_stderr_contains("service.env.SRE_AGENT_ID");
    run.assert_stderr_contains("is set by `agent.id` too");
    assert!(h.journal().is_empty());
}

#[tokio::test]
async fn set_env_is_shown_in_the_plan_and_deployed() {
    let h = Harness::start_staging(staging_world().build()).await;
    let args = [
        "--env",
        "staging",
        "--set-env",
        "LOG_LEVEL=DEBUG",
        "--set-env",
        "FEATURE_X=a=b",
    ];
    let plan = h.run(&[&["plan"][..], &args[..]].concat()).await;
    assert_eq!(plan.code, 0, "{}", plan.all());
    plan.assert_all_contains("env `LOG_LEVEL` comes from --set-env");
    plan.assert_all_contains("env `FEATURE_X` comes from --set-env");
    let run = h.run(&[&["deploy"][..], &args[..]].concat()).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let env = deployed_env(&h);
    assert!(has(&env, "LOG_LEVEL", "DEBUG"), "{env:?}");
    assert!(has(&env, "FEATURE_X", "a=b"), "{env:?}");
}

#[tokio::test]
async fn set_env_refuses_what_the_config_would_refuse_and_sends_nothing() {
    let h = Harness::start_staging(staging_world().build()).await;
    for (arg, says) in [
        ("GITHUB_TOKEN=x", "looks like a credential"),
        ("SRE_AGENT_ENCRYPTION_KEY=x", "encryption key's variable"),
        ("GOOGLE_CLIENT_ID=x", "`service.secrets` sets it"),
        ("PORT=1", "reserved"),
    ] {
        for cmd in ["plan", "deploy"] {
            let run = h.run(&[cmd, "--env", "staging", "--set-env", arg]).await;
            assert_eq!(run.code, 2, "{arg}: {}", run.all());
            run.assert_stderr_contains(says);
            assert!(!run.all().contains("=x"), "{}", run.all());
        }
    }
    assert!(h.journal().is_empty());
    let run = h
        .run(&["deploy", "--env", "staging", "--set-env", "NOEQUALS"])
        .await;
    assert_eq!(run.code, 2, "{}", run.all());
}

#[tokio::test]
async fn deploy_prints_the_console_link_to_the_revisions() {
    let h = Harness::start_staging(staging_world().build()).await;
    let link = "https://console.cloud.google.com/run/detail/us-central1/autosre/revisions?project=acme-sre-staging";
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    run.assert_stderr_contains(&format!("Revisions in the Console: {link}"));
    let run = h
        .run(&[
            "deploy",
            "--env",
            "staging",
            "--set-env",
            "A=1",
            "--output",
            "json",
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["console_url"], link);
}

/// `plan --set-env ... --out F` records the overrides in the saved plan and
/// `deploy --plan F` applies exactly them; the plan file's digest covers them,
/// and a credential-like name (allowed as plain) is never saved.
#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_carries_its_set_env_overrides() {
    let h = Harness::start_staging(staging_world().build()).await;
    let file = h.dir.path().join("staging.plan.json");
    let file_s = file.to_str().unwrap();
    let run = h
        .run(&[
            "plan",
            "--env",
            "staging",
            "--set-env",
            "LOG_LEVEL=DEBUG",
            "--out",
            file_s,
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.all());
    run.assert_all_contains("env `LOG_LEVEL` comes from --set-env");
    let text = std::fs::read_to_string(&file).unwrap();
    let saved: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        saved["set_env"],
        serde_json::json!([{"name": "LOG_LEVEL", "value": "DEBUG"}])
    );

    // The overrides are part of the file's integrity check.
    let edited = file.with_extension("edited.json");
    std::fs::write(&edited, text.replace("\"DEBUG\"", "\"TRACE\"")).unwrap();
    let run = h.run(&["deploy", "--plan", edited.to_str().unwrap()]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains("was edited after it was made");
    assert!(h.writes().is_empty(), "{:?}", h.write_rpcs());

    // `--set-env` next to `--plan` is a usage error: the plan carries its own.
    let run = h
        .run(&["deploy", "--plan", file_s, "--set-env", "LOG_LEVEL=INFO"])
        .await;
    assert_eq!(run.code, 2, "{}", run.all());

    let run = h.run(&["deploy", "--plan", file_s]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(has(&deployed_env(&h), "LOG_LEVEL", "DEBUG"));

    // A credential-like name the config allows as plain is refused for a
    // saved plan, and its value is written nowhere.
    let yaml = staging().replace(
        "  env:\n",
        "  plain_env_allow: [TRACE_TOKEN]\n  env:\n    TRACE_TOKEN: plain\n",
    );
    h.write_config("staging", &yaml);
    let out = h.dir.path().join("token.plan.json");
    let run = h
        .run(&[
            "plan",
            "--env",
            "staging",
            "--set-env",
            "TRACE_TOKEN=not-secret-7",
            "--out",
            out.to_str().unwrap(),
        ])
        .await;
    assert_eq!(run.code, 2, "{}", run.all());
    run.assert_stderr_contains("a saved plan never holds such a value");
    assert!(!run.all().contains("not-secret-7"), "{}", run.all());
    assert!(!out.exists());
}
