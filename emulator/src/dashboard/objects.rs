//! Objects (app-level, or one user's: [`Scope`]): a page of them at a
//! time, searched with the CloudMine query language; one object's JSON in
//! an editor, checked before it is written (invalid JSON is refused with a
//! message and the text kept); deletion after a confirmation page. The
//! same handlers serve `…/app/{app}/objects…` and
//! `…/app/{app}/users/{id}/objects…` ([`InScope`] reads which).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Map, Value};

use super::csrf::{self, Form};
use super::layout::{answer, failed, page, pretty, preview, query_value, refusal, segment};
use super::scope::{InScope, Key, Scope};
use super::session::Session;
use super::shared::Dash;
use crate::store::ObjectSearch;

/// Objects per page.
pub(crate) const PAGE: usize = 25;
/// The deepest page one may ask for.
const MAX_PAGE: usize = 4000;

/// The page number of a query string (`page=N`, from 0, capped).
pub(crate) fn page_number(form: &Form) -> usize {
    form.get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_PAGE)
}

/// `GET /_dashboard/app/{app}/objects[?q=QUERY&page=N]`.
pub(crate) async fn list(
    State(dash): State<Arc<Dash>>,
    InScope(session, scope): InScope,
    raw: RawQuery,
) -> Response {
    list_in(&dash, &session, &scope, raw).await
}

/// The objects of `scope`, a page at a time, searched.
async fn list_in(
    dash: &Dash,
    session: &Session,
    scope: &Scope,
    RawQuery(raw): RawQuery,
) -> Response {
    let params = Form::parse(raw.unwrap_or_default().as_bytes());
    let q = params.get("q").unwrap_or_default().trim().to_owned();
    let number = page_number(&params);
    let title = scope.title("Objects");
    let query = match q.as_str() {
        "" => None,
        text => match crate::query::parse(text) {
            Ok(query) => Some(query),
            Err(e) => {
                let body = search_form(scope, &q, Some(&format!("The query is refused: {e}")));
                return answer(StatusCode::BAD_REQUEST, page(&title, Some(session), body));
            }
        },
    };
    let search = ObjectSearch {
        query,
        sort: Vec::new(),
        skip: number * PAGE,
        limit: Some(PAGE),
        count: true,
    };
    let store = &dash.app.store;
    let found = match store
        .search_objects(&scope.app, scope.user_id(), &search)
        .await
    {
        Ok(found) => found,
        Err(e) => return failed(&e, session),
    };
    let more = found.total > (number + 1) * PAGE;
    let base = scope.base("objects");
    let link = |n: usize| format!("{base}?q={}&page={n}", query_value(&q));
    let body = html! {
        (search_form(scope, &q, None))
        p class="muted" id="total" { (found.total) " match(es); page " (number + 1) }
        table {
            thead { tr { th { "Key" } th { "Value" } } }
            tbody {
                @for (key, value) in &found.items {
                    tr {
                        td { a href={ (base) "/" (segment(key)) } { (key) } }
                        td { code { (preview(value, 160)) } }
                    }
                }
            }
        }
        p class="pager" {
            @if number > 0 { a href=(link(number - 1)) { "← Previous" } }
            @if more { a href=(link(number + 1)) { "Next →" } }
        }
    };
    answer(StatusCode::OK, page(&title, Some(session), body))
}

fn search_form(scope: &Scope, q: &str, error: Option<&str>) -> Markup {
    html! {
        (scope.nav())
        @if let Some(e) = error { p class="error" role="alert" { (e) } }
        form method="get" action=(scope.base("objects")) class="search" {
            input type="search" name="q" value=(q) placeholder="[name = \"x\", n > 2]" aria-label="query";
            button type="submit" { "Search" }
        }
    }
}

/// The editor page of one object, with `text` in the textarea.
fn editor(scope: &Scope, key: &str, text: &str, session: &Session, note: Option<Markup>) -> Markup {
    let url = format!("{}/{}", scope.base("objects"), segment(key));
    let body = html! {
        (scope.nav())
        @if let Some(n) = note { (n) }
        form method="post" action=(url) {
            (csrf::field(session))
            label for="json" { "JSON value" }
            textarea id="json" name="json" spellcheck="false" { (text) }
            p {
                button type="submit" { "Save" } " "
                a href={ (url) "/delete" } { "Delete…" }
            }
        }
    };
    page(&format!("Object {key}"), Some(session), body)
}

/// `GET /_dashboard/app/{app}/objects/{key}`.
pub(crate) async fn view(
    State(dash): State<Arc<Dash>>,
    InScope(session, scope): InScope,
    Path(Key { key }): Path<Key>,
    raw: RawQuery,
) -> Response {
    view_in(&dash, &session, &scope, key, raw).await
}

/// One object of `scope` in the editor.
async fn view_in(
    dash: &Dash,
    session: &Session,
    scope: &Scope,
    key: String,
    RawQuery(raw): RawQuery,
) -> Response {
    let keys = [key.clone()];
    let store = &dash.app.store;
    let value = match store
        .get_objects(&scope.app, scope.user_id(), Some(&keys))
        .await
    {
        Ok(mut found) => found.pop().map(|(_, v)| v),
        Err(e) => return failed(&e, session),
    };
    let Some(value) = value else {
        let message = format!("There is no object {key:?} in {}.", scope.whose());
        return refusal(
            StatusCode::NOT_FOUND,
            "No such object",
            &message,
            Some(session),
        );
    };
    let saved = Form::parse(raw.unwrap_or_default().as_bytes()).get("saved") == Some("1");
    let note = saved.then(|| html! { p class="ok" role="status" { "Saved." } });
    answer(
        StatusCode::OK,
        editor(scope, &key, &pretty(&value), session, note),
    )
}

/// `POST /_dashboard/app/{app}/objects/{key}`: replaces the value.
pub(crate) async fn save(
    State(dash): State<Arc<Dash>>,
    InScope(session, scope): InScope,
    Path(Key { key }): Path<Key>,
    body: Bytes,
) -> Response {
    save_in(&dash, &session, &scope, key, &body).await
}

/// Replaces one object of `scope` with the form's JSON, if it is valid.
async fn save_in(
    dash: &Dash,
    session: &Session,
    scope: &Scope,
    key: String,
    body: &[u8],
) -> Response {
    let form = Form::parse(body);
    if let Some(refused) = csrf::refused(session, &form) {
        return refused;
    }
    let text = form.get("json").unwrap_or_default();
    let refuse = |message: String| {
        let note = html! { p class="error" role="alert" { (message) } };
        answer(
            StatusCode::BAD_REQUEST,
            editor(scope, &key, text, session, Some(note)),
        )
    };
    if let Some(number) = crate::objects::inexact_integer(text.as_bytes()) {
        return refuse(format!(
            "Not saved: the number {number} cannot be stored exactly (integers must fit \
             in 64 bits, and -0 is not kept)."
        ));
    }
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(e) => return refuse(format!("Not saved: this is not valid JSON ({e}).")),
    };
    let mut objects = Map::new();
    objects.insert(key.clone(), value);
    let store = &dash.app.store;
    if let Err(e) = store
        .put_objects(&scope.app, scope.user_id(), &objects, false)
        .await
    {
        return failed(&e, session);
    }
    let url = format!("{}/{}?saved=1", scope.base("objects"), segment(&key));
    Redirect::to(&url).into_response()
}

/// `GET /_dashboard/app/{app}/objects/{key}/delete`: the confirmation.
pub(crate) async fn confirm(
    InScope(session, scope): InScope,
    Path(Key { key }): Path<Key>,
) -> Response {
    confirm_in(&session, &scope, &key)
}

/// The page asking to confirm the deletion of one object of `scope`.
fn confirm_in(session: &Session, scope: &Scope, key: &str) -> Response {
    let url = format!("{}/{}", scope.base("objects"), segment(key));
    let body = html! {
        (scope.nav())
        p { "Delete the object " code { (key) } " of " (scope.whose()) "? This cannot be undone." }
        form method="post" action={ (url) "/delete" } {
            (csrf::field(session))
            button type="submit" class="danger" { "Delete" } " "
            a href=(url) { "Cancel" }
        }
    };
    answer(
        StatusCode::OK,
        page("Delete an object", Some(session), body),
    )
}

/// `POST /_dashboard/app/{app}/objects/{key}/delete`.
pub(crate) async fn delete(
    State(dash): State<Arc<Dash>>,
    InScope(session, scope): InScope,
    Path(Key { key }): Path<Key>,
    body: Bytes,
) -> Response {
    delete_in(&dash, &session, &scope, key, &body).await
}

/// Deletes one object of `scope` (a form with the CSRF token).
async fn delete_in(
    dash: &Dash,
    session: &Session,
    scope: &Scope,
    key: String,
    body: &[u8],
) -> Response {
    if let Some(refused) = csrf::refused(session, &Form::parse(body)) {
        return refused;
    }
    let store = &dash.app.store;
    if let Err(e) = store
        .delete_objects(&scope.app, scope.user_id(), &[key])
        .await
    {
        return failed(&e, session);
    }
    Redirect::to(&scope.base("objects")).into_response()
}
