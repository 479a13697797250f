//! The master-key calls of the users API: a user's profile updated or
//! replaced, their password set, or the user deleted, by id and without the
//! user's session (the JS SDK's `updateUserMaster`, `replaceUserMaster`,
//! `changePasswordMaster` and `deleteUser` with a master key).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::accounts::{json_object, profile_answer, strip_reserved};
use crate::extract::{MasterCaller, PathParams};
use crate::fail::{Fail, json_response};
use crate::state::AppState;

fn no_such_user() -> Fail {
    Fail::new(StatusCode::NOT_FOUND, "no such user")
}

/// The app, the user id and the profile fields a profile write may set.
fn profile_write(
    caller: MasterCaller,
    path: &PathParams,
    body: &[u8],
) -> Result<(String, String, Value), Fail> {
    let mut profile = json_object(body)?;
    strip_reserved(&mut profile);
    Ok((caller.app_id, path.get("id").to_owned(), profile))
}

/// 404 unless `user_id` is a user of the app.
async fn existing(state: &AppState, app_id: &str, user_id: &str) -> Result<(), Fail> {
    let (app, user) = (app_id.to_owned(), user_id.to_owned());
    match state.store.user_profile(&app, &user).await? {
        Some(_) => Ok(()),
        None => Err(no_such_user()),
    }
}

/// `POST account/{id}` with the master key: deep-merges the body into the
/// user's profile; answers the profile as `GET account/{id}` does.
pub(crate) async fn update(
    caller: MasterCaller,
    State(state): State<Arc<AppState>>,
    path: PathParams,
    body: Bytes,
) -> Result<Response, Fail> {
    let (app, id, patch) = profile_write(caller, &path, &body)?;
    existing(&state, &app, &id).await?;
    state.store.update_profile(&app, &id, &patch).await?;
    profile_answer(&state, &app, &id).await
}

/// `PUT account/{id}` with the master key: replaces the profile fields
/// (credentials and linked services stay).
pub(crate) async fn replace(
    caller: MasterCaller,
    State(state): State<Arc<AppState>>,
    path: PathParams,
    body: Bytes,
) -> Result<Response, Fail> {
    let (app, id, profile) = profile_write(caller, &path, &body)?;
    if !state.store.replace_profile(&app, &id, &profile).await? {
        return Err(no_such_user());
    }
    profile_answer(&state, &app, &id).await
}

/// `DELETE account/{id}` with the master key: the user, their data, files
/// and sessions.
pub(crate) async fn delete(
    caller: MasterCaller,
    State(state): State<Arc<AppState>>,
    path: PathParams,
) -> Result<Response, Fail> {
    let (app, id) = (caller.app_id, path.get("id").to_owned());
    existing(&state, &app, &id).await?;
    state.store.delete_user(&app, &id).await?;
    Ok(json_response(StatusCode::OK, json!({})))
}

/// `POST account/{id}/password/change` `{"password": NEW}` with the master
/// key: sets the password under the app's policy and ends the user's
/// sessions.
pub(crate) async fn change_password(
    caller: MasterCaller,
    State(state): State<Arc<AppState>>,
    path: PathParams,
    body: Bytes,
) -> Result<Response, Fail> {
    let (app, id) = (caller.app_id, path.get("id").to_owned());
    let body = json_object(&body)?;
    let password = body
        .get("password")
        .and_then(Value::as_str)
        .ok_or_else(|| Fail::bad("password (the new password) is required"))?
        .to_owned();
    state.password_policy.check(&password)?;
    existing(&state, &app, &id).await?;
    let hash = state.hashing.hash(password).await?;
    state.store.set_password(&app, &id, &hash).await?;
    Ok(json_response(StatusCode::OK, json!({})))
}
