//! IAM Service Account Credentials v1 (`generateAccessToken`) and the OAuth 2.0 token
//! endpoint: how a caller gets a token that acts as someone else.
//!
//! - `generateAccessToken` ("Generates an OAuth 2.0 access token for a service account",
//!   iamcredentials.v1 discovery document) needs `iam.serviceAccounts.getAccessToken` on the
//!   account, which `roles/iam.serviceAccountTokenCreator` holds
//!   (cloud.google.com/iam/docs/service-account-permissions). The name's project segment must
//!   be `-` ("replacing it with a project ID is invalid"); `scope` is required ("At least one
//!   value required"); `lifetime` defaults to, and is at most, one hour. A refusal is Google's
//!   403 "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not
//!   exist)." (the text gcloud prints when impersonation is refused) with the usual
//!   `google.rpc.ErrorInfo`. Delegation chains are not modelled: a request naming
//!   `delegates` is answered 400.
//! - The token it issues is remembered: a request that carries it is made as that service
//!   account (authorised as `serviceAccount:EMAIL` when the world enforces caller
//!   permissions, recorded as creator/lastModifier of Cloud Run writes, and named in the
//!   journal). Its expiry is not enforced: tests run on the emulator clock, tokens on real time.
//! - `POST /token` models Google's OAuth 2.0 token endpoint for the refresh-token grant
//!   (RFC 6749 §6, the `token_uri` of an `authorized_user` credentials file, which
//!   `gcloud auth application-default login` writes): every refresh token is the world
//!   caller's, and the access token it answers is the emulator's bearer token
//!   ([`crate::Options::token`]), i.e. the caller's own. It is not a discovery-document
//!   route, so it is served beside the route table, like the journal.
//! - A service-account key file is used as a self-signed JWT: the client signs
//!   `{"alg":"RS256","kid":KEY_ID}` and claims `iss` = `sub` = the account's email with a
//!   `scope` or an `aud`, and sends the JWT itself as the bearer token, with no token
//!   endpoint ("Addendum: Service account authorization without OAuth",
//!   developers.google.com/identity/protocols/oauth2/service-account#jwt-auth; what
//!   google-cloud-auth's service-account credentials do). Such a request is made as that
//!   account, like an issued token, when the account exists in the world and the JWT has not
//!   expired (real time, as the client stamps it). The signature is not verified: the world
//!   holds no account keys.

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::routes::Ctx;
use crate::util::{hash_hex, rfc3339};

/// The longest lifetime Google issues without an organisation policy extending it.
const MAX_LIFETIME_SECS: u64 = 3600;

/// `generateAccessToken`. Authorisation happened before (see `authz`).
pub(crate) fn generate_access_token(c: &mut Ctx<'_>) -> Result<Value, ApiError> {
    let (project, account) = (&c.p[0], &c.p[1]);
    if project != "-" {
        return Err(ApiError::invalid(
            "The `-` wildcard character is required in the project segment of the name.",
        ));
    }
    if c.body
        .get("delegates")
        .and_then(Value::as_array)
        .is_some_and(|d| !d.is_empty())
    {
        return Err(ApiError::invalid(
            "Delegation chains are not supported by the emulator.",
        ));
    }
    if c.body
        .get("scope")
        .and_then(Value::as_array)
        .is_none_or(|s| s.is_empty())
    {
        return Err(ApiError::invalid("Scope is required."));
    }
    let lifetime = match c.body.get("lifetime").and_then(Value::as_str) {
        None => MAX_LIFETIME_SECS,
        Some(text) => parse_seconds(text)
            .filter(|s| (1..=MAX_LIFETIME_SECS).contains(s))
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "Invalid lifetime `{text}`: at most {MAX_LIFETIME_SECS}s."
                ))
            })?,
    };
    let email =
        c.st.service_account_by_ref(account)
            .map(|sa| sa.email.clone())
            // Google's answer for an account that does not exist, when the caller may ask.
            .ok_or_else(|| {
                ApiError::not_found(format!("Not found; Gaia id not found for email {account}"))
            })?;
    let salt = c.st.next_salt();
    let token = format!("ya29.emulator-{}", hash_hex(&[&email, &salt], 24));
    c.st.issued_tokens.insert(token.clone(), email);
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        + lifetime;
    Ok(json!({"accessToken": token, "expireTime": rfc3339(expires as i64, 0)}))
}

/// The service account a self-signed JWT bearer token names (see the module docs), when
/// it is well formed, unexpired and the account exists.
pub(crate) fn self_signed_jwt_principal(st: &crate::state::State, token: &str) -> Option<String> {
    let mut parts = token.split('.');
    let (header, claims, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let decode = |part: &str| -> Option<Value> {
        serde_json::from_slice(&crate::util::b64_decode_any(part)?).ok()
    };
    let (header, claims) = (decode(header)?, decode(claims)?);
    if header["alg"] != "RS256" {
        return None;
    }
    let email = claims["iss"].as_str()?;
    let sub_ok = claims.get("sub").is_none_or(|s| s.as_str() == Some(email));
    let for_something = claims["scope"].is_string() || claims["aud"].is_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let live = claims["exp"].as_u64().is_some_and(|exp| exp > now);
    (sub_ok && for_something && live && st.service_accounts.contains_key(email))
        .then(|| email.to_string())
}

/// `3600s`, `3600.0s` or `3600.000000000s`: the JSON form of `google.protobuf.Duration`.
fn parse_seconds(text: &str) -> Option<u64> {
    let n: f64 = text.strip_suffix('s')?.parse().ok()?;
    (n.is_finite() && n >= 0.0).then_some(n as u64)
}

/// The OAuth 2.0 refresh-token grant's answer (RFC 6749 §5.1), for `POST /token`.
pub(crate) fn refresh_grant(token: Option<&str>, body: &[u8]) -> (u16, Value) {
    let form: Value = serde_json::from_slice(body).unwrap_or_else(|_| {
        let text = String::from_utf8_lossy(body);
        Value::Object(
            text.split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), Value::from(v.to_string())))
                .collect(),
        )
    });
    if form.get("grant_type").and_then(Value::as_str) != Some("refresh_token")
        || form
            .get("refresh_token")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        // RFC 6749 §5.2.
        return (
            400,
            json!({"error": "invalid_grant", "error_description": "Bad Request"}),
        );
    }
    (
        200,
        json!({
            "access_token": token.unwrap_or("emulator-user-token"),
            "token_type": "Bearer",
            "expires_in": MAX_LIFETIME_SECS,
            "scope": "https://www.googleapis.com/auth/cloud-platform",
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_as_protobuf_json() {
        assert_eq!(parse_seconds("3600s"), Some(3600));
        assert_eq!(parse_seconds("3600.000000000s"), Some(3600));
        assert_eq!(parse_seconds("3600"), None);
    }

    #[test]
    fn the_refresh_grant_needs_a_refresh_token() {
        assert_eq!(
            refresh_grant(Some("t"), br#"{"grant_type":"refresh_token"}"#).0,
            400
        );
        let (status, body) = refresh_grant(
            Some("t"),
            b"grant_type=refresh_token&refresh_token=r&client_id=c",
        );
        assert_eq!((status, body["access_token"].as_str()), (200, Some("t")));
    }
}
