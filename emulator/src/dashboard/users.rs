//! One app's users: a page of them with email and username; one user's
//! profile, linked networks and live sessions (each can be ended); deletion
//! after a confirmation page (which deletes their data and ends every
//! session of theirs).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde_json::Value;

use super::apps::unknown;
use super::csrf::{self, Form};
use super::layout::{answer, app_nav, failed, page, pretty, refusal, segment};
use super::objects::{PAGE, page_number};
use super::session::Session;
use super::shared::{Dash, PREFIX};

/// Sessions listed for one user (and searched when one is ended).
const MAX_SESSIONS: usize = 100;

fn base(app: &str) -> String {
    format!("{PREFIX}/app/{}/users", segment(app))
}

fn field(profile: &Value, name: &str) -> String {
    profile
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

/// `GET /_dashboard/app/{app}/users[?page=N]`.
pub(crate) async fn list(
    State(dash): State<Arc<Dash>>,
    session: Session,
    Path(app): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Some(r) = unknown(&dash, &app, &session) {
        return r;
    }
    let number = page_number(&Form::parse(raw.unwrap_or_default().as_bytes()));
    let ids = match dash.app.store.user_ids(&app).await {
        Ok(ids) => ids,
        Err(e) => return failed(&e, &session),
    };
    let mut rows = Vec::new();
    for id in ids.iter().skip(number * PAGE).take(PAGE) {
        match dash.app.store.user_profile(&app, id).await {
            Ok(profile) => rows.push((id, profile.unwrap_or(Value::Null))),
            Err(e) => return failed(&e, &session),
        }
    }
    let body = html! {
        (app_nav(&app))
        p class="muted" { (ids.len()) " user(s); page " (number + 1) }
        table {
            thead { tr { th { "Id" } th { "Email" } th { "Username" } } }
            tbody {
                @for (id, profile) in &rows {
                    tr {
                        td { a href={ (base(&app)) "/" (segment(id)) } { code { (id) } } }
                        td { (field(profile, "email")) }
                        td { (field(profile, "username")) }
                    }
                }
            }
        }
        p class="pager" {
            @if number > 0 { a href={ (base(&app)) "?page=" (number - 1) } { "← Previous" } }
            @if ids.len() > (number + 1) * PAGE { a href={ (base(&app)) "?page=" (number + 1) } { "Next →" } }
        }
    };
    answer(
        StatusCode::OK,
        page(&format!("Users of {app}"), Some(&session), body),
    )
}

/// `GET /_dashboard/app/{app}/users/{id}`.
pub(crate) async fn view(
    State(dash): State<Arc<Dash>>,
    session: Session,
    Path((app, id)): Path<(String, String)>,
) -> Response {
    if let Some(r) = unknown(&dash, &app, &session) {
        return r;
    }
    let profile = match dash.app.store.user_profile(&app, &id).await {
        Ok(Some(profile)) => profile,
        Ok(None) => {
            let message = format!("There is no user {id:?} in {app:?}.");
            return refusal(
                StatusCode::NOT_FOUND,
                "No such user",
                &message,
                Some(&session),
            );
        }
        Err(e) => return failed(&e, &session),
    };
    let networks: Vec<String> = match profile.get("__services__") {
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect(),
        Some(Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    };
    let sessions = match dash.app.store.user_sessions(&app, &id, MAX_SESSIONS).await {
        Ok(sessions) => sessions,
        Err(e) => return failed(&e, &session),
    };
    let acls = match dash.app.store.acls(&app, &id, None).await {
        Ok(acls) => acls,
        Err(e) => return failed(&e, &session),
    };
    let end_url = format!("{}/{}/end-session", base(&app), segment(&id));
    let body = html! {
        (app_nav(&app))
        (super::scope::user_nav(&app, &id))
        h2 { "Sessions" }
        @if sessions.is_empty() { p class="muted" id="no-sessions" { "No live session." } }
        table id="sessions" {
            @for (sha, expires) in &sessions {
                tr {
                    td { code { (sha.get(..12).unwrap_or(sha)) "…" } }
                    td { "expires " (super::log::clock(*expires)) " UTC" }
                    td {
                        form method="post" action=(end_url) class="inline" {
                            (csrf::field(&session))
                            input type="hidden" name="session" value=(sha);
                            button type="submit" class="danger" { "End session" }
                        }
                    }
                }
            }
        }
        h2 { "Linked networks" }
        @if networks.is_empty() { p class="muted" { "None." } }
        ul { @for n in &networks { li { (n) } } }
        h2 { "Profile" }
        pre id="profile" { (pretty(&profile)) }
        h2 { "ACLs of this user" }
        @if acls.is_empty() { p class="muted" { "None." } }
        @for (acl_id, acl) in &acls {
            h3 { code { (acl_id) } }
            pre class="acl" { (pretty(acl)) }
        }
        p { a href={ (base(&app)) "/" (segment(&id)) "/delete" } { "Delete this user…" } }
    };
    answer(
        StatusCode::OK,
        page(&format!("User {id}"), Some(&session), body),
    )
}

/// `GET /_dashboard/app/{app}/users/{id}/delete`: the confirmation.
pub(crate) async fn confirm(
    State(dash): State<Arc<Dash>>,
    session: Session,
    Path((app, id)): Path<(String, String)>,
) -> Response {
    if let Some(r) = unknown(&dash, &app, &session) {
        return r;
    }
    let url = format!("{}/{}", base(&app), segment(&id));
    let body = html! {
        (app_nav(&app))
        p { "Delete the user " code { (id) } " of " (app) ", with all their data? Every session of theirs ends. This cannot be undone." }
        form method="post" action={ (url) "/delete" } {
            (csrf::field(&session))
            button type="submit" class="danger" { "Delete the user" } " "
            a href=(url) { "Cancel" }
        }
    };
    answer(StatusCode::OK, page("Delete a user", Some(&session), body))
}

/// `POST /_dashboard/app/{app}/users/{id}/delete`.
pub(crate) async fn delete(
    State(dash): State<Arc<Dash>>,
    session: Session,
    Path((app, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Some(r) = unknown(&dash, &app, &session) {
        return r;
    }
    if let Some(refused) = csrf::refused(&session, &Form::parse(&body)) {
        return refused;
    }
    if let Err(e) = dash.app.store.delete_user(&app, &id).await {
        return failed(&e, &session);
    }
    Redirect::to(&base(&app)).into_response()
}

/// `POST /_dashboard/app/{app}/users/{id}/end-session`, `session=` the
/// SHA-256 of one of the user's live sessions: ends it.
pub(crate) async fn end_session(
    State(dash): State<Arc<Dash>>,
    session: Session,
    Path((app, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Some(r) = unknown(&dash, &app, &session) {
        return r;
    }
    let form = Form::parse(&body);
    if let Some(refused) = csrf::refused(&session, &form) {
        return refused;
    }
    let wanted = form.get("session").unwrap_or_default();
    let store = &dash.app.store;
    let live = match store.user_sessions(&app, &id, MAX_SESSIONS).await {
        Ok(live) => live,
        Err(e) => return failed(&e, &session),
    };
    if !live.iter().any(|(sha, _)| sha == wanted) {
        let message = format!("User {id:?} has no such live session (already ended?).");
        return refusal(
            StatusCode::NOT_FOUND,
            "No such session",
            &message,
            Some(&session),
        );
    }
    if let Err(e) = store.delete_session(wanted).await {
        return failed(&e, &session);
    }
    Redirect::to(&format!("{}/{}", base(&app), segment(&id))).into_response()
}
