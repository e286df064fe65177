//! A fixed bearer token as google-cloud-auth credentials.

use google_cloud_auth::credentials::{
    CacheableResource, Credentials, CredentialsProvider, EntityTag,
};
use http::{Extensions, HeaderMap, HeaderValue, header::AUTHORIZATION};

use super::CredentialsError;

/// Credentials that always send `Authorization: Bearer <token>`.
pub(super) fn bearer(token: &str) -> Result<Credentials, CredentialsError> {
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
