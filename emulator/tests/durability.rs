//! `kill -9` mid-write loses no acknowledged write: a client writes objects
//! one by one, the process is killed while writes are under way, and a
//! restart on the same database has every write that was answered 2xx.
//! The database is a parameter: the same test runs on a SQLite file and on
//! PostgreSQL (skipped, visibly, outside CI when PostgreSQL is missing).
//! On PostgreSQL a file upload in flight is killed too: the acknowledged
//! files are whole after the restart, the interrupted one left nothing.

use std::sync::{Arc, Mutex};

use std::io::Write;
use std::net::TcpStream;

use reqwest::{Method, StatusCode};
use serde_json::Value;

mod support;
use support::binary::Running;
use support::shared::SharedDb;
use support::{App, sha256_hex};

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

/// PostgreSQL: a commit is acknowledged by the server before the answer,
/// so killing the emulator loses nothing answered.
#[tokio::test]
async fn postgres_keeps_every_acknowledged_write_through_kill_9() {
    let Some(db) = SharedDb::postgres() else {
        return;
    };
    acknowledged_writes_survive_kill_9(&db.db).await;
}

/// `n` bytes that differ for each `seed`.
fn bytes(seed: u32, n: u32) -> Vec<u8> {
    (0..n)
        .map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect()
}

/// An upload of `len` bytes to `binary/{key}` whose body is only partly
/// sent: 2 MiB, more than the socket buffers hold, so the server is
/// reading (and spooling) it when this returns.
fn start_partial_upload(running: &Running, key: &str, len: usize) -> TcpStream {
    let mut stream = TcpStream::connect(&running.addr).unwrap();
    let head = format!(
        "POST /v1/app/{}/binary/{key} HTTP/1.1\r\nHost: {}\r\nX-CloudMine-ApiKey: {}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {len}\r\n\r\n",
        APP.0, running.addr, APP.1
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&vec![7u8; 2 * 1024 * 1024]).unwrap();
    stream
}

/// One number from the test server, for `sql` in the schema of `db`.
fn count(db: &SharedDb, sql: &str) -> i64 {
    let schema = db.schema().expect("a schema in the URL");
    let sql = sql.replace("S.", &format!("{schema}."));
    support::postgres::psql(&sql)
        .unwrap()
        .parse()
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[tokio::test]
async fn postgres_files_acknowledged_survive_kill_9_and_the_one_in_flight_leaves_nothing() {
    let Some(db) = SharedDb::postgres() else {
        return;
    };
    let args = ["--db", db.db.as_str(), "--app", "app1:key1"];
    let mut running = Running::start(&args);
    let client = support::http();
    let mut kept = Vec::new();
    for n in 0..3u32 {
        let data = bytes(n, 1024 * 1024 + 1000 * n);
        let up = APP
            .request_via(
                &client,
                &running.base,
                Method::POST,
                &format!("binary/f{n}"),
            )
            .header("content-type", "application/octet-stream")
            .body(data.clone())
            .send()
            .await
            .unwrap();
        assert!(up.status().is_success(), "{}", up.status());
        kept.push((format!("f{n}"), data.len(), sha256_hex(&data)));
    }
    let _partial = start_partial_upload(&running, "partial", 8 * 1024 * 1024);
    running.child.kill().unwrap(); // SIGKILL, the upload half read
    running.child.wait().unwrap();

    let running = Running::start(&args);
    for (key, len, sha) in &kept {
        let got = APP
            .request_via(
                &client,
                &running.base,
                Method::GET,
                &format!("binary/{key}"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), StatusCode::OK, "{key}");
        let got = got.bytes().await.unwrap();
        assert_eq!((got.len(), &sha256_hex(&got)), (*len, sha), "{key}");
    }
    let partial = APP
        .request_via(&client, &running.base, Method::GET, "binary/partial")
        .send()
        .await
        .unwrap();
    assert_eq!(partial.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        count(&db, "SELECT count(*) FROM S.files WHERE key = 'partial'"),
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM S.file_chunks WHERE key = 'partial'"
        ),
        0
    );
    let orphans = "SELECT count(*) FROM S.file_chunks c WHERE NOT EXISTS \
         (SELECT 1 FROM S.files f WHERE (f.app_id, f.owner, f.key) = (c.app_id, c.owner, c.key))";
    assert_eq!(count(&db, orphans), 0, "no orphan chunks");
    let stored = "SELECT coalesce(sum(length(data)), 0) FROM S.file_chunks";
    let expected: usize = kept.iter().map(|(_, len, _)| len).sum();
    assert_eq!(
        count(&db, stored),
        expected as i64,
        "chunks hold exactly the kept files"
    );
}
