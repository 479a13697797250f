//! The front page: every application with its objects, files and users
//! counted and the bytes its files hold; and the check every per-app page
//! makes that the app exists.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::layout::{answer, failed, page, refusal, segment};
use super::session::Session;
use super::shared::{Dash, PREFIX};
use crate::store::{ObjectSearch, StoreResult};

/// The most files whose sizes are added up for one app's storage figure.
const SIZE_SCAN_CAP: usize = 10_000;

/// `None` when `app` is one of the emulator's apps; else the 404 page.
pub(crate) fn unknown(dash: &Dash, app: &str, session: &Session) -> Option<Response> {
    if dash.app.apps.contains_key(app) {
        return None;
    }
    Some(refusal(
        StatusCode::NOT_FOUND,
        "Unknown application",
        &format!("There is no application {app:?} in this emulator."),
        Some(session),
    ))
}

/// A search of the app's own data for files only.
pub(crate) fn files_search(skip: usize, limit: usize) -> ObjectSearch {
    ObjectSearch {
        query: crate::query::parse("[__type__ = \"file\"]").ok(),
        sort: Vec::new(),
        skip,
        limit: Some(limit),
        count: true,
    }
}

/// One app's figures.
struct Figures {
    objects: usize,
    files: usize,
    users: usize,
    bytes: u64,
    /// Whether `bytes` left files out ([`SIZE_SCAN_CAP`]).
    partial: bool,
}

async fn figures(dash: &Dash, app: &str) -> StoreResult<Figures> {
    let store = &dash.app.store;
    let all = ObjectSearch {
        query: None,
        sort: Vec::new(),
        skip: 0,
        limit: Some(0),
        count: true,
    };
    let everything = store.search_objects(app, "", &all).await?.total;
    let files = store
        .search_objects(app, "", &files_search(0, SIZE_SCAN_CAP))
        .await?;
    let bytes = files
        .items
        .iter()
        .filter_map(|(_, v)| v.get("size").and_then(serde_json::Value::as_u64))
        .sum();
    Ok(Figures {
        objects: everything.saturating_sub(files.total),
        files: files.total,
        users: store.user_ids(app).await?.len(),
        bytes,
        partial: files.total > files.items.len(),
    })
}

/// `GET /_dashboard/`.
pub(crate) async fn index(State(dash): State<Arc<Dash>>, session: Session) -> Response {
    let mut ids: Vec<&String> = dash.app.apps.keys().collect();
    ids.sort();
    let mut rows = Vec::new();
    for id in ids {
        match figures(&dash, id).await {
            Ok(f) => rows.push((id.clone(), f)),
            Err(e) => return failed(&e, &session),
        }
    }
    let body = html! {
        p class="muted" { "App-level data; users' own objects are not counted here." }
        table {
            thead { tr {
                th { "Application" } th class="num" { "Objects" } th class="num" { "Files" }
                th class="num" { "Users" } th class="num" { "File storage" }
                @if dash.app.test_hooks { th { "Outbox" } }
            } }
            tbody {
                @for (id, f) in &rows {
                    tr {
                        td { a href={ (PREFIX) "/app/" (segment(id)) "/objects" } { (id) } }
                        td class="num" { (f.objects) }
                        td class="num" { a href={ (PREFIX) "/app/" (segment(id)) "/files" } { (f.files) } }
                        td class="num" { a href={ (PREFIX) "/app/" (segment(id)) "/users" } { (f.users) } }
                        td class="num" { (bytes_text(f.bytes)) @if f.partial { " +" } }
                        @if dash.app.test_hooks {
                            td { a href={ (PREFIX) "/app/" (segment(id)) "/outbox" } { "outbox" } }
                        }
                    }
                }
            }
        }
    };
    answer(StatusCode::OK, page("Applications", Some(&session), body))
}

/// A byte count for people.
pub(crate) fn bytes_text(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}
