//! A client for BaasBox's user and social-login API (feature `baasbox`, on by
//! default).
//!
//! BaasBox never shipped a client for this API. [`BaasBox`] logs in with a
//! password or a social network's token, links and unlinks networks, lists
//! them, and runs the browser flow BaasBox lacked
//! ([`login_social`](BaasBox::login_social): OAuth 2 authorization code with
//! PKCE and `state`, through the same loopback listener and opener as
//! CloudMine's social login). Every call is awaitable and an
//! [`EventEmitter`](crate::EventEmitter) (`success`, status events, `error`,
//! `complete`), and the session is kept like [`WebService`](crate::WebService)'s:
//! redacted, and saved in a [`SessionStore`] with `savelogin`.
//!
//! ```no_run
//! # async fn demo() -> cloudmine::Result<()> {
//! use cloudmine::baasbox::{BaasBox, OAuthProvider};
//! let bb = BaasBox::builder()
//!     .base_url("http://127.0.0.1:9000")
//!     .app_code("1234567890")
//!     .build()?;
//! let me = bb
//!     .login_social("google", OAuthProvider::google("my-client-id.apps.googleusercontent.com"))
//!     .await?;
//! println!("signed in as {}", me.username);
//! for account in bb.social_logins().await? {
//!     println!("linked: {} ({})", account.network, account.id);
//! }
//! # Ok(()) }
//! ```

mod oauth;

use std::collections::BTreeMap;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

pub use oauth::{BaasBoxLoginCall, OAuthProvider};

use crate::call::{Completion, transport_error};
use crate::envelope::{Code, Processed, parse_body};
use crate::events::Handlers;
use crate::secret::{OAuthSecret, OAuthToken, Password, SessionToken};
use crate::session_store::{SessionStore, StoreKey, StoredSession};
use crate::{Error, Result};

const APPCODE_HEADER: &str = "x-baasbox-appcode";
const SESSION_HEADER: &str = "x-bb-session";
/// The default request timeout.
pub const DEFAULT_BAASBOX_TIMEOUT: Duration = Duration::from_secs(30);

/// A BaasBox user, from a login or `GET /me`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BbUser {
    /// The user name (a generated UUID for users a social login created).
    pub username: String,
    /// The user's id.
    pub id: Option<String>,
    /// True when BaasBox generated the user name.
    pub generated_username: bool,
    /// Role names (`registered`…).
    pub roles: Vec<String>,
    /// Networks linked, from `visibleByRegisteredUsers._social`.
    pub networks: Vec<String>,
    /// The whole profile as BaasBox sent it (a session token in it is
    /// `"[redacted]"`: the client holds it).
    pub raw: Value,
}

impl BbUser {
    fn from_data(data: &Value) -> Result<BbUser> {
        let username = data
            .pointer("/user/name")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::decode("the BaasBox user", "no user.name"))?
            .to_owned();
        let roles = data
            .pointer("/user/roles")
            .and_then(Value::as_array)
            .map(|roles| {
                roles
                    .iter()
                    .filter_map(|r| r.get("name").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let networks = data
            .pointer("/visibleByRegisteredUsers/_social")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        Ok(BbUser {
            username,
            id: data.get("id").and_then(Value::as_str).map(str::to_owned),
            generated_username: data
                .get("generated_username")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            roles,
            networks,
            raw: data.clone(),
        })
    }
}

/// A linked social network, from [`BaasBox::social_logins`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SocialAccount {
    /// The network (`from`).
    pub network: String,
    /// The user's name at the network.
    pub username: Option<String>,
    /// The user's id at the network.
    pub id: String,
    /// The token stored at signup or link.
    pub token: OAuthToken,
    /// The secret stored at signup or link.
    pub secret: OAuthSecret,
    /// The user's email at the network.
    pub email: Option<String>,
    /// The user's display name at the network.
    pub name: Option<String>,
    /// The avatar URL.
    pub avatar_url: Option<String>,
    /// The personal page URL.
    pub personal_url: Option<String>,
}

impl SocialAccount {
    fn list_from(data: &Value) -> Result<Vec<SocialAccount>> {
        let Some(items) = data.as_array() else {
            return Err(Error::decode("the linked networks", "data is not a list"));
        };
        items
            .iter()
            .map(|item| {
                let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
                let extra = item.get("additionalData");
                let field = |name: &str| text(extra.and_then(|e| e.get(name)));
                Ok(SocialAccount {
                    network: text(item.get("from"))
                        .ok_or_else(|| Error::decode("a linked network", "no \"from\""))?,
                    username: text(item.get("username")),
                    id: text(item.get("id"))
                        .ok_or_else(|| Error::decode("a linked network", "no \"id\""))?,
                    token: OAuthToken::new(text(item.get("token")).unwrap_or_default()),
                    secret: OAuthSecret::new(text(item.get("secret")).unwrap_or_default()),
                    email: field("email"),
                    name: field("name"),
                    avatar_url: field("avatarUrl").or_else(|| field("avatar")),
                    personal_url: field("personal_url").or_else(|| field("personalUrl")),
                })
            })
            .collect()
    }
}

struct Inner {
    client: reqwest::Client,
    base: Url,
    app_code: String,
    timeout: Duration,
    savelogin: bool,
    session: RwLock<Option<(SessionToken, String)>>,
    store: Option<Arc<dyn SessionStore>>,
    #[cfg(feature = "blocking")]
    blocking: Option<Arc<crate::blocking::Runtime>>,
}

/// A BaasBox client: base URL and app code, plus the session once logged in.
/// Cheap to clone (clones share the session).
#[derive(Clone)]
pub struct BaasBox {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for BaasBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BaasBox")
            .field("base_url", &self.inner.base.as_str())
            .field("app_code", &"[redacted]")
            .field("logged_in", &self.session_token().is_some())
            .finish_non_exhaustive()
    }
}

/// Builds a [`BaasBox`] client.
#[derive(Default)]
pub struct BaasBoxBuilder {
    base_url: Option<String>,
    app_code: Option<String>,
    timeout: Option<Duration>,
    savelogin: bool,
    store: Option<Arc<dyn SessionStore>>,
    client: Option<reqwest::Client>,
    #[cfg(feature = "blocking")]
    pub(crate) blocking: Option<Arc<crate::blocking::Runtime>>,
}

impl std::fmt::Debug for BaasBoxBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BaasBoxBuilder")
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("savelogin", &self.savelogin)
            .finish_non_exhaustive()
    }
}

impl BaasBoxBuilder {
    /// The server's base URL (with the prefix BaasBox is mounted under).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The app code (`X-BAASBOX-APPCODE`).
    pub fn app_code(mut self, code: impl Into<String>) -> Self {
        self.app_code = Some(code.into());
        self
    }

    /// The request timeout (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Save the session after every login, and clear it on logout (default
    /// off). Needs a [`session_store`](Self::session_store), or the
    /// `keyring` feature for the OS keychain.
    pub fn savelogin(mut self, on: bool) -> Self {
        self.savelogin = on;
        self
    }

    /// Where sessions are saved.
    pub fn session_store(mut self, store: impl SessionStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// A `reqwest::Client` of your own (proxies, certificates…). Redirects
    /// should stay off: the SDK's own client never follows them.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<BaasBox> {
        let base = self
            .base_url
            .ok_or_else(|| Error::invalid_option("base_url", "is required"))?;
        let base = Url::parse(&base).map_err(|e| {
            Error::invalid_option("base_url", format!("{base:?} is not a URL: {e}"))
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(Error::invalid_option(
                "base_url",
                "must be an http or https URL",
            ));
        }
        let app_code = self
            .app_code
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Error::invalid_option("app_code", "is required"))?;
        HeaderValue::from_str(&app_code)
            .map_err(|_| Error::invalid_option("app_code", "is not a valid header value"))?;
        let timeout = self.timeout.unwrap_or(DEFAULT_BAASBOX_TIMEOUT);
        if timeout.is_zero() {
            return Err(Error::invalid_option("timeout", "must be longer than zero"));
        }
        let store = match (self.store, self.savelogin) {
            (Some(store), _) => Some(store),
            #[cfg(feature = "keyring")]
            (None, true) => Some(Arc::new(crate::KeyringStore::new()) as Arc<dyn SessionStore>),
            #[cfg(not(feature = "keyring"))]
            (None, true) => {
                return Err(Error::invalid_option(
                    "savelogin",
                    "needs a session_store (the keyring feature is off)",
                ));
            }
            (None, false) => None,
        };
        let client = match self.client {
            Some(c) => c,
            None => crate::web_service::default_client()?,
        };
        Ok(BaasBox {
            inner: Arc::new(Inner {
                client,
                base,
                app_code,
                timeout,
                savelogin: self.savelogin,
                session: RwLock::new(None),
                store,
                #[cfg(feature = "blocking")]
                blocking: self.blocking,
            }),
        })
    }
}

/// What a request does to the client's session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hook {
    /// A login: keep the session from the answer.
    StoreSession,
    /// Logout: forget the session before sending.
    ClearSessionFirst,
    /// `restore()`: load the saved session first; forget it on a 401.
    Restore,
}

#[derive(Debug, Clone)]
struct BbRequest {
    method: Method,
    segments: Vec<String>,
    body: Option<Value>,
    session: bool,
    hook: Option<Hook>,
    /// `GET /social`: 404 means "nothing linked", an empty list.
    empty_on_404: bool,
}

impl BbRequest {
    fn new(method: Method, segments: &[&str]) -> Self {
        BbRequest {
            method,
            segments: segments.iter().map(|s| (*s).to_owned()).collect(),
            body: None,
            session: false,
            hook: None,
            empty_on_404: false,
        }
    }

    fn with_session(mut self) -> Self {
        self.session = true;
        self
    }
}

fn check_network(network: &str) -> Result<String> {
    let network = network.trim().to_ascii_lowercase();
    if network.is_empty()
        || !network
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(Error::invalid_argument(
            "network",
            format!("{network:?} is not a network name"),
        ));
    }
    Ok(network)
}

fn token_body(token: &OAuthToken, secret: &OAuthSecret) -> Result<Value> {
    if token.secret().is_empty() || secret.secret().is_empty() {
        return Err(Error::invalid_argument(
            "oauth_token",
            "the token and the secret must not be empty (OAuth 2: pass the access token as both)",
        ));
    }
    Ok(json!({ "oauth_token": token.secret(), "oauth_secret": secret.secret() }))
}

impl BaasBox {
    /// Starts building a client; `base_url` and `app_code` are required.
    pub fn builder() -> BaasBoxBuilder {
        BaasBoxBuilder::default()
    }

    /// The session token, once logged in.
    pub fn session_token(&self) -> Option<SessionToken> {
        self.read_session().map(|(t, _)| t)
    }

    /// The logged-in user's name.
    pub fn username(&self) -> Option<String> {
        self.read_session().map(|(_, u)| u)
    }

    /// Uses a session token obtained elsewhere.
    pub fn set_session_token(&self, token: impl Into<SessionToken>, username: impl Into<String>) {
        *self.write_session() = Some((token.into(), username.into()));
    }

    /// Forgets the session locally (the server keeps it until it expires;
    /// [`logout`](Self::logout) ends it there too).
    pub fn clear_session(&self) {
        *self.write_session() = None;
    }

    fn read_session(&self) -> Option<(SessionToken, String)> {
        self.inner
            .session
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn write_session(&self) -> std::sync::RwLockWriteGuard<'_, Option<(SessionToken, String)>> {
        self.inner
            .session
            .write()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The key this client's session is saved under: the base URL and a
    /// hash of the app code (the code itself never names a keychain entry).
    pub fn store_key(&self) -> StoreKey {
        let digest = Sha256::digest(self.inner.app_code.as_bytes());
        let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        StoreKey::new(self.inner.base.as_str(), format!("baasbox-{hash}"))
    }

    #[cfg(feature = "blocking")]
    pub(crate) fn blocking_runtime(&self) -> Result<Arc<crate::blocking::Runtime>> {
        self.inner
            .blocking
            .clone()
            .ok_or_else(crate::blocking::not_blocking)
    }

    fn call<T>(&self, request: Result<BbRequest>, decode: fn(&Value) -> Result<T>) -> BbCall<T> {
        BbCall {
            bb: self.clone(),
            request,
            handlers: Handlers::new(),
            decode,
            _out: PhantomData,
        }
    }

    /// A login-like request: user name and password (plus `extra` fields)
    /// to `path`, keeping the session from the answer.
    fn credentials(
        &self,
        path: &str,
        username: &str,
        password: Password,
        extra: &[(&str, &str)],
    ) -> BbCall<BbUser> {
        let request = if username.is_empty() || password.secret().is_empty() {
            Err(Error::invalid_argument(
                "credentials",
                "the user name and password must not be empty",
            ))
        } else {
            let mut body = json!({ "username": username, "password": password.secret() });
            for (name, value) in extra {
                body[*name] = Value::from(*value);
            }
            let mut r = BbRequest::new(Method::POST, &[path]);
            r.body = Some(body);
            r.hook = Some(Hook::StoreSession);
            Ok(r)
        };
        self.call(request, BbUser::from_data)
    }

    /// Logs in with a user name and password (`POST /login`) and keeps the
    /// session.
    pub fn login(&self, username: &str, password: impl Into<Password>) -> BbCall<BbUser> {
        let app_code = self.inner.app_code.clone();
        self.credentials(
            "login",
            username,
            password.into(),
            &[("appcode", &app_code)],
        )
    }

    /// Creates a user with a password (`POST /user`) and keeps its session.
    pub fn signup(&self, username: &str, password: impl Into<Password>) -> BbCall<BbUser> {
        self.credentials("user", username, password.into(), &[])
    }

    /// Logs out (`POST /logout`): the session is forgotten locally and in
    /// the store first, so it is gone even when the server call fails.
    pub fn logout(&self) -> BbCall<()> {
        let mut r = BbRequest::new(Method::POST, &["logout"]).with_session();
        r.hook = Some(Hook::ClearSessionFirst);
        self.call(Ok(r), |_| Ok(()))
    }

    /// The logged-in user (`GET /me`).
    pub fn me(&self) -> BbCall<BbUser> {
        let r = BbRequest::new(Method::GET, &["me"]).with_session();
        self.call(Ok(r), BbUser::from_data)
    }

    /// Loads the saved session and checks it with `GET /me`; a session the
    /// server no longer knows (401) is forgotten, locally and in the store.
    pub fn restore(&self) -> BbCall<BbUser> {
        let mut r = BbRequest::new(Method::GET, &["me"]).with_session();
        r.hook = Some(Hook::Restore);
        self.call(Ok(r), BbUser::from_data)
    }

    /// The networks linked to the logged-in user (`GET /social`). Nothing
    /// linked (BaasBox's 404) is an empty list.
    pub fn social_logins(&self) -> BbCall<Vec<SocialAccount>> {
        let mut r = BbRequest::new(Method::GET, &["social"]).with_session();
        r.empty_on_404 = true;
        self.call(Ok(r), SocialAccount::list_from)
    }

    /// Logs in with a token from a social network (`POST /social/{network}`);
    /// the first time creates a user with a generated name. For OAuth 2
    /// networks pass the access token as both `token` and `secret`.
    pub fn login_with_token(
        &self,
        network: &str,
        token: impl Into<OAuthToken>,
        secret: impl Into<OAuthSecret>,
    ) -> BbCall<BbUser> {
        let (token, secret) = (token.into(), secret.into());
        let request = check_network(network).and_then(|network| {
            let mut r = BbRequest::new(Method::POST, &["social", &network]);
            r.body = Some(token_body(&token, &secret)?);
            r.hook = Some(Hook::StoreSession);
            Ok(r)
        });
        self.call(request, BbUser::from_data)
    }

    /// Links a network to the logged-in user (`PUT /social/{network}`). An
    /// identity that belongs to another user is a 409.
    pub fn link(
        &self,
        network: &str,
        token: impl Into<OAuthToken>,
        secret: impl Into<OAuthSecret>,
    ) -> BbCall<()> {
        let (token, secret) = (token.into(), secret.into());
        let request = check_network(network).and_then(|network| {
            let mut r = BbRequest::new(Method::PUT, &["social", &network]).with_session();
            r.body = Some(token_body(&token, &secret)?);
            Ok(r)
        });
        self.call(request, |_| Ok(()))
    }

    /// Unlinks a network (`DELETE /social/{network}`): 404 when it is not
    /// linked, 409 when it is the user's only way to log in.
    pub fn unlink(&self, network: &str) -> BbCall<()> {
        let request = check_network(network)
            .map(|network| BbRequest::new(Method::DELETE, &["social", &network]).with_session());
        self.call(request, |_| Ok(()))
    }

    fn url(&self, segments: &[String]) -> Result<Url> {
        let mut url = self.inner.base.clone();
        url.path_segments_mut()
            .map_err(|()| Error::invalid_option("base_url", "cannot hold a path"))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    fn adopt(&self, token: SessionToken, username: String) -> Result<()> {
        if self.inner.savelogin
            && let Some(store) = &self.inner.store
        {
            store.save(
                &self.store_key(),
                &StoredSession {
                    session_token: token.clone(),
                    user_id: Some(username.clone()),
                    expires: None,
                },
            )?;
        }
        *self.write_session() = Some((token, username));
        Ok(())
    }

    /// Forgets the session locally, and in the store when logins are saved
    /// there (or `always`, for a saved session `restore()` found dead).
    fn forget(&self, always: bool) -> Result<()> {
        self.clear_session();
        match &self.inner.store {
            Some(store) if self.inner.savelogin || always => store.clear(&self.store_key()),
            _ => Ok(()),
        }
    }
}

/// One BaasBox call: awaitable to its typed result, and an
/// [`EventEmitter`](crate::EventEmitter). Events: the status-named and
/// numeric events, `success` (with BaasBox's `data`) or `error`, and
/// `complete` last, exactly once, also when the call is dropped mid-flight.
#[must_use = "a call does nothing until it is awaited"]
pub struct BbCall<T> {
    bb: BaasBox,
    request: Result<BbRequest>,
    handlers: Handlers,
    decode: fn(&Value) -> Result<T>,
    _out: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for BbCall<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("BbCall");
        match &self.request {
            Ok(r) => d
                .field("method", &r.method)
                .field("path", &r.segments.join("/")),
            Err(e) => d.field("error", e),
        };
        d.finish_non_exhaustive()
    }
}

crate::events::impl_event_emitter!(impl<T> BbCall<T>, handlers);

impl<T> BbCall<T> {
    #[cfg(feature = "blocking")]
    pub(crate) fn runtime(&self) -> Result<Arc<crate::blocking::Runtime>> {
        self.bb.blocking_runtime()
    }
}

impl<T: Send + 'static> IntoFuture for BbCall<T> {
    type Output = Result<T>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<T>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        let BbCall {
            bb,
            request,
            handlers,
            decode,
            ..
        } = self;
        let mut completion = Completion::new(handlers);
        Box::pin(async move {
            let processed = match request {
                Ok(request) => execute(&bb, request, &mut completion).await,
                Err(e) => Processed::from_failure(e),
            };
            // Decoded once, before the events: a body that does not decode
            // fires `error`, not `success`.
            let (processed, value) = match &processed.success {
                Some(data) if processed.failure.is_none() => match decode(data) {
                    Ok(value) => (processed, Some(value)),
                    Err(e) => (Processed::from_failure(e), None),
                },
                _ => (processed, None),
            };
            let response = completion.finish(processed)?;
            match value {
                Some(value) => Ok(value),
                None => decode(response.success()),
            }
        })
    }
}

/// A non-2xx answer as the call's failure: BaasBox's `message` is the
/// error's message, and the whole body is kept.
fn failure(status: u16, body: Value, method: &str, url: &str) -> Processed {
    let message = body
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| body.as_str().map(str::to_owned));
    let error = Error::Status {
        status,
        messages: message.into_iter().collect(),
        body: Box::new(body.clone()),
        method: method.to_owned(),
        url: url.to_owned(),
    };
    Processed {
        status: Some(status),
        errors: BTreeMap::from([(Code::Http(status), body)]),
        failure: Some(error),
        ..Processed::default()
    }
}

async fn execute(bb: &BaasBox, request: BbRequest, completion: &mut Completion) -> Processed {
    let url = match bb.url(&request.segments) {
        Ok(u) => u,
        Err(e) => return Processed::from_failure(e),
    };
    completion.info.method = request.method.to_string();
    completion.info.url = url.to_string();
    if request.hook == Some(Hook::Restore) {
        let loaded = bb
            .inner
            .store
            .as_ref()
            .ok_or_else(|| {
                Error::invalid_option("session_store", "restore() needs a session store")
            })
            .and_then(|store| store.load(&bb.store_key()))
            .and_then(|saved| saved.ok_or(Error::NoSession));
        match loaded {
            Ok(saved) => {
                *bb.write_session() =
                    Some((saved.session_token, saved.user_id.unwrap_or_default()));
            }
            Err(e) => return Processed::from_failure(e),
        }
    }
    let session = bb.read_session();
    if request.hook == Some(Hook::ClearSessionFirst)
        && let Err(e) = bb.forget(false)
    {
        return Processed::from_failure(e);
    }
    let mut builder = bb
        .inner
        .client
        .request(request.method.clone(), url)
        .timeout(bb.inner.timeout);
    let mut code =
        HeaderValue::from_str(&bb.inner.app_code).unwrap_or(HeaderValue::from_static(""));
    code.set_sensitive(true);
    builder = builder.header(HeaderName::from_static(APPCODE_HEADER), code);
    if request.session {
        let Some((token, _)) = &session else {
            return Processed::from_failure(Error::NoSession);
        };
        match HeaderValue::from_str(token.secret()) {
            Ok(mut v) => {
                v.set_sensitive(true);
                builder = builder.header(HeaderName::from_static(SESSION_HEADER), v);
            }
            Err(_) => {
                return Processed::from_failure(Error::invalid_option(
                    "session_token",
                    "is not a valid header value",
                ));
            }
        }
    }
    if let Some(body) = &request.body {
        builder = builder.json(body);
    }
    let started = Instant::now();
    let (method, shown) = (completion.info.method.clone(), completion.info.url.clone());
    let answer = async {
        let response = builder.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?;
        Ok::<_, reqwest::Error>((status, headers, bytes))
    }
    .await;
    completion.info.elapsed = started.elapsed();
    let (status, headers, bytes) = match answer {
        Ok(a) => a,
        Err(e) => {
            return Processed::from_failure(transport_error(e, &method, &shown, bb.inner.timeout));
        }
    };
    let body = parse_body(&bytes);
    let session_header = headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    completion.info.headers = headers;
    completion.info.headers.remove(SESSION_HEADER);
    if !(200..300).contains(&status) {
        if status == 404 && request.empty_on_404 {
            return Processed {
                status: Some(200),
                success: Some(Value::Array(Vec::new())),
                ..Processed::default()
            };
        }
        if status == 401 && session.is_some() && request.session {
            // The server no longer knows the session: forget it.
            let _ = bb.forget(request.hook == Some(Hook::Restore));
        }
        return failure(status, body, &method, &shown);
    }
    let mut data = body.get("data").cloned().unwrap_or(Value::Null);
    if request.hook == Some(Hook::StoreSession) {
        let token = session_header.or_else(|| {
            data.get("X-BB-SESSION")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        let username = data
            .pointer("/user/name")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let (Some(token), Some(username)) = (token, username) else {
            return Processed::from_failure(Error::decode(
                "the BaasBox login answer",
                "no X-BB-SESSION or user name",
            ));
        };
        if let Err(e) = bb.adopt(SessionToken::new(token), username) {
            return Processed::from_failure(e);
        }
        if let Some(slot) = data.get_mut("X-BB-SESSION") {
            *slot = Value::from("[redacted]");
        }
    }
    Processed {
        status: Some(status),
        success: Some(data),
        ..Processed::default()
    }
}
