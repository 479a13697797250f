//! The emulator's HTTP behaviour, driven with a plain HTTP client.

use std::time::Duration;

use cloudmine_emulator::{Emulator, Fault};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

mod support;
use support::{App, message};

const APP: &str = "app";
const KEY: &str = "emulator-test-secret";
const CM: App = App(APP, KEY);

async fn emulator() -> Emulator {
    support::builder()
        .app(APP, KEY)
        .snippet("echo", |input| {
            Ok(json!({"params": input.params, "user": input.user_id}))
        })
        .snippet("count_success", |input| {
            let n = input
                .response
                .as_ref()
                .and_then(|r| r["success"].as_object())
                .map_or(0, |o| o.len());
            Ok(json!(n))
        })
        .snippet("fails", |_| Err("snippet said no".into()))
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn routing_errors() {
    let emu = emulator().await;
    let (s, b) = CM.call(&emu, Method::PATCH, "text", None).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED, "{b}");
    let (s, b) = CM.call(&emu, Method::GET, "nothing/here", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(message(&b).contains("no such endpoint: GET"), "{b}");
    let r = Client::new()
        .get(format!("{}/elsewhere", emu.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = Client::new()
        .get(format!("{}/v1/app/{APP}/text", emu.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "a missing key is refused"
    );
}

#[tokio::test]
async fn bad_parameters_and_bodies() {
    let emu = emulator().await;
    for (path, part) in [
        ("text?limit=abc", "limit"),
        ("text?limit=-2", "limit"),
        ("text?skip=-1", "skip"),
        ("text?count=maybe", "count"),
        ("text?keys=a,,b", "empty"),
        ("text?params=notjson", "params"),
        ("text?sort=:desc", "sort"),
        ("text?extended_responses=yes", "extended_responses"),
    ] {
        let (s, b) = CM.call(&emu, Method::GET, path, None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}");
        assert!(message(&b).contains(part), "{path}: {b}");
    }
    for body in ["[1]", "{}", r#"{"": 1}"#, "{bad"] {
        let (s, b) = CM.call(&emu, Method::PUT, "text", Some(body)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {b}");
    }
    let (s, b) = CM.call(&emu, Method::DELETE, "data", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(message(&b), "specify keys, all=true or q");
    let (s, b) = CM
        .call(&emu, Method::GET, "text?extended_responses=true", None)
        .await;
    assert_eq!(s, StatusCode::OK, "a valid value is taken: {b}");
    let (s, _) = CM
        .call(&emu, Method::POST, "search", Some(r#"{"query": "x"}"#))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = CM.call(&emu, Method::GET, "search", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn body_limit_is_413_with_our_envelope() {
    let emu = support::builder()
        .app(APP, KEY)
        .max_body_bytes(100)
        .start()
        .await
        .unwrap();
    let big = format!(r#"{{"k": "{}"}}"#, "x".repeat(200));
    let (s, b) = CM.call(&emu, Method::PUT, "text", Some(&big)).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(message(&b), "request body exceeds 100 bytes");
    let (s, _) = CM
        .call(&emu, Method::PUT, "text", Some(r#"{"k": 1}"#))
        .await;
    assert_eq!(s, StatusCode::CREATED);
}

#[tokio::test]
async fn paging_sorting_and_counting() {
    let emu = emulator().await;
    let objects = json!({
        "a": {"n": 3, "s": "x"}, "b": {"n": 1}, "c": {"n": 2, "s": "y"}, "d": {"s": "z"}, "e": 7
    });
    CM.call(&emu, Method::PUT, "text", Some(&objects.to_string()))
        .await;
    let keys = |b: &Value| {
        b["success"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    let (_, b) = CM.call(&emu, Method::GET, "text?sort=n", None).await;
    // Missing fields sort first, then numbers; ties by key.
    assert_eq!(keys(&b), ["d", "e", "b", "c", "a"]);
    let (_, b) = CM
        .call(
            &emu,
            Method::GET,
            "text?sort=n:desc&limit=2&count=true",
            None,
        )
        .await;
    assert_eq!(keys(&b), ["a", "c"]);
    assert_eq!(b["count"], 5);
    let (_, b) = CM
        .call(&emu, Method::GET, "text?sort=n:desc&limit=2&skip=2", None)
        .await;
    assert_eq!(keys(&b), ["b", "d"]);
    let (_, b) = CM
        .call(&emu, Method::GET, "text?limit=0&count=true", None)
        .await;
    assert_eq!(b["success"], json!({}));
    assert_eq!(b["count"], 5);
    let (_, b) = CM.call(&emu, Method::GET, "text?limit=-1", None).await;
    assert_eq!(keys(&b).len(), 5);
    let (_, b) = CM
        .call(
            &emu,
            Method::GET,
            "search?q=%5Bn%20%3E%3D%202%5D&count=true",
            None,
        )
        .await;
    assert_eq!(keys(&b), ["a", "c"]);
    assert_eq!(b["count"], 2);
    let (_, b) = CM
        .call(
            &emu,
            Method::POST,
            "search",
            Some(r#"{"q": "[s != \"x\"]"}"#),
        )
        .await;
    assert_eq!(keys(&b), ["b", "c", "d", "e"]);
}

#[tokio::test]
async fn snippets_run_and_post_process() {
    let emu = emulator().await;
    let (s, b) = CM
        .call(&emu, Method::GET, "run/echo?x=1&limit=5", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b, json!({"result": {"params": {"x": "1"}, "user": null}}));
    let (_, b) = CM
        .call(&emu, Method::POST, "run/echo", Some(r#"{"y": [1]}"#))
        .await;
    assert_eq!(b["result"]["params"], json!({"y": [1]}));
    let (s, b) = CM.call(&emu, Method::GET, "run/nope", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(message(&b), "unknown snippet: nope");
    let (s, b) = CM.call(&emu, Method::GET, "run/fails", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(message(&b), "snippet said no");

    CM.call(&emu, Method::PUT, "text", Some(r#"{"a": 1, "b": 2}"#))
        .await;
    let (_, b) = CM
        .call(&emu, Method::GET, "text?f=count_success", None)
        .await;
    assert_eq!(b["result"], 2);
    assert_eq!(b["success"], json!({"a": 1, "b": 2}));
    let (_, b) = CM
        .call(
            &emu,
            Method::GET,
            "text?f=count_success&result_only=true&async=true",
            None,
        )
        .await;
    assert_eq!(b, json!({"result": 2}));
    let (_, b) = CM
        .call(
            &emu,
            Method::GET,
            "text?f=echo&params=%7B%22k%22%3A1%7D",
            None,
        )
        .await;
    assert_eq!(b["result"]["params"], json!({"k": 1}));
}

#[tokio::test]
async fn sessions_scope_user_data() {
    let emu = emulator().await;
    let user = emu.create_user(APP, "u@example.com").await.unwrap();
    assert_eq!(user.len(), 32);
    let token = emu
        .create_session(APP, &user, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(token.len(), 64);
    assert!(
        emu.create_session(APP, "no-such-user", Duration::from_secs(1))
            .await
            .is_err()
    );
    let client = Client::new();
    let url = format!("{}/v1/app/{APP}/user/run/echo", emu.base_url());
    let b: Value = client
        .get(&url)
        .header("x-cloudmine-apikey", KEY)
        .header("x-cloudmine-sessiontoken", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(b["result"]["user"], user.as_str());
    for bad in ["", "0123"] {
        let r = client
            .get(&url)
            .header("x-cloudmine-apikey", KEY)
            .header("x-cloudmine-sessiontoken", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn hooks_record_fault_and_delay() {
    let emu = emulator().await;
    emu.inject_fault(Fault::status(503).path_suffix("/search"));
    let (s, b) = CM.call(&emu, Method::GET, "text", None).await;
    assert_eq!(s, StatusCode::OK, "the fault waits for its path: {b}");
    let (s, b) = CM.call(&emu, Method::GET, "search?q=x", None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(message(&b), "injected fault");
    let (s, _) = CM
        .call(&emu, Method::GET, "search?q=%5Ba%3D1%5D", None)
        .await;
    assert_eq!(s, StatusCode::OK, "a fault is used once");

    let requests = emu.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[1].path, "/v1/app/app/search");
    assert_eq!(requests[2].query_value("q"), Some("[a=1]"));
    assert!(!format!("{:?}", requests[0]).contains(KEY));
    emu.clear_requests();
    assert!(emu.requests().is_empty());

    // A delayed answer makes a request with a shorter timeout give up; with
    // the delay off, the same client gets its answer (within a generous
    // timeout: a loaded machine may take a while).
    emu.set_response_delay(Duration::from_secs(60));
    let client = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let url = format!("{}/v1/app/{APP}/text", emu.base_url());
    let e = client
        .get(&url)
        .header("x-cloudmine-apikey", KEY)
        .timeout(Duration::from_millis(100))
        .send()
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e}");
    emu.set_response_delay(Duration::ZERO);
    let r = client
        .get(&url)
        .header("x-cloudmine-apikey", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    emu.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_releases_the_port() {
    let emu = emulator().await;
    let addr = emu.local_addr();
    CM.call(&emu, Method::GET, "text", None).await;
    emu.shutdown().await.unwrap();
    std::net::TcpListener::bind(addr).expect("the port is free again");
}
