//! `--output json` over several targets of the commands that check them one
//! after the other (`check`, `secrets status`, `key check`): one document,
//! each target's own under `targets`, as `plan` and `deploy` print theirs.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn checks_of_several_targets_print_one_json_document() {
    let h = Harness::start(staging_world().build()).await;
    h.write_config("staging", &two_regions());
    h.write_config(
        "broken",
        &staging().replace("acme-sre-staging", "acme-sre-missing"),
    );
    for args in [
        &["check", "--all", "--output", "json"][..],
        &["secrets", "status", "--all", "--output", "json"],
        &["key", "check", "--all", "--output", "json"],
    ] {
        let run = h.run(args).await;
        run.assert_code(1);
        let doc = json(&run);
        let targets = doc["targets"].as_array().unwrap_or_else(|| panic!("{doc}"));
        let names: Vec<&str> = targets
            .iter()
            .map(|t| t["target"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "broken/us-central1",
                "staging/us-central1",
                "staging/europe-west1"
            ],
            "{args:?}"
        );
        // The failed target says why; the others carry their own document.
        assert!(
            targets[0]["error"]["message"].is_string(),
            "{args:?}: {doc}"
        );
        assert!(targets[1].get("error").is_none(), "{args:?}: {doc}");
        assert!(targets[1].as_object().unwrap().len() > 1, "{args:?}: {doc}");
    }
    assert!(h.writes().is_empty());
}
