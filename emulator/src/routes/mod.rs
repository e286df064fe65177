//! The route table: every REST method the emulator serves, with the discovery document,
//! method id, HTTP method and `flatPath` it implements, and the handler behind it.
//!
//! Routing matches the request path against `flatPath` segment by segment (a `{param}`
//! takes one segment; `{param}:verb` a segment ending in `:verb`), which is how Google's
//! front end routes these APIs. `tests/discovery.rs` checks every entry against the
//! discovery documents, so a typo here fails the build's tests rather than a client.

use serde_json::Value;
use std::sync::OnceLock;

use crate::error::ApiError;
use crate::journal::Api;
use crate::state::State;
use crate::util::{Query, percent_decode};
use crate::world::VersionState;
use crate::{build, credentials, projects, registry, run, secrets, service_accounts, storage};

mod apis;
mod policy;

pub(crate) use apis::{api_named, disableable};
use policy::{get_iam, iap_resource, only_policy, set_iam, test_iam};

/// One served REST method, as named in Google's discovery documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    /// File in `emulator/discovery/`, e.g. `run.v2.json`.
    pub discovery_file: &'static str,
    /// Discovery method id, e.g. `run.projects.locations.services.get`.
    pub method_id: &'static str,
    pub http_method: &'static str,
    /// The method's `flatPath`, e.g. `v2/projects/{projectsId}/locations/{locationsId}/services`.
    pub flat_path: &'static str,
}

/// What a handler sees.
pub(crate) struct Ctx<'a> {
    pub(crate) st: &'a mut State,
    /// Path parameters, in `flatPath` order, percent-decoded.
    pub(crate) p: Vec<String>,
    pub(crate) q: Query,
    pub(crate) body: Value,
    /// The request body as sent (media routes read it instead of `body`).
    pub(crate) raw: &'a [u8],
    pub(crate) headers: &'a axum::http::HeaderMap,
    /// `http://127.0.0.1:PORT`: where this emulator serves.
    pub(crate) base_url: &'a str,
    /// Set by a media route to answer something other than `200` with the JSON it returns
    /// (a download's bytes, a resumable upload's `308` or `Location`).
    pub(crate) reply: Option<Reply>,
}

/// A non-JSON (or non-200) answer from a media route.
#[derive(Debug, Clone, Default)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) content_type: String,
}

type Handler = fn(&mut Ctx<'_>) -> Result<Value, ApiError>;

pub(crate) struct Route {
    pub(crate) spec: RouteSpec,
    pub(crate) api: Api,
    /// The method mutates state (getIamPolicy, testIamPermissions and access do not).
    pub(crate) write: bool,
    /// The last `{param}` of `flatPath` takes the rest of the path, several segments: IAP's
    /// `v1/{v1Id}:getIamPolicy`, whose `resource` parameter has the pattern `^.*$`
    /// (iap.v1.json), e.g. `projects/N/iap_web/cloud_run-R/services/S`.
    greedy: bool,
    /// The body is not JSON (a media upload): handlers read `Ctx::raw`.
    pub(crate) media: bool,
    /// Where two APIs share a `flatPath` (Cloud Build's and Artifact Registry's
    /// `projects.locations.operations.get`), whether this route owns the resource the path
    /// names; a route without it owns every path it matches.
    pub(crate) owns: Option<fn(&State, &[String]) -> bool>,
    handler: Handler,
}

const RUN: &str = "run.v2.json";
const SM: &str = "secretmanager.v1.json";
const IAM: &str = "iam.v1.json";
const CRM: &str = "cloudresourcemanager.v3.json";
/// gcloud's project commands use Resource Manager v1.
const CRM_V1: &str = "cloudresourcemanager.v1.json";
const IAM_CREDENTIALS: &str = "iamcredentials.v1.json";
const IAP: &str = "iap.v1.json";
const GCS: &str = "storage.v1.json";
const CB: &str = "cloudbuild.v1.json";
const AR: &str = "artifactregistry.v1.json";

fn r(
    file: &'static str,
    id: &'static str,
    method: &'static str,
    path: &'static str,
    write: bool,
    handler: Handler,
) -> Route {
    let api = match file {
        RUN => Api::Run,
        SM => Api::SecretManager,
        IAM => Api::Iam,
        IAM_CREDENTIALS => Api::IamCredentials,
        IAP => Api::Iap,
        GCS => Api::Storage,
        CB => Api::CloudBuild,
        AR => Api::ArtifactRegistry,
        _ => Api::ResourceManager,
    };
    Route {
        spec: RouteSpec {
            discovery_file: file,
            method_id: id,
            http_method: method,
            flat_path: path,
        },
        api,
        write,
        greedy: file == IAP,
        media: false,
        owns: None,
        handler,
    }
}

impl Route {
    /// The same route, reading its body raw (media uploads).
    fn media(mut self) -> Route {
        self.media = true;
        self
    }

    /// The same route, matching only paths whose resource `owns` says is this API's.
    fn owning(mut self, owns: fn(&State, &[String]) -> bool) -> Route {
        self.owns = Some(owns);
        self
    }
}

const SVC: &str = "v2/projects/{projectsId}/locations/{locationsId}/services/{servicesId}";

pub(crate) fn table() -> &'static [Route] {
    static TABLE: OnceLock<Vec<Route>> = OnceLock::new();
    TABLE.get_or_init(|| {
        vec![
            // Cloud Run Admin API v2.
            r(RUN, "run.projects.locations.services.get", "GET", SVC, false, |c| run::get(c.st, &c.p[0], &c.p[1], &c.p[2])),
            r(RUN, "run.projects.locations.services.list", "GET", "v2/projects/{projectsId}/locations/{locationsId}/services", false, |c| run::list(c.st, &c.p[0], &c.p[1])),
            r(RUN, "run.projects.locations.services.create", "POST", "v2/projects/{projectsId}/locations/{locationsId}/services", true, |c| {
                let id = c.q.get("serviceId").unwrap_or_default().to_string();
                let w = run::Write { project: &c.p[0], region: &c.p[1], id: &id, body: &c.body, update_mask: None, validate_only: c.q.flag("validateOnly"), create: true, allow_missing: false, force_new_revision: false, seed: false };
                run::write(c.st, w)
            }),
            r(RUN, "run.projects.locations.services.patch", "PATCH", SVC, true, |c| {
                let w = run::Write { project: &c.p[0], region: &c.p[1], id: &c.p[2], body: &c.body, update_mask: c.q.get("updateMask"), validate_only: c.q.flag("validateOnly"), create: false, allow_missing: c.q.flag("allowMissing"), force_new_revision: c.q.flag("forceNewRevision"), seed: false };
                run::write(c.st, w)
            }),
            r(RUN, "run.projects.locations.services.delete", "DELETE", SVC, true, |c| run::delete(c.st, &c.p[0], &c.p[1], &c.p[2], c.q.flag("validateOnly"))),
            r(RUN, "run.projects.locations.services.getIamPolicy", "GET", "v2/projects/{projectsId}/locations/{locationsId}/services/{servicesId}:getIamPolicy", false, |c| {
                let res = format!("projects/{}/locations/{}/services/{}", c.p[0], c.p[1], c.p[2]);
                get_iam(c, &res)
            }),
            r(RUN, "run.projects.locations.services.setIamPolicy", "POST", "v2/projects/{projectsId}/locations/{locationsId}/services/{servicesId}:setIamPolicy", true, |c| {
                let res = format!("projects/{}/locations/{}/services/{}", c.p[0], c.p[1], c.p[2]);
                set_iam(c, &res, false)
            }),
            r(RUN, "run.projects.locations.services.testIamPermissions", "POST", "v2/projects/{projectsId}/locations/{locationsId}/services/{servicesId}:testIamPermissions", false, |c| {
                let res = format!("projects/{}/locations/{}/services/{}", c.p[0], c.p[1], c.p[2]);
                test_iam(c, &res)
            }),
            r(RUN, "run.projects.locations.services.revisions.get", "GET", "v2/projects/{projectsId}/locations/{locationsId}/services/{servicesId}/revisions/{revisionsId}", false, |c| run::get_revision(c.st, &c.p[0], &c.p[1], &c.p[2], &c.p[3])),
            r(RUN, "run.projects.locations.services.revisions.list", "GET", "v2/projects/{projectsId}/locations/{locationsId}/services/{servicesId}/revisions", false, |c| run::list_revisions(c.st, &c.p[0], &c.p[1], &c.p[2], c.q.get("pageSize"), c.q.get("pageToken"))),
            r(RUN, "run.projects.locations.operations.get", "GET", "v2/projects/{projectsId}/locations/{locationsId}/operations/{operationsId}", false, |c| run::get_operation(c.st, &op_name(c))),
            r(RUN, "run.projects.locations.operations.list", "GET", "v2/projects/{projectsId}/locations/{locationsId}/operations", false, |c| run::list_operations(c.st, &c.p[0], &c.p[1])),
            r(RUN, "run.projects.locations.operations.delete", "DELETE", "v2/projects/{projectsId}/locations/{locationsId}/operations/{operationsId}", true, |c| run::delete_operation(c.st, &op_name(c))),
            r(RUN, "run.projects.locations.operations.wait", "POST", "v2/projects/{projectsId}/locations/{locationsId}/operations/{operationsId}:wait", false, |c| {
                let name = op_name(c);
                run::wait_operation(c.st, &name, &c.body)
            }),
            // Secret Manager v1.
            r(SM, "secretmanager.projects.secrets.get", "GET", "v1/projects/{projectsId}/secrets/{secretsId}", false, |c| secrets::get(c.st, &c.p[0], &c.p[1])),
            r(SM, "secretmanager.projects.secrets.list", "GET", "v1/projects/{projectsId}/secrets", false, |c| secrets::list(c.st, &c.p[0])),
            r(SM, "secretmanager.projects.secrets.create", "POST", "v1/projects/{projectsId}/secrets", true, |c| {
                let id = c.q.get("secretId").map(str::to_string);
                secrets::create(c.st, &c.p[0], id.as_deref(), &c.body)
            }),
            r(SM, "secretmanager.projects.secrets.patch", "PATCH", "v1/projects/{projectsId}/secrets/{secretsId}", true, |c| secrets::patch(c.st, &c.p[0], &c.p[1], c.q.get("updateMask"), &c.body)),
            r(SM, "secretmanager.projects.secrets.delete", "DELETE", "v1/projects/{projectsId}/secrets/{secretsId}", true, |c| secrets::delete(c.st, &c.p[0], &c.p[1])),
            r(SM, "secretmanager.projects.secrets.addVersion", "POST", "v1/projects/{projectsId}/secrets/{secretsId}:addVersion", true, |c| secrets::add_version(c.st, &c.p[0], &c.p[1], &c.body)),
            r(SM, "secretmanager.projects.secrets.getIamPolicy", "GET", "v1/projects/{projectsId}/secrets/{secretsId}:getIamPolicy", false, |c| {
                let res = format!("projects/{}/secrets/{}", c.p[0], c.p[1]);
                get_iam(c, &res)
            }),
            r(SM, "secretmanager.projects.secrets.setIamPolicy", "POST", "v1/projects/{projectsId}/secrets/{secretsId}:setIamPolicy", true, |c| {
                let res = format!("projects/{}/secrets/{}", c.p[0], c.p[1]);
                set_iam(c, &res, false)
            }),
            r(SM, "secretmanager.projects.secrets.testIamPermissions", "POST", "v1/projects/{projectsId}/secrets/{secretsId}:testIamPermissions", false, |c| {
                let res = format!("projects/{}/secrets/{}", c.p[0], c.p[1]);
                test_iam(c, &res)
            }),
            r(SM, "secretmanager.projects.secrets.versions.get", "GET", "v1/projects/{projectsId}/secrets/{secretsId}/versions/{versionsId}", false, |c| secrets::get_version(c.st, &c.p[0], &c.p[1], &c.p[2])),
            r(SM, "secretmanager.projects.secrets.versions.list", "GET", "v1/projects/{projectsId}/secrets/{secretsId}/versions", false, |c| secrets::list_versions(c.st, &c.p[0], &c.p[1])),
            r(SM, "secretmanager.projects.secrets.versions.access", "GET", "v1/projects/{projectsId}/secrets/{secretsId}/versions/{versionsId}:access", false, |c| secrets::access(c.st, &c.p[0], &c.p[1], &c.p[2])),
            r(SM, "secretmanager.projects.secrets.versions.enable", "POST", "v1/projects/{projectsId}/secrets/{secretsId}/versions/{versionsId}:enable", true, |c| secrets::change_state(c.st, &c.p[0], &c.p[1], &c.p[2], VersionState::Enabled)),
            r(SM, "secretmanager.projects.secrets.versions.disable", "POST", "v1/projects/{projectsId}/secrets/{secretsId}/versions/{versionsId}:disable", true, |c| secrets::change_state(c.st, &c.p[0], &c.p[1], &c.p[2], VersionState::Disabled)),
            r(SM, "secretmanager.projects.secrets.versions.destroy", "POST", "v1/projects/{projectsId}/secrets/{secretsId}/versions/{versionsId}:destroy", true, |c| secrets::change_state(c.st, &c.p[0], &c.p[1], &c.p[2], VersionState::Destroyed)),
            // IAM v1 service accounts.
            r(IAM, "iam.projects.serviceAccounts.get", "GET", "v1/projects/{projectsId}/serviceAccounts/{serviceAccountsId}", false, |c| service_accounts::get(c.st, &c.p[0], &c.p[1])),
            r(IAM, "iam.projects.serviceAccounts.list", "GET", "v1/projects/{projectsId}/serviceAccounts", false, |c| service_accounts::list(c.st, &c.p[0])),
            r(IAM, "iam.projects.serviceAccounts.create", "POST", "v1/projects/{projectsId}/serviceAccounts", true, |c| service_accounts::create(c.st, &c.p[0], &c.body)),
            r(IAM, "iam.projects.serviceAccounts.getIamPolicy", "POST", "v1/projects/{projectsId}/serviceAccounts/{serviceAccountsId}:getIamPolicy", false, |c| {
                let res = format!("projects/{}/serviceAccounts/{}", c.p[0], c.p[1]);
                get_iam(c, &res)
            }),
            r(IAM, "iam.projects.serviceAccounts.setIamPolicy", "POST", "v1/projects/{projectsId}/serviceAccounts/{serviceAccountsId}:setIamPolicy", true, |c| {
                let res = format!("projects/{}/serviceAccounts/{}", c.p[0], c.p[1]);
                set_iam(c, &res, false)
            }),
            r(IAM, "iam.projects.serviceAccounts.testIamPermissions", "POST", "v1/projects/{projectsId}/serviceAccounts/{serviceAccountsId}:testIamPermissions", false, |c| {
                let res = format!("projects/{}/serviceAccounts/{}", c.p[0], c.p[1]);
                test_iam(c, &res)
            }),
            // Resource Manager v3 projects.
            r(CRM, "cloudresourcemanager.projects.get", "GET", "v3/projects/{projectsId}", false, |c| projects::get(c.st, &c.p[0])),
            r(CRM, "cloudresourcemanager.projects.getIamPolicy", "POST", "v3/projects/{projectsId}:getIamPolicy", false, |c| {
                let res = format!("projects/{}", c.p[0]);
                get_iam(c, &res)
            }),
            r(CRM, "cloudresourcemanager.projects.setIamPolicy", "POST", "v3/projects/{projectsId}:setIamPolicy", true, |c| {
                let res = format!("projects/{}", c.p[0]);
                set_iam(c, &res, true)
            }),
            r(CRM, "cloudresourcemanager.projects.testIamPermissions", "POST", "v3/projects/{projectsId}:testIamPermissions", false, |c| {
                let res = format!("projects/{}", c.p[0]);
                test_iam(c, &res)
            }),
            // Resource Manager v1: `gcloud projects describe` reads the project here.
            r(CRM_V1, "cloudresourcemanager.projects.get", "GET", "v1/projects/{projectId}", false, |c| projects::get_v1(c.st, &c.p[0])),
            // Resource Manager v1 project IAM: the same policy, as gcloud's
            // `projects add-iam-policy-binding` reads and writes it (v1's
            // path names the project id alone: `v1/projects/{resource}`).
            r(CRM_V1, "cloudresourcemanager.projects.getIamPolicy", "POST", "v1/projects/{resource}:getIamPolicy", false, |c| {
                let res = format!("projects/{}", c.p[0]);
                get_iam(c, &res)
            }),
            r(CRM_V1, "cloudresourcemanager.projects.setIamPolicy", "POST", "v1/projects/{resource}:setIamPolicy", true, |c| {
                let res = format!("projects/{}", c.p[0]);
                set_iam(c, &res, true)
            }),
            // Cloud Storage JSON API v1. Its methods have no `flatPath`: these are the
            // discovery `servicePath` + `path`, and for uploads `objects.insert`'s
            // `mediaUpload.protocols.simple.path`. A resumable session's chunks are PUT to
            // the session URI the POST returned, the same upload path
            // (cloud.google.com/storage/docs/performing-resumable-uploads).
            r(GCS, "storage.buckets.get", "GET", "storage/v1/b/{bucket}", false, storage::get_bucket),
            r(GCS, "storage.buckets.insert", "POST", "storage/v1/b", true, storage::insert_bucket),
            r(GCS, "storage.objects.get", "GET", "storage/v1/b/{bucket}/o/{object}", false, storage::get_object),
            // `useMediaDownloadService`: media downloads also come under `download/`.
            r(GCS, "storage.objects.get", "GET", "download/storage/v1/b/{bucket}/o/{object}", false, storage::get_object),
            r(GCS, "storage.objects.list", "GET", "storage/v1/b/{bucket}/o", false, storage::list_objects),
            r(GCS, "storage.objects.insert", "POST", "upload/storage/v1/b/{bucket}/o", true, storage::upload).media(),
            r(GCS, "storage.objects.insert", "PUT", "upload/storage/v1/b/{bucket}/o", true, storage::upload_chunk).media(),
            // Artifact Registry v1.
            r(AR, "artifactregistry.projects.locations.repositories.get", "GET", "v1/projects/{projectsId}/locations/{locationsId}/repositories/{repositoriesId}", false, registry::get),
            r(AR, "artifactregistry.projects.locations.repositories.create", "POST", "v1/projects/{projectsId}/locations/{locationsId}/repositories", true, registry::create),
            r(AR, "artifactregistry.projects.locations.repositories.packages.tags.get", "GET", "v1/projects/{projectsId}/locations/{locationsId}/repositories/{repositoriesId}/packages/{packagesId}/tags/{tagsId}", false, registry::get_tag),
            // Cloud Build v1. Its operations share Artifact Registry's flatPath; each API
            // answers for the operations it made.
            r(CB, "cloudbuild.projects.locations.builds.create", "POST", "v1/projects/{projectsId}/locations/{locationsId}/builds", true, build::create),
            r(CB, "cloudbuild.projects.locations.builds.get", "GET", "v1/projects/{projectsId}/locations/{locationsId}/builds/{buildsId}", false, build::get),
            r(CB, "cloudbuild.projects.locations.getDefaultServiceAccount", "GET", "v1/projects/{projectsId}/locations/{locationsId}/defaultServiceAccount", false, build::default_service_account),
            r(CB, "cloudbuild.projects.locations.operations.get", "GET", "v1/projects/{projectsId}/locations/{locationsId}/operations/{operationsId}", false, build::get_operation).owning(build::owns_operation),
            r(AR, "artifactregistry.projects.locations.operations.get", "GET", "v1/projects/{projectsId}/locations/{locationsId}/operations/{operationsId}", false, registry::get_operation).owning(registry::owns_operation),
            // Cloud Run v2 builds (source deploys).
            r(RUN, "run.projects.locations.builds.submit", "POST", "v2/projects/{projectsId}/locations/{locationsId}/builds:submit", true, build::submit),
            // IAM Service Account Credentials v1: impersonation.
            r(IAM_CREDENTIALS, "iamcredentials.projects.serviceAccounts.generateAccessToken", "POST", "v1/projects/{projectsId}/serviceAccounts/{serviceAccountsId}:generateAccessToken", false, credentials::generate_access_token),
            // Identity-Aware Proxy v1: the IAM policy of an `iap_web` resource (for a Cloud
            // Run service, `projects/NUMBER/iap_web/cloud_run-REGION/services/SERVICE`,
            // cloud.google.com/run/docs/securing/identity-aware-proxy-cloud-run). Last in the
            // table: their one greedy parameter would take any path ending in the verb.
            r(IAP, "iap.getIamPolicy", "POST", "v1/{v1Id}:getIamPolicy", false, |c| {
                let res = iap_resource(c)?;
                get_iam(c, &res)
            }),
            r(IAP, "iap.setIamPolicy", "POST", "v1/{v1Id}:setIamPolicy", true, |c| {
                let res = iap_resource(c)?;
                only_policy(&c.body)?;
                set_iam(c, &res, false)
            }),
            r(IAP, "iap.testIamPermissions", "POST", "v1/{v1Id}:testIamPermissions", false, |c| {
                let res = iap_resource(c)?;
                test_iam(c, &res)
            }),
        ]
    })
}

/// Every route the emulator serves.
pub fn routes() -> Vec<RouteSpec> {
    table().iter().map(|r| r.spec).collect()
}

fn op_name(c: &Ctx<'_>) -> String {
    // Operations are stored under the project id; accept the number too.
    let project =
        c.st.project(&c.p[0])
            .map(|p| p.id.clone())
            .unwrap_or_else(|| c.p[0].clone());
    format!(
        "projects/{project}/locations/{}/operations/{}",
        c.p[1], c.p[2]
    )
}

/// Finds the route for `method` and `path` (leading `/` optional); returns it with the
/// decoded path parameters. Where routes share a path, the first that owns it in `st`.
pub(crate) fn find_in(
    st: &State,
    method: &str,
    path: &str,
) -> Option<(&'static Route, Vec<String>)> {
    let mut first = None;
    for (route, params) in matches(method, path) {
        match route.owns {
            Some(owns) if owns(st, &params) => return Some((route, params)),
            Some(_) => {
                first.get_or_insert((route, params));
            }
            None => return Some((route, params)),
        }
    }
    first
}

/// [`find_in`] without the state: the first route matching the path.
#[cfg(test)]
pub(crate) fn find(method: &str, path: &str) -> Option<(&'static Route, Vec<String>)> {
    matches(method, path).next()
}

fn matches<'p>(
    method: &'p str,
    path: &'p str,
) -> impl Iterator<Item = (&'static Route, Vec<String>)> + 'p {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    table().iter().filter_map(move |route| {
        if route.spec.http_method != method {
            return None;
        }
        let pat: Vec<&str> = route.spec.flat_path.split('/').collect();
        // A greedy last parameter takes every remaining segment, joined back with `/`:
        // IAP's resource names, and Cloud Storage object names, which may hold `/` (gcloud
        // sends it unescaped).
        let greedy = (route.greedy && segs.len() >= pat.len())
            || (pat.last() == Some(&"{object}") && segs.len() > pat.len());
        let segs: Vec<String> = if greedy {
            let (head, tail) = segs.split_at(pat.len() - 1);
            head.iter()
                .map(|s| s.to_string())
                .chain([tail.join("/")])
                .collect()
        } else {
            segs.iter().map(|s| s.to_string()).collect()
        };
        if pat.len() != segs.len() {
            return None;
        }
        let mut params = Vec::new();
        for (p, s) in pat.iter().zip(&segs) {
            if let Some(inner) = p.strip_prefix('{') {
                let s = percent_decode(s, false);
                match inner.split_once("}:") {
                    Some((_, verb)) => {
                        let value = s.strip_suffix(&format!(":{verb}"))?;
                        if value.is_empty() || value.contains(':') {
                            return None;
                        }
                        // Google routes by host; here every API shares one origin, so IAP's
                        // catch-all takes only IAP's own resource names (`.../iap_web/...`,
                        // `.../iap_tunnel/...`) and a wrong method on another API stays a 404.
                        if route.greedy
                            && !value
                                .split('/')
                                .any(|seg| seg == "iap_web" || seg == "iap_tunnel")
                        {
                            return None;
                        }
                        params.push(value.to_string());
                    }
                    None => {
                        if s.is_empty() || s.contains(':') {
                            return None;
                        }
                        params.push(s);
                    }
                }
            } else if *p != s.as_str() {
                return None;
            }
        }
        Some((route, params))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_route_to_their_discovery_methods() {
        let (r, p) = find("GET", "/v1/projects/acme/secrets/db:getIamPolicy").unwrap();
        assert_eq!(
            r.spec.method_id,
            "secretmanager.projects.secrets.getIamPolicy"
        );
        assert_eq!(p, ["acme", "db"]);
        let (r, p) = find("GET", "/v1/projects/acme/secrets/db").unwrap();
        assert_eq!(r.spec.method_id, "secretmanager.projects.secrets.get");
        assert_eq!(p, ["acme", "db"]);
        let (r, p) = find(
            "POST",
            "/v1/projects/-/serviceAccounts/a%40b.iam.gserviceaccount.com:getIamPolicy",
        )
        .unwrap();
        assert_eq!(
            r.spec.method_id,
            "iam.projects.serviceAccounts.getIamPolicy"
        );
        assert_eq!(p[1], "a@b.iam.gserviceaccount.com");
        assert!(find("GET", "/v1/projects/acme/nothing").is_none());
        let (r, p) = find(
            "POST",
            "/v1/projects/42/iap_web/cloud_run-us-central1/services/api:getIamPolicy",
        )
        .unwrap();
        assert_eq!(r.spec.method_id, "iap.getIamPolicy");
        assert_eq!(
            p,
            ["projects/42/iap_web/cloud_run-us-central1/services/api"]
        );
        assert!(find("POST", "/v1/projects/acme/secrets/db:getIamPolicy").is_none());
        assert!(find("PUT", "/v1/projects/acme/secrets/db").is_none());
    }
}
