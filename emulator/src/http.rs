//! The HTTP front: authentication, injected latency and faults, test hooks, enum encoding,
//! dispatch to the route table, and the journal entry for every request.
//!
//! The order per request mirrors what a client would observe from Google: latency first
//! (the network), then authentication (401 before anything else), then the emulator's
//! test controls (hooks, faults), then the API itself.

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State as AxState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::Emulator;
use crate::enums::{to_ints, to_names, wants_int};
use crate::error::{ApiError, error_body};
use crate::journal::{Api, JournalEntry};
use crate::routes::{Ctx, find};
use crate::util::{Query, percent_decode};

fn json_response(status: u16, body: &Value) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    resp
}

pub(crate) async fn journal_endpoint(AxState(emu): AxState<Emulator>) -> Response {
    let entries = emu.journal();
    json_response(200, &serde_json::to_value(entries).unwrap_or(Value::Null))
}

pub(crate) async fn handle(AxState(emu): AxState<Emulator>, req: Request) -> Response {
    let started = emu.elapsed();
    let method = req.method().as_str().to_string();
    let raw_path = req.uri().path().to_string();
    let raw_query = req.uri().query().unwrap_or_default().to_string();
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = to_bytes(req.into_body(), 64 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let latency = emu.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let query = Query::parse(&raw_query);
    let route = find(&method, &raw_path);
    let validate_only = query.flag("validateOnly");
    let (status, out) = process(&emu, &method, &raw_path, auth.as_deref(), &query, &body);
    let (api, rpc, write) = match route {
        Some((r, _)) => (
            r.api,
            r.spec.method_id.to_string(),
            r.write && !validate_only,
        ),
        None => (Api::Unknown, String::new(), false),
    };
    emu.record(JournalEntry {
        seq: 0,
        api,
        method,
        path: percent_decode(&raw_path, false),
        query: raw_query,
        rpc,
        write,
        validate_only,
        status,
        started,
        ended: emu.elapsed(),
    });
    json_response(status, &out).into_response()
}

fn process(
    emu: &Emulator,
    method: &str,
    path: &str,
    auth: Option<&str>,
    query: &Query,
    body: &Bytes,
) -> (u16, Value) {
    if let Some(token) = emu.token() {
        let given = auth.and_then(|a| {
            a.strip_prefix("Bearer ")
                .or_else(|| a.strip_prefix("bearer "))
        });
        if given.map(str::trim) != Some(token) {
            // Google's text for a missing or bad OAuth token.
            let e = ApiError::unauthenticated(
                "Request had invalid authentication credentials. Expected OAuth 2 access \
                 token, login cookie or other valid authentication credential. See \
                 https://developers.google.com/identity/sign-in/web/devconsole-project.",
            );
            return (e.http, e.body());
        }
    }
    let Some((route, params)) = find(method, path) else {
        // Google's front end answers unknown REST methods this way.
        let e = ApiError::not_found("Method not found.");
        return (e.http, e.body());
    };
    emu.run_hooks(method, path);
    if let Some(f) = emu.take_fault(method, path) {
        return (f.code, error_body(f.code, &f.message, &f.status));
    }
    let mut json: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                let e = ApiError::invalid(format!("Invalid JSON payload received. {e}"));
                return (e.http, e.body());
            }
        }
    };
    to_names(route.api, &mut json);
    let result = emu.with_state(|st| {
        let mut ctx = Ctx {
            st,
            p: params,
            q: query.clone(),
            body: json,
        };
        route.call(&mut ctx)
    });
    match result {
        Ok(mut v) => {
            if wants_int(query.get("$alt")) {
                to_ints(route.api, &mut v);
            }
            (200, v)
        }
        Err(e) => (e.http, e.body()),
    }
}
