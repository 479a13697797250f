//! The JS SDK's `searchES` (`POST v2/app/{app}[/user]/class/{class}/elasticsearch`):
//! refused with 501 and a message, after the usual checks — never a
//! silent empty answer.

use cloudmine_emulator::Emulator;
use reqwest::StatusCode;

mod support;
use support::user::User;
use support::{App, http, json_of, message};

const QUERY: &str = r#"{"query": {"match": {"name": "ada"}}}"#;

async fn post(emu: &Emulator, path: &str, key: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut req = http()
        .post(format!("{}/v2/app/{path}", emu.base_url()))
        .header("x-cloudmine-apikey", key)
        .body(QUERY);
    if let Some(token) = token {
        req = req.header("x-cloudmine-sessiontoken", token);
    }
    let (status, body) = json_of(req.send().await.unwrap()).await;
    (status, message(&body).to_owned())
}

#[tokio::test]
async fn search_es_is_a_501_with_a_pointer_to_the_query_language() {
    let emu = support::builder().app("app", "key").start().await.unwrap();
    let (status, text) = post(&emu, "app/class/person/elasticsearch", "key", None).await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
    assert!(
        text.contains("not served") && text.contains("search?q="),
        "{text}"
    );

    let token = User::seeded(&emu, App("app", "key"), "ada@example.com")
        .await
        .token;
    let path = "app/user/class/person/elasticsearch";
    let (status, _) = post(&emu, path, "key", Some(&token)).await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED);

    // The usual refusals come first.
    let (status, _) = post(&emu, path, "key", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no session");
    let (status, _) = post(&emu, "app/class/person/elasticsearch", "wrong", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "wrong key");
    let (status, _) = post(&emu, "nope/class/person/elasticsearch", "key", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "unknown app");
    let (status, _) = post(&emu, "app/text", "key", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "v2 serves nothing else");
}
