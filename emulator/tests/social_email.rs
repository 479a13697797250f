//! Never two users with one email: a social login whose identity has the
//! email of an existing user is refused (409 page, `email_taken` outcome)
//! instead of creating a second user (issue 12, item 9).

use cloudmine_emulator::Emulator;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

mod support;
use support::{App, challenge, http, location};

const APP: &str = "app";
const KEY: &str = "email-key";
const CM: App = App(APP, KEY);
const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// Users of the app whose email is `email`, in any case.
async fn users_with_email(emu: &Emulator, email: &str) -> usize {
    let (s, body) = CM.call(emu, Method::GET, "account", None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["success"]
        .as_object()
        .expect("a map of users")
        .values()
        .filter(|u| {
            u["email"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
        .count()
}

#[tokio::test]
async fn a_social_login_never_takes_an_existing_users_email() {
    // The provider vouches for victim@example.com; a password user has it.
    let emu = support::builder()
        .app(APP, KEY)
        .identity("Mallory", "Victim@Example.com")
        .auto_consent(true)
        .start()
        .await
        .unwrap();
    let (s, body) = CM
        .call(
            &emu,
            Method::POST,
            "account/create",
            Some(&json!({"credentials": {"email": "victim@example.com", "password": "a long password"}}).to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");

    // With the loopback extension: the client is told, and the status call
    // carries the refusal (no session).
    let c = challenge(1);
    let consent = location(&CM.start_url(&emu, &c, "github", Some(REDIRECT), &[])).await;
    let callback = location(&consent).await;
    let end = location(&callback).await;
    let q: Vec<(String, String)> = reqwest::Url::parse(&end)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert!(q.contains(&("error".into(), "email_taken".into())), "{end}");
    let (s, body) = CM.status(&emu, &c, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["finished"], false);
    assert_eq!(body["error"], "email_taken");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("another user already has the email"),
        "{body}"
    );
    assert!(body.get("session_token").is_none());

    // Without it: the browser's page is a 409.
    let c = challenge(2);
    let consent = location(&CM.start_url(&emu, &c, "google", None, &[])).await;
    let callback = location(&consent).await;
    let r = http().get(&callback).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("another user already has the email")
    );
    assert_eq!(CM.status(&emu, &c, None).await.1["error"], "email_taken");

    assert_eq!(users_with_email(&emu, "victim@example.com").await, 1);
}

#[tokio::test]
async fn a_new_email_still_makes_a_new_user() {
    let emu = support::builder()
        .app(APP, KEY)
        .identity("Ada", "ada@example.com")
        .auto_consent(true)
        .start()
        .await
        .unwrap();
    let c = challenge(3);
    let consent = location(&CM.start_url(&emu, &c, "github", Some(REDIRECT), &[])).await;
    location(&location(&consent).await).await;
    let (_, body): (StatusCode, Value) = CM.status(&emu, &c, None).await;
    assert_eq!(body["finished"], true, "{body}");
    assert_eq!(users_with_email(&emu, "ada@example.com").await, 1);
}
