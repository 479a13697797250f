//! [`EsQuery`]: an Elasticsearch query for the JS SDK's `searchES`
//! (`POST v2/app/{appid}/[user/]class/{class}/elasticsearch`).

use reqwest::Method;
use serde_json::Value;

use crate::api_version::ApiVersion;
use crate::call::{Body, Request};
use crate::error::{Error, Result};

/// The body of [`WebService::search_es`](crate::WebService::search_es): a JSON
/// value (sent as JSON text) or a string sent as it is, as the JS SDK's
/// `searchES` does (`JSON.stringify` for objects only).
///
/// ```
/// use cloudmine::EsQuery;
/// let q: EsQuery = serde_json::json!({"query": {"match_all": {}}}).into();
/// let raw: EsQuery = r#"{"query": {"match_all": {}}}"#.into();
/// # let _ = (q, raw);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum EsQuery {
    /// A JSON value, sent as JSON text.
    Json(Value),
    /// Text sent as it is (it should be JSON; the server judges it).
    Text(String),
}

impl From<Value> for EsQuery {
    fn from(value: Value) -> Self {
        EsQuery::Json(value)
    }
}

impl From<&str> for EsQuery {
    fn from(text: &str) -> Self {
        EsQuery::Text(text.to_owned())
    }
}

impl From<String> for EsQuery {
    fn from(text: String) -> Self {
        EsQuery::Text(text)
    }
}

/// The `v2` request: the class is one non-empty path segment.
pub(crate) fn request(class: &str, query: EsQuery) -> Result<Request> {
    if class.trim().is_empty() {
        return Err(Error::invalid_argument("class", "must not be empty"));
    }
    if class.contains('/') || class == "." || class == ".." {
        return Err(Error::invalid_argument(
            "class",
            format!("{class:?} is not a class name: no '/', '.' or '..'"),
        ));
    }
    let bytes = match query {
        EsQuery::Json(value) => value.to_string().into_bytes(),
        EsQuery::Text(text) => text.into_bytes(),
    };
    let mut request = Request::new(Method::POST, &["class", class, "elasticsearch"]);
    request.version = Some(ApiVersion::V2);
    request.body = Some(Body {
        bytes,
        content_type: "application/json",
    });
    Ok(request)
}
