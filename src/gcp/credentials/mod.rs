//! Which credentials the clients send, and whose identity they carry.
//!
//! In order: a bearer token from `GOOGLE_OAUTH_ACCESS_TOKEN` (the variable
//! Terraform's Google provider reads), a token file named by
//! `CLOUDSDK_AUTH_ACCESS_TOKEN_FILE` (gcloud's `auth/access_token_file`
//! property), then Application Default Credentials: the JSON file named by
//! `GOOGLE_APPLICATION_CREDENTIALS`, else gcloud's well-known
//! `$HOME/.config/gcloud/application_default_credentials.json`, else the
//! metadata server (AIP-4110, as google-cloud-auth finds them). The file is read
//! here, from the run's injected environment, so that its kind and account are
//! known for the identity report; each kind is built by google-cloud-auth's own
//! builder. A token is never logged; only its source is.
//!
//! Impersonation (`--impersonate-service-account`, or gcloud's
//! `CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT`; a comma-separated list is a
//! delegation chain ending at the target, as in gcloud) goes through
//! google-cloud-auth's `impersonated` credentials, two ways:
//! - a JSON credentials file becomes the `source_credentials` of an
//!   `impersonated_service_account` configuration (the file
//!   `gcloud auth application-default login --impersonate-service-account`
//!   writes) whose `service_account_impersonation_url` is built from the IAM
//!   Credentials endpoint, so `CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS`
//!   applies as it does for gcloud;
//! - an access token or the metadata server, which are no JSON, go through
//!   `impersonated::Builder::from_source_credentials`, which always calls
//!   Google's own `iamcredentials.googleapis.com`. With that endpoint
//!   overridden this combination is refused, never sent elsewhere.
//!
//! An ADC file that already impersonates is used as written when it names the
//! same account, and refused otherwise (google-cloud-auth does not nest
//! impersonation). Every configured source that cannot be used is an error
//! naming it: there is no fall-back to another identity.
//!
//! The impersonated builder's credential access boundary lookup (a background
//! call to `.../serviceAccounts/EMAIL/allowedLocations`) is compiled in only
//! with the `google_cloud_unstable_trust_boundaries` cfg, which this build
//! does not set: no call is made beyond `generateAccessToken`.

use std::path::PathBuf;

use google_cloud_auth::credentials::{Credentials, impersonated};
use serde_json::{Value, json};

use super::endpoints::{Api, Endpoints};

mod base;
mod token;

use base::base;
#[cfg(test)]
use base::file_identity;
#[cfg(any(test, feature = "sandbox"))]
use token::bearer;

/// gcloud's variable for its `auth/impersonate_service_account` property.
pub(crate) const IMPERSONATE_VAR: &str = "CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT";

/// Where the credentials came from, for `-v` logs and error hints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    EnvToken,
    TokenFile(PathBuf),
    /// An ADC file of this `type`, named by `GOOGLE_APPLICATION_CREDENTIALS`
    /// (`from_env`) or found at gcloud's well-known path.
    AdcFile {
        path: PathBuf,
        from_env: bool,
        kind: String,
    },
    MetadataServer,
    #[cfg(feature = "sandbox")]
    Sandbox,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::EnvToken => f.write_str("GOOGLE_OAUTH_ACCESS_TOKEN"),
            Source::TokenFile(p) => write!(f, "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE ({})", p.display()),
            Source::AdcFile {
                path,
                from_env: true,
                kind,
            } => write!(
                f,
                "GOOGLE_APPLICATION_CREDENTIALS ({}, {kind})",
                path.display()
            ),
            Source::AdcFile { path, kind, .. } => write!(
                f,
                "Application Default Credentials ({}, {kind})",
                path.display()
            ),
            Source::MetadataServer => f.write_str("the metadata server"),
            #[cfg(feature = "sandbox")]
            Source::Sandbox => f.write_str("the sandbox token"),
        }
    }
}

/// Whose identity the run uses, as far as it can be known without a call:
/// `-v` prints [`Identity::line`], the JSON output carries it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Identity {
    /// The account, when known: the impersonated service account, a service
    /// account key's `client_email`, the sandbox's caller.
    pub(crate) email: Option<String>,
    /// True when the run acts as `email` through impersonation.
    pub(crate) impersonated: bool,
    /// How the credentials were found, e.g. `GOOGLE_OAUTH_ACCESS_TOKEN`.
    pub(crate) source: String,
}

impl Identity {
    fn new(email: Option<String>, impersonated: bool, source: &Source) -> Identity {
        Identity {
            email,
            impersonated,
            source: source.to_string(),
        }
    }

    /// `identity: EMAIL (impersonated; credentials from SOURCE)`, or, when the
    /// account cannot be known, how the credentials were found.
    pub(crate) fn line(&self) -> String {
        match (&self.email, self.impersonated) {
            (Some(e), true) => format!(
                "identity: {e} (impersonated; credentials from {})",
                self.source
            ),
            (Some(e), false) => format!("identity: {e} (credentials from {})", self.source),
            (None, _) => format!(
                "identity: not known before a call (credentials from {})",
                self.source
            ),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum CredentialsError {
    #[error("cannot read the access token file `{}`: {source}", path.display())]
    TokenFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("GOOGLE_OAUTH_ACCESS_TOKEN is set but empty")]
    EmptyEnvToken,
    #[error("the access token file `{}` is empty", path.display())]
    EmptyTokenFile { path: PathBuf },
    #[error("the access token is not a valid HTTP header value")]
    InvalidToken,
    #[error("cannot load Application Default Credentials: {0}")]
    Adc(String),
    #[error("cannot read the credentials file `{}` ({via}): {cause}", path.display())]
    AdcFile {
        path: PathBuf,
        via: &'static str,
        cause: String,
    },
    #[error(
        "the service account to impersonate ({via}) is `{value}`, which is not an account email"
    )]
    BadImpersonationTarget { via: &'static str, value: String },
    #[error(
        "cannot impersonate `{target}` from {from}: google-cloud-auth sends such credentials only to Google's IAM Credentials endpoint, and CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS points elsewhere"
    )]
    ImpersonationEndpoint { target: String, from: Source },
    #[error(
        "cannot impersonate `{target}`: {from} already impersonates `{file_target}`, and impersonation does not nest"
    )]
    NestedImpersonation {
        target: String,
        file_target: String,
        from: Source,
    },
    #[error("cannot set up impersonation of `{target}` from {from}: {cause}")]
    Impersonation {
        target: String,
        from: Source,
        cause: String,
    },
}

/// Credentials, where they came from, and whose identity they carry.
pub(crate) struct Resolved {
    pub(crate) credentials: Credentials,
    pub(crate) source: Source,
    pub(crate) identity: Identity,
    /// The service account impersonated, if any.
    pub(crate) impersonating: Option<String>,
}

/// The service account to impersonate: `--impersonate-service-account`
/// (`flag`), else `CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT`. Set means
/// meant: an empty or malformed value is an error, not "no impersonation".
fn impersonation_chain(
    flag: Option<&str>,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Option<Vec<String>>, CredentialsError> {
    let (via, value) = match (flag, lookup(IMPERSONATE_VAR)) {
        (Some(f), _) => ("--impersonate-service-account", f.to_string()),
        (None, Some(v)) => (IMPERSONATE_VAR, v),
        (None, None) => return Ok(None),
    };
    let chain: Vec<String> = value.split(',').map(|s| s.trim().to_string()).collect();
    let email_like = |e: &String| {
        e.split_once('@').is_some_and(|(a, d)| {
            !a.is_empty() && d.contains('.') && !e.contains(char::is_whitespace)
        })
    };
    if !chain.iter().all(email_like) {
        return Err(CredentialsError::BadImpersonationTarget { via, value });
    }
    Ok(Some(chain))
}

/// Resolve credentials from the environment, as described in the module docs;
/// `impersonate` is `--impersonate-service-account`.
pub(crate) fn resolve(
    lookup: impl Fn(&str) -> Option<String>,
    impersonate: Option<&str>,
    endpoints: &Endpoints,
) -> Result<Resolved, CredentialsError> {
    let chain = impersonation_chain(impersonate, &lookup)?;
    let base = base(&lookup)?;
    let Some(chain) = chain else {
        let identity = Identity::new(base.email.clone(), base.impersonated, &base.source);
        return Ok(Resolved {
            credentials: base.credentials,
            source: base.source,
            identity,
            impersonating: None,
        });
    };
    let (target, delegates) = target_and_delegates(chain);
    let source = base.source.clone();
    let failed = |cause: String| CredentialsError::Impersonation {
        target: target.clone(),
        from: source.clone(),
        cause,
    };
    let credentials = match base.json {
        Some(file) if file["type"] == "impersonated_service_account" => {
            let file_target = base.email.clone().unwrap_or_default();
            if file_target != target || !delegates.is_empty() {
                return Err(CredentialsError::NestedImpersonation {
                    target,
                    file_target,
                    from: source,
                });
            }
            base.credentials
        }
        Some(file) => {
            let url = format!(
                "{}/v1/projects/-/serviceAccounts/{target}:generateAccessToken",
                endpoints.get(Api::IamCredentials)
            );
            impersonated::Builder::new(impersonated_config(file, &url, &delegates))
                .build()
                .map_err(|e| failed(e.to_string()))?
        }
        None if endpoints.is_overridden(Api::IamCredentials) => {
            return Err(CredentialsError::ImpersonationEndpoint {
                target,
                from: source,
            });
        }
        None => impersonated::Builder::from_source_credentials(base.credentials)
            .with_target_principal(&target)
            .with_delegates(delegates)
            .build()
            .map_err(|e| failed(e.to_string()))?,
    };
    Ok(Resolved {
        credentials,
        identity: Identity::new(Some(target.clone()), true, &source),
        source,
        impersonating: Some(target),
    })
}

/// The sandbox's credentials: its token, acting as the sandbox world's
/// `caller`; with impersonation, an `authorized_user` source whose token
/// endpoint is the sandbox's own (which answers with that token), so that the
/// same google-cloud-auth path as against Google is taken.
#[cfg(feature = "sandbox")]
pub(crate) fn sandbox(
    url: &str,
    token: &str,
    caller: String,
    impersonate: Option<&str>,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Resolved, CredentialsError> {
    let source = Source::Sandbox;
    let Some(chain) = impersonation_chain(impersonate, &lookup)? else {
        return Ok(Resolved {
            credentials: bearer(token)?,
            identity: Identity::new(Some(caller), false, &source),
            source,
            impersonating: None,
        });
    };
    let (target, delegates) = target_and_delegates(chain);
    let user = json!({
        "type": "authorized_user",
        "client_id": "sandbox",
        "client_secret": "sandbox",
        "refresh_token": "sandbox",
        "token_uri": format!("{url}/token"),
    });
    let target_url = format!("{url}/v1/projects/-/serviceAccounts/{target}:generateAccessToken");
    let credentials =
        impersonated::Builder::new(impersonated_config(user, &target_url, &delegates))
            .build()
            .map_err(|e| CredentialsError::Impersonation {
                target: target.clone(),
                from: source.clone(),
                cause: e.to_string(),
            })?;
    Ok(Resolved {
        credentials,
        identity: Identity::new(Some(target.clone()), true, &source),
        source,
        impersonating: Some(target),
    })
}

/// The last account of an impersonation chain (the one calls are made as),
/// and the ones before it as IAM Credentials names its `delegates`.
fn target_and_delegates(mut chain: Vec<String>) -> (String, Vec<String>) {
    let target = chain.pop().expect("a chain has a target");
    let delegates = chain
        .iter()
        .map(|d| format!("projects/-/serviceAccounts/{d}"))
        .collect();
    (target, delegates)
}

/// The `impersonated_service_account` configuration for a JSON source.
fn impersonated_config(source: Value, url: &str, delegates: &[String]) -> Value {
    json!({
        "type": "impersonated_service_account",
        "service_account_impersonation_url": url,
        "source_credentials": source,
        "delegates": delegates,
    })
}

/// Resolve credentials without impersonation (see [`resolve`]).
#[cfg(test)]
pub(crate) fn from_env(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<(Credentials, Source), CredentialsError> {
    let r = resolve(lookup, None, &Endpoints::from_lookup(|_| None).unwrap())?;
    Ok((r.credentials, r.source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_token_wins_over_token_file() {
        let (_, source) = from_env(|k| match k {
            "GOOGLE_OAUTH_ACCESS_TOKEN" => Some("t1".into()),
            "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE" => Some("/nonexistent".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(source, Source::EnvToken);
    }

    #[test]
    fn an_empty_env_token_is_an_error_not_a_fall_back() {
        for empty in ["", "  ", "\n"] {
            let err =
                from_env(|k| (k == "GOOGLE_OAUTH_ACCESS_TOKEN").then(|| empty.into())).unwrap_err();
            assert!(matches!(err, CredentialsError::EmptyEnvToken), "{err}");
        }
    }

    #[test]
    fn missing_token_file_is_an_error_naming_the_file() {
        let err = from_env(|k| {
            (k == "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE").then(|| "/nonexistent/token".into())
        })
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/token"), "{err}");
    }

    #[test]
    fn a_key_file_names_its_account_and_an_impersonating_file_its_target() {
        let key =
            json!({"type": "service_account", "client_email": "ci@p.iam.gserviceaccount.com"});
        assert_eq!(
            file_identity(&key),
            (Some("ci@p.iam.gserviceaccount.com".into()), false)
        );
        let file = json!({"type": "impersonated_service_account",
            "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/d@p.iam.gserviceaccount.com:generateAccessToken"});
        assert_eq!(
            file_identity(&file),
            (Some("d@p.iam.gserviceaccount.com".into()), true)
        );
        let user = json!({"type": "authorized_user"});
        assert_eq!(file_identity(&user), (None, false));
    }

    #[tokio::test]
    async fn a_key_file_is_reported_by_its_client_email() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.json");
        let key = json!({"type": "service_account", "client_email": "ci@p.iam.gserviceaccount.com",
            "private_key_id": "k", "private_key": "not a key", "project_id": "p"});
        std::fs::write(&path, key.to_string()).unwrap();
        let path_text = path.display().to_string();
        let r = resolve(
            |k| (k == "GOOGLE_APPLICATION_CREDENTIALS").then(|| path_text.clone()),
            None,
            &Endpoints::from_lookup(|_| None).unwrap(),
        )
        .unwrap();
        assert_eq!(
            r.identity.line(),
            format!(
                "identity: ci@p.iam.gserviceaccount.com (credentials from GOOGLE_APPLICATION_CREDENTIALS ({path_text}, service_account))"
            )
        );
    }

    #[test]
    fn a_file_source_impersonates_through_the_iamcredentials_endpoint() {
        let url = "http://127.0.0.1:9/v1/projects/-/serviceAccounts/d@p.iam.gserviceaccount.com:generateAccessToken";
        let config = impersonated_config(json!({"type": "authorized_user"}), url, &[]);
        assert_eq!(config["service_account_impersonation_url"], url);
        assert_eq!(config["source_credentials"]["type"], "authorized_user");
    }

    #[test]
    fn a_chain_ends_at_the_target_and_the_flag_wins() {
        let lookup = |k: &str| (k == IMPERSONATE_VAR).then(|| "a@p.iam.gserviceaccount.com".into());
        assert_eq!(
            impersonation_chain(
                Some("x@p.iam.gserviceaccount.com,y@p.iam.gserviceaccount.com"),
                &lookup
            )
            .unwrap()
            .unwrap(),
            ["x@p.iam.gserviceaccount.com", "y@p.iam.gserviceaccount.com"]
        );
        assert_eq!(
            impersonation_chain(None, &lookup).unwrap().unwrap(),
            ["a@p.iam.gserviceaccount.com"]
        );
        for bad in ["", "deployer", "a@b.c,"] {
            assert!(impersonation_chain(Some(bad), &lookup).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_the_token() {
        let creds = bearer("s3cr3t-token").unwrap();
        assert!(!format!("{creds:?}").contains("s3cr3t"));
    }
}
