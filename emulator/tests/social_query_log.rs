//! Log lines of social graph queries, captured: the provider token is in
//! none of them, even when the network's answer breaks off. Alone in its
//! test binary: `tracing` caches per-callsite interest globally.

use std::sync::{Arc, Mutex};

use cloudmine_emulator::Emulator;
use reqwest::{StatusCode, Url};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

mod support;
use support::{App, challenge, http, location};

const CM: App = App("app", "key");

/// A log writer that keeps every line.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A network API that promises 100 bytes, sends 5 and hangs up; returns
/// its root and the request heads it received.
async fn broken_stub() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}/api", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut buf = vec![0u8; 16 * 1024];
            let n = conn.read(&mut buf).await.unwrap_or(0);
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nhello")
                .await;
        }
    });
    (root, seen)
}

#[tokio::test(flavor = "current_thread")]
async fn the_provider_token_stays_out_of_the_log() {
    let log = Captured::default();
    let writer = log.clone();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish(),
    );
    let (root, seen) = broken_stub().await;
    let emu = Emulator::builder()
        .app(CM.0, CM.1)
        .auto_consent(true)
        .test_idp_api_base("broken", &root)
        .start()
        .await
        .unwrap();
    let c = challenge(1);
    let redirect = "http://127.0.0.1:9/callback";
    let authorize = location(&CM.start_url(&emu, &c, "broken", Some(redirect), &[])).await;
    let callback = location(&authorize).await;
    assert!(location(&callback).await.starts_with(redirect));
    let (_, status) = CM.status(&emu, &c, None).await;
    let session = status["session_token"].as_str().unwrap();

    let url = Url::parse(&CM.url(&emu, "user/social/broken/timeline.json")).unwrap();
    let r = http()
        .get(url)
        .header("x-cloudmine-apikey", CM.1)
        .header("x-cloudmine-sessiontoken", session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    emu.shutdown().await.unwrap();

    let head = seen.lock().unwrap()[0].clone();
    let token = head
        .lines()
        .find_map(|l| l.strip_prefix("authorization: Bearer "))
        .expect("a bearer token")
        .trim()
        .to_owned();
    let text = String::from_utf8_lossy(&log.0.lock().unwrap()).into_owned();
    assert!(text.contains("social graph query"), "the failure is logged");
    assert!(!text.contains(&token), "{text}");
    assert!(!text.contains(session), "{text}");
}
