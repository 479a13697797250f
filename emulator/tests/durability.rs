//! `kill -9` mid-write loses no acknowledged write: a client writes objects
//! one by one, the process is killed while writes are under way, and a
//! restart on the same database has every write that was answered 2xx.
//! The database is a parameter, so a PostgreSQL URL can run the same test.

use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::Value;

mod support;
use support::App;
use support::binary::Running;

const APP: App = App("app1", "key1");

/// Writes `k0`, `k1`, ... one at a time until a write fails, noting each
/// acknowledged one.
async fn write_until_refused(base: String, acked: Arc<Mutex<Vec<usize>>>) {
    let client = support::http();
    for n in 0.. {
        let body = format!(r#"{{"k{n}": {{"n": {n}}}}}"#);
        let sent = APP
            .request_via(&client, &base, Method::PUT, "text")
            .body(body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => acked.lock().unwrap().push(n),
            _ => return,
        }
    }
}

/// Runs the scenario on `db` (a `--db` value).
async fn acknowledged_writes_survive_kill_9(db: &str) {
    let args = ["--db", db, "--app", "app1:key1"];
    let mut running = Running::start(&args);
    let acked = Arc::new(Mutex::new(Vec::new()));
    let writer = tokio::spawn(write_until_refused(
        running.base.clone(),
        Arc::clone(&acked),
    ));
    // Kill once enough writes are acknowledged (a liveness bound guards it).
    for _ in 0..2000 {
        if acked.lock().unwrap().len() >= 100 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    running.child.kill().unwrap(); // SIGKILL
    running.child.wait().unwrap();
    writer.await.unwrap();
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 100,
        "only {} writes before the kill",
        acked.len()
    );

    let running = Running::start(&args);
    let client = support::http();
    for n in acked {
        let got: Value = APP
            .request_via(
                &client,
                &running.base,
                Method::GET,
                &format!("text?keys=k{n}"),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(got["success"][format!("k{n}")]["n"], n, "write {n}: {got}");
    }
}

/// SQLite in WAL mode with `synchronous=NORMAL`: a commit is in the WAL
/// file before the answer, so a process crash loses nothing answered.
#[tokio::test]
async fn sqlite_keeps_every_acknowledged_write_through_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("durable.sqlite");
    acknowledged_writes_survive_kill_9(db.to_str().expect("a UTF-8 temporary path")).await;
}
