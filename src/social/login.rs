//! [`SocialLoginCall`]: `login_social(network)` through the system browser.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use url::Url;

use super::device;
use super::flow::{announce, show_in_browser, wait_for_browser, without_query};
use super::handoff::PageLease;
use super::landing::{LandingPage, profile_identity};
use super::listener::{Arrival, Listener};
use super::network::SocialNetwork;
use super::opener::{BrowserOpener, SystemBrowser};
use super::paste::{self, PasteReader, PasteSource};
use super::pkce;
use super::ports::Ports;
use crate::call::{ApiCall, Completion, Request};
use crate::client::Client;
use crate::envelope::Processed;
use crate::error::{Error, Result};
use crate::events::Handlers;
use crate::options::Options;
use crate::secret::SessionToken;
use crate::session::{self, login::Login};

/// The default time a login may take, from opening the browser.
pub const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(300);

/// How the SDK learns that the browser part is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginMode {
    /// The server redirects the browser to a listener on `127.0.0.1`
    /// (RFC 8252), and the login is bound to this app with PKCE. The default.
    Loopback,
    /// For servers without redirect support: ask the status endpoint every
    /// `interval` until the login finishes, fails, or times out.
    Polling {
        /// Time between status calls.
        interval: Duration,
    },
    /// A second-device login (an emulator extension, `docs/SOCIAL_LOGIN.md`):
    /// the `open` event carries the URL and a short `user_code` to show;
    /// the user opens the URL on any device, checks that the page shows the
    /// same code, and signs in; meanwhile the app asks the status endpoint
    /// every `interval`, with the PKCE verifier (without it the server
    /// answers nothing).
    ///
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// use cloudmine::{CallInfo, Event, EventEmitter, LoginMode, ManualOpener, SocialNetwork};
    /// use serde_json::Value;
    /// ws.login_social(SocialNetwork::Github)
    ///     .mode(LoginMode::Device { interval: std::time::Duration::from_secs(2) })
    ///     .opener(ManualOpener)
    ///     .on(Event::Open, |d: &Value, _: &CallInfo| {
    ///         println!("Open {} on any device and check the code {}", d["url"], d["user_code"]);
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    Device {
        /// Time between status calls.
        interval: Duration,
    },
}

/// A completed social login: the same [`Login`] a password login gives.
/// The session is also set on the client, so later calls work on this
/// user's data.
pub type SocialLogin = Login;

/// A social login, from [`WebService::login_social`](crate::WebService::login_social): configure it, register
/// handlers, then `.await` it.
///
/// ```no_run
/// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
/// use cloudmine::{CallInfo, Event, EventEmitter, SocialNetwork};
/// use serde_json::Value;
/// let login = ws
///     .login_social(SocialNetwork::Github)
///     .scope("read:user")
///     .timeout(std::time::Duration::from_secs(120))
///     .on(Event::Open, |data: &Value, _: &CallInfo| {
///         if data["opened"] == false {
///             println!("Open this URL to continue: {}", data["url"].as_str().unwrap_or(""));
///         }
///     })
///     .await?;
/// println!("signed in as {}", login.profile().id());
/// # Ok(()) }
/// ```
#[must_use = "a login does nothing until it is awaited"]
pub struct SocialLoginCall {
    flow: Flow,
    handlers: Handlers,
}

impl std::fmt::Debug for SocialLoginCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let flow = &self.flow;
        f.debug_struct("SocialLoginCall")
            .field("network", &flow.network)
            .field("scope", &flow.scope)
            .field("link", &flow.link)
            .field("timeout", &flow.timeout)
            .field("ports", &flow.ports)
            .field("mode", &flow.mode)
            .field("paste_back", &flow.paste.is_set())
            .finish_non_exhaustive()
    }
}

impl SocialLoginCall {
    pub(crate) fn new(client: &Client, network: SocialNetwork) -> Self {
        SocialLoginCall {
            flow: Flow {
                client: client.clone(),
                network,
                scope: None,
                link: None,
                timeout: DEFAULT_LOGIN_TIMEOUT,
                opener: Arc::new(SystemBrowser),
                ports: Ports::default(),
                landing: LandingPage::default(),
                mode: LoginMode::Loopback,
                paste: PasteSource::default(),
            },
            handlers: Handlers::new(),
        }
    }

    /// OAuth scope to ask the provider for (`scope=`).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.flow.scope = Some(scope.into());
        self
    }

    /// Link the network to the logged-in user (the default when a session
    /// exists), or `false` to log in separately.
    pub fn link(mut self, link: bool) -> Self {
        self.flow.link = Some(link);
        self
    }

    /// Loopback redirect (default) or status polling.
    pub fn mode(mut self, mode: LoginMode) -> Self {
        self.flow.mode = mode;
        self
    }

    /// Paste-back, for a browser that cannot reach this machine (an
    /// emulator extension, `docs/SOCIAL_LOGIN.md`): the server's last page
    /// shows a code, and the user pastes it as one line into `reader`
    /// (at most [`MAX_PASTE_BYTES`](crate::MAX_PASTE_BYTES), within the
    /// login's timeout). The code must be this login's, and the status call
    /// needs the PKCE verifier, as after a loopback callback. The `open`
    /// event's data has `paste: true`. Replaces the mode.
    ///
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// use cloudmine::{ManualOpener, SocialNetwork};
    /// let stdin = tokio::io::BufReader::new(tokio::io::stdin());
    /// ws.login_social(SocialNetwork::Github)
    ///     .opener(ManualOpener)
    ///     .paste_back(stdin)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn paste_back(
        mut self,
        reader: impl tokio::io::AsyncBufRead + Unpin + Send + 'static,
    ) -> Self {
        self.flow.paste = PasteSource::new(Box::new(reader));
        self
    }
}

crate::events::impl_event_emitter!(SocialLoginCall);
super::flow::browser_login_options!(SocialLoginCall, flow);

impl IntoFuture for SocialLoginCall {
    type Output = Result<SocialLogin>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<SocialLogin>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// How a login learns that the browser part is done.
enum Wait {
    /// The listener on `127.0.0.1`, and the PKCE verifier that proves this
    /// app started the login.
    Loopback {
        listener: Listener,
        callback: oneshot::Receiver<Arrival>,
        verifier: String,
        code_challenge: String,
    },
    /// Status calls every `interval` (with the verifier for a device login).
    Polling {
        interval: Duration,
        pkce: Option<(String, String)>,
    },
    /// The pasted code, then the status call with the verifier.
    Paste {
        reader: PasteReader,
        verifier: String,
        code_challenge: String,
    },
}

/// A login's settings, and the login under way (the call without its
/// handlers).
struct Flow {
    client: Client,
    network: SocialNetwork,
    scope: Option<String>,
    link: Option<bool>,
    timeout: Duration,
    opener: Arc<dyn BrowserOpener>,
    ports: Ports,
    landing: LandingPage,
    mode: LoginMode,
    paste: PasteSource,
}

impl SocialLoginCall {
    async fn run(self) -> Result<SocialLogin> {
        let SocialLoginCall { flow, handlers } = self;
        let mut completion = Completion::new(handlers);
        let outcome = flow.login(&mut completion).await;
        let processed = match &outcome {
            Ok(login) => Processed {
                status: Some(200),
                success: Some(login.raw().clone()),
                ..Processed::default()
            },
            Err(e) => Processed::from_failure(e.clone()),
        };
        // Events fire in CloudMine's order, `complete` last; the typed value
        // is ours, not the generic response.
        let _ = completion.finish(processed);
        outcome
    }
}

impl Flow {
    fn check(&self) -> Result<()> {
        if self.timeout.is_zero() {
            return Err(Error::invalid_option("timeout", "must be longer than zero"));
        }
        if let LoginMode::Polling { interval } | LoginMode::Device { interval } = self.mode
            && interval.is_zero()
        {
            return Err(Error::invalid_option(
                "mode",
                "the polling interval must be longer than zero",
            ));
        }
        Ok(())
    }

    async fn login(&self, completion: &mut Completion) -> Result<SocialLogin> {
        self.check()?;
        let options = self.client.snapshot().options.clone();
        let started = Instant::now();
        let challenge = pkce::challenge()?;
        let start = login_url(&options)?;
        let mut status_url = start.clone();
        status_url
            .path_segments_mut()
            .map_err(|()| Error::invalid_option("api_root", "cannot hold a path"))?
            .extend(["status", &challenge]);
        completion.info.method = "GET".into();
        completion.info.url = without_query(&status_url);
        let wait = match (self.paste.take(), self.mode) {
            (Some(reader), _) => {
                let (verifier, code_challenge) = pkce::verifier_and_challenge()?;
                Wait::Paste {
                    reader,
                    verifier,
                    code_challenge,
                }
            }
            (None, LoginMode::Loopback) => {
                let (verifier, code_challenge) = pkce::verifier_and_challenge()?;
                let (listener, callback) = Listener::start(
                    &self.ports,
                    "challenge",
                    challenge.clone(),
                    self.landing.clone(),
                )?;
                Wait::Loopback {
                    listener,
                    callback,
                    verifier,
                    code_challenge,
                }
            }
            (None, LoginMode::Polling { interval }) => Wait::Polling {
                interval,
                pkce: None,
            },
            (None, LoginMode::Device { interval }) => Wait::Polling {
                interval,
                pkce: Some(pkce::verifier_and_challenge()?),
            },
        };
        let ticket = match options.session_token() {
            Some(session) if self.link.unwrap_or(true) => {
                Some(link_ticket(&self.client, session.clone()).await?)
            }
            _ => None,
        };
        let start = self.start_url(start, &challenge, ticket.as_deref(), &options, &wait);
        // The page `SystemBrowser` hands the browser lives as long as this.
        let _page = PageLease::new(start.as_str());
        match &wait {
            Wait::Polling {
                pkce: Some((_, code_challenge)),
                ..
            } => {
                let extra = json!({ "user_code": device::user_code(code_challenge) });
                device::announce_with(&self.opener, &start, completion, extra).await;
            }
            Wait::Paste { .. } => {
                device::announce_with(&self.opener, &start, completion, json!({ "paste": true }))
                    .await;
            }
            _ => announce(&self.opener, &start, completion).await,
        }
        let login = self.await_answer(wait, &challenge, &start, started).await?;
        session::adopt_off_runtime(&self.client, login.session()).await?;
        Ok(login)
    }

    /// The login page's URL with its query: the network, the API key, the
    /// challenge, the link ticket when linking (never the session token: a
    /// URL reaches command lines and logs), and what the server needs to
    /// send the browser back.
    fn start_url(
        &self,
        mut start: Url,
        challenge: &str,
        ticket: Option<&str>,
        options: &Options,
        wait: &Wait,
    ) -> Url {
        let mut q = start.query_pairs_mut();
        q.append_pair("service", self.network.as_str())
            .append_pair("apikey", options.api_key().secret())
            .append_pair("challenge", challenge);
        if let Some(ticket) = ticket {
            q.append_pair("ticket", ticket);
        }
        if let Some(scope) = &self.scope {
            q.append_pair("scope", scope);
        }
        if let Wait::Loopback {
            listener,
            code_challenge,
            ..
        } = wait
        {
            q.append_pair("redirect_uri", &listener.redirect_uri())
                .append_pair("code_challenge", code_challenge)
                .append_pair("code_challenge_method", "S256");
        }
        let elsewhere = match wait {
            Wait::Polling {
                pkce: Some((_, cc)),
                ..
            } => Some(("device", cc)),
            Wait::Paste { code_challenge, .. } => Some(("paste", code_challenge)),
            _ => None,
        };
        if let Some((kind, code_challenge)) = elsewhere {
            q.append_pair(kind, "1")
                .append_pair("code_challenge", code_challenge)
                .append_pair("code_challenge_method", "S256");
        }
        drop(q);
        start
    }

    /// Waits for the browser (or polls), then reads the finished login; the
    /// browser, when it came back to the listener, is shown who signed in.
    async fn await_answer(
        &self,
        wait: Wait,
        challenge: &str,
        start: &Url,
        started: Instant,
    ) -> Result<Login> {
        match wait {
            Wait::Loopback {
                listener,
                callback,
                verifier,
                ..
            } => {
                let back = wait_for_browser(listener, callback, self.timeout, start).await?;
                let login = finished(&self.client, challenge, &verifier).await;
                show_in_browser(back.answer, &login, |l| profile_identity(l.profile()));
                login
            }
            Wait::Paste {
                mut reader,
                verifier,
                ..
            } => {
                let left = self.timeout.saturating_sub(started.elapsed());
                if !paste::read_code(&mut reader, challenge, left).await? {
                    return Err(Error::Timeout {
                        method: "GET".into(),
                        url: without_query(start),
                        after: self.timeout,
                    });
                }
                finished(&self.client, challenge, &verifier)
                    .await
                    .map_err(paste::stale)
            }
            Wait::Polling { interval, pkce } => {
                let verifier = pkce.as_ref().map(|(v, _)| v.as_str());
                let body = poll(
                    &self.client,
                    challenge,
                    verifier,
                    interval,
                    started,
                    self.timeout,
                )
                .await?
                .ok_or_else(|| Error::Timeout {
                    method: "GET".into(),
                    url: without_query(start),
                    after: self.timeout,
                })?;
                Login::from_cloudmine(body)
            }
        }
    }
}

/// The status call once the browser is back: the finished login, decoded.
async fn finished(client: &Client, challenge: &str, verifier: &str) -> Result<Login> {
    let body = status(client, challenge, Some(verifier)).await?;
    if body.get("finished") != Some(&Value::Bool(true)) {
        return Err(failed_from(&body).unwrap_or_else(|| Error::Login {
            code: "server_error".into(),
            description: "the browser came back but the server has no finished login".into(),
        }));
    }
    Login::from_cloudmine(body)
}

/// `{api_root}/v1/app/{app}/account/social/login`.
fn login_url(options: &Options) -> Result<Url> {
    let mut start = options.api_root().clone();
    start
        .path_segments_mut()
        .map_err(|()| Error::invalid_option("api_root", "cannot hold a path"))?
        .pop_if_empty()
        .extend(["v1", "app", options.app_id(), "account", "social", "login"]);
    Ok(start)
}

/// A one-time link ticket for the session (`POST account/social/ticket`
/// with the session header): the start URL carries it instead of the
/// session token.
async fn link_ticket(client: &Client, session: SessionToken) -> Result<String> {
    let mut request = Request::new(Method::POST, &["account", "social", "ticket"]).app_level();
    request.session = Some(session);
    let body = ApiCall::new(client, Ok(request)).await?.into_success();
    match body.get("ticket").and_then(Value::as_str) {
        Some(t) if !t.is_empty() && t.len() <= 512 => Ok(t.to_owned()),
        _ => Err(Error::decode(
            "the link ticket",
            "the answer has no \"ticket\" string",
        )),
    }
}

/// One status call: `GET account/social/login/status/{challenge}`, at app
/// level (never with the session header).
async fn status(client: &Client, challenge: &str, verifier: Option<&str>) -> Result<Value> {
    let mut request = Request::new(
        Method::GET,
        &["account", "social", "login", "status", challenge],
    )
    .app_level();
    if let Some(verifier) = verifier {
        request = request.query("code_verifier", verifier);
    }
    let step = crate::trace::login_step("status");
    let answer =
        tracing::Instrument::instrument(ApiCall::new(client, Ok(request)).into_future(), step)
            .await;
    Ok(answer?.into_success())
}

/// A `finished: false` answer with an `error`, as our error.
fn failed_from(body: &Value) -> Option<Error> {
    let code = body.get("error")?.as_str()?.to_owned();
    let description = body
        .get("error_description")
        .and_then(Value::as_str)
        .unwrap_or(&code)
        .to_owned();
    Some(Error::Login { code, description })
}

/// Polls until finished (`Some`), failed (`Err`) or out of time (`None`).
async fn poll(
    client: &Client,
    challenge: &str,
    verifier: Option<&str>,
    interval: Duration,
    started: Instant,
    timeout: Duration,
) -> Result<Option<Value>> {
    let mut seen_pending = false;
    loop {
        match status(client, challenge, verifier).await {
            Ok(body) if body.get("finished") == Some(&Value::Bool(true)) => return Ok(Some(body)),
            Ok(body) => {
                if let Some(error) = failed_from(&body) {
                    return Err(error);
                }
                seen_pending = true;
            }
            // Before the browser reached the server the challenge is unknown.
            Err(e) if e.is_not_found() && !seen_pending => {}
            Err(e) if e.is_not_found() => {
                return Err(Error::Login {
                    code: "expired".into(),
                    description: "the login expired or was consumed elsewhere".into(),
                });
            }
            Err(e) => return Err(e),
        }
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Ok(None);
        }
        tokio::time::sleep(interval.min(left)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn failures_keep_code_and_description() {
        let e = failed_from(
            &json!({"finished": false, "error": "access_denied", "error_description": "no"}),
        )
        .unwrap();
        assert!(e.is_access_denied());
        assert!(failed_from(&json!({"finished": false})).is_none());
        let e = failed_from(&json!({"error": "identity_conflict"})).unwrap();
        assert!(e.is_conflict());
    }
}
