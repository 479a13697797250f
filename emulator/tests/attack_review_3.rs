//! Attack review 3 (issue 16), the emulator's side: device and paste-back
//! logins attacked over real HTTP by someone holding an app's (public) API
//! key, another app's key, or only a victim's login challenge
//! (SECURITY.md "Attack review 3 (issue 16)").

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cloudmine_emulator::Emulator;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

mod support;
use support::{App, challenge, http, message};

const A: App = App("app-a", "attack3-key-a");
const B: App = App("app-b", "attack3-key-b");
/// Kept per app, settled ones included (`device::MAX_KEPT_PER_APP`).
const MAX_KEPT_PER_APP: u32 = 256;

async fn two_apps() -> Emulator {
    support::builder()
        .app(A.0, A.1)
        .app(B.0, B.1)
        .identity("Ada Lovelace", "ada@example.com")
        .auto_consent(true)
        .start()
        .await
        .unwrap()
}

/// A verifier of 43 characters for `n`, and its S256 challenge.
fn pkce(n: u32) -> (String, String) {
    let verifier = format!("{n:0>43}");
    let cc = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, cc)
}

fn start_url(emu: &Emulator, app: App, c: &str, network: &str, cc: &str) -> String {
    app.start_url(
        emu,
        c,
        network,
        None,
        &[
            ("device", "1"),
            ("code_challenge", cc),
            ("code_challenge_method", "S256"),
        ],
    )
}

/// The text after `marker` up to the next `"` or `<`, unescaped.
fn after(page: &str, marker: &str) -> String {
    let from = page.find(marker).unwrap_or_else(|| panic!("{marker}")) + marker.len();
    let rest = &page[from..];
    rest[..rest.find(['"', '<']).unwrap()].replace("&amp;", "&")
}

/// Starts a device login of `app` and returns its confirm page's link on.
async fn start(emu: &Emulator, app: App, c: &str, cc: &str) -> reqwest::Response {
    http()
        .get(start_url(emu, app, c, "github", cc))
        .send()
        .await
        .unwrap()
}

/// Starts a device login and settles it at once by calling the broker's
/// callback with `error` (what the provider sends when the user denies).
async fn start_and_deny(emu: &Emulator, app: App, c: &str, cc: &str, error: &str) -> String {
    let page = start(emu, app, c, cc).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    let provider = url::Url::parse(&after(&page, "id=\"continue\" href=\"")).unwrap();
    let get = |k: &str| {
        provider
            .query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    let mut callback = url::Url::parse(&get("redirect_uri")).unwrap();
    callback
        .query_pairs_mut()
        .append_pair("state", &get("state"))
        .append_pair("error", error);
    let r = http().get(callback).send().await.unwrap();
    let headers = r.headers().clone();
    let body = r.text().await.unwrap();
    assert_page_headers(&headers);
    body
}

/// A browser that follows redirects.
fn following() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(10))
        .build()
        .unwrap()
}

fn assert_page_headers(h: &reqwest::header::HeaderMap) {
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-store");
}

#[tokio::test]
async fn one_apps_settled_logins_cannot_fill_the_book_for_other_apps() {
    let emu = two_apps().await;
    let (_, cc) = pkce(0);
    for n in 0..MAX_KEPT_PER_APP {
        start_and_deny(&emu, A, &challenge(n), &cc, "access_denied").await;
    }
    // Each was settled (so not "pending"), yet the app's room is used up.
    let r = start(&emu, A, &challenge(100_000), &cc).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.text().await.unwrap().contains("Too many"));
    // Another app is not affected.
    assert_eq!(
        start(&emu, B, &challenge(100_001), &cc).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_consumed_outcome_gives_its_room_back() {
    let emu = two_apps().await;
    let (verifier, cc) = pkce(1);
    for n in 0..MAX_KEPT_PER_APP {
        start_and_deny(&emu, A, &challenge(n), &cc, "access_denied").await;
    }
    let (s, body) = A.status(&emu, &challenge(7), Some(&verifier)).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::OK, Some("access_denied"))
    );
    assert_eq!(
        start(&emu, A, &challenge(100_000), &cc).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn another_apps_key_can_neither_poll_nor_cancel_a_login() {
    let emu = two_apps().await;
    let (verifier, cc) = pkce(2);
    let c = challenge(2);
    assert_eq!(start(&emu, A, &c, &cc).await.status(), StatusCode::OK);
    for guess in [
        Some(verifier.as_str()),
        None,
        Some("x"),
        Some("x"),
        Some("x"),
        Some("x"),
    ] {
        let (s, body) = B.status(&emu, &c, guess).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
        assert!(body.get("session_token").is_none());
    }
    let (s, body) = A.status(&emu, &c, Some(&verifier)).await;
    assert_eq!(s, StatusCode::OK, "not cancelled by app B: {body}");
    assert_eq!(body["finished"], false);
    assert!(body.get("error").is_none(), "{body}");
}

#[tokio::test]
async fn a_victims_finished_login_is_never_handed_out_without_its_verifier() {
    let emu = two_apps().await;
    let (verifier, cc) = pkce(3);
    let c = challenge(3);
    let page = start(&emu, A, &c, &cc).await.text().await.unwrap();
    let done = following()
        .get(after(&page, "id=\"continue\" href=\""))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    // The attacker knows the challenge (browser history) but not the
    // verifier: guesses, then the cancellation, then more polls.
    for guess in [
        None,
        Some("guess"),
        Some(cc.as_str()),
        None,
        Some("x"),
        None,
        None,
    ] {
        let (s, body) = A.status(&emu, &c, guess).await;
        assert_ne!(s, StatusCode::OK, "{body}");
        assert!(body.get("session_token").is_none(), "{body}");
    }
    // The attacker's polls consumed it (its session deleted): the victim
    // signs in again, but nobody got a token.
    let (s, body) = A.status(&emu, &c, Some(&verifier)).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn attacker_text_on_the_pages_is_escaped_and_framing_refused() {
    let emu = two_apps().await;
    let (_, cc) = pkce(4);
    // A network name with markup: whatever page ends the way is escaped.
    let r = following()
        .get(start_url(
            &emu,
            A,
            &challenge(4),
            "<script>alert(1)</script>",
            &cc,
        ))
        .send()
        .await
        .unwrap();
    assert_page_headers(r.headers());
    let body = r.text().await.unwrap();
    assert!(!body.contains("<script>alert"), "{body}");
    // The confirm page itself.
    let r = start(&emu, A, &challenge(5), &cc).await;
    assert_page_headers(r.headers());
    // A provider error with markup, shown by the broker.
    let body = start_and_deny(&emu, A, &challenge(6), &cc, "<img src=x onerror=alert(1)>").await;
    assert!(!body.contains("<img"), "{body}");
    assert!(body.contains("&lt;img"), "{body}");
}

#[tokio::test]
async fn oversize_and_malformed_device_parameters_are_refused() {
    let emu = two_apps().await;
    let c = challenge(8);
    for cc in ["x".repeat(16 * 1024), "é".repeat(43), "a b".repeat(15)] {
        let r = http()
            .get(start_url(&emu, A, &c, "github", &cc))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{}", r.status());
    }
    // A verifier far over any real one is just wrong, and counted.
    let (s, body) = A.status(&emu, &c, Some(&"v".repeat(8 * 1024))).await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "no such login was started: {body}"
    );
    let (_, cc) = pkce(9);
    assert_eq!(start(&emu, A, &c, &cc).await.status(), StatusCode::OK);
    let (s, body) = A.status(&emu, &c, Some(&"v".repeat(8 * 1024))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(message(&body), "invalid code_verifier");
}
