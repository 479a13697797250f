//! A browser web app on the official CloudMine JS SDK (0.10.3, with Debian's
//! jQuery), served from another origin, in headless Chromium against the
//! emulator: `loginSocial` in a popup with auto-consent, an object saved and
//! read back as that user, then a second `loginSocial` that links another
//! network to the same user. Needs CORS, the popup that closes itself and
//! the status call — the three things a web app meets first.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use cloudmine_emulator::Emulator;
use serde_json::{Value, json};
use support::browser::Browser;
use support::static_site;
use support::*;

const JQUERY: &str = "/usr/share/javascript/jquery/jquery.min.js";

/// Debian's jQuery, or `None` (skip; a failure under `CI=true`).
fn jquery() -> Option<Vec<u8>> {
    match std::fs::read(JQUERY) {
        Ok(bytes) => Some(bytes),
        Err(_) => {
            support::skip::skip_or_fail(&format!(
                "{JQUERY} is missing (apt-get install libjs-jquery)"
            ));
            None
        }
    }
}

fn sdk_file(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/js-sdk")
            .join(name),
    )
    .unwrap()
}

/// Runs `script` in the page, then waits (up to a 30 s liveness guard) for
/// the page to record one more step, and returns it.
async fn step(c: &fantoccini::Client, script: &str) -> Value {
    let before = c
        .execute("return window.steps.length;", vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap();
    c.execute(script, vec![]).await.unwrap();
    for _ in 0..300 {
        let steps = c.execute("return window.steps;", vec![]).await.unwrap();
        if let Some(last) = steps.as_array().and_then(|s| s.get(before as usize)) {
            return last.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the page recorded nothing for {script} within 30 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_app_on_the_official_sdk_logs_in_saves_and_links() {
    let Some(jquery) = jquery() else { return };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let emu = Emulator::builder()
        .app(APP, KEY)
        .auto_consent(true)
        .start()
        .await
        .unwrap();
    let site = static_site::serve(HashMap::from([
        (
            "/page.html",
            ("text/html; charset=utf-8", sdk_file("page.html")),
        ),
        (
            "/cloudmine.js",
            ("application/javascript", sdk_file("cloudmine.js")),
        ),
        ("/jquery.js", ("application/javascript", jquery)),
    ]))
    .await;
    assert_ne!(site.base, emu.base_url(), "another origin");

    let c = &browser.client;
    c.goto(&format!("{}/page.html", site.base)).await.unwrap();
    let config = json!({"appid": APP, "apikey": KEY, "apiroot": emu.base_url()});
    c.execute(&format!("start({config});"), vec![])
        .await
        .unwrap();

    let login = step(c, "login('github');").await;
    assert_eq!(login["ok"], true, "{login}");
    assert_eq!(login["detail"]["services"], json!(["github"]), "{login}");
    assert_eq!(login["detail"]["has_session"], true);

    let saved = step(c, "saveAndRead('note', {text: 'from the page', n: 3});").await;
    assert_eq!(saved["ok"], true, "{saved}");
    assert_eq!(saved["detail"], json!({"text": "from the page", "n": 3}));
    // The object is the signed-in user's, as the API sees it.
    let token = c
        .execute("return ws.options.session_token;", vec![])
        .await
        .unwrap();
    let ws = client(&emu);
    ws.set_session_token(token.as_str().unwrap().to_owned())
        .unwrap();
    let mine = ws.objects().get(["note"]).await.unwrap();
    assert_eq!(
        mine.value("note").unwrap(),
        &json!({"text": "from the page", "n": 3})
    );
    let app_level = client(&emu).objects().get(["note"]).await;
    assert!(app_level.is_err(), "a user's object, not the app's");

    // A second login while signed in links twitter to the same user.
    let linked = step(c, "login('twitter');").await;
    assert_eq!(linked["ok"], true, "{linked}");
    let mut services: Vec<String> =
        serde_json::from_value(linked["detail"]["services"].clone()).unwrap();
    services.sort();
    assert_eq!(services, ["github", "twitter"], "{linked}");
    browser.close().await;
}
