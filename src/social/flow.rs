//! The browser part of a login, shared by CloudMine's social login and the
//! BaasBox OAuth flow: open the URL (announcing it with the `open` event),
//! then wait for the browser to come back to the loopback listener.

use std::time::Duration;

use serde_json::json;
use tokio::sync::oneshot;
use tracing::Instrument;
use url::Url;

use super::listener::{Answer, Arrival, Callback, Listener, Outcome};
use std::sync::Arc;

use super::opener::{BrowserOpener, open_off_runtime};
use crate::call::Completion;
use crate::{Error, Event, Result};

/// A URL for messages and logs: no query (it can hold keys and tokens).
pub(crate) fn without_query(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

/// Opens `url` and fires `open` with `{url, opened, reason}`. A browser that
/// cannot be opened is not a failure: the app shows the URL instead. The
/// opener runs on a blocking thread.
pub(crate) async fn announce(
    opener: &Arc<dyn BrowserOpener>,
    url: &Url,
    completion: &mut Completion,
) {
    let step = crate::trace::login_step("browser_open");
    let opened = open_off_runtime(opener, url.as_str())
        .instrument(step.clone())
        .await;
    let step = step.entered();
    step.record("opened", opened.is_ok());
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
    drop(step);
    completion
        .handlers
        .emit(Event::Open, &data, &completion.info);
}

/// The browser is back with the expected value.
pub(crate) struct Returned {
    /// The callback's `code` (OAuth), if any.
    pub(crate) code: Option<String>,
    /// The browser's connection, waiting for its page: show how the login
    /// ended with [`show_in_browser`] (within the listener's bounded wait).
    pub(crate) answer: Answer,
}

/// Waits up to `timeout` for the browser. On a timeout or an error the
/// listener (and its port) is released before this returns; on success it
/// lives on in [`Returned::answer`] until the outcome is shown.
pub(crate) async fn wait_for_browser(
    listener: Listener,
    arrival: oneshot::Receiver<Arrival>,
    timeout: Duration,
    start: &Url,
) -> Result<Returned> {
    let port = listener.port();
    let step = crate::trace::login_step("callback");
    let arrived = tokio::time::timeout(timeout, arrival)
        .instrument(step.clone())
        .await;
    step.record(
        "outcome",
        match &arrived {
            Err(_) => "timeout",
            Ok(Err(_)) => "listener_stopped",
            Ok(Ok(Arrival {
                callback: Callback::Failed { .. },
                ..
            })) => "refused",
            Ok(Ok(_)) => "returned",
        },
    );
    step.in_scope(|| tracing::debug!(port, "login callback step ended"));
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
        Ok(Ok(Arrival { callback, reply })) => {
            let answer = Answer::new(listener, reply);
            match callback {
                Callback::Failed { code, description } => {
                    answer.show(Outcome::Failed {
                        reason: description.clone(),
                    });
                    Err(Error::Login { code, description })
                }
                Callback::Done { code } => Ok(Returned { code, answer }),
            }
        }
    }
}

/// Shows the browser how the login ended: who signed in (`identity` of the
/// value), the provider's or server's reason for a login error, or a
/// generic line for any other error (its details can name internal
/// addresses; the app has them).
pub(crate) fn show_in_browser<T>(
    answer: Answer,
    result: &Result<T>,
    identity: impl FnOnce(&T) -> Option<String>,
) {
    let outcome = match result {
        Ok(value) => Outcome::SignedIn {
            identity: identity(value),
        },
        Err(Error::Login { description, .. }) => Outcome::Failed {
            reason: description.clone(),
        },
        Err(_) => Outcome::Failed {
            reason: "The app could not finish signing you in.".into(),
        },
    };
    answer.show(outcome);
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
                self$(.$f)*.opener = std::sync::Arc::new(opener);
                self
            }

            /// A fixed listener port (default 0: any free port, which avoids clashes).
            pub fn port(mut self, port: u16) -> Self {
                self$(.$f)*.ports = $crate::social::ports::Ports::one(port);
                self
            }

            /// Listener ports to try in order, for apps registered with fixed
            /// redirect URIs (`http://127.0.0.1:8400/callback`, …); the first
            /// free one is used. When all are taken the login fails with
            /// [`Error::PortsUnavailable`](crate::Error::PortsUnavailable),
            /// naming each; an empty list is an invalid option.
            pub fn ports(mut self, ports: impl IntoIterator<Item = u16>) -> Self {
                self$(.$f)*.ports = $crate::social::ports::Ports::list(ports);
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
