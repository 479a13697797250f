//! docs/SECURITY.md's claims on the social login's loopback listener, each
//! held by a test: every answer it gives (the success page, the denial
//! page, a 404, a bad request) carries the strict headers, and its port is
//! free again after a login that succeeded and after one that was denied.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cloudmine::SocialNetwork;
use cloudmine_emulator::Emulator;
use support::*;

/// The headers every answer of the listener carries.
const STRICT: [(&str, &str); 5] = [
    (
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'",
    ),
    ("cache-control", "no-store"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("connection", "close"),
];

/// What the browser saw: the listener's port, its answers to a stray
/// request and a malformed one (raw), and the page the login ended on.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Option<Visit>>>);

#[derive(Clone, Debug)]
struct Visit {
    port: u16,
    not_found: String,
    bad_request: String,
    page_status: u16,
    page_headers: Vec<(String, String)>,
}

impl Seen {
    /// Waits (up to 30 s) for the browser to be done.
    async fn visit(&self) -> Visit {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(v) = self.0.lock().unwrap().clone() {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the browser never finished");
    }
}

/// The listener's port, from the start URL's `redirect_uri`.
fn listener_port(start: &str) -> u16 {
    let url = url::Url::parse(start).unwrap();
    let redirect = url
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .expect("a redirect_uri")
        .1
        .into_owned();
    url::Url::parse(&redirect).unwrap().port().unwrap()
}

/// A plain-HTTP browser: probes the waiting listener with a stray and a
/// malformed request, then signs in (or presses "Deny") and keeps the page
/// it ends on.
fn browser(seen: &Seen, deny: bool) -> impl Fn(&str) -> Result<(), String> + Send + Sync + 'static {
    let seen = seen.clone();
    move |start: &str| {
        let (seen, start) = (seen.clone(), start.to_owned());
        tokio::spawn(async move {
            let port = listener_port(&start);
            let probes = tokio::task::spawn_blocking(move || probe(port));
            let (not_found, bad_request) = probes.await.unwrap();
            let page = if deny {
                press_deny(&start).await
            } else {
                http().get(&start).send().await.unwrap()
            };
            let page_headers = pairs(page.headers());
            *seen.0.lock().unwrap() = Some(Visit {
                port,
                not_found,
                bad_request,
                page_status: page.status().as_u16(),
                page_headers,
            });
        });
        Ok(())
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(10))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A stray path and a head with bare LFs, each on its own connection.
fn probe(port: u16) -> (String, String) {
    let host = format!("127.0.0.1:{port}");
    let stray = format!("GET /favicon.ico HTTP/1.1\r\nHost: {host}\r\n\r\n");
    let malformed = format!("GET /callback HTTP/1.1\nHost: {host}\n\n");
    let (not_found, _) = attacks::answers_until_close(port, &stray);
    let (bad_request, _) = attacks::answers_until_close(port, &malformed);
    (not_found, bad_request)
}

/// Opens the consent page and sends its form with `action=deny`; the
/// answer is the listener's, after the redirect to the callback.
async fn press_deny(start: &str) -> reqwest::Response {
    let http = http();
    let page = http.get(start).send().await.unwrap();
    let consent = page.url().clone();
    let query: Vec<(String, String)> = consent.query_pairs().into_owned().collect();
    let mut form = vec![("action".to_owned(), "deny".to_owned())];
    for name in ["client_id", "redirect_uri", "state", "scope"] {
        let value = query.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        form.push((name.to_owned(), value.cloned().unwrap_or_default()));
    }
    let target = consent.join("consent").unwrap();
    http.post(target).form(&form).send().await.unwrap()
}

fn pairs(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect()
}

/// The status and headers of a raw answer.
fn parse_raw(answer: &str) -> (u16, Vec<(String, String)>) {
    let head = answer.split("\r\n\r\n").next().unwrap_or("");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers)
}

fn assert_strict(what: &str, headers: &[(String, String)]) {
    for (name, value) in STRICT {
        let got: Vec<&str> = headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(got, [value], "{what}: header {name} in {headers:?}");
    }
}

async fn emulator_with(consent: bool) -> Emulator {
    Emulator::builder()
        .app(APP, KEY)
        .identity("Ada Lovelace", "ada@example.com")
        .auto_consent(consent)
        .start()
        .await
        .unwrap()
}

/// One login on a fresh emulator: its result and what the browser saw.
async fn login(deny: bool) -> (cloudmine::Result<cloudmine::Login>, Visit) {
    let emu = emulator_with(!deny).await;
    let seen = Seen::default();
    let result = client(&emu)
        .login_social(SocialNetwork::Github)
        .opener(browser(&seen, deny))
        .timeout(Duration::from_secs(60))
        .await;
    (result, seen.visit().await)
}

#[tokio::test]
async fn every_answer_of_the_listener_carries_the_strict_headers() {
    let (result, success) = login(false).await;
    result.expect("the login succeeds");
    let (result, denial) = login(true).await;
    let e = result.expect_err("the login is denied");
    assert!(e.is_access_denied(), "{e}");
    assert_eq!(success.page_status, 200);
    assert_strict("the success page", &success.page_headers);
    assert_strict("the denial page", &denial.page_headers);
    for visit in [&success, &denial] {
        let (status, headers) = parse_raw(&visit.not_found);
        assert_eq!(status, 404, "{}", visit.not_found);
        assert_strict("a 404", &headers);
        let (status, headers) = parse_raw(&visit.bad_request);
        assert_eq!(status, 400, "{}", visit.bad_request);
        assert_strict("a bad request", &headers);
    }
}

/// Binds `port` again, trying for up to 30 s.
async fn rebinds(port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_port_is_released_after_success_and_after_denial() {
    let (result, success) = login(false).await;
    result.expect("the login succeeds");
    assert!(
        rebinds(success.port).await,
        "port {} still held after a successful login",
        success.port
    );
    let (result, denial) = login(true).await;
    assert!(result.unwrap_err().is_access_denied());
    assert!(
        rebinds(denial.port).await,
        "port {} still held after a denied login",
        denial.port
    );
}

/// "One listener per login": two logins in flight at once on one client
/// are not refused; each has a listener (a port) of its own and completes
/// on its own callback, and the client keeps one of the two sessions.
#[tokio::test]
async fn two_logins_at_once_each_have_their_own_listener() {
    let emu = emulator_with(true).await;
    let ws = client(&emu);
    let (first, second) = (Seen::default(), Seen::default());
    let login = |seen: &Seen| {
        ws.login_social(SocialNetwork::Github)
            .opener(browser(seen, false))
            .timeout(Duration::from_secs(60))
    };
    let (a, b) = tokio::join!(
        std::future::IntoFuture::into_future(login(&first)),
        std::future::IntoFuture::into_future(login(&second))
    );
    let (a, b) = (a.expect("the first login"), b.expect("the second login"));
    let (seen_a, seen_b) = (first.visit().await, second.visit().await);
    assert_ne!(seen_a.port, seen_b.port, "one listener for two logins");
    assert_eq!((seen_a.page_status, seen_b.page_status), (200, 200));
    let kept = ws.session_token().expect("a session").secret().to_owned();
    assert!(
        kept == a.session_token().secret() || kept == b.session_token().secret(),
        "the client keeps one of the two sessions"
    );
}
