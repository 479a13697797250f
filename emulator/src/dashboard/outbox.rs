//! One app's outbox, served only with the test hooks on (as
//! `/_emulator/{app}/outbox` is): the mails (password resets, with their
//! tokens) and push notifications the emulator "sent", newest first.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use serde_json::Value;

use super::apps::unknown;
use super::layout::{answer, app_nav, failed, page, pretty};
use super::session::Session;
use super::shared::Dash;
use crate::store::SentKind;

/// Items shown of each kind.
const SHOWN: usize = 50;

/// `GET /_dashboard/app/{app}/outbox`.
pub(crate) async fn page_handler(
    State(dash): State<Arc<Dash>>,
    session: Session,
    Path(app): Path<String>,
) -> Response {
    if let Some(r) = unknown(&dash, &app, &session) {
        return r;
    }
    let mut kinds: Vec<(&str, Vec<Value>)> = Vec::new();
    for (title, kind) in [
        ("Mails", SentKind::Mail),
        ("Push notifications", SentKind::Push),
    ] {
        match dash.app.store.sent_read(kind, Some(&app)).await {
            Ok(items) => kinds.push((title, items)),
            Err(e) => return failed(&e, &session),
        }
    }
    let body = html! {
        (app_nav(&app))
        p class="muted" { "Shown because the test hooks are on. Reset mails carry live reset tokens." }
        @for (title, items) in &kinds {
            h2 { (title) " (" (items.len()) ")" }
            @for item in items.iter().rev().take(SHOWN) {
                pre { (pretty(item)) }
            }
        }
    };
    answer(
        StatusCode::OK,
        page(&format!("Outbox of {app}"), Some(&session), body),
    )
}
