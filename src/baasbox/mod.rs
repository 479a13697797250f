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
//! redacted, and saved in a [`SessionStore`](crate::SessionStore) with `savelogin`.
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

mod api;
mod call;
mod client;
mod model;
mod oauth;

pub use call::BbCall;
pub use client::{BaasBox, BaasBoxBuilder, DEFAULT_BAASBOX_TIMEOUT};
pub use model::{BbUser, SocialAccount};
pub use oauth::{BaasBoxLoginCall, OAuthProvider};
