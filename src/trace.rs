//! The SDK's tracing spans: one per HTTP call and one per browser-login
//! step. Their fields never hold a secret: URLs are recorded as a path with
//! no query string (a query can carry keys and tokens), and no header, body,
//! code, verifier or token is ever a field.
//!
//! Span names and fields (documented in docs/ARCHITECTURE.md):
//! - `cloudmine.call` (DEBUG): `method`, `path`, `level` (`user`,
//!   `application` or `other`), `status` and `duration_ms` once answered,
//!   `retries` (how many attempts came before this one: 0 unless the retry
//!   loop sent the call again).
//! - `cloudmine.login` (INFO): `step` (`listener_start`, `browser_open`,
//!   `callback`, `status`), plus `port`, `opened` or `outcome` where they apply.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use crate::events::CallInfo;
use tracing::field::Empty;
use tracing::{Instrument, Span};

/// The path of `url` (no scheme, host or query); `url` itself when it does
/// not parse, cut at its first `?` or `#`. A reset token in it is
/// `[redacted]` (see [`loggable`]).
pub(crate) fn path_of(url: &str) -> String {
    let path = match url::Url::parse(url) {
        Ok(u) => u.path().to_owned(),
        Err(_) => url.split(['?', '#']).next().unwrap_or_default().to_owned(),
    };
    loggable(&path).into_owned()
}

/// `url` (or a path) as it may be logged: the password-reset token of
/// `…/password/reset/{token}` (`Users::confirm_reset`), which resets the
/// password, becomes `[redacted]`.
pub(crate) fn loggable(url: &str) -> Cow<'_, str> {
    const MARK: &str = "/password/reset/";
    let Some(at) = url.find(MARK) else {
        return Cow::Borrowed(url);
    };
    let start = at + MARK.len();
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |n| start + n);
    if start == end {
        return Cow::Borrowed(url);
    }
    Cow::Owned(format!("{}[redacted]{}", &url[..start], &url[end..]))
}

/// Whose data a CloudMine path reaches: `user` for `/v1/app/{id}/user/…`,
/// `application` for other `/v1/app/{id}/…` paths, `other` for the rest
/// (BaasBox, OAuth token endpoints).
pub(crate) fn level_of(path: &str) -> &'static str {
    let mut parts = path.split('/').filter(|p| !p.is_empty());
    let app = parts.next().is_some_and(|v| v.starts_with('v'))
        && parts.next() == Some("app")
        && parts.next().is_some();
    match (app, parts.next()) {
        (true, Some("user")) => "user",
        (true, _) => "application",
        _ => "other",
    }
}

/// The span of one HTTP call to `url` (whose query, if any, is dropped).
pub(crate) fn call_span(method: &str, url: &str, retries: u16) -> Span {
    let path = path_of(url);
    tracing::debug_span!(
        "cloudmine.call",
        method = %method,
        path = %path,
        level = level_of(&path),
        status = Empty,
        duration_ms = Empty,
        retries,
    )
}

/// Whether a subscriber wants `cloudmine.call` spans. Checked before a
/// call so that, without one, nothing is allocated for them.
pub(crate) fn calls_traced() -> bool {
    tracing::span_enabled!(tracing::Level::DEBUG, "cloudmine.call")
}

/// `read` (the answer to one call) inside its span, which records the
/// status (`status_of` the outcome) and the duration when it ends. Boxed:
/// inline, the span would push the boxed call future past 1 KiB (see
/// `call::tests`).
pub(crate) fn traced_call<F>(
    read: F,
    info: &CallInfo,
    status_of: fn(&F::Output) -> Option<u16>,
) -> Pin<Box<impl Future<Output = F::Output>>>
where
    F: Future,
{
    let span = call_span(info.method(), info.url(), info.retries());
    let started = Instant::now();
    Box::pin(async move {
        let outcome = read.instrument(span.clone()).await;
        finish_call(&span, status_of(&outcome), started.elapsed());
        outcome
    })
}

/// Records how a call ended on its span: the status (when an answer came)
/// and the time it took.
pub(crate) fn finish_call(span: &Span, status: Option<u16>, elapsed: Duration) {
    if let Some(status) = status {
        span.record("status", status);
    }
    span.record(
        "duration_ms",
        u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
    );
}

/// The span of one browser-login step (`listener_start`, `browser_open`,
/// `callback`, `status`).
pub(crate) fn login_step(step: &'static str) -> Span {
    tracing::info_span!(
        "cloudmine.login",
        step,
        port = Empty,
        opened = Empty,
        outcome = Empty
    )
}

/// Records that the login listener is serving on `port`.
pub(crate) fn listener_started(port: u16) {
    let span = login_step("listener_start");
    span.record("port", port);
    span.in_scope(|| tracing::debug!("login listener started"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_drop_host_and_query() {
        assert_eq!(
            path_of("http://h:1/v1/app/a/user/text?keys=x&apikey=s#f"),
            "/v1/app/a/user/text"
        );
        assert_eq!(path_of("not a url?token=s"), "not a url");
    }

    #[test]
    fn reset_tokens_are_redacted() {
        assert_eq!(
            path_of("http://h:1/v1/app/a/account/password/reset/t0k3n?x=1"),
            "/v1/app/a/account/password/reset/[redacted]"
        );
        assert_eq!(
            loggable("http://h:1/v1/app/a/account/password/reset/t0k3n"),
            "http://h:1/v1/app/a/account/password/reset/[redacted]"
        );
        assert_eq!(
            loggable("http://h:1/v1/app/a/account/password/reset"),
            "http://h:1/v1/app/a/account/password/reset"
        );
    }

    #[test]
    fn levels_follow_the_path() {
        assert_eq!(level_of("/v1/app/a/user/text"), "user");
        assert_eq!(level_of("/v1/app/a/text"), "application");
        assert_eq!(level_of("/v1/app/a/account/login"), "application");
        assert_eq!(level_of("/user/login"), "other");
        assert_eq!(level_of("/oauth/token"), "other");
    }
}
