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

/// U+0000 in a key, an id, a user name or a file name. SQLite keeps it;
/// PostgreSQL's text cannot hold it, so there every such request is a 400
/// saying so (never a 500), a write refused stores nothing of its batch,
/// and the app is served as before.
#[tokio::test]
async fn a_nul_in_keys_and_names_is_kept_or_refused_with_a_message() {
    let emu = support::builder().app(CM.0, CM.1).start().await.unwrap();
    let on_postgres = support::postgres::requested();
    let attempts: [(Method, &str, Option<&str>); 5] = [
        (
            Method::PUT,
            "text",
            // The bad key last: the good one before it is written first, so
            // nothing stored proves the batch is one transaction.
            Some(r#"{"fine": {"v": 2}, "a\u0000b": {"v": 1}}"#),
        ),
        (Method::GET, "text?keys=a%00b", None),
        (
            Method::POST,
            "account/create",
            Some(r#"{"credentials": {"username": "x\u0000y", "password": "pw"}}"#),
        ),
        (Method::POST, "binary/f%00x", Some("hi")),
        (Method::POST, "binary/fx?filename=a%00b", Some("hi")),
    ];
    for (method, path, body) in attempts {
        let (s, answer) = CM.call(&emu, method.clone(), path, body).await;
        if on_postgres {
            assert_eq!(s, StatusCode::BAD_REQUEST, "{method} {path}: {answer}");
            let message = support::message(&answer);
            assert!(
                message.starts_with("the NUL character (U+0000) is not accepted"),
                "{method} {path}: {answer}"
            );
        } else {
            assert!(s.is_success(), "{method} {path}: {s} {answer}");
        }
    }
    let (s, got) = CM.call(&emu, Method::GET, "text?keys=fine", None).await;
    assert_eq!(s, StatusCode::OK, "{got}");
    if on_postgres {
        assert_eq!(got["success"], json!({}), "nothing of the batch: {got}");
    } else {
        assert_eq!(got["success"]["fine"]["v"], 2, "{got}");
    }
    let (s, _) = CM
        .call(&emu, Method::PUT, "text", Some(r#"{"later": {"v": 3}}"#))
        .await;
    assert_eq!(s, StatusCode::CREATED);
}

/// The social login's pages and status call answer U+0000 as the JSON API
/// does (a review found them answering 500): a start whose scope holds one
/// is a 400 page on PostgreSQL (SQLite stores it and goes on to the
/// provider); a callback `state` or a status challenge that the emulator
/// never issues is "unknown", without a lookup, on both.
#[tokio::test]
async fn the_social_login_answers_a_nul_without_a_500() {
    let emu = support::builder()
        .app(CM.0, CM.1)
        .identity("Ada", "ada@example.com")
        .start()
        .await
        .unwrap();
    let start = CM.start_url(
        &emu,
        &support::challenge(1),
        "github",
        None,
        &[("scope", "a\u{0}b")],
    );
    let resp = support::http().get(&start).send().await.unwrap();
    if support::postgres::requested() {
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let page = resp.text().await.unwrap();
        assert!(page.contains("U+0000) is not accepted"), "{page}");
    } else {
        assert!(resp.status().is_redirection(), "{}", resp.status());
    }

    let callback = CM.url(&emu, "account/social/callback?state=a%00b");
    let resp = support::http().get(&callback).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("This sign-in is unknown or expired."),
        "{page}"
    );

    let (s, body) = CM
        .status(&emu, &format!("{}%00", support::challenge(2)), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(
        support::message(&body),
        "unknown or expired login challenge"
    );
}
