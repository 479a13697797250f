//! The listener's serving loop, on its own thread's current-thread runtime:
//! accept (at most [`MAX_CONNECTIONS`] at once), read one request head per
//! connection under a deadline and a size cap, answer it and close. The
//! callback's connection is handed over and answered once the login says
//! how it ended.

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

use super::super::landing::LandingPage;
use super::answer::{Arrival, Outcome};
use super::request::{Callback, Expected, MAX_HEAD_BYTES, MAX_LINE_BYTES, Verdict, judge};
use super::response::response;

/// The most connections served at once; a new one closes the oldest.
pub(crate) const MAX_CONNECTIONS: usize = 64;
/// How long a connection may take to send its whole request head.
pub(crate) const HEAD_DEADLINE: Duration = Duration::from_secs(5);
/// How long writing an answer may take.
pub(crate) const WRITE_DEADLINE: Duration = Duration::from_secs(2);
/// How long the callback's answer waits for the login to say how it ended.
pub(crate) const ANSWER_WAIT: Duration = Duration::from_secs(10);
/// The pause after a failed `accept` (e.g. out of descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// What every connection needs to know.
pub(crate) struct Context {
    pub(crate) expect: Expected,
    pub(crate) landing: LandingPage,
}

/// The callback and the connection it came on.
type Hit = (Callback, TcpStream);

/// Serves until `stop` fires (or its sender is dropped), or until the
/// callback came and its answer was written. Everything this opened is
/// closed when it returns (the caller drops the runtime).
pub(crate) async fn serve(
    listener: TcpListener,
    context: Arc<Context>,
    mut stop: oneshot::Receiver<()>,
    arrival: oneshot::Sender<Arrival>,
) {
    let (hits, mut arrived) = mpsc::channel::<Hit>(1);
    let mut live = Connections::default();
    let hit = {
        let mut accept = pin!(accept_loop(&listener, &mut live, &context, &hits));
        // In this order: a stop wins over a callback, a callback over
        // accepting more.
        poll_fn(|cx| {
            if Pin::new(&mut stop).poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            if let Poll::Ready(hit) = arrived.poll_recv(cx) {
                return Poll::Ready(hit);
            }
            accept.as_mut().poll(cx).map(|()| None)
        })
        .await
    };
    // The port is free from here, and no other request is served.
    drop(listener);
    live.abort_all();
    let Some((callback, stream)) = hit else {
        return;
    };
    let (reply, outcome) = oneshot::channel();
    if arrival.send(Arrival { callback, reply }).is_err() {
        tracing::debug!("the login stopped waiting before the browser came back");
    }
    let mut outcome = outcome;
    let mut deadline = pin!(tokio::time::sleep(ANSWER_WAIT));
    let outcome = poll_fn(|cx| {
        if let Poll::Ready(outcome) = Pin::new(&mut outcome).poll(cx) {
            return Poll::Ready(outcome.unwrap_or(Outcome::Unknown));
        }
        if Pin::new(&mut stop).poll(cx).is_ready() || deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Outcome::Unknown);
        }
        Poll::Pending
    })
    .await;
    write(stream, response(200, &outcome.page(&context.landing))).await;
}

/// Accepts forever; a failed `accept` (no descriptor left, a connection
/// reset while queued) is logged and retried after a pause, never fatal.
async fn accept_loop(
    listener: &TcpListener,
    live: &mut Connections,
    context: &Arc<Context>,
    hits: &mpsc::Sender<Hit>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                live.make_room();
                let task = tokio::spawn(connection(stream, Arc::clone(context), hits.clone()));
                live.push(task.abort_handle());
            }
            Err(e) => {
                tracing::debug!(error = %e, "the login listener could not accept a connection");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// The connections being served, oldest first.
#[derive(Default)]
struct Connections(VecDeque<AbortHandle>);

impl Connections {
    /// Forgets finished connections; at the cap, closes the oldest.
    fn make_room(&mut self) {
        self.0.retain(|task| !task.is_finished());
        while self.0.len() >= MAX_CONNECTIONS {
            if let Some(oldest) = self.0.pop_front() {
                oldest.abort();
            }
        }
    }

    fn push(&mut self, task: AbortHandle) {
        self.0.push_back(task);
    }

    fn abort_all(&mut self) {
        for task in self.0.drain(..) {
            task.abort();
        }
    }
}

/// One connection: read one head, then answer it (or hand the callback
/// over) and close.
async fn connection(mut stream: TcpStream, context: Arc<Context>, hits: mpsc::Sender<Hit>) {
    let read = tokio::time::timeout(HEAD_DEADLINE, read_head(&mut stream, &context.expect));
    let (status, why) = match read.await {
        // Closed, or failed, before a whole head: nothing to answer.
        Ok(None) => return,
        Err(_) => (408, "The request took too long."),
        Ok(Some(Verdict::Callback(callback))) => match hits.try_send((callback, stream)) {
            Ok(()) => return,
            Err(e) => {
                stream = e.into_inner().1;
                (400, "This sign-in link was already used.")
            }
        },
        Ok(Some(Verdict::Refuse { status, why })) => (status, why),
        Ok(Some(Verdict::Incomplete)) => (400, "The request is malformed."),
    };
    tracing::debug!(status, why, "login listener refused a request");
    write(stream, response(status, &context.landing.refusal(why))).await;
}

/// Reads until [`judge`] decides; never more than [`MAX_HEAD_BYTES`] + 1
/// bytes. `None` when the peer closes or the read fails first.
async fn read_head(stream: &mut TcpStream, expect: &Expected) -> Option<Verdict> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let room = (MAX_HEAD_BYTES + 1)
            .saturating_sub(head.len())
            .clamp(1, chunk.len());
        let n = stream.read(&mut chunk[..room]).await.ok()?;
        let read = chunk.get(..n).filter(|r| !r.is_empty())?;
        let before = head.len();
        head.extend_from_slice(read);
        // Judging is linear in the head: only when it can change the answer.
        let over = |limit: usize| before <= limit && head.len() > limit;
        if read.contains(&b'\n') || over(MAX_LINE_BYTES) || head.len() > MAX_HEAD_BYTES {
            match judge(&head, expect) {
                Verdict::Incomplete if head.len() > MAX_HEAD_BYTES => {
                    return Some(Verdict::Refuse {
                        status: 431,
                        why: "The request headers are too large.",
                    });
                }
                Verdict::Incomplete => {}
                verdict => return Some(verdict),
            }
        }
    }
}

/// Writes a whole answer and closes, within [`WRITE_DEADLINE`].
async fn write(mut stream: TcpStream, bytes: Vec<u8>) {
    let sent = tokio::time::timeout(WRITE_DEADLINE, async {
        stream.write_all(&bytes).await?;
        stream.shutdown().await
    })
    .await;
    match sent {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!(error = %e, "could not answer on the login listener"),
        Err(_) => tracing::debug!("an answer on the login listener was not read in time"),
    }
}
