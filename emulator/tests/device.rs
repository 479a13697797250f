//! Device and paste-back social logins (an emulator extension) over real
//! HTTP: the confirm page's user code, the paste page, the verifier on
//! every status call, the attempts limit, the bound on pending logins, and
//! the refusals.

use cloudmine_emulator::Emulator;
use reqwest::StatusCode;
use serde_json::Value;

mod support;
use support::{App, challenge, http, message};

const APP: &str = "app";
const KEY: &str = "device-test-key";
const CM: App = App(APP, KEY);
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE_OF_VERIFIER: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// `XXXX-XXXX` (PROTOCOL.md §5a).
const USER_CODE_LEN: usize = 9;

async fn auto() -> Emulator {
    support::builder()
        .app(APP, KEY)
        .identity("Ada Lovelace", "ada@example.com")
        .auto_consent(true)
        .start()
        .await
        .unwrap()
}

fn start(emu: &Emulator, c: &str, kind: &str) -> String {
    CM.start_url(
        emu,
        c,
        "github",
        None,
        &[
            (kind, "1"),
            ("code_challenge", CHALLENGE_OF_VERIFIER),
            ("code_challenge_method", "S256"),
        ],
    )
}

/// The text after `marker` up to the next `"` or `<`, unescaped.
fn after(page: &str, marker: &str) -> String {
    let from = page
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {page}"))
        + marker.len();
    let rest = &page[from..];
    rest[..rest.find(['"', '<']).unwrap()].replace("&amp;", "&")
}

/// Follows redirects (the auto-consenting provider) to the last page.
async fn browse(url: &str) -> (StatusCode, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(10))
        .build()
        .unwrap();
    let r = client.get(url).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn device_login_confirm_page_then_status_with_the_verifier_only() {
    let emu = auto().await;
    let c = challenge(1);
    let page = http().get(start(&emu, &c, "device")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "a page, not a redirect");
    let page = page.text().await.unwrap();
    let code = after(&page, "letter-spacing:.2rem\">");
    assert_eq!(code.len(), USER_CODE_LEN);
    assert!(
        code.bytes()
            .all(|b| b == b'-' || b"BCDFGHJKLMNPQRSTVWXZ".contains(&b)),
        "{code}"
    );
    // Pending: without or with a wrong verifier, nothing; with it, pending.
    let (s, body) = CM.status(&emu, &c, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(message(&body), "invalid code_verifier");
    assert_eq!(
        CM.status(&emu, &c, Some("wrong")).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (s, body) = CM.status(&emu, &c, Some(VERIFIER)).await;
    assert_eq!(
        (s, body["finished"].clone()),
        (StatusCode::OK, Value::Bool(false))
    );
    // The user continues on the other device.
    let (s, done) = browse(&after(&page, "id=\"continue\" href=\"")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(done.contains("Login complete"), "{done}");
    // A wrong verifier does not consume the finished login.
    assert_eq!(
        CM.status(&emu, &c, Some("wrong")).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (s, body) = CM.status(&emu, &c, Some(VERIFIER)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["finished"], true);
    assert!(body["session_token"].as_str().is_some());
    // Once.
    assert_eq!(
        CM.status(&emu, &c, Some(VERIFIER)).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn wrong_verifiers_cancel_the_login_at_the_limit() {
    let emu = auto().await;
    let c = challenge(2);
    http().get(start(&emu, &c, "device")).send().await.unwrap();
    for _ in 0..4 {
        assert_eq!(
            CM.status(&emu, &c, Some("guess")).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (s, body) = CM.status(&emu, &c, Some("guess")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(message(&body).contains("cancelled"), "{body}");
    // Even the right verifier now gets only the cancellation.
    let (s, body) = CM.status(&emu, &c, Some(VERIFIER)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["finished"], false);
    assert_eq!(body["error"], "too_many_attempts");
    assert!(body.get("session_token").is_none());
}

#[tokio::test]
async fn paste_login_ends_on_a_page_with_the_code() {
    let emu = auto().await;
    let c = challenge(3);
    let (s, page) = browse(&start(&emu, &c, "paste")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        after(
            &page,
            "<code id=\"paste-code\" style=\"word-break:break-all\">"
        ),
        c
    );
    assert_eq!(CM.status(&emu, &c, None).await.0, StatusCode::UNAUTHORIZED);
    let (s, body) = CM.status(&emu, &c, Some(VERIFIER)).await;
    assert_eq!(
        (s, body["finished"].clone()),
        (StatusCode::OK, Value::Bool(true))
    );
}

#[tokio::test]
async fn pending_device_logins_are_bounded_per_app() {
    let emu = auto().await;
    for n in 0..16 {
        let r = http()
            .get(start(&emu, &challenge(100 + n), "device"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = http()
        .get(start(&emu, &challenge(200), "paste"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Too many device or paste-back logins")
    );
    // Ordinary logins are not counted.
    let r = http()
        .get(CM.start_url(&emu, &challenge(201), "github", None, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn malformed_starts_are_refused() {
    let emu = auto().await;
    let cases: [&[(&str, &str)]; 5] = [
        &[
            ("device", "1"),
            ("paste", "1"),
            ("code_challenge", CHALLENGE_OF_VERIFIER),
            ("code_challenge_method", "S256"),
        ],
        &[
            ("device", "yes"),
            ("code_challenge", CHALLENGE_OF_VERIFIER),
            ("code_challenge_method", "S256"),
        ],
        &[("device", "1")],
        &[
            ("paste", "1"),
            ("code_challenge", "short"),
            ("code_challenge_method", "S256"),
        ],
        &[
            ("device", "1"),
            ("code_challenge", CHALLENGE_OF_VERIFIER),
            ("code_challenge_method", "plain"),
        ],
    ];
    for (n, extra) in (300..).zip(cases) {
        let r = http()
            .get(CM.start_url(&emu, &challenge(n), "github", None, extra))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{extra:?}");
    }
    let with_redirect = CM.start_url(
        &emu,
        &challenge(400),
        "github",
        Some("http://127.0.0.1:9/cb"),
        &[
            ("device", "1"),
            ("code_challenge", CHALLENGE_OF_VERIFIER),
            ("code_challenge_method", "S256"),
        ],
    );
    let r = http().get(with_redirect).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("no redirect_uri"));
}

#[tokio::test]
async fn off_without_an_identity_provider() {
    let emu = support::builder().app(APP, KEY).start().await.unwrap();
    let r = http()
        .get(start(&emu, &challenge(5), "device"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("No identity provider"));
}

#[tokio::test]
async fn a_reused_challenge_is_refused() {
    let emu = auto().await;
    let c = challenge(6);
    assert_eq!(
        http()
            .get(start(&emu, &c, "device"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let r = http().get(start(&emu, &c, "paste")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("already used"));
}
