//! `autosre-deploy grant --env example` leaves the same bindings as the old
//! `grant_permissions.py`, replayed with the real gcloud CLI (see [`crate::scripts`]).
//! What each costs (requests, writes, sequential round trips) is a measurement, not a test:
//! `cargo bench --bench deploy` (docs/performance.md).

use std::collections::BTreeSet;

use crate::harness::*;
use crate::scripts::replay_grant_script;

/// Every unconditional (role, member) of a policy.
fn bindings(h: &Harness, resource: &str) -> BTreeSet<(String, String)> {
    let p = h
        .emulator
        .policy(resource)
        .unwrap_or_else(|| panic!("{resource}"));
    p.bindings
        .iter()
        .filter(|b| b.condition.is_none())
        .flat_map(|b| b.members.iter().map(|m| (b.role.clone(), m.clone())))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn grant_leaves_the_same_policies_as_the_script() {
    let old = Harness::start(example_world(NUMBER).build()).await;
    replay_grant_script(&old);
    // The script starts as it did, with `gcloud projects describe` (Resource Manager v1
    // `projects.get`), served by the emulator.
    let first = old
        .journal()
        .into_iter()
        .next()
        .expect("the script sent requests");
    assert_eq!(
        (first.rpc.as_str(), first.status),
        ("cloudresourcemanager.projects.get", 200),
        "{first:?}"
    );

    let new = Harness::start(example_world(NUMBER).build()).await;
    new.write_config("example", &repo_config("example"));
    let run = new.run(&["grant", "--env", "example"]).await;
    assert_eq!(run.code, 0, "{}", run.all());

    let sa = default_compute_account(NUMBER);
    for resource in [
        format!("projects/{EXAMPLE_PROJECT}"),
        format!("projects/{EXAMPLE_PROJECT}/serviceAccounts/{sa}"),
    ] {
        assert_eq!(
            bindings(&old, &resource),
            bindings(&new, &resource),
            "{resource}"
        );
    }
    let project = bindings(&new, &format!("projects/{EXAMPLE_PROJECT}"));
    for role in SCRIPT_PROJECT_ROLES {
        assert!(
            project.contains(&(role.to_string(), format!("serviceAccount:{sa}"))),
            "{role}"
        );
    }
}
