//! End-to-end: `iap:` puts Identity-Aware Proxy in front of the service (Cloud Run's
//! `iapEnabled`), lets IAP's service agent invoke it and grants each member
//! `roles/iap.httpsResourceAccessor` on the service's IAP resource through IAP v1, in the
//! same plan as everything else. Add-only unless `iap.exclusive: true`.

use crate::harness::*;

/// The service's IAP resource, named by project number as IAP names it.
fn iap_resource() -> String {
    format!("projects/{NUMBER}/iap_web/cloud_run-us-central1/services/autosre")
}

const ACCESSOR: &str = "roles/iap.httpsResourceAccessor";

/// `config/staging.yaml` with an `iap:` section.
fn with_iap(members: &[&str], exclusive: bool) -> String {
    format!(
        "{}iap:\n  members: [{}]\n  exclusive: {exclusive}\n",
        staging(),
        members.join(", ")
    )
}

/// The members of `role` on the IAP resource, sorted.
fn members(h: &Harness, role: &str) -> Vec<String> {
    let p = h.emulator.policy(&iap_resource()).expect("IAP resource");
    let mut m: Vec<String> = p
        .bindings
        .iter()
        .filter(|b| b.role == role && b.condition.is_none())
        .flat_map(|b| b.members.clone())
        .collect();
    m.sort();
    m
}

/// IAP's service agent holds `roles/run.invoker` on the service.
fn agent_may_invoke(h: &Harness) -> bool {
    let agent = format!("serviceAccount:service-{NUMBER}@gcp-sa-iap.iam.gserviceaccount.com");
    h.emulator.policy(SERVICE).is_some_and(|p| {
        p.bindings
            .iter()
            .any(|b| b.role == "roles/run.invoker" && b.members.contains(&agent))
    })
}

fn iap_writes(h: &Harness) -> usize {
    h.write_rpcs()
        .iter()
        .filter(|r| r.as_str() == "iap.setIamPolicy")
        .count()
}

/// A first deploy with `iap:`, then the emulator's journal cleared.
async fn deployed(members: &[&str]) -> Harness {
    let h = Harness::start_staging(staging_world().build()).await;
    h.write_config("staging", &with_iap(members, false));
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    h.emulator.clear_journal();
    h
}

#[tokio::test(flavor = "multi_thread")]
async fn members_are_granted_iap_is_enabled_and_its_agent_may_invoke() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.write_config(
        "staging",
        &with_iap(&["group:sre@example.com", "user:alice@example.com"], false),
    );
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());

    assert_eq!(h.emulator.service(SERVICE).unwrap()["iapEnabled"], true);
    assert_eq!(
        members(&h, ACCESSOR),
        ["group:sre@example.com", "user:alice@example.com"]
    );
    // IAP's service agent invokes the service (what gcloud's `--iap` grants).
    assert!(agent_may_invoke(&h), "{:?}", h.emulator.policy(SERVICE));
    // One read-modify-write of the IAP policy, after the service exists (its
    // IAP resource exists only with it), with no update mask.
    let j = h.journal();
    let create = j
        .iter()
        .position(|e| e.rpc == "run.projects.locations.services.create")
        .unwrap();
    let set = j.iter().position(|e| e.rpc == "iap.setIamPolicy").unwrap();
    assert!(create < set, "the IAP grant follows the service's creation");
    assert_eq!(iap_writes(&h), 1);
    assert!(run.stdout.contains(&iap_resource()) || run.stderr.contains("IAP"));

    // A second deploy of the same config writes nothing at all.
    h.emulator.clear_journal();
    let again = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(again.code, 0, "{}", again.all());
    assert_eq!(h.write_rpcs(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn members_no_longer_listed_stay_unless_exclusive() {
    let h = deployed(&["user:alice@example.com", "user:bob@example.com"]).await;

    // Add-only (the default, as deploy_web.py was): bob stays, nothing is written.
    h.write_config("staging", &with_iap(&["user:alice@example.com"], false));
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(iap_writes(&h), 0);
    assert_eq!(
        members(&h, ACCESSOR),
        ["user:alice@example.com", "user:bob@example.com"]
    );

    // Exclusive: the plan shows bob's removal, and the deploy makes it.
    h.write_config("staging", &with_iap(&["user:alice@example.com"], true));
    let plan = h
        .run(&["plan", "--env", "staging", "--output", "json"])
        .await;
    assert_eq!(plan.code, 0, "{}", plan.all());
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let change = json["iam"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["resource"]["kind"] == "iap_web")
        .expect("an IAP change in the plan");
    assert_eq!(
        change["remove"],
        serde_json::json!([{"role": ACCESSOR, "member": "user:bob@example.com"}])
    );
    assert_eq!(change["add"], serde_json::json!([]));
    let human = h.run(&["plan", "--env", "staging"]).await;
    assert!(
        human.stdout.contains("user:bob@example.com"),
        "{}",
        human.all()
    );

    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(members(&h, ACCESSOR), ["user:alice@example.com"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn bindings_on_other_roles_are_never_lost() {
    let h = deployed(&["user:alice@example.com"]).await;
    h.emulator.with_state(|st| {
        st.add_binding(&iap_resource(), "roles/iap.admin", "user:admin@example.com")
    });
    // Exclusive removes accessors only; another role's binding is kept.
    h.write_config("staging", &with_iap(&["user:carol@example.com"], true));
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(iap_writes(&h), 1);
    assert_eq!(members(&h, ACCESSOR), ["user:carol@example.com"]);
    assert_eq!(members(&h, "roles/iap.admin"), ["user:admin@example.com"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_concurrent_change_to_the_iap_policy_is_retried_and_kept() {
    let h = deployed(&["user:alice@example.com"]).await;
    h.write_config(
        "staging",
        &with_iap(&["user:alice@example.com", "user:dave@example.com"], false),
    );
    // Just before our write someone else edits the IAP policy: our etag is
    // stale, Google answers 409 ABORTED, and the whole read-modify-write is redone.
    let resource = iap_resource();
    h.emulator
        .before_request("POST", "/services/autosre:setIamPolicy", move |state| {
            state.add_binding(&resource, ACCESSOR, "user:concurrent@example.com");
        });
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let conflicts = h
        .journal()
        .into_iter()
        .filter(|e| e.rpc == "iap.setIamPolicy" && e.status == 409)
        .count();
    assert_eq!(conflicts, 1, "one write hit the stale etag");
    let sets = h
        .journal()
        .into_iter()
        .filter(|e| e.rpc == "iap.setIamPolicy")
        .count();
    assert_eq!(sets, 2, "the conflict, then the redone read-modify-write");
    assert_eq!(
        members(&h, ACCESSOR),
        [
            "user:alice@example.com",
            "user:concurrent@example.com",
            "user:dave@example.com"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_public_service_behind_iap_is_a_config_error() {
    let h = Harness::start_staging(staging_world().build()).await;
    let config = with_iap(&["user:alice@example.com"], false).replacen(
        "allow_unauthenticated: false",
        "allow_unauthenticated: true",
        1,
    );
    h.write_config("staging", &config);
    let run = h.run(&["plan", "--env", "staging"]).await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(h.journal().is_empty(), "nothing sent");
    assert_run_snapshot!(run);
}

/// The IAP changes in every output: the human and Markdown plans (snapshots), and a saved
/// plan that `deploy --plan` applies exactly. A first deploy turns IAP on and plans the
/// agent's and the members' grants.
#[tokio::test(flavor = "multi_thread")]
async fn every_output_shows_the_iap_changes_and_a_saved_plan_applies_them() {
    let h = deployed(&["user:alice@example.com", "user:bob@example.com"]).await;
    // IAP turned off and on again shows as a service field; exclusive shows a removal.
    h.write_config("staging", &staging());
    let off = h.run(&["plan", "--env", "staging"]).await;
    assert_eq!(off.code, 0, "{}", off.all());
    assert!(off.stdout.contains("iap_enabled"), "{}", off.stdout);
    h.write_config(
        "staging",
        &with_iap(&["user:alice@example.com", "user:carol@example.com"], true),
    );
    let filters = vec![
        (r"http://127\.0\.0\.1:\d+", "http://[EMULATOR]"),
        (r"(autosre-\d{5})-[a-z]{3}", "$1-[RND]"),
    ];
    for (output, ext) in [("human", "txt"), ("markdown", "md")] {
        let run = h
            .run(&["plan", "--env", "staging", "--output", output])
            .await;
        assert_eq!(run.code, 0, "{}", run.all());
        insta::with_settings!({filters => filters.clone(), snapshot_suffix => ext}, {
            insta::assert_snapshot!("iap_plan", run.stdout);
        });
    }
    assert!(h.writes().is_empty(), "a plan writes nothing");

    let file = h.dir.path().join("plan.json");
    let file_s = file.to_str().unwrap();
    let run = h.run(&["plan", "--env", "staging", "--out", file_s]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(saved.contains("\"iap_web\""), "{saved}");
    let run = h.run(&["deploy", "--plan", file_s]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        members(&h, ACCESSOR),
        ["user:alice@example.com", "user:carol@example.com"]
    );
}

/// `grant` does not apply `iap:` (the IAP resource and its agent's invoker
/// grant are the service's): it says so, in the dry run, the apply and the
/// JSON, and writes no IAP policy.
#[tokio::test(flavor = "multi_thread")]
async fn grant_says_iap_is_left_to_deploy() {
    let h = Harness::start_staging(staging_world().build()).await;
    h.write_config("staging", &with_iap(&["group:sre@example.com"], false));
    let note = "`iap:` (1 member) is not applied by `grant`";
    let run = h.run(&["grant", "--env", "staging", "--dry-run"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    run.assert_all_contains(note);
    let run = h.run(&["grant", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    run.assert_stderr_contains(note);
    assert_eq!(iap_writes(&h), 0, "{:?}", h.write_rpcs());
    let run = h
        .run(&["grant", "--env", "staging", "--output", "json"])
        .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let kinds: Vec<&str> = v["plan"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"iap_left_to_deploy"), "{kinds:?}");
}

/// Google creates IAP's service agent when IAP is first used in a project, so
/// its invoker grant can be refused at first (400 INVALID_ARGUMENT, the member
/// does not exist yet). The deploy sends that write again, as gcloud's `--iap`
/// does, and the agent ends up an invoker.
#[tokio::test(flavor = "multi_thread")]
async fn the_iap_agents_grant_is_retried_until_the_agent_exists() {
    let h = Harness::start_staging(staging_world().iap_agent_pending(PROJECT, 2).build()).await;
    h.write_config("staging", &with_iap(&["group:sre@example.com"], false));
    let run = h.run(&["deploy", "--env", "staging"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(agent_may_invoke(&h), "{}", run.all());
    let refused = h
        .journal()
        .iter()
        .filter(|e| e.rpc.ends_with("services.setIamPolicy") && e.status == 400)
        .count();
    assert_eq!(refused, 2, "{:?}", h.write_rpcs());
    assert!(!run.stderr.contains("warning"), "{}", run.all());
}
