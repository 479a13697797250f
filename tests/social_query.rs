//! `ws.social_query(network, endpoint)` against the emulator: a user logged
//! in through the built-in identity provider queries its tiny API
//! (`/idp/api/echo` answers with what it received).

mod support;

use cloudmine::{Error, HttpOpener, Method, SocialNetwork, WebService, blocking};
use cloudmine_emulator::Emulator;
use serde::Deserialize;
use serde_json::{Value, json};
use support::*;

/// A client logged in through GitHub (the built-in provider).
async fn logged_in(emu: &Emulator) -> WebService {
    let ws = client(emu);
    ws.login_social(SocialNetwork::Github)
        .opener(HttpOpener::new())
        .await
        .unwrap();
    ws
}

/// The last request the emulator saw on a social query path.
fn last_query(emu: &Emulator) -> cloudmine_emulator::RecordedRequest {
    emu.requests()
        .into_iter()
        .rev()
        .find(|r| r.path.contains("/social/"))
        .expect("a social query reached the emulator")
}

#[derive(Deserialize)]
struct Echo {
    method: String,
    query: Vec<(String, String)>,
    headers: serde_json::Map<String, Value>,
    body: String,
}

#[tokio::test]
async fn get_with_params_and_headers_reaches_the_provider() {
    let emu = auto_emulator().await;
    let ws = logged_in(&emu).await;
    let answer = ws
        .social_query(SocialNetwork::Github, "echo")
        .param("q", "ada lovelace")
        .param("n", 3)
        .header("X-Extra", "yes")
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let echo: Echo = answer.json().unwrap();
    assert_eq!(echo.method, "GET");
    assert!(
        echo.query.contains(&("q".into(), "ada lovelace".into())),
        "{:?}",
        echo.query
    );
    assert!(
        echo.query.contains(&("n".into(), "3".into())),
        "{:?}",
        echo.query
    );
    assert_eq!(echo.headers["x-extra"], "yes");
    assert!(echo.headers.get("authorization").is_none());

    // On the wire: the user-level path, the session, `headers`/`params` as
    // JSON objects and no server params (as the JS SDK).
    let seen = last_query(&emu);
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.path, format!("/v1/app/{APP}/user/social/github/echo"));
    let names: Vec<&str> = seen.query.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["headers", "params"]);
    let headers: Value = serde_json::from_str(&seen.query[0].1).unwrap();
    assert_eq!(headers, json!({"X-Extra": "yes"}));
    let params: Value = serde_json::from_str(&seen.query[1].1).unwrap();
    assert_eq!(params, json!({"q": "ada lovelace", "n": 3}));
    assert_eq!(
        seen.header("x-cloudmine-sessiontoken"),
        ws.session_token().map(|t| t.secret().to_owned()).as_deref()
    );
}

#[tokio::test]
async fn without_extras_no_query_and_server_params_are_not_sent() {
    let emu = auto_emulator().await;
    let ws = logged_in(&emu).await;
    ws.update_options(cloudmine::CallOptions::new().limit(5).count(true))
        .unwrap();
    let me: Value = ws
        .social_query(SocialNetwork::Github, "/me")
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(me["email"], "ada@example.com");
    assert!(last_query(&emu).query.is_empty());
}

#[tokio::test]
async fn post_with_a_body_and_its_content_type() {
    let emu = auto_emulator().await;
    let ws = logged_in(&emu).await;
    let echo: Echo = ws
        .social_query(SocialNetwork::Github, "echo")
        .method(Method::POST)
        .body("status=Hello", "application/x-www-form-urlencoded")
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(echo.method, "POST");
    assert_eq!(echo.body, "status=Hello");
    let seen = last_query(&emu);
    assert_eq!(seen.body, b"status=Hello");
    assert_eq!(
        seen.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );

    // The JS SDK's default content type.
    ws.social_query(SocialNetwork::Github, "echo")
        .method(Method::PUT)
        .body(vec![0u8, 1, 2], "")
        .await
        .unwrap();
    let seen = last_query(&emu);
    assert_eq!(seen.method, "PUT");
    assert_eq!(seen.body, [0, 1, 2]);
    assert_eq!(
        seen.header("content-type"),
        Some("application/octet-stream")
    );

    let e = ws
        .social_query(SocialNetwork::Github, "echo")
        .body("x", "bad\nvalue")
        .await
        .unwrap_err();
    assert!(e.is_invalid(), "{e}");
}

#[tokio::test]
async fn the_answer_as_bytes_text_and_json() {
    let emu = auto_emulator().await;
    let ws = logged_in(&emu).await;
    let answer = ws
        .social_query(SocialNetwork::Github, "friends")
        .await
        .unwrap();
    assert_eq!(answer.bytes(), br#"{"friends":[]}"#);
    assert_eq!(answer.text().unwrap(), r#"{"friends":[]}"#);
    assert_eq!(answer.json::<Value>().unwrap(), json!({"friends": []}));
    assert!(
        answer
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let e = answer.json::<Vec<String>>().unwrap_err();
    assert!(e.is_decode(), "{e}");
    assert_eq!(answer.clone().into_bytes().len(), answer.bytes().len());
}

#[tokio::test]
async fn not_logged_in_is_refused_before_sending() {
    let emu = auto_emulator().await;
    let ws = client(&emu);
    let log = EventLog::default();
    let e = log
        .attach(ws.social_query(SocialNetwork::Github, "me"))
        .await
        .unwrap_err();
    assert!(e.is_not_logged_in(), "{e}");
    assert!(matches!(e, Error::NotLoggedIn { .. }));
    assert_eq!(e.to_string(), "must be logged in to perform a social query");
    assert_eq!(log.names(), ["error", "complete"]);
    assert!(emu.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_bad_endpoint_is_refused_before_sending() {
    let emu = auto_emulator().await;
    let ws = logged_in(&emu).await;
    let before = emu.requests().len();
    for endpoint in ["", "/", "a//b", "../me", "a/./b"] {
        let e = ws
            .social_query(SocialNetwork::Github, endpoint)
            .await
            .unwrap_err();
        assert!(e.is_invalid(), "{endpoint:?}: {e}");
    }
    assert_eq!(emu.requests().len(), before);
}

#[tokio::test]
async fn provider_error_statuses_are_errors_with_the_event_order() {
    let emu = auto_emulator().await;
    let ws = logged_in(&emu).await;
    let log = EventLog::default();
    let e = log
        .attach(
            ws.social_query(SocialNetwork::Github, "echo")
                .param("status", 404),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");
    assert_eq!(log.names(), ["notfound", "404", "error", "complete"]);

    let log = EventLog::default();
    let answer = log
        .attach(ws.social_query(SocialNetwork::Github, "echo"))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(log.names(), ["ok", "200", "success", "complete"]);
    assert_eq!(log.data("success").unwrap()["method"], "GET");

    // The server's own refusal: a session it does not know.
    ws.set_session_token("0".repeat(32)).unwrap();
    let e = ws
        .social_query(SocialNetwork::Github, "me")
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(401), "{e}");
}

#[tokio::test]
async fn secrets_stay_out_of_debug_and_errors() {
    let emu = auto_emulator().await;
    let ws = logged_in(&emu).await;
    let token = ws.session_token().unwrap().secret().to_owned();
    let query = ws
        .social_query(SocialNetwork::Github, "echo")
        .param("status", 500)
        .header("X-Extra", "secret-header-value");
    let shown = format!("{query:?}");
    assert!(
        !shown.contains(&token) && !shown.contains("secret-header-value"),
        "{shown}"
    );
    let e = query.await.unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(&token), "{shown}");
    assert!(!shown.to_lowercase().contains("bearer"), "{shown}");

    let answer = ws
        .social_query(SocialNetwork::Github, "echo")
        .await
        .unwrap();
    let shown = format!("{answer:?} {}", answer.text().unwrap());
    assert!(!shown.contains(&token), "{shown}");
    assert!(!shown.to_lowercase().contains("bearer"), "{shown}");
}

#[test]
fn blocking_social_query() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt.block_on(auto_emulator());
    let ws = blocking::WebService::new(builder(&emu)).unwrap();
    ws.login_social(SocialNetwork::Github)
        .opener(HttpOpener::new())
        .wait()
        .unwrap();
    let echo: Echo = ws
        .social_query(SocialNetwork::Github, "echo")
        .method(Method::DELETE)
        .wait()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(echo.method, "DELETE");
    ws.clear_session_token();
    let e = ws
        .social_query(SocialNetwork::Github, "echo")
        .wait()
        .unwrap_err();
    assert!(e.is_not_logged_in(), "{e}");
}

#[tokio::test]
async fn a_dropped_query_fires_abort_error_complete_and_a_slow_one_times_out() {
    let emu = auto_emulator().await;
    let ws = logged_in(&emu).await;
    emu.set_response_delay(std::time::Duration::from_secs(5));
    let log = EventLog::default();
    let call = log.attach(ws.social_query(SocialNetwork::Github, "me"));
    let outcome = tokio::time::timeout(std::time::Duration::from_millis(200), call).await;
    assert!(outcome.is_err(), "the query should still be running");
    assert_eq!(log.names(), ["abort", "error", "complete"]);

    let log = EventLog::default();
    let e = log
        .attach(ws.social_query(SocialNetwork::Github, "me"))
        .options(cloudmine::CallOptions::new().timeout(std::time::Duration::from_millis(200)))
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert_eq!(log.names(), ["error", "complete"]);
    emu.set_response_delay(std::time::Duration::ZERO);
}
