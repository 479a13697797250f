//! [`MemoryStore`]: sessions in memory.

use std::collections::HashMap;
use std::sync::Mutex;

use super::base::{SessionStore, StoreKey, StoredSession};
use crate::Result;

/// Sessions in memory, for tests and short-lived programs.
#[derive(Debug, Default)]
pub struct MemoryStore {
    sessions: Mutex<HashMap<StoreKey, StoredSession>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl SessionStore for MemoryStore {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn load(&self, key: &StoreKey) -> Result<Option<StoredSession>> {
        Ok(self
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned())
    }

    fn save(&self, key: &StoreKey, session: &StoredSession) -> Result<()> {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), session.clone());
        Ok(())
    }

    fn clear(&self, key: &StoreKey) -> Result<()> {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::session_store::base::sample_session as session;

    #[test]
    fn memory_store_keys_by_root_and_app() {
        let store = MemoryStore::new();
        let a = StoreKey::new("http://h/", "app1");
        let b = StoreKey::new("http://h", "app2");
        let c = StoreKey::new("http://other", "app1");
        store.save(&a, &session("t1")).unwrap();
        assert_eq!(
            store.load(&StoreKey::new("http://h", "app1")).unwrap(),
            Some(session("t1"))
        );
        assert_eq!(store.load(&b).unwrap(), None);
        assert_eq!(store.load(&c).unwrap(), None);
        store.clear(&a).unwrap();
        assert_eq!(store.load(&a).unwrap(), None);
    }
}
