//! One app's social logins: those in flight (network, started, expires)
//! and the recent outcomes the store still keeps (succeeded, denied,
//! failed, expired). A login is named by a short id (the first 8 hex
//! digits of its challenge's SHA-256): never its challenge, provider
//! `state`, code or any token, none of which the listing reads.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::apps::unknown;
use super::layout::{answer, app_nav, failed, page};
use super::log::clock;
use super::session::Session;
use super::shared::Dash;
use crate::broker::LOGIN_TTL_MS;
use crate::store::{LoginState, LoginSummary, now_ms};

/// The most logins listed (newest first).
const SHOWN: usize = 100;

/// What became of a settled (or expired) login, as the page says it.
fn outcome(login: &LoginSummary, now: i64) -> Option<(String, &str)> {
    match &login.state {
        LoginState::Pending if login.expires_ms > now => None,
        LoginState::Pending => Some(("expired".into(), "")),
        LoginState::Finished { user_id } => Some(("succeeded".into(), user_id)),
        LoginState::Failed { error } if error == "access_denied" => Some(("denied".into(), "")),
        LoginState::Failed { error } => Some((format!("failed ({error})"), "")),
    }
}

/// `GET /_dashboard/app/{app}/social`.
pub(crate) async fn page_handler(
    State(dash): State<Arc<Dash>>,
    session: Session,
    Path(app): Path<String>,
) -> Response {
    if let Some(r) = unknown(&dash, &app, &session) {
        return r;
    }
    let logins = match dash.app.store.social_logins(&app, SHOWN).await {
        Ok(logins) => logins,
        Err(e) => return failed(&e, &session),
    };
    let now = now_ms();
    let started = |l: &LoginSummary| clock(l.expires_ms.saturating_sub(LOGIN_TTL_MS));
    let (flight, done): (Vec<_>, Vec<_>) = logins.iter().partition(|l| outcome(l, now).is_none());
    let body = html! {
        (app_nav(&app))
        h2 { "In flight (" (flight.len()) ")" }
        @if flight.is_empty() { p class="muted" id="no-flight" { "No social login is waiting." } }
        table id="in-flight" {
            thead { tr { th { "Id" } th { "Network" } th { "Started" } th { "Expires" } } }
            tbody {
                @for l in &flight {
                    tr {
                        td { code { (l.short_id) } }
                        td { (l.network) }
                        td { (started(l)) " UTC" }
                        td { (clock(l.expires_ms)) " UTC" }
                    }
                }
            }
        }
        h2 { "Recent outcomes (" (done.len()) ")" }
        p class="muted" {
            "Kept until the client collects the outcome (the status call) or the login expires."
        }
        table id="outcomes" {
            thead { tr { th { "Id" } th { "Outcome" } th { "Network" } th { "User" } th { "Started" } } }
            tbody {
                @for l in &done {
                    @if let Some((what, user)) = outcome(l, now) {
                        tr {
                            td { code { (l.short_id) } }
                            td { (what) }
                            td { (l.network) }
                            td { code { (user) } }
                            td { (started(l)) " UTC" }
                        }
                    }
                }
            }
        }
    };
    answer(
        StatusCode::OK,
        page(&format!("Social logins of {app}"), Some(&session), body),
    )
}
