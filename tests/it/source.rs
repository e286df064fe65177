//! Source deploys (`--source DIR`, `service.source`), end to end: what is
//! packaged, what `plan --source` shows, and the usage errors.

use std::path::{Path, PathBuf};

use crate::harness::*;

mod access;
mod setup;
pub(crate) use access::SOURCE_DEPLOYER;

pub(crate) fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A small service: a Dockerfile, code, and files that both ignore files
/// leave out.
pub(crate) fn fixture(root: &Path) {
    write(root, "Dockerfile", "FROM python:3.12-slim\nCOPY . /app\n");
    write(root, "app/main.py", &"print('agent')\n".repeat(40));
    write(root, "app/util.py", "X = 1\n");
    write(root, "notes.log", "ignored by .gcloudignore\n");
    write(root, "node_modules/pkg/index.js", "ignored by .gitignore\n");
    write(root, ".gitignore", "node_modules/\n");
    write(
        root,
        ".gcloudignore",
        ".gcloudignore\n*.log\n#!include:.gitignore\n",
    );
}

/// The harness's `src` directory with [`fixture`] written into it.
pub(crate) fn fixture_dir(h: &Harness) -> PathBuf {
    let src = h.dir.path().join("src");
    fixture(&src);
    src
}

/// `deploy --env staging --source SRC` followed by `extra` arguments.
pub(crate) async fn deploy_source(h: &Harness, src: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "deploy",
        "--env",
        "staging",
        "--source",
        src.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    h.run(&args).await
}

/// The staging config with `line` added under `service:`.
pub(crate) fn staging_service_with(line: &str) -> String {
    let config = staging().replace("service:\n", &format!("service:\n  {line}\n"));
    assert!(config.contains(line), "{config}");
    config
}

/// What the upload step of a deploy's JSON outcome came to.
pub(crate) fn upload_result(v: &serde_json::Value) -> &str {
    v["outcome"]["build"]["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["step"] == "upload")
        .and_then(|s| s["result"].as_str())
        .unwrap_or_else(|| panic!("no upload step in {v:#}"))
}

/// The write RPCs that touched the Cloud Run service (a rollout).
fn rollout_rpcs(h: &Harness) -> Vec<String> {
    h.write_rpcs()
        .into_iter()
        .filter(|r| r.starts_with("run.projects.locations.services."))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_source_shows_what_would_be_uploaded_and_uploads_nothing() {
    let h = Harness::start_staging(staging_world().build()).await;
    let src = fixture_dir(&h);
    h.emulator.clear_journal();
    let src_arg = src.to_str().unwrap();
    let run = h
        .run(&["plan", "--env", "staging", "--source", src_arg])
        .await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_run_snapshot!(run);
    assert!(h.writes().is_empty(), "{:#?}", h.writes());
    let json = h
        .run(&[
            "plan", "--env", "staging", "--source", src_arg, "--output", "json",
        ])
        .await;
    assert_eq!(json.code, 0, "{}", json.all());
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let source = &v["source"];
    assert_eq!(source["files"], 4, "{source:#}");
    assert_eq!(source["builder"], "docker");
    assert_eq!(
        source["bucket"], "run-sources-acme-sre-staging-us-central1",
        "{source:#}"
    );
    let largest: Vec<&str> = source["largest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        largest,
        ["app/main.py", "Dockerfile", ".gitignore", "app/util.py"]
    );
    assert_eq!(
        v["service"]["desired"]["image"],
        "us-central1-docker.pkg.dev/acme-sre-staging/cloud-run-source-deploy/autosre"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn image_and_source_conflict_and_a_source_plan_is_not_saved() {
    let h = Harness::start_staging(staging_world().build()).await;
    let src = fixture_dir(&h);
    let src_arg = src.to_str().unwrap();
    let both = h
        .run(&[
            "deploy", "--env", "staging", "--image", "x/y:1", "--source", src_arg,
        ])
        .await;
    assert_eq!(both.code, 2, "{}", both.all());
    both.assert_stderr_contains("--source");
    let saved = h
        .run(&[
            "plan", "--env", "staging", "--source", src_arg, "--out", "p.json",
        ])
        .await;
    assert_eq!(saved.code, 2, "{}", saved.all());
    let missing = h
        .run(&["deploy", "--env", "staging", "--source", "/nonexistent/dir"])
        .await;
    assert_eq!(missing.code, 2, "{}", missing.all());
    missing.assert_stderr_contains("does not exist");
    assert!(h.writes().is_empty(), "{:#?}", h.writes());
}

#[tokio::test(flavor = "multi_thread")]
async fn service_source_is_relative_to_the_config_file() {
    let h = Harness::start_staging(staging_world().build()).await;
    fixture(&h.dir.path().join("src"));
    let config = staging_service_with("source: ../src");
    h.write_config("staging", &config);
    let run = h
        .run(&["plan", "--env", "staging", "--output", "json"])
        .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["source"]["files"], 4, "{:#}", v["source"]);
    // `--image` wins over `service.source`: nothing is built.
    let image = h
        .run(&[
            "plan",
            "--env",
            "staging",
            "--image",
            "us-docker.pkg.dev/acme-sre-staging/autosre/autosre:2",
            "--output",
            "json",
        ])
        .await;
    assert_eq!(image.code, 0, "{}", image.all());
    let v: serde_json::Value = serde_json::from_str(&image.stdout).unwrap();
    assert!(v.get("source").is_none(), "{v:#}");
}

/// The paths in a tar.gz, in archive order.
fn tar_paths(bytes: &[u8]) -> Vec<String> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect()
}

pub(crate) const BUCKET: &str = "run-sources-acme-sre-staging-us-central1";
pub(crate) const REPOSITORY: &str =
    "projects/acme-sre-staging/locations/us-central1/repositories/cloud-run-source-deploy";
pub(crate) const IMAGE_REPO: &str =
    "us-central1-docker.pkg.dev/acme-sre-staging/cloud-run-source-deploy/autosre";

/// The image the live service's revision runs.
pub(crate) fn running_image(h: &Harness) -> String {
    let svc = h.emulator.service(SERVICE).expect("the service exists");
    svc["template"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `IMAGE@DIGEST` of the one image the builds pushed.
pub(crate) fn pushed_image(h: &Harness) -> String {
    let images = h.emulator.images(REPOSITORY);
    assert_eq!(images.len(), 1, "{images:?}");
    format!("{}@{}", images[0].uri, images[0].digest)
}

/// The one archive in the staging bucket, as a list of paths.
fn uploaded_paths(h: &Harness) -> Vec<String> {
    let objects = h.emulator.objects(BUCKET);
    assert_eq!(objects.len(), 1, "{objects:?}");
    assert!(objects[0].starts_with("services/autosre/"), "{objects:?}");
    tar_paths(&h.emulator.object(BUCKET, &objects[0]).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_deploy_uploads_what_gcloudignore_keeps_and_runs_the_built_digest() {
    let h = Harness::start_staging(staging_world().build()).await;
    let src = fixture_dir(&h);
    let run = deploy_source(&h, &src, &["--output", "json"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        uploaded_paths(&h),
        [".gitignore", "Dockerfile", "app/main.py", "app/util.py"]
    );
    assert_eq!(
        h.count("artifactregistry.projects.locations.repositories.create"),
        1
    );
    assert_eq!(h.count("run.projects.locations.builds.submit"), 1);
    assert_eq!(h.count("cloudbuild.projects.locations.builds.create"), 0);
    // Live state is read once: after the build only Cloud Run's validation
    // of the built image is asked again (one before the build, one after).
    assert_eq!(h.count("run.projects.locations.services.get"), 1);
    assert_eq!(h.count("secretmanager.projects.secrets.versions.get"), 3);
    let validations = h.journal().iter().filter(|e| e.validate_only).count();
    assert_eq!(validations, 2, "{:#?}", h.write_rpcs());
    let built = pushed_image(&h);
    assert!(
        built.starts_with(&format!("{IMAGE_REPO}@sha256:")),
        "{built}"
    );
    assert_eq!(running_image(&h), built);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let build = &v["outcome"]["build"];
    assert_eq!(build["image"], built.as_str(), "{build:#}");
    assert_eq!(
        build["digest"].as_str(),
        built.split_once('@').map(|(_, d)| d)
    );
    assert!(
        build["id"].as_str().is_some_and(|i| !i.is_empty()),
        "{build:#}"
    );
    assert!(build["log_url"].as_str().is_some(), "{build:#}");
    assert_eq!(upload_result(&v), "uploaded");
    assert_eq!(build["cloud_build"], false);
    // The plan counted the steps: bucket, upload, repository and build.
    let steps: Vec<(&str, &str)> = v["plan"]["source"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["step"].as_str().unwrap(), s["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [
            ("bucket", "create"),
            ("upload", "create"),
            ("repository", "create"),
            ("build", "create")
        ]
    );
    let image_field = v["plan"]["service"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "image")
        .expect("the image is planned");
    assert_eq!(image_field["after"], built.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn without_gcloudignore_the_gitignore_default_applies_and_the_text_output_shows_the_digest() {
    let h = Harness::start_staging(staging_world().build()).await;
    let src = fixture_dir(&h);
    std::fs::remove_file(src.join(".gcloudignore")).unwrap();
    let run = deploy_source(&h, &src, &[]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    // gcloud's default: `.gcloudignore`, `.git`, `.gitignore` and the
    // patterns of `.gitignore`; `*.log` is no longer ignored.
    assert_eq!(
        uploaded_paths(&h),
        ["Dockerfile", "app/main.py", "app/util.py", "notes.log"]
    );
    let built = pushed_image(&h);
    assert_eq!(running_image(&h), built);
    run.assert_all_contains(&built);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_deploy_of_the_same_tree_uploads_nothing_and_makes_no_revision() {
    let h = Harness::start_staging(staging_world().build()).await;
    let src = fixture_dir(&h);
    let first = deploy_source(&h, &src, &[]).await;
    assert_eq!(first.code, 0, "{}", first.all());
    let revisions = h.emulator.revisions(SERVICE).len();
    h.emulator.clear_journal();
    let second = deploy_source(&h, &src, &["--output", "json"]).await;
    assert_eq!(second.code, 0, "{}", second.all());
    assert_eq!(h.count("storage.objects.insert"), 0, "{:#?}", h.writes());
    assert_eq!(h.count("storage.buckets.insert"), 0);
    assert_eq!(
        h.count("artifactregistry.projects.locations.repositories.create"),
        0
    );
    let rollout = rollout_rpcs(&h);
    assert!(rollout.is_empty(), "{rollout:?}");
    assert_eq!(h.emulator.revisions(SERVICE).len(), revisions);
    assert_eq!(h.emulator.objects(BUCKET).len(), 1);
    let v: serde_json::Value = serde_json::from_str(&second.stdout).unwrap();
    assert_eq!(upload_result(&v), "existing");
    assert_eq!(running_image(&h), pushed_image(&h));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_build_exits_1_with_the_step_the_log_tail_and_the_url_and_rolls_nothing_out() {
    let world = staging_world()
        .fail_builds(
            0,
            &[
                "Step 1/2 : FROM python:3.12-slim",
                "npm ERR! missing script: build",
            ],
            "FAILURE",
        )
        .build();
    let h = Harness::start_staging(world).await;
    let src = fixture_dir(&h);
    let run = deploy_source(&h, &src, &[]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_stderr_contains("npm ERR! missing script: build");
    run.assert_stderr_contains("failed at step #0 (gcr.io/cloud-builders/docker)");
    run.assert_stderr_contains(
        "https://console.cloud.google.com/cloud-build/builds;region=us-central1/",
    );
    let rollout = rollout_rpcs(&h);
    assert!(rollout.is_empty(), "{rollout:?}");
    assert!(h.emulator.service(SERVICE).is_none());
}

/// A failed build in every output format: the JSON outcome names the build
/// (its id and log URL) and lists what was written before it failed (the
/// bucket, the archive, the repository); the text and Markdown outcomes say
/// the same; the exit code is the failed build's, 1.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_build_is_in_the_outcome_with_what_was_written_before_it() {
    let world = staging_world()
        .fail_builds(0, &["npm ERR! missing script: build"], "FAILURE")
        .build();
    let h = Harness::start_staging(world).await;
    let src = fixture_dir(&h);
    let json = deploy_source(&h, &src, &["--output", "json"]).await;
    assert_eq!(json.code, 1, "{}", json.all());
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect(&json.stdout);
    let build = &v["outcome"]["build"];
    let id = build["id"].as_str().expect("the build's id");
    assert!(h.emulator.build(id).is_some(), "{build:#}");
    let log_url = build["log_url"].as_str().expect("the log's URL");
    assert!(
        log_url
            .starts_with("https://console.cloud.google.com/cloud-build/builds;region=us-central1/"),
        "{log_url}"
    );
    assert!(build.get("digest").is_none(), "{build:#}");
    let steps: Vec<(&str, &str)> = build["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["step"].as_str().unwrap(), s["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [
            ("bucket", "created"),
            ("upload", "uploaded"),
            ("repository", "created"),
            ("build", "failed")
        ]
    );
    let failure = v["outcome"]["failure"]["message"].as_str().unwrap();
    assert!(
        failure.contains("npm ERR! missing script: build"),
        "{failure}"
    );
    assert!(h.emulator.service(SERVICE).is_none());

    // Text and Markdown say the same: the failed build and each step
    // (this time the bucket, the archive and the repository are there).
    for (format, failed) in [("human", "build: FAILED id="), ("markdown", "**FAILED**")] {
        let run = deploy_source(&h, &src, &["--output", format]).await;
        assert_eq!(run.code, 1, "{}", run.all());
        run.assert_stdout_contains(failed);
        run.assert_stdout_contains(&format!("gs://{BUCKET}"));
        run.assert_stdout_contains("there already");
        run.assert_stdout_contains("https://console.cloud.google.com/cloud-build/builds");
        run.assert_stderr_contains("npm ERR! missing script: build");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn where_builds_submit_is_not_found_cloud_build_builds_it() {
    let world = staging_world()
        .submit_build(autosre_emulator::SubmitBuild::NotFound)
        .build();
    let h = Harness::start_staging(world).await;
    let src = fixture_dir(&h);
    let run = deploy_source(&h, &src, &["--output", "json"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(h.count("run.projects.locations.builds.submit"), 1);
    assert_eq!(h.count("cloudbuild.projects.locations.builds.create"), 1);
    let built = pushed_image(&h);
    assert_eq!(running_image(&h), built);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["outcome"]["build"]["cloud_build"], true, "{v:#}");
    assert_eq!(v["outcome"]["build"]["image"], built.as_str());
}

/// `--sandbox` seeds what a source deploy needs, from `--source` or from
/// `service.source`: docs/source-builds.md's example runs with no Google project.
#[tokio::test(flavor = "multi_thread")]
async fn a_source_deploy_runs_in_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("config");
    std::fs::create_dir(&config_dir).unwrap();
    fixture(&dir.path().join("src"));
    let config = staging_service_with("source: ../src");
    std::fs::write(config_dir.join("staging.yaml"), &config).unwrap();
    let env = || {
        autosre_deploy::Env::from_iter([
            ("NO_COLOR", "1"),
            ("AUTOSRE_DEPLOY_POLL_INTERVAL_MS", "20"),
        ])
    };
    let config_arg = config_dir.to_str().unwrap();
    let from_config = run_in_process(
        &[
            "deploy",
            "--env",
            "staging",
            "--sandbox",
            "--config-dir",
            config_arg,
        ],
        env(),
    )
    .await;
    assert_eq!(from_config.code, 0, "{}", from_config.all());
    from_config.assert_all_contains("cloud-run-source-deploy/autosre@sha256:");
    from_config.assert_all_contains("served by the in-process emulator");
    let src = dir.path().join("src");
    let from_flag = run_in_process(
        &[
            "deploy",
            "--env",
            "staging",
            "--sandbox",
            "--source",
            src.to_str().unwrap(),
            "--config-dir",
            config_arg,
        ],
        env(),
    )
    .await;
    assert_eq!(from_flag.code, 0, "{}", from_flag.all());
    from_flag.assert_all_contains("cloud-run-source-deploy/autosre@sha256:");
}

/// A build's progress: on a terminal a spinner with steps done / total and
/// the elapsed time, redrawn in place; in CI (`CI=true`, a pipe) one plain
/// line per change.
#[tokio::test(flavor = "multi_thread")]
async fn a_build_shows_steps_and_elapsed_on_a_terminal_and_plain_lines_in_ci() {
    let slow = || Options {
        operation_polls: 4,
        ..fast_options()
    };
    let poll = ("AUTOSRE_DEPLOY_POLL_INTERVAL_MS", "200");
    let h = Harness::start_staging_with(staging_world().build(), slow()).await;
    let src = fixture_dir(&h);
    let src_arg = src.to_str().unwrap();
    let args = ["deploy", "--env", "staging", "--source", src_arg];
    let tty = h.run_in_terminal(&args, &[poll]).await;
    assert_eq!(tty.code, 0, "{}", tty.all());
    let spinner = regex::Regex::new(
        r"\r\x1b\[2K. Building autosre: \d/1 steps done gcr\.io/cloud-builders/docker \(\d+s\)",
    )
    .unwrap();
    assert!(spinner.is_match(&tty.stdout), "{:?}", tty.stdout);
    assert!(
        tty.stdout.contains("ok: SUCCESS after "),
        "{:?}",
        tty.stdout
    );

    let h = Harness::start_staging_with(staging_world().build(), slow()).await;
    let src = fixture_dir(&h);
    let args = [
        "deploy",
        "--env",
        "staging",
        "--source",
        src.to_str().unwrap(),
    ];
    let ci = h.run_with(&args, &[poll, ("CI", "true")]).await;
    assert_eq!(ci.code, 0, "{}", ci.all());
    assert!(!ci.stderr.contains('\r'), "{:?}", ci.stderr);
    let line = regex::Regex::new(
        r"(?m)^Building autosre: \d/1 steps done gcr\.io/cloud-builders/docker \(\d+s elapsed\)$",
    )
    .unwrap();
    assert!(line.is_match(&ci.stderr), "{}", ci.stderr);
    assert!(
        ci.stderr
            .lines()
            .any(|l| l.starts_with("ok: SUCCESS after ")),
        "{}",
        ci.stderr
    );
}
