//! The snippets an emulator can run: those registered as Rust closures on
//! the builder, and the `NAME.js` files of the snippets directory (read
//! when the page is shown, at most [`MAX_FILES`] names).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::layout::{answer, page};
use super::session::Session;
use super::shared::Dash;

/// The most file names listed.
const MAX_FILES: usize = 500;

/// The names of the `NAME.js` files in `dir` (names a snippet may have).
async fn js_names(dir: &std::path::Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    let mut entries = tokio::fs::read_dir(dir).await?;
    while let Some(entry) = entries.next_entry().await? {
        if names.len() == MAX_FILES {
            break;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".js")
            && !stem.is_empty()
            && stem
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            names.push(stem.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// `GET /_dashboard/snippets`.
pub(crate) async fn page_handler(State(dash): State<Arc<Dash>>, session: Session) -> Response {
    let closures = dash.app.snippets.closure_names();
    let dir = dash
        .app
        .snippets
        .node_dir()
        .map(std::path::Path::to_path_buf);
    let files = match &dir {
        Some(dir) => Some(js_names(dir).await.map_err(|e| e.to_string())),
        None => None,
    };
    let body = html! {
        h2 { "Registered on the builder (Rust)" }
        @if closures.is_empty() { p class="muted" { "None." } }
        ul id="closures" { @for n in &closures { li { code { (n) } } } }
        h2 { "JavaScript files" }
        @match (&dir, &files) {
            (Some(dir), Some(Ok(names))) => {
                p class="muted" { "From " code { (dir.display()) } ", run by node (a closure of the same name wins)." }
                @if names.is_empty() { p class="muted" { "None." } }
                ul id="files" { @for n in names { li { code { (n) } } } }
            }
            (_, Some(Err(e))) => { p class="error" { "The snippets directory cannot be read: " (e) } }
            _ => { p class="muted" { "No snippets directory (--snippets-dir)." } }
        }
    };
    answer(StatusCode::OK, page("Snippets", Some(&session), body))
}
