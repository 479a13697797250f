//! Small HTML pages for the browser-facing routes; everything reflected is escaped.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::fail::Fail;
use crate::store::StoreError;

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The policy of a page without script.
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action *; frame-ancestors 'none'";

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem;color:#222}\
h1{font-size:1.3rem}.sub{color:#666;margin-top:-.6rem}button{display:block;width:100%;margin:.4rem 0;padding:.6rem;font-size:1rem;border-radius:6px;border:1px solid #888;background:#f4f4f4;cursor:pointer}\
button.primary{background:#2563eb;color:#fff;border-color:#2563eb}input{width:100%;padding:.5rem;margin:.2rem 0;box-sizing:border-box}fieldset{border:1px solid #ddd;border-radius:6px;margin:1rem 0}";

/// A whole page: `body` is trusted HTML built by this crate.
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    page_with_script(status, title, body, None)
}

/// A whole page with one inline script, allowed by its SHA-256 in the
/// Content-Security-Policy (no other script runs). `script` is trusted JS
/// built by this crate.
pub fn page_with_script(
    status: StatusCode,
    title: &str,
    body: &str,
    script: Option<&str>,
) -> Response {
    let (tag, csp) = match script {
        Some(js) => {
            use base64::Engine as _;
            use sha2::{Digest, Sha256};
            let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(js));
            (
                format!("<script>{js}</script>"),
                format!("{CSP}; script-src 'sha256-{hash}'"),
            )
        }
        None => (String::new(), CSP.to_owned()),
    };
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>{body}{tag}</body></html>",
        escape(title)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CONTENT_SECURITY_POLICY, csp.as_str()),
        ],
        html,
    )
        .into_response()
}

/// The "login complete" page of a flow without a redirect.
///
/// Opened as a popup (the JS SDK's `loginSocial`, which waits for the popup
/// to close before it asks for the status), it closes itself, as
/// CloudMine's did; in a full tab (a native app's browser) it stays and says
/// to go back to the application.
pub fn login_complete() -> Response {
    page_with_script(
        StatusCode::OK,
        "Login complete",
        "<h1 id=\"status\" data-status=\"complete\">Login complete</h1>\
         <p id=\"hint\">You can close this window and return to the application.</p>",
        Some(CLOSE_POPUP),
    )
}

/// Closes the window when a page opened it (a popup); browsers refuse
/// `window.close()` for a tab the user opened, so the text stays there.
const CLOSE_POPUP: &str =
    "if(window.opener){document.getElementById('hint').textContent='Closing...';window.close();}";

/// An error page with a heading and one escaped message (a 503 with
/// `Retry-After`, as every busy answer).
pub fn error(status: StatusCode, message: &str) -> Response {
    let mut response = page(
        status,
        "Sign-in error",
        &format!(
            "<h1 id=\"error\">Sign-in error</h1><p id=\"message\">{}</p>",
            escape(message)
        ),
    );
    crate::fail::retry_after(&mut response);
    response
}

/// The error page for a storage failure, answered as
/// [`Fail::storage`](crate::fail::Fail::storage) decides (a 500's cause is
/// logged with `what` failed, never shown).
pub fn storage_failed(what: &str, e: StoreError) -> Response {
    refusal(Fail::storage(what, e))
}

/// A refusal as the error page.
pub fn refusal(Fail(status, message): Fail) -> Response {
    error(status, &message)
}

/// A 302 to `location`.
pub fn redirect(location: &str) -> Response {
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, "no-store"),
        ],
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("a\nb"), "a b");
    }
}
