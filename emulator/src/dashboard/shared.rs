//! What every dashboard page shares: where the dashboard is served and
//! the state behind its routes. Imports no page.

use std::sync::Arc;

use super::activity::Activity;
use super::auth::Auth;
use crate::state::AppState;

/// Where the dashboard is served.
pub(crate) const PREFIX: &str = "/_dashboard";

/// What every dashboard page shares.
pub(crate) struct Dash {
    pub(crate) app: Arc<AppState>,
    pub(crate) auth: Auth,
    pub(crate) activity: Arc<Activity>,
    /// Whether the session cookie is `Secure` (the public URL is https).
    pub(crate) secure: bool,
}
