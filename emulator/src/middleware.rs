//! The layer around every route: refuses a path that is not UTF-8, checks
//! the app's key before reading any body, records the request for the test
//! hooks, waits the configured delay, answers an injected fault, enforces
//! the body limit (file uploads are left streaming), puts the path in the
//! form the routes are written in, and stamps `x-request-id` on every answer.

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
use crate::extract::{check_api_key, decode, query_pairs};
use crate::fail::{Fail, json_response};
use crate::hooks::{RECORDED_BODY_LIMIT, RecordedRequest};
use crate::serve::BodyTimeout;
use crate::state::AppState;

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
pub(crate) fn loggable(path: &str) -> String {
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
    let segments = strict_segments(parts.uri.path()).map_err(|fail| {
        record(state, &parts, &[]);
        fail.into_response()
    })?;
    // A stranger's body is never read: the app and its key come first.
    if has_body(&parts)
        && let Err(fail) = key_before_body(state, &segments, &parts)
    {
        record(state, &parts, &[]);
        return Err(fail.into_response());
    }
    // File uploads stream to disk; everything else is read whole, up to the limit.
    let (body, bytes) = if is_upload(&segments, &parts.method) {
        (Some(body), Ok(Bytes::new()))
    } else {
        (None, read_body(state, &parts, body).await)
    };
    let path = record(state, &parts, bytes.as_deref().unwrap_or_default());
    let delay = state.delay_ms.load(Ordering::Relaxed);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if let Some(answer) = injected_fault(state, &path) {
        return Err(answer);
    }
    let body = match (body, bytes) {
        (Some(stream), _) => stream,
        (None, Ok(bytes)) => Body::from(bytes),
        (None, Err(fail)) => return Err(fail.into_response()),
    };
    if let Some(uri) = normalized(&parts.uri) {
        parts.uri = uri;
    }
    Ok(Request::from_parts(parts, body))
}

/// The path's segments, percent-decoded; 400 when one is not UTF-8 (a
/// lossy decoding would make `%FF` and `%FE` the same key).
fn strict_segments(path: &str) -> Result<Vec<String>, Fail> {
    path.split('/')
        .skip(1)
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| Fail::bad("the path is not valid UTF-8 once percent-decoded"))
        })
        .collect()
}

/// Whether the request announces a body.
fn has_body(parts: &Parts) -> bool {
    let declared = parts.headers.get(header::CONTENT_LENGTH);
    parts.headers.contains_key(header::TRANSFER_ENCODING)
        || declared.is_some_and(|v| v.as_bytes() != b"0")
}

/// For `/v1/app/{app}/...`: 404 for an unknown app, 401 for a wrong key,
/// decided before the body is read.
fn key_before_body(state: &AppState, segments: &[String], parts: &Parts) -> Result<(), Fail> {
    match segments {
        [v, app, id, ..] if (v == "v1" || v == "v2") && app == "app" => {
            check_api_key(state, id, &parts.headers)
        }
        _ => Ok(()),
    }
}

/// The whole body, up to the limit: 413 past it, 408 when it stalls, 400
/// when it is cut short or badly framed.
async fn read_body(state: &AppState, parts: &Parts, body: Body) -> Result<Bytes, Fail> {
    let declared_len = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let too_large = || {
        Fail::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body exceeds {} bytes", state.max_body),
        )
    };
    if declared_len.is_some_and(|n| n > state.max_body) {
        return Err(too_large());
    }
    let error = match to_bytes(body, state.max_body).await {
        Ok(bytes) => return Ok(bytes),
        Err(e) => e.into_inner(),
    };
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&*error);
    while let Some(e) = cause {
        if e.is::<http_body_util::LengthLimitError>() {
            return Err(too_large());
        }
        if let Some(stalled) = e.downcast_ref::<BodyTimeout>() {
            return Err(Fail::new(StatusCode::REQUEST_TIMEOUT, stalled.to_string()));
        }
        cause = e.source();
    }
    Err(Fail::bad(format!(
        "the request body could not be read (cut short or badly framed): {error}"
    )))
}

/// Keeps the request for [`crate::Emulator::requests`] (when recording is
/// on); returns its decoded path.
fn record(state: &AppState, parts: &Parts, body: &[u8]) -> String {
    let path = decode(parts.uri.path());
    if !state.record_requests {
        return path;
    }
    let raw_query = parts.uri.query().map(str::to_owned);
    let record = RecordedRequest {
        method: parts.method.to_string(),
        path: path.clone(),
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
    let mut recorded = state.recorded.lock().unwrap_or_else(|p| p.into_inner());
    recorded.push(record);
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
    let mut answer = json_response(status, fault.body);
    for (name, value) in &fault.headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            axum::http::HeaderValue::from_str(value),
        ) {
            answer.headers_mut().append(name, value);
        }
    }
    Some(answer)
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
