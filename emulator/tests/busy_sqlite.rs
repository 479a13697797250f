//! SQLite: another process holding the database file's write lock longer
//! than the busy timeout (5 s) makes a write fail with a 503 saying the
//! database is busy, with `Retry-After` (BaasBox's answers too), instead of
//! a 500 or a hang; reads go on meanwhile (WAL), and writes succeed again
//! once the lock is gone.

use std::time::Duration;

use cloudmine_emulator::Emulator;
use reqwest::{Method, StatusCode};

mod support;
use support::{App, json_of};

const CM: App = App("app", "busy-key");

#[tokio::test]
async fn a_file_locked_elsewhere_is_a_503_then_served_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.sqlite");
    let emu = Emulator::builder()
        .app(CM.0, CM.1)
        .baasbox("bb-code")
        .database(&path)
        .start()
        .await
        .unwrap();
    let (s, _) = CM
        .call(&emu, Method::PUT, "text", Some(r#"{"k": {"v": 1}}"#))
        .await;
    assert_eq!(s, StatusCode::CREATED);

    // Another process (here: another connection) takes the write lock.
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let resp = CM
        .request(&emu, Method::POST, "text")
        .timeout(Duration::from_secs(60))
        .body(r#"{"k": {"v": 2}}"#)
        .send()
        .await
        .expect("an answer, not a hang");
    let retry_after = resp.headers().get("retry-after").cloned();
    let (s, body) = json_of(resp).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(
        support::message(&body),
        "the database is busy: another process held its file's write lock for 5 s; try again"
    );
    assert_eq!(retry_after.as_ref().map(|v| v.as_bytes()), Some(&b"1"[..]));
    // BaasBox's error shape says the same, with the header too.
    let resp = support::http()
        .post(format!("{}/baasbox/user", emu.base_url()))
        .header("x-baasbox-appcode", "bb-code")
        .json(&serde_json::json!({"username": "ada", "password": "long enough password"}))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()["retry-after"], "1");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["result"], "error", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("the database is busy")
    );
    // Reads are served while the lock is held.
    let (s, got) = CM.call(&emu, Method::GET, "text?keys=k", None).await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(got["success"]["k"]["v"], 1);

    other.execute_batch("ROLLBACK").unwrap();
    let (s, body) = CM
        .call(&emu, Method::POST, "text", Some(r#"{"k": {"v": 3}}"#))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, got) = CM.call(&emu, Method::GET, "text?keys=k", None).await;
    assert_eq!(got["success"]["k"]["v"], 3);
}
