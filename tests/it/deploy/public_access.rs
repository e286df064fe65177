//! Public access: `service.allow_unauthenticated` is Cloud Run's `invokerIamDisabled`, and an
//! `allUsers` binding an older deploy left behind goes when the service is private.

use crate::harness::*;

/// Public access is Cloud Run's invokerIamDisabled, not an allUsers binding:
/// it works where an organisation policy (domain-restricted sharing) refuses
/// allUsers, as this world's project does.
#[tokio::test(flavor = "multi_thread")]
async fn allow_unauthenticated_makes_the_service_public_and_back() {
    let h = Harness::start(staging_world().domain_restricted_sharing(PROJECT).build()).await;
    let public = staging().replace(
        "allow_unauthenticated: false",
        "allow_unauthenticated: true",
    );
    h.write_config("staging", &public);
    let run = h.run(&["deploy", "--env", "staging"]).await;
    run.assert_code(0);
    let invoker_iam_disabled =
        |h: &Harness| h.emulator.service(SERVICE).unwrap()["invokerIamDisabled"] == true;
    let all_users = |h: &Harness| {
        h.emulator
            .policy(SERVICE)
            .map(|p| {
                p.bindings.iter().any(|b| {
                    b.role == "roles/run.invoker" && b.members.contains(&"allUsers".to_string())
                })
            })
            .unwrap_or(false)
    };
    assert!(invoker_iam_disabled(&h), "public without IAM");
    assert!(!all_users(&h), "no allUsers binding");
    assert!(
        !h.write_rpcs()
            .iter()
            .any(|r| r.ends_with("services.setIamPolicy")),
        "the service's policy is not touched"
    );

    h.write_config("staging", &staging());
    h.emulator.clear_journal();
    let run = h.run(&["deploy", "--env", "staging"]).await;
    run.assert_code(0);
    assert!(!invoker_iam_disabled(&h), "private again");
    assert_eq!(h.write_rpcs(), ["run.projects.locations.services.patch"]);
}

/// A service the old script made public with an allUsers binding loses it
/// when the config says private.
#[tokio::test(flavor = "multi_thread")]
async fn an_old_allusers_binding_is_removed_when_the_service_is_private() {
    let h = Harness::start_staging(staging_world().build()).await;
    let run = h.run(&["deploy", "--env", "staging"]).await;
    run.assert_code(0);
    h.emulator
        .with_state(|st| st.add_binding(SERVICE, "roles/run.invoker", "allUsers"));
    h.emulator.clear_journal();
    let run = h.run(&["deploy", "--env", "staging"]).await;
    run.assert_code(0);
    assert_eq!(
        h.write_rpcs(),
        ["run.projects.locations.services.setIamPolicy"]
    );
    let p = h.emulator.policy(SERVICE).unwrap();
    assert!(
        p.bindings
            .iter()
            .all(|b| !b.members.contains(&"allUsers".to_string()))
    );
}
