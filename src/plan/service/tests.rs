//! Unit tests of the service view: the round trip through a Cloud Run
//! `Service`, secret-name normalization, the diff (which never shows a
//! secret's value) and the fields `apply_view` leaves alone.

use super::*;

fn view() -> ServiceView {
    ServiceView {
        image: "img:1".into(),
        cpu: "4".into(),
        memory: "16Gi".into(),
        timeout_seconds: 300,
        concurrency: 80,
        min_instances: 0,
        max_instances: 10,
        service_account: "run@p.iam.gserviceaccount.com".into(),
        invoker_iam_disabled: false,
        iap_enabled: false,
        env: BTreeMap::from([
            ("LOG_LEVEL".into(), EnvValue::Plain("INFO".into())),
            (
                "KEY".into(),
                EnvValue::Secret {
                    secret: "k".into(),
                    version: "latest".into(),
                },
            ),
        ]),
        labels: BTreeMap::from([("managed-by".into(), "autosre-deploy".into())]),
        commit_sha: None,
    }
}

#[test]
fn a_view_survives_a_round_trip_through_the_service() {
    let s = apply_view(None, "projects/p/locations/r/services/s", &view());
    assert_eq!(view_of(&s, &["p"]), view());
    assert!(diff(Some(&view_of(&s, &["p"])), &view()).is_empty());
}

#[test]
fn full_secret_names_in_the_same_project_compare_equal() {
    let mut v = view();
    v.env.insert(
        "KEY".into(),
        EnvValue::Secret {
            secret: "projects/123/secrets/k".into(),
            version: "latest".into(),
        },
    );
    let s = apply_view(None, "n", &v);
    assert_eq!(view_of(&s, &["p", "123"]), view());
}

#[test]
fn diff_reports_adds_changes_and_removals_but_never_values_of_secrets() {
    let mut desired = view();
    desired.image = "img:2".into();
    desired.env.remove("LOG_LEVEL");
    desired.env.insert(
        "KEY".into(),
        EnvValue::Secret {
            secret: "k".into(),
            version: "3".into(),
        },
    );
    let d = diff(Some(&view()), &desired);
    let fields: Vec<_> = d.iter().map(|c| (c.field.as_str(), c.op)).collect();
    assert_eq!(
        fields,
        [
            ("image", Op::Change),
            ("env.KEY", Op::Change),
            ("env.LOG_LEVEL", Op::Remove)
        ]
    );
    assert_eq!(d[1].after.as_deref(), Some("secret k:3"));
}

#[test]
fn quantities_compare_by_value_not_by_spelling() {
    let mut live = view();
    live.cpu = "4000m".into();
    live.memory = "16384Mi".into();
    assert!(diff(Some(&live), &view()).is_empty());
    live.cpu = "2".into();
    let d = diff(Some(&live), &view());
    assert_eq!((d[0].field.as_str(), d[0].op), ("cpu", Op::Change));
}

#[test]
fn apply_keeps_fields_the_config_does_not_own() {
    let mut live = apply_view(None, "n", &view());
    live.labels.insert("team".into(), "sre".into());
    let out = apply_view(Some(&live), "n", &view());
    assert_eq!(out.labels.get("team").map(String::as_str), Some("sre"));
}

/// A live value of megabytes is shown by its start, size and hash, and a
/// URL's credentials are never shown, whatever the variable's name.
#[test]
fn long_values_are_cut_and_url_credentials_redacted() {
    let big = EnvValue::Plain("x".repeat(2 << 20));
    let shown = big.display(false);
    assert!(shown.len() < 300, "{}", shown.len());
    assert!(shown.contains("(2097152 bytes, sha256 "), "{shown}");
    let url = EnvValue::Plain("postgres://app:PASSWORD@db/x".into());
    assert_eq!(url.display(false), "\"postgres://<redacted>@db/x\"");
    let mut v = view();
    v.env.insert("DATABASE_URL".into(), url);
    assert_eq!(
        v.redacted().env["DATABASE_URL"],
        EnvValue::Plain("postgres://<redacted>@db/x".into())
    );
}
