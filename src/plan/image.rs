//! Images by digest: a tag is resolved to the digest it names at plan time,
//! and the revision is deployed as `IMAGE@sha256:...`, as the secret
//! versions are pinned. A tag moved since the last deploy is then a change
//! (a new revision), an unmoved one is none, and the revision records
//! exactly which build it runs (`history`, `rollback`).
//!
//! Only Artifact Registry can be asked: an image
//! `LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE[:TAG]` (no tag means
//! `latest`; cloud.google.com/artifact-registry/docs/docker/names) has the
//! tag `projects/PROJECT/locations/LOCATION/repositories/REPOSITORY/packages/IMAGE/tags/TAG`,
//! whose package part has its slashes escaped, and whose `version` names
//! `.../versions/sha256:...`
//! (cloud.google.com/artifact-registry/docs/reference/rest/v1/projects.locations.repositories.packages.tags).
//! An image given by digest is used as it is; one in another registry
//! (Docker Hub, gcr.io, any other host) keeps its tag, with a warning.
//!
//! Pure: [`parse`] and [`Needs`](super::live::Needs) decide what to read,
//! `live.rs` reads it, and the functions below turn the answer into the
//! image to deploy, the plan's [`ImageResolution`], and its problems.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::live::LiveState;
use super::permissions::{PermissionCheck, PermissionStatus};
use super::{Problem, ProblemKind, Target, Warning, WarningKind};
use crate::config::Environment;
use crate::gcp::{GcpError, Google, Kind};

/// The permission `tags.get` needs
/// (cloud.google.com/artifact-registry/docs/reference/rest/v1/projects.locations.repositories.packages.tags/get).
pub(crate) const TAGS_GET: &str = "artifactregistry.tags.get";
/// The smallest predefined role holding it (cloud.google.com/artifact-registry/docs/access-control#roles).
pub(crate) const READER: &str = "roles/artifactregistry.reader";

/// How an image names its build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Reference {
    /// `IMAGE@sha256:...`: one build already.
    Digest,
    /// A tag in Artifact Registry, which the plan asks.
    Registry(TagRef),
    /// A tag in a registry the tool cannot ask.
    Elsewhere { base: String, tag: String },
}

/// A tag in Artifact Registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TagRef {
    /// The project holding the repository.
    pub(crate) project: String,
    pub(crate) location: String,
    pub(crate) repository: String,
    /// The tag's resource name, as `tags.get` takes it.
    pub(crate) name: String,
    /// The image without its tag.
    pub(crate) base: String,
    pub(crate) tag: String,
}

/// What `tags.get` answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TagRead {
    /// The tag's `version`: `.../versions/sha256:...`.
    Version(String),
    /// No such tag (or repository).
    NotFound,
    /// 403: Google's words.
    Refused(String),
}

/// The image and tag of `image`: the tag is after the last `:` of the last
/// path component (a `:` before it is a registry port), `latest` when none.
fn split_tag(image: &str) -> (&str, &str) {
    let last = image.rfind('/').map_or(0, |i| i + 1);
    match image[last..].rfind(':') {
        Some(i) => (&image[..last + i], &image[last + i + 1..]),
        None => (image, "latest"),
    }
}

/// How `image` names its build.
pub(crate) fn parse(image: &str) -> Reference {
    if image.contains('@') {
        return Reference::Digest;
    }
    let (base, tag) = split_tag(image);
    let elsewhere = || Reference::Elsewhere {
        base: base.to_string(),
        tag: tag.to_string(),
    };
    let Some((host, path)) = base.split_once('/') else {
        return elsewhere();
    };
    let Some(location) = host.strip_suffix("-docker.pkg.dev") else {
        return elsewhere();
    };
    let parts: Vec<&str> = path.split('/').collect();
    // A domain-scoped project `example.com:p` is written `example.com/p`
    // (cloud.google.com/artifact-registry/docs/docker/names).
    let (project, rest) = match parts.as_slice() {
        [domain, p, rest @ ..] if domain.contains('.') => (format!("{domain}:{p}"), rest),
        [p, rest @ ..] => (p.to_string(), rest),
        [] => return elsewhere(),
    };
    let [repository, package @ ..] = rest else {
        return elsewhere();
    };
    if package.is_empty() || location.is_empty() || tag.is_empty() {
        return elsewhere();
    }
    let name = format!(
        "projects/{project}/locations/{location}/repositories/{repository}/packages/{}/tags/{tag}",
        package.join("%2F")
    );
    Reference::Registry(TagRef {
        project,
        location: location.to_string(),
        repository: repository.to_string(),
        name,
        base: base.to_string(),
        tag: tag.to_string(),
    })
}

/// The Artifact Registry tag a deploy of `target` reads: none for a grant,
/// an image by digest or in another registry, or one a source build makes.
pub(crate) fn tag_to_read(target: &Target, build: bool) -> Option<TagRef> {
    match parse(target.image().filter(|_| !build)?) {
        Reference::Registry(t) => Some(t),
        _ => None,
    }
}

/// Ask Artifact Registry for `tag`: a refusal (403) is data, as for every
/// other read; other failures end the plan.
pub(crate) async fn read(google: &Google, tag: &TagRef) -> Result<TagRead, GcpError> {
    match google.image_tag_version(&tag.name).await {
        Ok(Some(version)) => Ok(TagRead::Version(version)),
        Ok(None) => Ok(TagRead::NotFound),
        Err(e) if e.is(Kind::PermissionDenied) => Ok(TagRead::Refused(e.message)),
        Err(e) => Err(e),
    }
}

/// The digest a version's name ends in.
fn digest_of(version: &str) -> &str {
    version.rsplit('/').next().unwrap_or(version)
}

/// The image a deploy sends: the tag replaced by the digest it names now.
fn deployed(live: &LiveState) -> Option<String> {
    match &live.image_tag {
        Some((t, TagRead::Version(v))) => Some(format!("{}@{}", t.base, digest_of(v))),
        _ => None,
    }
}

/// `target` with its image by digest when the tag was resolved: what
/// `compute` plans and a deploy sends.
pub(crate) fn resolved<'a>(target: &'a Target, live: &LiveState) -> Cow<'a, Target> {
    match (target, deployed(live)) {
        (Target::Deploy { traffic, .. }, Some(image)) => Cow::Owned(Target::Deploy {
            image,
            traffic: traffic.clone(),
        }),
        _ => Cow::Borrowed(target),
    }
}

/// What the plan shows of the image: as given, and what is deployed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ImageResolution {
    /// As the config or `--image` names it.
    pub(crate) given: String,
    /// The tag, when the image names one (`latest` when it names none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tag: Option<String>,
    /// The digest deployed: the one the tag names now, or the one given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) digest: Option<String>,
    /// What the revision is deployed with.
    pub(crate) deployed: String,
}

impl ImageResolution {
    /// How a plan shows it: `IMAGE:latest -> sha256:0123456789ab…`.
    pub(crate) fn shown(&self) -> String {
        let short = |d: &str| match d.split_once(':') {
            Some((algo, hex)) if hex.len() > 12 => format!("{algo}:{}…", &hex[..12]),
            _ => d.to_string(),
        };
        match (&self.tag, &self.digest) {
            (Some(_), Some(d)) => format!("{} -> {}", self.given, short(d)),
            (None, _) => format!("{} (by digest)", self.given),
            (Some(_), None) => format!("{} (by tag: not resolved)", self.given),
        }
    }
}

/// The plan's image line, for a deploy.
pub(crate) fn resolution(
    target: &Target,
    live: &LiveState,
    build: bool,
) -> Option<ImageResolution> {
    // A source deploy's image is the build's, by digest once built.
    let given = target.image().filter(|_| !build)?.to_string();
    let (tag, digest) = match parse(&given) {
        Reference::Digest => (None, given.split_once('@').map(|(_, d)| d.to_string())),
        Reference::Registry(t) => (
            Some(t.tag),
            deployed(live).and_then(|d| d.split_once('@').map(|(_, d)| d.to_string())),
        ),
        Reference::Elsewhere { tag, .. } => (Some(tag), None),
    };
    let deployed = deployed(live).unwrap_or_else(|| given.clone());
    Some(ImageResolution {
        given,
        tag,
        digest,
        deployed,
    })
}

/// What the image's resolution means: a tag that does not exist or may not
/// be read stops the deploy (the plan cannot say which build it deploys);
/// a tag no registry API can resolve is deployed as it is, with a warning.
/// `checks` is the permission table: a `tags.get` it already names as
/// missing is not reported twice.
pub(crate) fn findings(
    env: &Environment,
    target: &Target,
    live: &LiveState,
    build: bool,
    checks: &[PermissionCheck],
) -> (Option<Problem>, Option<Warning>) {
    let Some(image) = target.image().filter(|_| !build) else {
        return (None, None);
    };
    if let Reference::Elsewhere { base, tag } = parse(image) {
        let warning = Warning {
            kind: WarningKind::ImageTagNotResolved,
            message: format!(
                "`{image}` is not in Artifact Registry, which is the registry the plan can ask: it is deployed by its tag `{tag}`, so a tag moved since the last deploy will not be noticed (the plan may say No changes); name it by digest (`{base}@sha256:...`) to deploy exactly one build"
            ),
        };
        return (None, Some(warning));
    }
    let Some((t, read)) = &live.image_tag else {
        return (None, None);
    };
    let source = env.source.display();
    let problem = match read {
        TagRead::Version(_) => return (None, None),
        TagRead::NotFound => Problem {
            kind: ProblemKind::ImageTagNotFound,
            message: format!(
                "the image `{image}` has no tag `{}` in Artifact Registry (`{}`)",
                t.tag, t.name
            ),
            hint: format!(
                "push it first (`docker push {}:{}`), or fix the image in {source} or --image",
                t.base, t.tag
            ),
        },
        TagRead::Refused(_)
            if checks.iter().any(|c| {
                c.permission == TAGS_GET && c.status == PermissionStatus::Missing && c.required
            }) =>
        {
            return (None, None);
        }
        TagRead::Refused(message) => Problem {
            kind: ProblemKind::ImageTagUnreadable,
            message: format!(
                "the deploying identity may not read the tag `{}` of `{}` (`{TAGS_GET}` on `{}`; permission denied: {message}), so the plan cannot resolve it to a digest",
                t.tag, t.base, t.name
            ),
            hint: format!(
                "gcloud artifacts repositories add-iam-policy-binding {} --location={} --project={} --member=DEPLOYER --role={READER}   (DEPLOYER: the identity running autosre-deploy)",
                t.repository, t.location, t.project
            ),
        },
    };
    (Some(problem), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(image: &str) -> TagRef {
        match parse(image) {
            Reference::Registry(t) => t,
            other => panic!("{image}: {other:?}"),
        }
    }

    #[test]
    fn an_artifact_registry_tag_names_its_tag_resource() {
        let t = registry("us-docker.pkg.dev/acme/images/api:2026.11.28");
        assert_eq!(
            t.name,
            "projects/acme/locations/us/repositories/images/packages/api/tags/2026.11.28"
        );
        assert_eq!(t.base, "us-docker.pkg.dev/acme/images/api");
        // No tag is `latest`; a nested image has its slashes escaped.
        let t = registry("europe-west1-docker.pkg.dev/acme/images/team/api");
        assert_eq!(t.tag, "latest");
        assert_eq!(
            t.name,
            "projects/acme/locations/europe-west1/repositories/images/packages/team%2Fapi/tags/latest"
        );
        // A domain-scoped project is written with a slash.
        let t = registry("us-docker.pkg.dev/example.com/proj/images/api:1");
        assert_eq!(t.project, "example.com:proj");
    }

    #[test]
    fn digests_and_other_registries_are_not_asked() {
        assert_eq!(
            parse("us-docker.pkg.dev/acme/images/api@sha256:abc"),
            Reference::Digest
        );
        for (image, base, tag) in [
            ("nginx", "nginx", "latest"),
            ("library/nginx:1.27", "library/nginx", "1.27"),
            ("gcr.io/acme/api:v1", "gcr.io/acme/api", "v1"),
            ("localhost:5000/api", "localhost:5000/api", "latest"),
            (
                "us-docker.pkg.dev/acme/images",
                "us-docker.pkg.dev/acme/images",
                "latest",
            ),
        ] {
            assert_eq!(
                parse(image),
                Reference::Elsewhere {
                    base: base.into(),
                    tag: tag.into()
                },
                "{image}"
            );
        }
    }

    #[test]
    fn the_plan_shows_the_tag_and_a_short_digest() {
        let r = ImageResolution {
            given: "x:latest".into(),
            tag: Some("latest".into()),
            digest: Some(format!("sha256:{}", "ab".repeat(32))),
            deployed: String::new(),
        };
        assert_eq!(r.shown(), "x:latest -> sha256:abababababab…");
    }
}
