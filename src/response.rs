//! [`Response`]: the value a successful call resolves to.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::KeyError;
use crate::{Error, Result};

/// A successful answer.
///
/// `success` holds the data (for objects: `{key: value, …}`); keys that failed
/// while others succeeded are in [`key_errors`](Self::key_errors), and also
/// fired the `error` event.
#[derive(Debug, Clone)]
pub struct Response {
    pub(crate) status: u16,
    pub(crate) success: Value,
    pub(crate) meta: Option<Value>,
    pub(crate) result: Option<Value>,
    pub(crate) count: Option<u64>,
    pub(crate) key_errors: BTreeMap<String, KeyError>,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) raw: Bytes,
}

impl Response {
    /// The HTTP status (200, 201…).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The success data as JSON.
    pub fn success(&self) -> &Value {
        &self.success
    }

    /// Takes the success data.
    pub fn into_success(self) -> Value {
        self.success
    }

    /// Decodes the whole success data into `T`.
    pub fn get_as<T: DeserializeOwned>(&self) -> Result<T> {
        T::deserialize(&self.success).map_err(|e| Error::decode("the success data", e))
    }

    /// The value stored under `key` in the success data.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.success.get(key)
    }

    /// Decodes the value under `key`; `Ok(None)` when the key is absent.
    pub fn value_as<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        self.success
            .get(key)
            .map(|v| T::deserialize(v).map_err(|e| Error::decode(format!("key {key:?}"), e)))
            .transpose()
    }

    /// Decodes every `{key: value}` pair of the success data.
    pub fn into_map<T: DeserializeOwned>(self) -> Result<BTreeMap<String, T>> {
        match self.success {
            Value::Object(map) => map
                .into_iter()
                .map(|(k, v)| {
                    T::deserialize(v)
                        .map(|t| (k.clone(), t))
                        .map_err(|e| Error::decode(format!("key {k:?}"), e))
                })
                .collect(),
            other => Err(Error::decode(
                "the success data",
                format!("expected an object of keys, got {}", kind_of(&other)),
            )),
        }
    }

    /// The keys of the success data, in order.
    pub fn keys(&self) -> Vec<&str> {
        self.success
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// `meta` data, when the server sent some.
    pub fn meta(&self) -> Option<&Value> {
        self.meta.as_ref()
    }

    /// The `result` of a server-side snippet.
    pub fn result(&self) -> Option<&Value> {
        self.result.as_ref()
    }

    /// Decodes the snippet `result` into `T`.
    pub fn result_as<T: DeserializeOwned>(&self) -> Result<T> {
        T::deserialize(self.result.as_ref().unwrap_or(&Value::Null))
            .map_err(|e| Error::decode("the result", e))
    }

    /// The total count, when the `count` option was set.
    pub fn count(&self) -> Option<u64> {
        self.count
    }

    /// Keys that failed while others succeeded.
    pub fn key_errors(&self) -> &BTreeMap<String, KeyError> {
        &self.key_errors
    }

    /// True when some keys failed.
    pub fn is_partial(&self) -> bool {
        !self.key_errors.is_empty()
    }

    /// Turns a partial answer into [`Error::Keys`], for callers that need every key.
    pub fn require_all(self) -> Result<Self> {
        if self.key_errors.is_empty() {
            Ok(self)
        } else {
            Err(Error::Keys {
                errors: self.key_errors,
            })
        }
    }

    /// All response headers.
    pub fn headers(&self) -> &reqwest::header::HeaderMap {
        &self.headers
    }

    /// The answer's body as the server sent it: the very buffer the answer
    /// was read into, shared (cloning it is a reference count, not a copy).
    /// Empty for a response the SDK made without a body, and for a login's
    /// answer (it holds the session token).
    ///
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// let response = ws.objects().get(["car"]).await?;
    /// println!("{} bytes: {}", response.raw().len(), response.text());
    /// # Ok(()) }
    /// ```
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// [`raw`](Self::raw) as text, invalid UTF-8 replaced by `\u{FFFD}`
    /// (borrowed when it is valid).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.raw)
    }

    /// A response header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
