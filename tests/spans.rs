//! Tracing spans and every field in them, captured from all threads (a
//! global subscriber: this binary has no other test that sets one), for a
//! password login, objects calls, a CloudMine social login and a BaasBox
//! flow: the spans are there, and no secret or query string is in them.

mod support;

use std::sync::mpsc;
use std::time::Duration;

use cloudmine::baasbox::{BaasBox, OAuthProvider};
use cloudmine::{
    CallInfo, CallOptions, Credentials, Event, EventEmitter, EventMessage, HttpOpener, Method,
    RetryPolicy, SocialNetwork,
};
use cloudmine_emulator::{Emulator, Fault};
use serde_json::{Value, json};
use support::logs::{Capture, capture_global};
use support::*;

const PASSWORD: &str = "span-secret-password";
const MASTER: &str = "span-master-key-91c2";
const BB_APP: &str = "bb-span-app-code";

/// The captured lines that belong to the SDK's spans (`cloudmine.*`).
fn span_lines(capture: &Capture) -> Vec<String> {
    capture
        .text()
        .lines()
        .filter(|l| l.contains("cloudmine."))
        .map(|l| l.replace('"', ""))
        .collect()
}

/// Fails when a secret or a query string is anywhere in the capture.
fn assert_clean(capture: &Capture, secrets: &[&str]) {
    let logs = capture.text();
    for (i, secret) in secrets.iter().enumerate() {
        assert!(!secret.is_empty());
        assert!(!logs.contains(secret), "secret #{i} is in the logs");
    }
    for marker in ["code_verifier", "apikey=", "keys=", "code="] {
        assert!(!logs.contains(marker), "{marker} in the logs: {logs}");
    }
    for word in logs.split_whitespace() {
        let url_like = word.contains("://") || word.starts_with("path=");
        assert!(!(url_like && word.contains('?')), "a query string: {word}");
    }
}

fn field_of<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let at = line.find(&format!("{name}="))? + name.len() + 1;
    line[at..]
        .split([' ', '}', ':'])
        .next()
        .map(|v| v.trim_matches('"'))
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_have_spans_without_secrets_or_queries() {
    let capture = capture_global();
    let emu = Emulator::builder()
        .app(APP, KEY)
        .master_key(APP, MASTER)
        .start()
        .await
        .unwrap();
    let ws = builder(&emu).master_key(MASTER).build().unwrap();
    let who = Credentials::email("spans@example.com", PASSWORD);
    let created = ws.users().create(who.clone(), json!({})).await.unwrap();
    let id = created.success()["__id__"].as_str().unwrap().to_owned();
    ws.users().login(who).await.unwrap();
    let token = ws.session_token().unwrap().secret().to_string();
    ws.objects().set("k", json!({"v": 1})).await.unwrap();
    ws.objects().get(["k"]).await.unwrap();
    ws.objects().search("[v = 1]").await.unwrap();
    ws.users()
        .admin()
        .update(&id, json!({"a": 1}))
        .await
        .unwrap();
    let bad = Credentials::email("spans@example.com", "wrong-span-password");
    ws.users().login(bad).await.unwrap_err();
    // A call sent three times: each attempt's span counts the ones before.
    emu.inject_fault(Fault::status(503).path_suffix("/retried"));
    emu.inject_fault(Fault::status(503).path_suffix("/retried"));
    let quick = RetryPolicy::new()
        .max_attempts(3)
        .base_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(1));
    let retries_seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let seen = retries_seen.clone();
    ws.api(Method::GET, "text/retried")
        .options(CallOptions::new().retry(quick))
        .on(Event::Complete, move |_: &Value, call: &CallInfo| {
            *seen.lock().unwrap() = Some(call.retries())
        })
        .await
        .unwrap_err();
    assert_eq!(*retries_seen.lock().unwrap(), Some(2));

    let lines = span_lines(&capture);
    let get = lines
        .iter()
        .find(|l| l.contains("close") && l.contains("method=GET path=/v1/app/test-app/user/text"))
        .unwrap_or_else(|| panic!("a closed span of the user-level get: {lines:#?}"));
    assert_eq!(field_of(get, "method"), Some("GET"), "{get}");
    assert_eq!(field_of(get, "level"), Some("user"), "{get}");
    assert_eq!(field_of(get, "status"), Some("200"), "{get}");
    assert_eq!(field_of(get, "retries"), Some("0"), "{get}");
    assert!(field_of(get, "duration_ms").is_some(), "{get}");
    let refused = lines
        .iter()
        .find(|l| l.contains("close") && l.contains("account/login") && l.contains("status=401"));
    assert!(refused.is_some(), "the refused login's span: {lines:#?}");
    assert!(
        lines.iter().any(|l| l.contains("level=application")),
        "app-level calls: {lines:#?}"
    );
    let attempts: Vec<_> = lines
        .iter()
        .filter(|l| l.contains("close") && l.contains("text/retried"))
        .map(|l| (field_of(l, "retries"), field_of(l, "status")))
        .collect();
    assert_eq!(
        attempts,
        [
            (Some("0"), Some("503")),
            (Some("1"), Some("503")),
            (Some("2"), Some("404"))
        ],
        "{lines:#?}"
    );
    let secrets = [token.as_str(), PASSWORD, "wrong-span-password", KEY, MASTER];
    assert_clean(&capture, &secrets);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_social_login_has_a_span_per_step_without_secrets() {
    let capture = capture_global();
    let emu = auto_emulator().await;
    let ws = client(&emu);
    let (tx, rx) = mpsc::channel::<EventMessage>();
    ws.login_social(SocialNetwork::Github)
        .opener(HttpOpener::new())
        .timeout(Duration::from_secs(30))
        .on(Event::Open, tx)
        .await
        .unwrap();
    let token = ws.session_token().unwrap().secret().to_string();
    let open = rx.try_recv().unwrap().data;
    let url = url::Url::parse(open["url"].as_str().unwrap()).unwrap();
    let key_in_url = url.query_pairs().any(|(k, v)| k == "apikey" && v == KEY);
    assert!(key_in_url, "the start URL carries the API key: {url}");

    let lines = span_lines(&capture);
    for step in ["listener_start", "browser_open", "callback", "status"] {
        assert!(
            lines.iter().any(|l| l.contains(&format!("step={step}"))),
            "no {step} step: {lines:#?}"
        );
    }
    assert!(
        lines.iter().any(|l| l.contains("outcome=returned")),
        "the callback came back: {lines:#?}"
    );
    // The start URL's API key stays out; the PKCE verifier (sent only in
    // the status call's query) is caught by `code_verifier`. The challenge
    // is public: it names the status call's path.
    assert_clean(&capture, &[token.as_str(), KEY]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_baasbox_flow_has_spans_without_secrets() {
    let capture = capture_global();
    let emu = Emulator::builder()
        .app("unused", "unused-key")
        .baasbox(BB_APP)
        .auto_consent(true)
        .identity("Grace Hopper", "grace@example.com")
        .start()
        .await
        .unwrap();
    let bb = BaasBox::builder()
        .base_url(format!("{}/baasbox", emu.base_url()))
        .app_code(BB_APP)
        .build()
        .unwrap();
    bb.signup("spanner", PASSWORD).await.unwrap();
    let password_token = bb.session_token().unwrap().secret().to_string();
    bb.login("spanner", "wrong-bb-password").await.unwrap_err();
    let provider = OAuthProvider::emulator(&emu.base_url(), "google").unwrap();
    bb.login_social("google", provider)
        .opener(HttpOpener::new())
        .timeout(Duration::from_secs(30))
        .await
        .unwrap();
    let social_token = bb.session_token().unwrap().secret().to_string();

    let lines = span_lines(&capture);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("path=/baasbox/login") && l.contains("status=401")),
        "the refused BaasBox login's span: {lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("level=other")),
        "BaasBox calls are not CloudMine levels: {lines:#?}"
    );
    let secrets = [
        password_token.as_str(),
        social_token.as_str(),
        PASSWORD,
        "wrong-bb-password",
        BB_APP,
    ];
    assert_clean(&capture, &secrets);
}
