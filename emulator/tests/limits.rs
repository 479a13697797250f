//! A reachable emulator under attack by clients that hold it open or make
//! it work: half-sent requests, idle and half-header connections, more
//! connections than the cap, bodies sent to strangers, and a flood of
//! password hashing. Each runs against the real binary (its descriptors and
//! peak memory read from `/proc`) or the in-process server over real sockets.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use reqwest::Method;

mod support;
use support::App;
use support::binary::Running;

const APP: App = App("app1", "key1");
/// A liveness guard, not a measurement: what should happen in well under a
/// second must happen within this.
const GUARD: Duration = Duration::from_secs(10);

/// The binary with one app and an in-memory database, and `extra` flags.
fn start(extra: &[&str]) -> Running {
    let mut args = vec!["--db", ":memory:", "--app", "app1:key1"];
    args.extend_from_slice(extra);
    Running::start(&args)
}

fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(GUARD)).unwrap();
    s
}

/// Reads until the server closes: what it sent, or `None` when the guard
/// ran out first (the server held the connection).
fn read_until_closed(mut s: TcpStream) -> Option<String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Some(String::from_utf8_lossy(&out).into_owned()),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                return Some(String::from_utf8_lossy(&out).into_owned());
            }
            Err(_) => return None,
        }
    }
}

/// The first line of an HTTP answer that arrives before the guard runs out.
fn status_line(s: &mut TcpStream) -> String {
    let mut line = String::new();
    // Empty when the guard runs out first (the server still reading the body).
    let _ = BufReader::new(s).read_line(&mut line);
    line.trim_end().to_owned()
}

const HALF_SENT: &str = "PUT /v1/app/app1/text HTTP/1.1\r\nHost: x\r\n\
    X-CloudMine-ApiKey: key1\r\nContent-Type: application/json\r\n\
    Content-Length: 100\r\n\r\n{\"a\": 1, ";

/// A request that sends 10 of its 100 announced bytes used to wait forever;
/// 200 of them held 200 descriptors. Now each gets 408 when its body stalls
/// past the body timeout, and the descriptors go back to the baseline.
#[tokio::test]
async fn half_sent_bodies_get_408_and_their_connections_close() {
    let emu = start(&["--body-timeout", "0.3"]);
    let baseline = emu.fds();
    let held: Vec<TcpStream> = (0..200)
        .map(|_| {
            let mut s = connect(&emu.addr);
            s.write_all(HALF_SENT.as_bytes()).unwrap();
            s
        })
        .collect();
    for s in held {
        let answer = read_until_closed(s).expect("closed, not held open");
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("stalled"), "{answer}");
    }
    let after = emu.fds_return_to(baseline).await;
    assert!(after <= baseline, "{after} descriptors, {baseline} before");
}

/// A connection that never sends, one that stops inside its headers and a
/// kept-alive one that sends no next request are all closed.
#[tokio::test]
async fn idle_and_half_header_connections_are_closed() {
    let emu = start(&["--header-timeout", "0.3", "--idle-timeout", "0.3"]);
    let baseline = emu.fds();
    let silent = connect(&emu.addr);
    let mut half_header = connect(&emu.addr);
    half_header
        .write_all(b"GET /v1/app/app1/text HTTP/1.1\r\nHost: x\r\nX-Cloud")
        .unwrap();
    let mut kept_alive = connect(&emu.addr);
    kept_alive
        .write_all(b"GET /v1/app/app1/text HTTP/1.1\r\nHost: x\r\nX-CloudMine-ApiKey: key1\r\n\r\n")
        .unwrap();
    assert_eq!(read_until_closed(silent), Some(String::new()));
    assert_eq!(read_until_closed(half_header), Some(String::new()));
    let answer = read_until_closed(kept_alive).expect("closed after the answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let after = emu.fds_return_to(baseline).await;
    assert!(after <= baseline, "{after} descriptors, {baseline} before");
}

/// A connection that never sends a byte is closed by the header timeout,
/// not held for the keep-alive one: it used to hold its slot (of the 512)
/// for the idle timeout (60 s by default), so a client reconnecting once a
/// minute kept the server full.
#[tokio::test]
async fn a_silent_connection_gets_the_header_timeout_not_the_idle_one() {
    let emu = start(&["--header-timeout", "0.3", "--idle-timeout", "600"]);
    let baseline = emu.fds();
    let silent = connect(&emu.addr);
    assert_eq!(
        read_until_closed(silent),
        Some(String::new()),
        "closed within the guard"
    );
    let after = emu.fds_return_to(baseline).await;
    assert!(after <= baseline, "{after} descriptors, {baseline} before");
}

/// Past the connection cap new connections are closed at once; a normal
/// client is served again once the holders go.
#[tokio::test]
async fn connections_past_the_cap_are_closed_and_service_resumes() {
    let emu = start(&["--max-connections", "20", "--idle-timeout", "30"]);
    let baseline = emu.fds();
    let holders: Vec<TcpStream> = (0..20).map(|_| connect(&emu.addr)).collect();
    // The holders are accepted once the server has a descriptor for each.
    let deadline = Instant::now() + GUARD;
    while emu.fds() < baseline + 20 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    for _ in 0..10 {
        let mut excess = connect(&emu.addr);
        let _ = excess.write_all(b"GET /v1/app/app1/text HTTP/1.1\r\nHost: x\r\n\r\n");
        let _ = excess.shutdown(Shutdown::Write);
        assert_eq!(
            read_until_closed(excess),
            Some(String::new()),
            "closed unanswered"
        );
    }
    drop(holders);
    let deadline = Instant::now() + GUARD;
    let status = loop {
        let sent = APP.request_at(&emu.base, Method::GET, "text").send().await;
        match sent {
            Ok(r) => break r.status(),
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("not served again after the holders left: {e}"),
        }
    };
    assert_eq!(status, 200);
    let after = emu.fds_return_to(baseline).await;
    assert!(after <= baseline, "{after} descriptors, {baseline} before");
}

/// 200 parallel `account/create` (argon2 at ~19 MiB each) used to take
/// 4.0 GB. Hashing now runs a few at a time behind a bounded queue: every
/// answer is 201 or 503 with `Retry-After`, and the process's peak
/// memory stays far below the old figure.
#[tokio::test]
async fn parallel_account_creates_are_bounded() {
    let emu = start(&[]);
    let client = support::http();
    let creates = (0..200).map(|i| {
        let request = APP
            .request_via(&client, &emu.base, Method::POST, "account/create")
            .json(&serde_json::json!({"credentials": {
                "email": format!("u{i}@example.com"), "password": "a long password"}}));
        async move { request.send().await.unwrap() }
    });
    let answers = futures_join_all(creates).await;
    let mut created = 0;
    for r in &answers {
        match r.status().as_u16() {
            201 => created += 1,
            503 => assert_eq!(r.headers()["retry-after"], "1"),
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(created > 0, "some accounts are created");
    let peak = emu.peak_rss_mib();
    assert!(peak < 600, "peak RSS {peak} MiB");
}

/// Runs every future at once (tokio tasks), answers in order.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let tasks: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// A body sent to an unknown app, or with a wrong key, is refused before
/// it is read (the answer arrives while the client is still sending its
/// 8 MiB, under the 16 MiB body limit), and no body is recorded.
#[tokio::test]
async fn a_strangers_body_is_refused_unread() {
    let emu = support::builder()
        .app("app1", "key1")
        .start()
        .await
        .unwrap();
    let addr = emu.local_addr().to_string();
    let cases = [
        ("nope", "key1", "HTTP/1.1 404"),
        ("app1", "wrong", "HTTP/1.1 401"),
    ];
    for (app, key, expected) in cases {
        let answer = tokio::task::spawn_blocking({
            let addr = addr.clone();
            move || {
                let mut s = connect(&addr);
                let head = format!(
                    "PUT /v1/app/{app}/text HTTP/1.1\r\nHost: x\r\nX-CloudMine-ApiKey: {key}\r\n\
                     Content-Length: {}\r\n\r\n",
                    8 * 1024 * 1024
                );
                s.write_all(head.as_bytes()).unwrap();
                s.write_all(&[b'x'; 64 * 1024]).unwrap();
                // The rest is never sent: the answer comes anyway.
                status_line(&mut s)
            }
        })
        .await
        .unwrap();
        assert!(answer.starts_with(expected), "{app}/{key}: {answer}");
    }
    let recorded = emu.requests();
    assert_eq!(recorded.len(), 2);
    assert!(recorded.iter().all(|r| r.body.is_empty()), "no body kept");
}

/// The binary keeps no recorded requests: 2,000 refused requests with
/// 64 KiB bodies (read, then refused as bad JSON) leave its memory where it was.
#[tokio::test]
async fn the_binary_records_nothing() {
    let emu = start(&[]);
    let client = support::http();
    let body = vec![b'x'; 64 * 1024];
    for _ in 0..2_000 {
        let r = APP
            .request_via(&client, &emu.base, Method::PUT, "text")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
    }
    // 2,000 × 64 KiB = 125 MiB had they been kept.
    let peak = emu.peak_rss_mib();
    assert!(peak < 100, "peak RSS {peak} MiB");
}
