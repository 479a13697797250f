//! Test hooks: recorded requests and injected faults.

use std::collections::VecDeque;
use std::fmt;

use serde_json::{Value, json};

/// The most request bytes kept per recorded request.
pub const RECORDED_BODY_LIMIT: usize = 64 * 1024;

/// The most requests kept.
pub(crate) const MAX_RECORDED: usize = 10_000;
/// The most bytes (bodies, headers, paths) kept over all recorded requests.
pub(crate) const MAX_RECORDED_BYTES: usize = 32 * 1024 * 1024;

/// The recorded requests, oldest first, bounded in count and in bytes: the
/// oldest go first when either bound would be passed.
#[derive(Default)]
pub(crate) struct RecordLog {
    items: VecDeque<RecordedRequest>,
    bytes: usize,
}

impl RecordLog {
    /// Keeps `request`, forgetting the oldest ones as needed.
    pub(crate) fn push(&mut self, request: RecordedRequest) {
        let size = request.size();
        while !self.items.is_empty()
            && (self.items.len() >= MAX_RECORDED || self.bytes + size > MAX_RECORDED_BYTES)
        {
            if let Some(old) = self.items.pop_front() {
                self.bytes -= old.size();
            }
        }
        self.bytes += size;
        self.items.push_back(request);
    }

    /// The kept requests, oldest first.
    pub(crate) fn to_vec(&self) -> Vec<RecordedRequest> {
        self.items.iter().cloned().collect()
    }

    /// Forgets every request.
    pub(crate) fn clear(&mut self) {
        self.items.clear();
        self.bytes = 0;
    }
}

const SECRET_HEADERS: &[&str] = &[
    "x-cloudmine-apikey",
    "x-cloudmine-sessiontoken",
    "authorization",
    "x-bb-session",
];
const SECRET_PARAMS: &[&str] = &["apikey", "session_token"];

/// A request the emulator received, as it arrived.
#[derive(Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The HTTP method.
    pub method: String,
    /// The percent-decoded path.
    pub path: String,
    /// The raw query string.
    pub raw_query: Option<String>,
    /// Decoded query pairs, in order, repeated names kept.
    pub query: Vec<(String, String)>,
    /// Headers, lower-case names, in order.
    pub headers: Vec<(String, String)>,
    /// The first 64 KiB of the body.
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// A header value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a query parameter, in order.
    pub fn query_values(&self, name: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The first value of a query parameter.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query_values(name).into_iter().next()
    }

    /// About how many bytes this record holds.
    fn size(&self) -> usize {
        let pairs =
            |v: &[(String, String)]| v.iter().map(|(n, v)| n.len() + v.len()).sum::<usize>();
        self.body.len()
            + self.path.len()
            + self.raw_query.as_ref().map_or(0, String::len)
            + pairs(&self.query)
            + pairs(&self.headers)
    }

    /// The body parsed as JSON, when it is JSON.
    pub fn body_json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

fn redact<'a>(name: &str, value: &'a str, secret: &[&str]) -> &'a str {
    if secret.iter().any(|s| name.eq_ignore_ascii_case(s)) {
        "[redacted]"
    } else {
        value
    }
}

impl fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), redact(n, v, SECRET_HEADERS)))
            .collect();
        let query: Vec<(&str, &str)> = self
            .query
            .iter()
            .map(|(n, v)| (n.as_str(), redact(n, v, SECRET_PARAMS)))
            .collect();
        f.debug_struct("RecordedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &query)
            .field("headers", &headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// An answer the emulator gives instead of handling a request, once.
///
/// ```
/// use cloudmine_emulator::Fault;
/// let fault = Fault::status(409)
///     .body(serde_json::json!({"errors": ["already taken"]}))
///     .path_suffix("/text");
/// let busy = Fault::status(503).header("Retry-After", "2");
/// ```
#[derive(Debug, Clone)]
pub struct Fault {
    pub(crate) status: u16,
    pub(crate) body: Value,
    pub(crate) path_suffix: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
}

impl Fault {
    /// Answer with this HTTP status (and `{"errors": ["injected fault"]}`).
    pub fn status(code: u16) -> Self {
        Fault {
            status: code,
            body: json!({ "errors": ["injected fault"] }),
            path_suffix: None,
            headers: Vec::new(),
        }
    }

    /// Answer with this JSON body.
    pub fn body(mut self, json: Value) -> Self {
        self.body = json;
        self
    }

    /// Only for a request whose path ends with `suffix` (default: any request).
    pub fn path_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.path_suffix = Some(suffix.into());
        self
    }

    /// Adds a header to the answer (e.g. `Retry-After`); a name or value
    /// HTTP cannot carry is left out of the answer.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub(crate) fn applies_to(&self, path: &str) -> bool {
        self.path_suffix
            .as_deref()
            .is_none_or(|s| path.ends_with(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secrets() {
        let r = RecordedRequest {
            method: "GET".into(),
            path: "/v1/app/a/text".into(),
            raw_query: Some("apikey=k1&limit=2".into()),
            query: vec![
                ("apikey".into(), "k1-secret".into()),
                ("limit".into(), "2".into()),
            ],
            headers: vec![
                ("x-cloudmine-apikey".into(), "key-secret".into()),
                ("x-cloudmine-sessiontoken".into(), "tok-secret".into()),
                ("x-cloudmine-agent".into(), "Rust/0.1.0".into()),
            ],
            body: Vec::new(),
        };
        let debug = format!("{r:?}");
        assert!(!debug.contains("secret"), "{debug}");
        assert!(debug.contains("Rust/0.1.0") && debug.contains("[redacted]"));
        assert_eq!(r.header("X-CloudMine-ApiKey"), Some("key-secret"));
        assert_eq!(r.query_value("limit"), Some("2"));
    }

    #[test]
    fn the_log_is_bounded_in_bytes() {
        let mut log = RecordLog::default();
        let big = RecordedRequest {
            method: "PUT".into(),
            path: "/p".into(),
            raw_query: None,
            query: Vec::new(),
            headers: Vec::new(),
            body: vec![0; RECORDED_BODY_LIMIT],
        };
        for _ in 0..MAX_RECORDED {
            log.push(big.clone());
        }
        assert!(log.bytes <= MAX_RECORDED_BYTES);
        assert_eq!(log.items.len(), MAX_RECORDED_BYTES / big.size());
        log.clear();
        assert!(log.to_vec().is_empty());
    }
}
