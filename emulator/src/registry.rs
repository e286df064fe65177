//! Artifact Registry v1: docker repositories (get, create as a long-running operation,
//! operations.get) and the images builds push into them.
//!
//! Modelled from the artifactregistry.v1 discovery document:
//! - `name` is `projects/PROJECT_ID/locations/LOCATION/repositories/REPOSITORY`;
//!   `registryUri` `LOCATION-docker.pkg.dev/PROJECT_ID/REPOSITORY` for docker repositories
//!   (cloud.google.com/artifact-registry/docs/docker/names).
//! - repositories.create answers an Operation (`metadata` an
//!   `google.devtools.artifactregistry.v1.OperationMetadata`), done after the emulator's
//!   `operation_polls` GETs, whose `response` is the Repository; the repository exists once
//!   the operation is done. A `repositoryId` that exists is 409 ALREADY_EXISTS.
//! - Repository ids: lowercase letters, digits and hyphens, starting with a letter, ending
//!   with a letter or digit, at most 63 characters (repositories.create, `repositoryId`).
//! - Permissions: `artifactregistry.repositories.get` on the repository and
//!   `artifactregistry.repositories.create` on the project, held through the project
//!   (cloud.google.com/artifact-registry/docs/access-control).
//!
//! A build that pushes `LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE[:TAG]` records the
//! image (digest and tags) in the repository; pushing to a missing repository fails the build
//! (see `build/mod.rs`). A world seeds images (`images:`), and a test moves a tag with
//! `State::push_image`.
//!
//! `packages.tags.get` answers a docker image's tag as Artifact Registry does: the package id
//! is the image path inside the repository with its slashes escaped, and the tag's `version`
//! is `.../packages/PACKAGE/versions/sha256:...`
//! (cloud.google.com/artifact-registry/docs/reference/rest/v1/projects.locations.repositories.packages.tags;
//! the method needs `artifactregistry.tags.get`,
//! cloud.google.com/artifact-registry/docs/reference/rest/v1/projects.locations.repositories.packages.tags/get).

use serde_json::{Value, json};
use std::collections::BTreeMap;

use crate::error::ApiError;
use crate::routes::Ctx;
use crate::state::State;
use crate::util::{now_rfc3339, uuid_from};

/// One pushed image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedImage {
    /// `LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE`, without tag or digest.
    pub uri: String,
    /// `sha256:...`.
    pub digest: String,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Repository {
    pub(crate) project_id: String,
    pub(crate) location: String,
    pub(crate) id: String,
    fields: Value,
    create_time: String,
    pub(crate) images: Vec<PushedImage>,
}

#[derive(Debug, Clone)]
pub(crate) struct RepoOp {
    name: String,
    polls: crate::run::Polls,
    done: bool,
    repo: Repository,
}

/// Repositories (by full name with the project id) and their create operations.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    pub(crate) repositories: BTreeMap<String, Repository>,
    pub(crate) ops: BTreeMap<String, RepoOp>,
}

const OP_METADATA: &str =
    "type.googleapis.com/google.devtools.artifactregistry.v1.OperationMetadata";
const REPOSITORY: &str = "type.googleapis.com/google.devtools.artifactregistry.v1.Repository";

fn project_id(st: &State, p: &str) -> Result<String, ApiError> {
    crate::run::project_or_denied(st, p).map(|p| p.id.clone())
}

fn repo_json(r: &Repository) -> Value {
    let mut out = r.fields.clone();
    let size: u64 = 0;
    let o = out
        .as_object_mut()
        .expect("repository fields are an object");
    o.insert(
        "name".into(),
        format!(
            "projects/{}/locations/{}/repositories/{}",
            r.project_id, r.location, r.id
        )
        .into(),
    );
    o.entry("format").or_insert("DOCKER".into());
    o.entry("mode").or_insert("STANDARD_REPOSITORY".into());
    o.insert("createTime".into(), r.create_time.clone().into());
    o.insert("updateTime".into(), r.create_time.clone().into());
    o.insert("sizeBytes".into(), size.to_string().into());
    if o.get("format").and_then(Value::as_str) == Some("DOCKER") {
        o.insert(
            "registryUri".into(),
            format!("{}-docker.pkg.dev/{}/{}", r.location, r.project_id, r.id).into(),
        );
    }
    out
}

/// `artifactregistry.projects.locations.repositories.get`.
pub(crate) fn get(c: &mut Ctx<'_>) -> Result<Value, ApiError> {
    let pid = project_id(c.st, &c.p[0])?;
    let key = format!(
        "projects/{pid}/locations/{}/repositories/{}",
        c.p[1], c.p[2]
    );
    crate::authz::require_on_project(c.st, "artifactregistry.repositories.get", &key, &pid)?;
    c.st.registry
        .repositories
        .get(&key)
        .map(repo_json)
        .ok_or_else(|| ApiError::not_found("Requested entity was not found."))
}

fn valid_id(id: &str) -> bool {
    let b = id.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && !id.ends_with('-')
}

/// `artifactregistry.projects.locations.repositories.create`.
pub(crate) fn create(c: &mut Ctx<'_>) -> Result<Value, ApiError> {
    let pid = project_id(c.st, &c.p[0])?;
    let location = c.p[1].clone();
    let parent = format!("projects/{pid}/locations/{location}");
    crate::authz::require_on_project(c.st, "artifactregistry.repositories.create", &parent, &pid)?;
    let id = c.q.get("repositoryId").unwrap_or_default().to_string();
    if !valid_id(&id) {
        return Err(ApiError::invalid(format!(
            "Invalid repository id \"{id}\": ids must start with a lowercase letter and \
             contain only lowercase letters, digits and hyphens."
        )));
    }
    let key = format!("{parent}/repositories/{id}");
    let pending =
        c.st.registry
            .ops
            .values()
            .any(|o| !o.done && o.repo_key() == key);
    if c.st.registry.repositories.contains_key(&key) || pending {
        return Err(ApiError::already_exists(format!(
            "the repository already exists: {key}"
        )));
    }
    let mut fields = c.body.clone();
    if !fields.is_object() {
        fields = json!({});
    }
    if let Some(o) = fields.as_object_mut() {
        for k in [
            "name",
            "createTime",
            "updateTime",
            "sizeBytes",
            "registryUri",
        ] {
            o.remove(k);
        }
    }
    let salt = c.st.next_salt();
    let name = format!("{parent}/operations/{}", uuid_from(&salt));
    let op = RepoOp {
        name: name.clone(),
        polls: crate::run::Polls::new(c.st.operation_polls),
        done: false,
        repo: Repository {
            project_id: pid,
            location,
            id,
            fields,
            create_time: now_rfc3339(),
            images: Vec::new(),
        },
    };
    c.st.registry.ops.insert(name.clone(), op);
    if c.st.operation_polls == 0 {
        finish(c.st, &name);
    }
    Ok(op_json(&c.st.registry.ops[&name]))
}

impl RepoOp {
    fn repo_key(&self) -> String {
        format!(
            "projects/{}/locations/{}/repositories/{}",
            self.repo.project_id, self.repo.location, self.repo.id
        )
    }
}

fn finish(st: &mut State, name: &str) {
    let Some(op) = st.registry.ops.get_mut(name) else {
        return;
    };
    op.done = true;
    let (key, repo) = (op.repo_key(), op.repo.clone());
    st.registry.repositories.entry(key).or_insert(repo);
}

fn op_json(op: &RepoOp) -> Value {
    let mut out = json!({
        "name": op.name,
        "metadata": {"@type": OP_METADATA},
        "done": op.done,
    });
    if op.done {
        out["response"] = crate::util::any(REPOSITORY, &repo_json(&op.repo));
    }
    out
}

/// Whether `projects/{p}/locations/{l}/operations/{o}` is an Artifact Registry operation.
pub(crate) fn owns_operation(st: &State, p: &[String]) -> bool {
    let pid = st.project(&p[0]).map_or(p[0].clone(), |x| x.id.clone());
    let name = format!("projects/{pid}/locations/{}/operations/{}", p[1], p[2]);
    st.registry.ops.contains_key(&name)
}

/// `artifactregistry.projects.locations.operations.get`.
pub(crate) fn get_operation(c: &mut Ctx<'_>) -> Result<Value, ApiError> {
    let pid = project_id(c.st, &c.p[0])?;
    let name = format!("projects/{pid}/locations/{}/operations/{}", c.p[1], c.p[2]);
    let op =
        c.st.registry
            .ops
            .get_mut(&name)
            .ok_or_else(|| ApiError::not_found(format!("Operation \"{name}\" not found.")))?;
    op.polls.poll();
    if !op.done && op.polls.due() {
        finish(c.st, &name);
    }
    Ok(op_json(&c.st.registry.ops[&name]))
}

/// The repository an image URI `LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE[:TAG]`
/// names, split: (repository key, image URI without tag, tag).
pub(crate) fn parse_image(st: &State, uri: &str) -> Option<(String, String, Option<String>)> {
    let (host, rest) = uri.split_once('/')?;
    let location = host.strip_suffix("-docker.pkg.dev")?;
    let mut parts = rest.splitn(3, '/');
    let (project, repo, image) = (parts.next()?, parts.next()?, parts.next()?);
    let pid = st
        .project(project)
        .map_or(project.to_string(), |p| p.id.clone());
    let (image, tag) = match image.rsplit_once(':') {
        Some((i, t)) if !t.contains('/') => (i, Some(t.to_string())),
        _ => (image, None),
    };
    let image = image.split('@').next().unwrap_or(image);
    Some((
        format!("projects/{pid}/locations/{location}/repositories/{repo}"),
        format!("{host}/{project}/{repo}/{image}"),
        tag,
    ))
}

/// Whether an Artifact Registry image `uri` (`...:TAG`, `...@sha256:...`, or untagged for
/// `latest`) has been pushed; `None` for other registries, which are not modelled.
pub(crate) fn image_exists(st: &State, uri: &str) -> Option<bool> {
    let (key, image, tag) = parse_image(st, uri)?;
    let digest = uri.split_once('@').map(|(_, d)| d);
    let repo = st.registry.repositories.get(&key);
    Some(repo.is_some_and(|r| {
        r.images.iter().any(|i| {
            i.uri == image
                && match (digest, &tag) {
                    (Some(d), _) => i.digest == d,
                    (None, Some(t)) => i.tags.contains(t),
                    (None, None) => i.tags.iter().any(|t| t == "latest"),
                }
        })
    }))
}

/// Records a pushed image; `false` when its repository does not exist.
pub(crate) fn push(st: &mut State, uri: &str, digest: &str, extra_tags: &[String]) -> bool {
    let Some((key, image, tag)) = parse_image(st, uri) else {
        // Other registries (gcr.io, docker.io) are not modelled: the push succeeds.
        return true;
    };
    let Some(repo) = st.registry.repositories.get_mut(&key) else {
        return false;
    };
    let mut tags: Vec<String> = tag.into_iter().chain(extra_tags.iter().cloned()).collect();
    if tags.is_empty() {
        tags.push("latest".into());
    }
    // A tag moves to the newest image that carries it.
    for i in repo.images.iter_mut().filter(|i| i.uri == image) {
        i.tags.retain(|t| !tags.contains(t));
    }
    match repo
        .images
        .iter_mut()
        .find(|i| i.uri == image && i.digest == digest)
    {
        Some(i) => i.tags.extend(tags),
        None => repo.images.push(PushedImage {
            uri: image,
            digest: digest.to_string(),
            tags,
        }),
    }
    true
}

/// The images pushed to repository `name` (`projects/P/locations/L/repositories/R`).
pub(crate) fn images(st: &State, name: &str) -> Vec<PushedImage> {
    let mut parts: Vec<String> = name.split('/').map(str::to_string).collect();
    if let Some(p) = parts.get(1).and_then(|p| st.project(p)) {
        parts[1] = p.id.clone();
    }
    st.registry
        .repositories
        .get(&parts.join("/"))
        .map(|r| r.images.clone())
        .unwrap_or_default()
}

/// `artifactregistry.projects.locations.repositories.packages.tags.get`: 404 when the
/// repository, the package or the tag does not exist.
pub(crate) fn get_tag(c: &mut Ctx<'_>) -> Result<Value, ApiError> {
    let pid = project_id(c.st, &c.p[0])?;
    let repo_key = format!(
        "projects/{pid}/locations/{}/repositories/{}",
        c.p[1], c.p[2]
    );
    let (package, tag) = (&c.p[3], &c.p[4]);
    let name = format!("{repo_key}/packages/{}/tags/{tag}", escape(package));
    crate::authz::require_on_project(c.st, "artifactregistry.tags.get", &name, &pid)?;
    let repo =
        c.st.registry
            .repositories
            .get(&repo_key)
            .ok_or_else(|| ApiError::not_found(format!("Repository \"{repo_key}\" not found")))?;
    let image = format!(
        "{}-docker.pkg.dev/{}/{}/{package}",
        repo.location, repo.project_id, repo.id
    );
    let found = repo
        .images
        .iter()
        .find(|i| i.uri == image && i.tags.contains(tag))
        .ok_or_else(|| ApiError::not_found("Requested entity was not found."))?;
    Ok(json!({
        "name": name,
        "version": format!("{repo_key}/packages/{}/versions/{}", escape(package), found.digest),
    }))
}

/// A package id as resource names carry it: slashes escaped.
fn escape(package: &str) -> String {
    package.replace('/', "%2F")
}

/// The digest a seeded image gets when its world names none: derived from the image name,
/// so that every run of a world agrees.
pub fn digest_for(image: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("sha256:{:x}", Sha256::digest(image.as_bytes()))
}

/// Records `image` (`LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE[:TAG]`) as pushed with
/// `digest`, creating its repository when missing, as a push by its owner would (the tag
/// moves to it). `false` for an image outside Artifact Registry.
pub(crate) fn seed_image(st: &mut State, image: &str, digest: &str) -> bool {
    let Some((key, _, _)) = parse_image(st, image) else {
        return false;
    };
    let parts: Vec<&str> = key.split('/').collect();
    seed(st, parts[1], parts[3], parts[5]);
    push(st, image, digest, &[])
}

/// Creates a docker repository now, as its owner would.
pub(crate) fn seed(st: &mut State, project_id: &str, location: &str, id: &str) {
    let key = format!("projects/{project_id}/locations/{location}/repositories/{id}");
    st.registry.repositories.entry(key).or_insert(Repository {
        project_id: project_id.to_string(),
        location: location.to_string(),
        id: id.to_string(),
        fields: json!({"format": "DOCKER"}),
        create_time: now_rfc3339(),
        images: Vec::new(),
    });
}
