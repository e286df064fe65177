//! A source deploy's dealings with Google around the build, as gcloud has
//! them: the staging bucket's owner and name, the archive checked by its
//! checksum and pinned by generation, the build's region and account,
//! creates retried on 5xx, and Cloud Run's validation before the image
//! exists.

use autosre_emulator::{DefaultBuildAccount, Fault, MissingImageValidation, SubmitBuild};

use crate::harness::*;
use crate::source::{
    BUCKET, deploy_source, fixture_dir, pushed_image, running_image, upload_result,
};

/// The one build the deploy made, as Cloud Build recorded it.
fn the_build(h: &Harness, run: &Run) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let id = v["outcome"]["build"]["id"].as_str().unwrap();
    h.emulator.build(id).expect("the build is recorded")
}

/// The generation of the staged archive.
fn generation_of(h: &Harness, bucket: &str) -> i64 {
    let objects = h.emulator.objects(bucket);
    assert_eq!(objects.len(), 1, "{objects:?}");
    h.emulator
        .with_state(|st| st.object_generation(bucket, &objects[0]))
        .expect("the archive is there")
}

/// The archive a deploy of `src` uploads, as a first deploy elsewhere
/// staged it (the archive is reproducible).
async fn archive_of(src: &std::path::Path) -> Vec<u8> {
    let h = Harness::start_staging(staging_world().build()).await;
    let run = deploy_source(&h, src, &[]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let objects = h.emulator.objects(BUCKET);
    h.emulator.object(BUCKET, &objects[0]).unwrap()
}

/// Where builds:submit is not served, Cloud Build builds in `global`, as
/// gcloud's fallback does; `build.worker_pool` moves it to the pool's
/// region and names the pool. The build gets the uploaded generation.
#[tokio::test(flavor = "multi_thread")]
async fn the_cloud_build_fallback_builds_in_global_unless_a_pool_or_region_is_named() {
    let world = || staging_world().submit_build(SubmitBuild::NotFound).build();
    let h = Harness::start_staging(world()).await;
    let src = fixture_dir(&h);
    let run = deploy_source(&h, &src, &["--output", "json"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let creates: Vec<String> = h
        .journal()
        .into_iter()
        .filter(|e| e.rpc == "cloudbuild.projects.locations.builds.create")
        .map(|e| e.path)
        .collect();
    assert_eq!(
        creates,
        [format!("/v1/projects/{PROJECT}/locations/global/builds")]
    );
    let build = the_build(&h, &run);
    assert_eq!(
        build["source"]["storageSource"]["generation"]
            .as_str()
            .map(str::to_string),
        Some(generation_of(&h, BUCKET).to_string()),
        "{build:#}"
    );
    assert_eq!(running_image(&h), pushed_image(&h));

    let h = Harness::start_staging(world()).await;
    let src = fixture_dir(&h);
    const POOL: &str = "projects/acme-sre-staging/locations/europe-west1/workerPools/builders";
    h.write_config(
        "staging",
        &format!("{}build:\n  worker_pool: {POOL}\n", staging()),
    );
    let run = deploy_source(&h, &src, &["--output", "json"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        h.count("cloudbuild.projects.locations.builds.create"),
        1,
        "{:#?}",
        h.write_rpcs()
    );
    assert!(
        h.journal()
            .iter()
            .any(|e| e.path == format!("/v1/projects/{PROJECT}/locations/europe-west1/builds")),
        "{:#?}",
        h.journal().iter().map(|e| &e.path).collect::<Vec<_>>()
    );
    let build = the_build(&h, &run);
    assert_eq!(build["options"]["pool"]["name"], POOL, "{build:#}");
}

/// builds:submit gets the generation uploaded, and the build fetches that
/// generation only.
#[tokio::test(flavor = "multi_thread")]
async fn builds_submit_gets_the_uploaded_generation() {
    let h = Harness::start_staging(staging_world().build()).await;
    let src = fixture_dir(&h);
    let run = deploy_source(&h, &src, &["--output", "json"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let build = the_build(&h, &run);
    assert_eq!(
        build["source"]["storageSource"]["generation"]
            .as_str()
            .map(str::to_string),
        Some(generation_of(&h, BUCKET).to_string()),
        "{build:#}"
    );
}

/// `run-sources-PROJECT-REGION` taken by another project (a squatter, or a
/// name claimed first): the deploy stages in a new `run-sources-<uuid>`
/// bucket of its own and uploads nothing to the other one, whether Storage
/// shows the bucket (its `projectNumber` is not ours) or refuses to (403).
#[tokio::test(flavor = "multi_thread")]
async fn a_staging_bucket_of_another_project_is_never_used() {
    let random = regex::Regex::new(r"^run-sources-[0-9a-f]{32}$").unwrap();
    for enforced in [false, true] {
        let mut world = staging_world().project("squatter-project", 999_000_111);
        if enforced {
            world = world
                .caller("deployer@example.com")
                .enforce_caller_permissions();
            for role in crate::source::SOURCE_DEPLOYER {
                world = world.project_binding(PROJECT, role, "user:deployer@example.com");
            }
        }
        let h = Harness::start_staging(world.build()).await;
        h.emulator
            .with_state(|st| st.create_bucket("squatter-project", BUCKET));
        let src = fixture_dir(&h);
        let run = deploy_source(&h, &src, &["--output", "json"]).await;
        assert_eq!(run.code, 0, "enforced={enforced}: {}", run.all());
        assert!(
            h.emulator.objects(BUCKET).is_empty(),
            "nothing for the squatter"
        );
        run.assert_stderr_contains(&format!("gs://{BUCKET}"));
        let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        // The plan said so; the outcome names the bucket staged in.
        let planned = &v["plan"]["source"]["steps"][0];
        // Seen to be another project's, or refused (403): a create either way.
        let action = match enforced {
            false => "create",
            true => "create_if_missing",
        };
        assert_eq!(planned["action"], action, "{planned:#}");
        let staged = &v["outcome"]["build"]["steps"][0];
        assert_eq!(staged["step"], "bucket", "{staged:#}");
        assert_eq!(staged["result"], "created", "{staged:#}");
        let bucket = staged["target"].as_str().unwrap();
        let bucket = bucket.strip_prefix("gs://").unwrap().to_string();
        assert!(random.is_match(&bucket), "{bucket}");
        assert_eq!(h.emulator.objects(&bucket).len(), 1);
        let build = the_build(&h, &run);
        assert_eq!(build["source"]["storageSource"]["bucket"], bucket.as_str());
        assert_eq!(running_image(&h), pushed_image(&h));
    }
}

/// An object at the archive's name whose checksum is not the archive's is
/// not taken for it: it is replaced (with its generation as the
/// precondition), and the build fetches the new bytes.
#[tokio::test(flavor = "multi_thread")]
async fn an_existing_object_is_reused_only_when_its_checksum_matches() {
    let h = Harness::start_staging(staging_world().build()).await;
    let src = fixture_dir(&h);
    let plan = h
        .run(&[
            "plan",
            "--env",
            "staging",
            "--source",
            src.to_str().unwrap(),
            "--output",
            "json",
        ])
        .await;
    let v: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let object = v["source"]["object"].as_str().unwrap().to_string();
    h.emulator
        .with_state(|st| st.put_object(PROJECT, BUCKET, &object, b"not the archive"));
    h.emulator.clear_journal();
    let run = deploy_source(&h, &src, &["--output", "json"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        h.count("storage.objects.insert"),
        1,
        "{:#?}",
        h.write_rpcs()
    );
    let insert = h
        .journal()
        .into_iter()
        .find(|e| e.rpc == "storage.objects.insert")
        .unwrap();
    assert!(
        !insert.query.contains("ifGenerationMatch=0"),
        "{}",
        insert.query
    );
    assert_ne!(
        h.emulator.object(BUCKET, &object).unwrap(),
        b"not the archive"
    );
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(upload_result(&v), "uploaded");
    assert_eq!(running_image(&h), pushed_image(&h));
}

/// Another upload lands between the read and ours: Storage answers 412 to
/// `ifGenerationMatch=0`. The object is read again and compared: the same
/// archive is used (by its generation); other bytes stop the deploy before
/// any build, never "uploaded" by assumption.
#[tokio::test(flavor = "multi_thread")]
async fn a_412_on_upload_is_judged_by_the_checksum_read_again() {
    for same in [true, false] {
        let h = Harness::start_staging(staging_world().build()).await;
        let src = fixture_dir(&h);
        let plan = h
            .run(&[
                "plan",
                "--env",
                "staging",
                "--source",
                src.to_str().unwrap(),
                "--output",
                "json",
            ])
            .await;
        let v: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
        let object = v["source"]["object"].as_str().unwrap().to_string();
        // The archive the deploy is about to upload, as the other writer has it.
        let archive = archive_of(&src).await;
        let written = match same {
            true => archive,
            false => b"someone else's bytes".to_vec(),
        };
        let name = object.clone();
        h.emulator
            .before_request("POST", "/upload/storage/v1/b/", move |st| {
                st.put_object(PROJECT, BUCKET, &name, &written)
            });
        let run = deploy_source(&h, &src, &["--output", "json"]).await;
        let statuses: Vec<u16> = h
            .journal()
            .into_iter()
            .filter(|e| e.rpc == "storage.objects.insert")
            .map(|e| e.status)
            .collect();
        assert_eq!(statuses, [412], "{same}");
        if same {
            assert_eq!(run.code, 0, "{}", run.all());
            let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
            assert_eq!(upload_result(&v), "existing");
            assert_eq!(running_image(&h), pushed_image(&h));
        } else {
            assert_eq!(run.code, 1, "{}", run.all());
            run.assert_stderr_contains("checksum differs");
            assert_eq!(h.count("run.projects.locations.builds.submit"), 0);
            assert!(h.emulator.service(SERVICE).is_none());
        }
    }
}

/// The bucket and repository creates are repeated on a 5xx, as gcloud's
/// HTTP layer repeats them: a create that did land answers the repeat with
/// 409 / ALREADY_EXISTS, which is "there".
#[tokio::test(flavor = "multi_thread")]
async fn bucket_and_repository_creates_are_retried_on_5xx() {
    let h = Harness::start_staging(staging_world().build()).await;
    let src = fixture_dir(&h);
    // The bucket insert lands, then its answer is lost as a 503.
    h.emulator.before_request("POST", "/storage/v1/b", |st| {
        st.create_bucket(PROJECT, BUCKET)
    });
    h.emulator
        .inject_fault(Fault::status(Some("POST"), "/storage/v1/b", 503, 1));
    // The repository create is refused with a 500 before it lands.
    h.emulator
        .inject_fault(Fault::status(Some("POST"), "/repositories", 500, 1));
    let run = deploy_source(&h, &src, &[]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let answers = |rpc: &str| -> Vec<u16> {
        h.journal()
            .into_iter()
            .filter(|e| e.rpc == rpc)
            .map(|e| e.status)
            .collect()
    };
    assert_eq!(answers("storage.buckets.insert"), [503, 409]);
    assert_eq!(
        answers("artifactregistry.projects.locations.repositories.create"),
        [500, 200]
    );
    assert_eq!(running_image(&h), pushed_image(&h));
}

/// The build's account: Cloud Build's default (here the Compute Engine
/// default account) is looked up and named in the plan, with a warning
/// when the project policy gives it no role holding the build permissions;
/// `build.service_account` is sent with the build, and the deployer's
/// `actAs` on it is part of the preflight.
#[tokio::test(flavor = "multi_thread")]
async fn the_plan_names_the_build_account_and_warns_when_it_has_no_build_role() {
    let compute = format!("{NUMBER}-compute@developer.gserviceaccount.com");
    let h = Harness::start_staging(staging_world().build()).await;
    let src = fixture_dir(&h);
    let src_arg = src.to_str().unwrap();
    let plan = h
        .run(&[
            "plan", "--env", "staging", "--source", src_arg, "--output", "json",
        ])
        .await;
    assert_eq!(plan.code, 0, "{}", plan.all());
    let v: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(
        v["source"]["build_account"],
        compute.as_str(),
        "{:#}",
        v["source"]
    );
    assert_eq!(v["source"]["build_location"], "global");
    let kinds: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"build_account_without_build_role"),
        "{kinds:?}"
    );
    let text = h
        .run(&["plan", "--env", "staging", "--source", src_arg])
        .await;
    text.assert_all_contains(&format!("builds as {compute}"));
    text.assert_all_contains("--role=roles/run.builder");
    assert_eq!(
        h.count("cloudbuild.projects.locations.getDefaultServiceAccount"),
        2
    );

    // With roles/run.builder on the project, no warning.
    let world = staging_world()
        .project_binding(
            PROJECT,
            "roles/run.builder",
            &format!("serviceAccount:{compute}"),
        )
        .build();
    let h = Harness::start_staging(world).await;
    let src = fixture_dir(&h);
    let plan = h
        .run(&[
            "plan",
            "--env",
            "staging",
            "--source",
            src.to_str().unwrap(),
            "--output",
            "json",
        ])
        .await;
    let v: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert!(
        !v["warnings"]
            .to_string()
            .contains("build_account_without_build_role"),
        "{:#}",
        v["warnings"]
    );

    // No default account at all: said, and the config is the way out.
    let world = staging_world()
        .default_build_account(DefaultBuildAccount::None)
        .build();
    let h = Harness::start_staging(world).await;
    let src = fixture_dir(&h);
    let plan = h
        .run(&[
            "plan",
            "--env",
            "staging",
            "--source",
            src.to_str().unwrap(),
        ])
        .await;
    plan.assert_all_contains("set `build.service_account`");

    // A configured account: sent as `serviceAccount`, actAs asked of it.
    const BUILDER: &str = "builder@acme-sre-staging.iam.gserviceaccount.com";
    let world = staging_world().service_account(BUILDER).build();
    let h = Harness::start_staging(world).await;
    let src = fixture_dir(&h);
    h.write_config(
        "staging",
        &format!("{}build:\n  service_account: {BUILDER}\n", staging()),
    );
    let run = deploy_source(&h, &src, &["--output", "json"]).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        h.count("cloudbuild.projects.locations.getDefaultServiceAccount"),
        0
    );
    let build = the_build(&h, &run);
    assert_eq!(
        build["serviceAccount"],
        format!("projects/{PROJECT}/serviceAccounts/{BUILDER}").as_str(),
        "{build:#}"
    );
    let asked = h.journal().into_iter().any(|e| {
        e.rpc == "iam.projects.serviceAccounts.testIamPermissions" && e.path.contains(BUILDER)
    });
    assert!(asked, "actAs on the build account is asked");
}

/// Before the build, Cloud Run's validation is asked with an image that
/// does not exist yet. Whether it resolves the image is not documented:
/// answered "not found" as a 404 or as a NOT_FOUND operation, the source
/// deploy goes on (and the built digest is validated again); not resolved,
/// nothing to say. A "not found" about an image given with `--image` still
/// stops the deploy.
#[tokio::test(flavor = "multi_thread")]
async fn validation_before_the_build_may_not_find_the_image() {
    for answer in [
        MissingImageValidation::NotResolved,
        MissingImageValidation::NotFound,
        MissingImageValidation::FailedOperation,
    ] {
        let world = staging_world().validate_missing_image(answer).build();
        let h = Harness::start_staging(world).await;
        let src = fixture_dir(&h);
        let src_arg = src.to_str().unwrap();
        let plan = h
            .run(&[
                "plan", "--env", "staging", "--source", src_arg, "--output", "json",
            ])
            .await;
        assert_eq!(plan.code, 0, "{answer:?}: {}", plan.all());
        let v: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
        let awaited = v["warnings"]
            .to_string()
            .contains("validation_awaits_build");
        assert_eq!(
            awaited,
            answer != MissingImageValidation::NotResolved,
            "{v:#}"
        );
        h.emulator.clear_journal();
        let run = deploy_source(&h, &src, &[]).await;
        assert_eq!(run.code, 0, "{answer:?}: {}", run.all());
        assert_eq!(running_image(&h), pushed_image(&h));
        // Validated before the build and again with the built digest.
        let validations = h.journal().iter().filter(|e| e.validate_only).count();
        assert_eq!(validations, 2, "{answer:?}");
    }
    let world = staging_world()
        .validate_missing_image(MissingImageValidation::FailedOperation)
        .build();
    let h = Harness::start_staging(world).await;
    h.emulator
        .with_state(|st| st.create_repository(PROJECT, "us-central1", "cloud-run-source-deploy"));
    let image = format!("{}:missing", crate::source::IMAGE_REPO);
    let run = h
        .run(&["deploy", "--env", "staging", "--image", &image])
        .await;
    assert_eq!(run.code, 1, "{}", run.all());
    run.assert_all_contains("not found");
    assert!(h.emulator.service(SERVICE).is_none());
}
