//! [`WebService`]: the client. Cheap to clone; clones share options and connections.

use std::fmt;
use std::sync::{Arc, RwLock};

use reqwest::Method;

use crate::call::{ApiCall, Request};
use crate::objects::Objects;
use crate::options::{AppLevel, CallOptions, Options, WebServiceBuilder};
use crate::secret::SessionToken;
use crate::{Error, Result};

/// The CloudMine client: holds [`Options`] and makes every call.
///
/// ```no_run
/// # async fn demo() -> cloudmine::Result<()> {
/// use cloudmine::WebService;
/// let ws = WebService::builder()
///     .app_id("my-app-id")
///     .api_key("my-api-key")
///     .api_root("http://127.0.0.1:8080")
///     .build()?;
/// ws.objects().set("car", serde_json::json!({"make": "Tesla"})).await?;
/// let car = ws.objects().get(["car"]).await?;
/// assert_eq!(car.value("car").unwrap()["make"], "Tesla");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct WebService {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    current: RwLock<Arc<Snapshot>>,
    store: Option<crate::options::StoreHandle>,
    #[cfg(feature = "blocking")]
    blocking: Option<Arc<crate::blocking::Runtime>>,
}

/// Options and the headers they fix for every call, computed once per change.
pub(crate) struct Snapshot {
    pub options: Options,
    pub headers: reqwest::header::HeaderMap,
}

impl Snapshot {
    fn new(options: Options) -> Result<Self> {
        let headers = crate::call::base_headers(&options)?;
        Ok(Snapshot { options, headers })
    }
}

impl fmt::Debug for WebService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebService")
            .field("options", &self.snapshot().options)
            .finish_non_exhaustive()
    }
}

/// The HTTP client the SDK builds when none is given: rustls, no redirects.
pub(crate) fn default_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("cloudmine-rust/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| {
            Error::invalid_option(
                "http_client",
                format!("could not build the HTTP client: {e}"),
            )
        })
}

impl WebService {
    /// Starts building a client; `app_id` and `api_key` are required.
    pub fn builder() -> WebServiceBuilder {
        WebServiceBuilder::default()
    }

    /// A client for the default API root with default options.
    pub fn new(app_id: impl Into<String>, api_key: impl Into<String>) -> Result<Self> {
        Self::builder()
            .app_id(app_id)
            .api_key(api_key.into())
            .build()
    }

    pub(crate) fn from_parts(
        options: Options,
        client: reqwest::Client,
        store: Option<crate::options::StoreHandle>,
    ) -> Result<Self> {
        Ok(WebService {
            inner: Arc::new(Inner {
                client,
                current: RwLock::new(Arc::new(Snapshot::new(options)?)),
                store,
                #[cfg(feature = "blocking")]
                blocking: None,
            }),
        })
    }

    #[cfg(feature = "blocking")]
    pub(crate) fn with_blocking(mut self, runtime: Option<Arc<crate::blocking::Runtime>>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.blocking = runtime;
        }
        self
    }

    /// The runtime of a blocking client.
    #[cfg(feature = "blocking")]
    pub(crate) fn blocking_runtime(&self) -> Result<Arc<crate::blocking::Runtime>> {
        self.inner
            .blocking
            .clone()
            .ok_or_else(crate::blocking::not_blocking)
    }

    /// The session store, if one was configured.
    pub(crate) fn store(&self) -> Option<&dyn crate::SessionStore> {
        self.inner.store.as_ref().map(|h| &*h.0)
    }

    /// This client's key in the session store.
    pub fn store_key(&self) -> crate::StoreKey {
        let options = &self.snapshot().options;
        crate::StoreKey::new(options.api_root().as_str(), options.app_id())
    }

    /// Restores the session an earlier run saved, and checks it with
    /// `account/me` (see [`Users::restore`](crate::Users::restore)).
    ///
    /// ```no_run
    /// # async fn demo() -> cloudmine::Result<()> {
    /// use cloudmine::{FileStore, WebService};
    /// let ws = WebService::builder()
    ///     .app_id("my-app")
    ///     .api_key("my-api-key")
    ///     .savelogin(true)
    ///     .session_store(FileStore::new("/var/lib/myapp/session.json"))
    ///     .build()?;
    /// match ws.restore().await {
    ///     Ok(me) => println!("welcome back, {}", me.success()["__id__"]),
    ///     Err(e) if e.is_no_session() || e.is_unauthorized() => println!("please log in"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn restore(&self) -> crate::ApiCall {
        self.users().restore()
    }

    /// Makes a session the client's: its token and user id, saved to the
    /// store when `save` (and `savelogin`) says so. If saving fails the client
    /// is left logged out: a login is never half done.
    pub(crate) fn adopt_session(
        &self,
        token: SessionToken,
        user_id: Option<String>,
        expires: Option<String>,
        save: bool,
    ) -> Result<()> {
        let changes = CallOptions::new().session_token(token);
        let changes = match user_id {
            Some(id) => changes.user_id(id),
            None => changes.unset_user_id(),
        };
        self.update_options(changes)?;
        if save && let Err(e) = self.persist_session(expires) {
            self.clear_session_token();
            return Err(e);
        }
        Ok(())
    }

    /// Saves the current session when `savelogin` is on and a store is set.
    pub(crate) fn persist_session(&self, expires: Option<String>) -> Result<()> {
        let (Some(store), snapshot) = (self.store(), self.snapshot()) else {
            return Ok(());
        };
        let options = &snapshot.options;
        let Some(token) = options.session_token() else {
            return Ok(());
        };
        if !options.savelogin() {
            return Ok(());
        }
        store.save(
            &self.store_key(),
            &crate::StoredSession {
                session_token: token.clone(),
                user_id: options.user_id().map(str::to_owned),
                expires,
            },
        )
    }

    /// Forgets the saved session (local state is the caller's business).
    /// Unless `always`, only a client with `savelogin` on touches its store.
    pub(crate) fn forget_saved_session(&self, always: bool) -> Result<()> {
        if !always && !self.snapshot().options.savelogin() {
            return Ok(());
        }
        match self.store() {
            Some(store) => store.clear(&self.store_key()),
            None => Ok(()),
        }
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.inner.client
    }

    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        let guard = self
            .inner
            .current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(&guard)
    }

    /// A snapshot of the current options.
    pub fn options(&self) -> Options {
        self.snapshot().options.clone()
    }

    /// Changes options for every later call; fails (and changes nothing) if
    /// the result would be invalid.
    pub fn update_options(&self, changes: CallOptions) -> Result<()> {
        let mut guard = self
            .inner
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut next = guard.options.clone();
        next.apply(&changes.patch);
        next.validate()?;
        *guard = Arc::new(Snapshot::new(next)?);
        Ok(())
    }

    /// Sets the session token: later calls work on this user's data (see [`AppLevel`]).
    pub fn set_session_token(&self, token: impl Into<SessionToken>) -> Result<()> {
        self.update_options(CallOptions::new().session_token(token))
    }

    /// Forgets the session token and user id: later calls work on application data.
    pub fn clear_session_token(&self) {
        // Unsetting can never make options invalid.
        let _ = self.update_options(CallOptions::new().unset_session_token().unset_user_id());
    }

    /// The current session token, if a user is logged in.
    pub fn session_token(&self) -> Option<SessionToken> {
        self.snapshot().options.session_token.clone()
    }

    /// True when calls work on application data (CloudMine's `isApplicationData()`).
    pub fn is_application_data(&self) -> bool {
        self.snapshot().options.is_application_data()
    }

    /// Sets the `applevel` option (CloudMine's `useApplicationData()`).
    pub fn use_application_data(&self, level: AppLevel) {
        let _ = self.update_options(CallOptions::new().applevel(level));
    }

    /// A new random key: 32 lower-case hex characters (a UUID v4 without dashes).
    pub fn keygen() -> String {
        uuid::Uuid::new_v4().simple().to_string()
    }

    /// The objects (key/value) API.
    pub fn objects(&self) -> Objects<'_> {
        Objects::new(self)
    }

    /// The files API: streaming uploads and downloads with progress.
    pub fn files(&self) -> crate::Files<'_> {
        crate::Files::new(self)
    }

    /// A call to any endpoint, for what the SDK has no method for yet
    /// (CloudMine's `api()`). `action` is the path under
    /// `/v1/app/{appid}/[user/]`, split on `/`; each segment is percent-encoded.
    ///
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// use reqwest::Method;
    /// let out = ws.api(Method::GET, "run/my_snippet").query("x", "1").await?;
    /// # Ok(()) }
    /// ```
    pub fn api(&self, method: Method, action: &str) -> ApiCall {
        let segments: Vec<&str> = action.trim_matches('/').split('/').collect();
        let request = if action.trim_matches('/').is_empty() {
            Err(Error::invalid_argument("action", "must not be empty"))
        } else if segments
            .iter()
            .any(|s| s.is_empty() || *s == "." || *s == "..")
        {
            Err(Error::invalid_argument(
                "action",
                format!("{action:?} has an empty, '.' or '..' segment"),
            ))
        } else {
            Ok(Request::new(method, &segments))
        };
        ApiCall::new(self.clone(), request)
    }

    pub(crate) fn call(&self, request: Result<Request>) -> ApiCall {
        ApiCall::new(self.clone(), request)
    }
}
