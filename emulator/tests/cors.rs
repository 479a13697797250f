//! Cross-origin requests: a browser page on another origin, using the JS
//! SDK, can call the API (preflight without a key, the SDK's headers
//! allowed, `X-Request-Id` exposed), and `cors_origin` narrows who may.

use cloudmine_emulator::Emulator;
use reqwest::{Method, StatusCode};

mod support;
use support::{App, binary::bin, http};

const APP: App = App("app", "key");

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

async fn preflight(emu: &Emulator, origin: &str) -> reqwest::Response {
    http()
        .request(Method::OPTIONS, APP.url(emu, "user/text"))
        .header("origin", origin)
        .header("access-control-request-method", "PUT")
        .header(
            "access-control-request-headers",
            "content-type,x-cloudmine-apikey,x-cloudmine-sessiontoken,x-cloudmine-agent",
        )
        .send()
        .await
        .unwrap()
}

/// Before: the preflight got 401 "invalid or missing API key" (browsers
/// never send custom headers on it), so every XHR of the SDK failed.
#[tokio::test]
async fn a_preflight_needs_no_key_and_allows_the_sdk_headers() {
    let emu = support::builder().app(APP.0, APP.1).start().await.unwrap();
    let r = preflight(&emu, "https://pages.example.net").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "access-control-allow-origin"), "*");
    let allowed = header(&r, "access-control-allow-headers").to_ascii_lowercase();
    for h in [
        "content-type",
        "x-cloudmine-apikey",
        "x-cloudmine-sessiontoken",
        "x-cloudmine-agent",
    ] {
        assert!(allowed.contains(h), "{h} not in {allowed}");
    }
    assert!(header(&r, "access-control-allow-methods").contains("PUT"));
    assert!(header(&r, "access-control-allow-credentials").is_empty());
    // A preflight for a route that does not exist is answered the same: the
    // real request gets the real answer.
    let r = http()
        .request(Method::OPTIONS, format!("{}/nowhere", emu.base_url()))
        .header("origin", "https://pages.example.net")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn answers_carry_the_origin_and_expose_the_request_id() {
    let emu = support::builder().app(APP.0, APP.1).start().await.unwrap();
    let r = APP
        .request(&emu, Method::GET, "text?keys=missing")
        .header("origin", "https://pages.example.net")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "access-control-allow-origin"), "*");
    let exposed = header(&r, "access-control-expose-headers").to_ascii_lowercase();
    assert!(exposed.contains("x-request-id"), "{exposed}");
    assert!(!header(&r, "x-request-id").is_empty());
    // Errors too (the SDK reads their body): a wrong key from a page.
    let r = http()
        .get(APP.url(&emu, "text"))
        .header("origin", "https://pages.example.net")
        .header("x-cloudmine-apikey", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&r, "access-control-allow-origin"), "*");
}

#[tokio::test]
async fn configured_origins_are_the_only_ones_allowed() {
    let emu = support::builder()
        .app(APP.0, APP.1)
        .cors_origin("https://app.example.com")
        .cors_origin("http://localhost:8000")
        .start()
        .await
        .unwrap();
    let r = preflight(&emu, "https://app.example.com").await;
    assert_eq!(
        header(&r, "access-control-allow-origin"),
        "https://app.example.com"
    );
    assert!(header(&r, "vary").to_ascii_lowercase().contains("origin"));
    let r = preflight(&emu, "https://evil.example.org").await;
    assert!(
        header(&r, "access-control-allow-origin").is_empty(),
        "another origin gets no grant"
    );
    let r = APP
        .request(&emu, Method::GET, "text")
        .header("origin", "https://evil.example.org")
        .send()
        .await
        .unwrap();
    assert!(header(&r, "access-control-allow-origin").is_empty());
}

#[tokio::test]
async fn a_malformed_origin_is_refused_at_start() {
    for bad in ["app.example.com", "https://app.example.com/", "*"] {
        let e = support::builder()
            .app(APP.0, APP.1)
            .cors_origin(bad)
            .start()
            .await
            .unwrap_err();
        assert!(e.to_string().contains("scheme://host[:port]"), "{bad}: {e}");
    }
    let out = std::process::Command::new(bin())
        .args(["--app", "a:k", "--listen", "127.0.0.1:0"])
        .args([
            "--db",
            ":memory:",
            "--cors-origin",
            "https://x.example/path",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("scheme://host[:port]"), "{err}");
}
