//! Social graph queries through a configured real OAuth 2 provider: the
//! access token its token endpoint gave is the one sent to its `api_base`,
//! and never comes back to the caller. The provider is a small axum server
//! on loopback.

use std::collections::HashMap;

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};
use cloudmine_emulator::ProviderConfig;
use reqwest::Url;
use serde_json::json;

mod support;
use support::social::query;
use support::{App, challenge, http, json_of};

const CM: App = App("app", "key");
const TOKEN: &str = "upstream-access-token-0123456789";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// Authorize: straight back to the broker with a code.
async fn authorize(Query(q): Query<HashMap<String, String>>) -> Response {
    let mut back = Url::parse(&q["redirect_uri"]).unwrap();
    back.query_pairs_mut()
        .append_pair("code", "the-code")
        .append_pair("state", &q["state"]);
    Redirect::to(back.as_str()).into_response()
}

fn bearer_ok(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
}

/// The provider's API: whether the token came, and where.
async fn api(headers: HeaderMap, uri: Uri) -> Response {
    if !bearer_ok(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    axum::Json(json!({ "authorized": true, "path": uri.path(), "query": uri.query() }))
        .into_response()
}

async fn provider() -> String {
    let app = Router::new()
        .route("/authorize", get(authorize))
        .route(
            "/token",
            post(|| async { axum::Json(json!({ "access_token": TOKEN, "token_type": "bearer" })) }),
        )
        .route(
            "/userinfo",
            get(|headers: HeaderMap| async move {
                if !bearer_ok(&headers) {
                    return StatusCode::UNAUTHORIZED.into_response();
                }
                axum::Json(json!({ "id": 42, "name": "Up", "email": "up@example.com" }))
                    .into_response()
            }),
        )
        .route("/api/{*rest}", any(api));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    root
}

/// Follows 302s to the first Location outside the emulator and the provider.
async fn follow(url: &str) -> String {
    let mut next = url.to_owned();
    for _ in 0..10 {
        let r = http().get(&next).send().await.unwrap();
        let Some(l) = r.headers().get("location") else {
            panic!("no redirect from {next}: {}", r.status());
        };
        next = l.to_str().unwrap().to_owned();
        if next.starts_with(REDIRECT) {
            return next;
        }
    }
    panic!("redirect loop")
}

#[tokio::test]
async fn the_configured_providers_token_goes_to_its_api_base() {
    let root = provider().await;
    let emu = support::builder()
        .app(CM.0, CM.1)
        .provider(
            "corp",
            ProviderConfig {
                authorize_url: format!("{root}/authorize"),
                token_url: format!("{root}/token"),
                userinfo_url: format!("{root}/userinfo"),
                client_id: "client".into(),
                client_secret: "secret".into(),
                api_base: Some(format!("{root}/api/1.1")),
            },
        )
        .start()
        .await
        .unwrap();
    let c = challenge(1);
    follow(&CM.start_url(&emu, &c, "corp", Some(REDIRECT), &[])).await;
    let (s, status) = CM.status(&emu, &c, None).await;
    assert_eq!(s, StatusCode::OK, "{status}");
    let session = status["session_token"].as_str().unwrap();
    assert!(!status.to_string().contains(TOKEN));

    let r = query(
        &emu,
        CM,
        session,
        reqwest::Method::GET,
        "corp/statuses/home_timeline.json",
        &[("params", r#"{"count":5}"#)],
    )
    .send()
    .await
    .unwrap();
    let text = r.text().await.unwrap();
    assert!(!text.contains(TOKEN), "{text}");
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        body,
        json!({"authorized": true, "path": "/api/1.1/statuses/home_timeline.json", "query": "count=5"})
    );

    // The user's profile and the users API do not show it either.
    let (s, me) = json_of(
        CM.request(&emu, reqwest::Method::GET, "account/me")
            .header("x-cloudmine-sessiontoken", session)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert!(!me.to_string().contains(TOKEN), "{me}");
}
