//! World files: whatever the emulator cannot start from is a `WorldError` from
//! `World::from_yaml` / `World::check`, never a panic in `Emulator::try_new` (the sandbox
//! turns the error into exit 2).

use autosre_emulator::{Emulator, Options, World, WorldError};
use serde_json::json;

fn refused(yaml: &str) -> String {
    match World::from_yaml(yaml) {
        Err(WorldError::Invalid(m)) => m,
        other => panic!("expected an inconsistent world, got {other:?}"),
    }
}

#[test]
fn a_member_without_a_type_prefix_is_a_world_error() {
    let m = refused(
        "projects:\n  - id: acme\n    number: 1\n    iam:\n      - role: roles/owner\n        members: [alice@example.com]\n",
    );
    assert!(m.contains("project `acme`"), "{m}");
    assert!(m.contains("<type>:<value>"), "{m}");
}

#[test]
fn a_service_cloud_run_would_refuse_is_a_world_error() {
    let m = refused(
        "projects:\n  - id: acme\n    number: 1\n    services:\n      - region: us-central1\n        service: {name: api, template: {containers: []}}\n",
    );
    assert!(m.contains("service 1"), "{m}");
    let m = refused(
        "projects:\n  - id: acme\n    number: 1\n    services:\n      - region: us-central1\n        service: {name: Bad_Name, template: {containers: [{image: x}]}}\n",
    );
    assert!(m.contains("Invalid service id"), "{m}");
}

#[test]
fn a_binding_on_a_missing_resource_is_refused_by_check_and_try_new() {
    let world = World::builder()
        .project("acme", 1)
        .binding_on(
            "projects/acme/secrets/nope",
            "roles/viewer",
            "user:a@example.com",
        )
        .build();
    assert!(matches!(world.check(), Err(WorldError::Invalid(_))));
    assert!(Emulator::try_new(world, Options::default()).is_err());
}

#[test]
fn a_world_that_checks_starts() {
    let world = World::builder()
        .project("acme", 1)
        .service(
            "acme",
            "us-central1",
            json!({"name": "api", "template": {"containers": [{"image": "x/y:1"}]}}),
        )
        .build();
    world.check().unwrap();
    Emulator::try_new(world, Options::default()).unwrap();
}
