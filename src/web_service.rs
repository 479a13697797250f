//! [`WebService`]: the client, and the one place every API is reached from:
//! [`objects`](WebService::objects), [`files`](WebService::files),
//! [`users`](WebService::users), [`acls`](WebService::acls),
//! [`login_social`](WebService::login_social)
//! and [`api`](WebService::api). Cheap to clone; clones share options,
//! session and connections.

use std::fmt;

use reqwest::Method;

use crate::acl::Acls;
use crate::builder::WebServiceBuilder;
use crate::call::{ApiCall, Request};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::files::Files;
use crate::objects::{Objects, new_key};
use crate::options::{AppLevel, CallOptions, Options};
use crate::push::Notification;
use crate::run::Run;
use crate::search_es::EsQuery;
use crate::secret::SessionToken;
use crate::session_store::StoreKey;
use crate::social::{SocialLoginCall, SocialNetwork, SocialQuery};
use crate::users::Users;

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
    client: Client,
}

impl fmt::Debug for WebService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebService")
            .field("options", &self.client.snapshot().options)
            .finish_non_exhaustive()
    }
}

impl WebServiceBuilder {
    /// Checks the options and builds the [`WebService`].
    ///
    /// Fails with [`Error::InvalidOptions`] for a missing app id or API key, an
    /// API root that is not an `http`/`https` URL, or any invalid option.
    pub fn build(self) -> Result<WebService> {
        Ok(WebService {
            client: self.into_client()?,
        })
    }
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

    /// The objects (key/value) API.
    pub fn objects(&self) -> Objects<'_> {
        Objects::new(&self.client)
    }

    /// The ACL API: share the logged-in user's objects with other users.
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// let mine = ws.acls().all().await?;
    /// # Ok(()) }
    /// ```
    pub fn acls(&self) -> Acls<'_> {
        Acls::new(&self.client)
    }

    /// The files API: streaming uploads and downloads with progress.
    pub fn files(&self) -> Files<'_> {
        Files::new(&self.client)
    }

    /// The users API: accounts, password logins, profiles.
    pub fn users(&self) -> Users<'_> {
        Users::new(&self.client)
    }

    /// Logs in with a social network through the system browser.
    ///
    /// The browser opens the server's login page; after the user signs in
    /// with the provider, the server sends the browser back to a listener
    /// on `127.0.0.1`, the SDK fetches the session (proving with PKCE that it
    /// started this login), and later calls work on that user's data. When a
    /// user is logged in already, the network is linked to that user unless
    /// [`link(false)`](SocialLoginCall::link) is set.
    pub fn login_social(&self, network: SocialNetwork) -> SocialLoginCall {
        SocialLoginCall::new(&self.client, network)
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
        ApiCall::new(&self.client, request)
    }

    /// Runs the server-side snippet `name` (CloudMine's `run`): see [`Run`].
    ///
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// let answer = ws.run("greet").param("name", String::from("Ada")).get().await?;
    /// let text: String = answer.result_as()?;
    /// # Ok(()) }
    /// ```
    pub fn run(&self, name: impl Into<String>) -> Run<'_> {
        Run::new(&self.client, name)
    }

    /// Sends a push notification (CloudMine's `pushNotification`, `POST
    /// [user/]push`; the API key needs push permission). A blank text or a
    /// payload that is not a JSON object fails before sending.
    ///
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// use cloudmine::Notification;
    /// ws.push(Notification::new("Hello world!").channel("news")).await?;
    /// # Ok(()) }
    /// ```
    pub fn push(&self, notification: Notification) -> ApiCall {
        ApiCall::new(&self.client, notification.request())
    }

    /// Restores the session an earlier run saved, and checks it with
    /// `account/me` (see [`Users::restore`]).
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
    pub fn restore(&self) -> ApiCall {
        self.users().restore()
    }

    /// This client's key in the session store.
    pub fn store_key(&self) -> StoreKey {
        self.client.store_key().clone()
    }

    /// A snapshot of the current options.
    pub fn options(&self) -> Options {
        self.client.snapshot().options.clone()
    }

    /// Changes options for every later call; fails (and changes nothing) if
    /// the result would be invalid.
    pub fn update_options(&self, changes: CallOptions) -> Result<()> {
        self.client.update_options(changes)
    }

    /// Sets the session token: later calls work on this user's data (see [`AppLevel`]).
    pub fn set_session_token(&self, token: impl Into<SessionToken>) -> Result<()> {
        self.update_options(CallOptions::new().session_token(token))
    }

    /// Forgets the session token and user id: later calls work on application data.
    pub fn clear_session_token(&self) {
        crate::session::forget_local(&self.client);
    }

    /// The current session token, if a user is logged in.
    pub fn session_token(&self) -> Option<SessionToken> {
        self.client.session_token()
    }

    /// True when calls work on application data (CloudMine's `isApplicationData()`).
    pub fn is_application_data(&self) -> bool {
        self.client.snapshot().options.is_application_data()
    }

    /// Sets the `applevel` option (CloudMine's `useApplicationData()`).
    pub fn use_application_data(&self, level: AppLevel) {
        let _ = self.update_options(CallOptions::new().applevel(level));
    }

    /// An Elasticsearch query on the objects of `class` (the JS SDK's
    /// `searchES`): `POST v2/app/{appid}/[user/]class/{class}/elasticsearch`
    /// with the query as the body. The path is always `v2`, whatever the
    /// `version` option; the level follows the usual rule (user data when a
    /// session is set). An empty class, or one with `/`, fails before
    /// sending.
    ///
    /// CloudMine served this only for apps with Elasticsearch enabled; the
    /// emulator has no Elasticsearch and answers 501 (an
    /// [`Error::Status`] whose message points to the query language of
    /// [`Objects::search`]).
    ///
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// let hits = ws
    ///     .search_es("person", serde_json::json!({"query": {"match": {"name": "ada"}}}))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn search_es(&self, class: &str, query: impl Into<EsQuery>) -> ApiCall {
        ApiCall::new(&self.client, crate::search_es::request(class, query.into()))
    }

    /// A social graph query (the JS SDK's `socialQuery`): the server calls
    /// `endpoint` (it may hold `/`, e.g. `statuses/update.json`) of
    /// `network`'s API with the logged-in user's provider token, and passes
    /// the answer back; see [`SocialQuery`]. Needs a logged-in user
    /// ([`Error::NotLoggedIn`] before sending otherwise).
    ///
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// use cloudmine::SocialNetwork;
    /// let friends = ws.social_query(SocialNetwork::Github, "user/followers").await?;
    /// println!("{}", friends.text()?);
    /// # Ok(()) }
    /// ```
    pub fn social_query(&self, network: SocialNetwork, endpoint: &str) -> SocialQuery {
        SocialQuery::new(&self.client, network, endpoint)
    }

    /// A new random key: 32 lower-case hex characters (a UUID v4 without dashes).
    pub fn keygen() -> String {
        new_key()
    }
}

#[cfg(test)]
mod tests {
    use super::WebService;

    #[test]
    fn keygen_is_32_lower_hex_and_fresh() {
        let a = WebService::keygen();
        let b = WebService::keygen();
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
            "{a}"
        );
        assert_ne!(a, b);
    }
}
