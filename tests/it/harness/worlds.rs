//! What the tests deploy: the seeded secret payloads, the staging and
//! example projects, their configs, images and worlds, and the roles the
//! scripts granted.

use super::*;

/// Seeded as every secret's payload; must never be printed.
pub(crate) const PAYLOAD: &[u8] = b"gAAAAA-test-fernet-key-material-do-not-print";
/// Seeded as the encryption key secret's payload: a valid Fernet key (the
/// URL-safe base64 of `test-fernet-key-do-not-print-32b`), so that the
/// preflight's format check passes; must never be printed either.
pub(crate) const KEY: &[u8] = b"dGVzdC1mZXJuZXQta2V5LWRvLW5vdC1wcmludC0zMmI=";

/// The payload seeded for `secret`: [`KEY`] for the encryption key secret,
/// [`PAYLOAD`] for the others.
pub(crate) fn payload_for(secret: &str) -> &'static [u8] {
    match secret {
        "sre-agent-encryption-key" => KEY,
        _ => PAYLOAD,
    }
}
pub(crate) const PROJECT: &str = "acme-sre-staging";
pub(crate) const NUMBER: u64 = 123_456_789_012;
pub(crate) const SA: &str = "autosre-run@acme-sre-staging.iam.gserviceaccount.com";
pub(crate) const SERVICE: &str = "projects/acme-sre-staging/locations/us-central1/services/autosre";
/// [`SA`] as a policy member.
pub(crate) const SA_MEMBER: &str =
    "serviceAccount:autosre-run@acme-sre-staging.iam.gserviceaccount.com";

/// The repo's own config file.
pub(crate) fn repo_config(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config")
        .join(format!("{name}.yaml"));
    std::fs::read_to_string(path).expect("config file")
}

/// The repo's `config/staging.yaml`.
pub(crate) fn staging() -> String {
    repo_config("staging")
}

/// `config/staging.yaml` with `service.pin_secret_versions: false`.
pub(crate) fn staging_unpinned() -> String {
    let config = staging().replace(
        "  allow_unauthenticated: false\n",
        "  allow_unauthenticated: false\n  pin_secret_versions: false\n",
    );
    assert!(config.contains("pin_secret_versions: false"), "{config}");
    config
}

/// The staging image repository's image, without a tag.
pub(crate) const STAGING_IMAGE: &str = "us-docker.pkg.dev/acme-sre-staging/autosre/autosre";

/// The tags of [`STAGING_IMAGE`] pushed in [`staging_world`]: the config's,
/// and those the tests and docs deploy. A tag not here does not exist.
pub(crate) const STAGING_TAGS: [&str; 16] = [
    "2026.11.28",
    "2026.11.27",
    "2026.12.01",
    "2026.10.01",
    "next",
    "hotfix",
    "other",
    "latest",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
];

/// The secrets `config/staging.yaml` and `config/example.yaml` reference.
pub(crate) const SECRETS: [&str; 3] = [
    "gemini-api-key",
    "google-client-id",
    "sre-agent-encryption-key",
];

/// `b` with an enabled version of each of [`SECRETS`] in `project`, holding
/// [`payload_for`] it.
pub(crate) fn with_secrets(
    mut b: autosre_emulator::WorldBuilder,
    project: &str,
) -> autosre_emulator::WorldBuilder {
    for s in SECRETS {
        b = b
            .secret(project, s)
            .secret_version(project, s, VersionState::Enabled, payload_for(s));
    }
    b
}

/// The world `config/staging.yaml` deploys into: project, runtime account,
/// an enabled version of each of its three secrets, and its image's tags.
pub(crate) fn staging_world() -> autosre_emulator::WorldBuilder {
    let b = World::builder()
        .project(PROJECT, NUMBER)
        .service_account(SA)
        .project_binding(PROJECT, "roles/owner", "user:owner@example.com");
    with_staging_images(with_secrets(b, PROJECT))
}

/// `b` with the staging images pushed: [`STAGING_TAGS`] of [`STAGING_IMAGE`],
/// and `billing:1`.
pub(crate) fn with_staging_images(
    mut b: autosre_emulator::WorldBuilder,
) -> autosre_emulator::WorldBuilder {
    for tag in STAGING_TAGS {
        b = b.image(&format!("{STAGING_IMAGE}:{tag}"), None);
    }
    b.image("us-docker.pkg.dev/acme-sre-staging/billing/billing:1", None)
}

/// The digest [`staging_world`] gives `STAGING_IMAGE:tag`.
pub(crate) fn staging_digest(tag: &str) -> String {
    autosre_emulator::digest_for(&format!("{STAGING_IMAGE}:{tag}"))
}

/// From `grant_permissions.py`, the script `config/example.yaml` replaces: one
/// `gcloud projects add-iam-policy-binding` per role, on the project, for the
/// runtime service account.
pub(crate) const SCRIPT_PROJECT_ROLES: [&str; 11] = [
    "roles/cloudtrace.agent",
    "roles/cloudtrace.user",
    "roles/telemetry.writer",
    "roles/logging.viewer",
    "roles/logging.logWriter",
    "roles/monitoring.viewer",
    "roles/monitoring.metricWriter",
    "roles/bigquery.dataViewer",
    "roles/aiplatform.user",
    "roles/secretmanager.secretAccessor",
    "roles/datastore.user",
];

/// From `grant_permissions.py`: granted `roles/iam.serviceAccountUser` on the
/// runtime service account; `{number}` is the project number.
pub(crate) const SCRIPT_SERVICE_ACCOUNT_USERS: [&str; 2] = [
    "serviceAccount:service-{number}@gcp-sa-aiplatform.iam.gserviceaccount.com",
    "serviceAccount:service-{number}@gcp-sa-aiplatform-re.iam.gserviceaccount.com",
];

/// The project of `config/example.yaml`.
pub(crate) const EXAMPLE_PROJECT: &str = "autosre-example";

/// Cloud Run's default runtime account, which the example (like the scripts) uses.
pub(crate) fn default_compute_account(number: u64) -> String {
    format!("{number}-compute@developer.gserviceaccount.com")
}

/// The world `config/example.yaml` deploys into: the project, its default
/// compute account and an enabled version of each secret it references.
pub(crate) fn example_world(number: u64) -> autosre_emulator::WorldBuilder {
    let b = World::builder()
        .project(EXAMPLE_PROJECT, number)
        .service_account(&default_compute_account(number))
        .project_binding(EXAMPLE_PROJECT, "roles/owner", "user:owner@example.com");
    with_example_images(with_secrets(b, EXAMPLE_PROJECT))
}

/// `b` with the images `config/example.yaml`, its docs and the benchmark deploy.
pub(crate) fn with_example_images(
    b: autosre_emulator::WorldBuilder,
) -> autosre_emulator::WorldBuilder {
    b.image(
        "us-central1-docker.pkg.dev/autosre-example/autosre/autosre:latest",
        None,
    )
    .image("us-docker.pkg.dev/autosre-example/autosre/autosre:2", None)
    // The benchmark's image-only change (`benches/deploy.rs`).
    .image(
        "us-central1-docker.pkg.dev/autosre-example/autosre/autosre:bench-2",
        None,
    )
}

/// Many targets: `projects` projects (`fleet-project-N`), each with the staging file's
/// secrets, runtime account and image; [`fleet_config`] is project `p`'s environment file.
pub(crate) fn fleet_world(projects: usize) -> autosre_emulator::WorldBuilder {
    let mut b = World::builder();
    for p in 0..projects {
        let project = format!("fleet-project-{p}");
        b = with_secrets(
            b.project(&project, NUMBER + p as u64)
                .service_account(&format!("autosre-run@{project}.iam.gserviceaccount.com"))
                .project_binding(&project, "roles/owner", "user:owner@example.com"),
            &project,
        );
        // The image `fleet_config` deploys, pushed in the project's own registry.
        let image =
            format!("{STAGING_IMAGE}:{}", STAGING_TAGS[0]).replace("acme-sre-staging", &project);
        b = b.image(&image, None);
    }
    b
}

pub(crate) fn fleet_config(p: usize, regions: &[&str]) -> String {
    let project = format!("fleet-project-{p}");
    staging().replace("acme-sre-staging", &project).replace(
        "region: us-central1\n",
        &format!("regions: [{}]\n", regions.join(", ")),
    )
}

pub(crate) const FLEET_REGIONS: [&str; 5] = [
    "us-central1",
    "europe-west1",
    "asia-east1",
    "us-east1",
    "europe-west4",
];
