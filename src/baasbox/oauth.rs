//! The browser login BaasBox lacked: OAuth 2 authorization code with PKCE
//! (RFC 7636) and `state`, redirected to the loopback listener (RFC 8252),
//! then BaasBox's `POST /social/{network}` (or `PUT`, to link) with the
//! access token.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use url::Url;

use super::api::check_network;
use super::client::BaasBox;
use super::model::BbUser;
use crate::call::Completion;
use crate::envelope::Processed;
use crate::events::Handlers;
use crate::secret::{ClientSecret, OAuthToken};
use crate::social::flow::{announce, show_in_browser, wait_for_browser, without_query};
use crate::social::handoff::PageLease;
use crate::social::landing::identity;
use crate::social::listener::Listener;
use crate::social::pkce;
use crate::social::ports::Ports;
use crate::transport::transport_error;
use crate::{BrowserOpener, DEFAULT_LOGIN_TIMEOUT, Error, LandingPage, Result, SystemBrowser};

/// An OAuth 2 provider: where the browser signs in and where the code is
/// exchanged. Presets for Google, Facebook and GitHub, or any other with
/// [`custom`](Self::custom).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthProvider {
    authorize_url: Url,
    token_url: Url,
    client_id: String,
    client_secret: Option<ClientSecret>,
    scopes: Vec<String>,
}

fn parse(url: &str, what: &'static str) -> Result<Url> {
    let parsed =
        Url::parse(url).map_err(|e| Error::invalid_option(what, format!("{url:?}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::invalid_option(what, "must be an http(s) URL"));
    }
    Ok(parsed)
}

fn preset(authorize: &str, token: &str, client_id: &str, scopes: &[&str]) -> OAuthProvider {
    OAuthProvider {
        // The presets are constant, valid URLs.
        authorize_url: Url::parse(authorize).unwrap_or_else(|_| unreachable!()),
        token_url: Url::parse(token).unwrap_or_else(|_| unreachable!()),
        client_id: client_id.to_owned(),
        client_secret: None,
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
    }
}

impl OAuthProvider {
    /// Google (scopes `openid email profile`). Google desktop clients also
    /// need their [`client_secret`](Self::client_secret).
    pub fn google(client_id: &str) -> Self {
        preset(
            "https://accounts.google.com/o/oauth2/v2/auth",
            "https://oauth2.googleapis.com/token",
            client_id,
            &["openid", "email", "profile"],
        )
    }

    /// Facebook (scopes `email public_profile`).
    pub fn facebook(client_id: &str) -> Self {
        preset(
            "https://www.facebook.com/v19.0/dialog/oauth",
            "https://graph.facebook.com/v19.0/oauth/access_token",
            client_id,
            &["email", "public_profile"],
        )
    }

    /// GitHub (scopes `read:user user:email`).
    pub fn github(client_id: &str) -> Self {
        preset(
            "https://github.com/login/oauth/authorize",
            "https://github.com/login/oauth/access_token",
            client_id,
            &["read:user", "user:email"],
        )
    }

    /// Any OAuth 2 provider.
    pub fn custom(authorize_url: &str, token_url: &str, client_id: &str) -> Result<Self> {
        if client_id.is_empty() {
            return Err(Error::invalid_option("client_id", "must not be empty"));
        }
        Ok(OAuthProvider {
            authorize_url: parse(authorize_url, "authorize_url")?,
            token_url: parse(token_url, "token_url")?,
            client_id: client_id.to_owned(),
            client_secret: None,
            scopes: Vec::new(),
        })
    }

    /// The built-in identity provider of a `cloudmine-emulator` at
    /// `base_url`, for `network` (client id `cloudmine-sdk`).
    pub fn emulator(base_url: &str, network: &str) -> Result<Self> {
        let base = base_url.trim_end_matches('/');
        Self::custom(
            &format!("{base}/idp/{network}/authorize"),
            &format!("{base}/idp/token"),
            "cloudmine-sdk",
        )
    }

    /// The client secret, for providers that require one (redacted in
    /// `Debug`).
    pub fn client_secret(mut self, secret: impl Into<ClientSecret>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// Replaces the scopes asked for.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The authorize endpoint.
    pub fn authorize_url(&self) -> &Url {
        &self.authorize_url
    }

    /// The token endpoint.
    pub fn token_url(&self) -> &Url {
        &self.token_url
    }
}

/// A BaasBox login through the browser, from [`BaasBox::login_social`]:
/// awaitable to the [`BbUser`], and an [`EventEmitter`](crate::EventEmitter)
/// (`open`, `success`, `error`, `complete`).
#[must_use = "a login does nothing until it is awaited"]
pub struct BaasBoxLoginCall {
    bb: BaasBox,
    network: String,
    provider: OAuthProvider,
    link: bool,
    timeout: Duration,
    opener: Arc<dyn BrowserOpener>,
    ports: Ports,
    landing: LandingPage,
    handlers: Handlers,
}

impl std::fmt::Debug for BaasBoxLoginCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BaasBoxLoginCall")
            .field("network", &self.network)
            .field("provider", &self.provider)
            .field("link", &self.link)
            .field("timeout", &self.timeout)
            .field("ports", &self.ports)
            .finish_non_exhaustive()
    }
}

impl BaasBox {
    /// Logs in with a social network through the system browser: the OAuth 2
    /// authorization-code flow with PKCE and `state` against `provider`,
    /// back to a listener on `127.0.0.1`; the access token then logs in to
    /// BaasBox (`POST /social/{network}`), or with
    /// [`link(true)`](BaasBoxLoginCall::link) and a session, is linked to
    /// the user.
    pub fn login_social(&self, network: &str, provider: OAuthProvider) -> BaasBoxLoginCall {
        BaasBoxLoginCall {
            bb: self.clone(),
            network: network.to_owned(),
            provider,
            link: false,
            timeout: DEFAULT_LOGIN_TIMEOUT,
            opener: Arc::new(SystemBrowser),
            ports: Ports::default(),
            landing: LandingPage::default(),
            handlers: Handlers::new(),
        }
    }
}

impl BaasBoxLoginCall {
    /// Link the network to the logged-in user instead of logging in
    /// (default false; without a session it logs in).
    pub fn link(mut self, link: bool) -> Self {
        self.link = link;
        self
    }
}

crate::events::impl_event_emitter!(BaasBoxLoginCall);
crate::social::flow::browser_login_options!(BaasBoxLoginCall);

impl IntoFuture for BaasBoxLoginCall {
    type Output = Result<BbUser>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<BbUser>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let BaasBoxLoginCall {
                bb,
                network,
                provider,
                link,
                timeout,
                opener,
                ports,
                landing,
                handlers,
            } = self;
            let mut completion = Completion::new(handlers);
            let flow = Flow {
                bb: &bb,
                network: &network,
                provider: &provider,
                link,
                timeout,
            };
            let outcome = flow.run(&opener, &ports, landing, &mut completion).await;
            let processed = match &outcome {
                Ok(user) => Processed {
                    status: Some(200),
                    success: Some(user.raw.clone()),
                    ..Processed::default()
                },
                Err(e) => Processed::from_failure(e.clone()),
            };
            let _ = completion.finish(processed);
            outcome
        })
    }
}

/// Who signed in, as the landing page says it: the user's email when
/// BaasBox shows it to the user, and the user name unless BaasBox made it up.
fn user_identity(user: &BbUser) -> Option<String> {
    let email = user
        .raw
        .pointer("/visibleByTheUser/email")
        .and_then(Value::as_str);
    let name = (!user.generated_username).then_some(user.username.as_str());
    identity(name, email).or_else(|| Some(user.username.clone()))
}

struct Flow<'a> {
    bb: &'a BaasBox,
    network: &'a str,
    provider: &'a OAuthProvider,
    link: bool,
    timeout: Duration,
}

impl Flow<'_> {
    async fn run(
        &self,
        opener: &Arc<dyn BrowserOpener>,
        ports: &Ports,
        landing: LandingPage,
        completion: &mut Completion,
    ) -> Result<BbUser> {
        if self.timeout.is_zero() {
            return Err(Error::invalid_option("timeout", "must be longer than zero"));
        }
        check_network(self.network)?;
        let started = Instant::now();
        let state = pkce::challenge()?;
        let (verifier, code_challenge) = pkce::verifier_and_challenge()?;
        let (listener, callback) = Listener::start(ports, "state", state.clone(), landing)?;
        let redirect_uri = listener.redirect_uri();
        let mut authorize = self.provider.authorize_url.clone();
        {
            let mut q = authorize.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.provider.client_id)
                .append_pair("redirect_uri", &redirect_uri)
                .append_pair("state", &state)
                .append_pair("code_challenge", &code_challenge)
                .append_pair("code_challenge_method", "S256");
            if !self.provider.scopes.is_empty() {
                q.append_pair("scope", &self.provider.scopes.join(" "));
            }
        }
        completion.info.method = "GET".into();
        completion.info.url = without_query(&authorize);
        // The page `SystemBrowser` hands the browser lives as long as this.
        let _page = PageLease::new(authorize.as_str());
        announce(opener, &authorize, completion).await;
        let back = wait_for_browser(listener, callback, self.timeout, &authorize).await?;
        let user = tracing::Instrument::instrument(
            self.sign_in(back.code, &redirect_uri, &verifier, started),
            crate::trace::login_step("status"),
        )
        .await;
        show_in_browser(back.answer, &user, user_identity);
        user
    }

    /// With the browser back: the code for a token, then BaasBox's login
    /// (or link) with it.
    async fn sign_in(
        &self,
        code: Option<String>,
        redirect_uri: &str,
        verifier: &str,
        started: Instant,
    ) -> Result<BbUser> {
        let network = check_network(self.network)?;
        let code = code.ok_or_else(|| Error::Login {
            code: "invalid_request".into(),
            description: "the provider sent no authorization code".into(),
        })?;
        let left = self.timeout.saturating_sub(started.elapsed());
        let token = self
            .exchange(
                &code,
                redirect_uri,
                verifier,
                left.max(Duration::from_secs(1)),
            )
            .await?;
        if self.link && self.bb.session_token().is_some() {
            self.bb
                .link(&network, token.secret(), token.secret())
                .await?;
            self.bb.me().await
        } else {
            self.bb
                .login_with_token(&network, token.secret(), token.secret())
                .await
        }
    }

    /// Exchanges the code (with the PKCE verifier) for an access token.
    async fn exchange(
        &self,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
        timeout: Duration,
    ) -> Result<OAuthToken> {
        let form = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "authorization_code")
                .append_pair("code", code)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("client_id", &self.provider.client_id)
                .append_pair("code_verifier", verifier);
            if let Some(secret) = &self.provider.client_secret {
                form.append_pair("client_secret", secret.secret());
            }
            form.finish()
        };
        let url = &self.provider.token_url;
        let shown = without_query(url);
        let answer = async {
            let response = self
                .bb
                .http()
                .post(url.clone())
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "application/json")
                .timeout(timeout)
                .body(form)
                .send()
                .await?;
            let status = response.status().as_u16();
            let bytes = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, bytes))
        }
        .await
        .map_err(|e| transport_error(e, "POST", &shown, timeout))?;
        let (status, bytes) = answer;
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
        if let Some(code) = text("error") {
            return Err(Error::Login {
                description: text("error_description").unwrap_or_else(|| code.clone()),
                code,
            });
        }
        match text("access_token") {
            Some(token) if (200..300).contains(&status) && !token.is_empty() => {
                Ok(OAuthToken::new(token))
            }
            _ => Err(Error::Login {
                code: "invalid_token_response".into(),
                description: format!(
                    "the token endpoint answered HTTP {status} without an access token"
                ),
            }),
        }
    }
}
