//! The BaasBox client against the emulator's BaasBox front end: password
//! login, the four social routes and their errors, sessions, the browser
//! flow (HTTP opener, real headless Chromium), and wrong `state`.
#![cfg(feature = "baasbox")]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudmine::baasbox::{BaasBox, OAuthProvider};
use cloudmine::{Event, EventEmitter, HttpOpener, MemoryStore, SessionStore};
use cloudmine_emulator::Emulator;
use support::EventLog;
use support::browser::{Browser, url_catcher};

const APP_CODE: &str = "bb-app-code-123";

async fn emulator() -> Emulator {
    Emulator::builder()
        .app("unused", "unused-key")
        .baasbox(APP_CODE)
        .auto_consent(true)
        .identity("Grace Hopper", "grace@example.com")
        .start()
        .await
        .unwrap()
}

fn base(emu: &Emulator) -> String {
    format!("{}/baasbox", emu.base_url())
}

fn client(emu: &Emulator) -> BaasBox {
    BaasBox::builder()
        .base_url(base(emu))
        .app_code(APP_CODE)
        .build()
        .unwrap()
}

/// A GET on the loopback listener, as a browser would; the status line.
fn raw_get(url: &url::Url) -> Option<String> {
    use std::io::{Read, Write};
    let port = url.port()?;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.lines().next().map(str::to_owned)
}

#[test]
fn the_builder_refuses_bad_settings() {
    let e = BaasBox::builder().app_code("x").build().unwrap_err();
    assert!(e.is_invalid(), "{e}");
    let e = BaasBox::builder()
        .base_url("not a url")
        .app_code("x")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("base_url"), "{e}");
    let e = BaasBox::builder()
        .base_url("http://127.0.0.1:1")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("app_code"), "{e}");
    let bb = BaasBox::builder()
        .base_url("http://127.0.0.1:1")
        .app_code("s3cret-app-code")
        .build()
        .unwrap();
    assert!(!format!("{bb:?}").contains("s3cret-app-code"));
}

#[tokio::test]
async fn password_login_session_and_logout() {
    let emu = emulator().await;
    let bb = client(&emu);
    let err = bb.me().await.unwrap_err();
    assert!(matches!(err, cloudmine::Error::NoSession), "{err:?}");

    let user = bb.signup("ada", "correct horse battery").await.unwrap();
    assert_eq!(user.username, "ada");
    assert!(!user.generated_username);
    assert_eq!(user.raw["X-BB-SESSION"], "[redacted]");
    bb.logout().await.unwrap();
    assert!(bb.session_token().is_none());

    let log = EventLog::default();
    let err = log
        .attach(bb.login("ada", "wrong password!"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    assert!(
        err.to_string().contains("wrong user name or password"),
        "{err}"
    );
    assert_eq!(log.names(), ["unauthorized", "401", "error", "complete"]);

    let log = EventLog::default();
    let user = log
        .attach(bb.login("ada", "correct horse battery"))
        .await
        .unwrap();
    assert_eq!(log.names(), ["ok", "200", "success", "complete"]);
    assert_eq!(log.data("success").unwrap()["X-BB-SESSION"], "[redacted]");
    let token = bb.session_token().unwrap();
    assert!(!format!("{:?} {}", token, user.raw).contains(token.secret()));
    assert_eq!(bb.me().await.unwrap().username, "ada");
    assert_eq!(bb.username().as_deref(), Some("ada"));
    assert!(bb.social_logins().await.unwrap().is_empty(), "404 = none");

    bb.logout().await.unwrap();
    let err = bb.me().await.unwrap_err();
    assert!(matches!(err, cloudmine::Error::NoSession));
    // The old token is dead on the server too.
    bb.set_session_token(token, "ada");
    let err = bb.me().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(
        bb.session_token().is_none(),
        "a rejected session is forgotten"
    );
}

#[tokio::test]
async fn tokens_log_in_link_list_and_unlink() {
    let emu = emulator().await;
    let bb = client(&emu);
    let google = emu
        .provider_token("google", "Test Person", "grace@example.com")
        .await
        .unwrap();
    let user = bb
        .login_with_token("google", google.as_str(), google.as_str())
        .await
        .unwrap();
    assert!(user.generated_username);
    assert_eq!(user.networks, ["google"]);

    // The same identity logs in to the same user, with a new session.
    let first_session = bb.session_token().unwrap();
    let again = emu
        .provider_token("google", "Test Person", "grace@example.com")
        .await
        .unwrap();
    let same = bb
        .login_with_token("Google", again.as_str(), again.as_str())
        .await
        .unwrap();
    assert_eq!(same.username, user.username);
    assert_ne!(bb.session_token().unwrap(), first_session);

    let list = bb.social_logins().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].network, "google");
    assert_eq!(list[0].email.as_deref(), Some("grace@example.com"));
    assert_eq!(list[0].token.secret(), google);
    assert!(
        !format!("{:?}", list[0]).contains(&google),
        "tokens redacted"
    );

    let github = emu
        .provider_token("github", "Test Person", "grace@example.com")
        .await
        .unwrap();
    bb.link("github", github.as_str(), github.as_str())
        .await
        .unwrap();
    let networks: Vec<String> = bb
        .social_logins()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.network)
        .collect();
    assert_eq!(networks, ["github", "google"]);
    bb.unlink("github").await.unwrap();
    assert_eq!(bb.social_logins().await.unwrap().len(), 1);
    assert!(bb.me().await.unwrap().networks == ["google"]);

    // Errors, typed.
    let err = bb.unlink("github").await.unwrap_err();
    assert_eq!(err.status(), Some(404), "not linked: {err}");
    let err = bb.unlink("google").await.unwrap_err();
    assert!(err.is_conflict(), "the only login method: {err}");
    let err = bb.link("myspace", "t", "t").await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    let err = bb.link("google", "forged", "forged").await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    let err = bb.link("google", "", "").await.unwrap_err();
    assert!(err.is_invalid(), "{err}");

    // Another user cannot take Grace's identity.
    let other = client(&emu);
    other.signup("alan", "long enough password").await.unwrap();
    let grace = emu
        .provider_token("google", "Test Person", "grace@example.com")
        .await
        .unwrap();
    let err = other
        .link("google", grace.as_str(), grace.as_str())
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");

    // A wrong app code is refused.
    let wrong = BaasBox::builder()
        .base_url(base(&emu))
        .app_code("wrong")
        .build()
        .unwrap();
    let err = wrong
        .login("alan", "long enough password")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
}

#[tokio::test]
async fn saved_sessions_restore_and_clear() {
    let emu = emulator().await;
    let store = Arc::new(MemoryStore::new());
    let make = || {
        BaasBox::builder()
            .base_url(base(&emu))
            .app_code(APP_CODE)
            .savelogin(true)
            .session_store(Arc::clone(&store))
            .build()
            .unwrap()
    };
    let bb = make();
    bb.signup("kim", "long enough password").await.unwrap();
    let saved = store.load(&bb.store_key()).unwrap().unwrap();
    assert_eq!(saved.user_id.as_deref(), Some("kim"));
    assert!(!bb.store_key().app_id().contains(APP_CODE));

    let later = make();
    assert_eq!(later.restore().await.unwrap().username, "kim");
    // A saved session the server no longer knows is cleared by restore(),
    // even for a client that does not save logins itself.
    let reader = BaasBox::builder()
        .base_url(base(&emu))
        .app_code(APP_CODE)
        .session_store(Arc::clone(&store))
        .build()
        .unwrap();
    let saved = store.load(&bb.store_key()).unwrap().unwrap();
    store
        .save(
            &bb.store_key(),
            &cloudmine::StoredSession {
                session_token: "dead-session".into(),
                ..saved.clone()
            },
        )
        .unwrap();
    let err = reader.restore().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(store.load(&bb.store_key()).unwrap().is_none());
    store.save(&bb.store_key(), &saved).unwrap();
    later.logout().await.unwrap();
    assert!(store.load(&bb.store_key()).unwrap().is_none());
    let err = make().restore().await.unwrap_err();
    assert!(matches!(err, cloudmine::Error::NoSession), "{err:?}");
}

#[tokio::test]
async fn browser_flow_with_the_http_opener() {
    let emu = emulator().await;
    let bb = client(&emu);
    let provider = OAuthProvider::emulator(&emu.base_url(), "google").unwrap();
    let log = EventLog::default();
    let (tx, rx) = std::sync::mpsc::channel::<cloudmine::EventMessage>();
    let user = log
        .attach(
            bb.login_social("google", provider.clone())
                .opener(HttpOpener::new())
                .timeout(Duration::from_secs(30))
                .on(Event::Open, tx),
        )
        .await
        .unwrap();
    assert!(user.generated_username);
    assert_eq!(user.networks, ["google"]);
    assert_eq!(log.names(), ["ok", "200", "success", "complete"]);
    let open = rx.try_recv().unwrap().data;
    let url = url::Url::parse(open["url"].as_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["state"].len(), 43, "256-bit state");
    assert!(q["redirect_uri"].starts_with("http://127.0.0.1:"));

    // Logging in again reaches the same user.
    let again = bb
        .login_social("google", provider.clone())
        .opener(HttpOpener::new())
        .await
        .unwrap();
    assert_eq!(again.username, user.username);

    // Linking from a password account.
    let alan = client(&emu);
    alan.signup("alan", "long enough password").await.unwrap();
    let provider = OAuthProvider::emulator(&emu.base_url(), "github").unwrap();
    let linked = alan
        .login_social("github", provider)
        .opener(HttpOpener::new())
        .link(true)
        .await
        .unwrap();
    assert_eq!(linked.username, "alan");
    assert_eq!(linked.networks, ["github"]);
}

#[tokio::test]
async fn a_callback_with_the_wrong_state_is_refused() {
    let emu = emulator().await;
    let bb = client(&emu);
    let refused = Arc::new(Mutex::new(None::<String>));
    let seen = Arc::clone(&refused);
    // The "browser" comes back with a forged state: the listener refuses
    // it, keeps waiting, and the login times out.
    let opener = move |url: &str| {
        let url = url::Url::parse(url).map_err(|e| e.to_string())?;
        let redirect = url
            .query_pairs()
            .find(|(k, _)| k == "redirect_uri")
            .map(|(_, v)| v.into_owned())
            .ok_or("no redirect_uri")?;
        let seen = Arc::clone(&seen);
        let mut back = url::Url::parse(&redirect).map_err(|e| e.to_string())?;
        back.query_pairs_mut()
            .append_pair("code", "stolen")
            .append_pair("state", "forged");
        std::thread::spawn(move || {
            *seen.lock().unwrap() = raw_get(&back);
        });
        Ok(())
    };
    let provider = OAuthProvider::emulator(&emu.base_url(), "google").unwrap();
    let err = bb
        .login_social("google", provider)
        .opener(opener)
        .timeout(Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    let status = refused.lock().unwrap().clone().unwrap();
    assert!(status.contains("400"), "{status}");
    assert!(bb.session_token().is_none());
}

#[tokio::test]
async fn a_denied_consent_is_a_typed_login_error() {
    let emu = emulator().await;
    let bb = client(&emu);
    let provider = OAuthProvider::emulator(&emu.base_url(), "google").unwrap();
    // The "user" denies: the provider redirects with error=access_denied.
    let opener = move |url: &str| {
        let url = url::Url::parse(url).map_err(|e| e.to_string())?;
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        let mut back = url::Url::parse(&q["redirect_uri"]).unwrap();
        back.query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("state", &q["state"]);
        std::thread::spawn(move || raw_get(&back));
        Ok(())
    };
    let err = bb
        .login_social("google", provider)
        .opener(opener)
        .timeout(Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, cloudmine::Error::Login { code, .. } if code == "access_denied"),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_flow_in_headless_chromium() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let emu = Emulator::builder()
        .app("unused", "unused-key")
        .baasbox(APP_CODE)
        .identity("Ada Lovelace", "ada@example.com")
        .start()
        .await
        .unwrap();
    let bb = client(&emu);
    let (opener, rx) = url_catcher();
    let provider = OAuthProvider::emulator(&emu.base_url(), "facebook").unwrap();
    let login = tokio::spawn(std::future::IntoFuture::into_future(
        bb.login_social("facebook", provider)
            .opener(opener)
            .timeout(Duration::from_secs(60))
            .on(
                Event::Success,
                |_: &serde_json::Value, _: &cloudmine::CallInfo| {},
            ),
    ));
    let url = rx.await.unwrap();
    let c = &browser.client;
    c.goto(&url).await.unwrap();
    support::browser::consent_as(c, 0, "Ada Lovelace").await;
    let status = support::browser::login_status(c).await;
    assert_eq!(
        status.attr("data-status").await.unwrap().as_deref(),
        Some("success")
    );
    let user = login.await.unwrap().unwrap();
    assert!(user.generated_username);
    assert_eq!(user.networks, ["facebook"]);
    let accounts = bb.social_logins().await.unwrap();
    assert_eq!(accounts[0].email.as_deref(), Some("ada@example.com"));
    browser.close().await;
}
