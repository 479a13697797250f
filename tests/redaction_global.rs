//! Everything every thread logs — the SDK's spans and events, tasks spawned
//! on the runtime's workers, the login listener's thread and the emulator
//! in the same process — captured by a global subscriber (this binary's
//! only test, so nothing else sets one), over a password account flow with
//! a reset, a request with secrets in its query string, failing calls, a
//! CloudMine social login and BaasBox password and social logins. No
//! secret and no query string may be in it, and it must hold the emulator's
//! request lines, logged by other threads than the test's (else a capture
//! that missed them would pass).

mod support;

use std::time::Duration;

use cloudmine::baasbox::{BaasBox, OAuthProvider};
use cloudmine::{CallOptions, Credentials, HttpOpener, SocialNetwork};
use cloudmine_emulator::Emulator;
use serde_json::json;
use support::logs::capture_global;
use support::*;

/// A value sent where secrets go; it must never be logged.
const CANARY: &str = "canary-5e1f-never-logged";
const PASSWORD: &str = "global-secret-password";
const NEW_PASSWORD: &str = "global-new-secret-password";
const BB_APP: &str = "bb-global-app-code";
const EMAIL: &str = "global@example.com";

/// Sign-up, login, objects, a failing login and key, a reset requested and
/// confirmed; returns the secrets it met (the session and reset tokens).
async fn cloudmine_accounts(emu: &Emulator) -> Vec<String> {
    let ws = client(emu);
    let who = Credentials::email(EMAIL, PASSWORD);
    ws.users().create(who.clone(), json!({})).await.unwrap();
    ws.users().login(who).await.unwrap();
    let token = ws.session_token().unwrap().secret().to_string();
    ws.objects().set("k", json!({"v": CANARY})).await.unwrap();
    ws.objects()
        .search(format!("[v = \"{CANARY}\"]"))
        .await
        .unwrap();
    let wrong = Credentials::email(EMAIL, CANARY);
    let e = ws.users().login(wrong).await.unwrap_err();
    assert!(e.is_unauthorized(), "{e}");
    let e = ws
        .objects()
        .get_all()
        .options(CallOptions::new().api_key(CANARY))
        .await
        .unwrap_err();
    assert!(e.is_unauthorized(), "{e}");
    ws.users().reset_password(EMAIL).await.unwrap();
    let reset = emu.outbox().await.unwrap().pop().unwrap().token;
    ws.users()
        .confirm_reset(&reset, NEW_PASSWORD)
        .await
        .unwrap();
    // Used up: the error names the call's URL, never the token.
    let e = ws
        .users()
        .confirm_reset(&reset, NEW_PASSWORD)
        .await
        .unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(shown.contains("password/reset/[redacted]"), "{shown}");
    assert!(
        !shown.contains(&reset),
        "the reset token in an error: {shown}"
    );
    vec![token, reset]
}

/// A request with the session, the key and the canary in its query string
/// as well as in its headers (download links carry `apikey` and
/// `session_token` in the query).
async fn secrets_in_a_query(emu: &Emulator) -> Vec<String> {
    let ws = client(emu);
    ws.users()
        .login(Credentials::email(EMAIL, NEW_PASSWORD))
        .await
        .unwrap();
    let token = ws.session_token().unwrap().secret().to_string();
    let url = format!(
        "{}/v1/app/{APP}/user/text?apikey={KEY}&session_token={token}&canary={CANARY}",
        emu.base_url()
    );
    let r = reqwest::Client::new()
        .get(&url)
        .header("x-cloudmine-apikey", KEY)
        .header("x-cloudmine-sessiontoken", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    vec![token]
}

/// A CloudMine social login through the loopback listener.
async fn cloudmine_social(emu: &Emulator) -> Vec<String> {
    let ws = client(emu);
    ws.login_social(SocialNetwork::Github)
        .opener(HttpOpener::new())
        .timeout(Duration::from_secs(30))
        .await
        .unwrap();
    vec![ws.session_token().unwrap().secret().to_string()]
}

/// BaasBox: sign-up, a refused login, a social login.
async fn baasbox(emu: &Emulator) -> Vec<String> {
    let bb = BaasBox::builder()
        .base_url(format!("{}/baasbox", emu.base_url()))
        .app_code(BB_APP)
        .build()
        .unwrap();
    bb.signup("globaluser", PASSWORD).await.unwrap();
    let signed_up = bb.session_token().unwrap().secret().to_string();
    bb.login("globaluser", CANARY).await.unwrap_err();
    let provider = OAuthProvider::emulator(&emu.base_url(), "google").unwrap();
    bb.login_social("google", provider)
        .opener(HttpOpener::new())
        .timeout(Duration::from_secs(30))
        .await
        .unwrap();
    vec![signed_up, bb.session_token().unwrap().secret().to_string()]
}

/// The emulator's request lines: `method`, `path`, `status`, `latency_ms`
/// and nothing else (docs/SECURITY.md); returns them.
fn emulator_lines(logs: &str) -> Vec<&str> {
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("cloudmine_emulator::middleware: request"))
        .collect();
    for line in &lines {
        let fields = line.split("request ").nth(1).unwrap_or_default();
        let names: Vec<&str> = fields
            .split_whitespace()
            .map(|f| f.split('=').next().unwrap_or_default())
            .collect();
        assert_eq!(names, ["method", "path", "status", "latency_ms"], "{line}");
    }
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_or_query_string_in_any_thread_s_logs() {
    let capture = capture_global();
    let emu = Emulator::builder()
        .app(APP, KEY)
        .baasbox(BB_APP)
        .identity("Ada Lovelace", "ada@example.com")
        .auto_consent(true)
        .start()
        .await
        .unwrap();
    let mut secrets: Vec<String> = [KEY, PASSWORD, NEW_PASSWORD, CANARY, BB_APP]
        .map(String::from)
        .to_vec();
    secrets.extend(cloudmine_accounts(&emu).await);
    secrets.extend(secrets_in_a_query(&emu).await);
    secrets.extend(cloudmine_social(&emu).await);
    secrets.extend(baasbox(&emu).await);
    emu.shutdown().await.unwrap();
    let logs = capture.text();

    // The capture saw the other threads: the emulator's request lines come
    // from its connection tasks on the runtime's workers.
    let requests = emulator_lines(&logs);
    for path in [
        format!("path=/v1/app/{APP}/account/login "),
        format!("path=/v1/app/{APP}/account/password/reset/[redacted] "),
        format!("path=/v1/app/{APP}/user/text "),
        "path=/baasbox/login ".to_owned(),
    ] {
        assert!(
            requests.iter().any(|l| l.contains(&path)),
            "no emulator line with {path}: {requests:#?}"
        );
    }
    let test_thread = std::thread::current().name().unwrap_or_default().to_owned();
    assert!(
        requests.iter().any(|l| !l.contains(&test_thread)),
        "every line is from the test's own thread: {requests:#?}"
    );
    assert!(
        logs.contains("cloudmine.login") && logs.contains("cloudmine.call"),
        "the SDK's spans: {logs}"
    );

    for (i, secret) in secrets.iter().enumerate() {
        assert!(!secret.is_empty());
        assert!(
            !logs.contains(secret.as_str()),
            "secret #{i} is in the logs:\n{logs}"
        );
    }
    for marker in [
        "canary=",
        "session_token=",
        "apikey=",
        "code_verifier",
        "code=",
    ] {
        assert!(!logs.contains(marker), "{marker} in the logs:\n{logs}");
    }
    for word in logs.split_whitespace() {
        let url_like = ["://", "path=", "url=", "uri="]
            .iter()
            .any(|m| word.contains(m))
            || word.starts_with('/');
        assert!(!(url_like && word.contains('?')), "a query string: {word}");
    }
}
