//! The plan never holds a value it must not show: a plain credential in the
//! live service, or a credential-named value of the config.

use super::*;

/// The usual migration: an older deploy set the key as a plain env var, the
/// config now takes it from Secret Manager. The plan must show that it
/// changes, never the value, and warn that it sat in plain text.
#[test]
fn a_plain_credential_in_the_live_service_is_never_shown() {
    const VALUE: &str = "the-live-plain-key-value";
    let env = env();
    let mut s = deployed(&env);
    let template: &mut RevisionTemplate = s.template.as_mut().unwrap();
    let c: &mut Container = &mut template.containers[0];
    c.env.retain(|e| e.name != "SRE_AGENT_ENCRYPTION_KEY");
    c.env.push(
        EnvVar::new()
            .set_name("SRE_AGENT_ENCRYPTION_KEY")
            .set_value(VALUE),
    );
    let mut live = live();
    live.service = Some(s);
    let plan = compute(&env, &deploy(), &live);
    let json = serde_json::to_string(&plan).unwrap();
    assert!(!json.contains(VALUE), "{json}");
    let f = &plan.service.as_ref().unwrap().fields[0];
    assert_eq!(f.field, "env.SRE_AGENT_ENCRYPTION_KEY");
    assert_eq!(
        f.before.as_deref(),
        Some(service::Sensitive::of(VALUE).to_string().as_str())
    );
    assert!(
        f.before
            .as_deref()
            .unwrap()
            .starts_with("(sensitive, 24 bytes, sha256 ")
    );
    assert_eq!(
        plan.warnings.iter().map(|w| w.kind).collect::<Vec<_>>(),
        [WarningKind::PlainCredentialInLiveService]
    );
}

/// A credential-named plain value in the config itself (`DB_PASSWORD:
/// hunter2`) is in the plan only redacted, in the diff and in `desired`.
#[test]
fn a_credential_named_config_value_is_redacted_in_the_plan() {
    let env = env_from(&format!(
        "project: {PROJECT}
service:
  service_account: {SA}
  plain_env_allow: [DB_PASSWORD]
  env:
    DB_PASSWORD: hunter2
  secrets:
    SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key
"
    ))
    .clone();
    let plan = compute(&env, &deploy(), &live());
    let json = serde_json::to_string(&plan).unwrap();
    assert!(!json.contains("hunter2"), "{json}");
    // What is sent is the real value, never shown by its Debug.
    let to_send = computed(&env, &deploy(), &live()).to_send.unwrap();
    assert!(!format!("{to_send:?}").contains("hunter2"));
    let sent = service::view_of(to_send.service(), &[PROJECT]);
    assert_eq!(sent.env["DB_PASSWORD"], EnvValue::Plain("hunter2".into()));
    assert_eq!(sent.redacted(), plan.service.unwrap().desired);
}
