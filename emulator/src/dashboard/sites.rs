//! Requests another site's page makes, refused by their fetch metadata
//! (`Sec-Fetch-Site`, which browsers set and pages cannot): every
//! dashboard request comes from the dashboard's own pages
//! (`same-origin`) or from the user (`none`: a typed URL, a bookmark).
//! From another site, or another port of the same host (`same-site`), only
//! a top-level `GET`/`HEAD` navigation (a followed link) is served; an
//! image, a script's `fetch` or a form post is refused with 403 before any
//! page, session or password check. Without it a page anywhere could, from
//! the developer's browser, lock the login form with wrong passwords or,
//! in the open mode, push the developer's session out by making hundreds.
//! Requests without fetch metadata (other clients, old browsers) pass:
//! `SameSite=Strict` and the CSRF tokens still hold. `Origin` is not used:
//! the pages' `Referrer-Policy: no-referrer` makes browsers send
//! `Origin: null` on the dashboard's own form posts.

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::layout::refusal;

/// Refuses a non-navigation request another site's page made.
pub(crate) async fn check(request: Request, next: Next) -> Response {
    if !foreign(&request) {
        return next.run(request).await;
    }
    refusal(
        StatusCode::FORBIDDEN,
        "Refused",
        "This request was made by a page of another site (Sec-Fetch-Site): the dashboard \
         serves another site only a followed link, never a form post, image or script request. \
         Open the dashboard directly.",
        None,
    )
}

fn foreign(request: &Request) -> bool {
    let meta = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase)
    };
    let site = meta("sec-fetch-site");
    if !matches!(site.as_deref(), Some("cross-site" | "same-site")) {
        return false;
    }
    let navigation = meta("sec-fetch-mode").as_deref() == Some("navigate")
        && matches!(*request.method(), Method::GET | Method::HEAD);
    !navigation
}
