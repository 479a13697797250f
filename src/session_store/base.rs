//! What every session store shares: the [`SessionStore`] trait, the saved
//! session ([`StoredSession`]) and its key ([`StoreKey`]).

use serde_json::{Value, json};

use crate::secret::SessionToken;
use crate::{Error, Result};

/// A saved login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// The session token (redacted in `Debug`).
    pub session_token: SessionToken,
    /// The user's id, when known.
    pub user_id: Option<String>,
    /// When the session expires (an HTTP date), when known.
    pub expires: Option<String>,
    /// The email the session's login used, when it used one.
    pub email: Option<String>,
    /// The username the session's login used, when it used one.
    pub username: Option<String>,
}

impl StoredSession {
    /// The stored form: `{"session_token", "user_id", "expires", "email",
    /// "username"}` (the last two only when known).
    pub(super) fn to_json(&self) -> Value {
        let mut out = json!({
            "session_token": self.session_token.secret(),
            "user_id": self.user_id,
            "expires": self.expires,
        });
        for (name, value) in [("email", &self.email), ("username", &self.username)] {
            if let Some(v) = value {
                out[name] = Value::from(v.as_str());
            }
        }
        out
    }

    /// Reads the stored form; `None` when it has no token.
    pub(super) fn from_json(value: &Value) -> Option<Self> {
        let token = value
            .get("session_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())?;
        let text = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
        Some(StoredSession {
            session_token: SessionToken::new(token),
            user_id: text("user_id"),
            expires: text("expires"),
            email: text("email"),
            username: text("username"),
        })
    }
}

/// Which entry a client uses: its API root and app id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoreKey {
    api_root: String,
    app_id: String,
}

impl StoreKey {
    /// The key for an API root and app id.
    pub fn new(api_root: impl Into<String>, app_id: impl Into<String>) -> Self {
        StoreKey {
            api_root: api_root.into().trim_end_matches('/').to_owned(),
            app_id: app_id.into(),
        }
    }

    /// The API root.
    pub fn api_root(&self) -> &str {
        &self.api_root
    }

    /// The app id.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// One string for stores keyed by text: `{app_id}@{api_root}`.
    pub fn as_account(&self) -> String {
        format!("{}@{}", self.app_id, self.api_root)
    }
}

/// Keeps logins between runs. Calls may block (a keychain is IPC or a
/// `secret-tool` child process, a file store syncs to disk): the SDK never
/// calls them on the async runtime's worker threads, but on Tokio's
/// blocking threads (`spawn_blocking`), from the login, logout, restore or
/// account-deletion call that needs them, which awaits the result. A store
/// that panics fails that call with [`Error::SessionStore`] naming the
/// store (a login is then not kept); it does not crash the app. The
/// blocking client runs them the same way on its own runtime.
///
/// A call dropped (or aborted) while a store call runs does not stop it:
/// the thread finishes its save or clear.
///
/// ```no_run
/// use cloudmine::{SessionStore, StoreKey, StoredSession};
///
/// /// Keeps no login (a store that always forgets).
/// struct Forgetful;
///
/// impl SessionStore for Forgetful {
///     fn name(&self) -> &'static str {
///         "forgetful"
///     }
///     fn load(&self, _: &StoreKey) -> cloudmine::Result<Option<StoredSession>> {
///         Ok(None)
///     }
///     fn save(&self, _: &StoreKey, _: &StoredSession) -> cloudmine::Result<()> {
///         Ok(()) // may block: this runs on a blocking thread
///     }
///     fn clear(&self, _: &StoreKey) -> cloudmine::Result<()> {
///         Ok(())
///     }
/// }
/// ```
pub trait SessionStore: Send + Sync + 'static {
    /// A short name for errors ("file", "keyring", "memory").
    fn name(&self) -> &'static str;
    /// The saved session for `key`, if any. A store that cannot be read is an
    /// [`Error::SessionStore`], never "nothing saved".
    fn load(&self, key: &StoreKey) -> Result<Option<StoredSession>>;
    /// Saves (replaces) the session for `key`.
    fn save(&self, key: &StoreKey, session: &StoredSession) -> Result<()>;
    /// Forgets the session for `key` (nothing saved is fine).
    fn clear(&self, key: &StoreKey) -> Result<()>;
}

/// A shared store: several clients (or a client and the app) can use one.
impl<S: SessionStore + ?Sized> SessionStore for std::sync::Arc<S> {
    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn load(&self, key: &StoreKey) -> Result<Option<StoredSession>> {
        (**self).load(key)
    }

    fn save(&self, key: &StoreKey, session: &StoredSession) -> Result<()> {
        (**self).save(key, session)
    }

    fn clear(&self, key: &StoreKey) -> Result<()> {
        (**self).clear(key)
    }
}

pub(crate) fn store_error(store: &'static str, message: impl Into<String>) -> Error {
    Error::session_store(store, message)
}

/// A session for the stores' unit tests: `token`, user `u1`, an email.
#[cfg(test)]
pub(crate) fn sample_session(token: &str) -> StoredSession {
    StoredSession {
        session_token: crate::secret::SessionToken::new(token),
        user_id: Some("u1".into()),
        expires: None,
        email: Some("ada@example.com".into()),
        username: None,
    }
}
