//! The HTTP front: authentication, injected latency and faults, test hooks, enum encoding,
//! dispatch to the route table, and the journal entry for every request.
//!
//! The order per request mirrors what a client would observe from Google: latency first
//! (the network), then authentication (401 before anything else), then the emulator's
//! test controls (hooks, faults), then the API itself. Every request is journalled with the
//! status sent, faulted ones marked; a hung one on arrival, with status 0.

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State as AxState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use crate::Emulator;
use crate::enums::{to_ints, to_names, wants_int};
use crate::error::{ApiError, error_body};
use crate::fault::FaultKind;
use crate::journal::{Api, JournalEntry};
use crate::routes::{Ctx, Reply, Route, find_in};
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

/// `POST /token`: the OAuth 2.0 refresh-token grant (see `credentials`).
pub(crate) async fn token_endpoint(AxState(emu): AxState<Emulator>, body: Bytes) -> Response {
    let (status, v) = crate::credentials::refresh_grant(emu.token(), &body);
    json_response(status, &v)
}

pub(crate) async fn journal_endpoint(AxState(emu): AxState<Emulator>) -> Response {
    let entries = emu.journal();
    json_response(200, &serde_json::to_value(entries).unwrap_or(Value::Null))
}

/// One answer on the wire.
struct Answer {
    status: u16,
    body: Body,
    content_type: &'static str,
    retry_after: Option<u32>,
    /// Extra headers (media routes).
    headers: Vec<(String, String)>,
    /// A content type chosen at run time (media routes); overrides `content_type`.
    dynamic_type: Option<String>,
}

impl Answer {
    fn json(status: u16, v: &Value) -> Answer {
        Answer {
            status,
            body: Body::from(v.to_string()),
            content_type: JSON,
            retry_after: None,
            headers: Vec::new(),
            dynamic_type: None,
        }
    }

    fn raw(reply: Reply) -> Answer {
        Answer {
            status: reply.status,
            body: Body::from(reply.body),
            content_type: "",
            retry_after: None,
            headers: reply.headers,
            dynamic_type: Some(reply.content_type),
        }
    }

    fn into_response(self) -> Response {
        let mut resp = Response::new(self.body);
        *resp.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let content_type = match &self.dynamic_type {
            Some(t) => HeaderValue::from_str(t).ok(),
            None => Some(HeaderValue::from_static(self.content_type)),
        };
        if let Some(t) = content_type.filter(|t| !t.is_empty()) {
            resp.headers_mut().insert(header::CONTENT_TYPE, t);
        }
        for (k, v) in &self.headers {
            if let (Ok(k), Ok(v)) = (
                header::HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                resp.headers_mut().append(k, v);
            }
        }
        if let Some(s) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}

const JSON: &str = "application/json; charset=UTF-8";

pub(crate) async fn handle(
    emu: Emulator,
    mut stop: tokio::sync::watch::Receiver<bool>,
    req: Request,
) -> Response {
    let started = emu.elapsed();
    let method = req.method().as_str().to_string();
    let raw_path = req.uri().path().to_string();
    let raw_query = req.uri().query().unwrap_or_default().to_string();
    let headers = req.headers().clone();
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
    let route = emu.with_state(|st| find_in(st, &method, &raw_path));
    let validate_only = query.flag("validateOnly");
    let (api, rpc, write) = match route {
        Some((r, _)) => (
            r.api,
            r.spec.method_id.to_string(),
            r.write && !validate_only,
        ),
        None => (Api::Unknown, String::new(), false),
    };
    let bearer = auth.as_deref().and_then(bearer_token).map(str::to_string);
    let acting = bearer.as_deref().and_then(|t| {
        emu.with_state(|st| {
            st.token_principal(t)
                .map(str::to_string)
                .or_else(|| crate::credentials::self_signed_jwt_principal(st, t))
        })
    });
    let principal = acting
        .clone()
        .unwrap_or_else(|| emu.with_state(|st| st.caller.clone()));
    let entry = |status: u16, faulted: bool, ended| JournalEntry {
        seq: 0,
        api,
        method: method.clone(),
        path: percent_decode(&raw_path, false),
        query: raw_query.clone(),
        rpc: rpc.clone(),
        write,
        validate_only,
        status,
        faulted,
        principal: principal.clone(),
        started,
        ended,
    };
    let req = Req {
        method: &method,
        path: &raw_path,
        raw_query: &raw_query,
        bearer: bearer.as_deref(),
        acting: acting.as_deref(),
        query: &query,
        body: &body,
        headers: &headers,
    };
    let (answer, faulted) = match process(&emu, route, &req) {
        Step::Answer(a, faulted) => (a, faulted),
        Step::Hang => {
            // Journalled on arrival with status 0: no answer was sent.
            emu.record(entry(0, true, emu.elapsed()));
            let _ = stop.wait_for(|s| *s).await;
            return Answer::json(
                503,
                &error_body(503, "The server is shutting down.", "UNAVAILABLE"),
            )
            .into_response();
        }
    };
    emu.record(entry(answer.status, faulted, emu.elapsed()));
    answer.into_response()
}

enum Step {
    /// The answer, and whether a fault shaped it.
    Answer(Answer, bool),
    Hang,
}

/// The token of an `Authorization: Bearer TOKEN` header.
fn bearer_token(auth: &str) -> Option<&str> {
    auth.strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("bearer "))
        .map(str::trim)
}

/// The parts of a request the API sees.
struct Req<'a> {
    method: &'a str,
    path: &'a str,
    raw_query: &'a str,
    /// The request's bearer token.
    bearer: Option<&'a str>,
    /// The service account the token acts as, when `generateAccessToken`
    /// issued it (see `credentials`).
    acting: Option<&'a str>,
    query: &'a Query,
    body: &'a Bytes,
    headers: &'a axum::http::HeaderMap,
}

fn process(emu: &Emulator, route: Option<(&'static Route, Vec<String>)>, req: &Req<'_>) -> Step {
    let Req {
        method,
        path,
        raw_query,
        bearer,
        acting,
        ..
    } = *req;
    let plain = |(status, v): (u16, Value)| Step::Answer(Answer::json(status, &v), false);
    if let Some(token) = emu.token() {
        // The emulator's own token, or one it issued.
        if bearer != Some(token) && acting.is_none() {
            // Google's text for a missing or bad OAuth token.
            let e = ApiError::unauthenticated(
                "Request had invalid authentication credentials. Expected OAuth 2 access \
                 token, login cookie or other valid authentication credential. See \
                 https://developers.google.com/identity/sign-in/web/devconsole-project.",
            );
            return plain((e.http, e.body()));
        }
    }
    let Some((route, params)) = route else {
        // Google's front end answers unknown REST methods this way.
        let e = ApiError::not_found("Method not found.");
        return plain((e.http, e.body()));
    };
    emu.run_hooks(method, path);
    // Faults match the path and the query (`validateOnly=true` singles out
    // Cloud Run's validation from the real PATCH).
    let target = match raw_query.is_empty() {
        true => path.to_string(),
        false => format!("{path}?{raw_query}"),
    };
    let fault = emu.take_fault(method, &target);
    let strip = match fault.map(|f| (f.kind.clone(), f)) {
        None => None,
        Some((FaultKind::StripField(field), _)) => Some(field),
        Some((FaultKind::Hang, _)) => return Step::Hang,
        Some((FaultKind::Status, f)) => {
            let mut v = error_body(f.code, &f.message, &f.status);
            if let Some(s) = f.retry_after {
                // google.rpc.RetryInfo (google/rpc/error_details.proto), a Duration in JSON.
                v["error"]["details"] = json!([{
                    "@type": "type.googleapis.com/google.rpc.RetryInfo",
                    "retryDelay": format!("{s}s"),
                }]);
            }
            let mut a = Answer::json(f.code, &v);
            a.retry_after = f.retry_after;
            return Step::Answer(a, true);
        }
        Some((FaultKind::Html, f)) => {
            let a = Answer {
                status: f.code,
                body: Body::from(crate::fault::html_page(f.code)),
                content_type: "text/html; charset=UTF-8",
                retry_after: f.retry_after,
                headers: Vec::new(),
                dynamic_type: None,
            };
            return Step::Answer(a, true);
        }
        Some((FaultKind::Body(raw), f)) => {
            let a = Answer {
                status: f.code,
                body: Body::from(raw),
                content_type: JSON,
                retry_after: None,
                headers: Vec::new(),
                dynamic_type: None,
            };
            return Step::Answer(a, true);
        }
    };
    let (status, mut out, reply) = serve(emu, route, params, req);
    if let Some(reply) = reply {
        return Step::Answer(Answer::raw(reply), false);
    }
    if let Some(field) = &strip
        && let Some(o) = out.as_object_mut()
    {
        o.remove(field);
    }
    Step::Answer(Answer::json(status, &out), strip.is_some())
}

fn serve(
    emu: &Emulator,
    route: &'static Route,
    params: Vec<String>,
    req: &Req<'_>,
) -> (u16, Value, Option<Reply>) {
    let (query, body) = (req.query, req.body);
    let mut json: Value = if route.media || body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                let e = ApiError::invalid(format!("Invalid JSON payload received. {e}"));
                return (e.http, e.body(), None);
            }
        }
    };
    to_names(route.api, &mut json);
    let base_url = emu.base_url();
    let result = emu.with_state(|st| {
        let saved = req.acting.map(|email| st.act_as(email));
        let mut ctx = Ctx {
            st,
            p: params,
            q: query.clone(),
            body: json,
            raw: body,
            headers: req.headers,
            base_url: &base_url,
            reply: None,
        };
        let result = route.call(&mut ctx);
        let reply = ctx.reply;
        if let Some(saved) = saved {
            st.restore(saved);
        }
        (result, reply)
    });
    match result {
        (Ok(_), Some(reply)) => (reply.status, Value::Null, Some(reply)),
        (Ok(mut v), None) => {
            if wants_int(query.get("$alt")) {
                to_ints(route.api, &mut v);
            }
            (200, v, None)
        }
        (Err(e), _) => (e.http, e.body(), None),
    }
}
