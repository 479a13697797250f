//! The accept loop: HTTP/1.1 connections served by hyper, with a cap on
//! open connections and three deadlines, so that a client that stops
//! sending (or never starts) holds no socket, task or memory for long:
//!
//! - header: from the first byte of a request until its headers are in;
//! - body: between two pieces of a request body ([`IdleBody`]);
//! - idle: a connection with no request in flight and no bytes moving
//!   (keep-alive between requests, an answer the client does not read).
//!
//! A connection over the cap is closed as soon as it is accepted.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::response::Response;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, Sleep};

/// Default time a client has to send a request's headers, from its first byte.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default longest pause inside a request body.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time an idle connection (no request in flight, no bytes moving)
/// stays open.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default cap on open connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

/// Default time a stopping server waits for the requests in flight.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The connection limits of a server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub header: Duration,
    pub body: Duration,
    pub idle: Duration,
    pub max_connections: usize,
    /// How long a stopping server waits for the requests in flight.
    pub grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header: DEFAULT_HEADER_TIMEOUT,
            body: DEFAULT_BODY_TIMEOUT,
            idle: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

impl Limits {
    pub(crate) fn validate(&self) -> Result<(), String> {
        let zero = [self.header, self.body, self.idle, self.grace]
            .iter()
            .any(Duration::is_zero);
        if zero || self.max_connections == 0 {
            return Err(
                "timeouts, the shutdown grace and the connection cap must be greater than zero"
                    .into(),
            );
        }
        Ok(())
    }
}

/// The service a server runs: the router wrapped in the middleware.
pub(crate) trait App:
    tower::Service<Request, Response = Response, Error = Infallible, Future: Send>
    + Clone
    + Send
    + 'static
{
}

impl<S> App for S where
    S: tower::Service<Request, Response = Response, Error = Infallible, Future: Send>
        + Clone
        + Send
        + 'static
{
}

/// Serves `app` on `listener` until `stop` fires, then lets the requests in
/// flight finish.
pub(crate) fn spawn<S: App>(
    listener: TcpListener,
    app: S,
    limits: Limits,
) -> (oneshot::Sender<()>, JoinHandle<io::Result<()>>) {
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(accept_loop(listener, app, limits, stop_rx));
    (stop_tx, task)
}

async fn accept_loop<S: App>(
    listener: TcpListener,
    app: S,
    limits: Limits,
    mut stop: oneshot::Receiver<()>,
) -> io::Result<()> {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors and the like: wait a little, go on.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::warn!(
                max = limits.max_connections,
                "connection refused: too many open connections"
            );
            drop(stream);
            continue;
        };
        let watcher = graceful.watcher();
        tokio::spawn(connection(stream, app.clone(), limits, watcher, permit));
    }
    drop(listener);
    // Requests in flight finish; one that trickles on forever is not waited for.
    if tokio::time::timeout(limits.grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace period");
    }
    Ok(())
}

/// One connection, until it ends, a deadline passes or the server stops.
async fn connection<S: App>(
    stream: TcpStream,
    app: S,
    limits: Limits,
    watcher: Watcher,
    _slot: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let in_service = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let guard = InFlight::start(Arc::clone(&in_service));
        let request = request.map(|b| Body::new(IdleBody::new(b, limits.body)));
        let mut app = app.clone();
        async move {
            let response: Result<Response, Infallible> =
                tower::Service::call(&mut app, request).await;
            drop(guard);
            response
        }
    });
    let conn = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::select! {
        _ = watcher.watch(conn) => {}
        _ = watchdog(&activity, limits) => {
            tracing::debug!("connection closed: a deadline passed");
        }
    }
}

/// Resolves when the connection's current deadline has passed.
async fn watchdog(activity: &Activity, limits: Limits) {
    loop {
        let now = activity.now_ms();
        let deadline = if activity.in_flight.load(Ordering::Acquire) > 0 {
            None
        } else if let Some(start) = activity.head_started() {
            Some(start.saturating_add(millis(limits.header)))
        } else {
            Some(activity.last.load(Ordering::Acquire) + millis(limits.idle))
        };
        match deadline {
            Some(d) if d <= now => return,
            Some(d) => tokio::time::sleep(Duration::from_millis(d - now)).await,
            // A request in flight: its body has its own deadline.
            None => tokio::time::sleep(limits.header.min(limits.idle)).await,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX / 2)
}

const NO_HEAD: u64 = u64::MAX;

/// What a connection is doing, for its watchdog (milliseconds since `epoch`).
struct Activity {
    epoch: Instant,
    /// The last byte read or written.
    last: AtomicU64,
    /// The first byte of a request whose headers are not complete yet (for
    /// the first request: the accept).
    head_started: AtomicU64,
    /// Requests handed to the router and not answered yet.
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Activity {
            epoch: Instant::now(),
            last: AtomicU64::new(0),
            // The first head's clock starts at the accept, not at its first
            // byte: a connection that never sends gets the header timeout,
            // not the (longer) keep-alive one.
            head_started: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        millis(self.epoch.elapsed())
    }

    fn head_started(&self) -> Option<u64> {
        Some(self.head_started.load(Ordering::Acquire)).filter(|&t| t != NO_HEAD)
    }

    fn read(&self) {
        let now = self.now_ms();
        self.last.store(now, Ordering::Release);
        if self.in_flight.load(Ordering::Acquire) == 0 {
            let _ = self.head_started.compare_exchange(
                NO_HEAD,
                now,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
    }
}

/// Marks a request in flight for as long as it lives.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        activity.head_started.store(NO_HEAD, Ordering::Release);
        InFlight(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let now = self.0.now_ms();
        self.0.last.store(now, Ordering::Release);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The socket, noting every byte that moves.
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.read();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            let now = this.activity.now_ms();
            this.activity.last.store(now, Ordering::Release);
        }
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// A request body stalled longer than the body timeout.
#[derive(Debug)]
pub(crate) struct BodyTimeout(Duration);

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body stalled: no bytes for {} ms",
            self.0.as_millis()
        )
    }
}

impl std::error::Error for BodyTimeout {}

/// A request body that fails with [`BodyTimeout`] when no piece of it
/// arrives for `timeout` (the clock starts at the first wait).
struct IdleBody {
    inner: Incoming,
    timeout: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl IdleBody {
    fn new(inner: Incoming, timeout: Duration) -> Self {
        IdleBody {
            inner,
            timeout,
            sleep: None,
        }
    }
}

impl HttpBody for IdleBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.sleep = None;
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let timeout = this.timeout;
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimeout(timeout))))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
