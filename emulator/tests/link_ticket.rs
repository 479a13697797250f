//! Link tickets: a client linking a network trades its session for a
//! one-time ticket (`POST account/social/ticket`) and puts only the ticket
//! in the start URL (issue 12, item 1). The `session_token` parameter of
//! CloudMine's JavaScript SDK still works.

use std::time::Duration;

use cloudmine_emulator::Emulator;
use reqwest::{Method, StatusCode};
use serde_json::Value;

mod support;
use support::user::User;
use support::{App, challenge, http, json_of, location};

const APP: &str = "app";
const KEY: &str = "ticket-key";
const CM: App = App(APP, KEY);
const REDIRECT: &str = "http://127.0.0.1:9/callback";

async fn emulator() -> Emulator {
    support::builder()
        .app(APP, KEY)
        .app("other", "other-key")
        .identity("Mary", "mary.gh@example.com")
        .auto_consent(true)
        .start()
        .await
        .unwrap()
}

async fn ticket(emu: &Emulator, app: App, session: Option<&str>) -> (StatusCode, Value) {
    let mut req = app.request(emu, Method::POST, "account/social/ticket");
    if let Some(s) = session {
        req = req.header("x-cloudmine-sessiontoken", s);
    }
    json_of(req.send().await.unwrap()).await
}

/// Starts a login with `extra` pairs; the start's status and, for a 302,
/// where the login ended and its status call's body.
async fn login(emu: &Emulator, n: u32, extra: &[(&str, &str)]) -> (StatusCode, Option<Value>) {
    let c = challenge(n);
    let r = http()
        .get(CM.start_url(emu, &c, "github", Some(REDIRECT), extra))
        .send()
        .await
        .unwrap();
    if r.status() != StatusCode::FOUND {
        return (r.status(), None);
    }
    let consent = r.headers()["location"].to_str().unwrap().to_owned();
    location(&location(&consent).await).await;
    (StatusCode::FOUND, Some(CM.status(emu, &c, None).await.1))
}

#[tokio::test]
async fn a_ticket_links_once_and_only_for_its_user_and_app() {
    let emu = emulator().await;
    let User {
        id: user,
        token: session,
        ..
    } = User::seeded(&emu, CM, "mary@example.com").await;

    let (s, body) = ticket(&emu, CM, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "no session: {body}");
    let (s, _) = ticket(&emu, CM, Some("not-a-session")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, body) = ticket(&emu, CM, Some(&session)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["expires_in"], 120);
    let t = body["ticket"].as_str().unwrap().to_owned();
    assert!(!t.contains(&session));

    // Another app's start does not take it (nor spend it).
    let r = http()
        .get(App("other", "other-key").start_url(
            &emu,
            &challenge(1),
            "github",
            Some(REDIRECT),
            &[("ticket", &t)],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let (s, body) = login(&emu, 2, &[("ticket", &t)]).await;
    assert_eq!(s, StatusCode::FOUND);
    let body = body.unwrap();
    assert_eq!(body["finished"], true, "{body}");
    assert_eq!(body["profile"]["__id__"], user.as_str(), "linked, not new");

    // Used: refused with a page, no login started.
    let (s, _) = login(&emu, 3, &[("ticket", &t)]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a ticket is single use");
}

#[tokio::test]
async fn a_ticket_dies_with_its_session_and_the_js_parameter_still_works() {
    let emu = emulator().await;
    let User {
        id: user,
        token: session,
        ..
    } = User::seeded(&emu, CM, "mary@example.com").await;
    let t = ticket(&emu, CM, Some(&session)).await.1["ticket"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, _) = CM
        .request(&emu, Method::POST, "account/logout")
        .header("x-cloudmine-sessiontoken", &session)
        .send()
        .await
        .map(|r| (r.status(), ()))
        .unwrap();
    assert!(s.is_success());
    let (s, _) = login(&emu, 4, &[("ticket", &t)]).await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "the session it stood for ended"
    );

    // CloudMine's JavaScript SDK sends the session itself: still honoured.
    let session = emu
        .create_session(APP, &user, Duration::from_secs(600))
        .await
        .unwrap();
    let (s, body) = login(&emu, 5, &[("session_token", &session)]).await;
    assert_eq!(s, StatusCode::FOUND);
    assert_eq!(body.unwrap()["profile"]["__id__"], user.as_str());
}

/// One user asking for tickets in a loop must not stop others from linking:
/// before, 10,000 tickets in flight (from any one session) made every
/// user of every app get 503 for two minutes.
#[tokio::test]
async fn one_user_flooding_tickets_does_not_lock_out_others() {
    let emu = emulator().await;
    let flood = User::seeded(&emu, CM, "flood@example.com").await.token;
    let victim = User::seeded(&emu, App("other", "other-key"), "victim@example.com")
        .await
        .token;
    let first = ticket(&emu, CM, Some(&flood)).await.1["ticket"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (emu_url, flood) = (CM.url(&emu, "account/social/ticket"), flood.clone());
        tasks.spawn(async move {
            let client = http();
            for _ in 0..(10_000 / 16 + 1) {
                let r = client
                    .post(&emu_url)
                    .header("x-cloudmine-apikey", KEY)
                    .header("x-cloudmine-sessiontoken", &flood)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::OK);
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let (s, body) = ticket(&emu, App("other", "other-key"), Some(&victim)).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "another user still gets a ticket: {body}"
    );
    // The flooder's own oldest tickets are the ones dropped.
    let (s, _) = login(&emu, 7, &[("ticket", &first)]).await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "the flooder's first ticket is gone"
    );
}
