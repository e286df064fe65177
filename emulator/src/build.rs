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
//!   `operation_polls` polls (of its operation or of builds.get), as Run operations are.
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
//! - Permissions: `cloudbuild.builds.create`/`get` on the project; `builds:submit` needs
//!   `run.builds.create` on the location (cloud.google.com/run/docs/reference/iam/permissions).

use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::time::Duration;

use crate::error::ApiError;
use crate::routes::Ctx;
use crate::state::State;
use crate::util::{items, rfc3339, uuid_from};

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

/// What a finished build came to, decided when it is created.
#[derive(Debug, Clone)]
struct Outcome {
    /// SUCCESS, FAILURE, TIMEOUT, INTERNAL_ERROR.
    status: String,
    /// Per step: its status when the build is done.
    steps: Vec<String>,
    failure: Option<(String, String)>,
    images: Vec<(String, String)>,
    log: Vec<String>,
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

/// The file names in an archive: a gzipped tarball, a plain tarball or a zip.
fn archive_files(data: &[u8]) -> Option<Vec<String>> {
    if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") {
        return Some(zip_names(data));
    }
    let mut raw = Vec::new();
    let bytes: &[u8] = if data.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(data)
            .read_to_end(&mut raw)
            .ok()?;
        &raw
    } else {
        data
    };
    let mut names = Vec::new();
    for entry in tar::Archive::new(bytes).entries().ok()? {
        let entry = entry.ok()?;
        if entry.header().entry_type().is_file() {
            let path = entry.path().ok()?.to_string_lossy().into_owned();
            names.push(path.trim_start_matches("./").to_string());
        }
    }
    Some(names)
}

/// Names from a zip's central directory (signature `PK\x01\x02`, name length at 28, name
/// at 46; PKWARE APPNOTE 4.3.12).
fn zip_names(data: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    let mut i = 0;
    while i + 46 <= data.len() {
        if &data[i..i + 4] == b"PK\x01\x02" {
            let n = u16::from_le_bytes([data[i + 28], data[i + 29]]) as usize;
            let extra = u16::from_le_bytes([data[i + 30], data[i + 31]]) as usize;
            let comment = u16::from_le_bytes([data[i + 32], data[i + 33]]) as usize;
            if let Some(name) = data.get(i + 46..i + 46 + n) {
                let name = String::from_utf8_lossy(name).into_owned();
                if !name.ends_with('/') {
                    names.push(name);
                }
            }
            i += 46 + n + extra + comment;
        } else {
            i += 1;
        }
    }
    names
}

/// The digest of `image` built from `archive`: the same for every tag of one build's
/// image (one manifest pushed under several tags, as `docker build -t A -t B` and
/// `docker push --all-tags` do), so it is keyed on the image name without its tag.
fn digest(archive: &[u8], image: &str) -> String {
    let untagged = match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => name,
        _ => image,
    };
    let mut h = Sha256::new();
    h.update(archive);
    h.update([0]);
    h.update(untagged.as_bytes());
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The build as it runs: Cloud Build's default substitutions (`$PROJECT_ID`, `$BUILD_ID`,
/// `$PROJECT_NUMBER`, `$LOCATION`, also as `${NAME}`) applied to every string of it, as in
/// step names and args and `images`
/// (cloud.google.com/build/docs/configuring-builds/substitute-variable-values).
fn substitute(b: &Value, vars: &[(&str, &str)]) -> Value {
    match b {
        Value::String(s) if s.contains('$') => {
            let mut out = s.clone();
            for (name, value) in vars {
                out = out
                    .replace(&format!("${{{name}}}"), value)
                    .replace(&format!("${name}"), value);
            }
            Value::String(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|v| substitute(v, vars)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), substitute(v, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn text(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn args(step: &Value) -> Vec<String> {
    items(step.get("args"))
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// For a `docker build` step, the Dockerfile it needs (relative to the archive root).
fn dockerfile(step: &Value) -> Option<String> {
    let a = args(step);
    let is_docker =
        text(step, "name").contains("docker") && a.first().is_some_and(|x| x == "build");
    if !is_docker {
        return None;
    }
    let file = a
        .iter()
        .position(|x| x == "-f" || x == "--file")
        .and_then(|i| a.get(i + 1).cloned())
        .or_else(|| {
            a.iter()
                .find_map(|x| x.strip_prefix("--file=").map(str::to_string))
        })
        .unwrap_or_else(|| "Dockerfile".into());
    let dir = text(step, "dir");
    let path = if dir.is_empty() || file.starts_with('/') {
        file
    } else {
        format!("{}/{file}", dir.trim_end_matches('/'))
    };
    Some(
        path.trim_start_matches("/workspace/")
            .trim_start_matches("./")
            .to_string(),
    )
}

/// Decides how the build ends: reads its source, checks each step, pushes its images.
fn run(st: &mut State, b: &Value, project_id: &str) -> Outcome {
    let steps: Vec<Value> = items(b.get("steps")).cloned().collect();
    let mut log = vec![
        "starting build \"{ID}\"".to_string(),
        String::new(),
        "FETCHSOURCE".into(),
    ];
    let src = b
        .pointer("/source/storageSource")
        .cloned()
        .unwrap_or(Value::Null);
    let (bucket, object) = (text(&src, "bucket"), text(&src, "object"));
    let fail =
        |status: &str, steps: Vec<String>, kind: &str, detail: String, mut log: Vec<String>| {
            log.push("ERROR".into());
            log.push(format!("ERROR: {detail}"));
            Outcome {
                status: status.into(),
                steps,
                failure: Some((kind.into(), detail)),
                images: Vec::new(),
                log,
            }
        };
    // `storageSource.generation` pins the object: another generation is not fetched
    // (cloudbuild.v1 discovery, `StorageSource.generation`: "if omitted, the latest
    // generation will be used").
    let generation = src.get("generation").and_then(|g| match g {
        Value::String(s) => s.parse::<i64>().ok(),
        v => v.as_i64(),
    });
    let live_generation = crate::storage::object_generation(st, &bucket, &object);
    let archive = match (generation, live_generation) {
        (Some(want), Some(live)) if want != live => None,
        _ => crate::storage::object_bytes(st, &bucket, &object),
    };
    let Some(archive) = archive else {
        let detail = format!(
            "failed to fetch source: object gs://{bucket}/{object} not found or not readable"
        );
        return fail(
            "FAILURE",
            vec!["QUEUED".into(); steps.len()],
            "FETCH_SOURCE_FAILED",
            detail,
            log,
        );
    };
    log.push(format!("Fetching storage object: gs://{bucket}/{object}"));
    let files = archive_files(&archive).unwrap_or_default();
    log.push(format!("Extracted {} files.", files.len()));
    let forced = st.builds.behaviour.fail.clone();
    let mut statuses = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        log.push("BUILD".into());
        log.push(format!("Starting Step #{i}"));
        log.push(format!(
            "Step #{i}: Already have image: {}",
            text(step, "name")
        ));
        let forced_here = forced
            .as_ref()
            .filter(|f| f.step.min(steps.len().saturating_sub(1)) == i);
        if let Some(f) = forced_here {
            log.extend(f.log_lines.iter().map(|l| format!("Step #{i}: {l}")));
            log.push(format!("Finished Step #{i}"));
            statuses.push(f.status.clone());
            statuses.extend(vec!["QUEUED".to_string(); steps.len() - i - 1]);
            let detail = format!(
                "build step {i} \"{}\" failed: step exited with non-zero status: 1",
                text(step, "name")
            );
            return fail(&f.status, statuses, "USER_BUILD_STEP", detail, log);
        }
        if let Some(df) = dockerfile(step)
            && !files.contains(&df)
        {
            log.push(format!(
                "Step #{i}: unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat /workspace/{df}: no such file or directory"
            ));
            log.push(format!("Finished Step #{i}"));
            statuses.push("FAILURE".into());
            statuses.extend(vec!["QUEUED".to_string(); steps.len() - i - 1]);
            let detail = format!(
                "build step {i} \"{}\" failed: step exited with non-zero status: 1",
                text(step, "name")
            );
            return fail("FAILURE", statuses, "USER_BUILD_STEP", detail, log);
        }
        log.push(format!("Step #{i}: Successfully built"));
        log.push(format!("Finished Step #{i}"));
        statuses.push("SUCCESS".into());
    }
    let mut images: Vec<String> = items(b.get("images"))
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    for step in &steps {
        let a = args(step);
        if text(step, "name").contains("pack")
            && a.first().is_some_and(|x| x == "build")
            && a.iter().any(|x| x == "--publish")
            && let Some(img) = a.get(1)
            && !images.contains(img)
        {
            images.push(img.clone());
        }
    }
    let extra: Vec<String> = Vec::new();
    let mut pushed = Vec::new();
    if !images.is_empty() {
        log.push("PUSH".into());
    }
    for img in images {
        let d = digest(&archive, &img);
        log.push(format!("Pushing {img}"));
        if !crate::registry::push(st, &img, &d, &extra) {
            let repo = crate::registry::parse_image(st, &img)
                .map(|(k, _, _)| k.rsplit('/').next().unwrap_or_default().to_string())
                .unwrap_or_default();
            let detail = format!("name unknown: Repository \"{repo}\" not found");
            log.push(detail.clone());
            return fail("FAILURE", statuses, "PUSH_FAILED", detail, log);
        }
        log.push(format!(
            "{}: digest: {d}",
            img.rsplit(':').next().unwrap_or_default()
        ));
        pushed.push((img, d));
    }
    let _ = project_id;
    log.push("DONE".into());
    Outcome {
        status: "SUCCESS".into(),
        steps: statuses,
        failure: None,
        images: pushed,
        log,
    }
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
    let Some(rec) = st.builds.builds.get_mut(id) else {
        return;
    };
    if poll {
        rec.polls.poll();
    }
    if rec.finished {
        return;
    }
    let done = rec.polls.due();
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
    let (pid, number) = project(c.st, &c.p[0])?;
    crate::authz::require_on_project(
        c.st,
        "cloudbuild.builds.create",
        &format!("projects/{pid}"),
        &pid,
    )?;
    let location = c.p[1].clone();
    let name = start(c.st, &pid, number, &location, c.body.clone())?;
    let id = c.st.builds.ops[&name].clone();
    Ok(op_json(&c.st.builds.builds[&id]))
}

/// `cloudbuild.projects.locations.builds.get`.
pub(crate) fn get(c: &mut Ctx<'_>) -> Result<Value, ApiError> {
    let (pid, _) = project(c.st, &c.p[0])?;
    crate::authz::require_on_project(
        c.st,
        "cloudbuild.builds.get",
        &format!("projects/{pid}"),
        &pid,
    )?;
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
    let (pid, number) = project(c.st, &c.p[0])?;
    crate::authz::require_on_project(
        c.st,
        "cloudbuild.builds.get",
        &format!("projects/{pid}"),
        &pid,
    )?;
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
        "run.builds.create",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfiles_follow_the_step() {
        let s = json!({"name": "gcr.io/cloud-builders/docker", "args": ["build", "-t", "x", "."]});
        assert_eq!(dockerfile(&s).as_deref(), Some("Dockerfile"));
        let s = json!({"name": "gcr.io/cloud-builders/docker", "args": ["build", "-f", "deploy/Dockerfile", "."]});
        assert_eq!(dockerfile(&s).as_deref(), Some("deploy/Dockerfile"));
        let s =
            json!({"name": "gcr.io/cloud-builders/docker", "dir": "app", "args": ["build", "."]});
        assert_eq!(dockerfile(&s).as_deref(), Some("app/Dockerfile"));
        let s = json!({"name": "gcr.io/k8s-skaffold/pack", "args": ["build", "x"]});
        assert_eq!(dockerfile(&s), None);
    }

    #[test]
    fn archives_list_their_files() {
        let mut tar = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(4);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, "Dockerfile", &b"FROM"[..]).unwrap();
        let raw = tar.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &raw).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(archive_files(&gz).unwrap(), ["Dockerfile"]);
        assert_eq!(archive_files(&raw).unwrap(), ["Dockerfile"]);
    }
}
