//! One user's own (user-level) objects and files, under
//! `/_dashboard/app/{app}/users/{id}/objects|files`: the same pages as the
//! app's own ([`objects`](super::objects), [`files`](super::files)) in the
//! user's [`Scope`]; an unknown user is a 404 page.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;

use super::scope::Scope;
use super::session::Session;
use super::shared::Dash;
use super::{files, objects};

/// `GET …/users/{id}/objects[?q=QUERY&page=N]`.
pub(crate) async fn list(
    State(dash): State<Arc<Dash>>,
    session: Session,
    Path((app, id)): Path<(String, String)>,
    raw: RawQuery,
) -> Response {
    match Scope::user(&dash, app, id, &session).await {
        Ok(scope) => objects::list_in(&dash, &session, &scope, raw).await,
        Err(refused) => *refused,
    }
}

/// `GET …/users/{id}/objects/{key}`.
pub(crate) async fn view(
    State(dash): State<Arc<Dash>>,
    session: Session,
    Path((app, id, key)): Path<(String, String, String)>,
    raw: RawQuery,
) -> Response {
    match Scope::user(&dash, app, id, &session).await {
        Ok(scope) => objects::view_in(&dash, &session, &scope, key, raw).await,
        Err(refused) => *refused,
    }
}

/// `POST …/users/{id}/objects/{key}`: replaces the value.
pub(crate) async fn save(
    State(dash): State<Arc<Dash>>,
    session: Session,
    Path((app, id, key)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    match Scope::user(&dash, app, id, &session).await {
        Ok(scope) => objects::save_in(&dash, &session, &scope, key, &body).await,
        Err(refused) => *refused,
    }
}

/// `GET …/users/{id}/objects/{key}/delete`: the confirmation.
pub(crate) async fn confirm(
    State(dash): State<Arc<Dash>>,
    session: Session,
    Path((app, id, key)): Path<(String, String, String)>,
) -> Response {
    match Scope::user(&dash, app, id, &session).await {
        Ok(scope) => objects::confirm_in(&session, &scope, &key),
        Err(refused) => *refused,
    }
}

/// `POST …/users/{id}/objects/{key}/delete`.
pub(crate) async fn delete(
    State(dash): State<Arc<Dash>>,
    session: Session,
    Path((app, id, key)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    match Scope::user(&dash, app, id, &session).await {
        Ok(scope) => objects::delete_in(&dash, &session, &scope, key, &body).await,
        Err(refused) => *refused,
    }
}

/// `GET …/users/{id}/files[?page=N]`.
pub(crate) async fn file_list(
    State(dash): State<Arc<Dash>>,
    session: Session,
    Path((app, id)): Path<(String, String)>,
    raw: RawQuery,
) -> Response {
    match Scope::user(&dash, app, id, &session).await {
        Ok(scope) => files::list_in(&dash, &session, &scope, raw).await,
        Err(refused) => *refused,
    }
}

/// `GET …/users/{id}/files/{key}`: the content, as a download.
pub(crate) async fn download(
    State(dash): State<Arc<Dash>>,
    session: Session,
    Path((app, id, key)): Path<(String, String, String)>,
) -> Response {
    match Scope::user(&dash, app, id, &session).await {
        Ok(scope) => files::download_in(&dash, &session, &scope, &key).await,
        Err(refused) => *refused,
    }
}
