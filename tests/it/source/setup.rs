//! How a build is set up: a bucket or repository another deploy created
//! meanwhile, and buildpacks, a Dockerfile elsewhere and the commit tag.

use super::*;

/// Another deploy creates the staging bucket and the repository between
/// this one's read and its create: Storage answers 409 (its own error
/// shape, no `status`), Artifact Registry ALREADY_EXISTS; both mean "there
/// already", and the deploy goes on.
#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_or_repository_created_concurrently_is_used_as_it_is() {
    let h = Harness::start_staging(staging_world().build()).await;
    let src = fixture_dir(&h);
    h.emulator.before_request("POST", "/storage/v1/b", |state| {
        state.create_bucket(PROJECT, BUCKET);
    });
    h.emulator.before_request("POST", "/repositories", |state| {
        state.create_repository(PROJECT, "us-central1", "cloud-run-source-deploy");
    });
    let run = deploy_source(&h, &src, &[]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let refused: Vec<(String, u16)> = h
        .journal()
        .into_iter()
        .filter(|e| e.status >= 400 && !e.rpc.starts_with("run."))
        .map(|e| (e.rpc, e.status))
        .collect();
    // The plan's reads of the staging first (concurrent: in any order),
    // then the apply's read-then-create of each.
    let mut planned: Vec<(String, u16)> = refused[..3].to_vec();
    planned.sort();
    assert_eq!(
        planned,
        [
            (
                "artifactregistry.projects.locations.repositories.get".to_string(),
                404
            ),
            ("storage.buckets.get".to_string(), 404),
            ("storage.objects.get".to_string(), 404),
        ]
    );
    assert_eq!(
        refused[3..],
        [
            ("storage.buckets.get".to_string(), 404),
            ("storage.buckets.insert".to_string(), 409),
            ("storage.objects.get".to_string(), 404),
            (
                "artifactregistry.projects.locations.repositories.get".to_string(),
                404
            ),
            (
                "artifactregistry.projects.locations.repositories.create".to_string(),
                409
            ),
        ]
    );
    assert_eq!(running_image(&h), pushed_image(&h));
}

/// A checkout (`.git` says the commit) without a root Dockerfile: built
/// with buildpacks through `builds:submit`, the image tagged with the
/// commit, `.git` not uploaded. A `service.dockerfile` elsewhere builds
/// through Cloud Build's `builds.create` with `-f`, tagged with the build id
/// and the commit.
#[tokio::test(flavor = "multi_thread")]
async fn buildpacks_or_a_non_root_dockerfile_and_the_commit_tag() {
    const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
    let h = Harness::start_staging(staging_world().build()).await;
    let src = h.dir.path().join("src");
    write(&src, "main.py", "print('agent')\n");
    write(&src, "requirements.txt", "flask\n");
    write(&src, "docker/Dockerfile", "FROM python:3.12-slim\n");
    write(&src, ".git/HEAD", "ref: refs/heads/main\n");
    write(&src, ".git/refs/heads/main", &format!("{COMMIT}\n"));
    let run = deploy_source(&h, &src, &["--output", "json"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        uploaded_paths(&h),
        ["docker/Dockerfile", "main.py", "requirements.txt"]
    );
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["plan"]["source"]["builder"], "buildpacks", "{v:#}");
    assert_eq!(v["plan"]["source"]["commit"], COMMIT);
    assert_eq!(h.count("run.projects.locations.builds.submit"), 1);
    let images = h.emulator.images(REPOSITORY);
    assert_eq!(images.len(), 1, "{images:?}");
    assert!(images[0].tags.iter().any(|t| t == COMMIT), "{images:?}");
    assert_eq!(running_image(&h), pushed_image(&h));

    // The Dockerfile under docker/: Cloud Build directly.
    let config = staging_service_with("dockerfile: docker/Dockerfile");
    h.write_config("staging", &config);
    h.emulator.clear_journal();
    let run = deploy_source(&h, &src, &["--output", "json"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(h.count("run.projects.locations.builds.submit"), 0);
    assert_eq!(h.count("cloudbuild.projects.locations.builds.create"), 1);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let built = &v["outcome"]["build"];
    assert_eq!(built["cloud_build"], true, "{built:#}");
    let build = h
        .emulator
        .build(built["id"].as_str().unwrap())
        .expect("the build is recorded");
    let args: Vec<&str> = build["steps"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        args.windows(2).any(|w| w == ["-f", "docker/Dockerfile"]),
        "{args:?}"
    );
    let image = built["image"].as_str().unwrap();
    assert_eq!(running_image(&h), image);
    let pushed = h.emulator.images(REPOSITORY);
    let this = pushed
        .iter()
        .find(|i| image.ends_with(&i.digest))
        .unwrap_or_else(|| panic!("{image} not among {pushed:?}"));
    let id = built["id"].as_str().unwrap();
    assert!(this.tags.iter().any(|t| t == id), "{this:?}");
    assert!(this.tags.iter().any(|t| t == COMMIT), "{this:?}");
}
