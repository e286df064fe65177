//! Running a build: reading its source archive, checking each step against it, pushing
//! its images, and the log it writes; all decided when the build is created (see the
//! parent module's docs for Google's behaviour modelled here).

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::Read;

use crate::state::State;
use crate::util::items;

/// What a finished build came to, decided when it is created.
#[derive(Debug, Clone)]
pub(super) struct Outcome {
    /// SUCCESS, FAILURE, TIMEOUT, INTERNAL_ERROR.
    pub(super) status: String,
    /// Per step: its status when the build is done.
    pub(super) steps: Vec<String>,
    pub(super) failure: Option<(String, String)>,
    pub(super) images: Vec<(String, String)>,
    pub(super) log: Vec<String>,
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
pub(super) fn substitute(b: &Value, vars: &[(&str, &str)]) -> Value {
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

pub(super) fn text(v: &Value, k: &str) -> String {
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
pub(super) fn run(st: &mut State, b: &Value, project_id: &str) -> Outcome {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
