//! `/healthz` and `/readyz`: the probes outside every app, and `/readyz`
//! refusing when the database is gone, replaced or held by another process.

use std::path::{Path, PathBuf};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use cloudmine_emulator::Emulator;

mod support;
use support::{App, http, json_of, message};

const APP: App = App("app1", "key1");

async fn start(db: &Path) -> Emulator {
    Emulator::builder()
        .app(APP.0, APP.1)
        .database(db)
        .start()
        .await
        .unwrap()
}

fn db_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("probe.sqlite")
}

async fn probe(emu: &Emulator, method: Method, path: &str) -> (StatusCode, Value) {
    let url = format!("{}{path}", emu.base_url());
    json_of(http().request(method, url).send().await.unwrap()).await
}

#[tokio::test]
async fn healthz_and_readyz_answer_200_without_a_key() {
    let emu = Emulator::builder().app(APP.0, APP.1).start().await.unwrap();
    let (status, body) = probe(&emu, Method::GET, "/healthz").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("alive"))
    );
    let (status, body) = probe(&emu, Method::GET, "/readyz?verbose=1").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ready"))
    );
}

#[tokio::test]
async fn head_answers_the_status_without_a_body() {
    let emu = Emulator::builder().app(APP.0, APP.1).start().await.unwrap();
    for path in ["/healthz", "/readyz"] {
        let url = format!("{}{path}", emu.base_url());
        let resp = http().head(url).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert!(resp.bytes().await.unwrap().is_empty(), "{path}");
    }
}

#[tokio::test]
async fn other_methods_and_paths_are_not_probes() {
    let emu = Emulator::builder().app(APP.0, APP.1).start().await.unwrap();
    for (method, path) in [
        (Method::POST, "/healthz"),
        (Method::DELETE, "/readyz"),
        (Method::GET, "/healthz/"),
        (Method::GET, "/readyz/x"),
    ] {
        let (status, _) = probe(&emu, method.clone(), path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
    }
}

#[tokio::test]
async fn probes_are_not_recorded() {
    let emu = Emulator::builder().app(APP.0, APP.1).start().await.unwrap();
    probe(&emu, Method::GET, "/healthz").await;
    probe(&emu, Method::GET, "/readyz").await;
    APP.call(&emu, Method::GET, "text", None).await;
    let paths: Vec<String> = emu.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/v1/app/app1/text"]);
}

/// A deleted database file: the open connection would go on writing into
/// a file no restart finds. Liveness stays 200; readiness says 503 and
/// does not name the path.
#[tokio::test]
async fn readyz_is_503_when_the_database_file_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let emu = start(&db).await;
    assert_eq!(probe(&emu, Method::GET, "/readyz").await.0, StatusCode::OK);
    std::fs::remove_file(&db).unwrap();
    let (status, body) = probe(&emu, Method::GET, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        message(&body),
        "the database is unavailable (see the server log)"
    );
    assert!(!body.to_string().contains("probe.sqlite"), "{body}");
    let resp = http()
        .head(format!("{}/readyz", emu.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(probe(&emu, Method::GET, "/healthz").await.0, StatusCode::OK);
}

/// Another file moved into the database's place (a restore done wrong).
#[tokio::test]
async fn readyz_is_503_when_the_database_file_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let emu = start(&db).await;
    let other = dir.path().join("other.sqlite");
    std::fs::copy(&db, &other).unwrap();
    std::fs::rename(&other, &db).unwrap();
    let (status, body) = probe(&emu, Method::GET, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
}

/// Another connection holds the write lock (a backup tool, a stuck
/// migration): the check waits for it longer than the deadline, so 503;
/// once the lock is gone, 200 again.
#[tokio::test]
async fn readyz_is_503_while_another_connection_holds_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let emu = start(&db).await;
    let locker = rusqlite::Connection::open(&db).unwrap();
    locker.execute_batch("BEGIN IMMEDIATE;").unwrap();
    let (status, body) = probe(&emu, Method::GET, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let expected = format!(
        "the database did not answer within {} ms",
        cloudmine_emulator::READY_DEADLINE.as_millis()
    );
    assert_eq!(message(&body), expected);
    assert_eq!(probe(&emu, Method::GET, "/healthz").await.0, StatusCode::OK);
    locker.execute_batch("COMMIT").unwrap();
    drop(locker);
    // The check that timed out finishes its busy wait; then it answers again.
    let mut ready = false;
    for _ in 0..20 {
        if probe(&emu, Method::GET, "/readyz").await.0 == StatusCode::OK {
            ready = true;
            break;
        }
    }
    assert!(ready, "/readyz answers 200 again once the lock is gone");
}
