//! Secrets and attacker text in the social login (issue 12, items 1, 6, 9),
//! each against a real waiting login: the start URL of a linking login holds
//! a one-time ticket, never the session token; provider text reaching an
//! error's `Display` is escaped; a social identity never takes an email
//! another user has.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudmine::{BrowserOpener, HttpOpener, SocialNetwork};
use cloudmine_emulator::Emulator;
use support::*;

async fn auto_emulator(email: &str) -> Emulator {
    Emulator::builder()
        .app(APP, KEY)
        .identity("Mallory", email)
        .auto_consent(true)
        .start()
        .await
        .unwrap()
}

/// Records every URL it is given, then follows it as [`HttpOpener`] does.
#[derive(Clone, Default)]
struct Recording(Arc<Mutex<Vec<String>>>);

impl BrowserOpener for Recording {
    fn open(&self, url: &str) -> Result<(), String> {
        self.0.lock().unwrap().push(url.to_owned());
        HttpOpener::new().open(url)
    }
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_linking_login_puts_a_one_time_ticket_in_the_url_not_the_session() {
    let emu = auto_emulator("owner.gh@example.com").await;
    let (ws, user_id) = user_client(&emu, "owner@example.com").await;
    let session = ws.session_token().unwrap().secret().to_owned();
    let opener = Recording::default();
    let login = ws
        .login_social(SocialNetwork::Github)
        .opener(opener.clone())
        .timeout(Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(login.profile().id(), user_id, "linked to the same user");
    assert_eq!(login.profile().services(), ["github"]);

    let urls = opener.0.lock().unwrap().clone();
    assert_eq!(urls.len(), 1);
    let url = url::Url::parse(&urls[0]).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert!(
        !urls[0].contains(&session),
        "the session token is not in the URL"
    );
    assert!(!q.contains_key("session_token"));
    let ticket = &q["ticket"];
    assert_eq!(ticket.len(), 64);

    // Whoever read the URL cannot use its ticket again.
    let r = no_redirects().get(url.as_str()).send().await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::UNAUTHORIZED);
    let mut replay = url.clone();
    replay.query_pairs_mut().clear().extend_pairs(
        q.iter()
            .filter(|(k, _)| *k != "challenge")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain([("challenge", "A".repeat(43).as_str())]),
    );
    let r = no_redirects().get(replay.as_str()).send().await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::UNAUTHORIZED, "single use");
    assert!(r.text().await.unwrap().contains("already used"));
}

/// Plays the attacker: answers the waiting login's loopback listener with
/// an error whose description is made to drive a terminal.
#[derive(Clone, Default)]
struct HostileCallback;

const HOSTILE: &str = "\u{1b}[31mYOU ARE HACKED\u{7}\r\n2026-01-01 INFO forged log line";

impl BrowserOpener for HostileCallback {
    fn open(&self, url: &str) -> Result<(), String> {
        let url = url::Url::parse(url).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        let mut callback = url::Url::parse(&q["redirect_uri"]).unwrap();
        callback
            .query_pairs_mut()
            .append_pair("challenge", &q["challenge"])
            .append_pair("error", "server_error\u{1b}]0;title\u{7}")
            .append_pair("error_description", HOSTILE);
        tokio::runtime::Handle::current().spawn(async move {
            let _ = reqwest::get(callback.as_str()).await;
        });
        Ok(())
    }
}

#[tokio::test]
async fn provider_text_in_a_login_error_cannot_drive_a_terminal() {
    let emu = auto_emulator("ada@example.com").await;
    let e = client(&emu)
        .login_social(SocialNetwork::Github)
        .opener(HostileCallback)
        .timeout(Duration::from_secs(20))
        .await
        .unwrap_err();
    let shown = e.to_string();
    assert!(
        !shown.chars().any(char::is_control),
        "no control character printed: {shown:?}"
    );
    assert!(
        shown.contains("\\u{1b}[31mYOU ARE HACKED\\u{7}\\u{d}\\u{a}2026"),
        "{shown}"
    );
    // The typed error keeps what was received.
    match &e {
        cloudmine::Error::Login { description, .. } => assert_eq!(description, HOSTILE),
        other => panic!("not a login error: {other:?}"),
    }
}

#[tokio::test]
async fn a_social_login_with_a_taken_email_is_refused_and_makes_no_user() {
    let emu = auto_emulator("Victim@Example.com").await;
    let ws = client(&emu);
    ws.users()
        .create(
            cloudmine::Credentials::email("victim@example.com", "a long password"),
            serde_json::json!({}),
        )
        .await
        .unwrap();
    let e = client(&emu)
        .login_social(SocialNetwork::Github)
        .opener(HttpOpener::new())
        .timeout(Duration::from_secs(20))
        .await
        .unwrap_err();
    assert!(e.is_conflict(), "{e}");
    assert_eq!(e.login_error_code(), Some("email_taken"));
    assert!(
        e.to_string().contains("another user already has the email"),
        "{e}"
    );
    let all: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/v1/app/{APP}/account", emu.base_url()))
        .header("x-cloudmine-apikey", KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let with_email = all["success"]
        .as_object()
        .unwrap()
        .values()
        .filter(|u| {
            u["email"]
                .as_str()
                .is_some_and(|m| m.eq_ignore_ascii_case("victim@example.com"))
        })
        .count();
    assert_eq!(with_email, 1, "{all}");
}
