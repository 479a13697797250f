//! A device login finished "on another device": a second headless Chromium
//! with a fresh profile (its own `--user-data-dir`, no cookies of the app)
//! opens the URL, shows the same user code as the app, and the user signs
//! in there while the SDK polls with its PKCE verifier.

mod support;

use std::time::Duration;

use cloudmine::{CallInfo, Event, EventEmitter, LoginMode, SocialNetwork};
use cloudmine_emulator::Emulator;
use fantoccini::Locator;
use serde_json::Value;
use support::browser::{Browser, artifact, url_catcher};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_login_completed_in_a_second_chromium_profile() {
    let Some(other_device) = Browser::start().await else {
        return;
    };
    let emu = Emulator::builder()
        .app(APP, KEY)
        .identity("Grace Hopper", "grace@example.com")
        .start()
        .await
        .unwrap();
    let ws = client(&emu);
    // The opener runs on a blocking thread and the `open` event follows
    // it: the code is read from the event, once it fired.
    let (shown, mut open_event) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let (opener, rx) = url_catcher();
    let login = tokio::spawn(std::future::IntoFuture::into_future(
        ws.login_social(SocialNetwork::Github)
            .mode(LoginMode::Device {
                interval: Duration::from_millis(100),
            })
            .opener(opener)
            .timeout(Duration::from_secs(60))
            .on(Event::Open, move |d: &Value, _: &CallInfo| {
                let _ = shown.send(d.clone());
            }),
    ));
    let url = rx.await.unwrap();
    let app_code = open_event.recv().await.unwrap()["user_code"]
        .as_str()
        .unwrap()
        .to_owned();

    let c = &other_device.client;
    c.goto(&url).await.unwrap();
    let code = c
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Id("user-code"))
        .await
        .unwrap();
    assert_eq!(
        code.text().await.unwrap(),
        app_code,
        "the page shows the app's code"
    );
    std::fs::write(
        artifact("device_login_confirm.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    c.find(Locator::Id("continue"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    support::browser::consent_as(c, 0, "Grace Hopper").await;
    let status = support::browser::login_status(c).await;
    assert_eq!(
        status.attr("data-status").await.unwrap().as_deref(),
        Some("complete")
    );

    let login = login.await.unwrap().unwrap();
    assert_eq!(login.profile().fields()["email"], "grace@example.com");
    assert!(ws.session_token().is_some());
    // The browser never held the verifier or the session.
    let here = c.current_url().await.unwrap().to_string();
    assert!(
        !here.contains("code_verifier") && !here.contains("session"),
        "{here}"
    );
    other_device.close().await;
}
