//! The [`BaasBox`] client and its builder: base URL, app code, timeout,
//! HTTP client, and the session (kept here, managed by the session core).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use reqwest::header::HeaderValue;
use sha2::{Digest, Sha256};
use url::Url;

use crate::client::{default_http_client, own_http_client};
use crate::error::{Error, Result};
use crate::secret::SessionToken;
use crate::session::Holder;
#[cfg(feature = "keyring")]
use crate::session_store::KeyringStore;
use crate::session_store::{SessionStore, StoreKey, StoredSession};

pub(crate) const APPCODE_HEADER: &str = "x-baasbox-appcode";
pub(crate) const SESSION_HEADER: &str = "x-bb-session";
/// The default request timeout.
pub const DEFAULT_BAASBOX_TIMEOUT: Duration = Duration::from_secs(30);

struct Inner {
    client: reqwest::Client,
    base: Url,
    app_code: String,
    timeout: Duration,
    savelogin: bool,
    session: RwLock<Option<(SessionToken, String)>>,
    store: Option<Arc<dyn SessionStore>>,
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

    /// A `reqwest::Client` of your own (proxies, certificates…), built with
    /// `.redirect(reqwest::redirect::Policy::none())`: the SDK never follows
    /// redirects, and `build()` refuses a client that would
    /// (`Error::InvalidOptions` naming `http_client`).
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
            (None, true) => Some(Arc::new(KeyringStore::new()) as Arc<dyn SessionStore>),
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
            Some(c) => own_http_client(c)?,
            None => default_http_client()?,
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
            }),
        })
    }
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

    pub(crate) fn read_session(&self) -> Option<(SessionToken, String)> {
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

    pub(crate) fn url(&self, segments: &[String]) -> Result<Url> {
        let mut url = self.inner.base.clone();
        url.path_segments_mut()
            .map_err(|()| Error::invalid_option("base_url", "cannot hold a path"))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.client
    }

    pub(crate) fn app_code(&self) -> &str {
        &self.inner.app_code
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.inner.timeout
    }
}

impl Holder for BaasBox {
    fn set_session(&self, session: Option<&StoredSession>) -> Result<()> {
        *self.write_session() = session.map(|s| {
            (
                s.session_token.clone(),
                s.user_id.clone().unwrap_or_default(),
            )
        });
        Ok(())
    }

    fn savelogin(&self) -> bool {
        self.inner.savelogin
    }

    fn store(&self) -> Option<(&dyn SessionStore, StoreKey)> {
        let store = self.inner.store.as_deref()?;
        Some((store, self.store_key()))
    }
}
