//! Social graph queries (PROTOCOL.md, "Social graph queries"):
//! `{METHOD} /v1/app/{app}/user/social/{network}/{endpoint...}` calls
//! `{api_base}/{endpoint}` of the network with the user's kept provider
//! access token, and passes back the status, body and `Content-Type`.
//!
//! The token never leaves towards the caller; the endpoint cannot leave the
//! network's `api_base` (`social_forward.rs` does the outbound call).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};

use crate::extract::{Caller, QueryPairs, UserLevel, decode, first};
use crate::fail::Fail;
use crate::miss::miss;
use crate::social_forward::{self, Answer, ForwardError, Outbound};
use crate::state::AppState;

/// The route, below `/v1/app/{app}/user`.
pub(crate) fn routes() -> axum::Router<Arc<AppState>> {
    let handler: MethodRouter<Arc<AppState>> = get(query)
        .head(miss)
        .post(query)
        .put(query)
        .delete(query)
        .patch(query);
    axum::Router::new().route("/social/{network}/{*endpoint}", handler)
}

/// `{METHOD} user/social/{network}/{endpoint...}` (API key and session
/// already checked by [`Caller`]).
pub(crate) async fn query(
    caller: Caller<UserLevel>,
    State(shared): State<Arc<AppState>>,
    OriginalUri(uri): OriginalUri,
    method: Method,
    QueryPairs(pairs): QueryPairs,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = Call {
        caller: &caller,
        method,
        pairs: &pairs,
        headers: &headers,
        body,
    };
    match forward(&shared, uri.path(), call).await {
        Ok(answer) => passed_back(answer),
        Err(fail) => fail.into_response(),
    }
}

/// What the caller sent.
struct Call<'a> {
    caller: &'a Caller<UserLevel>,
    method: Method,
    pairs: &'a [(String, String)],
    headers: &'a HeaderMap,
    body: Bytes,
}

/// The network (lower-cased) and the endpoint's raw segments of
/// `/v1/app/{app}/user/social/{network}/{endpoint...}`.
fn split_path(path: &str) -> Option<(String, Vec<&str>)> {
    let parts: Vec<&str> = path.split('/').collect();
    if parts.get(4..6) != Some(&["user", "social"][..]) || parts.len() < 8 {
        return None;
    }
    Some((decode(parts[6]).to_ascii_lowercase(), parts[7..].to_vec()))
}

async fn forward(shared: &AppState, path: &str, call: Call<'_>) -> Result<Answer, Fail> {
    let Some((network, endpoint)) = split_path(path) else {
        return Err(Fail::bad(
            "the path must be user/social/{network}/{endpoint}",
        ));
    };
    let app_id = call.caller.app_id.as_str();
    let api_base = api_base(shared, app_id, &network)?;
    let params = social_forward::params_of(first(call.pairs, "params")).map_err(Fail::bad)?;
    let out_headers = social_forward::headers_of(
        first(call.pairs, "headers"),
        call.headers.get(header::CONTENT_TYPE),
    )
    .map_err(Fail::bad)?;
    let url = social_forward::target_url(&api_base, &endpoint, &params).map_err(Fail::bad)?;
    let (app, user, net) = (
        app_id.to_owned(),
        call.caller.owner().to_owned(),
        network.clone(),
    );
    let Some(token) = shared.store.provider_token(&app, &user, &net).await? else {
        return Err(Fail::new(
            StatusCode::UNAUTHORIZED,
            format!(
                "this user has no {network} access token: log in with {network} (or link it to \
                 this user) first"
            ),
        ));
    };
    let out = Outbound {
        method: call.method,
        url,
        headers: out_headers,
        body: call.body,
        token: &token,
    };
    social_forward::send(&shared.social.query, out)
        .await
        .map_err(|e| forward_failure(&network, e, shared.social.query.max_answer))
}

/// The API root of `network` for `app_id`: its configured provider's
/// `api_base`, or the built-in provider's API; 404 naming it otherwise.
fn api_base(shared: &AppState, app_id: &str, network: &str) -> Result<String, Fail> {
    let not_found = |why: String| Fail::new(StatusCode::NOT_FOUND, why);
    if let Some(enabled) = shared.social.networks.get(app_id)
        && !enabled.contains(network)
    {
        return Err(not_found(format!(
            "the network {network} is not enabled for this app"
        )));
    }
    if let Some(p) = shared.social.providers.get(network) {
        return p.api_base.clone().ok_or_else(|| {
            not_found(format!(
                "the network {network} has no API configured (api_base in its provider \
                 configuration)"
            ))
        });
    }
    if shared.social.test_idp {
        let bases = &shared.social.query.builtin_api_bases;
        return Ok(bases
            .get(network)
            .cloned()
            .unwrap_or_else(|| format!("{}/idp/api", shared.base_url)));
    }
    Err(not_found(format!(
        "unknown network {network}: no identity provider is configured for it"
    )))
}

fn forward_failure(network: &str, e: ForwardError, max: usize) -> Fail {
    match e {
        ForwardError::Unreachable => Fail::new(
            StatusCode::BAD_GATEWAY,
            format!("the {network} API could not be reached"),
        ),
        ForwardError::Timeout => Fail::new(
            StatusCode::GATEWAY_TIMEOUT,
            format!("the {network} API did not answer in time"),
        ),
        ForwardError::TooLarge => Fail::new(
            StatusCode::BAD_GATEWAY,
            format!("the {network} API's answer is larger than {max} bytes"),
        ),
        ForwardError::Busy => Fail::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{} social graph queries are already under way; try again shortly",
                social_forward::MAX_CONCURRENT
            ),
        ),
    }
}

/// The network's status and body, with its `Content-Type` (and the body's
/// `Content-Length`); no other header of the network.
fn passed_back(answer: Answer) -> Response {
    let mut response = (answer.status, answer.body).into_response();
    let headers = response.headers_mut();
    headers.remove(header::CONTENT_TYPE);
    if let Some(ct) = answer.content_type {
        headers.insert(header::CONTENT_TYPE, ct);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_network_and_endpoint() {
        let (n, e) = split_path("/v1/app/a/user/social/GitHub/statuses/update.json").unwrap();
        assert_eq!(n, "github");
        assert_eq!(e, ["statuses", "update.json"]);
        assert!(split_path("/v1/app/a/user/social/github").is_none());
        assert!(split_path("/v1/app/a/social/github/x").is_none());
    }
}
