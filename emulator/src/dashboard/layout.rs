//! The page shell every dashboard page is drawn in (a viewport meta, the
//! one stylesheet, the navigation, a logout form carrying the CSRF token),
//! that stylesheet, the security headers on every answer, and the error
//! pages. Templates are maud's: everything interpolated is escaped.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::session::Session;
use super::shared::PREFIX;

/// The policy every dashboard answer carries: no script at all, styles only
/// from the dashboard's own stylesheet, forms only posted back to it.
pub(crate) const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                              form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLE: &str = include_str!("style.css");

/// `GET /_dashboard/static/style.css`.
pub(crate) async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}

/// Adds the security headers to every dashboard answer.
pub(crate) async fn secure_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let pairs: [(HeaderName, &'static str); 5] = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in pairs {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// A whole page: `title`, the navigation (with the logout form when there
/// is a session), then `body`.
pub(crate) fn page(title: &str, session: Option<&Session>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · CloudMine emulator" }
                link rel="stylesheet" href={ (PREFIX) "/static/style.css" };
            }
            body {
                header {
                    nav {
                        a href={ (PREFIX) "/" } { "Applications" }
                        a href={ (PREFIX) "/activity" } { "Activity" }
                        a href={ (PREFIX) "/snippets" } { "Snippets" }
                        @if let Some(s) = session {
                            @if s.can_log_out {
                                form method="post" action={ (PREFIX) "/logout" } class="inline" {
                                    input type="hidden" name="csrf" value=(s.csrf);
                                    button type="submit" { "Log out" }
                                }
                            }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// The navigation between one app's pages.
pub(crate) fn app_nav(app: &str) -> Markup {
    let base = format!("{PREFIX}/app/{}", segment(app));
    html! {
        p class="subnav" {
            a href={ (base) "/objects" } { "Objects" }
            a href={ (base) "/files" } { "Files" }
            a href={ (base) "/users" } { "Users" }
            a href={ (base) "/social" } { "Social logins" }
        }
    }
}

/// `markup` as an HTML answer with `status`.
pub(crate) fn answer(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

/// A refusal as a page: `status`, a title and a message.
pub(crate) fn refusal(
    status: StatusCode,
    title: &str,
    message: &str,
    session: Option<&Session>,
) -> Response {
    let body = html! { p class="error" role="alert" { (message) } };
    answer(status, page(title, session, body))
}

/// The dashboard's 404.
pub(crate) async fn not_found() -> Response {
    refusal(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no dashboard page here.",
        None,
    )
}

/// A path segment, percent-encoded (keys and ids may hold any character).
pub(crate) fn segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, crate::middleware::ENCODED_IN_SEGMENT).to_string()
}

/// A query-string value, percent-encoded.
pub(crate) fn query_value(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A JSON value as pretty text (for a textarea or a `pre`).
pub(crate) fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// A JSON value on one line, cut to `max` characters.
pub(crate) fn preview(value: &serde_json::Value, max: usize) -> String {
    let text = value.to_string();
    if text.chars().count() <= max {
        return text;
    }
    let mut cut: String = text.chars().take(max).collect();
    cut.push('…');
    cut
}

/// A store failure as a 500 page; the cause goes to the log only.
pub(crate) fn failed(cause: &dyn std::fmt::Display, session: &Session) -> Response {
    tracing::error!(error = %cause, "dashboard: the store failed");
    refusal(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Error",
        "The store failed (see the server log).",
        Some(session),
    )
}
