//! The loopback listener that catches the browser's redirect (RFC 8252 §7.3).
//!
//! Bound to `127.0.0.1`, served on its own thread by a current-thread Tokio
//! runtime of its own, so it works whatever runtime (or none) the login
//! runs on, and a flood of hostile connections never touches the app's
//! runtime. Only `GET /callback` carrying the expected value (CloudMine's
//! `challenge`, or OAuth's `state`) completes the login; everything else gets
//! a small error page and the listener keeps waiting.
//!
//! Every connection gets one answer and is closed: the head must arrive
//! within a deadline and a size cap ([`request`] decides on its bytes), at
//! most [`serve::MAX_CONNECTIONS`] are served at once, and the thread is
//! stopped and joined with a bound when the listener is dropped. The
//! callback's own answer waits (bounded) until the login reports how it
//! ended ([`Answer::show`]), so the page can say who signed in.

mod answer;
mod request;
#[cfg(fuzzing)]
pub(crate) use request::{MAX_HEAD_BYTES, Verdict, judge};
mod response;
mod serve;

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;

use super::landing::LandingPage;
use super::ports::Ports;
use crate::{Error, Result};
pub(crate) use answer::{Arrival, Outcome};
pub(crate) use request::{Callback, Expected};
use serve::{Context, WRITE_DEADLINE};

/// How long dropping a listener waits for its thread: an answer still being
/// written has [`WRITE_DEADLINE`]; past this the thread is left to end by
/// itself.
const STOP_WAIT: Duration = WRITE_DEADLINE.saturating_add(Duration::from_secs(1));
/// How long starting waits for the thread's runtime.
const START_WAIT: Duration = Duration::from_secs(5);

/// A running listener. Dropping it stops the thread (answering a waiting
/// callback with the neutral page), releases the port and joins the thread,
/// within [`STOP_WAIT`].
pub(crate) struct Listener {
    port: u16,
    stop: Option<oneshot::Sender<()>>,
    finished: Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    /// Binds `127.0.0.1` on the first free port of `ports` and starts
    /// waiting for a callback whose `param` query parameter equals
    /// `expected`.
    pub(crate) fn start(
        ports: &Ports,
        param: &'static str,
        expected: String,
        landing: LandingPage,
    ) -> Result<(Self, oneshot::Receiver<Arrival>)> {
        let socket = ports.bind()?;
        let port = socket
            .local_addr()
            .map_err(|e| Error::invalid_option("port", format!("cannot read the bound port: {e}")))?
            .port();
        let cannot = |e: &dyn std::fmt::Display| {
            Error::invalid_option("port", format!("cannot serve on 127.0.0.1:{port}: {e}"))
        };
        socket.set_nonblocking(true).map_err(|e| cannot(&e))?;
        let expect = Expected {
            port,
            param,
            value: expected,
        };
        let context = Arc::new(Context { expect, landing });
        let (stop, stopped) = oneshot::channel();
        let (arrival, arrived) = oneshot::channel();
        let (ready, started) = sync_channel(1);
        let (done, finished) = sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("cloudmine-login-listener".into())
            .spawn(move || {
                run(socket, context, stopped, arrival, ready);
                let _ = done.send(());
            })
            .map_err(|e| cannot(&e))?;
        let mut listener = Listener {
            port,
            stop: Some(stop),
            finished,
            thread: Some(thread),
        };
        match started.recv_timeout(START_WAIT) {
            Ok(Ok(())) => {
                crate::trace::listener_started(port);
                Ok((listener, arrived))
            }
            Ok(Err(e)) => Err(cannot(&e)),
            Err(_) => {
                // Never joined: the thread did not say it started.
                listener.thread = None;
                Err(cannot(&"the listener thread did not start"))
            }
        }
    }

    /// The port the listener is bound to.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:{port}/callback`.
    pub(crate) fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/callback", self.port)
    }
}

/// The listener thread: its runtime, the serving loop, then the runtime is
/// dropped, which closes every socket still open.
fn run(
    socket: TcpListener,
    context: Arc<Context>,
    stop: oneshot::Receiver<()>,
    arrival: oneshot::Sender<Arrival>,
    ready: std::sync::mpsc::SyncSender<std::result::Result<(), String>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    let listener = {
        let _entered = runtime.enter();
        tokio::net::TcpListener::from_std(socket)
    };
    match listener {
        Ok(listener) => {
            let _ = ready.send(Ok(()));
            runtime.block_on(serve::serve(listener, context, stop, arrival));
        }
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
        }
    }
    drop(runtime);
}

impl Drop for Listener {
    fn drop(&mut self) {
        // Dropping the sender is the stop signal.
        drop(self.stop.take());
        match self.finished.recv_timeout(STOP_WAIT) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                if let Some(thread) = self.thread.take() {
                    let _ = thread.join();
                }
            }
            Err(RecvTimeoutError::Timeout) => tracing::debug!(
                port = self.port,
                "the login listener did not stop in time; it ends by itself"
            ),
        }
    }
}

/// The browser is back and waits for its page: [`show`](Self::show) it how
/// the login ended. Dropped without that, it shows the neutral page. Either
/// way the listener stops once the page is written.
pub(crate) struct Answer {
    reply: Option<oneshot::Sender<Outcome>>,
    // Declared after `reply`, so dropped after it: the thread has its
    // outcome (or knows none is coming) before it is asked to stop.
    _listener: Listener,
}

impl Answer {
    /// The listener, and where its waiting callback takes its outcome.
    pub(crate) fn new(listener: Listener, reply: oneshot::Sender<Outcome>) -> Self {
        Answer {
            reply: Some(reply),
            _listener: listener,
        }
    }

    /// Shows `outcome` in the browser, then stops the listener (within
    /// [`STOP_WAIT`]).
    pub(crate) fn show(mut self, outcome: Outcome) {
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(outcome);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::request::MAX_URL_BYTES;
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    const CHALLENGE: &str = "expected-challenge-0123456789abcdefghijklmnop";

    /// Sends raw bytes, returns the status line and body.
    fn raw(port: u16, request: &str) -> (String, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        // Read the head, then exactly Content-Length bytes (the listener
        // asks the client to close; it does not wait for us to).
        let mut answer = Vec::new();
        let mut byte = [0u8; 1];
        while !answer.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
            answer.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&answer).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        let _ = stream.read_exact(&mut body);
        answer.extend_from_slice(&body);
        let text = String::from_utf8_lossy(&answer).into_owned();
        let status = text.lines().next().unwrap_or("").to_owned();
        (status, text)
    }

    fn get(port: u16, target: &str, host: &str) -> (String, String) {
        raw(
            port,
            &format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        )
    }

    fn start() -> (Listener, oneshot::Receiver<Arrival>, u16) {
        let (listener, rx) = Listener::start(
            &Ports::default(),
            "challenge",
            CHALLENGE.into(),
            LandingPage::default(),
        )
        .unwrap();
        let port = listener.port();
        (listener, rx, port)
    }

    /// Requests for a wrong path or with a wrong challenge, each with the
    /// status it must get.
    fn bad_path_or_challenge(host: &str) -> Vec<(String, u16)> {
        vec![
            (
                format!("GET /favicon.ico HTTP/1.1\r\nHost: {host}\r\n\r\n"),
                404,
            ),
            (format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n"), 404),
            (
                format!("GET /callback HTTP/1.1\r\nHost: {host}\r\n\r\n"),
                400,
            ),
            (
                format!("GET /callback?challenge= HTTP/1.1\r\nHost: {host}\r\n\r\n"),
                400,
            ),
            (
                format!("GET /callback?challenge=wrong HTTP/1.1\r\nHost: {host}\r\n\r\n"),
                400,
            ),
            (
                format!("GET /callback?challenge={CHALLENGE}x HTTP/1.1\r\nHost: {host}\r\n\r\n"),
                400,
            ),
            (
                format!(
                    "GET /callback?challenge={CHALLENGE}&challenge=other HTTP/1.1\r\nHost: {host}\r\n\r\n"
                ),
                400,
            ),
            (
                format!("GET /callback?CHALLENGE={CHALLENGE} HTTP/1.1\r\nHost: {host}\r\n\r\n"),
                400,
            ),
        ]
    }

    /// Requests with a wrong method, host or length, or a tricky path, each
    /// with the status it must get.
    fn bad_method_host_or_shape(host: &str, port: u16, good: &str) -> Vec<(String, u16)> {
        let long = format!(
            "/callback?challenge={CHALLENGE}&pad={}",
            "a".repeat(MAX_URL_BYTES)
        );
        vec![
            (
                format!("POST {good} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n"),
                405,
            ),
            (
                format!("PUT {good} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n"),
                405,
            ),
            (
                format!("DELETE {good} HTTP/1.1\r\nHost: {host}\r\n\r\n"),
                405,
            ),
            (
                format!("GET {good} HTTP/1.1\r\nHost: evil.example\r\n\r\n"),
                400,
            ),
            (
                format!("GET {good} HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n"),
                400,
            ),
            (
                format!("GET {good} HTTP/1.1\r\nHost: 192.168.0.10:{port}\r\n\r\n"),
                400,
            ),
            (format!("GET {good} HTTP/1.1\r\n\r\n"), 400),
            (format!("GET {long} HTTP/1.1\r\nHost: {host}\r\n\r\n"), 414),
            (
                format!(
                    "GET /callback/../callback?challenge=wrong HTTP/1.1\r\nHost: {host}\r\n\r\n"
                ),
                404,
            ),
            (
                format!("GET /callback?challenge=%3Cscript%3E HTTP/1.1\r\nHost: {host}\r\n\r\n"),
                400,
            ),
        ]
    }

    /// Sends each request in turn: each gets its status, nothing is
    /// reflected unescaped, and the login is not completed.
    fn assert_each_refused(
        port: u16,
        cases: &[(String, u16)],
        rx: &mut oneshot::Receiver<Arrival>,
    ) {
        for (request, expected) in cases {
            let (status, text) = raw(port, request);
            assert!(
                status.contains(&expected.to_string()),
                "{request:?} → {status}"
            );
            assert!(!text.contains("<script>"), "nothing is reflected unescaped");
            assert!(
                rx.try_recv().is_err(),
                "{request:?} must not complete the login"
            );
        }
    }

    /// Bad requests at once, as browsers open parallel connections: each
    /// is refused, and the login is not completed.
    fn assert_parallel_refused(port: u16, host: &str, rx: &mut oneshot::Receiver<Arrival>) {
        let mut threads = Vec::new();
        for i in 0..12 {
            let target = if i % 2 == 0 {
                "/favicon.ico".to_string()
            } else {
                format!("/callback?challenge=bad{i}")
            };
            let host = host.to_owned();
            threads.push(std::thread::spawn(move || get(port, &target, &host).0));
        }
        for t in threads {
            let status = t.join().unwrap();
            assert!(status.contains("404") || status.contains("400"), "{status}");
        }
        assert!(rx.try_recv().is_err());
    }

    #[tokio::test]
    async fn hostile_requests_never_complete_the_login() {
        let (listener, mut rx, port) = start();
        let host = format!("127.0.0.1:{port}");
        let good = format!("/callback?challenge={CHALLENGE}");
        let mut cases = bad_path_or_challenge(&host);
        cases.extend(bad_method_host_or_shape(&host, port, &good));
        assert!(cases.len() >= 15);
        assert_each_refused(port, &cases, &mut rx);
        // Some at once, as browsers open parallel connections.
        assert_parallel_refused(port, &host, &mut rx);
        // Malformed bytes do not kill the listener either.
        let _ = raw(port, "\x00\x01garbage\r\n\r\n");

        // The real callback still works afterwards; its page waits for
        // the outcome and names who signed in.
        let browser = std::thread::spawn(move || get(port, &good, &host));
        let arrival = rx.await.unwrap();
        assert_eq!(arrival.callback, Callback::Done { code: None });
        Answer::new(listener, arrival.reply).show(Outcome::SignedIn {
            identity: Some("Ada <ada@example.com>".into()),
        });
        let (status, text) = browser.join().unwrap();
        assert!(status.contains("200"), "{status}");
        assert!(text.contains("data-status=\"success\""));
        assert!(
            text.contains("Signed in as Ada &lt;ada@example.com&gt;"),
            "{text}"
        );
        assert!(text.to_ascii_lowercase().contains("connection: close"));
    }

    #[tokio::test]
    async fn a_login_that_never_reports_gets_the_neutral_page() {
        let (listener, rx, port) = start();
        let target = format!("/callback?challenge={CHALLENGE}");
        let browser = std::thread::spawn(move || get(port, &target, &format!("127.0.0.1:{port}")));
        let arrival = rx.await.unwrap();
        // The login failed somewhere without saying how: dropped unanswered.
        drop(Answer::new(listener, arrival.reply));
        let (status, text) = browser.join().unwrap();
        assert!(status.contains("200"), "{status}");
        assert!(text.contains("data-status=\"unknown\""), "{text}");
    }

    #[tokio::test]
    async fn provider_error_ends_the_login_with_its_code() {
        let (listener, rx, port) = start();
        let target = format!(
            "/callback?challenge={CHALLENGE}&error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E"
        );
        let browser = std::thread::spawn(move || get(port, &target, &format!("localhost:{port}")));
        let arrival = rx.await.unwrap();
        assert_eq!(
            arrival.callback,
            Callback::Failed {
                code: "access_denied".into(),
                description: "<b>no</b>".into()
            }
        );
        Answer::new(listener, arrival.reply).show(Outcome::Failed {
            reason: "<b>no</b>".into(),
        });
        let (status, text) = browser.join().unwrap();
        assert!(status.contains("200"));
        assert!(text.contains("&lt;b&gt;no"), "the description is escaped");
    }

    #[test]
    fn dropping_releases_the_port() {
        let (listener, _rx, port) = start();
        // `Drop` waits a bounded time for the thread; on a loaded machine
        // the port may be released just after it returns, so poll for it
        // with a generous deadline instead of demanding it within that wait.
        drop(listener);
        bind_within(port, std::time::Duration::from_secs(30)).expect("the port is free again");
    }

    /// Binds `port` on loopback, retrying until `deadline` has passed.
    fn bind_within(
        port: u16,
        deadline: std::time::Duration,
    ) -> std::io::Result<std::net::TcpListener> {
        let end = std::time::Instant::now() + deadline;
        loop {
            match std::net::TcpListener::bind(("127.0.0.1", port)) {
                Ok(bound) => return Ok(bound),
                Err(e) if std::time::Instant::now() >= end => return Err(e),
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
    }

    #[test]
    fn a_taken_port_is_a_typed_error() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let e = Listener::start(
            &Ports::one(port),
            "challenge",
            CHALLENGE.into(),
            LandingPage::default(),
        )
        .err()
        .unwrap();
        assert!(e.is_ports_unavailable(), "{e}");
        assert_eq!(e.unavailable_ports(), Some(&[port][..]));
        assert!(e.to_string().contains("port 0"), "{e}");
    }
}
