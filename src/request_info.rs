//! [`RequestInfo`]: a call's request as it is sent, for debugging, with its
//! secrets redacted.

use std::fmt;

use reqwest::header::HeaderMap;
use serde_json::Value;

/// What a redacted header value or body field reads.
pub const REDACTED: &str = "[redacted]";

/// Parts of a header name that mark its value as a secret (matched in the
/// lowercase name): the API or master key, the session token,
/// `Authorization`, cookies.
const SECRET_HEADER_PARTS: [&str; 7] = [
    "key", "token", "secret", "auth", "cookie", "session", "master",
];

/// Parts of a JSON body's field name that mark its value as a secret
/// (matched in the lowercase name, at any depth): passwords, tokens.
const SECRET_FIELD_PARTS: [&str; 3] = ["password", "token", "secret"];

/// The request body, as [`RequestInfo`] shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestBody {
    /// No body.
    None,
    /// A JSON body, as text, with the values of fields whose name holds
    /// `password`, `token` or `secret` replaced by `"[redacted]"`.
    Json(String),
    /// Any other body: its content type and length only.
    Binary {
        /// The `Content-Type` sent.
        content_type: String,
        /// Its length in bytes.
        len: usize,
    },
}

/// A call's request as the SDK sends it: method, full URL (with the query
/// string), every header the SDK sets with secret values shown as
/// `[redacted]` (not those the HTTP client adds itself: `Host`,
/// `User-Agent`, `Accept`, `Content-Length`), and the body. Its `Debug` and `Display` never show an API key, master key,
/// session token, `Authorization` or cookie value: the SDK sends those in
/// headers, never in the URL.
///
/// From [`ApiCall::request_info`](crate::ApiCall::request_info) before
/// sending, and from [`CallInfo::request`](crate::CallInfo::request) in
/// event handlers.
///
/// ```no_run
/// # fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
/// let info = ws.objects().get(["car"]).request_info()?;
/// println!("{info}"); // GET https://…/text?keys=car, then one header a line
/// assert_eq!(info.header("x-cloudmine-apikey"), Some("[redacted]"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: RequestBody,
}

impl RequestInfo {
    /// Describes a request; secrets are redacted here, once.
    pub(crate) fn new(
        method: &str,
        url: &str,
        headers: &HeaderMap,
        body: Option<(&[u8], &str)>,
    ) -> Self {
        let headers = headers
            .iter()
            .map(|(name, value)| {
                let lower = name.as_str().to_ascii_lowercase();
                let secret =
                    value.is_sensitive() || SECRET_HEADER_PARTS.iter().any(|p| lower.contains(p));
                let shown = if secret {
                    REDACTED.to_owned()
                } else {
                    String::from_utf8_lossy(value.as_bytes()).into_owned()
                };
                (name.as_str().to_owned(), shown)
            })
            .collect();
        RequestInfo {
            method: method.to_owned(),
            url: url.to_owned(),
            headers,
            body: body.map_or(RequestBody::None, |(bytes, ty)| describe_body(bytes, ty)),
        }
    }

    /// The HTTP method.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The full URL, query string included (it carries no secret; it may
    /// carry the call's own data, such as a search query).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every header sent, `(lowercase name, value)`, secret values as
    /// `[redacted]`.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// A header's value by case-insensitive name (`[redacted]` for a secret).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body.
    pub fn body(&self) -> &RequestBody {
        &self.body
    }
}

impl fmt::Display for RequestInfo {
    /// The method and URL, then one `name: value` line per header, then the
    /// body (JSON text, or its type and length).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.url)?;
        for (name, value) in &self.headers {
            write!(f, "\n{name}: {value}")?;
        }
        match &self.body {
            RequestBody::None => Ok(()),
            RequestBody::Json(text) => write!(f, "\n\n{text}"),
            RequestBody::Binary { content_type, len } => {
                write!(f, "\n\n[{len} bytes of {content_type}]")
            }
        }
    }
}

fn describe_body(bytes: &[u8], content_type: &str) -> RequestBody {
    let json = content_type.starts_with("application/json");
    match serde_json::from_slice::<Value>(bytes) {
        Ok(mut value) if json => {
            redact_fields(&mut value);
            RequestBody::Json(value.to_string())
        }
        _ => RequestBody::Binary {
            content_type: content_type.to_owned(),
            len: bytes.len(),
        },
    }
}

/// Replaces secret fields' values, at any depth; iterative, so a deeply
/// nested body cannot exhaust the stack.
fn redact_fields(value: &mut Value) {
    let mut pending = vec![value];
    while let Some(v) = pending.pop() {
        match v {
            Value::Object(map) => {
                for (name, field) in map.iter_mut() {
                    let lower = name.to_ascii_lowercase();
                    if SECRET_FIELD_PARTS.iter().any(|p| lower.contains(p)) {
                        *field = Value::String(REDACTED.to_owned());
                    } else {
                        pending.push(field);
                    }
                }
            }
            Value::Array(items) => pending.extend(items.iter_mut()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn secrets_are_redacted_in_headers_and_json_fields() {
        let mut headers = HeaderMap::new();
        headers.insert("x-cloudmine-apikey", HeaderValue::from_static("k-123"));
        headers.insert("authorization", HeaderValue::from_static("Basic abc"));
        headers.insert("x-custom", HeaderValue::from_static("plain"));
        let mut hidden = HeaderValue::from_static("s3cr3t");
        hidden.set_sensitive(true);
        headers.insert("x-other", hidden);
        let body = br#"{"credentials": {"email": "a@b", "password": "pw-1"}, "list": [{"session_token": "t-1"}]}"#;
        let info = RequestInfo::new(
            "POST",
            "http://h/x",
            &headers,
            Some((body, "application/json")),
        );
        let shown = format!("{info} {info:?}");
        for secret in ["k-123", "Basic abc", "s3cr3t", "pw-1", "t-1"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert_eq!(info.header("X-Custom"), Some("plain"));
        assert_eq!(info.header("x-other"), Some(REDACTED));
        assert!(shown.contains("a@b"));
    }

    #[test]
    fn binary_bodies_show_only_their_length() {
        let info = RequestInfo::new(
            "PUT",
            "http://h/x",
            &HeaderMap::new(),
            Some((b"\x00\x01", "image/png")),
        );
        assert_eq!(
            info.body(),
            &RequestBody::Binary {
                content_type: "image/png".into(),
                len: 2
            }
        );
        assert!(info.to_string().ends_with("[2 bytes of image/png]"));
    }
}
