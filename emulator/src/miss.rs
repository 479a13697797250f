//! What the emulator answers when no route serves a request: the router's
//! fallback and every route's method fallback. axum's own answers (an empty
//! 404, a 405 with `Allow`) are never sent; each area answers as it always
//! did: the identity provider with a page, BaasBox with its error body, and
//! CloudMine with `{"errors": [...]}` after the same checks, in the same
//! order, as its routes make (app, API key, session, server params).

use std::sync::Arc;

use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};

use crate::extract::{
    check_api_key, decode, query_pairs, segments, session_user, unknown_app_page,
};
use crate::fail::{Fail, no_endpoint, not_allowed};
use crate::params::ServerParams;
use crate::state::AppState;
use crate::{accounts, baasbox, provider};

/// The fallback handler.
pub(crate) async fn miss(
    State(state): State<Arc<AppState>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path();
    let segments = segments(path);
    if segments.first().map(String::as_str) == Some("idp") {
        return provider::no_page();
    }
    if let Some(rest) = under_baasbox(&state, &segments) {
        return baasbox::miss(&method, &headers, rest);
    }
    let Some(("v1", "app", app, rest)) = segments.split_first().and_then(|(v1, tail)| {
        let (word, tail) = tail.split_first()?;
        let (app, rest) = tail.split_first()?;
        Some((v1.as_str(), word.as_str(), app.as_str(), rest))
    }) else {
        return no_endpoint(&method, &decode(path)).into_response();
    };
    if rest.is_empty() {
        return no_endpoint(&method, &decode(path)).into_response();
    }
    let words: Vec<&str> = rest.iter().map(String::as_str).collect();
    let request = Miss {
        state: &state,
        method: &method,
        app,
        headers: &headers,
        query: uri.query(),
        path,
    };
    request
        .cloudmine(&words)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// The path below the BaasBox prefix, when the front end is on and the
/// path is under it.
fn under_baasbox<'a>(state: &AppState, segments: &'a [String]) -> Option<&'a [String]> {
    state.baasbox.app_code.as_ref()?;
    let prefix: Vec<&str> = state
        .baasbox
        .prefix
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let matches =
        segments.len() >= prefix.len() && segments.iter().zip(&prefix).all(|(a, b)| a == b);
    matches.then(|| &segments[prefix.len()..])
}

struct Miss<'a> {
    state: &'a Arc<AppState>,
    method: &'a Method,
    app: &'a str,
    headers: &'a HeaderMap,
    query: Option<&'a str>,
    path: &'a str,
}

impl Miss<'_> {
    /// `/v1/app/{app}/{rest...}` with no route for it.
    async fn cloudmine(&self, rest: &[&str]) -> Result<Response, Fail> {
        let browser_route = matches!(
            rest,
            ["account", "social", "login" | "callback"]
                | ["account", "social", "login", "complete"]
        );
        if browser_route && !self.state.apps.contains_key(self.app) {
            return Ok(unknown_app_page());
        }
        check_api_key(self.state, self.app, self.headers)?;
        let rest = match rest {
            ["user", rest @ ..] => {
                session_user(self.state, self.app, self.headers).await?;
                if let ["access"] | ["access", _] = rest {
                    return Err(not_allowed(self.method, &rest.join("/")));
                }
                rest
            }
            // CloudMine reads `account/{word}` as a user id, also where the
            // word names a route of other methods (`account/create`...).
            ["account", id] if *self.method == Method::GET => {
                return accounts::profile_answer(self.state, self.app, id).await;
            }
            rest => rest,
        };
        if let ["binary"] | ["binary", _] = rest {
            return Err(not_allowed(self.method, &rest.join("/")));
        }
        ServerParams::parse(&query_pairs(self.query))?;
        if let ["text" | "data" | "search"] | ["run", _] = rest {
            return Err(not_allowed(self.method, &rest.join("/")));
        }
        Err(no_endpoint(self.method, &decode(self.path)))
    }
}
