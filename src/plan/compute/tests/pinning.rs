//! Secret version pinning (`service.pin_secret_versions`, issue 9 §4): the
//! plan deploys the number `latest` or an alias resolves to, a new version is
//! a one-line change, and opting out keeps the reference with a warning for
//! an unpinned encryption key.

use super::*;
use crate::plan::service::{EnvValue, Op};

fn latest(secret: &str) -> VersionRef {
    VersionRef {
        id: SecretId {
            project: PROJECT.into(),
            secret: secret.into(),
        },
        version: "latest".into(),
    }
}

/// `live()` with `gemini-api-key` at version `n`.
fn gemini_at(n: u32) -> LiveState {
    let mut live = live();
    live.versions.insert(
        latest("gemini-api-key"),
        Some(version("gemini-api-key", n, VersionState::Enabled)),
    );
    live
}

fn secret_env(view: &ServiceView, var: &str) -> EnvValue {
    view.env[var].clone()
}

#[test]
fn latest_is_deployed_as_the_number_it_resolves_to() {
    let env = super::env();
    let plan = compute(&env, &deploy(), &gemini_at(7));
    let c = &plan.preflight.secrets[0];
    assert_eq!(
        (c.secret.as_str(), c.version.as_str()),
        ("gemini-api-key", "latest")
    );
    assert_eq!(c.resolved.as_deref(), Some("7"));
    assert_eq!(c.pinned.as_deref(), Some("7"));
    let svc = plan.service.as_ref().unwrap();
    assert_eq!(
        secret_env(&svc.desired, "GOOGLE_API_KEY"),
        EnvValue::Secret {
            secret: "gemini-api-key".into(),
            version: "7".into()
        }
    );
    // What deploy sends (with the plan's pins) is what the plan shows.
    assert_eq!(sent_view(&env, &gemini_at(7)).redacted(), svc.desired);
    assert_eq!(pins(&plan)["SRE_AGENT_ENCRYPTION_KEY"], "1");
}

#[test]
fn a_new_version_is_a_one_line_change_and_a_new_revision() {
    let env = super::env();
    let mut live = gemini_at(7);
    live.service = Some(deployed_against(&env, &live));
    let same = compute(&env, &deploy(), &live);
    assert_eq!(same.service.as_ref().unwrap().action, ServiceAction::None);

    live.versions.insert(
        latest("gemini-api-key"),
        Some(version("gemini-api-key", 8, VersionState::Enabled)),
    );
    let plan = compute(&env, &deploy(), &live);
    let svc = plan.service.as_ref().unwrap();
    assert_eq!(svc.action, ServiceAction::Update);
    assert!(svc.new_revision);
    assert_eq!(svc.fields.len(), 1, "{:#?}", svc.fields);
    let f = &svc.fields[0];
    assert_eq!((f.field.as_str(), f.op), ("env.GOOGLE_API_KEY", Op::Change));
    assert_eq!(f.before.as_deref(), Some("secret gemini-api-key:7"));
    assert_eq!(f.after.as_deref(), Some("secret gemini-api-key:8"));
}

#[test]
fn an_alias_is_pinned_like_latest_and_a_number_is_kept() {
    let env = env_from(&format!(
        "project: {PROJECT}
service:
  service_account: {SA}
  secrets:
    GOOGLE_API_KEY: gemini-api-key:current
    SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key:1
"
    ));
    let mut live = live();
    live.versions.clear();
    let mut r = latest("gemini-api-key");
    r.version = "current".into();
    live.versions
        .insert(r, Some(version("gemini-api-key", 4, VersionState::Enabled)));
    let mut k = latest("sre-agent-encryption-key");
    k.version = "1".into();
    live.versions.insert(
        k,
        Some(version(
            "sre-agent-encryption-key",
            1,
            VersionState::Enabled,
        )),
    );
    let plan = compute(&env, &deploy(), &live);
    let pins = pins(&plan);
    assert_eq!(pins.get("GOOGLE_API_KEY").map(String::as_str), Some("4"));
    // A number is deployed as written: nothing to pin.
    assert_eq!(pins.get("SRE_AGENT_ENCRYPTION_KEY"), None);
    let key = preflight::check_for_env(&plan.preflight.secrets, "SRE_AGENT_ENCRYPTION_KEY");
    assert_eq!(key.unwrap().resolved.as_deref(), Some("1"));
}

#[test]
fn opting_out_keeps_latest_and_warns_about_an_unpinned_key() {
    let yaml = |max: u32| {
        format!(
            "project: {PROJECT}
service:
  service_account: {SA}
  max_instances: {max}
  pin_secret_versions: false
  secrets:
    GOOGLE_API_KEY: gemini-api-key
    SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key
"
        )
    };
    let env = env_from(&yaml(3));
    let plan = compute(&env, &deploy(), &gemini_at(7));
    assert!(pins(&plan).is_empty());
    assert_eq!(
        secret_env(&plan.service.as_ref().unwrap().desired, "GOOGLE_API_KEY"),
        EnvValue::Secret {
            secret: "gemini-api-key".into(),
            version: "latest".into()
        }
    );
    let kinds: Vec<_> = plan.warnings.iter().map(|w| w.kind).collect();
    assert_eq!(kinds, [WarningKind::EncryptionKeyUnpinned]);
    // One instance cannot disagree with itself.
    let one = compute(&env_from(&yaml(1)), &deploy(), &gemini_at(7));
    assert!(one.warnings.is_empty(), "{:?}", one.warnings);
    // Pinning on: no warning.
    assert!(
        compute(&super::env(), &deploy(), &gemini_at(7))
            .warnings
            .is_empty()
    );
}

#[test]
fn an_unresolved_reference_is_deployed_as_written() {
    let env = super::env();
    let mut live = live();
    live.versions.insert(latest("gemini-api-key"), None);
    let plan = compute(&env, &deploy(), &live);
    assert_eq!(plan.preflight.secrets[0].pinned, None);
    assert_eq!(pins(&plan).get("GOOGLE_API_KEY"), None);
}

/// The live service a deploy against `live` leaves.
fn deployed_against(env: &Environment, live: &LiveState) -> Service {
    let pins = pins(&compute(env, &deploy(), live));
    let view = desired_view(env, IMAGE, SA, &pins);
    service::apply_view(None, &service_name(env), &view)
}
