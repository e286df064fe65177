//! Where each Google API lives.
//!
//! The tool honours gcloud's own override variables,
//! `CLOUDSDK_API_ENDPOINT_OVERRIDES_<API>`, so that one environment can point
//! gcloud and autosre-deploy at the same place (a private endpoint, a proxy,
//! or the local emulator). gcloud documents these as `api_endpoint_overrides`
//! properties: a base URL, with or without the trailing slash.

use std::collections::BTreeMap;

/// The APIs the tool talks to, named as gcloud names their overrides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Api {
    Run,
    SecretManager,
    Iam,
    ResourceManager,
    /// Identity-Aware Proxy: the IAM policy of the service's IAP resource.
    Iap,
    /// IAM Service Account Credentials: impersonation's `generateAccessToken`.
    IamCredentials,
    Storage,
    ArtifactRegistry,
    CloudBuild,
}

impl Api {
    pub(crate) const ALL: [Api; 9] = [
        Api::Run,
        Api::SecretManager,
        Api::Iam,
        Api::ResourceManager,
        Api::Iap,
        Api::IamCredentials,
        Api::Storage,
        Api::ArtifactRegistry,
        Api::CloudBuild,
    ];

    /// The suffix of gcloud's `CLOUDSDK_API_ENDPOINT_OVERRIDES_*` variable.
    fn override_suffix(self) -> &'static str {
        match self {
            Api::Run => "RUN",
            Api::SecretManager => "SECRETMANAGER",
            Api::Iam => "IAM",
            Api::ResourceManager => "CLOUDRESOURCEMANAGER",
            Api::Iap => "IAP",
            Api::IamCredentials => "IAMCREDENTIALS",
            Api::Storage => "STORAGE",
            Api::ArtifactRegistry => "ARTIFACTREGISTRY",
            Api::CloudBuild => "CLOUDBUILD",
        }
    }

    /// Google's public endpoint for the API.
    fn default_endpoint(self) -> &'static str {
        match self {
            Api::Run => "https://run.googleapis.com",
            Api::SecretManager => "https://secretmanager.googleapis.com",
            Api::Iam => "https://iam.googleapis.com",
            Api::ResourceManager => "https://cloudresourcemanager.googleapis.com",
            Api::Iap => "https://iap.googleapis.com",
            Api::IamCredentials => "https://iamcredentials.googleapis.com",
            Api::Storage => "https://storage.googleapis.com",
            Api::ArtifactRegistry => "https://artifactregistry.googleapis.com",
            Api::CloudBuild => "https://cloudbuild.googleapis.com",
        }
    }

    /// A short name for logs: `run`, `secretmanager`, `iam`, `cloudresourcemanager`, `iap`.
    pub(crate) fn short(self) -> &'static str {
        match self {
            Api::Run => "run",
            Api::SecretManager => "secretmanager",
            Api::Iam => "iam",
            Api::ResourceManager => "cloudresourcemanager",
            Api::Iap => "iap",
            Api::IamCredentials => "iamcredentials",
            Api::Storage => "storage",
            Api::ArtifactRegistry => "artifactregistry",
            Api::CloudBuild => "cloudbuild",
        }
    }
}

/// An override that is no base URL: a configuration error, reported with the variable and
/// its value before anything is sent, and never retried.
#[derive(Debug, thiserror::Error)]
#[error("{var}=`{value}` is not an API endpoint: {reason}")]
pub(crate) struct EndpointError {
    pub(crate) var: String,
    pub(crate) value: String,
    reason: &'static str,
}

/// Whether `url` is a base URL the clients can send to: `http` or `https`, with a host.
fn check_url(url: &str) -> Result<(), &'static str> {
    let uri: http::Uri = url
        .parse()
        .map_err(|_| "it is not a URL such as `https://run.googleapis.com`")?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(_) => return Err("the scheme must be `https` (or `http` for a local emulator)"),
        None => return Err("it is not a URL such as `https://run.googleapis.com`"),
    }
    match uri.host() {
        Some(h) if !h.is_empty() => Ok(()),
        _ => Err("it names no host"),
    }
}

/// The endpoint of every API, resolved once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Endpoints(BTreeMap<Api, String>);

impl Endpoints {
    /// Google's endpoints, with gcloud's overrides applied from `lookup`
    /// (the process environment in production, a map in tests).
    pub(crate) fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Endpoints, EndpointError> {
        let map = Api::ALL
            .into_iter()
            .map(|api| {
                let var = format!("CLOUDSDK_API_ENDPOINT_OVERRIDES_{}", api.override_suffix());
                let given = lookup(&var)
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty());
                if let Some(value) = &given {
                    check_url(value).map_err(|reason| EndpointError {
                        var: var.clone(),
                        value: value.clone(),
                        reason,
                    })?;
                }
                let url = given.unwrap_or_else(|| api.default_endpoint().to_string());
                Ok((api, normalize(&url)))
            })
            .collect::<Result<_, _>>()?;
        Ok(Endpoints(map))
    }

    /// Every API at one base URL: the in-process emulator of `--sandbox`.
    #[cfg(feature = "sandbox")]
    pub(crate) fn all_at(base: &str) -> Endpoints {
        Endpoints(Api::ALL.into_iter().map(|a| (a, normalize(base))).collect())
    }

    pub(crate) fn get(&self, api: Api) -> &str {
        &self.0[&api]
    }

    /// True when `api` is pointed away from Google.
    pub(crate) fn is_overridden(&self, api: Api) -> bool {
        self.get(api) != api.default_endpoint()
    }

    /// True when any API is pointed away from Google.
    pub(crate) fn overridden(&self) -> bool {
        Api::ALL
            .into_iter()
            .any(|a| self.get(a) != a.default_endpoint())
    }
}

/// gcloud's overrides may end in `/` (and often do, since gcloud appends the
/// version path itself); the Rust clients want a bare origin.
fn normalize(url: &str) -> String {
    url.trim_end_matches('/').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A malformed override is named with its variable and value, and is
    /// no transient failure to retry: it never reaches a client.
    #[test]
    fn a_malformed_override_names_the_variable_and_the_value() {
        for (value, reason) in [
            ("not-a-url", "it is not a URL"),
            ("ftp://example.com", "the scheme must be `https`"),
            ("https://", "it is not a URL"),
        ] {
            let e = Endpoints::from_lookup(|k| {
                (k == "CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN").then(|| value.to_string())
            })
            .unwrap_err();
            let text = e.to_string();
            assert!(
                text.starts_with(&format!("CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN=`{value}`")),
                "{text}"
            );
            assert!(text.contains(reason), "{text}");
        }
    }

    #[test]
    fn defaults_are_googles_endpoints() {
        let e = Endpoints::from_lookup(|_| None).unwrap();
        assert_eq!(e.get(Api::Run), "https://run.googleapis.com");
        assert!(!e.overridden());
    }

    #[test]
    fn overrides_accept_a_trailing_slash() {
        let e = Endpoints::from_lookup(|k| {
            (k == "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER")
                .then(|| "http://127.0.0.1:9/".to_string())
        })
        .unwrap();
        assert_eq!(e.get(Api::SecretManager), "http://127.0.0.1:9");
        assert_eq!(e.get(Api::Iam), "https://iam.googleapis.com");
        assert!(e.overridden());
    }
}
