//! A signed-in dashboard visitor, as the pages see them (made by
//! [`super::auth`]).

/// A signed-in visitor, as a page sees them.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The session's CSRF token, put in every form.
    pub csrf: String,
    /// SHA-256 of the session id.
    pub id_hash: String,
    /// Whether a logout button makes sense (not without a password).
    pub can_log_out: bool,
}
