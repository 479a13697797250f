//! Social login in real headless Chromium, driven over WebDriver: the user
//! clicks "Continue as …" on the consent page, the browser comes back to the
//! loopback listener, and the landing page says it is done.

mod support;

use std::time::Duration;

use cloudmine::SocialNetwork;
use cloudmine_emulator::Emulator;
use fantoccini::Locator;
use support::browser::{Browser, artifact, url_catcher};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_in_headless_chromium() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let emu = Emulator::builder()
        .app(APP, KEY)
        .identity("Ada Lovelace", "ada@example.com")
        .identity("Grace Hopper", "grace@example.com")
        .start()
        .await
        .unwrap();
    let ws = client(&emu);

    // The opener hands the URL to the test, which drives the browser.
    let (opener, rx) = url_catcher();
    let login = tokio::spawn(std::future::IntoFuture::into_future(
        ws.login_social(SocialNetwork::Github)
            .opener(opener)
            .timeout(Duration::from_secs(60)),
    ));
    let url = rx.await.unwrap();

    let c = &browser.client;
    c.goto(&url).await.unwrap();
    let button = c
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Id("continue-1"))
        .await
        .unwrap();
    assert_eq!(button.text().await.unwrap(), "Continue as Grace Hopper");
    let page = c.source().await.unwrap();
    assert!(page.contains("Continue as Ada Lovelace"), "{page}");
    assert!(page.contains("Deny"));
    button.click().await.unwrap();

    let status = support::browser::login_status(c).await;
    assert_eq!(
        status.attr("data-status").await.unwrap().as_deref(),
        Some("success")
    );
    assert_eq!(status.text().await.unwrap(), "Signed in");
    let here = c.current_url().await.unwrap();
    assert_eq!(here.host_str(), Some("127.0.0.1"));
    assert_eq!(here.path(), "/callback");
    assert!(
        here.query_pairs().all(|(k, _)| k == "challenge"),
        "no code or token in the address: {here}"
    );
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    std::fs::write(artifact("social_login_landing.png"), &png).unwrap();

    let login = login.await.unwrap().unwrap();
    assert_eq!(login.profile().services(), ["github"]);
    assert_eq!(login.profile().fields()["email"], "grace@example.com");
    browser.close().await;
}

/// The JS SDK's `loginSocial` opens the login in a popup and asks for the
/// status only once the popup has closed: the "login complete" page closes
/// itself when a page opened it, and stays (with its text) in a full tab.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_complete_page_closes_a_popup_and_stays_in_a_tab() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let emu = Emulator::builder().app(APP, KEY).start().await.unwrap();
    let complete = format!(
        "{}/v1/app/{APP}/account/social/login/complete?apikey={KEY}",
        emu.base_url()
    );
    let c = &browser.client;
    c.goto(&complete).await.unwrap();
    let hint = c.find(Locator::Id("hint")).await.unwrap();
    assert!(
        hint.text()
            .await
            .unwrap()
            .contains("return to the application"),
        "a full tab keeps its text"
    );
    let opened = c
        .execute(
            "window.__popup = window.open(arguments[0], 'login'); return !!window.__popup;",
            vec![serde_json::json!(complete)],
        )
        .await
        .unwrap();
    assert_eq!(opened, serde_json::json!(true), "the popup opened");
    let mut closed = serde_json::Value::Null;
    for _ in 0..100 {
        closed = c
            .execute("return window.__popup.closed;", vec![])
            .await
            .unwrap();
        if closed == serde_json::json!(true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(closed, serde_json::json!(true), "the popup closed itself");
    browser.close().await;
}
