//! Where a login is kept between runs: the [`SessionStore`] trait and its
//! stores. What is stored: the session token, the user id, the expiry —
//! nothing else. Entries are keyed by API root and app id, so two apps never
//! see each other's session.

mod base;
mod chain;
mod file;
#[cfg(feature = "keyring")]
mod keychain;
mod memory;
#[cfg(all(
    feature = "keyring",
    not(any(target_os = "macos", target_os = "windows"))
))]
mod secret_tool;

pub use base::{SessionStore, StoreKey, StoredSession};
pub use chain::{ChainStore, Fallback};
pub use file::FileStore;
#[cfg(feature = "keyring")]
pub use keychain::KeyringStore;
pub use memory::MemoryStore;
