//! The layer around every route: records the request for the test hooks,
//! waits the configured delay, answers an injected fault, enforces the body
//! limit (file uploads are left streaming), puts the path in the form the
//! routes are written in, and stamps `x-request-id` on every answer.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::crypto::request_id;
use crate::extract::{decode, query_pairs, segments};
use crate::fail::{Fail, json_response};
use crate::hooks::{RECORDED_BODY_LIMIT, RecordedRequest};
use crate::state::AppState;

const MAX_RECORDED: usize = 10_000;

/// The middleware (`axum::middleware::from_fn_with_state`), wrapped around
/// the whole router so that it also sees requests no route serves.
pub(crate) async fn intercept(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = loggable(request.uri().path());
    let mut response = match admit(&state, request).await {
        Ok(request) => next.run(request).await,
        Err(answer) => answer,
    };
    // axum adds `Allow` to answers of a route's method fallback; the
    // emulator's answers never had one.
    response.headers_mut().remove(header::ALLOW);
    if let Ok(v) = HeaderValue::from_str(&request_id()) {
        response.headers_mut().insert("x-request-id", v);
    }
    tracing::info!(
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

/// The path for the log: a reset token or a social-login challenge in it
/// (`…/password/reset/{token}`, `…/login/status/{challenge}`) is a secret.
fn loggable(path: &str) -> String {
    let mut out: Vec<&str> = path.split('/').collect();
    for i in 1..out.len() {
        let before = (decode(out[i - 1]), i.checked_sub(2).map(|j| decode(out[j])));
        let secret = match before {
            (a, Some(b)) => (b == "password" && a == "reset") || (b == "login" && a == "status"),
            _ => false,
        };
        if secret && !out[i].is_empty() {
            out[i] = "[redacted]";
        }
    }
    out.join("/")
}

/// Everything before routing; `Err` is the answer instead of a route's.
async fn admit(state: &AppState, request: Request) -> Result<Request, Response> {
    let (mut parts, body) = request.into_parts();
    let declared_len = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    // File uploads stream to disk; everything else is read whole, up to the limit.
    let mut upload = None;
    let bytes = if is_upload(&segments(parts.uri.path()), &parts.method) {
        upload = Some(body);
        Some(Bytes::new())
    } else if declared_len.is_some_and(|n| n > state.max_body) {
        None
    } else {
        to_bytes(body, state.max_body).await.ok()
    };
    let path = record(state, &parts, bytes.as_deref().unwrap_or_default());
    let delay = state.delay_ms.load(Ordering::Relaxed);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if let Some(answer) = injected_fault(state, &path) {
        return Err(answer);
    }
    let body = match (upload, bytes) {
        (Some(stream), _) => stream,
        (None, Some(bytes)) => Body::from(bytes),
        (None, None) => {
            return Err(Fail::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body exceeds {} bytes", state.max_body),
            )
            .into_response());
        }
    };
    if let Some(uri) = normalized(&parts.uri) {
        parts.uri = uri;
    }
    Ok(Request::from_parts(parts, body))
}

/// Keeps the request for [`crate::Emulator::requests`]; returns its decoded path.
fn record(state: &AppState, parts: &Parts, body: &[u8]) -> String {
    let raw_query = parts.uri.query().map(str::to_owned);
    let record = RecordedRequest {
        method: parts.method.to_string(),
        path: decode(parts.uri.path()),
        query: query_pairs(raw_query.as_deref()),
        raw_query,
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                (n.as_str().to_owned(), value)
            })
            .collect(),
        body: body[..body.len().min(RECORDED_BODY_LIMIT)].to_vec(),
    };
    let path = record.path.clone();
    let mut recorded = state.recorded.lock().unwrap_or_else(|p| p.into_inner());
    if recorded.len() == MAX_RECORDED {
        recorded.pop_front();
    }
    recorded.push_back(record);
    path
}

/// The first injected fault for this path, taken, as an answer.
fn injected_fault(state: &AppState, path: &str) -> Option<Response> {
    let fault = {
        let mut faults = state.faults.lock().unwrap_or_else(|p| p.into_inner());
        let i = faults.iter().position(|f| f.applies_to(path))?;
        faults.remove(i)
    };
    let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Some(json_response(status, fault.body))
}

/// `POST|PUT /v1/app/{id}/[user/]binary[/{key}]`: a file upload, streamed.
fn is_upload(segments: &[String], method: &Method) -> bool {
    if *method != Method::POST && *method != Method::PUT {
        return false;
    }
    let rest = match segments {
        [v1, app, _, rest @ ..] if v1 == "v1" && app == "app" => rest,
        _ => return false,
    };
    let rest = match rest {
        [user, rest @ ..] if user == "user" => rest,
        rest => rest,
    };
    matches!(rest, [b] | [b, _] if b == "binary")
}

/// Characters a path segment may hold unencoded (RFC 3986 `pchar`).
fn raw_in_segment(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b)
}

/// Characters encoded in the canonical form of a path segment.
pub(crate) const ENCODED_IN_SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b'!')
        .remove(b'$')
        .remove(b'&')
        .remove(b'\'')
        .remove(b'(')
        .remove(b')')
        .remove(b'*')
        .remove(b'+')
        .remove(b',')
        .remove(b';')
        .remove(b'=')
        .remove(b':')
        .remove(b'@');

/// The request's URI with its path in canonical form: escapes of characters
/// a segment may hold unencoded are decoded, the others upper-cased, so the
/// routes' literal segments match whatever encoding a client chose (the
/// emulator always compared decoded segments). `None`: already canonical.
fn normalized(uri: &Uri) -> Option<Uri> {
    let path = uri.path();
    if !path.contains('%') {
        return None;
    }
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = bytes.get(i + 1..i + 3).filter(|_| bytes[i] == b'%');
        let value = escape
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match value {
            Some(v) if raw_in_segment(v) => out.push(char::from(v)),
            Some(v) => out.push_str(&format!("%{v:02X}")),
            None => {
                out.push(char::from(bytes[i]));
                i += 1;
                continue;
            }
        }
        i += 3;
    }
    let path_and_query = match uri.query() {
        Some(q) => format!("{out}?{q}"),
        None => out,
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().ok()?);
    Uri::from_parts(parts).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_put_in_canonical_form() {
        let n = |s: &str| normalized(&s.parse::<Uri>().unwrap()).map(|u| u.to_string());
        assert_eq!(n("/v1/app/a/text"), None);
        assert_eq!(
            n("/v1/app/a/%74ext?x=%41"),
            Some("/v1/app/a/text?x=%41".into())
        );
        assert_eq!(n("/b%3ab/a%2fb/%zz%"), Some("/b:b/a%2Fb/%zz%".into()));
    }

    #[test]
    fn secrets_in_paths_are_not_logged() {
        assert_eq!(
            loggable("/v1/app/a/account/password/reset/tok"),
            "/v1/app/a/account/password/reset/[redacted]"
        );
        assert_eq!(
            loggable("/v1/app/a/account/social/login/%73tatus/ch/x"),
            "/v1/app/a/account/social/login/%73tatus/[redacted]/x"
        );
        assert_eq!(loggable("/v1/app/a/text"), "/v1/app/a/text");
    }
}
