//! [`SocialLoginCall`]: `login_social(network)` through the system browser.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Map, Value};

use super::flow::{announce, wait_for_browser, without_query};
use super::landing::LandingPage;
use super::listener::Listener;
use super::network::SocialNetwork;
use super::opener::{BrowserOpener, SystemBrowser};
use super::pkce;
use crate::call::{Completion, Request};
use crate::envelope::Processed;
use crate::events::Handlers;
use crate::secret::SessionToken;
use crate::{Error, Result, WebService};

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
}

/// The logged-in user's profile, from a social login.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    id: String,
    services: Vec<String>,
    fields: Map<String, Value>,
}

impl Profile {
    /// The user id (`__id__`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The networks linked to this user (`__services__`).
    pub fn services(&self) -> &[String] {
        &self.services
    }

    /// Every profile field, as sent (including `__id__` and `__services__`).
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }
}

/// A completed social login. The session is also set on the
/// [`WebService`], so later calls work on this user's data.
#[derive(Debug, Clone)]
pub struct SocialLogin {
    session_token: SessionToken,
    expires: Option<String>,
    profile: Profile,
    raw: Value,
}

impl SocialLogin {
    /// The new session token (redacted in `Debug`).
    pub fn session_token(&self) -> &SessionToken {
        &self.session_token
    }

    /// When the session expires (an HTTP date), if the server said.
    pub fn expires(&self) -> Option<&str> {
        self.expires.as_deref()
    }

    /// The user's profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The status answer as JSON, with `session_token` replaced by `"[redacted]"`.
    pub fn raw(&self) -> &Value {
        &self.raw
    }
}

/// A social login, from [`WebService::login_social`]: configure it, register
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
    ws: WebService,
    network: SocialNetwork,
    scope: Option<String>,
    link: Option<bool>,
    timeout: Duration,
    opener: Box<dyn BrowserOpener>,
    port: u16,
    landing: LandingPage,
    mode: LoginMode,
    handlers: Handlers,
}

impl std::fmt::Debug for SocialLoginCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocialLoginCall")
            .field("network", &self.network)
            .field("scope", &self.scope)
            .field("link", &self.link)
            .field("timeout", &self.timeout)
            .field("port", &self.port)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl WebService {
    /// Logs in with a social network through the system browser.
    ///
    /// The browser opens the server's login page; after the user signs in
    /// with the provider, the server sends the browser back to a listener
    /// on `127.0.0.1`, the SDK fetches the session (proving with PKCE that it
    /// started this login), and later calls work on that user's data. When a
    /// user is logged in already, the network is linked to that user unless
    /// [`link(false)`](SocialLoginCall::link) is set.
    pub fn login_social(&self, network: SocialNetwork) -> SocialLoginCall {
        SocialLoginCall {
            ws: self.clone(),
            network,
            scope: None,
            link: None,
            timeout: DEFAULT_LOGIN_TIMEOUT,
            opener: Box::new(SystemBrowser),
            port: 0,
            landing: LandingPage::default(),
            mode: LoginMode::Loopback,
            handlers: Handlers::new(),
        }
    }
}

impl SocialLoginCall {
    #[cfg(feature = "blocking")]
    pub(crate) fn runtime(&self) -> Result<std::sync::Arc<crate::blocking::Runtime>> {
        self.ws.blocking_runtime()
    }

    /// OAuth scope to ask the provider for (`scope=`).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Link the network to the logged-in user (the default when a session
    /// exists), or `false` to log in separately.
    pub fn link(mut self, link: bool) -> Self {
        self.link = Some(link);
        self
    }

    /// Loopback redirect (default) or status polling.
    pub fn mode(mut self, mode: LoginMode) -> Self {
        self.mode = mode;
        self
    }
}

crate::events::impl_event_emitter!(SocialLoginCall);
super::flow::browser_login_options!(SocialLoginCall);

impl IntoFuture for SocialLoginCall {
    type Output = Result<SocialLogin>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<SocialLogin>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

impl SocialLoginCall {
    async fn run(self) -> Result<SocialLogin> {
        let SocialLoginCall {
            ws,
            network,
            scope,
            link,
            timeout,
            opener,
            port,
            landing,
            mode,
            handlers,
        } = self;
        let mut completion = Completion::new(handlers);
        let outcome = login(
            &ws,
            &network,
            scope,
            link,
            timeout,
            &*opener,
            port,
            landing,
            mode,
            &mut completion,
        )
        .await;
        let processed = match &outcome {
            Ok(login) => Processed {
                status: Some(200),
                success: Some(login.raw.clone()),
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

#[allow(clippy::too_many_arguments)]
async fn login(
    ws: &WebService,
    network: &SocialNetwork,
    scope: Option<String>,
    link: Option<bool>,
    timeout: Duration,
    opener: &dyn BrowserOpener,
    port: u16,
    landing: LandingPage,
    mode: LoginMode,
    completion: &mut Completion,
) -> Result<SocialLogin> {
    if timeout.is_zero() {
        return Err(Error::invalid_option("timeout", "must be longer than zero"));
    }
    if let LoginMode::Polling { interval } = mode
        && interval.is_zero()
    {
        return Err(Error::invalid_option(
            "mode",
            "the polling interval must be longer than zero",
        ));
    }
    let options = ws.options();
    let started = Instant::now();
    let challenge = pkce::challenge()?;
    let linking = link.unwrap_or(true) && options.session_token().is_some();

    let mut start = options.api_root().clone();
    start
        .path_segments_mut()
        .map_err(|()| Error::invalid_option("api_root", "cannot hold a path"))?
        .pop_if_empty()
        .extend(["v1", "app", options.app_id(), "account", "social", "login"]);
    let mut status_url = start.clone();
    status_url
        .path_segments_mut()
        .map_err(|()| Error::invalid_option("api_root", "cannot hold a path"))?
        .extend(["status", &challenge]);
    completion.info.method = "GET".into();
    completion.info.url = without_query(&status_url);

    let (listener, callback, verifier) = match mode {
        LoginMode::Loopback => {
            let (verifier, code_challenge) = pkce::verifier_and_challenge()?;
            let (listener, rx) = Listener::start(port, "challenge", challenge.clone(), landing)?;
            (Some((listener, code_challenge)), Some(rx), Some(verifier))
        }
        LoginMode::Polling { .. } => (None, None, None),
    };
    {
        let mut q = start.query_pairs_mut();
        q.append_pair("service", network.as_str())
            .append_pair("apikey", options.api_key().secret())
            .append_pair("challenge", &challenge);
        if linking && let Some(token) = options.session_token() {
            q.append_pair("session_token", token.secret());
        }
        if let Some(scope) = &scope {
            q.append_pair("scope", scope);
        }
        if let Some((listener, code_challenge)) = &listener {
            q.append_pair("redirect_uri", &listener.redirect_uri())
                .append_pair("code_challenge", code_challenge)
                .append_pair("code_challenge_method", "S256");
        }
    }

    announce(opener, &start, completion);

    let timed_out = || Error::Timeout {
        method: "GET".into(),
        url: without_query(&start),
        after: timeout,
    };
    let body = match (callback, listener) {
        (Some(callback), Some((listener, _))) => {
            wait_for_browser(listener, callback, timeout, &start).await?;
            let body = status(ws, &challenge, verifier.as_deref()).await?;
            if body.get("finished") != Some(&Value::Bool(true)) {
                return Err(failed_from(&body).unwrap_or_else(|| Error::Login {
                    code: "server_error".into(),
                    description: "the browser came back but the server has no finished login"
                        .into(),
                }));
            }
            body
        }
        _ => match mode {
            LoginMode::Polling { interval } => poll(ws, &challenge, interval, started, timeout)
                .await?
                .ok_or_else(timed_out)?,
            // The loopback branch above always has its listener.
            LoginMode::Loopback => {
                return Err(Error::invalid_option("mode", "inconsistent login mode"));
            }
        },
    };
    let login = parse_login(body)?;
    ws.adopt_session(
        login.session_token.clone(),
        Some(login.profile.id.clone()),
        login.expires.clone(),
        true,
    )?;
    Ok(login)
}

/// One status call: `GET account/social/login/status/{challenge}`, at app
/// level (never with the session header).
async fn status(ws: &WebService, challenge: &str, verifier: Option<&str>) -> Result<Value> {
    let mut request = Request::new(
        Method::GET,
        &["account", "social", "login", "status", challenge],
    )
    .app_level();
    if let Some(verifier) = verifier {
        request = request.query("code_verifier", verifier);
    }
    Ok(ws.call(Ok(request)).await?.into_success())
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
    ws: &WebService,
    challenge: &str,
    interval: Duration,
    started: Instant,
    timeout: Duration,
) -> Result<Option<Value>> {
    let mut seen_pending = false;
    loop {
        match status(ws, challenge, None).await {
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

fn parse_login(mut body: Value) -> Result<SocialLogin> {
    let token = body
        .get("session_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::decode("the login status", "no session_token"))?
        .to_owned();
    let expires = body
        .get("expires")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let fields = body
        .get("profile")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| Error::decode("the login status", "no profile object"))?;
    let id = fields
        .get("__id__")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::decode("the login profile", "no __id__"))?
        .to_owned();
    let services = fields
        .get("__services__")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if let Some(slot) = body.get_mut("session_token") {
        *slot = Value::from("[redacted]");
    }
    Ok(SocialLogin {
        session_token: SessionToken::new(token),
        expires,
        profile: Profile {
            id,
            services,
            fields,
        },
        raw: body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_redacts_the_status_answer() {
        let login = parse_login(json!({
            "finished": true, "session_token": "tok-secret", "expires": "Fri, 31 Aug 2012 19:08:37 GMT",
            "profile": {"__id__": "u1", "__type__": "user", "__services__": ["github", "google"], "name": "Ada"}
        }))
        .unwrap();
        assert_eq!(login.session_token().secret(), "tok-secret");
        assert_eq!(login.profile().id(), "u1");
        assert_eq!(login.profile().services(), ["github", "google"]);
        assert_eq!(login.raw()["session_token"], "[redacted]");
        assert!(!format!("{login:?}").contains("tok-secret"));
        assert!(
            parse_login(json!({"finished": true}))
                .unwrap_err()
                .is_decode()
        );
    }

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
