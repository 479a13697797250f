//! On PostgreSQL no statement waits for ever: every pooled connection has
//! a `lock_timeout` (5 s) and a `statement_timeout` (30 s), so a row held
//! by someone else or a statement that does not end makes the request fail
//! with a 503 saying why (and `Retry-After`) instead of hanging, and the
//! emulator serves again once the obstacle is gone. PostgreSQL only
//! (skipped outside CI when none can be started).

use std::time::Duration;

use cloudmine_emulator::Emulator;
use reqwest::{Method, StatusCode};
use serde_json::Value;

mod support;
use support::{App, json_of, postgres};

const CM: App = App("app", "timeout-key");

/// Longer than either timeout: a request still unanswered then hangs.
const PATIENCE: Duration = Duration::from_secs(120);

async fn start(url: &str) -> Emulator {
    Emulator::builder()
        .app(CM.0, CM.1)
        .database(url)
        .start()
        .await
        .unwrap()
}

/// Writes `body` to `text` with the emulator; the status and answer (with
/// the `Retry-After` header as `"retry_after"`).
async fn write(emu: &Emulator, method: Method, body: &str) -> (StatusCode, Value) {
    let r = CM
        .request(emu, method, "text")
        .timeout(PATIENCE)
        .body(body.to_owned())
        .send()
        .await
        .expect("an answer, not a hang");
    let retry_after = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (s, mut body) = json_of(r).await;
    body["retry_after"] = retry_after.into();
    (s, body)
}

/// A 503 saying why, with `Retry-After`: the client may try again.
fn assert_busy(s: StatusCode, body: &Value, why: &str) {
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let message = body["errors"][0].as_str().unwrap_or_default();
    assert!(message.contains(why), "{body}");
    assert_eq!(body["retry_after"], "1", "{body}");
}

#[tokio::test]
async fn a_row_held_elsewhere_fails_the_write_after_the_lock_wait() {
    let Some(url) = postgres::fresh_url() else {
        return;
    };
    let emu = start(&url).await;
    let (s, _) = write(&emu, Method::PUT, r#"{"k": {"v": 1}}"#).await;
    assert_eq!(s, StatusCode::CREATED);
    // Another client of the database holds the row.
    let (holder, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    holder
        .batch_execute("BEGIN; SELECT 1 FROM objects FOR UPDATE")
        .await
        .unwrap();
    let (s, body) = write(&emu, Method::POST, r#"{"k": {"v": 2}}"#).await;
    assert_busy(
        s,
        &body,
        "the database is busy: a record stayed locked for 5s",
    );
    holder.batch_execute("ROLLBACK").await.unwrap();
    let (s, body) = write(&emu, Method::POST, r#"{"k": {"v": 3}}"#).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, got) = CM.call(&emu, Method::GET, "text?keys=k", None).await;
    assert_eq!(got["success"]["k"]["v"], 3);
}

#[tokio::test]
async fn a_statement_that_does_not_end_is_cancelled() {
    let Some(url) = postgres::fresh_url() else {
        return;
    };
    let emu = start(&url).await;
    let schema = url.rsplit("search_path%3D").next().unwrap().to_owned();
    // Every insert into `objects` now sleeps for an hour.
    postgres::psql(&format!(
        "CREATE FUNCTION {schema}.stall() RETURNS trigger LANGUAGE plpgsql
             AS 'BEGIN PERFORM pg_sleep(3600); RETURN NEW; END';
         CREATE TRIGGER stall BEFORE INSERT ON {schema}.objects
             FOR EACH ROW EXECUTE FUNCTION {schema}.stall()"
    ))
    .unwrap();
    let (s, body) = write(&emu, Method::PUT, r#"{"new": {"v": 1}}"#).await;
    assert_busy(s, &body, "cancelled the statement: it ran longer than 30s");
    postgres::psql(&format!("DROP TRIGGER stall ON {schema}.objects")).unwrap();
    let (s, body) = write(&emu, Method::PUT, r#"{"new": {"v": 2}}"#).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
}
