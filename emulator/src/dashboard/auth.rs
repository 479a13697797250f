//! Who may see the dashboard: with a password, a login form, a session
//! cookie (`HttpOnly; SameSite=Strict; Path=/_dashboard`, `Secure` behind
//! an https public URL) naming a random 256-bit session id kept only as its
//! SHA-256, and a lockout: after [`MAX_FAILURES`] wrong passwords in a row
//! the form refuses every attempt for [`LOCKOUT`]. The lockout is global,
//! not per source address: behind a proxy every address is the proxy's, and
//! an attacker with many addresses would get five guesses per address;
//! the price is that anyone who reaches the form can lock it for a while.
//! Without a password (`--dashboard`, loopback only) a visit to the login
//! page makes a session at once, so forms still carry CSRF tokens.
//! Sessions live in this instance's memory only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::csrf::{self, Form};
use super::layout::{answer, page, refusal};
use super::{Dash, PREFIX};
use crate::crypto::{constant_time_eq, random_hex, sha256_hex};

/// Wrong passwords in a row that lock the form.
pub(crate) const MAX_FAILURES: u32 = 5;
/// How long the form stays locked.
pub(crate) const LOCKOUT: Duration = Duration::from_secs(5 * 60);
/// How long a dashboard session lasts.
const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at once; the oldest goes first.
const MAX_SESSIONS: usize = 256;
/// The session cookie's name.
const COOKIE: &str = "cm_dashboard";

/// A signed-in visitor, as a page sees them.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The session's CSRF token, put in every form.
    pub csrf: String,
    /// SHA-256 of the session id.
    id_hash: String,
    /// Whether a logout button makes sense (not without a password).
    pub can_log_out: bool,
}

struct Live {
    csrf: String,
    expires: Instant,
    created: Instant,
}

#[derive(Default)]
struct Lockout {
    failures: u32,
    until: Option<Instant>,
}

/// The dashboard's sessions and lockout.
pub(crate) struct Auth {
    /// SHA-256 of the password; `None`: no login (open mode).
    password_sha: Option<String>,
    sessions: Mutex<HashMap<String, Live>>,
    lockout: Mutex<Lockout>,
}

impl Auth {
    pub(crate) fn new(password: Option<String>) -> Self {
        Auth {
            password_sha: password.map(|p| sha256_hex(&p)),
            sessions: Mutex::new(HashMap::new()),
            lockout: Mutex::new(Lockout::default()),
        }
    }

    /// A new session: its id (for the cookie only).
    fn start(&self) -> String {
        let id = random_hex(32);
        let now = Instant::now();
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.retain(|_, s| s.expires > now);
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.created)
                .map(|(k, _)| k.clone())
        {
            sessions.remove(&oldest);
        }
        let live = Live {
            csrf: random_hex(32),
            expires: now + SESSION_TTL,
            created: now,
        };
        sessions.insert(sha256_hex(&id), live);
        id
    }

    /// The live session a cookie names.
    fn find(&self, headers: &HeaderMap) -> Option<Session> {
        let id = cookie_value(headers)?;
        let id_hash = sha256_hex(&id);
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let live = sessions
            .get(&id_hash)
            .filter(|s| s.expires > Instant::now())?;
        Some(Session {
            csrf: live.csrf.clone(),
            id_hash,
            can_log_out: self.password_sha.is_some(),
        })
    }

    fn end(&self, session: &Session) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.remove(&session.id_hash);
    }

    /// How long the form stays locked, if it is.
    fn locked_for(&self) -> Option<Duration> {
        let lock = self.lockout.lock().unwrap_or_else(|p| p.into_inner());
        lock.until
            .and_then(|until| until.checked_duration_since(Instant::now()))
    }

    /// Checks a password (unless locked); a failure may lock the form.
    fn check(&self, given: &str) -> Attempt {
        let Some(expected) = &self.password_sha else {
            return Attempt::Right;
        };
        let mut lock = self.lockout.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = lock.until {
            if until > Instant::now() {
                return Attempt::Locked;
            }
            *lock = Lockout::default();
        }
        if constant_time_eq(sha256_hex(given).as_bytes(), expected.as_bytes()) {
            *lock = Lockout::default();
            return Attempt::Right;
        }
        lock.failures += 1;
        if lock.failures >= MAX_FAILURES {
            lock.until = Some(Instant::now() + LOCKOUT);
            return Attempt::Locked;
        }
        Attempt::Wrong
    }
}

enum Attempt {
    Right,
    Wrong,
    Locked,
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE && value.len() == 64)
        .map(|(_, value)| value.to_owned())
}

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
    if let Err(refused) = csrf::check(&session, &Form::parse(&body)) {
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
