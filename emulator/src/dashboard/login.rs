//! The login form and its answers (the form, a login, a logout), and how a
//! page finds its visitor's session from the cookie (see [`super::auth`]
//! for the sessions and the lockout).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::auth::{Attempt, COOKIE, SESSION_TTL};
use super::csrf::{self, Form};
use super::layout::{answer, page, refusal};
use super::session::Session;
use super::shared::{Dash, PREFIX};

impl FromRequestParts<Arc<Dash>> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, dash: &Arc<Dash>) -> Result<Self, Response> {
        dash.auth
            .find(&parts.headers)
            .ok_or_else(|| Redirect::to(&format!("{PREFIX}/login")).into_response())
    }
}

/// A 303 to the dashboard's front page that sets a new session's cookie.
fn signed_in(dash: &Dash) -> Response {
    let id = dash.auth.start();
    let secure = if dash.secure { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path={PREFIX}; Max-Age={}{secure}",
        SESSION_TTL.as_secs()
    );
    let mut response = Redirect::to(&format!("{PREFIX}/")).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// The login page, with `message` above the form.
fn login_page(dash: &Dash, status: StatusCode, message: Option<&str>) -> Response {
    let locked = dash.auth.locked_for();
    let body = html! {
        @if let Some(m) = message { p class="error" role="alert" { (m) } }
        @if let Some(left) = locked {
            p class="error" role="alert" id="locked" {
                "Too many wrong passwords: the form is locked for "
                (left.as_secs().div_ceil(60)) " more minute(s)."
            }
        }
        form method="post" action={ (PREFIX) "/login" } {
            fieldset disabled[locked.is_some()] {
                label for="password" { "Dashboard password" }
                input type="password" id="password" name="password" autocomplete="current-password" autofocus;
                p { button type="submit" { "Log in" } }
            }
        }
    };
    answer(status, page("Log in", None, body))
}

/// `GET /_dashboard/login`: the form, or straight in without a password.
pub(crate) async fn form(State(dash): State<Arc<Dash>>, headers: HeaderMap) -> Response {
    if dash.auth.password_sha.is_none() || dash.auth.find(&headers).is_some() {
        return signed_in(&dash);
    }
    login_page(&dash, StatusCode::OK, None)
}

/// `POST /_dashboard/login`.
pub(crate) async fn login(State(dash): State<Arc<Dash>>, body: Bytes) -> Response {
    let form = Form::parse(&body);
    match dash.auth.check(form.get("password").unwrap_or_default()) {
        Attempt::Right => signed_in(&dash),
        Attempt::Wrong => login_page(&dash, StatusCode::UNAUTHORIZED, Some("Wrong password.")),
        Attempt::Locked => login_page(&dash, StatusCode::TOO_MANY_REQUESTS, None),
    }
}

/// `POST /_dashboard/logout`: ends the session.
pub(crate) async fn logout(
    State(dash): State<Arc<Dash>>,
    session: Session,
    body: Bytes,
) -> Response {
    if let Some(refused) = csrf::refused(&session, &Form::parse(&body)) {
        return refused;
    }
    if !session.can_log_out {
        return refusal(
            StatusCode::BAD_REQUEST,
            "Log out",
            "This dashboard has no login (--dashboard): there is nothing to log out of.",
            Some(&session),
        );
    }
    dash.auth.end(&session);
    let mut response = Redirect::to(&format!("{PREFIX}/login")).into_response();
    let expired = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path={PREFIX}; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&expired) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}
