//! [`Options`]: everything a [`WebService`](crate::WebService) sends, and
//! [`CallOptions`]: per-call overrides.

use std::time::Duration;

use serde_json::Value;
use url::Url;

use crate::api_version::ApiVersion;
use crate::retry_policy::RetryPolicy;
use crate::secret::{ApiKey, MasterKey, SessionToken};
use crate::{Error, Result};

/// The default API root.
pub const DEFAULT_API_ROOT: &str = "https://api.cloudmine.io";

/// The default request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Which data a call works on: the application's or the logged-in user's.
///
/// CloudMine's `applevel` option. With [`AppLevel::Auto`] (the default), a call
/// works on user data when a session token is set, and on application data
/// otherwise. `account/...` endpoints never get the `/user/` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AppLevel {
    /// User data when a session token is set, application data otherwise.
    #[default]
    Auto,
    /// Always application data; the session token is not sent.
    App,
    /// Always user data (`/user/` paths). Without a session token the server
    /// answers 401.
    User,
}

/// A per-call setting: keep the instance's value, replace it, or unset it.
#[derive(Debug, Clone, Default)]
pub(crate) enum Setting<T> {
    #[default]
    Inherit,
    Set(T),
    Unset,
}

impl<T: Clone> Setting<T> {
    fn apply_to(&self, target: &mut Option<T>) {
        match self {
            Setting::Inherit => {}
            Setting::Set(v) => *target = Some(v.clone()),
            Setting::Unset => *target = None,
        }
    }

    fn is_inherit(&self) -> bool {
        matches!(self, Setting::Inherit)
    }
}

// The one list of nullable options. Each line: documentation, field (also the
// setter and getter name), the unset method, the type, and how the getter
// returns it (`copy`, `deref` to a borrowed form, or by `ref`erence).
macro_rules! nullable_options {
    ($callback:ident) => {
        $callback! {
            /// The session token of the logged-in user (`X-CloudMine-SessionToken`).
            session_token, unset_session_token: SessionToken, ref;
            /// The application's master key, sent (as `X-CloudMine-ApiKey`)
            /// only by the master-key calls of [`UserAdmin`](crate::UserAdmin);
            /// every other call keeps sending the API key.
            master_key, unset_master_key: MasterKey, ref;
            /// The logged-in user's id. Kept for the application; never sent in URLs.
            user_id, unset_user_id: String, deref;
            /// The email the logged-in user logged in with (set by a password
            /// login, saved with the session, cleared on logout). Never sent.
            email, unset_email: String, deref;
            /// The username the logged-in user logged in with (as `email`). Never sent.
            username, unset_username: String, deref;
            /// A device or installation id sent as `X-Unique-Id`.
            unique_id, unset_unique_id: String, deref;
            /// The application's name, appended to the `X-CloudMine-Agent` header.
            app_name, unset_app_name: String, deref;
            /// The application's version, appended to the agent header after the name.
            app_version, unset_app_version: String, deref;
            /// Page size (`limit`); `-1` means no limit. The server's default is 50.
            limit, unset_limit: i64, copy;
            /// How many results to skip (`skip`).
            skip, unset_skip: u64, copy;
            /// Ask for the total number of matches (`count`).
            count, unset_count: bool, copy;
            /// A server-side snippet to run on the answer (`f`).
            snippet, unset_snippet: String, deref;
            /// Parameters for the snippet (`params`; objects are sent as JSON).
            params, unset_params: Value, ref;
            /// Do not wait for the snippet to finish (`async`).
            dontwait, unset_dontwait: bool, copy;
            /// Return only the snippet's result (`result_only`).
            resultsonly, unset_resultsonly: bool, copy;
            /// Include objects shared with the user (`shared`).
            shared, unset_shared: bool, copy;
            /// Only objects shared with the user (`shared_only`).
            shared_only, unset_shared_only: bool, copy;
            /// Extended responses for atomic operations (`extended_responses`).
            extended_responses, unset_extended_responses: bool, copy;
            /// Return distances in geo searches (`distance`).
            distance, unset_distance: bool, copy;
            /// Units for geo searches (`units`: km, mi, m, ft).
            units, unset_units: String, deref;
            /// The API version in every path (`v1` when unset); see [`ApiVersion`].
            version, unset_version: ApiVersion, copy;
            /// Retries for idempotent calls (see [`RetryPolicy`](crate::RetryPolicy)); unset (the default): none.
            retry, unset_retry: RetryPolicy, ref;
            /// The most bytes of an answer read into memory; unset: [`DEFAULT_MAX_ANSWER_BYTES`](crate::DEFAULT_MAX_ANSWER_BYTES) (64 MiB).
            max_answer_bytes, unset_max_answer_bytes: u64, copy;
        }
    };
}

// Setter argument types: plain for `copy` options (so `.skip(20)` infers),
// `impl Into<T>` for the others.
macro_rules! setter_arg {
    (copy, $ty:ty) => { $ty };
    ($mode:ident, $ty:ty) => { impl Into<$ty> };
}

macro_rules! getter {
    ([$($doc:literal)*] $field:ident, $ty:ty, copy) => {
        $(#[doc = $doc])*
        pub fn $field(&self) -> Option<$ty> {
            self.$field
        }
    };
    ([$($doc:literal)*] $field:ident, $ty:ty, deref) => {
        $(#[doc = $doc])*
        pub fn $field(&self) -> Option<&str> {
            self.$field.as_deref()
        }
    };
    ([$($doc:literal)*] $field:ident, $ty:ty, ref) => {
        $(#[doc = $doc])*
        pub fn $field(&self) -> Option<&$ty> {
            self.$field.as_ref()
        }
    };
}

macro_rules! define_options {
    ($( $(#[doc = $doc:literal])* $field:ident, $unset:ident : $ty:ty, $mode:ident; )*) => {
        /// The options of a [`WebService`](crate::WebService), readable back
        /// with [`WebService::options`](crate::WebService::options).
        ///
        /// `Debug` is safe to log: the API key and session token print as `[redacted]`.
        #[derive(Debug, Clone)]
        pub struct Options {
            pub(crate) app_id: String,
            pub(crate) api_key: ApiKey,
            pub(crate) api_root: Url,
            pub(crate) user_token: String,
            pub(crate) applevel: AppLevel,
            pub(crate) sort: Vec<String>,
            pub(crate) timeout: Duration,
            pub(crate) savelogin: bool,
            $( pub(crate) $field: Option<$ty>, )*
        }

        #[derive(Debug, Clone, Default)]
        pub(crate) struct Patch {
            pub(crate) api_key: Option<ApiKey>,
            pub(crate) applevel: Option<AppLevel>,
            pub(crate) sort: Option<Vec<String>>,
            pub(crate) timeout: Option<Duration>,
            pub(crate) savelogin: Option<bool>,
            pub(crate) user_token: Option<String>,
            $( pub(crate) $field: Setting<$ty>, )*
        }

        impl Patch {
            /// Lays `newer` over this patch: what `newer` sets or unsets wins.
            pub(crate) fn merge(&mut self, newer: Patch) {
                if newer.api_key.is_some() { self.api_key = newer.api_key; }
                if newer.applevel.is_some() { self.applevel = newer.applevel; }
                if newer.sort.is_some() { self.sort = newer.sort; }
                if newer.timeout.is_some() { self.timeout = newer.timeout; }
                if newer.savelogin.is_some() { self.savelogin = newer.savelogin; }
                if newer.user_token.is_some() { self.user_token = newer.user_token; }
                $( if !newer.$field.is_inherit() { self.$field = newer.$field; } )*
            }

            pub(crate) fn is_empty(&self) -> bool {
                self.api_key.is_none()
                    && self.applevel.is_none()
                    && self.sort.is_none()
                    && self.timeout.is_none()
                    && self.savelogin.is_none()
                    && self.user_token.is_none()
                    $( && self.$field.is_inherit() )*
            }
        }

        impl Options {
            /// Applies a patch on top of these options.
            pub(crate) fn apply(&mut self, patch: &Patch) {
                if let Some(v) = &patch.api_key { self.api_key = v.clone(); }
                if let Some(v) = patch.applevel { self.applevel = v; }
                if let Some(v) = &patch.sort { self.sort = v.clone(); }
                if let Some(v) = patch.timeout { self.timeout = v; }
                if let Some(v) = patch.savelogin { self.savelogin = v; }
                if let Some(v) = &patch.user_token { self.user_token = v.clone(); }
                $( patch.$field.apply_to(&mut self.$field); )*
            }

            $(
                getter!([$($doc)*] $field, $ty, $mode);
            )*
        }

        macro_rules! patch_setters {
            () => {
                $(
                    $(#[doc = $doc])*
                    pub fn $field(mut self, value: setter_arg!($mode, $ty)) -> Self {
                        self.patch.$field = Setting::Set(value.into());
                        self
                    }

                    #[doc = concat!("Unsets `", stringify!($field), "` (a per-call unset overrides the instance value).")]
                    pub fn $unset(mut self) -> Self {
                        self.patch.$field = Setting::Unset;
                        self
                    }
                )*

                /// Replaces the API key (per call: a master key for one call).
                pub fn api_key(mut self, key: impl Into<ApiKey>) -> Self {
                    self.patch.api_key = Some(key.into());
                    self
                }

                /// Application or user data; see [`AppLevel`].
                pub fn applevel(mut self, level: AppLevel) -> Self {
                    self.patch.applevel = Some(level);
                    self
                }

                /// Sort order (`sort`, repeated): field names, `field:desc` for descending.
                pub fn sort<I, S>(mut self, fields: I) -> Self
                where
                    I: IntoIterator<Item = S>,
                    S: Into<String>,
                {
                    self.patch.sort = Some(fields.into_iter().map(Into::into).collect());
                    self
                }

                /// The request timeout: from sending until the whole answer has arrived.
                pub fn timeout(mut self, timeout: Duration) -> Self {
                    self.patch.timeout = Some(timeout);
                    self
                }

                /// Save the session after a successful login (used by login calls).
                pub fn savelogin(mut self, save: bool) -> Self {
                    self.patch.savelogin = Some(save);
                    self
                }

                /// The `X-CloudMine-UT` user token (32 hex characters); generated when unset.
                pub fn user_token(mut self, token: impl Into<String>) -> Self {
                    self.patch.user_token = Some(token.into());
                    self
                }
            };
        }
    };
}

nullable_options!(define_options);
// `patch_setters!` is made by `define_options!`, so only a `use` lets the
// builder (another file) call it; clippy takes that for a redundant import.
#[allow(clippy::single_component_path_imports)]
pub(crate) use patch_setters;
pub(crate) use setter_arg;

impl Options {
    /// The application id.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// The API key (redacted in `Debug`).
    pub fn api_key(&self) -> &ApiKey {
        &self.api_key
    }

    /// The API root, e.g. `https://api.cloudmine.io`.
    pub fn api_root(&self) -> &Url {
        &self.api_root
    }

    /// The `X-CloudMine-UT` user token.
    pub fn user_token(&self) -> &str {
        &self.user_token
    }

    /// The `applevel` setting.
    pub fn applevel(&self) -> AppLevel {
        self.applevel
    }

    /// The sort fields.
    pub fn sort(&self) -> &[String] {
        &self.sort
    }

    /// The request timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether logins are saved to the session store.
    pub fn savelogin(&self) -> bool {
        self.savelogin
    }

    /// True when calls work on application data (CloudMine's `isApplicationData()`).
    pub fn is_application_data(&self) -> bool {
        match self.applevel {
            AppLevel::App => true,
            AppLevel::User => false,
            AppLevel::Auto => self.session_token.is_none(),
        }
    }

    /// The `X-CloudMine-Agent` header value: `Rust/<version>[ <app>[/<app version>]]`.
    pub fn agent(&self) -> String {
        let mut agent = format!("Rust/{}", env!("CARGO_PKG_VERSION"));
        if let Some(name) = &self.app_name {
            agent.push(' ');
            agent.push_str(&sanitize_agent(name));
            if let Some(version) = &self.app_version {
                agent.push('/');
                agent.push_str(&sanitize_agent(version));
            }
        }
        agent
    }

    /// The query parameters every request carries (CloudMine's server params),
    /// in a fixed order.
    pub(crate) fn server_params(&self, out: &mut Vec<(&'static str, String)>) {
        if let Some(v) = self.limit {
            out.push(("limit", v.to_string()));
        }
        if let Some(v) = self.skip {
            out.push(("skip", v.to_string()));
        }
        if let Some(v) = self.count {
            out.push(("count", v.to_string()));
        }
        for field in &self.sort {
            out.push(("sort", field.clone()));
        }
        if let Some(v) = &self.snippet {
            out.push(("f", v.clone()));
        }
        if let Some(v) = &self.params {
            out.push(("params", json_param(v)));
        }
        let flags = [
            ("async", self.dontwait),
            ("result_only", self.resultsonly),
            ("shared", self.shared),
            ("shared_only", self.shared_only),
            ("extended_responses", self.extended_responses),
            ("distance", self.distance),
        ];
        for (name, value) in flags {
            if let Some(v) = value {
                out.push((name, v.to_string()));
            }
        }
        if let Some(v) = &self.units {
            out.push(("units", v.clone()));
        }
    }

    /// Checks values the server or HTTP cannot take.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.app_id.is_empty() {
            return Err(Error::invalid_option("app_id", "must not be empty"));
        }
        if !self
            .app_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(Error::invalid_option(
                "app_id",
                "may only contain ASCII letters, digits, '-', '_' and '.'",
            ));
        }
        if self.api_key.secret().is_empty() {
            return Err(Error::invalid_option("api_key", "must not be empty"));
        }
        check_header_value("api_key", self.api_key.secret())?;
        check_header_value("user_token", &self.user_token)?;
        if let Some(key) = &self.master_key {
            if key.secret().is_empty() {
                return Err(Error::invalid_option(
                    "master_key",
                    "must not be empty; use unset_master_key() for none",
                ));
            }
            check_header_value("master_key", key.secret())?;
        }
        if let Some(token) = &self.session_token {
            if token.secret().is_empty() {
                return Err(Error::invalid_option(
                    "session_token",
                    "must not be empty; use unset_session_token() to log out",
                ));
            }
            check_header_value("session_token", token.secret())?;
        }
        if let Some(id) = &self.unique_id {
            check_header_value("unique_id", id)?;
        }
        if let Some(limit) = self.limit
            && limit < -1
        {
            return Err(Error::invalid_option(
                "limit",
                format!("{limit} is not a page size; use a positive number, 0, or -1 for no limit"),
            ));
        }
        if self.sort.iter().any(|f| f.trim().is_empty()) {
            return Err(Error::invalid_option(
                "sort",
                "field names must not be empty",
            ));
        }
        if let Some(problem) = self.retry.as_ref().and_then(RetryPolicy::problem) {
            return Err(Error::invalid_option("retry", problem));
        }
        if self.max_answer_bytes == Some(0) {
            return Err(Error::invalid_option(
                "max_answer_bytes",
                "must be at least 1 byte; use unset_max_answer_bytes() for the default",
            ));
        }
        if self.timeout.is_zero() {
            return Err(Error::invalid_option("timeout", "must be longer than zero"));
        }
        Ok(())
    }
}

fn check_header_value(option: &'static str, value: &str) -> Result<()> {
    if value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        Ok(())
    } else {
        Err(Error::invalid_option(
            option,
            "must be printable ASCII (it is sent as an HTTP header)",
        ))
    }
}

fn sanitize_agent(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A query value: strings as they are, anything else as JSON.
pub(crate) fn json_param(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Per-call overrides of [`Options`]: every option can be set or unset for one
/// call without touching the [`WebService`](crate::WebService).
///
/// ```no_run
/// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
/// use cloudmine::{AppLevel, CallOptions};
/// let page = ws
///     .objects()
///     .get_all()
///     .options(CallOptions::new().limit(10).skip(20).sort(["price:desc"]).count(true))
///     .await?;
/// // Application data for this one call, even though a user is logged in:
/// let shared = ws.objects().get_all().options(CallOptions::new().applevel(AppLevel::App)).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    pub(crate) patch: Patch,
}

impl CallOptions {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }

    patch_setters!();

    /// This call is sent once, whatever the client's `retry` option (the
    /// same as [`unset_retry`](Self::unset_retry)).
    pub fn no_retry(self) -> Self {
        self.unset_retry()
    }
}
