//! A raw HTTP stub standing in for a network's API on loopback: it keeps
//! the head of every request and writes a fixed answer byte for byte, so a
//! test can send what no well-behaved server would (a body cut short, no
//! answer at all).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The request heads a stub received, in order.
pub type Seen = Arc<Mutex<Vec<String>>>;

/// Starts a stub whose every connection gets `answer()` written as it is
/// and then closed, or, where `answer()` is `None`, no answer for 60 s.
/// Returns its root (`http://127.0.0.1:PORT/api`) and what it received.
pub async fn raw_stub<F>(answer: F) -> (String, Seen)
where
    F: Fn() -> Option<String> + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}/api", listener.local_addr().unwrap());
    let seen = Seen::default();
    let log = Arc::clone(&seen);
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let (log, answer) = (Arc::clone(&log), Arc::clone(&answer));
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let n = conn.read(&mut buf).await.unwrap_or(0);
                log.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                let Some(answer) = answer() else {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    return;
                };
                let _ = conn.write_all(answer.as_bytes()).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    (root, seen)
}

/// The bearer token in a request `head` a stub received.
pub fn bearer(head: &str) -> String {
    head.lines()
        .find_map(|l| l.strip_prefix("authorization: Bearer "))
        .expect("a bearer token")
        .trim()
        .to_owned()
}
