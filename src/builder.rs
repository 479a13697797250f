//! [`WebServiceBuilder`]: checks the settings of a new client.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use url::Url;

use crate::api_version::ApiVersion;
use crate::client::{Client, default_http_client, own_http_client};
use crate::error::{Error, Result};
use crate::options::{
    AppLevel, DEFAULT_API_ROOT, DEFAULT_TIMEOUT, Options, Patch, Setting, patch_setters, setter_arg,
};
use crate::retry_policy::RetryPolicy;
use crate::secret::{ApiKey, MasterKey, SessionToken};
use crate::session_store::SessionStore;

/// Builds a [`WebService`](crate::WebService); see
/// [`WebService::builder`](crate::WebService::builder).
#[derive(Debug, Default)]
pub struct WebServiceBuilder {
    pub(crate) app_id: Option<String>,
    pub(crate) api_root: Option<String>,
    pub(crate) http_client: Option<reqwest::Client>,
    pub(crate) store: Option<StoreHandle>,
    pub(crate) patch: Patch,
}

/// A session store, shown by name in `Debug`.
#[derive(Clone)]
pub(crate) struct StoreHandle(pub(crate) Arc<dyn SessionStore>);

impl std::fmt::Debug for StoreHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionStore({})", self.0.name())
    }
}

impl WebServiceBuilder {
    /// The application id (required).
    pub fn app_id(mut self, app_id: impl Into<String>) -> Self {
        self.app_id = Some(app_id.into());
        self
    }

    /// The API root (default [`DEFAULT_API_ROOT`]); `http://127.0.0.1:PORT` for
    /// the emulator. A path prefix is kept.
    pub fn api_root(mut self, api_root: impl Into<String>) -> Self {
        self.api_root = Some(api_root.into());
        self
    }

    /// Uses this `reqwest::Client` instead of building one (to share a
    /// connection pool or proxy settings). Build it with
    /// `.redirect(reqwest::redirect::Policy::none())`: the SDK never follows
    /// redirects with credentials, and `build()` refuses a client that would
    /// (`Error::InvalidOptions` naming `http_client`).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    patch_setters!();

    /// Where logins are kept between runs (see [`SessionStore`](crate::SessionStore)):
    /// with `savelogin(true)` every successful login is saved there, logout
    /// clears it, and [`WebService::restore`](crate::WebService::restore) loads it.
    /// Default: the OS keychain (`KeyringStore`) with the `keyring` feature,
    /// none without it.
    pub fn session_store(mut self, store: impl SessionStore) -> Self {
        self.store = Some(StoreHandle(Arc::new(store)));
        self
    }

    /// The shared core of the client these settings describe.
    pub(crate) fn into_client(self) -> Result<Client> {
        let options = self.options()?;
        let http = match self.http_client {
            Some(client) => own_http_client(client)?,
            None => default_http_client()?,
        };
        #[cfg(feature = "keyring")]
        let store = self.store.map(|h| h.0).or_else(|| {
            Some(Arc::new(crate::session_store::KeyringStore::new()) as Arc<dyn SessionStore>)
        });
        #[cfg(not(feature = "keyring"))]
        let store = self.store.map(|h| h.0);
        Client::new(options, http, store)
    }

    pub(crate) fn options(&self) -> Result<Options> {
        let app_id = self
            .app_id
            .clone()
            .ok_or_else(|| Error::invalid_option("app_id", "is required: call .app_id(..)"))?;
        let api_key =
            self.patch.api_key.clone().ok_or_else(|| {
                Error::invalid_option("api_key", "is required: call .api_key(..)")
            })?;
        let api_root = parse_api_root(self.api_root.as_deref().unwrap_or(DEFAULT_API_ROOT))?;
        let mut options = Options {
            app_id,
            api_key,
            api_root,
            user_token: crate::random_id::new_id(),
            applevel: AppLevel::Auto,
            sort: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            savelogin: false,
            session_token: None,
            master_key: None,
            user_id: None,
            email: None,
            username: None,
            unique_id: None,
            app_name: None,
            app_version: None,
            limit: None,
            skip: None,
            count: None,
            snippet: None,
            params: None,
            dontwait: None,
            resultsonly: None,
            shared: None,
            shared_only: None,
            extended_responses: None,
            distance: None,
            units: None,
            version: None,
            retry: None,
            max_answer_bytes: None,
        };
        options.apply(&self.patch);
        options.validate()?;
        Ok(options)
    }
}

fn parse_api_root(raw: &str) -> Result<Url> {
    let url = Url::parse(raw)
        .map_err(|e| Error::invalid_option("api_root", format!("{raw:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::invalid_option(
            "api_root",
            format!(
                "scheme {:?} is not supported; use http or https",
                url.scheme()
            ),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid_option("api_root", "has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid_option(
            "api_root",
            "must not contain credentials; use api_key",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid_option(
            "api_root",
            "must not have a query or fragment",
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::CallOptions;

    fn builder() -> WebServiceBuilder {
        WebServiceBuilder::default().app_id("app").api_key("key")
    }

    #[test]
    fn agent_is_sanitized() {
        let o = builder()
            .app_name("My App!")
            .app_version("1.0 beta")
            .options()
            .unwrap();
        assert_eq!(
            o.agent(),
            format!("Rust/{} My_App_/1.0_beta", env!("CARGO_PKG_VERSION"))
        );
        let o = builder().app_version("2").options().unwrap();
        assert_eq!(o.agent(), format!("Rust/{}", env!("CARGO_PKG_VERSION")));
    }

    #[test]
    fn patch_sets_and_unsets() {
        let mut o = builder().limit(5).units("km").options().unwrap();
        let call = CallOptions::new()
            .unset_limit()
            .skip(3u64)
            .sort(["a", "b:desc"]);
        assert!(!call.patch.is_empty());
        assert!(CallOptions::new().patch.is_empty());
        o.apply(&call.patch);
        assert_eq!(o.limit(), None);
        assert_eq!(o.skip(), Some(3));
        assert_eq!(o.units(), Some("km"));
        let mut params = Vec::new();
        o.server_params(&mut params);
        assert_eq!(
            params,
            [
                ("skip", "3".to_string()),
                ("sort", "a".into()),
                ("sort", "b:desc".into()),
                ("units", "km".into())
            ]
        );
    }

    #[test]
    fn validation_errors() {
        let e = WebServiceBuilder::default()
            .api_key("k")
            .options()
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidOptions {
                    option: "app_id",
                    ..
                }
            ),
            "{e}"
        );
        let e = WebServiceBuilder::default()
            .app_id("a")
            .options()
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidOptions {
                    option: "api_key",
                    ..
                }
            ),
            "{e}"
        );
        for root in [
            "ftp://x",
            "not a url",
            "http://u:p@host",
            "http://h/?a=1",
            "file:///tmp",
        ] {
            let e = builder().api_root(root).options().unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::InvalidOptions {
                        option: "api_root",
                        ..
                    }
                ),
                "{root}: {e}"
            );
        }
    }

    #[test]
    fn invalid_values_are_refused() {
        let e = builder().limit(-2).options().unwrap_err();
        assert!(matches!(
            e,
            Error::InvalidOptions {
                option: "limit",
                ..
            }
        ));
        let e = builder().app_id("a/b").options().unwrap_err();
        assert!(matches!(
            e,
            Error::InvalidOptions {
                option: "app_id",
                ..
            }
        ));
        let e = builder().session_token("bad\ntoken").options().unwrap_err();
        assert!(matches!(
            e,
            Error::InvalidOptions {
                option: "session_token",
                ..
            }
        ));
        assert!(
            !e.to_string().contains("bad"),
            "the token must not leak: {e}"
        );
        let e = builder().timeout(Duration::ZERO).options().unwrap_err();
        assert!(matches!(
            e,
            Error::InvalidOptions {
                option: "timeout",
                ..
            }
        ));
    }

    #[test]
    fn application_data_rule() {
        let o = builder().options().unwrap();
        assert!(o.is_application_data());
        let o = builder().session_token("t").options().unwrap();
        assert!(!o.is_application_data());
        let o = builder()
            .session_token("t")
            .applevel(AppLevel::App)
            .options()
            .unwrap();
        assert!(o.is_application_data());
        let o = builder().applevel(AppLevel::User).options().unwrap();
        assert!(!o.is_application_data());
    }
}
