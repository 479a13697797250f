//! The session core: the one place a client's session is adopted (after any
//! login: password, social, BaasBox), saved (`savelogin`), forgotten (logout,
//! a dead session) and restored from a
//! [`SessionStore`](crate::SessionStore).
//!
//! Clients keep their live session where their calls read it (CloudMine's in
//! its options, BaasBox's beside its app code) and expose it through
//! [`Holder`]; everything a session goes through happens here, and the login
//! answers are decoded in [`login`]. Calls run these steps through
//! [`off_runtime`] when they touch a store, so a blocking store never runs
//! on the async runtime's worker threads.

mod holder;
pub(crate) mod login;
mod offload;

pub(crate) use holder::Holder;
pub(crate) use offload::off_runtime;

use crate::error::{Error, Result};
use crate::session_store::StoredSession;

/// Makes a session the client's, and saves it when `save` and `savelogin`
/// say so. If saving fails the client is left logged out: a login is never
/// half done, also when the store panics (the call runs it on a blocking
/// thread, where the panic becomes an error).
pub(crate) fn adopt(holder: &impl Holder, session: &StoredSession, save: bool) -> Result<()> {
    holder.set_session(Some(session))?;
    let mut undo = LogOutUnlessKept(holder, false);
    if save
        && holder.savelogin()
        && let Some((store, key)) = holder.store()
    {
        store.save(&key, session)?;
    }
    undo.1 = true;
    Ok(())
}

/// Takes the session off the client when dropped before the login is kept
/// (its save failed or panicked).
struct LogOutUnlessKept<'a, H: Holder>(&'a H, bool);

impl<H: Holder> Drop for LogOutUnlessKept<'_, H> {
    fn drop(&mut self) {
        if !self.1 {
            let _ = self.0.set_session(None);
        }
    }
}

/// [`adopt`] a login's session (saving it when `savelogin` says so), with
/// the save on a blocking thread when a store is set.
pub(crate) async fn adopt_off_runtime<H>(holder: &H, session: StoredSession) -> Result<()>
where
    H: Holder + Clone + Send + 'static,
{
    if holder.store().is_none() {
        return adopt(holder, &session, true);
    }
    off_runtime(holder, move |h| adopt(h, &session, true)).await?
}

/// Forgets the session on the client only (the store keeps it).
pub(crate) fn forget_local(holder: &impl Holder) {
    // Taking a session off can never fail.
    let _ = holder.set_session(None);
}

/// Forgets the saved session. Unless `always` (a saved session the server
/// no longer knows), only a client with `savelogin` on touches its store.
pub(crate) fn forget_saved(holder: &impl Holder, always: bool) -> Result<()> {
    if !always && !holder.savelogin() {
        return Ok(());
    }
    match holder.store() {
        Some((store, key)) => store.clear(&key),
        None => Ok(()),
    }
}

/// Forgets the session on the client and in the store.
pub(crate) fn forget(holder: &impl Holder, always: bool) -> Result<()> {
    forget_local(holder);
    forget_saved(holder, always)
}

/// Puts the session an earlier run saved on the client (`restore()`).
/// Nothing saved: [`Error::NoSession`].
pub(crate) fn restore(holder: &impl Holder) -> Result<StoredSession> {
    let (store, key) = holder
        .store()
        .ok_or_else(|| Error::invalid_option("session_store", "restore() needs a session store"))?;
    let saved = store.load(&key)?.ok_or(Error::NoSession)?;
    holder.set_session(Some(&saved))?;
    Ok(saved)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::session_store::{MemoryStore, SessionStore, StoreKey};

    /// A client stand-in: its session, and a store that may refuse saves.
    struct Fake {
        live: Mutex<Option<StoredSession>>,
        store: Option<Box<dyn SessionStore>>,
        savelogin: bool,
    }

    impl Holder for Fake {
        fn set_session(&self, session: Option<&StoredSession>) -> Result<()> {
            *self.live.lock().unwrap() = session.cloned();
            Ok(())
        }
        fn savelogin(&self) -> bool {
            self.savelogin
        }
        fn store(&self) -> Option<(&dyn SessionStore, StoreKey)> {
            Some((self.store.as_deref()?, StoreKey::new("http://h", "app")))
        }
    }

    struct Refusing;
    impl SessionStore for Refusing {
        fn name(&self) -> &'static str {
            "refusing"
        }
        fn load(&self, _: &StoreKey) -> Result<Option<StoredSession>> {
            Ok(None)
        }
        fn save(&self, _: &StoreKey, _: &StoredSession) -> Result<()> {
            Err(Error::invalid_option("session_store", "full"))
        }
        fn clear(&self, _: &StoreKey) -> Result<()> {
            Ok(())
        }
    }

    fn session() -> StoredSession {
        StoredSession {
            session_token: "tok".into(),
            user_id: Some("u1".into()),
            expires: None,
            email: None,
            username: Some("ada".into()),
        }
    }

    fn fake(store: Option<Box<dyn SessionStore>>, savelogin: bool) -> Fake {
        Fake {
            live: Mutex::new(None),
            store,
            savelogin,
        }
    }

    #[test]
    fn a_login_that_cannot_be_saved_leaves_the_client_logged_out() {
        let f = fake(Some(Box::new(Refusing)), true);
        assert!(adopt(&f, &session(), true).is_err());
        assert!(f.live.lock().unwrap().is_none());
        // Without savelogin the store is never asked.
        let f = fake(Some(Box::new(Refusing)), false);
        adopt(&f, &session(), true).unwrap();
        assert_eq!(f.live.lock().unwrap().as_ref(), Some(&session()));
    }

    #[test]
    fn adopt_saves_forget_clears_restore_loads() {
        let f = fake(Some(Box::new(MemoryStore::new())), true);
        adopt(&f, &session(), true).unwrap();
        forget_local(&f);
        assert!(f.live.lock().unwrap().is_none());
        assert_eq!(restore(&f).unwrap(), session());
        assert_eq!(f.live.lock().unwrap().as_ref(), Some(&session()));
        forget(&f, false).unwrap();
        assert!(restore(&f).unwrap_err().is_no_session());
        let none = fake(None, true);
        assert!(restore(&none).is_err());
    }
}
