//! [`ChainStore`]: an explicit fallback the app chooses (the OS keychain,
//! then a file, say). Never silent: every fallback is a `tracing` warning
//! and goes to the app's [`on_fallback`](ChainStore::on_fallback) handler.

use std::fmt;
use std::sync::Arc;

use super::base::{SessionStore, StoreKey, StoredSession, store_error};
use crate::{Error, Result};

/// What a [`ChainStore`] tells the app when a store failed and the next one
/// was used. The reason is the failed store's error text (it never holds a
/// session token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fallback {
    /// The operation: `"load"`, `"save"` or `"clear"`.
    pub operation: &'static str,
    /// The store that failed (its [`SessionStore::name`]).
    pub failed: &'static str,
    /// Why it failed.
    pub reason: String,
    /// The store used instead.
    pub used: &'static str,
}

impl fmt::Display for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "session store {} failed to {} ({}); using {} instead",
            self.failed, self.operation, self.reason, self.used
        )
    }
}

type FallbackHandler = Arc<dyn Fn(&Fallback) + Send + Sync>;

/// Stores tried in order: each operation goes to the first store that
/// succeeds. When one fails and a later one is used, a [`Fallback`] warning
/// is logged (`tracing::warn!`) and given to the
/// [`on_fallback`](Self::on_fallback) handler. When every store fails, the
/// error is an [`Error::SessionStore`] from store `"chain"` naming each
/// store and why it failed.
///
/// "Nothing saved" (`Ok(None)` from `load`) is an answer, not a failure:
/// the next store is not asked.
///
/// ```no_run
/// use cloudmine::{ChainStore, FileStore, SessionStore, WebService};
/// # #[cfg(feature = "keyring")]
/// # fn demo() -> cloudmine::Result<()> {
/// let store = ChainStore::new([
///     Box::new(cloudmine::KeyringStore::new()) as Box<dyn SessionStore>,
///     Box::new(FileStore::new("/var/lib/myapp/sessions.json")),
/// ])
/// .on_fallback(|w| eprintln!("warning: {w}"));
/// let ws = WebService::builder()
///     .app_id("my-app-id")
///     .api_key("my-api-key")
///     .savelogin(true)
///     .session_store(store)
///     .build()?;
/// # Ok(()) }
/// ```
pub struct ChainStore {
    stores: Vec<Box<dyn SessionStore>>,
    handler: Option<FallbackHandler>,
}

impl fmt::Debug for ChainStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.stores.iter().map(|s| s.name()).collect();
        f.debug_struct("ChainStore")
            .field("stores", &names)
            .finish_non_exhaustive()
    }
}

impl ChainStore {
    /// The stores, tried in the order given. An empty chain refuses every
    /// operation.
    pub fn new(stores: impl IntoIterator<Item = Box<dyn SessionStore>>) -> Self {
        ChainStore {
            stores: stores.into_iter().collect(),
            handler: None,
        }
    }

    /// Calls `handler` each time a store fails and a later one is used
    /// (besides the `tracing` warning, which is always logged).
    pub fn on_fallback(mut self, handler: impl Fn(&Fallback) + Send + Sync + 'static) -> Self {
        self.handler = Some(Arc::new(handler));
        self
    }

    /// Runs `op` on each store until one succeeds.
    fn first_ok<T>(
        &self,
        operation: &'static str,
        op: impl Fn(&dyn SessionStore) -> Result<T>,
    ) -> Result<T> {
        let mut failures: Vec<(&'static str, Error)> = Vec::new();
        for store in &self.stores {
            match op(store.as_ref()) {
                Ok(value) => {
                    for (failed, e) in &failures {
                        self.warn(Fallback {
                            operation,
                            failed,
                            reason: reason(e),
                            used: store.name(),
                        });
                    }
                    return Ok(value);
                }
                Err(e) => failures.push((store.name(), e)),
            }
        }
        Err(all_failed(operation, &failures))
    }

    fn warn(&self, fallback: Fallback) {
        tracing::warn!(
            operation = fallback.operation,
            failed = fallback.failed,
            used = fallback.used,
            reason = %fallback.reason,
            "session store fallback"
        );
        if let Some(handler) = &self.handler {
            handler(&fallback);
        }
    }
}

/// A store's error without the "choose another store" advice around it.
fn reason(e: &Error) -> String {
    match e {
        Error::SessionStore { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

fn all_failed(operation: &str, failures: &[(&'static str, Error)]) -> Error {
    if failures.is_empty() {
        return store_error("chain", "the chain has no stores");
    }
    let each: Vec<String> = failures
        .iter()
        .map(|(name, e)| format!("{name}: {}", reason(e)))
        .collect();
    store_error(
        "chain",
        format!(
            "every store failed to {operation}: {}",
            each.join("; then ")
        ),
    )
}

impl SessionStore for ChainStore {
    fn name(&self) -> &'static str {
        "chain"
    }

    fn load(&self, key: &StoreKey) -> Result<Option<StoredSession>> {
        self.first_ok("load", |s| s.load(key))
    }

    fn save(&self, key: &StoreKey, session: &StoredSession) -> Result<()> {
        self.first_ok("save", |s| s.save(key, session))
    }

    fn clear(&self, key: &StoreKey) -> Result<()> {
        self.first_ok("clear", |s| s.clear(key))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::session_store::memory::MemoryStore;

    struct Broken;
    impl SessionStore for Broken {
        fn name(&self) -> &'static str {
            "broken"
        }
        fn load(&self, _: &StoreKey) -> Result<Option<StoredSession>> {
            Err(store_error("broken", "down"))
        }
        fn save(&self, _: &StoreKey, _: &StoredSession) -> Result<()> {
            Err(store_error("broken", "down"))
        }
        fn clear(&self, _: &StoreKey) -> Result<()> {
            Err(store_error("broken", "down"))
        }
    }

    fn session() -> StoredSession {
        crate::session_store::base::sample_session("tok-secret")
    }

    #[test]
    fn falls_back_with_a_warning_and_names_every_failure() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let key = StoreKey::new("http://h", "app");
        let chain = ChainStore::new([
            Box::new(Broken) as Box<dyn SessionStore>,
            Box::new(MemoryStore::new()),
        ])
        .on_fallback(move |w| sink.lock().unwrap().push(w.clone()));
        chain.save(&key, &session()).unwrap();
        assert_eq!(chain.load(&key).unwrap(), Some(session()));
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(
            (seen[0].operation, seen[0].failed, seen[0].used),
            ("save", "broken", "memory")
        );
        assert!(!seen[0].to_string().contains("tok-secret"));

        let first = MemoryStore::new();
        first.save(&key, &session()).unwrap();
        let quiet = ChainStore::new([Box::new(first) as Box<dyn SessionStore>, Box::new(Broken)]);
        assert_eq!(quiet.load(&key).unwrap(), Some(session()));

        let dead = ChainStore::new([Box::new(Broken) as Box<dyn SessionStore>, Box::new(Broken)]);
        let e = dead.save(&key, &session()).unwrap_err();
        assert!(
            matches!(e, Error::SessionStore { store: "chain", .. }),
            "{e}"
        );
        assert_eq!(e.to_string().matches("broken").count(), 2, "{e}");
        assert!(ChainStore::new([]).load(&key).is_err());
    }
}
