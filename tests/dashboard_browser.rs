//! The emulator's dashboard in real headless Chromium over WebDriver: log
//! in, find an object by a query, edit it (seen through the API), invalid
//! JSON refused, a user deleted (their session ends), stored markup that
//! never runs, a form without its CSRF token refused, the lockout after
//! five wrong passwords. Saves screenshots of the objects page and the
//! chart to `target/dashboard-objects.png` and `target/dashboard-chart.png`.
//! Skips visibly without Chromium (fails with `CI` set).

mod support;

use std::path::PathBuf;
use std::time::Duration;

use cloudmine_emulator::Emulator;
use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use support::browser::Browser;

const APP: &str = "shop";
const KEY: &str = "shop-key";
const PASSWORD: &str = "browser-dash-pass";
/// Markup that would change the title, set a flag, alert or navigate if it
/// ever ran.
const EVIL: &str = "<script>window.__pwned=1;document.title='pwned';alert(1)</script>\
                    <img src=x onerror=\"window.__pwned=2;document.title='pwned'\">\
                    <meta http-equiv=refresh content=\"0;url=about:blank\">";

async fn api(
    emu: &Emulator,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}/v1/app/{APP}/{path}", emu.base_url()))
        .header("x-cloudmine-apikey", KEY);
    if let Some(body) = body {
        req = req.body(body.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn value_of(emu: &Emulator, key: &str) -> Value {
    let (_, body) = api(emu, reqwest::Method::GET, &format!("text?keys={key}"), None).await;
    body["success"][key].clone()
}

/// Sign-up then login: the user's id and session token.
async fn user(emu: &Emulator, email: &str, profile: Value) -> (String, String) {
    let creds = json!({"email": email, "password": "pw"});
    let body = json!({"credentials": creds, "profile": profile});
    let (s, created) = api(emu, reqwest::Method::POST, "account/create", Some(body)).await;
    assert_eq!(s, 201, "{created}");
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/app/{APP}/account/login", emu.base_url()))
        .header("x-cloudmine-apikey", KEY)
        .body(json!({"email": email, "password": "pw"}).to_string())
        .send()
        .await
        .unwrap();
    let login: Value = resp.json().await.unwrap();
    let token = login["session_token"].as_str().unwrap().to_owned();
    (created["__id__"].as_str().unwrap().to_owned(), token)
}

async fn me(emu: &Emulator, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/v1/app/{APP}/account/me", emu.base_url()))
        .header("x-cloudmine-apikey", KEY)
        .header("x-cloudmine-sessiontoken", token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// `target/NAME` (the parent of Cargo's test temporary directory).
fn target_file(name: &str) -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(&tmp).join(name)
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(target_file(name), png).unwrap();
    eprintln!("saved {}", target_file(name).display());
}

async fn wait_css(c: &Client, css: &str) -> fantoccini::elements::Element {
    let found = c
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(css))
        .await;
    match found {
        Ok(element) => element,
        Err(e) => {
            let source = c.source().await.unwrap_or_default();
            panic!("{css}: {e}\n{source}")
        }
    }
}

/// Clicks `target` and waits for the page it loads: a mark set on the old
/// page must be gone, so an element of the page being left is never taken
/// for one of the next (a stale element otherwise).
async fn click_to_next_page(c: &Client, target: fantoccini::elements::Element) {
    c.execute("window.__leaving = true;", vec![]).await.unwrap();
    target.click().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let check = "return window.__leaving === undefined && document.readyState === 'complete';";
    loop {
        // Errors while the page changes are "not yet".
        if let Ok(Value::Bool(true)) = c.execute(check, vec![]).await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no new page after the click"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asserts that nothing stored ran on the page now shown.
async fn nothing_ran(c: &Client, what: &str) {
    let title = c.title().await.unwrap();
    assert_ne!(title, "pwned", "{what}: a stored script set the title");
    assert!(
        title.ends_with("CloudMine emulator"),
        "{what}: title {title}"
    );
    let flag = c
        .execute("return window.__pwned === undefined;", vec![])
        .await
        .unwrap();
    assert_eq!(flag, Value::Bool(true), "{what}: a stored script ran");
    assert!(
        c.get_alert_text().await.is_err(),
        "{what}: an alert is open"
    );
    let url = c.current_url().await.unwrap();
    assert!(
        url.as_str().contains("/_dashboard/"),
        "{what}: navigated to {url}"
    );
}

async fn log_in(c: &Client, base: &str, password: &str) {
    c.goto(&format!("{base}/_dashboard/login")).await.unwrap();
    wait_css(c, "#password")
        .await
        .send_keys(password)
        .await
        .unwrap();
    click_to_next_page(
        c,
        c.find(Locator::Css("button[type=submit]")).await.unwrap(),
    )
    .await;
}

async fn seed(emu: &Emulator) {
    let mut objects = serde_json::Map::new();
    for i in 0..30 {
        let name = format!("item-{i:02}");
        objects.insert(
            name.clone(),
            json!({"name": name, "price": i * 3, "tags": ["demo"]}),
        );
    }
    objects.insert("target".into(), json!({"name": "needle", "price": 7}));
    objects.insert(EVIL.into(), json!({"note": EVIL}));
    let (s, b) = api(
        emu,
        reqwest::Method::PUT,
        "text",
        Some(Value::Object(objects)),
    )
    .await;
    assert!(s < 300, "{b}");
    let name: String =
        url::form_urlencoded::byte_serialize(format!("{EVIL}.html").as_bytes()).collect();
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/v1/app/{APP}/binary/evil-file?filename={name}",
            emu.base_url()
        ))
        .header("x-cloudmine-apikey", KEY)
        .header("content-type", "text/html")
        .body(EVIL)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_in_headless_chromium() {
    let emu = Emulator::builder()
        .app(APP, KEY)
        .dashboard_password(PASSWORD)
        .start()
        .await
        .unwrap();
    let Some(browser) = Browser::start().await else {
        return;
    };
    let c = &browser.client;
    c.set_window_size(1100, 1000).await.unwrap();
    let base = emu.base_url();
    seed(&emu).await;
    let (evil_id, _) = user(&emu, "evil@example.com", json!({"name": EVIL})).await;
    let (doomed_id, doomed_token) = user(&emu, "doomed@example.com", json!({})).await;
    assert_eq!(me(&emu, &doomed_token).await, 200);

    log_in(c, &base, PASSWORD).await;
    click_to_next_page(
        c,
        wait_css(c, "a[href='/_dashboard/app/shop/objects']").await,
    )
    .await;
    wait_css(c, "#total").await;
    nothing_ran(c, "objects list").await;
    screenshot(c, "dashboard-objects.png").await;

    // Find an object by a query.
    let q = wait_css(c, "input[name=q]").await;
    q.send_keys("[name = \"needle\"]").await.unwrap();
    click_to_next_page(c, c.find(Locator::Css("form.search button")).await.unwrap()).await;
    let total = wait_css(c, "#total").await.text().await.unwrap();
    assert!(total.starts_with("1 match"), "{total}");
    click_to_next_page(c, c.find(Locator::LinkText("target")).await.unwrap()).await;

    // Edit it; the API sees the change.
    let area = wait_css(c, "#json").await;
    area.clear().await.unwrap();
    area.send_keys("{\"name\": \"needle\", \"price\": 8}")
        .await
        .unwrap();
    click_to_next_page(
        c,
        c.find(Locator::Css("main button[type=submit]"))
            .await
            .unwrap(),
    )
    .await;
    wait_css(c, "p.ok").await;
    assert_eq!(
        value_of(&emu, "target").await,
        json!({"name": "needle", "price": 8})
    );

    // Invalid JSON: refused with a message, the text kept, nothing changed.
    let area = wait_css(c, "#json").await;
    area.clear().await.unwrap();
    area.send_keys("{\"price\": 9,").await.unwrap();
    click_to_next_page(
        c,
        c.find(Locator::Css("main button[type=submit]"))
            .await
            .unwrap(),
    )
    .await;
    let error = wait_css(c, "p.error").await.text().await.unwrap();
    assert!(error.contains("not valid JSON"), "{error}");
    let kept = wait_css(c, "#json").await.prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("{\"price\": 9,"));
    assert_eq!(
        value_of(&emu, "target").await,
        json!({"name": "needle", "price": 8})
    );

    // The same form without its CSRF token: refused, nothing changed.
    area_without_csrf(c, "{\"price\": 10}").await;
    let refused = wait_css(c, "p.error").await.text().await.unwrap();
    assert!(refused.contains("CSRF"), "{refused}");
    assert_eq!(
        value_of(&emu, "target").await,
        json!({"name": "needle", "price": 8})
    );

    // Stored markup in a key, a value, a file name and a profile never runs.
    let evil_key: String = url::form_urlencoded::byte_serialize(EVIL.as_bytes()).collect();
    for path in [
        format!("/_dashboard/app/{APP}/objects?q=%5Bnote%20!%3D%20null%5D"),
        format!(
            "/_dashboard/app/{APP}/objects/{}",
            evil_key.replace('+', "%20")
        ),
        format!("/_dashboard/app/{APP}/files"),
        format!("/_dashboard/app/{APP}/users/{evil_id}"),
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        wait_css(c, "main h1").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let source = c.source().await.unwrap();
        assert!(source.contains("&lt;script&gt;"), "{path}: shown escaped");
        nothing_ran(c, &path).await;
    }

    // Delete a user: their session ends.
    c.goto(&format!("{base}/_dashboard/app/{APP}/users/{doomed_id}"))
        .await
        .unwrap();
    click_to_next_page(
        c,
        c.find(Locator::LinkText("Delete this user…"))
            .await
            .unwrap(),
    )
    .await;
    click_to_next_page(c, wait_css(c, "button.danger").await).await;
    wait_css(c, "#total, main table").await;
    assert_eq!(me(&emu, &doomed_token).await, 401);

    // Traffic for the chart, then its screenshot.
    traffic(&emu).await;
    c.goto(&format!("{base}/_dashboard/activity"))
        .await
        .unwrap();
    wait_css(c, "svg#chart").await;
    screenshot(c, "dashboard-chart.png").await;

    lockout(c).await;
    browser.close().await;
}

/// Removes the form's CSRF field (WebDriver's script, not the page's),
/// then submits `text`.
async fn area_without_csrf(c: &Client, text: &str) {
    c.execute(
        "document.querySelector('main input[name=csrf]').remove();",
        vec![],
    )
    .await
    .unwrap();
    let area = wait_css(c, "#json").await;
    area.clear().await.unwrap();
    area.send_keys(text).await.unwrap();
    click_to_next_page(
        c,
        c.find(Locator::Css("main button[type=submit]"))
            .await
            .unwrap(),
    )
    .await;
}

/// Some API calls over about half a minute, so the chart has several bars.
async fn traffic(emu: &Emulator) {
    for round in 1..=4u32 {
        for i in 0..round * 15 {
            let path = if i % 3 == 0 {
                "text?keys=target".to_owned()
            } else {
                format!("search?q=%5Bprice%20%3E%20{i}%5D")
            };
            api(emu, reqwest::Method::GET, &path, None).await;
        }
        tokio::time::sleep(Duration::from_secs(8)).await;
    }
}

/// A fresh emulator: five wrong passwords lock the form.
async fn lockout(c: &Client) {
    let emu = Emulator::builder()
        .app(APP, KEY)
        .dashboard_password(PASSWORD)
        .start()
        .await
        .unwrap();
    for _ in 0..5 {
        log_in(c, &emu.base_url(), "wrong-guess").await;
        wait_css(c, "p.error").await;
    }
    let locked = wait_css(c, "#locked").await.text().await.unwrap();
    assert!(locked.contains("locked"), "{locked}");
    let field = c.find(Locator::Css("#password")).await.unwrap();
    assert!(!field.is_enabled().await.unwrap(), "the form is disabled");
    // The right password is refused too while locked.
    let status = reqwest::Client::new()
        .post(format!("{}/_dashboard/login", emu.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("password={PASSWORD}"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 429);
}
