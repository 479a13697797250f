//! CloudMine's response envelope, decoded once, in one place.
//!
//! A 2xx answer is run through the endpoint's processor (CloudMine's
//! `textResponse` or `basicResponse`); anything else becomes an error group
//! keyed by status. [`Processed::fire`] then emits the events in CloudMine's
//! order, and [`Processed::into_result`] makes the awaited value.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::error::KeyError;
use crate::events::{CallInfo, Event, Handlers};
use crate::response::Response;
use crate::{Error, Result};

/// How a 2xx body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Processor {
    /// The `{success, errors, meta, result, count}` envelope.
    Text,
    /// The whole body is the success data (account endpoints).
    Basic,
}

/// A code errors are grouped under: HTTP statuses first (ascending), then words.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Code {
    Http(u16),
    Word(String),
}

impl Code {
    fn as_key(&self) -> String {
        match self {
            Code::Http(c) => c.to_string(),
            Code::Word(w) => w.clone(),
        }
    }
}

/// A processed answer.
#[derive(Debug, Clone, Default)]
pub(crate) struct Processed {
    pub status: Option<u16>,
    pub success: Option<Value>,
    pub meta: Option<Value>,
    pub result: Option<Value>,
    pub errors: BTreeMap<Code, Value>,
    pub count: Option<u64>,
    /// The whole-call failure (non-2xx, transport, timeout…), if any.
    pub failure: Option<Error>,
    /// What the request handed its `after` step (see `Request::carry`).
    pub carry: Option<Box<Value>>,
    /// The body as received (shared with the response or the error).
    pub raw: Bytes,
}

/// CloudMine's "non-empty": `0`, `false`, `""`, `null`, `{}` and `[]` are empty.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// The status CloudMine's JS SDK gives a per-key error given as a string.
fn status_for_message(message: &str) -> u16 {
    match message.to_ascii_lowercase().as_str() {
        "bad request" => 400,
        "permission denied" | "unauthorized" => 401,
        "key does not exist" | "not found" => 404,
        "conflict" => 409,
        _ => 400,
    }
}

/// Parses a body: empty is `{}`, JSON when it parses, the text otherwise.
pub(crate) fn parse_body(body: &[u8]) -> Value {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Value::Object(Map::new());
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// The `errors` list of an error body, as strings.
fn messages_of(body: &Value) -> Vec<String> {
    let list = match body {
        Value::Object(o) => o.get("errors"),
        Value::String(_) | Value::Array(_) => Some(body),
        _ => None,
    };
    match list {
        Some(Value::Array(items)) => items
            .iter()
            .map(|m| match m {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

impl Processed {
    /// Processes an HTTP answer.
    pub(crate) fn from_http(
        status: u16,
        body: Value,
        processor: Processor,
        snippet_set: bool,
        method: &str,
        url: &str,
    ) -> Self {
        let mut out = Processed {
            status: Some(status),
            ..Processed::default()
        };
        if !(200..300).contains(&status) {
            let body = match body {
                Value::String(s) => json!({ "errors": [s] }),
                other => other,
            };
            out.failure = Some(Error::Status {
                status,
                messages: messages_of(&body),
                body: Box::new(body.clone()),
                raw: Bytes::new(),
                method: method.to_owned(),
                url: url.to_owned(),
            });
            out.errors.insert(Code::Http(status), body);
            return out;
        }
        match (processor, body) {
            (Processor::Text, Value::Object(envelope))
                if envelope
                    .keys()
                    .any(|k| matches!(k.as_str(), "success" | "errors" | "meta" | "result")) =>
            {
                out.read_envelope(envelope, snippet_set);
            }
            (Processor::Text, other) => out.success = Some(other),
            (Processor::Basic, Value::Null) => out.success = Some(json!({})),
            (Processor::Basic, other) => out.success = Some(other),
        }
        out
    }

    /// Reads a 2xx answer's `{success, errors, meta, result, count}`
    /// envelope.
    fn read_envelope(&mut self, envelope: Map<String, Value>, snippet_set: bool) {
        // One pass by value: no lookups, no removal from the map.
        let mut errors = None;
        for (name, v) in envelope {
            let slot = match name.as_str() {
                "success" => &mut self.success,
                "meta" => &mut self.meta,
                "result" => &mut self.result,
                "count" => {
                    self.count = v.as_u64();
                    continue;
                }
                "errors" => {
                    errors = Some(v);
                    continue;
                }
                _ => continue,
            };
            if !is_empty(&v) {
                *slot = Some(v);
            }
        }
        if let Some(Value::Object(errors)) = errors {
            for (key, error) in errors {
                let (code, message) = match error {
                    Value::Object(ref e) if e.get("code").and_then(Value::as_u64).is_some() => {
                        let code = e.get("code").and_then(Value::as_u64).unwrap_or(400);
                        let message = e.get("message").cloned().unwrap_or(error.clone());
                        (u16::try_from(code).unwrap_or(400), message)
                    }
                    Value::String(ref s) => (status_for_message(s), error.clone()),
                    other => (400, other),
                };
                let group = self
                    .errors
                    .entry(Code::Http(code))
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(group) = group {
                    group.insert(key, json!({ "errors": [message] }));
                }
            }
        }
        if self.success.is_none()
            && self.meta.is_none()
            && self.result.is_none()
            && self.errors.is_empty()
        {
            if snippet_set {
                self.result = Some(json!({}));
            } else {
                self.success = Some(json!({}));
            }
        }
    }

    /// A call that failed before or without an HTTP answer.
    /// Keeps the body's bytes as received, for [`Response::raw`] and
    /// [`Error::raw_body`]: one shared buffer, no copy.
    pub(crate) fn set_raw(&mut self, body: Bytes) {
        if let Some(Error::Status { raw, .. }) = &mut self.failure {
            *raw = body.clone();
        }
        self.raw = body;
    }

    pub(crate) fn from_failure(error: Error) -> Self {
        let mut errors = BTreeMap::new();
        errors.insert(
            Code::Word(error.event_code()),
            json!({ "errors": [error.to_string()] }),
        );
        Processed {
            errors,
            failure: Some(error),
            ..Processed::default()
        }
    }

    /// The per-key failures of a 2xx answer.
    pub(crate) fn key_errors(&self) -> BTreeMap<String, KeyError> {
        let mut out = BTreeMap::new();
        if self.failure.is_some() {
            return out;
        }
        for (code, group) in &self.errors {
            let (Code::Http(status), Value::Object(keys)) = (code, group) else {
                continue;
            };
            for (key, body) in keys {
                let message = messages_of(body).join("; ");
                out.insert(
                    key.clone(),
                    KeyError {
                        status: *status,
                        message,
                    },
                );
            }
        }
        out
    }

    fn errors_json(&self) -> Value {
        Value::Object(
            self.errors
                .iter()
                .map(|(code, body)| (code.as_key(), body.clone()))
                .collect(),
        )
    }

    /// The whole processed answer, as the `complete` event's data.
    fn to_json(&self) -> Value {
        let mut out = Map::new();
        for (name, slot) in [
            ("success", &self.success),
            ("meta", &self.meta),
            ("result", &self.result),
        ] {
            if let Some(v) = slot {
                out.insert(name.into(), v.clone());
            }
        }
        if !self.errors.is_empty() {
            out.insert("errors".into(), self.errors_json());
        }
        Value::Object(out)
    }

    /// Fires the events in CloudMine's order; `complete` last.
    pub(crate) fn fire(&self, handlers: &mut Handlers, info: &CallInfo) {
        if handlers.is_empty() {
            return;
        }
        if let Some(success) = &self.success {
            if let Some(status) = self.status {
                if let Some(named) = Event::named(status) {
                    handlers.emit(named, success, info);
                }
                handlers.emit(Event::Status(status), success, info);
            }
            handlers.emit(Event::Success, success, info);
        }
        if let Some(meta) = &self.meta {
            handlers.emit(Event::Meta, meta, info);
        }
        if let Some(result) = &self.result {
            handlers.emit(Event::Result, result, info);
        }
        if !self.errors.is_empty() {
            for (code, body) in &self.errors {
                match code {
                    Code::Http(status) => {
                        if let Some(named) = Event::named(*status) {
                            handlers.emit(named, body, info);
                        }
                        handlers.emit(Event::Status(*status), body, info);
                    }
                    Code::Word(word) if word == "abort" => handlers.emit(Event::Abort, body, info),
                    Code::Word(_) => {}
                }
            }
            handlers.emit(Event::Error, &self.errors_json(), info);
        }
        handlers.emit(Event::Complete, &self.to_json(), info);
    }

    /// The awaited value: `Ok` when success data fired, the error otherwise.
    pub(crate) fn into_result(self, headers: reqwest::header::HeaderMap) -> Result<Response> {
        if let Some(failure) = self.failure.clone() {
            return Err(failure);
        }
        let key_errors = self.key_errors();
        match self.success {
            Some(success) => Ok(Response {
                status: self.status.unwrap_or(200),
                success,
                meta: self.meta,
                result: self.result,
                count: self.count,
                key_errors,
                headers,
                raw: self.raw,
            }),
            None if self.result.is_some() || self.meta.is_some() => Ok(Response {
                status: self.status.unwrap_or(200),
                success: Value::Object(Map::new()),
                meta: self.meta,
                result: self.result,
                count: self.count,
                key_errors,
                headers,
                raw: self.raw,
            }),
            None => Err(Error::Keys { errors: key_errors }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn events_of(p: &Processed) -> Vec<String> {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut h = Handlers::new();
        let statuses = [200, 401, 404].map(Event::Status);
        for e in crate::events::ANSWER_EVENTS.into_iter().chain(statuses) {
            let log = Arc::clone(&log);
            h.on(e, move |_: &Value, _: &CallInfo| {
                log.lock().unwrap().push(e.to_string())
            });
        }
        p.fire(&mut h, &CallInfo::default());
        log.lock().unwrap().clone()
    }

    #[test]
    fn partial_errors_fire_success_then_errors() {
        let body = json!({
            "success": {"a": 1}, "meta": {"m": 1}, "result": 5,
            "errors": {"b": "key does not exist", "c": {"code": 401, "message": "nope"}},
            "count": 3
        });
        let p = Processed::from_http(200, body, Processor::Text, false, "GET", "u");
        assert_eq!(
            events_of(&p),
            [
                "ok",
                "200",
                "success",
                "meta",
                "result",
                "unauthorized",
                "401",
                "notfound",
                "404",
                "error",
                "complete"
            ]
        );
        let r = p.into_result(Default::default()).unwrap();
        assert_eq!(r.count(), Some(3));
        assert_eq!(r.key_errors()["b"].status, 404);
        assert_eq!(r.key_errors()["c"].message, "nope");
        assert!(r.require_all().unwrap_err().key_errors().is_some());
    }

    #[test]
    fn all_keys_failed_is_an_error_without_success() {
        let body =
            json!({"success": {}, "errors": {"x": {"code": 404, "message": "key does not exist"}}});
        let p = Processed::from_http(200, body, Processor::Text, false, "GET", "u");
        assert_eq!(events_of(&p), ["notfound", "404", "error", "complete"]);
        let e = p.into_result(Default::default()).unwrap_err();
        assert_eq!(e.key_errors().unwrap()["x"].status, 404);
    }

    #[test]
    fn empty_envelope_still_succeeds_or_results() {
        let p = Processed::from_http(
            200,
            json!({"success": {}}),
            Processor::Text,
            false,
            "GET",
            "u",
        );
        assert_eq!(p.success, Some(json!({})));
        let p = Processed::from_http(
            200,
            json!({"success": {}}),
            Processor::Text,
            true,
            "GET",
            "u",
        );
        assert_eq!(p.result, Some(json!({})));
        assert!(p.success.is_none());
        let p = Processed::from_http(200, json!({"plain": 1}), Processor::Text, false, "GET", "u");
        assert_eq!(p.success, Some(json!({"plain": 1})));
        let p = Processed::from_http(201, json!({"id": 1}), Processor::Basic, false, "GET", "u");
        assert_eq!(events_of(&p), ["created", "success", "complete"]);
    }

    #[test]
    fn non_2xx_becomes_status_error() {
        let p = Processed::from_http(
            404,
            json!({"errors": ["gone"]}),
            Processor::Text,
            false,
            "GET",
            "http://h/p",
        );
        assert_eq!(events_of(&p), ["notfound", "404", "error", "complete"]);
        let e = p.into_result(Default::default()).unwrap_err();
        assert_eq!(e.status(), Some(404));
        assert_eq!(e.server_messages(), ["gone".to_string()]);
        let p = Processed::from_http(
            502,
            Value::String("bad gateway".into()),
            Processor::Text,
            false,
            "GET",
            "u",
        );
        assert_eq!(
            p.errors[&Code::Http(502)],
            json!({"errors": ["bad gateway"]})
        );
    }

    #[test]
    fn emptiness_follows_cloudmine() {
        for v in [
            json!(0),
            json!(false),
            json!(""),
            json!({}),
            json!([]),
            Value::Null,
        ] {
            assert!(is_empty(&v), "{v}");
        }
        for v in [json!(42), json!("s"), json!({"a": 1}), json!(true)] {
            assert!(!is_empty(&v), "{v}");
        }
        assert_eq!(parse_body(b""), json!({}));
        assert_eq!(parse_body(b"not json"), json!("not json"));
    }
}
