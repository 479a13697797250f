//! Session-store work off the async runtime: a store may block (the OS
//! keychain is a child process or IPC, a file store syncs to disk), so the
//! session core's store calls run on tokio's blocking threads
//! (`spawn_blocking`), never on a worker thread where they would stall
//! every other task.

use super::Holder;
use crate::error::{Error, Result};
use crate::session_store::StoredSession;

/// Runs `work` (session-core steps that call the client's store) on a
/// blocking thread, with a clone of the client. A store that panics is an
/// [`Error::SessionStore`] naming it, not a crash.
pub(crate) async fn off_runtime<H, R>(
    holder: &H,
    work: impl FnOnce(&H) -> R + Send + 'static,
) -> Result<R>
where
    H: Holder + Clone + Send + 'static,
    R: Send + 'static,
{
    let name = holder.store().map_or("session", |(store, _)| store.name());
    let holder = holder.clone();
    tokio::task::spawn_blocking(move || work(&holder))
        .await
        .map_err(|e| {
            let what = if e.is_panic() {
                "the session store panicked"
            } else {
                "the session store's thread was cancelled"
            };
            Error::session_store(name, what)
        })
}

/// [`adopt`](super::adopt) a login's session (saving it when `savelogin`
/// says so), with the save on a blocking thread when a store is set.
pub(crate) async fn adopt_off_runtime<H>(holder: &H, session: StoredSession) -> Result<()>
where
    H: Holder + Clone + Send + 'static,
{
    if holder.store().is_none() {
        return super::adopt(holder, &session, true);
    }
    off_runtime(holder, move |h| super::adopt(h, &session, true)).await?
}
