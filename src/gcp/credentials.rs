//! Which credentials the clients send.
//!
//! In order: a bearer token from `GOOGLE_OAUTH_ACCESS_TOKEN` (the variable
//! Terraform's Google provider reads), a token file named by
//! `CLOUDSDK_AUTH_ACCESS_TOKEN_FILE` (gcloud's `auth/access_token_file`
//! property), then Application Default Credentials through google-cloud-auth.
//! A token is never logged; only its source is.

use std::path::PathBuf;

use google_cloud_auth::credentials::{
    CacheableResource, Credentials, CredentialsProvider, EntityTag,
};
use http::{Extensions, HeaderMap, HeaderValue, header::AUTHORIZATION};

/// Where the credentials came from, for `-v` logs and error hints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    EnvToken,
    TokenFile(PathBuf),
    ApplicationDefault,
    #[cfg(feature = "sandbox")]
    Sandbox,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::EnvToken => f.write_str("GOOGLE_OAUTH_ACCESS_TOKEN"),
            Source::TokenFile(p) => write!(f, "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE ({})", p.display()),
            Source::ApplicationDefault => f.write_str("Application Default Credentials"),
            #[cfg(feature = "sandbox")]
            Source::Sandbox => f.write_str("the sandbox token"),
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
}

/// Resolve credentials from the environment, as described in the module docs.
pub(crate) fn from_env(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<(Credentials, Source), CredentialsError> {
    // Set means meant: an empty token (a CI secret that did not expand, say)
    // is an error, never a silent fall-back to another identity.
    if let Some(token) = lookup("GOOGLE_OAUTH_ACCESS_TOKEN") {
        if token.trim().is_empty() {
            return Err(CredentialsError::EmptyEnvToken);
        }
        return Ok((bearer(token.trim())?, Source::EnvToken));
    }
    if let Some(path) = lookup("CLOUDSDK_AUTH_ACCESS_TOKEN_FILE").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        let text =
            std::fs::read_to_string(&path).map_err(|source| CredentialsError::TokenFile {
                path: path.clone(),
                source,
            })?;
        let token = text.trim();
        if token.is_empty() {
            return Err(CredentialsError::EmptyTokenFile { path });
        }
        return Ok((bearer(token)?, Source::TokenFile(path)));
    }
    let creds = google_cloud_auth::credentials::Builder::default()
        .build()
        .map_err(|e| CredentialsError::Adc(e.to_string()))?;
    Ok((creds, Source::ApplicationDefault))
}

/// Credentials that always send `Authorization: Bearer <token>`.
pub(crate) fn bearer(token: &str) -> Result<Credentials, CredentialsError> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| CredentialsError::InvalidToken)?;
    value.set_sensitive(true);
    Ok(Credentials::from(StaticToken { value }))
}

/// A fixed bearer token. Its `Debug` never shows the token.
struct StaticToken {
    value: HeaderValue,
}

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticToken(<redacted>)")
    }
}

impl CredentialsProvider for StaticToken {
    async fn headers(
        &self,
        _extensions: Extensions,
    ) -> Result<CacheableResource<HeaderMap>, google_cloud_auth::errors::CredentialsError> {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, self.value.clone());
        Ok(CacheableResource::New {
            entity_tag: EntityTag::new(),
            data: headers,
        })
    }

    async fn universe_domain(&self) -> Option<String> {
        None
    }
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
    fn debug_never_shows_the_token() {
        let creds = bearer("s3cr3t-token").unwrap();
        assert!(!format!("{creds:?}").contains("s3cr3t"));
    }
}
