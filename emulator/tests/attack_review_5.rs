//! Attack review 5 (issue 18): the dashboard attacked as an outsider over
//! real HTTP: login bypass by path tricks and odd methods, DNS rebinding of
//! the open (no-login) mode, cookie tossing, session and CSRF token reuse,
//! the lockout under parallel guesses, headers on every answer, downloads,
//! paging extremes and body limits. See docs/SECURITY.md, "Attack review 5".

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use cloudmine_emulator::Emulator;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use support::dashboard::{HEADERS, PASSWORD, Visitor, key_segment};
use support::{App, builder, http};

const CM: App = App("atk5-app", "atk5-key");

async fn with_password() -> Emulator {
    builder()
        .app(CM.0, CM.1)
        .master_key(CM.0, "atk5-master")
        .dashboard_password(PASSWORD)
        .start()
        .await
        .unwrap()
}

async fn open() -> Emulator {
    builder().app(CM.0, CM.1).dashboard().start().await.unwrap()
}

/// One raw HTTP/1.1 exchange (paths and headers exactly as written, which
/// an HTTP client would normalise): the answer's head and body as text.
async fn raw(addr: SocketAddr, head: &str) -> (u16, String) {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await.unwrap();
        bytes
    };
    let bytes = tokio::time::timeout(Duration::from_secs(30), exchange)
        .await
        .expect("an answer within 30 s");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn get(path: &str, host: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n")
}

/// The security headers, checked on a raw answer's text.
fn assert_secure_raw(text: &str, what: &str) {
    let lower = text.to_ascii_lowercase();
    let head = &lower[..lower.find("\r\n\r\n").unwrap_or(lower.len())];
    for (name, value) in HEADERS {
        let line = format!("{name}: {}", value.to_ascii_lowercase());
        assert!(head.contains(&line), "{what}: no {name} in\n{head}");
    }
}

#[tokio::test]
async fn path_tricks_and_odd_methods_do_not_bypass_the_login() {
    let emu = with_password().await;
    let addr = emu.local_addr();
    let host = addr.to_string();
    let paths = [
        "/_dashboard/",
        "/_dashboard",
        "//_dashboard/",
        "/_dashboard//",
        "/_dashboard/./",
        "/_dashboard/../_dashboard/",
        "/_dashboard/%2e%2e/_dashboard/",
        "/_dashboard/static/../",
        "/_dashboard/static/%2e%2e/app/atk5-app/objects",
        "/_dashboard/app/atk5-app/objects/",
        "/_dashboard/app/atk5-app/objects/%2e%2e",
        "/_Dashboard/",
        "/_DASHBOARD/app/atk5-app/objects",
        "/%5fdashboard/",
        "/_dashboard%2f",
        "/_dashboard%2fapp%2fatk5-app%2fobjects",
        "/_dashboard/login/../",
        "/_dashboard/activity;x=1",
        "/_dashboard/activity/",
        "http://evil/_dashboard/",
        "*",
    ];
    for path in paths {
        for method in ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE", "PATCH"] {
            let head = get(path, &host, "").replacen("GET", method, 1);
            let (status, text) = raw(addr, &head).await;
            // Never a page of the dashboard: a redirect to the login, a
            // refusal, or the API's own answer (no app data either way).
            assert!(
                status != 200 || !text.contains("atk5-app"),
                "{method} {path}: {status}\n{text}"
            );
            if status == 200 {
                assert!(!text.contains("<nav>"), "{method} {path}: a page\n{text}");
            }
        }
    }
}

#[tokio::test]
async fn a_dashboard_preflight_gets_no_cors_permission() {
    let emu = with_password().await;
    let (status, text) = raw(
        emu.local_addr(),
        &get(
            "/_dashboard/app/atk5-app/objects/k/delete",
            &emu.local_addr().to_string(),
            "Origin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\n",
        )
        .replacen("GET", "OPTIONS", 1),
    )
    .await;
    assert_ne!(status, 200, "{text}");
    assert!(
        !text.to_ascii_lowercase().contains("access-control-allow"),
        "{text}"
    );
    assert_secure_raw(&text, "preflight");
}

#[tokio::test]
async fn every_kind_of_answer_carries_the_security_headers() {
    let emu = with_password().await;
    let addr = emu.local_addr();
    let host = addr.to_string();
    let v = Visitor::logged_in(&emu.base_url()).await;
    let cookie = format!("{}\r\n", v.cookie.clone().unwrap());
    let with_cookie = format!("Cookie: {cookie}");
    let cases = [
        ("redirect", get("/_dashboard", &host, "")),
        ("login redirect", get("/_dashboard/activity", &host, "")),
        ("404", get("/_dashboard/nowhere", &host, &with_cookie)),
        (
            "405",
            get("/_dashboard/activity", &host, &with_cookie).replacen("GET", "DELETE", 1),
        ),
        (
            "HEAD",
            get("/_dashboard/", &host, &with_cookie).replacen("GET", "HEAD", 1),
        ),
        ("static", get("/_dashboard/static/style.css", &host, "")),
        (
            "bad page",
            get("/_dashboard/app/x/objects?page=-1", &host, &with_cookie),
        ),
    ];
    for (what, head) in cases {
        let (status, text) = raw(addr, &head).await;
        assert!(status > 0, "{what}");
        assert_secure_raw(&text, what);
    }
    // A body over the form limit.
    let big = "a".repeat(2 * 1024 * 1024);
    let resp = http()
        .post(format!("{}/_dashboard/login", emu.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("password={big}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    for (name, value) in HEADERS {
        assert_eq!(resp.headers()[name], value, "413: {name}");
    }
}

#[tokio::test]
async fn the_open_dashboard_refuses_a_foreign_host_header() {
    let emu = open().await;
    let addr = emu.local_addr();
    let port = addr.port();
    // DNS rebinding: a page on rebind.evil.example, its name now pointing at
    // 127.0.0.1, reads the dashboard as its own origin.
    for host in [
        format!("rebind.evil.example:{port}"),
        "rebind.evil.example".to_owned(),
        format!("127.0.0.1.evil.example:{port}"),
        format!("localhost.evil.example:{port}"),
        "".to_owned(),
    ] {
        for path in [
            "/_dashboard/login",
            "/_dashboard/",
            "/_dashboard/static/style.css",
        ] {
            let (status, text) = raw(addr, &get(path, &host, "")).await;
            assert_eq!(status, 421, "Host {host:?} {path}:\n{text}");
            assert!(!text.contains("set-cookie"), "{text}");
            assert!(!text.to_ascii_lowercase().contains("set-cookie:"), "{text}");
            assert!(text.contains("Host"), "a clear message: {text}");
            assert_secure_raw(&text, "421");
        }
    }
    // Loopback names, with or without the port, are served.
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "localhost".to_owned(),
        format!("LocalHost:{port}"),
        format!("[::1]:{port}"),
        format!("127.0.0.2:{port}"),
        format!("app.localhost:{port}"),
    ] {
        let (status, text) = raw(addr, &get("/_dashboard/login", &host, "")).await;
        assert_eq!(status, 303, "Host {host:?}:\n{text}");
    }
    // The API itself is not restricted (phones reach it by LAN names).
    let (status, _) = raw(
        addr,
        &get(
            "/v1/app/atk5-app/text",
            "rebind.evil.example",
            "X-CloudMine-ApiKey: atk5-key\r\n",
        ),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_open_dashboard_serves_the_public_urls_host() {
    let emu = builder()
        .app(CM.0, CM.1)
        .public_url("http://devbox.example:9000")
        .dashboard()
        .start()
        .await
        .unwrap();
    let addr = emu.local_addr();
    let (status, text) = raw(addr, &get("/_dashboard/login", "devbox.example:9000", "")).await;
    assert_eq!(status, 303, "{text}");
    let (status, _) = raw(addr, &get("/_dashboard/login", "other.example:9000", "")).await;
    assert_eq!(status, 421);
}

#[tokio::test]
async fn the_password_dashboard_still_answers_any_host() {
    // Behind a reverse proxy the Host is the proxy's name; the password,
    // not the name, guards this mode.
    let emu = with_password().await;
    let (status, _) = raw(
        emu.local_addr(),
        &get("/_dashboard/login", "dash.proxy.example", ""),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_tossed_cookie_does_not_shadow_the_real_session() {
    let emu = with_password().await;
    let v = Visitor::logged_in(&emu.base_url()).await;
    let real = v.cookie.clone().unwrap();
    // A cookie set for a longer path (by another site on the same host:
    // cookies ignore ports) is sent first.
    let tossed = format!("cm_dashboard={}", "0".repeat(64));
    for cookie in [
        format!("{tossed}; {real}"),
        format!("cm_dashboard=short; {real}"),
    ] {
        let page = v
            .get_with("/_dashboard/", &[("cookie", cookie.as_str())])
            .await;
        assert_eq!(page.status, StatusCode::OK, "{cookie}");
    }
}

#[tokio::test]
async fn a_csrf_token_works_only_in_its_own_session() {
    let emu = with_password().await;
    CM.call(
        &emu,
        Method::PUT,
        "text",
        Some(&json!({"k": {"n": 1}}).to_string()),
    )
    .await;
    let a = Visitor::logged_in(&emu.base_url()).await;
    let b = Visitor::logged_in(&emu.base_url()).await;
    let token_a = a.csrf().await;
    assert_ne!(token_a, b.csrf().await);
    let page = b
        .post(
            "/_dashboard/app/atk5-app/objects/k/delete",
            &[("csrf", token_a.as_str())],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let (_, body) = CM.call(&emu, Method::GET, "text?keys=k", None).await;
    assert_eq!(body["success"]["k"]["n"], 1);
}

#[tokio::test]
async fn logout_and_restart_end_the_session_and_login_makes_a_new_id() {
    let emu = with_password().await;
    let mut v = Visitor::new(&emu.base_url());
    // A cookie held before login (fixation) is not the one after.
    let fixed = format!("cm_dashboard={}", "a".repeat(64));
    v.cookie = Some(fixed.clone());
    v.login(PASSWORD).await;
    let cookie = v.cookie.clone().unwrap();
    assert_ne!(cookie, fixed);
    assert_eq!(v.get("/_dashboard/").await.status, StatusCode::OK);
    // Another instance (a restart) does not know it.
    let other = with_password().await;
    let mut there = Visitor::new(&other.base_url());
    there.cookie = Some(cookie.clone());
    assert_eq!(
        there.get("/_dashboard/").await.status,
        StatusCode::SEE_OTHER
    );
    // Logout ends it on the server, not only in the browser.
    let csrf = v.csrf().await;
    v.post("/_dashboard/logout", &[("csrf", csrf.as_str())])
        .await;
    let replay = v.get("/_dashboard/").await;
    assert_eq!(replay.status, StatusCode::SEE_OTHER);
    assert_eq!(replay.location(), "/_dashboard/login");
}

#[tokio::test]
async fn parallel_guesses_get_no_more_than_five_tries() {
    let emu = with_password().await;
    let base = emu.base_url();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            let mut v = Visitor::new(&base);
            v.login(&format!("guess-{i}")).await.status
        }));
    }
    let mut wrong = 0;
    for t in tasks {
        let status = t.await.unwrap();
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS,
            "{status}"
        );
        if status == StatusCode::UNAUTHORIZED {
            wrong += 1;
        }
    }
    assert!(wrong <= 4, "{wrong} guesses answered as merely wrong");
    // A different X-Forwarded-For does not reset it, nor does the right
    // password get in while it is locked.
    let resp = http()
        .post(format!("{base}/_dashboard/login"))
        .header("x-forwarded-for", "192.0.2.77")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("password={PASSWORD}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn downloads_take_no_header_or_type_from_stored_names() {
    let emu = with_password().await;
    let name = "a\"b\r\nX-Evil: 1;\u{2028}.html";
    let resp = CM
        .request(
            &emu,
            Method::POST,
            &format!("binary/evil?filename={}", key_segment(name)),
        )
        .header("content-type", "text/html\r\nX-Evil: 2")
        .body("<script>alert(1)</script>")
        .send()
        .await;
    let resp = match resp {
        Ok(r) => r,
        // The client refuses the CR/LF type itself: store a plain one.
        Err(_) => CM
            .request(
                &emu,
                Method::POST,
                &format!("binary/evil?filename={}", key_segment(name)),
            )
            .header("content-type", "text/html")
            .body("<script>alert(1)</script>")
            .send()
            .await
            .unwrap(),
    };
    assert!(resp.status().is_success(), "{:?}", resp.text().await);
    let v = Visitor::logged_in(&emu.base_url()).await;
    let page = v.get("/_dashboard/app/atk5-app/files/evil").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers["content-type"], "application/octet-stream");
    let disposition = page.headers["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(page.headers.get("x-evil").is_none());
}

#[tokio::test]
async fn paging_extremes_are_answered_or_refused_clearly() {
    let emu = with_password().await;
    let v = Visitor::logged_in(&emu.base_url()).await;
    for page in [
        "-1",
        "18446744073709551616",
        "99999999999",
        "4001",
        "x",
        "%00",
    ] {
        for area in ["objects", "files", "users"] {
            let p = v
                .get(&format!("/_dashboard/app/atk5-app/{area}?page={page}"))
                .await;
            assert!(
                p.status == StatusCode::OK || p.status == StatusCode::BAD_REQUEST,
                "{area} page={page}: {}",
                p.status
            );
            p.assert_secure(area);
        }
    }
}

/// Fetch metadata a browser sends on a request another site's page makes
/// without navigating (an `<img>`, a `fetch(..., {mode: "no-cors"})`).
const FOREIGN_FETCH: [(&str, &str); 3] = [
    ("sec-fetch-site", "cross-site"),
    ("sec-fetch-mode", "no-cors"),
    ("sec-fetch-dest", "image"),
];

#[tokio::test]
async fn another_sites_requests_cannot_evict_the_open_dashboards_session() {
    let emu = open().await;
    let mut v = Visitor::new(&emu.base_url());
    let page = v.get("/_dashboard/login").await;
    let set = page.headers["set-cookie"].to_str().unwrap();
    v.cookie = Some(set.split(';').next().unwrap().to_owned());
    assert_eq!(v.get("/_dashboard/").await.status, StatusCode::OK);
    // Each request of another site's page made a session (a state change
    // by GET), pushing the oldest, the developer's, out of the 256 kept.
    let stranger = Visitor::new(&emu.base_url());
    for site in ["cross-site", "same-site"] {
        for _ in 0..150 {
            let headers = [FOREIGN_FETCH[0], FOREIGN_FETCH[1], FOREIGN_FETCH[2]]
                .map(|(k, val)| (k, if k == "sec-fetch-site" { site } else { val }));
            let refused = stranger.get_with("/_dashboard/login", &headers).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{site}");
            assert!(refused.headers.get("set-cookie").is_none());
            assert!(refused.text.contains("another site"), "{}", refused.text);
            refused.assert_secure("cross-site refusal");
        }
    }
    assert_eq!(v.get("/_dashboard/").await.status, StatusCode::OK);
    // A link followed from elsewhere (a top-level navigation) still opens it.
    let nav = stranger
        .get_with(
            "/_dashboard/",
            &[
                ("sec-fetch-site", "cross-site"),
                ("sec-fetch-mode", "navigate"),
            ],
        )
        .await;
    assert_eq!(nav.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn another_site_cannot_lock_the_login_form() {
    let emu = with_password().await;
    let client = http();
    // A page anywhere on the web, open in the developer's browser, posts
    // wrong passwords to the loopback form (a form post is a navigation).
    for _ in 0..6 {
        let resp = client
            .post(format!("{}/_dashboard/login", emu.base_url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "cross-site")
            .header("sec-fetch-mode", "navigate")
            .header("origin", "https://evil.example")
            .body("password=guess")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    }
    let mut v = Visitor::new(&emu.base_url());
    let page = v.login(PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
}

#[tokio::test]
async fn a_stalled_login_body_is_cut_off() {
    let emu = builder()
        .app(CM.0, CM.1)
        .dashboard_password(PASSWORD)
        .body_timeout(Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    let addr = emu.local_addr();
    let head = format!(
        "POST /_dashboard/login HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\npassword="
    );
    // The connection is answered or closed, never held (raw's 30 s guard).
    let (status, text) = raw(addr, &head).await;
    assert!(status == 0 || status >= 400, "{text}");
    assert!(!text.contains("set-cookie"), "{text}");
}

#[tokio::test]
async fn hostile_request_paths_are_shown_escaped_and_the_log_stays_bounded() {
    let emu = with_password().await;
    let addr = emu.local_addr();
    let host = addr.to_string();
    let evil = "/v1/app/atk5-app/<svg/onload=alert(1)>\"'`/x";
    let (status, text) = raw(addr, &get(evil, &host, "")).await;
    assert!(status > 0, "{text}");
    let long = format!("/v1/app/atk5-app/{}", "a".repeat(6000));
    let client = http();
    for _ in 0..1010 {
        let _ = client.get(format!("{}{long}", emu.base_url())).send().await;
    }
    let v = Visitor::logged_in(&emu.base_url()).await;
    let page = v.get("/_dashboard/activity").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text.contains("<svg/"), "unescaped path");
    assert!(!page.text.contains(&"a".repeat(300)), "paths are cut");
    assert!(page.text.len() < 1024 * 1024, "{} bytes", page.text.len());
}
