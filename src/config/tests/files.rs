//! Whole files: the shipped example, defaults, and `load` / `load_all` on directories.

use std::path::{Path, PathBuf};

use super::*;

#[test]
fn example_file_loads_unchanged() {
    let env = parse_text(EXAMPLE).unwrap_or_else(|e| panic!("{e}\nhint: {:?}", e.hint()));
    let expected = Environment {
        name: "prod".to_owned(),
        source: PathBuf::from(SOURCE),
        project: p("acme-sre-staging"),
        region: p("us-central1"),
        regions: Vec::new(),
        production: false,
        service: ServiceSpec {
            name: p("autosre"),
            image: Some(p(
                "us-docker.pkg.dev/acme-sre-staging/autosre/autosre:2026.11.28",
            )),
            source: None,
            dockerfile: None,
            service_account: Some(
                "autosre-run@acme-sre-staging.iam.gserviceaccount.com".to_owned(),
            ),
            cpu: p("4"),
            memory: p("16Gi"),
            timeout: p("300s"),
            concurrency: 80,
            min_instances: 0,
            max_instances: 10,
            allow_unauthenticated: false,
            public_ack: None,
            plain_env_allow: vec![],
            pin_secret_versions: true,
            traffic: crate::config::TrafficMode::Latest,
            labels: BTreeMap::new(),
            tool_labels: true,
            commit_sha: None,
            env: map(&[
                ("LOG_FORMAT", "JSON".to_owned()),
                ("LOG_LEVEL", "INFO".to_owned()),
                ("STRICT_EUC_ENFORCEMENT", "true".to_owned()),
            ]),
            secrets: map(&[
                ("GOOGLE_API_KEY", secret("gemini-api-key", "latest")),
                ("GOOGLE_CLIENT_ID", secret("google-client-id", "latest")),
                (
                    "SRE_AGENT_ENCRYPTION_KEY",
                    secret("sre-agent-encryption-key", "latest"),
                ),
            ]),
        },
        encryption_key: EncryptionKey {
            secret: "sre-agent-encryption-key".to_owned(),
            env: "SRE_AGENT_ENCRYPTION_KEY".to_owned(),
            replica_locations: vec![],
        },
        iam: IamSpec {
            project_roles: vec![
                p("roles/cloudtrace.agent"),
                p("roles/logging.logWriter"),
                p("roles/monitoring.metricWriter"),
            ],
            secret_access: SecretAccess::PerSecret,
            service_account_users: vec![p(
                "serviceAccount:service-{project_number}@gcp-sa-aiplatform.iam.gserviceaccount.com",
            )],
        },
        iap: None,
        build: Default::default(),
    };
    assert_eq!(env, expected);
    assert_eq!(env.encryption_key_wiring(), KeyWiring::Wired);
}

#[test]
fn defaults_fill_a_minimal_file() {
    let env = parse_text("project: acme-sre-prod\n").unwrap();
    let expected = Environment {
        name: "prod".to_owned(),
        source: PathBuf::from(SOURCE),
        project: p("acme-sre-prod"),
        region: p("us-central1"),
        regions: Vec::new(),
        production: false,
        service: ServiceSpec {
            name: p("autosre"),
            image: None,
            source: None,
            dockerfile: None,
            service_account: None,
            cpu: p("1"),
            memory: p("512Mi"),
            timeout: p("300s"),
            concurrency: 80,
            min_instances: 0,
            max_instances: 100,
            allow_unauthenticated: false,
            public_ack: None,
            env: BTreeMap::new(),
            plain_env_allow: vec![],
            secrets: BTreeMap::new(),
            pin_secret_versions: true,
            traffic: crate::config::TrafficMode::Latest,
            labels: BTreeMap::new(),
            tool_labels: true,
            commit_sha: None,
        },
        encryption_key: EncryptionKey {
            secret: "sre-agent-encryption-key".to_owned(),
            env: "SRE_AGENT_ENCRYPTION_KEY".to_owned(),
            replica_locations: vec![],
        },
        iam: IamSpec {
            project_roles: vec![],
            secret_access: SecretAccess::PerSecret,
            service_account_users: vec![],
        },
        iap: None,
        build: Default::default(),
    };
    assert_eq!(env, expected);
    // Well-formed but unwired: not a parse error, reported by the deploy's preflight.
    assert_eq!(env.encryption_key_wiring(), KeyWiring::NotWired);
}

#[test]
fn empty_sections_take_defaults() {
    let env = parse_text("project: acme-sre-prod\nservice:\n  env:\n  image:\niam:\n").unwrap();
    assert_eq!(env.service.image, None);
    assert!(env.service.env.is_empty());
    assert_eq!(env.iam.secret_access, SecretAccess::PerSecret);
}

#[test]
fn cpu_may_be_written_as_a_number() {
    let env = parse_text(&example_with("cpu: \"4\"", "cpu: 4")).unwrap();
    assert_eq!(env.service.cpu, p("4"));
    let text = example_with("cpu: \"4\"", "cpu: 0.5").replace("memory: 16Gi", "memory: 1Gi");
    let env = parse_text(&text).unwrap();
    assert_eq!(env.service.cpu, p("500m"));
}

#[test]
fn timeout_accepts_minutes() {
    let env = parse_text(&example_with("timeout: 300s", "timeout: 5m")).unwrap();
    assert_eq!(env.service.timeout.seconds(), 300);
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn load_reads_env_yaml_and_yml() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "staging.yaml", EXAMPLE);
    write(dir.path(), "dev.yml", "project: acme-sre-dev\n");
    let env = load(dir.path(), "staging").unwrap();
    assert_eq!(env.name, "staging");
    assert_eq!(env.source, dir.path().join("staging.yaml"));
    assert_eq!(load(dir.path(), "dev").unwrap().project, "acme-sre-dev");
}

#[test]
fn load_of_a_missing_environment_lists_the_existing_ones() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "staging.yaml", EXAMPLE);
    write(dir.path(), "prod.yaml", "project: acme-sre-prod\n");
    write(dir.path(), "notes.txt", "not an environment");
    let error = load(dir.path(), "stagin").unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}: environment `stagin` not found",
            dir.path().join("stagin.yaml").display()
        )
    );
    let ConfigError::NotFound { available, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(available, &["prod", "staging"]);
    let hint = error.hint().unwrap();
    assert!(hint.starts_with("did you mean `staging`?"), "{hint}");
    assert!(hint.contains("`prod`, `staging`"), "{hint}");
    // Path-like names never escape the directory.
    assert!(matches!(
        load(dir.path(), "../staging"),
        Err(ConfigError::NotAName { .. })
    ));
}

/// `--env ../config/staging` names a file that exists, but an environment
/// is a name: say so, and how to name the directory.
#[test]
fn a_path_given_as_environment_is_not_a_name() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "staging.yaml", EXAMPLE);
    for given in ["../config/staging", "../config/staging.yaml"] {
        let error = load(dir.path(), given).unwrap_err();
        assert!(matches!(error, ConfigError::NotAName { .. }), "{error:?}");
        assert_eq!(
            error.to_string(),
            format!(
                "`{given}` is not an environment name: an environment is named by its file stem"
            )
        );
        assert_eq!(
            error.hint(),
            Some("name the directory with --config-dir: `--config-dir ../config --env staging`")
        );
    }
}

/// A `prod.yaml` symlink to nothing, or to itself, is a broken file for
/// `validate` (every file) and for `--env prod` alike, not a missing one.
#[cfg(unix)]
#[test]
fn a_dangling_or_looping_symlink_is_a_broken_file() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(dir.path().join("gone.yaml"), dir.path().join("prod.yaml")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("loop.yaml"), dir.path().join("loop.yaml")).unwrap();
    for env in ["prod", "loop"] {
        let error = load(dir.path(), env).unwrap_err();
        let ConfigError::NotAFile { kind, .. } = &error else {
            panic!("{error:?}")
        };
        assert!(kind.starts_with("a broken symbolic link to `"), "{kind}");
    }
    let errors = load_all(dir.path()).errors;
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors
            .iter()
            .all(|e| matches!(e, ConfigError::NotAFile { .. }))
    );
}

#[test]
fn load_refuses_two_files_for_one_environment() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "prod.yaml", "project: acme-sre-prod\n");
    write(dir.path(), "prod.yml", "project: acme-sre-prod\n");
    assert!(matches!(
        load(dir.path(), "prod"),
        Err(ConfigError::Ambiguous { .. })
    ));
    let errors = load_all(dir.path()).errors;
    assert_eq!(errors.len(), 1);
    assert!(matches!(errors[0], ConfigError::Ambiguous { .. }));
}

#[test]
fn load_all_returns_every_environment_sorted() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "staging.yaml", EXAMPLE);
    write(dir.path(), "dev.yml", "project: acme-sre-dev\n");
    write(dir.path(), "prod.yaml", "project: acme-sre-prod\n");
    write(dir.path(), ".draft.yaml", "not: valid: yaml: at: all\n");
    write(dir.path(), "README.md", "# environments\n");
    let loaded = load_all(dir.path());
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let names: Vec<String> = loaded.environments.into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["dev", "prod", "staging"]);
}

#[test]
fn load_all_collects_every_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a-good.yaml", "project: acme-sre-good\n");
    write(
        dir.path(),
        "b-typo.yaml",
        "project: acme-sre-prod\nservice:\n  memroy: 1Gi\n",
    );
    write(dir.path(), "c-syntax.yaml", "project: [\n");
    write(dir.path(), "d-missing.yml", "region: us-east1\n");
    let loaded = load_all(dir.path());
    let good: Vec<&str> = loaded
        .environments
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(good, ["a-good"], "the good file still loads");
    let shown: Vec<String> = loaded
        .errors
        .iter()
        .map(|e| {
            e.to_string()
                .replace(&format!("{}/", dir.path().display()), "")
        })
        .collect();
    assert_eq!(shown.len(), 3, "{shown:#?}");
    assert_eq!(
        shown[0],
        "b-typo.yaml:3:3: service.memroy: unknown key `memroy`"
    );
    assert!(shown[1].starts_with("c-syntax.yaml:"), "{}", shown[1]);
    assert_eq!(
        shown[2],
        "d-missing.yml:1:1: project: missing required key `project`"
    );
}

#[test]
fn load_all_of_a_missing_directory_is_one_error() {
    let dir = tempfile::tempdir().unwrap();
    let errors = load_all(&dir.path().join("nope")).errors;
    assert_eq!(errors.len(), 1);
    assert!(matches!(errors[0], ConfigError::Unreadable { .. }));
    assert!(errors[0].hint().unwrap().contains("<env>.yaml"));
}
