//! Files (app-level, or one user's: [`Scope`]): a page of them with name,
//! size and content type, and a download that is always an attachment of
//! type `application/octet-stream` (an uploaded page never renders in the
//! dashboard's origin). The same handlers serve `…/app/{app}/files…` and
//! `…/app/{app}/users/{id}/files…` ([`InScope`] reads which).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use maud::html;
use serde_json::Value;

use super::apps::{bytes_text, files_search};
use super::csrf::Form;
use super::layout::{answer, failed, page, refusal, segment};
use super::objects::{PAGE, page_number};
use super::scope::{InScope, Key, Scope};
use super::session::Session;
use super::shared::Dash;

/// `GET /_dashboard/app/{app}/files[?page=N]`.
pub(crate) async fn list(
    State(dash): State<Arc<Dash>>,
    InScope(session, scope): InScope,
    raw: RawQuery,
) -> Response {
    list_in(&dash, &session, &scope, raw).await
}

/// The files of `scope`, a page at a time.
async fn list_in(
    dash: &Dash,
    session: &Session,
    scope: &Scope,
    RawQuery(raw): RawQuery,
) -> Response {
    let number = page_number(&Form::parse(raw.unwrap_or_default().as_bytes()));
    let search = files_search(number * PAGE, PAGE);
    let store = &dash.app.store;
    let found = match store
        .search_objects(&scope.app, scope.user_id(), &search)
        .await
    {
        Ok(found) => found,
        Err(e) => return failed(&e, session),
    };
    let base = scope.base("files");
    let text = |v: &Value, f: &str| v.get(f).and_then(Value::as_str).unwrap_or("").to_owned();
    let body = html! {
        (scope.nav())
        p class="muted" { (found.total) " file(s); page " (number + 1) }
        table {
            thead { tr {
                th { "File name" } th class="wide" { "Key" } th class="num" { "Size" } th { "Content type" }
            } }
            tbody {
                @for (key, meta) in &found.items {
                    tr {
                        td { a href={ (base) "/" (segment(key)) } { (text(meta, "filename")) } }
                        td class="wide" { code { (key) } }
                        td class="num" { (bytes_text(meta.get("size").and_then(Value::as_u64).unwrap_or(0))) }
                        td { code { (text(meta, "content_type")) } }
                    }
                }
            }
        }
        p class="pager" {
            @if number > 0 { a href={ (base) "?page=" (number - 1) } { "← Previous" } }
            @if found.total > (number + 1) * PAGE { a href={ (base) "?page=" (number + 1) } { "Next →" } }
        }
    };
    answer(
        StatusCode::OK,
        page(&scope.title("Files"), Some(session), body),
    )
}

/// `GET /_dashboard/app/{app}/files/{key}`: the content, as a download.
pub(crate) async fn download(
    State(dash): State<Arc<Dash>>,
    InScope(session, scope): InScope,
    Path(Key { key }): Path<Key>,
) -> Response {
    download_in(&dash, &session, &scope, &key).await
}

/// One file of `scope`, as an attachment.
async fn download_in(dash: &Dash, session: &Session, scope: &Scope, key: &str) -> Response {
    let store = &dash.app.store;
    let (meta, file) = match store.open_file(&scope.app, scope.user_id(), key).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            let message = format!("There is no file {key:?} in {}.", scope.whose());
            return refusal(
                StatusCode::NOT_FOUND,
                "No such file",
                &message,
                Some(session),
            );
        }
        Err(e) => return failed(&e, session),
    };
    let stream = tokio_util::io::ReaderStream::new(file);
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(meta.size));
    let disposition = format!(
        "attachment; filename=\"download\"; filename*=UTF-8''{}",
        segment(&meta.filename)
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}
