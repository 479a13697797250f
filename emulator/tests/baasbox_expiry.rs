//! BaasBox sessions expire: the only BaasBox test with a short session
//! lifetime (the others in `baasbox.rs` keep the default), polling until
//! the expiry is observed instead of sleeping a fixed time that a loaded
//! machine could outrun.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

mod support;
use support::{http, json_of};

const APP_CODE: &str = "1234567890";

#[tokio::test]
async fn sessions_expire() {
    let emu = support::builder()
        .app("cm-app", "cm-key")
        .baasbox(APP_CODE)
        .baasbox_session_ttl(Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    let req = |method: Method, path: &str| {
        http()
            .request(method, format!("{}/baasbox{path}", emu.base_url()))
            .header("X-BAASBOX-APPCODE", APP_CODE)
    };
    let user = json!({"username": "ada", "password": "long enough password"});
    let created = req(Method::POST, "/user").json(&user).send().await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let login = req(Method::POST, "/login")
        .json(&user)
        .send()
        .await
        .unwrap();
    let session = login.headers()["x-bb-session"].to_str().unwrap().to_owned();
    let me = || req(Method::GET, "/me").header("X-BB-SESSION", &session);

    let until = Instant::now() + Duration::from_secs(30);
    let body: Value = loop {
        let (s, b) = json_of(me().send().await.unwrap()).await;
        if s == StatusCode::UNAUTHORIZED {
            break b;
        }
        assert_eq!(s, StatusCode::OK, "valid until it expires: {b}");
        assert!(Instant::now() < until, "the session never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(body["bb_code"], "40101");
}
