//! Social login: `login_social(network)` through the system browser, a
//! loopback listener and PKCE. See `docs/SOCIAL_LOGIN.md`.

mod landing;
mod listener;
mod login;
mod network;
mod opener;
mod pkce;

pub use landing::LandingPage;
pub use login::{DEFAULT_LOGIN_TIMEOUT, LoginMode, Profile, SocialLogin, SocialLoginCall};
pub use network::SocialNetwork;
pub use opener::{BrowserOpener, HttpOpener, ManualOpener, SystemBrowser};
