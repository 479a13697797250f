//! Hostile local processes against a social login waiting on its loopback
//! listener (issue 12, items 3–5 and the landing page of item 2), with the
//! in-process emulator and a plain-HTTP "browser".
//!
//! Each attack test runs the login on a runtime of its own flavor on a
//! thread of its own, and fails (instead of hanging) if that does not end
//! within a generous deadline: a frozen listener shows up as that failure.
//! Measured figures are printed (`--nocapture`); docs/SECURITY.md has them.

mod support;

use std::future::{Future, IntoFuture};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cloudmine::{CallInfo, Event, EventEmitter, SocialNetwork};
use cloudmine_emulator::Emulator;
use reqwest::header::HeaderMap;
use serde_json::Value;
use support::attacks::{self, Attack, FULL, TAKE_HOLD};
use support::*;
use tokio::sync::Notify;

/// These tests count the process's descriptors and threads: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// How long a whole test body may take before it counts as stuck.
const LIVENESS: Duration = Duration::from_secs(120);

/// Runs `body` on a new runtime (current-thread, or multi-thread with two
/// workers) on its own thread; fails if it panics or is not done within
/// [`LIVENESS`].
fn on_runtime<F: Future<Output = ()>>(multi: bool, body: impl FnOnce() -> F + Send + 'static) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut builder = if multi {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(2);
            b
        } else {
            tokio::runtime::Builder::new_current_thread()
        };
        let runtime = builder.enable_all().build().unwrap();
        runtime.block_on(body());
        let _ = done.send(());
    });
    match finished.recv_timeout(LIVENESS) {
        Ok(()) => {}
        Err(RecvTimeoutError::Timeout) => {
            panic!("not done within {LIVENESS:?}: the login or its listener is stuck")
        }
        Err(RecvTimeoutError::Disconnected) => panic!("the test body failed (see above)"),
    }
}

/// The page a browser ended on: its headers and HTML.
#[derive(Clone, Default)]
struct Page(Arc<Mutex<Option<(HeaderMap, String)>>>);

impl Page {
    /// Waits (up to 10 s) for the browser to have read the page.
    async fn read(&self) -> (HeaderMap, String) {
        for _ in 0..1000 {
            if let Some(page) = self.0.lock().unwrap().clone() {
                return page;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the browser never got its landing page");
    }
}

/// A browser: follows the login URL's redirects with plain HTTP (the
/// emulator's consent is automatic) and keeps the page it ends on.
fn browser(page: &Page) -> impl Fn(&str) -> Result<(), String> + Send + Sync + 'static {
    let page = page.clone();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(10))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    move |url: &str| {
        let (http, page, url) = (http.clone(), page.clone(), url.to_owned());
        tokio::spawn(async move {
            if let Ok(answer) = http.get(&url).send().await {
                let headers = answer.headers().clone();
                let html = answer.text().await.unwrap_or_default();
                *page.0.lock().unwrap() = Some((headers, html));
            }
        });
        Ok(())
    }
}

/// A login with no attack: the landing page names who signed in, carries
/// its security headers, and the `success` data carries the profile.
async fn clean_login(emu: &Emulator) {
    let page = Page::default();
    let success = Arc::new(Mutex::new(Value::Null));
    let seen = Arc::clone(&success);
    let login = client(emu)
        .login_social(SocialNetwork::Github)
        .opener(browser(&page))
        .timeout(Duration::from_secs(30))
        .on(Event::Success, move |data: &Value, _: &CallInfo| {
            *seen.lock().unwrap() = data.clone()
        })
        .await
        .unwrap();
    assert_eq!(login.profile().fields()["email"], "ada@example.com");
    let data = success.lock().unwrap().clone();
    assert_eq!(data["profile"]["name"], "Ada Lovelace", "{data}");
    assert_eq!(data["profile"]["email"], "ada@example.com", "{data}");
    let (headers, html) = page.read().await;
    assert!(
        html.contains("Signed in as Ada Lovelace &lt;ada@example.com&gt;."),
        "{html}"
    );
    assert!(html.contains("data-status=\"success\""), "{html}");
    for (name, value) in [
        (
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'",
        ),
        ("cache-control", "no-store"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("connection", "close"),
        ("content-type", "text/html; charset=utf-8"),
    ] {
        assert_eq!(
            headers.get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{name}"
        );
    }
}

/// The full attack on a waiting login; the real callback still completes
/// it, and descriptors and threads come back to where they were.
async fn login_under_attack() {
    let emu = auto_emulator().await;
    clean_login(&emu).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (fds, threads) = (attacks::descriptors(), attacks::threads());

    let port = attacks::free_port();
    let attack = Arc::new(Mutex::new(None));
    let started = Arc::new(Mutex::new(None));
    let page = Page::default();
    let opener = {
        let (attack, started, real) = (Arc::clone(&attack), Arc::clone(&started), browser(&page));
        let real = Arc::new(real);
        move |url: &str| {
            *attack.lock().unwrap() = Some(Attack::mount(port, FULL));
            let (started, real, url) = (Arc::clone(&started), Arc::clone(&real), url.to_owned());
            tokio::spawn(async move {
                tokio::time::sleep(TAKE_HOLD).await;
                *started.lock().unwrap() = Some(Instant::now());
                real(&url)
            });
            Ok(())
        }
    };
    let login = client(&emu)
        .login_social(SocialNetwork::Github)
        .port(port)
        .opener(opener)
        .timeout(Duration::from_secs(60))
        .await
        .expect("the real callback completes the login under attack");
    let took = started.lock().unwrap().unwrap().elapsed();
    let (fds_during, threads_during) = (attacks::descriptors(), attacks::threads());
    let attack = attack.lock().unwrap().take().unwrap();
    eprintln!(
        "MEASURE login under attack: browser leg {took:?}; descriptors {fds} before, \
         {fds_during} during ({} the attacker's); threads {threads} before, {threads_during} during",
        attack.sockets()
    );
    assert_eq!(login.profile().fields()["email"], "ada@example.com");
    let (_, html) = page.read().await;
    assert!(html.contains("Signed in as Ada Lovelace"), "{html}");
    // While the attacker still holds its sockets: the listener's side is
    // bounded by its connection cap (64), and it runs no thread per
    // connection.
    assert!(
        fds_during <= fds + attack.sockets() + 64 + 16,
        "descriptors during the attack: {fds_during} ({fds} before, {} the attacker's)",
        attack.sockets()
    );
    assert!(
        threads_during <= threads + attack.threads() + 8,
        "threads during the attack: {threads_during} ({threads} before)"
    );
    attack.stop();
    drop(login);
    let fds_after = attacks::settles(attacks::descriptors, fds, Duration::from_secs(10)).await;
    assert!(
        fds_after <= fds,
        "descriptors: {fds} before, {fds_after} after"
    );
    let threads_after = attacks::settles(attacks::threads, threads, Duration::from_secs(15)).await;
    assert!(
        threads_after <= threads,
        "threads: {threads} before, {threads_after} after"
    );
}

#[test]
fn the_callback_completes_under_attack_on_a_current_thread_runtime() {
    on_runtime(false, login_under_attack);
}

#[test]
fn the_callback_completes_under_attack_on_a_multi_thread_runtime() {
    on_runtime(true, login_under_attack);
}

/// A login dropped while the listener is under attack frees its port.
async fn dropped_under_attack() {
    let emu = auto_emulator().await;
    let port = attacks::free_port();
    let attack = Arc::new(Mutex::new(None));
    let opened = Arc::new(Notify::new());
    let opener = {
        let (attack, opened) = (Arc::clone(&attack), Arc::clone(&opened));
        move |_: &str| {
            *attack.lock().unwrap() = Some(Attack::mount(port, FULL));
            opened.notify_one();
            Ok(())
        }
    };
    let mut login = Box::pin(
        client(&emu)
            .login_social(SocialNetwork::Github)
            .port(port)
            .opener(opener)
            .timeout(Duration::from_secs(60))
            .into_future(),
    );
    tokio::select! {
        ended = &mut login => panic!("the login ended before the browser came back: {ended:?}"),
        () = opened.notified() => {}
    }
    // Let the attack take hold (on the login's runtime: the login is not
    // polled meanwhile, as a login dropped by its app would not be).
    tokio::time::sleep(TAKE_HOLD).await;
    let dropped = Instant::now();
    drop(login);
    let drop_took = dropped.elapsed();
    let mut tries = 0;
    while std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
        tries += 1;
        assert!(
            dropped.elapsed() < Duration::from_secs(10),
            "the port is still taken 10 s after the login was dropped"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let freed = dropped.elapsed();
    eprintln!(
        "MEASURE dropped login: drop returned after {drop_took:?}, port free after {freed:?} ({tries} failed binds)"
    );
    attack.lock().unwrap().take().unwrap().stop();
}

#[test]
fn a_dropped_login_frees_its_port_under_attack_current_thread() {
    on_runtime(false, dropped_under_attack);
}

#[test]
fn a_dropped_login_frees_its_port_under_attack_multi_thread() {
    on_runtime(true, dropped_under_attack);
}

/// Runs `attack` (on a blocking thread) against a login waiting on a
/// fixed port, then completes the login with the real browser.
async fn attack_waiting_login(attack: impl FnOnce(u16) + Send + 'static) {
    let emu = auto_emulator().await;
    let port = attacks::free_port();
    let url = Arc::new(Mutex::new(None));
    let opened = Arc::new(Notify::new());
    let opener = {
        let (url, opened) = (Arc::clone(&url), Arc::clone(&opened));
        move |u: &str| {
            *url.lock().unwrap() = Some(u.to_owned());
            opened.notify_one();
            Ok(())
        }
    };
    let page = Page::default();
    let real = browser(&page);
    let login = client(&emu)
        .login_social(SocialNetwork::Github)
        .port(port)
        .opener(opener)
        .timeout(Duration::from_secs(60))
        .into_future();
    let attack = async {
        opened.notified().await;
        tokio::task::spawn_blocking(move || attack(port))
            .await
            .unwrap();
        let url = url.lock().unwrap().clone().unwrap();
        real(&url).unwrap();
    };
    let (login, ()) = tokio::join!(login, attack);
    assert_eq!(
        login.unwrap().profile().fields()["email"],
        "ada@example.com"
    );
}

/// A 256 MiB request line is cut at the cap: the listener stops taking it
/// after a few KiB (what the attacker got rid of sits in socket buffers),
/// the process's memory does not grow with it, and the login still
/// completes.
#[test]
fn a_huge_request_line_is_cut_at_the_cap() {
    on_runtime(false, || {
        attack_waiting_login(|port| {
            let before = attacks::rss_kib();
            let (sent, answer) = attacks::huge_request_line(port, 256 << 20);
            let grew = attacks::rss_kib().saturating_sub(before);
            eprintln!(
                "MEASURE 256 MiB request line: the listener took {sent} bytes; \
                 RSS grew {grew} KiB; answer {answer:?}"
            );
            assert!(sent < 32 << 20, "{sent} bytes taken of a 256 MiB line");
            assert!(grew < 16 << 10, "RSS grew {grew} KiB");
            assert!(
                answer.is_empty() || answer.starts_with("HTTP/1.1 414 "),
                "{answer}"
            );
        })
    });
}

/// Pipelined and kept-alive requests: one answer per connection, which
/// says `Connection: close`, and then the listener closes it.
#[test]
fn one_answer_per_connection_then_close() {
    on_runtime(false, || {
        attack_waiting_login(|port| {
            let host = format!("Host: 127.0.0.1:{port}");
            let pipelined = format!("GET /a HTTP/1.1\r\n{host}\r\n\r\n").repeat(3);
            let kept_alive = format!("GET /b HTTP/1.1\r\n{host}\r\nConnection: keep-alive\r\n\r\n");
            for request in [pipelined, kept_alive] {
                let (answers, closed) = attacks::answers_until_close(port, &request);
                assert_eq!(answers.matches("HTTP/1.1 ").count(), 1, "{answers}");
                assert!(answers.starts_with("HTTP/1.1 404 "), "{answers}");
                assert!(answers.contains("\r\nConnection: close\r\n"), "{answers}");
                assert!(
                    closed,
                    "the listener closes the connection after its answer"
                );
            }
        })
    });
}

/// The BaasBox browser login's page names the user too: its email (the
/// user name of a social login is generated, so it is not shown).
#[test]
fn the_baasbox_landing_page_names_the_user() {
    // Serialized with the tests that count descriptors.
    on_runtime(false, baasbox_login);
}

async fn baasbox_login() {
    use cloudmine::baasbox::{BaasBox, OAuthProvider};
    let emu = Emulator::builder()
        .app("unused", "unused-key")
        .baasbox("bb-app-code")
        .auto_consent(true)
        .identity("Grace Hopper", "grace@example.com")
        .start()
        .await
        .unwrap();
    let bb = BaasBox::builder()
        .base_url(format!("{}/baasbox", emu.base_url()))
        .app_code("bb-app-code")
        .build()
        .unwrap();
    let provider = OAuthProvider::emulator(&emu.base_url(), "google").unwrap();
    let page = Page::default();
    let user = bb
        .login_social("google", provider)
        .opener(browser(&page))
        .timeout(Duration::from_secs(30))
        .await
        .unwrap();
    assert!(user.generated_username);
    let (_, html) = page.read().await;
    assert!(html.contains("Signed in as grace@example.com."), "{html}");
    assert!(!html.contains(&user.username), "{html}");
}
