//! [`Client`]: what every CloudMine call of one `WebService` shares — the
//! HTTP client, the current options (with the headers they fix) and the
//! session store. Resource handles and calls hold this, not the
//! `WebService`, which sits on top of them.

use std::sync::{Arc, RwLock};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::error::{Error, Result};
use crate::options::{CallOptions, Options};
use crate::secret::SessionToken;
use crate::session::Holder;
use crate::session_store::{SessionStore, StoreKey, StoredSession};

pub(crate) const HEADER_API_KEY: &str = "x-cloudmine-apikey";
pub(crate) const HEADER_AGENT: &str = "x-cloudmine-agent";
pub(crate) const HEADER_USER_TOKEN: &str = "x-cloudmine-ut";
pub(crate) const HEADER_UNIQUE_ID: &str = "x-unique-id";
pub(crate) const HEADER_SESSION: &str = "x-cloudmine-sessiontoken";

/// Cheap to clone; clones share options, session and connections.
#[derive(Clone)]
pub(crate) struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("options", &self.snapshot().options)
            .finish_non_exhaustive()
    }
}

struct Inner {
    http: reqwest::Client,
    current: RwLock<Arc<Snapshot>>,
    store: Option<Arc<dyn SessionStore>>,
    /// API root and app id never change after the build.
    store_key: StoreKey,
}

/// Options and what they fix for every call (headers, base URLs), computed
/// once per change.
pub(crate) struct Snapshot {
    pub options: Options,
    pub headers: HeaderMap,
    /// `{api_root}/v1/app/{appid}/` and `.../user/`, or why they cannot be built.
    bases: Result<[Url; 2]>,
}

impl Snapshot {
    fn new(options: Options) -> Result<Self> {
        let headers = base_headers(&options)?;
        let bases = base_url(&options, "v1", false)
            .and_then(|app| Ok([app, base_url(&options, "v1", true)?]));
        Ok(Snapshot {
            options,
            headers,
            bases,
        })
    }

    /// The v1 base URL of the application (`false`) or user (`true`) level.
    pub(crate) fn base(&self, user: bool) -> Result<&Url> {
        match &self.bases {
            Ok(bases) => Ok(&bases[usize::from(user)]),
            Err(e) => Err(e.clone()),
        }
    }
}

/// `{api_root}/{version}/app/{appid}/`, with `user/` for the user level, and
/// an empty last segment for the endpoint's segments to replace.
pub(crate) fn base_url(options: &Options, version: &str, user: bool) -> Result<Url> {
    let mut url = options.api_root().clone();
    {
        let mut path = url
            .path_segments_mut()
            .map_err(|()| Error::invalid_option("api_root", "cannot hold a path"))?;
        path.pop_if_empty()
            .extend([version, "app", options.app_id()]);
        if user {
            path.push("user");
        }
        path.push("");
    }
    Ok(url)
}

/// The HTTP client the SDK builds when none is given: rustls, no redirects.
pub(crate) fn default_http_client() -> Result<reqwest::Client> {
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

/// A client given to `http_client`, accepted only when it never follows
/// redirects: reqwest keeps the SDK's `X-CloudMine-*` and BaasBox headers
/// on a redirect to another host, so a client that follows one would hand
/// the API key and the session to whoever the server points at. reqwest
/// shows a policy other than its default (10 redirects) in the client's
/// `Debug`, the only place it can be read; the text is searched and
/// dropped, never shown (it can name a proxy's credentials).
pub(crate) fn own_http_client(client: reqwest::Client) -> Result<reqwest::Client> {
    if format!("{client:?}").contains(r#"redirect_policy: "Policy(None)""#) {
        return Ok(client);
    }
    Err(Error::invalid_option(
        "http_client",
        "must not follow redirects: build it with \
         .redirect(reqwest::redirect::Policy::none())",
    ))
}

impl Client {
    pub(crate) fn new(
        options: Options,
        http: reqwest::Client,
        store: Option<Arc<dyn SessionStore>>,
    ) -> Result<Self> {
        let store_key = StoreKey::new(options.api_root().as_str(), options.app_id());
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                current: RwLock::new(Arc::new(Snapshot::new(options)?)),
                store,
                store_key,
            }),
        })
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        let guard = self
            .inner
            .current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(&guard)
    }

    pub(crate) fn store_key(&self) -> &StoreKey {
        &self.inner.store_key
    }

    /// Changes options for every later call; fails (and changes nothing) if
    /// the result would be invalid.
    pub(crate) fn update_options(&self, changes: CallOptions) -> Result<()> {
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

    /// The current session token, if a user is logged in.
    pub(crate) fn session_token(&self) -> Option<SessionToken> {
        self.snapshot().options.session_token.clone()
    }
}

impl Holder for Client {
    fn set_session(&self, session: Option<&StoredSession>) -> Result<()> {
        let changes = match session {
            Some(s) => {
                let changes = CallOptions::new().session_token(s.session_token.clone());
                let changes = match &s.user_id {
                    Some(id) => changes.user_id(id.clone()),
                    None => changes.unset_user_id(),
                };
                login_names(changes, s)
            }
            None => CallOptions::new()
                .unset_session_token()
                .unset_user_id()
                .unset_email()
                .unset_username(),
        };
        self.update_options(changes)
    }

    fn savelogin(&self) -> bool {
        self.snapshot().options.savelogin()
    }

    fn store(&self) -> Option<(&dyn SessionStore, StoreKey)> {
        let store = self.inner.store.as_deref()?;
        Some((store, self.inner.store_key.clone()))
    }
}

/// The email and username a session's login used, or unset.
fn login_names(changes: CallOptions, s: &StoredSession) -> CallOptions {
    let changes = match &s.email {
        Some(e) => changes.email(e.clone()),
        None => changes.unset_email(),
    };
    match &s.username {
        Some(u) => changes.username(u.clone()),
        None => changes.unset_username(),
    }
}

/// The headers every call of these options carries: API key, agent, user
/// token and unique id. Computed once per options change.
pub(crate) fn base_headers(options: &Options) -> Result<HeaderMap> {
    let mut headers = HeaderMap::with_capacity(6);
    headers.insert(
        HeaderName::from_static(HEADER_API_KEY),
        secret_header(options.api_key().secret(), "api_key")?,
    );
    headers.insert(
        HeaderName::from_static(HEADER_AGENT),
        header_value(&options.agent(), "app_name")?,
    );
    headers.insert(
        HeaderName::from_static(HEADER_USER_TOKEN),
        header_value(options.user_token(), "user_token")?,
    );
    if let Some(id) = options.unique_id() {
        headers.insert(
            HeaderName::from_static(HEADER_UNIQUE_ID),
            header_value(id, "unique_id")?,
        );
    }
    Ok(headers)
}

fn header_value(value: &str, option: &'static str) -> Result<HeaderValue> {
    HeaderValue::from_str(value)
        .map_err(|_| Error::invalid_option(option, "is not a valid HTTP header value"))
}

/// The `X-CloudMine-ApiKey` value of a master-key call: the master key,
/// marked sensitive; [`Error::MasterKeyRequired`] when none is set.
pub(crate) fn master_header(options: &Options) -> Result<HeaderValue> {
    let key = options
        .master_key
        .as_ref()
        .ok_or(Error::MasterKeyRequired)?;
    secret_header(key.secret(), "master_key")
}

/// A secret option as a header value, marked sensitive.
pub(crate) fn secret_header(value: &str, option: &'static str) -> Result<HeaderValue> {
    crate::transport::secret_header(value)
        .ok_or_else(|| Error::invalid_option(option, "is not a valid HTTP header value"))
}
