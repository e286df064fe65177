//! The environments the benchmark runs besides `config/example.yaml`: the example grown to
//! many secrets and roles, the example in two regions, and a small source tree.

use std::path::Path;

use crate::harness::*;

/// Predefined roles for the scaled environment (any valid `roles/...` names serve; these
/// are real ones: https://cloud.google.com/iam/docs/roles-permissions).
const ROLES: [&str; 40] = [
    "roles/cloudtrace.agent",
    "roles/cloudtrace.user",
    "roles/telemetry.writer",
    "roles/logging.viewer",
    "roles/logging.logWriter",
    "roles/monitoring.viewer",
    "roles/monitoring.metricWriter",
    "roles/bigquery.dataViewer",
    "roles/aiplatform.user",
    "roles/datastore.user",
    "roles/bigquery.jobUser",
    "roles/bigquery.user",
    "roles/bigquery.metadataViewer",
    "roles/cloudsql.client",
    "roles/cloudsql.viewer",
    "roles/pubsub.publisher",
    "roles/pubsub.subscriber",
    "roles/pubsub.viewer",
    "roles/storage.objectViewer",
    "roles/storage.objectCreator",
    "roles/cloudprofiler.agent",
    "roles/clouddebugger.agent",
    "roles/errorreporting.writer",
    "roles/redis.viewer",
    "roles/spanner.databaseReader",
    "roles/firebase.viewer",
    "roles/cloudkms.cryptoKeyDecrypter",
    "roles/cloudkms.viewer",
    "roles/compute.viewer",
    "roles/container.viewer",
    "roles/run.viewer",
    "roles/run.invoker",
    "roles/cloudfunctions.viewer",
    "roles/dataflow.viewer",
    "roles/dataproc.viewer",
    "roles/artifactregistry.reader",
    "roles/cloudbuild.builds.viewer",
    "roles/serviceusage.serviceUsageConsumer",
    "roles/iam.securityReviewer",
    "roles/browser",
];

/// `config/example.yaml` with `secrets` secrets wired in (its own 3 first) and the 40
/// [`ROLES`] as project roles; the names of the secrets the world must hold.
pub(crate) fn scaled_example(secrets: usize) -> (String, Vec<String>) {
    let yaml = repo_config("example");
    let mut names: Vec<String> = SECRETS.map(String::from).to_vec();
    let mut wired = String::new();
    for i in 0..secrets.saturating_sub(names.len()) {
        let name = format!("bench-secret-{i:02}");
        wired.push_str(&format!("    BENCH_SECRET_{i:02}: {name}:latest\n"));
        names.push(name);
    }
    let anchor = "    SRE_AGENT_ENCRYPTION_KEY: sre-agent-encryption-key:latest\n";
    let start = yaml.find("  project_roles:\n").expect("project_roles") + 17;
    let end = yaml
        .find("  # The script granted")
        .expect("after project_roles");
    let roles: String = ROLES.iter().map(|r| format!("    - {r}\n")).collect();
    let yaml = format!("{}{roles}{}", &yaml[..start], &yaml[end..]);
    assert!(yaml.contains(anchor));
    (yaml.replace(anchor, &format!("{anchor}{wired}")), names)
}

/// [`example_world`] holding an enabled version of each of `secrets`.
pub(crate) fn world_with(secrets: &[String]) -> World {
    let mut world = example_world(NUMBER);
    for s in secrets.iter().filter(|s| s.starts_with("bench-")) {
        world = world.secret(EXAMPLE_PROJECT, s).secret_version(
            EXAMPLE_PROJECT,
            s,
            VersionState::Enabled,
            payload_for(s),
        );
    }
    world.build()
}

/// `config/example.yaml` deployed to two regions (`regions:` instead of `region:`).
pub(crate) fn two_regions() -> String {
    let yaml = repo_config("example");
    let one = "region: us-central1\n";
    assert!(yaml.contains(one));
    yaml.replacen(one, "regions: [us-central1, europe-west1]\n", 1)
}

/// A small service to build: a Dockerfile, two source files and a `.gcloudignore`.
pub(crate) fn source_tree(root: &Path) {
    for (rel, text) in [
        ("Dockerfile", "FROM python:3.12-slim\nCOPY . /app\n"),
        ("app/main.py", "print('agent')\n"),
        ("app/util.py", "X = 1\n"),
        (".gcloudignore", ".gcloudignore\n*.log\n"),
    ] {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("source dir");
        std::fs::write(path, text).expect("source file");
    }
}
