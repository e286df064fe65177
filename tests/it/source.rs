//! Source deploys (`--source DIR`, `service.source`), end to end: what is
//! packaged, what `plan --source` shows, and the usage errors.

use std::path::Path;

use crate::harness::*;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A small service: a Dockerfile, code, and files that both ignore files
/// leave out.
fn fixture(root: &Path) {
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

#[tokio::test(flavor = "multi_thread")]
async fn plan_source_shows_what_would_be_uploaded_and_uploads_nothing() {
    let h = Harness::start_staging(staging_world().build()).await;
    let src = h.dir.path().join("src");
    fixture(&src);
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
    let src = h.dir.path().join("src");
    fixture(&src);
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
    let config = staging().replace("service:\n", "service:\n  source: ../src\n");
    assert!(config.contains("source: ../src"), "{config}");
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
            "us-docker.pkg.dev/p/r/i:2",
            "--output",
            "json",
        ])
        .await;
    assert_eq!(image.code, 0, "{}", image.all());
    let v: serde_json::Value = serde_json::from_str(&image.stdout).unwrap();
    assert!(v.get("source").is_none(), "{v:#}");
}
