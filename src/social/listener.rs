//! The loopback listener that catches the browser's redirect (RFC 8252 §7.3).
//!
//! Bound to `127.0.0.1` on its own thread. Only `GET /callback` carrying the
//! expected value (CloudMine's `challenge`, or OAuth's `state`) completes the
//! login; everything else gets a small
//! error page and the listener keeps waiting. Every answer closes its
//! connection, so no kept-alive browser socket can hold the listener.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use std::io::Write;

use tiny_http::{Request, Server};
use tokio::sync::oneshot;

use super::landing::LandingPage;
use super::pkce::constant_time_eq;
use crate::{Error, Result};

/// The longest request line the listener reads; longer ones get 414.
pub(crate) const MAX_URL_BYTES: usize = 2048;
const POLL: Duration = Duration::from_millis(50);

/// What the browser brought back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Callback {
    /// The browser came back: CloudMine finished the login (ask the status
    /// endpoint), or the OAuth provider sent its authorization `code`.
    Done { code: Option<String> },
    /// The provider or the server refused (`error=…`).
    Failed { code: String, description: String },
}

/// A running listener. Dropping it stops the thread and releases the port.
pub(crate) struct Listener {
    port: u16,
    stop: Arc<AtomicBool>,
    server: Option<Arc<Server>>,
    thread: Option<JoinHandle<()>>,
}

/// How long dropping a listener waits for its port to be free again.
const RELEASE_WAIT: Duration = Duration::from_millis(100);

impl Listener {
    /// Binds `127.0.0.1:port` (0: any free port) and starts waiting for a
    /// callback whose `param` query parameter equals `expected`.
    pub(crate) fn start(
        port: u16,
        param: &'static str,
        expected: String,
        landing: LandingPage,
    ) -> Result<(Self, oneshot::Receiver<Callback>)> {
        let socket = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).map_err(|e| {
            Error::invalid_option(
                "port",
                format!("cannot listen on 127.0.0.1:{port}: {e}; use port 0 for any free port"),
            )
        })?;
        let port = socket.local_addr().map(|a| a.port()).unwrap_or(port);
        let server = Server::from_listener(socket, None).map_err(|e| {
            Error::invalid_option("port", format!("cannot serve on 127.0.0.1:{port}: {e}"))
        })?;
        let server = Arc::new(server);
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = oneshot::channel();
        let thread = {
            let server = Arc::clone(&server);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("cloudmine-login-listener".into())
                .spawn(move || {
                    let expect = Expected {
                        port,
                        param,
                        value: &expected,
                    };
                    serve(&server, &stop, &expect, &landing, tx)
                })
                .map_err(|e| {
                    Error::invalid_option("port", format!("cannot start the listener thread: {e}"))
                })?
        };
        Ok((
            Listener {
                port,
                stop,
                server: Some(server),
                thread: Some(thread),
            },
            rx,
        ))
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

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(server) = &self.server {
            server.unblock();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        // The last `Server` handle goes here; tiny_http's accept thread then
        // closes the socket. Wait (briefly) until it has, so the port is
        // really free when the login returns.
        drop(self.server.take());
        let deadline = std::time::Instant::now() + RELEASE_WAIT;
        while std::time::Instant::now() < deadline {
            match TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], self.port))) {
                Ok(_) => return,
                Err(_) => std::thread::sleep(Duration::from_micros(200)),
            }
        }
        tracing::debug!(
            port = self.port,
            "the login listener's port was not free within 100 ms"
        );
    }
}

/// What a callback must carry.
struct Expected<'a> {
    port: u16,
    param: &'static str,
    value: &'a str,
}

fn serve(
    server: &Server,
    stop: &AtomicBool,
    expect: &Expected<'_>,
    landing: &LandingPage,
    tx: oneshot::Sender<Callback>,
) {
    while !stop.load(Ordering::SeqCst) {
        let request = match server.recv_timeout(POLL) {
            Ok(Some(request)) => request,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "login listener stopped");
                return;
            }
        };
        if let Some(callback) = handle(request, expect, landing) {
            let _ = tx.send(callback);
            return;
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        414 => "URI Too Long",
        _ => "Error",
    }
}

/// Writes the whole response ourselves: tiny_http drops a handler's
/// `Connection` header, and the browser must be told to close, or a
/// kept-alive socket would hold a listener worker.
fn respond(request: Request, status: u16, html: String) {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\n\
         Content-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\n\
         Connection: close\r\n\
         Cache-Control: no-store\r\n\
         Referrer-Policy: no-referrer\r\n\
         X-Content-Type-Options: nosniff\r\n\
         Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n",
        reason(status),
        html.len()
    );
    if status == 405 {
        head.push_str("Allow: GET\r\n");
    }
    head.push_str("\r\n");
    let mut writer = request.into_writer();
    let written = writer
        .write_all(head.as_bytes())
        .and_then(|()| writer.write_all(html.as_bytes()))
        .and_then(|()| writer.flush());
    if let Err(e) = written {
        tracing::debug!(error = %e, "could not answer a request on the login listener");
    }
}

/// Answers one request; `Some` when it completes the login.
fn handle(request: Request, expect: &Expected<'_>, landing: &LandingPage) -> Option<Callback> {
    let port = expect.port;
    let refuse = |request: Request, status: u16, why: &str| {
        tracing::debug!(status, why, "login listener refused a request");
        respond(request, status, landing.refusal(why));
        None
    };
    if request.url().len() > MAX_URL_BYTES {
        return refuse(request, 414, "The address is too long.");
    }
    let host_ok = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Host"))
        .is_some_and(|h| {
            let host = h.value.as_str();
            host.eq_ignore_ascii_case(&format!("127.0.0.1:{port}"))
                || host.eq_ignore_ascii_case(&format!("localhost:{port}"))
        });
    if !host_ok {
        return refuse(
            request,
            400,
            "This address is not the one this app listens on.",
        );
    }
    let (path, query) = request.url().split_once('?').unwrap_or((request.url(), ""));
    if path != "/callback" {
        return refuse(request, 404, "Nothing here.");
    }
    if *request.method() != tiny_http::Method::Get {
        return refuse(request, 405, "Only GET is accepted here.");
    }
    let mut challenges = Vec::new();
    let (mut error, mut description, mut code) = (None, None, None);
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            n if n == expect.param => challenges.push(value.into_owned()),
            "code" => code = Some(value.into_owned()),
            "error" => error = Some(value.into_owned()),
            "error_description" => description = Some(value.into_owned()),
            _ => {}
        }
    }
    // Exactly one challenge, and the right one: a missing one is a refusal too.
    let matches = matches!(challenges.as_slice(), [c] if constant_time_eq(c, expect.value));
    if !matches {
        return refuse(request, 400, "This sign-in link is not for this login.");
    }
    match error {
        Some(code) => {
            let description = description.unwrap_or_else(|| code.clone());
            respond(request, 200, landing.failure(&description));
            Some(Callback::Failed { code, description })
        }
        None => {
            respond(request, 200, landing.success());
            Some(Callback::Done { code })
        }
    }
}

#[cfg(test)]
mod tests {
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

    fn start() -> (Listener, oneshot::Receiver<Callback>, u16) {
        let (listener, rx) =
            Listener::start(0, "challenge", CHALLENGE.into(), LandingPage::default()).unwrap();
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
        rx: &mut oneshot::Receiver<Callback>,
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
    fn assert_parallel_refused(port: u16, host: &str, rx: &mut oneshot::Receiver<Callback>) {
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

        // The real callback still works afterwards.
        let (status, text) = get(port, &good, &host);
        assert!(status.contains("200"), "{status}");
        assert!(text.contains("data-status=\"success\""));
        assert!(text.to_ascii_lowercase().contains("connection: close"));
        assert_eq!(rx.await.unwrap(), Callback::Done { code: None });
        drop(listener);
    }

    #[tokio::test]
    async fn provider_error_ends_the_login_with_its_code() {
        let (_listener, rx, port) = start();
        let target = format!(
            "/callback?challenge={CHALLENGE}&error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E"
        );
        let (status, text) = get(port, &target, &format!("localhost:{port}"));
        assert!(status.contains("200"));
        assert!(text.contains("&lt;b&gt;no"), "the description is escaped");
        assert_eq!(
            rx.await.unwrap(),
            Callback::Failed {
                code: "access_denied".into(),
                description: "<b>no</b>".into()
            }
        );
    }

    #[test]
    fn dropping_releases_the_port() {
        let (listener, _rx, port) = start();
        // `Drop` returns once the port can be bound again, or after
        // RELEASE_WAIT (100 ms) at most: binding right after it proves the
        // release happened within that bound, with no clock in the test.
        drop(listener);
        std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port is free again");
    }

    #[test]
    fn a_taken_port_is_a_typed_error() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let e = Listener::start(port, "challenge", CHALLENGE.into(), LandingPage::default())
            .err()
            .unwrap();
        assert!(e.is_invalid(), "{e}");
        assert!(e.to_string().contains("port 0"), "{e}");
    }
}
