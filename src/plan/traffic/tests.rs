use super::*;

fn t(revision: Option<&str>, percent: i32, tag: Option<&str>) -> Target {
    Target {
        revision: revision.map(str::to_string),
        percent,
        tag: tag.map(str::to_string),
    }
}

fn live(targets: &[Target], latest_ready: &str) -> Service {
    Service::new()
        .set_traffic(to_api(targets))
        .set_latest_ready_revision(format!(
            "projects/p/locations/r/services/s/revisions/{latest_ready}"
        ))
}

#[test]
fn an_empty_split_is_all_to_latest() {
    assert_eq!(requested(&Service::new()), [t(None, 100, None)]);
}

#[test]
fn no_traffic_moves_latest_onto_the_serving_revision_by_name_and_keeps_its_tag() {
    let s = live(&[t(None, 100, Some("live"))], "a-1");
    let out = for_deploy(Some(&s), DeployTraffic::None, Some(("canary", "a-2"))).unwrap();
    assert_eq!(
        out,
        [
            t(Some("a-1"), 100, None),
            t(None, 0, Some("live")),
            t(Some("a-2"), 0, Some("canary"))
        ]
    );
    assert_eq!(latest_percent(&out), 0);
    assert!(for_deploy(None, DeployTraffic::None, None).is_err());
}

#[test]
fn a_tag_moves_to_the_new_revision() {
    let s = live(
        &[t(None, 100, None), t(Some("a-1"), 0, Some("canary"))],
        "a-1",
    );
    let out = for_deploy(Some(&s), DeployTraffic::Keep, Some(("canary", "a-2"))).unwrap();
    assert_eq!(out, [t(None, 100, None), t(Some("a-2"), 0, Some("canary"))]);
}

#[test]
fn latest_restores_all_to_latest_and_keeps_tags() {
    let s = live(
        &[
            t(Some("a-1"), 90, None),
            t(None, 10, None),
            t(Some("a-0"), 0, Some("old")),
        ],
        "a-2",
    );
    let out = for_deploy(Some(&s), DeployTraffic::Latest, None).unwrap();
    assert_eq!(out, [t(None, 100, None), t(Some("a-0"), 0, Some("old"))]);
    // Keep: the new revision gets LATEST's 10%.
    let kept = for_deploy(Some(&s), DeployTraffic::Keep, None).unwrap();
    assert_eq!(latest_percent(&kept), 10);
}

#[test]
fn promote_10_50_100_ends_at_latest() {
    let start = [t(Some("a-1"), 100, None), t(Some("a-2"), 0, Some("canary"))];
    let ten = give(&start, "a-2", 10, "a-2");
    assert_eq!(
        ten,
        [t(Some("a-2"), 10, Some("canary")), t(Some("a-1"), 90, None)]
    );
    let fifty = give(&ten, "a-2", 50, "a-2");
    assert_eq!(
        fifty,
        [t(Some("a-2"), 50, Some("canary")), t(Some("a-1"), 50, None)]
    );
    let all = give(&fifty, "a-2", 100, "a-2");
    assert_eq!(all, [t(None, 100, None), t(Some("a-2"), 0, Some("canary"))]);
}

#[test]
fn the_rest_is_rescaled_in_proportion_and_totals_100() {
    let start = [
        t(Some("a"), 50, None),
        t(Some("b"), 30, None),
        t(Some("c"), 20, None),
    ];
    let out = give(&start, "d", 33, "c");
    assert_eq!(out.iter().map(|t| t.percent).sum::<i32>(), 100);
    assert_eq!(out[0], t(Some("d"), 33, None));
}

#[test]
fn rollback_to_an_older_revision_pins_it() {
    let start = [t(None, 100, None)];
    assert_eq!(give(&start, "a-1", 100, "a-2"), [t(Some("a-1"), 100, None)]);
}

#[test]
fn tags_are_checked_against_cloud_runs_limit() {
    assert!(check_tag("canary", "autosre").is_ok());
    // 7 + 39 = 46: allowed; 47: refused.
    assert!(check_tag(&"t".repeat(39), "autosre").is_ok());
    assert!(check_tag(&"t".repeat(40), "autosre").is_err());
    assert!(check_tag("Canary", "autosre").is_err());
    assert!(check_tag("-x", "autosre").is_err());
}

#[test]
fn serving_resolves_latest_and_reads_tag_urls() {
    let s = Service::new()
        .set_latest_ready_revision("projects/p/locations/r/services/s/revisions/a-2")
        .set_traffic_statuses([
            TrafficTargetStatus::new()
                .set_type(T::Latest)
                .set_percent(100),
            TrafficTargetStatus::new()
                .set_type(T::Revision)
                .set_revision("a-1")
                .set_tag("old")
                .set_uri("https://old---s-x.a.run.app"),
        ]);
    let shares = serving(&s);
    assert_eq!(shares[0].revision, "a-2");
    assert!(shares[0].latest);
    assert_eq!(
        shares[1].url.as_deref(),
        Some("https://old---s-x.a.run.app")
    );
    assert_eq!(serving_revisions(&shares), ["a-2"]);
}
