//! Download links: the JS SDK builds file URLs carrying `apikey` (and
//! `session_token` for a user's files) in the query, for `<a href>`,
//! `<img src>` and its hidden download `iframe`. Only file GETs take them.

use cloudmine_emulator::Emulator;
use reqwest::{Method, StatusCode};

mod support;
use support::user::User;
use support::{App, http};

const CM: App = App("app", "download-key");

async fn emulator() -> Emulator {
    support::builder().app(CM.0, CM.1).start().await.unwrap()
}

async fn get(emu: &Emulator, path_and_query: &str) -> reqwest::Response {
    http()
        .get(CM.url(emu, path_and_query))
        .send()
        .await
        .unwrap()
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

async fn upload(emu: &Emulator, path: &str, token: Option<&str>, data: &'static [u8]) {
    let mut req = CM
        .request(emu, Method::PUT, path)
        .header("content-type", "text/html")
        .body(data);
    if let Some(token) = token {
        req = req.header("x-cloudmine-sessiontoken", token);
    }
    assert!(req.send().await.unwrap().status().is_success());
}

#[tokio::test]
async fn an_app_file_downloads_with_the_key_in_the_query() {
    let emu = emulator().await;
    upload(&emu, "binary/page", None, b"<script>alert(1)</script>").await;

    let r = get(&emu, &format!("binary/page?apikey={}", CM.1)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        header(&r, "cache-control"),
        "no-store",
        "a credentialed link"
    );
    assert_eq!(header(&r, "content-security-policy"), "sandbox");
    assert_eq!(header(&r, "x-content-type-options"), "nosniff");
    assert_eq!(header(&r, "referrer-policy"), "no-referrer");
    assert_eq!(
        r.bytes().await.unwrap().as_ref(),
        b"<script>alert(1)</script>"
    );

    for bad in [
        "binary/page",
        "binary/page?apikey=wrong",
        "binary/page?apikey=",
    ] {
        let r = get(&emu, bad).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{bad}");
    }
    // With the key in a header, the answer may be cached as before.
    let r = CM
        .request(&emu, Method::GET, "binary/page")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "cache-control"), "");
    // A header wins over the query.
    let r = http()
        .get(CM.url(&emu, &format!("binary/page?apikey={}", CM.1)))
        .header("x-cloudmine-apikey", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_user_file_needs_that_users_session_in_the_query() {
    let emu = emulator().await;
    let ada_token = User::seeded(&emu, CM, "ada@example.com").await.token;
    let bob_token = User::seeded(&emu, CM, "bob@example.com").await.token;
    upload(&emu, "user/binary/notes", Some(&ada_token), b"ada's notes").await;

    let link = |token: &str| format!("user/binary/notes?apikey={}&session_token={token}", CM.1);
    let r = get(&emu, &link(&ada_token)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"ada's notes");
    let r = get(&emu, &link(&bob_token)).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "bob has no such file");
    let r = get(&emu, &link("not-a-session")).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = get(&emu, &format!("user/binary/notes?apikey={}", CM.1)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "no session at all");
}

#[tokio::test]
async fn force_download_takes_the_sdks_filename_cleaned() {
    let emu = emulator().await;
    upload(&emu, "binary/report", None, b"data").await;
    let r = get(
        &emu,
        &format!(
            "binary/report?force_download=true&apikey={}&filename=a%22b%0D%0AX-Evil%3A%201%2F..%2F%C3%A9.txt",
            CM.1
        ),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let disposition = header(&r, "content-disposition");
    assert_eq!(
        disposition,
        "attachment; filename=\"a_b__X-Evil_ 1_..__.txt\""
    );
    assert!(r.headers().get("x-evil").is_none());
}

/// Only file downloads: objects, uploads and the users API still need the
/// key in a header.
#[tokio::test]
async fn no_other_route_takes_credentials_from_the_query() {
    let emu = emulator().await;
    let q = format!("apikey={}", CM.1);
    let r = get(&emu, &format!("text?{q}")).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = get(&emu, &format!("account?{q}")).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = http()
        .put(CM.url(&emu, &format!("binary/new?{q}")))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = http()
        .delete(CM.url(&emu, &format!("data?keys=report&{q}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
