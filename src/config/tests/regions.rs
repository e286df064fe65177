//! `regions:` instead of `region:`: one environment per region, with what differs there.

use super::*;

const TWO: &str = "regions:\n  - us-central1\n  - europe-west1:\n      min_instances: 1\n      env:\n        LOG_LEVEL: DEBUG\n";

#[test]
fn regions_expand_into_one_environment_each_with_its_overrides() {
    let env = parse_text(&example_with("region: us-central1\n", TWO)).unwrap();
    let targets = env.targets();
    let regions: Vec<String> = targets.iter().map(|t| t.region.to_string()).collect();
    assert_eq!(regions, ["us-central1", "europe-west1"]);
    assert_eq!(targets[0].service.min_instances, 0);
    assert_eq!(targets[0].service.env["LOG_LEVEL"], "INFO");
    assert_eq!(targets[1].service.min_instances, 1);
    assert_eq!(targets[1].service.env["LOG_LEVEL"], "DEBUG");
    // What is shared stays shared.
    assert_eq!(targets[0].service.image, targets[1].service.image);
    assert!(targets.iter().all(|t| t.regions.is_empty()));
}

#[test]
fn a_single_region_file_is_one_target_unchanged() {
    let env = parse_text(EXAMPLE).unwrap();
    assert!(env.regions.is_empty());
    assert_eq!(env.targets(), vec![env.clone()]);
}

#[test]
fn region_and_regions_together_are_refused() {
    let text = example_with(
        "region: us-central1\n",
        "region: us-central1\nregions: [europe-west1]\n",
    );
    assert_error(
        &text,
        "config/prod.yaml:3:10: regions: `region` and `regions` are both set",
        "delete `region`",
    );
}

#[test]
fn bad_region_entries_name_their_line() {
    assert_error(
        &example_with(
            "region: us-central1\n",
            "regions: [us-central1, europe-wset1]\n",
        ),
        "config/prod.yaml:2:24: regions[1]: unknown region `europe-wset1`: Cloud Run does not run there",
        "europe-west1",
    );
    assert_error(
        &example_with(
            "region: us-central1\n",
            "regions: [us-central1, us-central1]\n",
        ),
        "config/prod.yaml:2:24: regions[1]: `us-central1` is listed twice",
        "once",
    );
    assert_error(
        &example_with("region: us-central1\n", "regions: []\n"),
        "config/prod.yaml:2:10: regions: `regions` lists no region",
        "at least one",
    );
}

#[test]
fn overrides_follow_the_shared_rules() {
    let too_many = "regions:\n  - europe-west1:\n      min_instances: 11\n";
    assert_error(
        &example_with("region: us-central1\n", too_many),
        "config/prod.yaml:4:22: regions[0].europe-west1.min_instances: min_instances (11) is greater than service.max_instances (10)",
        "max_instances",
    );
    let key = "regions:\n  - europe-west1:\n      env:\n        SRE_AGENT_ENCRYPTION_KEY: x\n";
    let (shown, _) = error_of(&example_with("region: us-central1\n", key));
    assert!(
        shown.contains("regions[0].europe-west1.env.SRE_AGENT_ENCRYPTION_KEY"),
        "{shown}"
    );
    assert!(!shown.contains(": x"), "{shown}");
    let unknown = "regions:\n  - europe-west1:\n      memory: 1Gi\n";
    let (shown, _) = error_of(&example_with("region: us-central1\n", unknown));
    assert!(shown.contains("memory"), "{shown}");
}
