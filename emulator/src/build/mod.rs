//! Cloud Build v1 (`projects.locations.builds.create/get`, `projects.locations.operations.get`)
//! and Cloud Run v2's `builds:submit`, which starts the same kind of build: what a source
//! deploy runs between uploading its archive and deploying the image.
//!
//! Modelled from the cloudbuild.v1 and run.v2 discovery documents and Cloud Build's docs:
//! - builds.create answers an Operation whose `metadata` is a `BuildOperationMetadata`
//!   `{build}`; when done its `response` is the Build, or for a build that did not succeed
//!   its `error` (code 2 UNKNOWN, "Build failed; check build logs for details", the message
//!   gcloud prints for a failed source deploy; the code is not documented) with the failed
//!   Build still in `metadata`.
//! - `builds:submit` (run.v2 `SubmitBuildRequest`: `storageSource`, `imageUri`,
//!   `dockerBuild` or `buildpackBuild`, `tags`, `serviceAccount`) answers a
//!   `SubmitBuildResponse` whose `buildOperation` is that Cloud Build Operation (gcloud polls
//!   it by name with Cloud Build's operations.get, `command_lib/run/sourcedeploys/deployer.py`),
//!   plus `baseImageUri` for buildpacks. With the world's `submitBuild: notFound` it is 404,
//!   as where the method is not available, and a client falls back to builds.create.
//! - Progress: a build is QUEUED when created, WORKING after its first poll and done after
//!   `operation_polls` polls (of its operation or of builds.get), as Run operations are, and
//!   once `build_duration` has passed on the emulator clock (zero unless set: the benchmark
//!   sets it, since a real build takes its time however often it is polled).
//!   Its times come from the emulator clock (a fixed epoch, 2025-01-01T00:00:00Z, plus
//!   [`crate::Emulator::now`]), so a test that advances the clock sees elapsed time.
//! - Running: the source (`source.storageSource`, a gzipped tarball or a zip) is read from the
//!   emulated bucket (missing: FAILURE with `failureInfo.type` FETCH_SOURCE_FAILED). A
//!   `docker build` step needs its Dockerfile (`-f`/`--file`, else `Dockerfile` in the step's
//!   `dir`) in the archive, or it fails with docker's "lstat ... no such file or directory".
//!   Images listed in `images` (or built by a `pack build --publish` step) are pushed after
//!   the steps; an Artifact Registry image whose repository does not exist fails the build
//!   (`failureInfo.type` PUSH_FAILED, docker's `name unknown: Repository "R" not found`).
//!   `results.images[]` carry `name` and a deterministic `digest`: `sha256:` of the archive's
//!   bytes and the image name without its tag (every tag of one build's image has one
//!   digest). Steps and `images` run with Cloud Build's default substitutions (`$BUILD_ID`,
//!   `$PROJECT_ID`, `$PROJECT_NUMBER`, `$LOCATION`) applied.
//! - Logs: `logsBucket` (default `gs://PROJECT_NUMBER.cloudbuild-logs.googleusercontent.com`)
//!   gets `log-BUILD_ID.txt` when the build ends (`options.logging` LEGACY writes there,
//!   cloud.google.com/build/docs/securing-builds/store-manage-build-logs); `logUrl` is the
//!   Console page of the build.
//! - World option `failBuilds: {step, logLines, status}` fails every build at that step.
//! - Permissions: `cloudbuild.builds.create`/`get` on the project, `builds:submit` included:
//!   it starts a Cloud Build, and there is no `run.builds.*` permission (no predefined role
//!   holds one, see `types/roles/`). Google asks a source deployer for
//!   `roles/run.sourceDeveloper` (which holds `cloudbuild.builds.create`/`get`),
//!   `roles/serviceusage.serviceUsageConsumer` and `roles/iam.serviceAccountUser`
//!   (cloud.google.com/run/docs/deploying-source-code).

use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::ApiError;
use crate::routes::Ctx;
use crate::state::State;
use crate::util::{items, rfc3339, uuid_from};

mod steps;

use steps::{Outcome, run, substitute, text};

/// `failBuilds: {step: 0, logLines: [...], status: FAILURE}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct FailBuilds {
    /// Index of the step that fails (clamped to the last step).
    #[serde(default)]
    pub(crate) step: usize,
    /// What the failing step prints before it fails.
    #[serde(default)]
    pub(crate) log_lines: Vec<String>,
    /// The build's and the step's status: FAILURE (default), TIMEOUT or INTERNAL_ERROR.
    #[serde(default = "failure")]
    pub(crate) status: String,
}

fn failure() -> String {
    "FAILURE".into()
}

/// `submitBuild: available | notFound`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SubmitBuild {
    /// `builds:submit` starts a build.
    #[default]
    Available,
    /// `builds:submit` is 404 NOT_FOUND.
    NotFound,
}

/// The world's options for builds.
#[derive(Debug, Clone, Default)]
pub(crate) struct BuildBehaviour {
    pub(crate) fail: Option<FailBuilds>,
    pub(crate) submit: SubmitBuild,
    pub(crate) default_account: DefaultBuildAccount,
}

/// `defaultBuildAccount: compute | legacy | none`: the account
/// `projects.locations.getDefaultServiceAccount` names (cloudbuild.v1 discovery,
/// `DefaultServiceAccount.serviceAccountEmail`: the legacy `NUMBER@cloudbuild.gserviceaccount.com`
/// or, for projects made since 2024, `NUMBER-compute@developer.gserviceaccount.com`,
/// cloud.google.com/build/docs/cloud-build-service-account-updates; empty when none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DefaultBuildAccount {
    /// The Compute Engine default account, a new project's default.
    #[default]
    Compute,
    /// The legacy Cloud Build account.
    Legacy,
    /// No default: builds must name an account.
    None,
}

#[derive(Debug, Clone)]
pub(crate) struct BuildRec {
    id: String,
    project_id: String,
    location: String,
    op_name: String,
    build: Value,
    polls: crate::run::Polls,
    created: Duration,
    outcome: Outcome,
    finished: bool,
}

/// Builds by id, and operation names to build ids.
#[derive(Debug, Default)]
pub(crate) struct Builds {
    pub(crate) builds: BTreeMap<String, BuildRec>,
    pub(crate) ops: BTreeMap<String, String>,
    pub(crate) behaviour: BuildBehaviour,
}

const BUILD_TYPE: &str = "type.googleapis.com/google.devtools.cloudbuild.v1.Build";
const METADATA_TYPE: &str =
    "type.googleapis.com/google.devtools.cloudbuild.v1.BuildOperationMetadata";
/// 2025-01-01T00:00:00Z: build times are this plus the emulator clock.
const EPOCH: i64 = 1_735_689_600;

fn at(t: Duration) -> String {
    rfc3339(EPOCH + t.as_secs() as i64, t.subsec_micros())
}

fn project(st: &State, p: &str) -> Result<(String, u64), ApiError> {
    crate::run::project_or_denied(st, p).map(|p| (p.id.clone(), p.number))
}

/// The project `p` names (id and number), once the caller holds `permission` on it.
fn authorised(st: &State, p: &str, permission: &str) -> Result<(String, u64), ApiError> {
    let (pid, number) = project(st, p)?;
    crate::authz::require_on_project(st, permission, &format!("projects/{pid}"), &pid)?;
    Ok((pid, number))
}

/// Creates a build from a Cloud Build `Build` body; returns its operation's name.
fn start(
    st: &mut State,
    project_id: &str,
    number: u64,
    location: &str,
    mut b: Value,
) -> Result<String, ApiError> {
    if !b.is_object() {
        b = json!({});
    }
    if items(b.get("steps")).next().is_none() {
        return Err(ApiError::invalid(
            "invalid build: build must have at least one step",
        ));
    }
    let salt = st.next_salt();
    let id = uuid_from(&salt);
    let op_name = format!(
        "projects/{number}/locations/{location}/operations/{}",
        uuid_from(&format!("op{salt}"))
    );
    let logs_bucket = match text(&b, "logsBucket") {
        l if l.is_empty() => format!("gs://{number}.cloudbuild-logs.googleusercontent.com"),
        l => l,
    };
    let now = st.now();
    let o = b.as_object_mut().expect("checked above");
    o.insert(
        "name".into(),
        format!("projects/{number}/locations/{location}/builds/{id}").into(),
    );
    o.insert("id".into(), id.clone().into());
    o.insert("projectId".into(), project_id.into());
    o.insert("status".into(), "QUEUED".into());
    o.insert("createTime".into(), at(now).into());
    o.insert("logsBucket".into(), logs_bucket.into());
    o.insert(
        "logUrl".into(),
        format!("https://console.cloud.google.com/cloud-build/builds;region={location}/{id}?project={number}").into(),
    );
    o.entry("timeout").or_insert("600s".into());
    if let Some(opts) = o.entry("options").or_insert(json!({})).as_object_mut() {
        opts.entry("logging").or_insert("LEGACY".into());
    }
    if let Some(steps) = o.get_mut("steps").and_then(Value::as_array_mut) {
        for s in steps.iter_mut() {
            if let Some(s) = s.as_object_mut() {
                s.insert("status".into(), "QUEUED".into());
            }
        }
    }
    let executed = substitute(
        &b,
        &[
            ("PROJECT_ID", project_id),
            ("BUILD_ID", &id),
            ("PROJECT_NUMBER", &number.to_string()),
            ("LOCATION", location),
        ],
    );
    let mut outcome = run(st, &executed, project_id);
    for line in outcome.log.iter_mut() {
        *line = line.replace("{ID}", &id);
    }
    let rec = BuildRec {
        id: id.clone(),
        project_id: project_id.to_string(),
        location: location.to_string(),
        op_name: op_name.clone(),
        build: b,
        polls: crate::run::Polls::new(st.operation_polls),
        created: now,
        outcome,
        finished: false,
    };
    st.builds.ops.insert(op_name.clone(), id.clone());
    st.builds.builds.insert(id.clone(), rec);
    if st.operation_polls == 0 {
        advance(st, &id, false);
    }
    Ok(op_name)
}

/// One poll of build `id` (its operation or builds.get): QUEUED -> WORKING -> done.
fn advance(st: &mut State, id: &str, poll: bool) {
    let now = st.now();
    let duration = st.build_duration;
    let Some(rec) = st.builds.builds.get_mut(id) else {
        return;
    };
    if poll {
        rec.polls.poll();
    }
    if rec.finished {
        return;
    }
    let done = rec.polls.due() && now.saturating_sub(rec.created) >= duration;
    let o = rec.build.as_object_mut().expect("a build is an object");
    if !o.contains_key("startTime") && (rec.polls.polls > 0 || done) {
        o.insert("startTime".into(), at(rec.created).into());
        o.insert("status".into(), "WORKING".into());
    }
    if !done {
        return;
    }
    rec.finished = true;
    let out = rec.outcome.clone();
    let (start, end) = (rec.created, now.max(rec.created));
    o.insert("status".into(), out.status.clone().into());
    o.insert("finishTime".into(), at(end).into());
    let n = out.steps.len().max(1) as u32;
    if let Some(steps) = o.get_mut("steps").and_then(Value::as_array_mut) {
        for (i, (s, status)) in steps.iter_mut().zip(&out.steps).enumerate() {
            let Some(s) = s.as_object_mut() else { continue };
            s.insert("status".into(), status.clone().into());
            if status != "QUEUED" {
                let span = (end - start) / n;
                s.insert(
                    "timing".into(),
                    json!({"startTime": at(start + span * i as u32), "endTime": at(start + span * (i as u32 + 1))}),
                );
            }
        }
    }
    o.insert(
        "timing".into(),
        json!({"BUILD": {"startTime": at(start), "endTime": at(end)}}),
    );
    if let Some((kind, detail)) = &out.failure {
        o.insert(
            "failureInfo".into(),
            json!({"type": kind, "detail": detail}),
        );
        o.insert("statusDetail".into(), detail.clone().into());
    }
    let mut images = Vec::new();
    for (name, digest) in &out.images {
        images.push(json!({"name": name, "digest": digest, "pushTiming": {"startTime": at(end), "endTime": at(end)}}));
    }
    if !images.is_empty() {
        o.insert("results".into(), json!({"images": images}));
    }
    let logs_bucket = text(&rec.build, "logsBucket");
    let (pid, bid) = (rec.project_id.clone(), rec.id.clone());
    let log = out.log.join("\n") + "\n";
    if let Some(bucket) = logs_bucket.strip_prefix("gs://") {
        let bucket = bucket.split('/').next().unwrap_or(bucket).to_string();
        crate::storage::write_internal(
            st,
            &pid,
            &bucket,
            &format!("log-{bid}.txt"),
            log.into_bytes(),
            "text/plain",
        );
    }
}

fn op_json(rec: &BuildRec) -> Value {
    let mut meta = Map::new();
    meta.insert("@type".into(), METADATA_TYPE.into());
    meta.insert("build".into(), rec.build.clone());
    let mut out = json!({"name": rec.op_name, "metadata": meta, "done": rec.finished});
    if rec.finished {
        if rec.outcome.status == "SUCCESS" {
            out["response"] = crate::util::any(BUILD_TYPE, &rec.build);
        } else {
            out["error"] =
                json!({"code": 2, "message": "Build failed; check build logs for details"});
        }
    }
    out
}

/// `cloudbuild.projects.locations.builds.create`.
pub(crate) fn create(c: &mut Ctx<'_>) -> Result<Value, ApiError> {
    let (pid, number) = authorised(c.st, &c.p[0], "cloudbuild.builds.create")?;
    let location = c.p[1].clone();
    let name = start(c.st, &pid, number, &location, c.body.clone())?;
    let id = c.st.builds.ops[&name].clone();
    Ok(op_json(&c.st.builds.builds[&id]))
}

/// `cloudbuild.projects.locations.builds.get`.
pub(crate) fn get(c: &mut Ctx<'_>) -> Result<Value, ApiError> {
    let (pid, _) = authorised(c.st, &c.p[0], "cloudbuild.builds.get")?;
    let id = c.p[2].clone();
    let found =
        c.st.builds
            .builds
            .get(&id)
            .is_some_and(|b| b.project_id == pid && b.location == c.p[1]);
    if !found {
        return Err(ApiError::not_found("Requested entity was not found."));
    }
    advance(c.st, &id, true);
    Ok(c.st.builds.builds[&id].build.clone())
}

/// Whether `projects/{p}/locations/{l}/operations/{o}` is a Cloud Build operation.
pub(crate) fn owns_operation(st: &State, p: &[String]) -> bool {
    st.builds.ops.contains_key(&op_key(st, p))
}

/// Cloud Build names operations with the project number.
fn op_key(st: &State, p: &[String]) -> String {
    let number = st
        .project(&p[0])
        .map_or(p[0].clone(), |x| x.number.to_string());
    format!("projects/{number}/locations/{}/operations/{}", p[1], p[2])
}

/// `cloudbuild.projects.locations.operations.get`.
pub(crate) fn get_operation(c: &mut Ctx<'_>) -> Result<Value, ApiError> {
    let key = op_key(c.st, &c.p);
    let id =
        c.st.builds
            .ops
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("Operation \"{key}\" not found.")))?;
    advance(c.st, &id, true);
    Ok(op_json(&c.st.builds.builds[&id]))
}

/// `cloudbuild.projects.locations.getDefaultServiceAccount`: the project's default build
/// account as `projects/PROJECT/serviceAccounts/EMAIL`, or empty. The permission is not
/// documented per method; `cloudbuild.builds.get` is asked, as for reading builds.
pub(crate) fn default_service_account(c: &mut Ctx<'_>) -> Result<Value, ApiError> {
    let (pid, number) = authorised(c.st, &c.p[0], "cloudbuild.builds.get")?;
    let email = match c.st.builds.behaviour.default_account {
        DefaultBuildAccount::Compute => {
            format!("projects/{pid}/serviceAccounts/{number}-compute@developer.gserviceaccount.com")
        }
        DefaultBuildAccount::Legacy => {
            format!("projects/{pid}/serviceAccounts/{number}@cloudbuild.gserviceaccount.com")
        }
        DefaultBuildAccount::None => String::new(),
    };
    Ok(json!({
        "name": format!("projects/{pid}/locations/{}/defaultServiceAccount", c.p[1]),
        "serviceAccountEmail": email,
    }))
}

/// `run.projects.locations.builds.submit`: the Cloud Build that Cloud Run starts.
pub(crate) fn submit(c: &mut Ctx<'_>) -> Result<Value, ApiError> {
    if c.st.builds.behaviour.submit == SubmitBuild::NotFound {
        return Err(ApiError::not_found("Method not found."));
    }
    let (pid, number) = project(c.st, &c.p[0])?;
    let location = c.p[1].clone();
    crate::authz::require_on_project(
        c.st,
        "cloudbuild.builds.create",
        &format!("projects/{pid}/locations/{location}"),
        &pid,
    )?;
    let b = &c.body;
    let src = b.get("storageSource").cloned().unwrap_or(Value::Null);
    if text(&src, "bucket").is_empty() || text(&src, "object").is_empty() {
        return Err(ApiError::invalid(
            "storage_source: bucket and object are required",
        ));
    }
    let image = text(b, "imageUri");
    if image.is_empty() {
        return Err(ApiError::invalid("image_uri is required"));
    }
    let mut out = json!({});
    let step = if b.get("dockerBuild").is_some() {
        json!({"name": "gcr.io/cloud-builders/docker", "args": ["build", "--network", "cloudbuild", "--no-cache", "-t", image, "."]})
    } else if let Some(bp) = b.get("buildpackBuild") {
        let base = match text(bp, "baseImage") {
            s if s.is_empty() => "gcr.io/buildpacks/builder:latest".to_string(),
            s => s,
        };
        out["baseImageUri"] = base.clone().into();
        json!({"name": "gcr.io/k8s-skaffold/pack", "args": ["build", image, "--builder", base, "--network", "cloudbuild", "--path", "."]})
    } else {
        return Err(ApiError::invalid(
            "one of docker_build or buildpack_build is required",
        ));
    };
    let mut build = json!({
        "source": {"storageSource": src},
        "steps": [step],
        "images": [image],
        "tags": b.get("tags").cloned().unwrap_or(json!([])),
    });
    if let Some(sa) = b.get("serviceAccount").filter(|s| s.is_string()) {
        build["serviceAccount"] = sa.clone();
    }
    if let Some(pool) = b.get("workerPool").filter(|s| s.is_string()) {
        build["options"] = json!({"pool": {"name": pool}});
    }
    let name = start(c.st, &pid, number, &location, build)?;
    let id = c.st.builds.ops[&name].clone();
    out["buildOperation"] = op_json(&c.st.builds.builds[&id]);
    Ok(out)
}

/// A build by id, as builds.get answers it (enum names), for tests.
pub(crate) fn build_json(st: &State, id: &str) -> Option<Value> {
    st.builds.builds.get(id).map(|b| b.build.clone())
}
