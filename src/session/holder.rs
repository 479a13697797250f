//! [`Holder`]: a client whose session the session core manages.

use crate::error::Result;
use crate::session_store::{SessionStore, StoreKey, StoredSession};

/// A client whose session this module manages.
pub(crate) trait Holder {
    /// Puts a session on the client (`Some`) or takes it off (`None`).
    fn set_session(&self, session: Option<&StoredSession>) -> Result<()>;
    /// Whether logins are saved to the store (`savelogin`).
    fn savelogin(&self) -> bool;
    /// The client's store and its key there, when a store is set.
    fn store(&self) -> Option<(&dyn SessionStore, StoreKey)>;
}
