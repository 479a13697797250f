//! Log lines of social graph queries, captured: the provider token is in
//! none of them, even when the network's answer breaks off. Alone in its
//! test binary: `tracing` caches per-callsite interest globally.

use reqwest::{Method, StatusCode};

mod support;
use support::log::capture;
use support::social::query;
use support::stub::{Seen, bearer, raw_stub};
use support::{App, challenge, location};

const CM: App = App("app", "key");

/// A network API that promises 100 bytes, sends 5 and hangs up; returns
/// its root and the request heads it received.
async fn broken_stub() -> (String, Seen) {
    raw_stub(|| Some("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nhello".to_owned())).await
}

#[tokio::test(flavor = "current_thread")]
async fn the_provider_token_stays_out_of_the_log() {
    let (log, _guard) = capture();
    let (root, seen) = broken_stub().await;
    let emu = support::builder()
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

    let r = query(&emu, CM, session, Method::GET, "broken/timeline.json", &[])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    emu.shutdown().await.unwrap();

    let head = seen.lock().unwrap()[0].clone();
    let token = bearer(&head);
    let text = log.text();
    assert!(text.contains("social graph query"), "the failure is logged");
    assert!(!text.contains(&token), "{text}");
    assert!(!text.contains(session), "{text}");
}
