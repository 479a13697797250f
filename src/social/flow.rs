//! The browser part of a login, shared by CloudMine's social login and the
//! BaasBox OAuth flow: open the URL (announcing it with the `open` event),
//! then wait for the browser to come back to the loopback listener.

use std::time::Duration;

use serde_json::json;
use tokio::sync::oneshot;
use url::Url;

use super::listener::{Callback, Listener};
use super::opener::BrowserOpener;
use crate::call::Completion;
use crate::{Error, Event, Result};

/// A URL for messages and logs: no query (it can hold keys and tokens).
pub(crate) fn without_query(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

/// Opens `url` and fires `open` with `{url, opened, reason}`. A browser that
/// cannot be opened is not a failure: the app shows the URL instead.
pub(crate) fn announce(opener: &dyn BrowserOpener, url: &Url, completion: &mut Completion) {
    let opened = opener.open(url.as_str());
    if let Err(reason) = &opened {
        tracing::info!(
            url = %without_query(url),
            reason = %reason,
            "could not open a browser; the app must show the login URL"
        );
    }
    let data = json!({
        "url": url.as_str(),
        "opened": opened.is_ok(),
        "reason": opened.as_ref().err(),
    });
    completion
        .handlers
        .emit(Event::Open, &data, &completion.info);
}

/// Waits up to `timeout` for the browser; the listener (and its port) is
/// released before this returns. `Ok` carries the callback's `code`, if any.
pub(crate) async fn wait_for_browser(
    listener: Listener,
    callback: oneshot::Receiver<Callback>,
    timeout: Duration,
    start: &Url,
) -> Result<Option<String>> {
    let port = listener.port();
    let arrived = tokio::time::timeout(timeout, callback).await;
    drop(listener);
    match arrived {
        Err(_) => Err(Error::Timeout {
            method: "GET".into(),
            url: without_query(start),
            after: timeout,
        }),
        Ok(Err(_)) => Err(Error::Transport {
            method: "GET".into(),
            url: format!("http://127.0.0.1:{port}/callback"),
            message: "the login listener stopped before the browser came back".into(),
            source: None,
        }),
        Ok(Ok(Callback::Failed { code, description })) => Err(Error::Login { code, description }),
        Ok(Ok(Callback::Done { code })) => Ok(code),
    }
}

/// The builder options every browser login has: `timeout`, `opener`,
/// `port`, `landing_page` (fields of the same names; `landing` for the page),
/// on the call itself or on the field named after the type.
macro_rules! browser_login_options {
    ($ty:ty $(, $f:ident)*) => {
        impl $ty {
            /// How long the whole login may take (default 5 minutes).
            pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
                self$(.$f)*.timeout = timeout;
                self
            }

            /// How the URL is opened (default: [`SystemBrowser`](crate::SystemBrowser)).
            pub fn opener(mut self, opener: impl $crate::BrowserOpener) -> Self {
                self$(.$f)*.opener = Box::new(opener);
                self
            }

            /// A fixed listener port (default 0: any free port, which avoids clashes).
            pub fn port(mut self, port: u16) -> Self {
                self$(.$f)*.port = port;
                self
            }

            /// The pages the browser shows when it comes back.
            pub fn landing_page(mut self, page: $crate::LandingPage) -> Self {
                self$(.$f)*.landing = page;
                self
            }
        }
    };
}
pub(crate) use browser_login_options;
