//! [`AbortHandle`]: cancels one call from anywhere.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

use tokio::sync::Notify;

#[derive(Debug, Default)]
struct State {
    aborted: AtomicBool,
    notify: Notify,
}

/// Cancels one [`ApiCall`](crate::ApiCall), from any task or thread: from
/// [`ApiCall::abort_handle`](crate::ApiCall::abort_handle). Cheap to clone;
/// every clone aborts the same call.
///
/// [`abort`](Self::abort) before the call is sent: nothing is sent. While
/// the request is under way: the request is dropped (its connection
/// closed, never reused). Either way the awaited call ends with
/// [`Error::Aborted`](crate::Error::Aborted) and fires `abort`, `error`,
/// `complete`, as when the call's future is dropped. After the call
/// completed: nothing happens.
///
/// ```no_run
/// # async fn demo(ws: cloudmine::WebService) {
/// let mut call = ws.objects().search("[price < 100]");
/// let handle = call.abort_handle();
/// let task = tokio::spawn(call.into_future());
/// handle.abort(); // e.g. the user pressed "cancel"
/// assert!(task.await.unwrap().unwrap_err().is_aborted());
/// # }
/// # use std::future::IntoFuture;
/// ```
#[derive(Debug, Clone, Default)]
pub struct AbortHandle {
    state: Arc<State>,
}

impl AbortHandle {
    /// Aborts the call; idempotent.
    pub fn abort(&self) {
        self.state.aborted.store(true, Ordering::SeqCst);
        self.state.notify.notify_waiters();
    }

    /// True once [`abort`](Self::abort) was called (whether or not the call
    /// had completed by then).
    pub fn is_aborted(&self) -> bool {
        self.state.aborted.load(Ordering::SeqCst)
    }

    /// Runs `work` until it finishes (`Some`) or the call is aborted
    /// (`None`; `work` is dropped, which cancels it).
    pub(crate) async fn run<F: Future>(&self, work: F) -> Option<F::Output> {
        let mut work = pin!(work);
        let mut notified = pin!(self.state.notify.notified());
        std::future::poll_fn(|cx| {
            // Registered before the flag is read, so an abort between the
            // two still wakes this task.
            let woken = notified.as_mut().poll(cx).is_ready();
            if woken || self.is_aborted() {
                return Poll::Ready(None);
            }
            work.as_mut().poll(cx).map(Some)
        })
        .await
    }
}
