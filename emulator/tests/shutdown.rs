//! Graceful shutdown of the binary: on SIGTERM it stops accepting, lets the
//! request in flight finish (200) and exits 0; a request that does not
//! finish within `--shutdown-grace` is cut off and the process still exits.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

mod support;
use support::binary::Running;

/// The head of a `PUT text` whose body of `len` bytes follows later; it
/// asks for `100 Continue`, which hyper sends when the handler starts
/// reading the body: the request is then in flight.
fn head(len: usize) -> String {
    format!(
        "PUT /v1/app/app1/text HTTP/1.1\r\nHost: emulator\r\nX-CloudMine-ApiKey: key1\r\n\
         Content-Type: application/json\r\nContent-Length: {len}\r\n\
         Expect: 100-continue\r\n\r\n"
    )
}

/// Reads until `needle` has arrived (or the connection ends), with a
/// read timeout as a liveness guard.
fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(needle) {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// A request whose body is half sent and being read by the server.
fn start_slow_put(running: &Running, body: &str) -> TcpStream {
    let mut stream = TcpStream::connect(&running.addr).unwrap();
    stream.write_all(head(body.len()).as_bytes()).unwrap();
    let interim = read_until(&mut stream, "\r\n\r\n");
    assert!(interim.starts_with("HTTP/1.1 100 Continue"), "{interim:?}");
    stream
        .write_all(&body.as_bytes()[..body.len() / 2])
        .unwrap();
    stream
}

fn sigterm(running: &Running) {
    let status = Command::new("kill")
        .args(["-TERM", &running.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// New connections are refused once the listener is closed (polled, with
/// a bound as a liveness guard: the signal is handled asynchronously).
fn wait_until_refused(addr: &str) {
    for _ in 0..400 {
        match TcpStream::connect(addr) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return,
            Err(e) => panic!("unexpected connect error: {e}"),
            Ok(_) => std::thread::sleep(Duration::from_millis(25)),
        }
    }
    panic!("the listener was not closed after SIGTERM");
}

#[test]
fn sigterm_drains_the_request_in_flight_then_exits_0() {
    let mut running = Running::start(&["--db", ":memory:", "--app", "app1:key1"]);
    let body = format!(r#"{{"drained": {{"pad": "{}"}}}}"#, "x".repeat(64 * 1024));
    let mut stream = start_slow_put(&running, &body);
    sigterm(&running);
    wait_until_refused(&running.addr);
    assert!(
        running.child.try_wait().unwrap().is_none(),
        "the process waits for the request in flight"
    );
    stream
        .write_all(&body.as_bytes()[body.len() / 2..])
        .unwrap();
    let answer = read_until(&mut stream, "}}");
    // 201: a new object (CloudMine's status for a create).
    assert!(answer.starts_with("HTTP/1.1 201 Created"), "{answer:?}");
    assert!(answer.contains("connection: close"), "{answer:?}");
    assert!(answer.contains(r#""drained":"created""#), "{answer:?}");
    let exit = running.child.wait().unwrap();
    assert!(exit.success(), "exit 0 after draining: {exit:?}");
}

/// A request that never finishes is cut off after `--shutdown-grace`
/// (here long before the 600 s body timeout), without an answer.
#[test]
fn a_request_past_the_shutdown_grace_is_cut_off() {
    let mut running = Running::start(&[
        "--db",
        ":memory:",
        "--app",
        "app1:key1",
        "--shutdown-grace",
        "0.5",
        "--body-timeout",
        "600",
    ]);
    let body = format!(r#"{{"stalled": {{"pad": "{}"}}}}"#, "x".repeat(1024));
    let mut stream = start_slow_put(&running, &body);
    sigterm(&running);
    let exit = running.child.wait().unwrap();
    assert!(exit.success(), "exit 0 after the grace period: {exit:?}");
    let answer = read_until(&mut stream, "HTTP/1.1");
    assert_eq!(answer, "", "no answer to a request cut off");
}

#[test]
fn a_zero_shutdown_grace_is_refused() {
    let out = Command::new(support::binary::bin())
        .args([
            "--db",
            ":memory:",
            "--app",
            "app1:key1",
            "--shutdown-grace",
            "0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--shutdown-grace"), "{err}");
}
