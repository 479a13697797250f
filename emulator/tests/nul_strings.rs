//! A `\u0000` escape in a stored string is good JSON: it is stored, read
//! back exactly, and the object stays searchable by its other fields, on
//! both backends (`CLOUDMINE_TEST_DB=postgres` for PostgreSQL, whose
//! `jsonb` cannot hold U+0000 itself).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

mod support;
use support::App;
use support::user::User;

const CM: App = App("app", "nul-key");

/// The keys a search answers, sorted.
fn keys_of(body: &Value) -> Vec<String> {
    let mut keys: Vec<String> = body["success"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

#[tokio::test]
async fn a_nul_escape_is_stored_read_back_and_searchable_by_other_fields() {
    let emu = support::builder().app(CM.0, CM.1).start().await.unwrap();
    // `a` holds U+0000; `c` holds a backslash followed by the text "u0000"
    // (which must not be read as U+0000); `b` has neither.
    let body = r#"{"a": {"name": "x\u0000y", "deep": ["\u0000"], "tag": "t1"},
                   "b": {"name": "plain", "tag": "t2"},
                   "c": {"name": "\\u0000", "tag": "t1"}}"#;
    let (s, written) = CM.call(&emu, Method::PUT, "text", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{written}");
    assert_eq!(written["success"]["a"], "created");

    let (s, got) = CM.call(&emu, Method::GET, "text?keys=a,c", None).await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(got["success"]["a"]["name"], "x\u{0}y");
    assert_eq!(got["success"]["a"]["deep"], json!(["\u{0}"]));
    assert_eq!(got["success"]["c"]["name"], "\\u0000");

    let (s, found) = CM
        .call(&emu, Method::GET, "search?q=[tag=\"t1\"]", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{found}");
    assert_eq!(keys_of(&found), ["a", "c"]);
    assert_eq!(found["success"]["a"]["name"], "x\u{0}y");

    // An update merging into the object keeps the character too.
    let (s, _) = CM
        .call(
            &emu,
            Method::POST,
            "text",
            Some(r#"{"a": {"more": "\u0000!"}}"#),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, got) = CM.call(&emu, Method::GET, "text?keys=a", None).await;
    assert_eq!(got["success"]["a"]["name"], "x\u{0}y");
    assert_eq!(got["success"]["a"]["more"], "\u{0}!");
}

#[tokio::test]
async fn a_users_object_with_a_nul_escape_reads_back() {
    let emu = support::builder().app(CM.0, CM.1).start().await.unwrap();
    let ada = User::sign_up(&emu, CM, "ada@example.com").await;
    let (s, _) = ada
        .call(
            &emu,
            Method::PUT,
            "text",
            Some(json!({"n": {"v": "\u{0}"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, got) = ada.call(&emu, Method::GET, "text?keys=n", None).await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(got["success"]["n"]["v"], "\u{0}");
}
