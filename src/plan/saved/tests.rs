//! Staleness is judged by what a plan read and the service it would send,
//! never by the plan's words.

use super::*;
use crate::plan::fixtures::{IMAGE, PROJECT, SA, add_secret, env_from, policy, with_account};
use crate::plan::{Options, Target, compute};

fn env() -> crate::config::Environment {
    env_from(&format!(
        "project: {PROJECT}
service:
  service_account: {SA}
  env:
    LOG_LEVEL: INFO
  secrets:
    SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key
"
    ))
}

/// The key secret exists with version 1 enabled; the account exists; no
/// service yet.
fn live(secret_etag: &'static [u8]) -> LiveState {
    let mut live = with_account(SA, None);
    add_secret(
        &mut live,
        PROJECT,
        "sre-agent-encryption-key",
        policy(secret_etag, vec![]),
    );
    live
}

/// The plan `plan --set-env LOG_LEVEL=DEBUG` computes against `live`.
fn planned(image: &str, live: LiveState) -> Planned {
    let options = Options {
        set_env: vec!["LOG_LEVEL".into()],
        ..Options::of(Target::deploy(image))
    };
    let computed = compute::on_fixture(&env(), &options, &live);
    Planned {
        plan: computed.plan,
        to_send: computed.to_send,
        live,
    }
}

#[test]
fn a_warning_worded_otherwise_does_not_make_a_plan_stale() {
    let then = planned(IMAGE, live(b"e1"));
    let saved = SavedPlan::new(&then, IMAGE, &[], "config".into());
    // The same reads, the plan's words changed (a newer wording of the same
    // warning): a whole-plan comparison would call it stale.
    let mut now = planned(IMAGE, live(b"e1"));
    assert!(!now.plan.warnings.is_empty());
    for w in &mut now.plan.warnings {
        w.message = format!("reworded: {}", w.message);
    }
    assert_ne!(saved.plan, now.plan);
    assert_eq!(drift(&saved.reads, &Reads::of(&now)), Vec::<String>::new());
}

#[test]
fn a_changed_policy_etag_or_service_to_send_makes_it_stale() {
    let then = Reads::of(&planned(IMAGE, live(b"e1")));
    let etag = drift(&then, &Reads::of(&planned(IMAGE, live(b"e2"))));
    assert_eq!(etag.len(), 1, "{etag:?}");
    assert!(etag[0].contains("IAM policy of secret"), "{etag:?}");

    let other = drift(&then, &Reads::of(&planned("x/y:2", live(b"e1"))));
    assert_eq!(other.len(), 1, "{other:?}");
    assert!(
        other[0].contains("the service the deploy would send"),
        "{other:?}"
    );
}

/// The digest of the service to send does not depend on the order its maps
/// iterate in.
#[test]
fn the_service_digest_is_stable() {
    let a = Reads::of(&planned(IMAGE, live(b"e1")));
    for _ in 0..5 {
        assert_eq!(a, Reads::of(&planned(IMAGE, live(b"e1"))));
    }
    assert!(a.service_sha256.is_some());
}
