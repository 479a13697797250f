//! Social login: `login_social(network)` through the system browser, a
//! loopback listener and PKCE. See `docs/SOCIAL_LOGIN.md`.

mod device;
pub(crate) mod flow;
pub(crate) mod handoff;
pub(crate) mod landing;
pub(crate) mod listener;
mod login;
mod network;
mod opener;
mod paste;
pub(crate) mod pkce;
pub(crate) mod ports;
mod query;
mod query_answer;
#[cfg_attr(any(not(unix), target_os = "macos"), allow(dead_code))]
mod wsl;

pub use landing::LandingPage;
pub use login::{DEFAULT_LOGIN_TIMEOUT, LoginMode, SocialLogin, SocialLoginCall};
pub use network::SocialNetwork;
pub use opener::{BrowserOpener, HttpOpener, ManualOpener, SystemBrowser};
pub use paste::MAX_PASTE_BYTES;
pub use query::SocialQuery;
pub use query_answer::SocialAnswer;
