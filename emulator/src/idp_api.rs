//! The built-in identity provider's tiny API (served with `--test-idp`,
//! under `/idp/api`), the `api_base` of networks without a configured
//! provider, so social graph queries can be tried and tested offline.
//! Every call needs a bearer token of the built-in provider (`oauth.rs`):
//!
//! - `GET /idp/api/me`: the identity, as `/idp/userinfo` gives it;
//! - `GET /idp/api/friends`: `{"friends": []}`;
//! - `ANY /idp/api/echo`: what it received (method, query, headers but
//!   `Authorization`, body as text); `?status=NNN` answers with that status.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::extract::{QueryPairs, first, header};
use crate::model::Identity;
use crate::state::AppState;

/// The identity of the request's bearer token.
async fn identity(shared: &AppState, headers: &HeaderMap) -> Option<Identity> {
    let authorization = header(headers, "authorization")?;
    let token = authorization
        .strip_prefix("Bearer ")
        .or_else(|| authorization.strip_prefix("bearer "))?;
    crate::oauth::identity_for_token(&*shared.store, token.trim()).await
}

/// The answer to a request without a valid bearer token.
fn invalid_token() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({ "error": "invalid_token" })),
    )
        .into_response()
}

/// `GET /idp/api/me`.
pub(crate) async fn me(State(shared): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match identity(&shared, &headers).await {
        Some(i) => axum::Json(
            json!({ "id": i.id, "name": i.name, "email": i.email, "network": i.network }),
        )
        .into_response(),
        None => invalid_token(),
    }
}

/// `GET /idp/api/friends`: nobody.
pub(crate) async fn friends(State(shared): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match identity(&shared, &headers).await {
        Some(_) => axum::Json(json!({ "friends": [] })).into_response(),
        None => invalid_token(),
    }
}

/// `ANY /idp/api/echo`.
pub(crate) async fn echo(
    State(shared): State<Arc<AppState>>,
    method: Method,
    QueryPairs(query): QueryPairs,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if identity(&shared, &headers).await.is_none() {
        return invalid_token();
    }
    let status = first(&query, "status")
        .and_then(|s| s.parse::<u16>().ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .filter(|s| s.as_u16() >= 200)
        .unwrap_or(StatusCode::OK);
    let mut received = Map::new();
    for (name, value) in &headers {
        if name != "authorization" {
            let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
            received.insert(name.as_str().to_owned(), Value::String(text));
        }
    }
    let query: Vec<Value> = query.iter().map(|(k, v)| json!([k, v])).collect();
    let answer = json!({
        "method": method.as_str(),
        "query": query,
        "headers": received,
        "body": String::from_utf8_lossy(&body),
    });
    (status, axum::Json(answer)).into_response()
}
