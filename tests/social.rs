//! Social login against the emulator's identity broker, with the HTTP opener.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudmine::{
    CallInfo, CallOptions, Event, EventEmitter, HttpOpener, LoginMode, ManualOpener, SocialNetwork,
};
use cloudmine_emulator::Emulator;
use serde_json::{Value, json};
use support::*;

#[tokio::test]
async fn full_flow_new_user_then_same_identity_same_user() {
    let emu = auto_emulator().await;
    let ws = client(&emu);
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = Arc::clone(&log);
    let login = ws
        .login_social(SocialNetwork::Github)
        .opener(HttpOpener::new())
        .timeout(Duration::from_secs(20))
        .on(Event::Open, move |d: &Value, _: &CallInfo| {
            l.lock().unwrap().push(format!("open:{}", d["opened"]))
        })
        .on(Event::Success, {
            let l = Arc::clone(&log);
            move |d: &Value, _: &CallInfo| {
                assert_eq!(d["session_token"], "[redacted]");
                l.lock().unwrap().push("success".into())
            }
        })
        .on(Event::Complete, {
            let l = Arc::clone(&log);
            move |_: &Value, _: &CallInfo| l.lock().unwrap().push("complete".into())
        })
        .await
        .unwrap();
    assert_eq!(*log.lock().unwrap(), ["open:true", "success", "complete"]);
    let id = login.profile().id().to_string();
    assert_eq!(login.profile().services(), ["github"]);
    assert_eq!(login.profile().fields()["__type__"], "user");
    assert!(login.expires().is_some());

    // The WebService is now logged in, and objects calls are user-scoped.
    assert_eq!(
        ws.session_token().unwrap().secret(),
        login.session_token().secret()
    );
    assert_eq!(ws.options().user_id(), Some(id.as_str()));
    ws.objects().set("mine", json!(1)).await.unwrap();
    let req = emu.requests().pop().unwrap();
    assert_eq!(req.path, format!("/v1/app/{APP}/user/text"));
    assert_eq!(
        req.header("x-cloudmine-sessiontoken"),
        Some(login.session_token().secret())
    );
    let e = client(&emu).objects().get(["mine"]).await.unwrap_err();
    assert!(
        e.key_errors().is_some(),
        "application data does not see the user's object"
    );

    // The same identity again, from a fresh client: the same user.
    let again = client(&emu)
        .login_social(SocialNetwork::Github)
        .opener(HttpOpener::new())
        .await
        .unwrap();
    assert_eq!(again.profile().id(), id);
    assert_ne!(
        again.session_token().secret(),
        login.session_token().secret()
    );
}

#[tokio::test]
async fn deny_is_a_typed_error_then_complete() {
    let emu = Emulator::builder()
        .app(APP, KEY)
        .identity("Ada Lovelace", "ada@example.com")
        .start()
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(10))
        .build()
        .unwrap();
    // An opener that presses "Deny" on the consent page with plain HTTP.
    let opener = move |url: &str| {
        let http = http.clone();
        let url = url.to_owned();
        tokio::spawn(async move {
            let page = http.get(&url).send().await.unwrap();
            let consent_url = page.url().clone();
            let html = page.text().await.unwrap();
            assert!(html.contains("Deny"), "{html}");
            let q: Vec<(String, String)> = consent_url.query_pairs().into_owned().collect();
            let field = |n: &str| {
                q.iter()
                    .find(|(k, _)| k == n)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let mut form = vec![("action".to_string(), "deny".to_string())];
            for name in ["client_id", "redirect_uri", "state", "scope"] {
                form.push((name.into(), field(name)));
            }
            let target = consent_url.join("consent").unwrap();
            let _ = http.post(target).form(&form).send().await;
        });
        Ok(())
    };
    let log = EventLog::default();
    let names = Arc::new(Mutex::new(Vec::new()));
    let n = Arc::clone(&names);
    let e = client(&emu)
        .login_social(SocialNetwork::Google)
        .opener(opener)
        .timeout(Duration::from_secs(20))
        .on(Event::Error, move |_: &Value, _: &CallInfo| {
            n.lock().unwrap().push("error")
        })
        .on(Event::Complete, {
            let n = Arc::clone(&names);
            move |_: &Value, _: &CallInfo| n.lock().unwrap().push("complete")
        })
        .await
        .unwrap_err();
    assert!(e.is_access_denied(), "{e}");
    assert_eq!(*names.lock().unwrap(), ["error", "complete"]);
    drop(log);
}

#[tokio::test]
async fn timeout_releases_the_port_and_drop_too() {
    let emu = auto_emulator().await;
    let ws = client(&emu);
    let port = Arc::new(Mutex::new(None));
    let p = Arc::clone(&port);
    // An opener that opens nothing but remembers the redirect port.
    let remember = move |url: &str| {
        let u = url::Url::parse(url).unwrap();
        let redirect = u
            .query_pairs()
            .find(|(k, _)| k == "redirect_uri")
            .unwrap()
            .1
            .into_owned();
        *p.lock().unwrap() = url::Url::parse(&redirect).unwrap().port();
        Err("not opened".to_string())
    };
    let e = ws
        .login_social(SocialNetwork::Github)
        .opener(remember.clone())
        .timeout(Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e}");
    let freed = port.lock().unwrap().take().unwrap();
    support::bind_within(freed, support::DEADLINE).expect("port released after the timeout");

    // Dropping the login future releases the port.
    let log = EventLog::default();
    let names = Arc::new(Mutex::new(Vec::new()));
    let n = Arc::clone(&names);
    let login = ws
        .login_social(SocialNetwork::Github)
        .opener(remember)
        .on(Event::Abort, move |_: &Value, _: &CallInfo| {
            n.lock().unwrap().push("abort")
        })
        .on(Event::Complete, {
            let n = Arc::clone(&names);
            move |_: &Value, _: &CallInfo| n.lock().unwrap().push("complete")
        });
    let mut future = std::future::IntoFuture::into_future(login);
    // Drive the login until its opener has seen the port (the login never
    // ends by itself: nobody opens the page).
    let until = std::time::Instant::now() + support::DEADLINE;
    let held = loop {
        assert!(
            tokio::time::timeout(Duration::from_millis(50), &mut future)
                .await
                .is_err(),
            "the login waits for a browser that never comes"
        );
        if let Some(held) = port.lock().unwrap().take() {
            break held;
        }
        assert!(
            std::time::Instant::now() < until,
            "the opener was never called"
        );
    };
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", held)).is_err(),
        "the listener holds its port while waiting"
    );
    // Dropping waits a bounded time for the listener's thread; poll for
    // the port with a generous deadline rather than demand it by then.
    drop(future);
    support::bind_within(held, support::DEADLINE).expect("port released when the login is dropped");
    assert_eq!(*names.lock().unwrap(), ["abort", "complete"]);
    drop(log);
}

#[tokio::test]
async fn manual_opener_emits_the_url() {
    let emu = auto_emulator().await;
    let seen = Arc::new(Mutex::new(None));
    let s = Arc::clone(&seen);
    let e = client(&emu)
        .login_social(SocialNetwork::Twitter)
        .opener(ManualOpener)
        .scope("email profile")
        .timeout(Duration::from_millis(200))
        .on(Event::Open, move |d: &Value, _: &CallInfo| {
            *s.lock().unwrap() = Some(d.clone())
        })
        .await
        .unwrap_err();
    assert!(e.is_timeout());
    let data = seen.lock().unwrap().clone().unwrap();
    assert_eq!(data["opened"], false);
    let url = url::Url::parse(data["url"].as_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(url.path(), format!("/v1/app/{APP}/account/social/login"));
    assert_eq!(q["service"], "twitter");
    assert_eq!(q["scope"], "email profile");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert!(q["challenge"].len() >= 32);
    assert!(q["redirect_uri"].starts_with("http://127.0.0.1:"));
    assert!(q["redirect_uri"].ends_with("/callback"));
    assert!(!q.contains_key("session_token"), "nobody to link");
}

#[tokio::test]
async fn linking_adds_the_network_to_the_same_user() {
    let emu = auto_emulator().await;
    let (ws, user_id) = user_client(&emu, "owner@example.com").await;
    let login = ws
        .login_social(SocialNetwork::Github)
        .opener(HttpOpener::new())
        .await
        .unwrap();
    assert_eq!(
        login.profile().id(),
        user_id,
        "linked to the logged-in user"
    );
    let login = ws
        .login_social(SocialNetwork::Google)
        .opener(HttpOpener::new())
        .await
        .unwrap();
    assert_eq!(login.profile().id(), user_id);
    let mut services = login.profile().services().to_vec();
    services.sort();
    assert_eq!(services, ["github", "google"]);

    // link(false): a separate login, as whoever holds the identity (here the
    // same user, since the identity was linked to them).
    let separate = ws
        .login_social(SocialNetwork::Dropbox)
        .link(false)
        .opener(HttpOpener::new())
        .await
        .unwrap();
    assert_ne!(
        separate.profile().id(),
        user_id,
        "dropbox was never linked: a new user"
    );

    // The identity now belongs to that new user: linking it to someone else is a conflict.
    let (other, _) = user_client(&emu, "other@example.com").await;
    let e = other
        .login_social(SocialNetwork::Dropbox)
        .opener(HttpOpener::new())
        .timeout(Duration::from_secs(20))
        .await
        .unwrap_err();
    assert!(e.is_conflict(), "{e}");
    assert_eq!(e.login_error_code(), Some("identity_conflict"));
}

#[tokio::test]
async fn polling_mode_against_a_server_without_redirects() {
    let emu = Emulator::builder()
        .app(APP, KEY)
        .auto_consent(true)
        .redirect_support(false)
        .start()
        .await
        .unwrap();
    let ws = client(&emu);
    let login = ws
        .login_social(SocialNetwork::Meetup)
        .mode(LoginMode::Polling {
            interval: Duration::from_millis(50),
        })
        .opener(HttpOpener::new())
        .timeout(Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(login.profile().services(), ["meetup"]);
    let statuses = emu
        .requests()
        .iter()
        .filter(|r| r.path.contains("/account/social/login/status/"))
        .count();
    assert!(statuses >= 1);
    assert!(
        emu.requests()
            .iter()
            .all(|r| r.query_value("code_verifier").is_none())
    );
}

#[tokio::test]
async fn invalid_login_options_fail_before_anything_opens() {
    let emu = auto_emulator().await;
    let opened = Arc::new(Mutex::new(false));
    let o = Arc::clone(&opened);
    let e = client(&emu)
        .login_social(SocialNetwork::Github)
        .timeout(Duration::ZERO)
        .opener(move |_: &str| {
            *o.lock().unwrap() = true;
            Ok(())
        })
        .await
        .unwrap_err();
    assert!(e.is_invalid(), "{e}");
    assert!(!*opened.lock().unwrap());
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let e = client(&emu)
        .login_social(SocialNetwork::Github)
        .port(port)
        .opener(ManualOpener)
        .await
        .unwrap_err();
    // A taken port is not a bad option: its own kind, naming the port.
    assert!(e.is_ports_unavailable(), "{e}");
    assert_eq!(e.unavailable_ports(), Some(&[port][..]));
}

#[tokio::test]
async fn unknown_login_challenge_is_not_found() {
    // The protocol's refusals are tested over HTTP in the emulator's
    // tests/social.rs; here, through the SDK's generic call.
    let emu = auto_emulator().await;
    let ws = client(&emu);
    let e = ws
        .api(
            cloudmine::Method::GET,
            "account/social/login/status/unknownchallenge0123456789abcdef",
        )
        .options(CallOptions::new())
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
}
