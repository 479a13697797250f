//! `POST account/social/ticket` (an emulator extension, PROTOCOL.md §4):
//! trades the session in the `X-CloudMine-SessionToken` header for a
//! one-time link ticket, which the social-login start URL carries instead of
//! the session token. The tickets themselves are in `tickets.rs`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::crypto::sha256_hex;
use crate::extract::{Caller, header};
use crate::fail::{Fail, json_response};
use crate::state::AppState;
use crate::tickets::{IssueError, TICKET_TTL};

/// `POST account/social/ticket` (API key already checked): `{"ticket",
/// "expires_in"}` for the session's user, or 401 without a live session.
pub(crate) async fn issue(
    caller: Caller,
    State(shared): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, Fail> {
    let token = header(&headers, "x-cloudmine-sessiontoken").unwrap_or_default();
    let refused = || {
        Fail::new(
            StatusCode::UNAUTHORIZED,
            "a link ticket needs a valid session in the X-CloudMine-SessionToken header",
        )
    };
    if token.is_empty() {
        return Err(refused());
    }
    let (app, hash) = (caller.app_id.clone(), sha256_hex(&token));
    let user = shared
        .store
        .session_user(&app, &hash)
        .await?
        .ok_or_else(refused)?;
    match crate::tickets::issue(&*shared.store, &caller.app_id, &user, &hash).await {
        Ok(ticket) => Ok(json_response(
            StatusCode::OK,
            json!({ "ticket": ticket, "expires_in": TICKET_TTL.as_secs() }),
        )),
        Err(IssueError::Random(why)) => Err(Fail::internal(&why)),
        Err(IssueError::Store(e)) => Err(e.into()),
    }
}
