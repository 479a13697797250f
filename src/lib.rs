//! # cloudmine
//!
//! A Rust client for the CloudMine v1 API: the Rust equivalent of the
//! CloudMine JavaScript `WebService`. Every call returns an [`ApiCall`] that
//! you can simply `.await`, and that also fires CloudMine's events
//! (`success`, `ok`, `notfound`, `error`, `complete`…) to handlers you
//! register first, through the [`EventEmitter`] trait.
//!
//! CloudMine itself is discontinued; the workspace ships `cloudmine-emulator`,
//! a self-hostable server that implements the API this SDK uses.
//!
//! ```no_run
//! use cloudmine::{CallInfo, CallOptions, Event, EventEmitter, WebService};
//! use serde_json::{Value, json};
//!
//! # async fn demo() -> cloudmine::Result<()> {
//! let ws = WebService::builder()
//!     .app_id("my-app-id")
//!     .api_key("my-api-key")
//!     .api_root("http://127.0.0.1:8080") // a cloudmine-emulator
//!     .build()?;
//!
//! ws.objects().set("car", json!({"__class__": "car", "make": "Tesla", "price": 40000})).await?;
//! let cheap = ws
//!     .objects()
//!     .search(r#"[__class__ = "car", price < 50000]"#)
//!     .options(CallOptions::new().limit(10).count(true))
//!     .on(Event::Success, |data: &Value, _call: &CallInfo| println!("found {data}"))
//!     .await?;
//! println!("{} cars, {:?} in all", cheap.keys().len(), cheap.count());
//! # Ok(()) }
//! ```
//!
//! ## Levels: application and user data
//! With no session token, calls work on application data. Once a session
//! token is set ([`WebService::set_session_token`], or a login), objects and
//! files calls work on that user's data (`/user/` paths), unless
//! [`AppLevel::App`] is chosen for the client or one call.
//!
//! ## Optional features
//! - `blocking`: `cloudmine::blocking::WebService`, for programs without an async
//!   runtime: every call finishes with `.wait()` instead of `.await`.
//! - `baasbox` (default): [`baasbox::BaasBox`], a client for BaasBox's
//!   user and social-login API, with a browser login (OAuth 2 + PKCE).
//! - `keyring` (default): [`KeyringStore`], sessions in the OS keychain, and
//!   the default [`SessionStore`] when `savelogin` is on and no other store
//!   is set.
//!
//! ## Errors
//! One [`Error`] type, with predicates such as [`Error::status`],
//! [`Error::is_timeout`] and [`Error::is_unauthorized`]. A call where some
//! keys failed still succeeds and lists them in [`Response::key_errors`].
//! Secrets (API keys, session tokens) never appear in `Debug`, `Display`,
//! logs or errors: they are [`ApiKey`] and [`SessionToken`] values.
#![warn(missing_docs)]
// docs.rs (`--cfg docsrs`, nightly): a badge on each feature-gated item.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

// The modules form layers (docs/ARCHITECTURE.md lists them bottom to top,
// checked by .ci/run): `blocking` wraps everything; nothing imports it.
mod abort;
mod acl;
mod api_version;
#[cfg(feature = "baasbox")]
#[cfg_attr(docsrs, doc(cfg(feature = "baasbox")))]
pub mod baasbox;
#[cfg(feature = "blocking")]
#[cfg_attr(docsrs, doc(cfg(feature = "blocking")))]
pub mod blocking;
mod builder;
mod call;
mod client;
mod completion;
mod env_session;
mod envelope;
mod error;
mod events;
mod files;
pub mod fuzzing; // only with `--cfg fuzzing`, for `cargo fuzz` (fuzz/)
mod geo;
mod objects;
mod options;
mod paging;
mod payload;
mod push;
mod query;
mod random_id;
mod request;
mod request_info;
mod response;
mod retry;
mod retry_policy;
mod run;
mod search_es;
mod secret;
mod session;
mod session_store;
mod social;
mod trace;
mod transport;
mod users;
mod web_service;
// Unit tests of the secret headers a CloudMine call sends.
#[cfg(test)]
mod sensitive_headers;

pub use abort::AbortHandle;
pub use acl::{Acl, AclList, Acls, Permission, Permissions, Segments};
pub use api_version::ApiVersion;
pub use builder::WebServiceBuilder;
pub use call::ApiCall;
pub use env_session::SESSION_TOKEN_ENV;
pub use error::{Error, KeyError, Result};
pub use events::{
    CallInfo, Event, EventEmitter, EventHandler, EventMessage, HandlerId, Handlers, Progress,
};
pub use files::{
    DEFAULT_PROGRESS_INTERVAL, DownloadCall, DownloadToCall, Downloaded, FileInfo, FileStream,
    Files, Source, UploadCall, Uploaded,
};
pub use geo::{Distance, DistanceUnit, GeoPoint, Near};
pub use objects::{DestroyAll, Objects};
pub use options::{AppLevel, CallOptions, DEFAULT_API_ROOT, DEFAULT_TIMEOUT, Options};
pub use paging::{DEFAULT_MAX_PAGES, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Pages};
pub use payload::{OpenUrl, Payload, SignedIn, Typed, typed};
pub use push::Notification;
pub use query::{Field, Literal, Query};
pub use request_info::{REDACTED, RequestBody, RequestInfo};
pub use response::Response;
pub use retry_policy::{DEFAULT_MAX_ANSWER_BYTES, MAX_RETRY_ATTEMPTS, RetryNotice, RetryPolicy};
pub use run::Run;
pub use search_es::EsQuery;
pub use secret::{
    ApiKey, ClientSecret, MasterKey, OAuthSecret, OAuthToken, Password, SessionToken,
};
pub use session::login::{Login, Profile};
#[cfg(feature = "keyring")]
#[cfg_attr(docsrs, doc(cfg(feature = "keyring")))]
pub use session_store::KeyringStore;
pub use session_store::{
    ChainStore, Fallback, FileStore, MemoryStore, SessionStore, StoreKey, StoredSession,
};
pub use social::{
    BrowserOpener, DEFAULT_LOGIN_TIMEOUT, HttpOpener, LandingPage, LoginMode, ManualOpener,
    SocialLogin, SocialLoginCall, SocialNetwork, SystemBrowser,
};
pub use social::{MAX_PASTE_BYTES, SocialAnswer, SocialQuery};
pub use users::{Credentials, NewCredentials, UserAdmin, Users};
pub use web_service::WebService;

/// Re-exported so that callers of [`WebService::api`] and readers of response
/// headers need no direct reqwest dependency.
pub use bytes::Bytes;
pub use reqwest::{Method, header};

// The Rust examples in the README and the guides compile as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[cfg(doctest)]
#[doc = include_str!("../docs/SOCIAL_LOGIN.md")]
struct SocialLoginDoctests;
