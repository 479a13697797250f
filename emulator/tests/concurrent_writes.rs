//! Concurrent writes from two instances of one database (a SQLite file, or
//! one PostgreSQL schema with `CLOUDMINE_TEST_DB=postgres`): none fails and
//! none is lost. Merges into one key from both instances all land (SQLite:
//! a transaction takes the file's write lock when it begins, so it waits
//! for the other process instead of failing when it goes from reading to
//! writing); batches naming the same keys in opposite orders never
//! deadlock (PostgreSQL: rows are locked in key order).

use cloudmine_emulator::{Emulator, EmulatorBuilder};
use reqwest::{Method, StatusCode};
use serde_json::Value;

mod support;
use support::App;
use support::shared::Pair;

const CM: App = App("app", "concurrent-key");

/// Requests sent at once, split between the two instances.
const WRITERS: usize = 80;

fn configure(builder: EmulatorBuilder) -> EmulatorBuilder {
    builder.app(CM.0, CM.1)
}

/// Sends `bodies[i]` as a `POST text` to A for even `i`, B for odd, all at
/// once; every answer's status with its body.
async fn post_all(p: &Pair, bodies: Vec<String>) -> Vec<(StatusCode, Value)> {
    // One client: building one per request would spread them out.
    let client = support::http();
    let mut tasks = Vec::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let emu: &Emulator = if i % 2 == 0 { &p.a } else { &p.b };
        let request = CM
            .request_via(&client, &emu.base_url(), Method::POST, "text")
            .body(body);
        tasks.push(tokio::spawn(async move {
            let resp = request.send().await.unwrap();
            support::json_of(resp).await
        }));
    }
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

fn assert_all_ok(answers: &[(StatusCode, Value)]) {
    let failed: Vec<_> = answers
        .iter()
        .filter(|(s, _)| *s != StatusCode::OK)
        .collect();
    assert!(failed.is_empty(), "{} failed: {failed:?}", failed.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn merges_into_one_key_from_two_instances_all_land() {
    let p = Pair::start(configure).await;
    let (s, _) = CM
        .call(&p.a, Method::PUT, "text", Some(r#"{"k": {"start": 0}}"#))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let bodies = (0..WRITERS)
        .map(|i| format!(r#"{{"k": {{"f{i}": {i}}}}}"#))
        .collect();
    assert_all_ok(&post_all(&p, bodies).await);
    let (_, got) = CM.call(&p.b, Method::GET, "text?keys=k", None).await;
    let fields = got["success"]["k"].as_object().unwrap();
    assert_eq!(fields.len(), WRITERS + 1, "every merge kept: {got}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batches_naming_keys_in_opposite_orders_never_deadlock() {
    let p = Pair::start(configure).await;
    let (s, _) = CM
        .call(
            &p.a,
            Method::PUT,
            "text",
            Some(r#"{"d1": {"v": 0}, "d2": {"v": 0}}"#),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let bodies = (0..WRITERS)
        .map(|i| match i % 4 {
            0 | 1 => format!(r#"{{"d1": {{"v": {i}}}, "d2": {{"v": {i}}}}}"#),
            _ => format!(r#"{{"d2": {{"v": {i}}}, "d1": {{"v": {i}}}}}"#),
        })
        .collect();
    let answers = post_all(&p, bodies).await;
    assert_all_ok(&answers);
    // The answer keeps the request's key order.
    let last = &answers[WRITERS - 1].1["success"];
    let keys: Vec<&String> = last.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["d2", "d1"], "{last}");
    // One batch won both keys: they agree.
    let (_, got) = CM.call(&p.b, Method::GET, "text?keys=d1,d2", None).await;
    assert_eq!(got["success"]["d1"], got["success"]["d2"], "{got}");
}
