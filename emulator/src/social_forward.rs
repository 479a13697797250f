//! The outbound half of a social graph query: the URL under the network's
//! `api_base` (nothing else is reachable), the headers the caller may set,
//! and the call itself with a deadline, no redirects and a bounded answer.
//! Imports no handler.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::Semaphore;

/// How long a call to a network's API may take, by default.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer passed back, by default: 16 MiB.
pub(crate) const DEFAULT_MAX_ANSWER: usize = 16 * 1024 * 1024;
/// The most calls to networks' APIs under way at once; past it a query is
/// a 503 without a call (each call may hold an answer of `max_answer`).
pub(crate) const MAX_CONCURRENT: usize = 32;
/// What replaces the user's token wherever a network's answer repeats it.
const REDACTED: &[u8] = b"[redacted]";

/// Social graph query settings.
#[derive(Debug, Clone)]
pub(crate) struct QuerySettings {
    /// The deadline of one call to a network's API (connect to last byte).
    pub timeout: Duration,
    /// The largest answer body passed back; a larger one is a 502.
    pub max_answer: usize,
    /// Network → API root, for networks served by the built-in provider
    /// (default: its own `/idp/api`).
    pub builtin_api_bases: HashMap<String, String>,
    /// One permit per call under way ([`MAX_CONCURRENT`]).
    pub slots: Arc<Semaphore>,
}

impl Default for QuerySettings {
    fn default() -> Self {
        QuerySettings {
            timeout: DEFAULT_TIMEOUT,
            max_answer: DEFAULT_MAX_ANSWER,
            builtin_api_bases: HashMap::new(),
            slots: Arc::new(Semaphore::new(MAX_CONCURRENT)),
        }
    }
}

/// Why a call did not give an answer to pass back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ForwardError {
    /// The network could not be reached (or broke off).
    Unreachable,
    /// No answer in time.
    Timeout,
    /// The answer is larger than the cap.
    TooLarge,
    /// [`MAX_CONCURRENT`] calls are already under way.
    Busy,
}

/// The network's answer, as passed back.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub content_type: Option<HeaderValue>,
    pub body: Bytes,
}

/// One checked call to make.
pub(crate) struct Outbound<'a> {
    pub method: Method,
    pub url: url::Url,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The user's access token at the network (sent as a bearer token).
    pub token: &'a str,
}

/// An endpoint segment, decoded, when it is a plain path segment: not
/// empty, `.` or `..`, and without `/`, `\`, `%` (a second encoding), `@`
/// or control characters.
fn plain_segment(raw: &str) -> Option<String> {
    let s = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()?
        .into_owned();
    let bad = s.is_empty()
        || s == "."
        || s == ".."
        || s.chars()
            .any(|c| matches!(c, '/' | '\\' | '%' | '@') || c.is_control());
    (!bad).then_some(s)
}

/// `{api_base}/{endpoint}` with `params` added to the query. The endpoint
/// arrives as its raw (still percent-encoded) path segments; `Err` says
/// why it is refused (only paths under `api_base` are reachable).
pub(crate) fn target_url(
    api_base: &str,
    endpoint: &[&str],
    params: &[(String, String)],
) -> Result<url::Url, String> {
    let refused = || {
        "the endpoint must be a path under the network's API: plain segments, none empty, \
         '.' or '..', and no '/', '\\', '%', '@' once decoded"
            .to_owned()
    };
    let base = url::Url::parse(api_base)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && !u.cannot_be_a_base())
        .ok_or("the network's api_base is not an http(s) URL")?;
    let segments = endpoint
        .iter()
        .map(|raw| plain_segment(raw))
        .collect::<Option<Vec<_>>>()
        .filter(|s| !s.is_empty())
        .ok_or_else(refused)?;
    let mut url = base.clone();
    url.set_fragment(None);
    url.path_segments_mut()
        .map_err(|()| refused())?
        .pop_if_empty()
        .extend(&segments);
    if !params.is_empty() {
        url.query_pairs_mut().extend_pairs(params);
    }
    let base_path = base.path().trim_end_matches('/');
    let inside = url.origin() == base.origin()
        && url.path().starts_with(&format!("{base_path}/"))
        && url.username().is_empty();
    if inside { Ok(url) } else { Err(refused()) }
}

/// Headers the caller may not set: hop-by-hop ones, and those that carry
/// credentials or name the host (the token is the emulator's to add).
fn forbidden(name: &HeaderName) -> bool {
    const NAMES: &[&str] = &[
        "authorization",
        "cookie",
        "host",
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "expect",
    ];
    const FORWARDING: &[&str] = &["forwarded", "via", "x-real-ip", "x-client-ip"];
    let n = name.as_str();
    NAMES.contains(&n)
        || FORWARDING.contains(&n)
        || ["x-cloudmine-", "x-forwarded-", "proxy-"]
            .iter()
            .any(|prefix| n.starts_with(prefix))
}

/// `bytes` with every occurrence of `token` replaced by `[redacted]`: a
/// network that repeats the token it was sent (an echo endpoint, a debug
/// header) does not hand it to the caller.
fn redact(bytes: &[u8], token: &str) -> Option<Vec<u8>> {
    if token.is_empty() {
        return None;
    }
    let finder = memchr::memmem::Finder::new(token.as_bytes());
    finder.find(bytes)?;
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(at) = finder.find(rest) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(REDACTED);
        rest = &rest[at + token.len()..];
    }
    out.extend_from_slice(rest);
    Some(out)
}

/// A JSON value as query or header text: strings as they are, numbers
/// and booleans as written, other values as JSON.
fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The `params` query parameter (a JSON object, as the JS SDK encodes it)
/// as query pairs: nulls left out, each element of an array repeated.
pub(crate) fn params_of(text: Option<&str>) -> Result<Vec<(String, String)>, String> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
        return Err("the params parameter must be a JSON object".into());
    };
    let mut pairs = Vec::new();
    for (k, v) in &map {
        match v {
            Value::Null => {}
            Value::Array(items) => pairs.extend(items.iter().map(|i| (k.clone(), as_text(i)))),
            other => pairs.push((k.clone(), as_text(other))),
        }
    }
    Ok(pairs)
}

/// The headers to send: the `headers` query parameter (a JSON object of
/// strings, numbers or booleans) minus the forbidden ones, and the
/// caller's `Content-Type` unless `headers` names one.
pub(crate) fn headers_of(
    text: Option<&str>,
    content_type: Option<&HeaderValue>,
) -> Result<HeaderMap, String> {
    let why = "the headers parameter must be a JSON object of header names to strings";
    let map = match text.map(serde_json::from_str::<Value>) {
        None => serde_json::Map::new(),
        Some(Ok(Value::Object(map))) => map,
        Some(_) => return Err(why.into()),
    };
    let mut out = HeaderMap::new();
    for (k, v) in &map {
        if matches!(v, Value::Array(_) | Value::Object(_) | Value::Null) {
            return Err(format!("{why}: {k:?} is not one"));
        }
        let name = HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| format!("{k:?} is not a header name"))?;
        let value = HeaderValue::from_str(&as_text(v))
            .map_err(|_| format!("the value of the header {k:?} is not a header value"))?;
        if !forbidden(&name) {
            out.append(name, value);
        }
    }
    if let Some(ct) = content_type
        && !out.contains_key(header::CONTENT_TYPE)
    {
        out.insert(header::CONTENT_TYPE, ct.clone());
    }
    Ok(out)
}

/// Makes the call: at most [`MAX_CONCURRENT`] at once, no redirects
/// followed, `settings.timeout` for all of it, and at most
/// `settings.max_answer` bytes read; the token is redacted from the answer.
/// Errors never carry the URL or the token.
pub(crate) async fn send(
    settings: &QuerySettings,
    out: Outbound<'_>,
) -> Result<Answer, ForwardError> {
    let _slot = settings
        .slots
        .try_acquire()
        .map_err(|_| ForwardError::Busy)?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .build()
        .map_err(|_| ForwardError::Unreachable)?;
    let kind = |e: reqwest::Error| {
        let timeout = e.is_timeout();
        tracing::warn!(error = %e.without_url(), "social graph query: the network's API failed");
        if timeout {
            ForwardError::Timeout
        } else {
            ForwardError::Unreachable
        }
    };
    let mut response = client
        .request(out.method, out.url)
        .headers(out.headers)
        .bearer_auth(out.token)
        .body(out.body)
        .send()
        .await
        .map_err(kind)?;
    let too_large = |n: u64| usize::try_from(n).map_or(true, |n| n > settings.max_answer);
    if response.content_length().is_some_and(too_large) {
        return Err(ForwardError::TooLarge);
    }
    let status = response.status();
    let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| {
        match redact(v.as_bytes(), out.token) {
            None => Some(v.clone()),
            Some(clean) => HeaderValue::from_bytes(&clean).ok(),
        }
    });
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(kind)? {
        if body.len() + chunk.len() > settings.max_answer {
            return Err(ForwardError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    let body = redact(&body, out.token).unwrap_or(body);
    Ok(Answer {
        status,
        content_type,
        body: Bytes::from(body),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_stay_under_the_api_base() {
        let url = |e: &str| {
            let segs: Vec<&str> = e.split('/').collect();
            target_url("https://api.example/v1/", &segs, &[]).map(|u| u.to_string())
        };
        assert_eq!(
            url("statuses/update.json").unwrap(),
            "https://api.example/v1/statuses/update.json"
        );
        assert_eq!(url("a%20b").unwrap(), "https://api.example/v1/a%20b");
        for bad in [
            "..",
            "a/../b",
            "%2e%2e",
            "%2E%2e/x",
            "a/%2f/b",
            "a%2Fb",
            "",
            "a//b",
            "http:/",
            "x@evil.example",
            "%252e%252e",
            "a%5Cb",
            ".",
        ] {
            assert!(url(bad).is_err(), "{bad}");
        }
        let with_params = target_url(
            "http://127.0.0.1:9/api",
            &["me"],
            &[("a".into(), "1 2".into())],
        )
        .unwrap();
        assert_eq!(with_params.as_str(), "http://127.0.0.1:9/api/me?a=1+2");
        assert!(target_url("ftp://x/", &["a"], &[]).is_err());
        assert!(target_url("not a url", &["a"], &[]).is_err());
    }

    #[test]
    fn params_and_headers_are_checked() {
        assert_eq!(
            params_of(Some(r#"{"a":"x","n":2,"l":[1,"y"],"z":null}"#)).unwrap(),
            vec![
                ("a".to_owned(), "x".to_owned()),
                ("n".into(), "2".into()),
                ("l".into(), "1".into()),
                ("l".into(), "y".into()),
            ]
        );
        assert!(params_of(Some("[1]")).is_err());
        assert!(params_of(Some("{")).is_err());
        let h = headers_of(
            Some(r#"{"X-A":"1","Authorization":"Bearer stolen","Host":"evil","Cookie":"c","X-CloudMine-SessionToken":"s"}"#),
            Some(&HeaderValue::from_static("text/plain")),
        )
        .unwrap();
        assert_eq!(h.len(), 2, "{h:?}");
        assert_eq!(h["x-a"], "1");
        assert_eq!(h["content-type"], "text/plain");
        assert!(headers_of(Some(r#"{"X":{"y":1}}"#), None).is_err());
        assert!(headers_of(Some(r#"{"bad name":"1"}"#), None).is_err());
        assert!(headers_of(Some(r#"{"X":"a\nb"}"#), None).is_err());
        assert!(headers_of(Some("1"), None).is_err());
    }

    #[test]
    fn forwarding_headers_are_dropped_and_the_token_redacted() {
        let h = headers_of(
            Some(r#"{"X-Forwarded-For":"1","Forwarded":"for=1","Via":"g","X-Real-IP":"1","Proxy-X":"1","X-Ok":"1"}"#),
            None,
        )
        .unwrap();
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(
            redact(b"a TOK b TOKTOK", "TOK").unwrap(),
            b"a [redacted] b [redacted][redacted]"
        );
        assert_eq!(redact(b"nothing here", "TOK"), None);
        assert_eq!(redact(b"anything", ""), None);
    }
}
