//! Session-store work off the async runtime: a store may block (the OS
//! keychain is a child process or IPC, a file store syncs to disk), so the
//! session core's store calls run on tokio's blocking threads
//! (`spawn_blocking`), never on a worker thread where they would stall
//! every other task.

use super::holder::Holder;
use crate::error::{Error, Result};

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
