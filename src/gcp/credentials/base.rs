//! The credentials before any impersonation: an access token from the
//! environment or a token file, an ADC file of any `type` google-cloud-auth
//! builds, else the metadata server (the order is in the parent module's docs).

use std::path::PathBuf;

use google_cloud_auth::credentials::{
    Credentials, external_account, external_account_authorized_user, impersonated, mds,
    service_account, user_account,
};
use serde_json::Value;

use super::{CredentialsError, Source, token::bearer};

/// The credentials before any impersonation.
pub(super) struct Base {
    pub(super) credentials: Credentials,
    pub(super) source: Source,
    /// The ADC file's JSON, when there is one.
    pub(super) json: Option<Value>,
    pub(super) email: Option<String>,
    pub(super) impersonated: bool,
}

pub(super) fn base(lookup: &impl Fn(&str) -> Option<String>) -> Result<Base, CredentialsError> {
    let plain = |credentials, source| Base {
        credentials,
        source,
        json: None,
        email: None,
        impersonated: false,
    };
    // Set means meant: an empty token (a CI secret that did not expand, say)
    // is an error, never a silent fall-back to another identity.
    if let Some(token) = lookup("GOOGLE_OAUTH_ACCESS_TOKEN") {
        if token.trim().is_empty() {
            return Err(CredentialsError::EmptyEnvToken);
        }
        return Ok(plain(bearer(token.trim())?, Source::EnvToken));
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
        return Ok(plain(bearer(token)?, Source::TokenFile(path)));
    }
    let (path, from_env) = match lookup("GOOGLE_APPLICATION_CREDENTIALS") {
        Some(p) => (PathBuf::from(p), true),
        None => (
            lookup("HOME")
                .map(|h| {
                    PathBuf::from(h).join(".config/gcloud/application_default_credentials.json")
                })
                .unwrap_or_default(),
            false,
        ),
    };
    let via = match from_env {
        true => "GOOGLE_APPLICATION_CREDENTIALS",
        false => "Application Default Credentials",
    };
    let file_error = |cause: String| CredentialsError::AdcFile {
        path: path.clone(),
        via,
        cause,
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        // No well-known file: the metadata server, as AIP-4110 says. A file
        // named by GOOGLE_APPLICATION_CREDENTIALS must exist.
        Err(e) if !from_env && e.kind() == std::io::ErrorKind::NotFound => {
            let creds = mds::Builder::default()
                .build()
                .map_err(|e| CredentialsError::Adc(e.to_string()))?;
            return Ok(plain(creds, Source::MetadataServer));
        }
        Err(e) => return Err(file_error(e.to_string())),
    };
    let json: Value =
        serde_json::from_str(&text).map_err(|e| file_error(format!("not JSON: {e}")))?;
    let kind = json["type"].as_str().unwrap_or_default().to_string();
    let (email, impersonated) = file_identity(&json);
    let built = match kind.as_str() {
        "authorized_user" => user_account::Builder::new(json.clone()).build(),
        "service_account" => service_account::Builder::new(json.clone()).build(),
        "impersonated_service_account" => impersonated::Builder::new(json.clone()).build(),
        "external_account" => external_account::Builder::new(json.clone()).build(),
        "external_account_authorized_user" => {
            external_account_authorized_user::Builder::new(json.clone()).build()
        }
        "" => return Err(file_error("no `type` field".into())),
        other => {
            return Err(file_error(format!(
                "unsupported credentials type `{other}`"
            )));
        }
    };
    let credentials = built.map_err(|e| file_error(e.to_string()))?;
    Ok(Base {
        credentials,
        source: Source::AdcFile {
            path,
            from_env,
            kind,
        },
        json: Some(json),
        email,
        impersonated,
    })
}

/// The account a credentials file acts as, when the file says: a key's
/// `client_email`, or the target of its impersonation URL.
pub(super) fn file_identity(json: &Value) -> (Option<String>, bool) {
    if json["type"] == "service_account" {
        return (json["client_email"].as_str().map(str::to_string), false);
    }
    let target = json["service_account_impersonation_url"]
        .as_str()
        .and_then(|u| u.split("/serviceAccounts/").nth(1))
        .map(|t| t.trim_end_matches(":generateAccessToken").to_string());
    let impersonated = target.is_some();
    (target, impersonated)
}
