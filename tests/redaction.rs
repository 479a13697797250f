//! Secrets never appear in Debug, Display, errors or tracing output.
//!
//! The capture here is per thread, so the tests run on a current-thread
//! runtime (every task on the test's thread). What other threads log (a
//! multi-thread runtime's workers, the login listener, blocking threads)
//! is captured globally in `tests/redaction_global.rs`.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudmine::{CallInfo, CallOptions, Event, EventEmitter, WebService};
use serde_json::{Value, json};
use support::logs::capture_logs;
use support::*;

#[tokio::test(flavor = "current_thread")]
async fn no_secret_in_logs_errors_or_debug() {
    let (capture, _guard) = capture_logs();

    let emu = emulator().await;
    let (ws, _) = user_client(&emu, "secret@example.com").await;
    let token = ws.session_token().unwrap().secret().to_string();
    let mut seen = String::new();

    // Success at user level, with every handler recording what it sees.
    let infos = Arc::new(Mutex::new(String::new()));
    let i = Arc::clone(&infos);
    let r = ws
        .objects()
        .set("k", json!({"v": 1}))
        .on(Event::Complete, move |d: &Value, c: &CallInfo| {
            i.lock().unwrap().push_str(&format!("{d} {c:?}"))
        })
        .await
        .unwrap();
    seen.push_str(&format!("{r:?}"));

    // 401 with a wrong key, a transport error and a timeout.
    let e = ws
        .objects()
        .get_all()
        .options(CallOptions::new().api_key("wrong-secret-key"))
        .await
        .unwrap_err();
    seen.push_str(&format!("{e} {e:?}"));
    let offline = WebService::builder()
        .app_id(APP)
        .api_key(KEY)
        .session_token(token.as_str())
        .api_root(format!("http://127.0.0.1:{}", closed_port()))
        .build()
        .unwrap();
    let e = offline.objects().get(["a"]).await.unwrap_err();
    seen.push_str(&format!("{e} {e:?}"));
    emu.set_response_delay(Duration::from_secs(2));
    let e = ws
        .objects()
        .get_all()
        .options(CallOptions::new().timeout(Duration::from_millis(100)))
        .await
        .unwrap_err();
    assert!(e.is_timeout());
    seen.push_str(&format!("{e} {e:?} {ws:?} {:?}", ws.options()));
    seen.push_str(&infos.lock().unwrap());

    let logs = capture.text();
    assert!(
        logs.contains("cloudmine call"),
        "the SDK logged its calls: {logs}"
    );
    for secret in [token.as_str(), KEY, "wrong-secret-key"] {
        assert!(!logs.contains(secret), "secret in logs");
        assert!(!seen.contains(secret), "secret in Debug/Display: {seen}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn no_token_or_password_in_logs_of_the_accounts_flow() {
    let (capture, _guard) = capture_logs();

    const PASSWORD: &str = "very-secret-password";
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let ws = builder(&emu)
        .savelogin(true)
        .session_store(cloudmine::FileStore::new(dir.path().join("s.json")))
        .build()
        .unwrap();
    let credentials = cloudmine::Credentials::email("sec@example.com", PASSWORD);
    let mut seen = format!("{credentials:?}");
    ws.users()
        .create(credentials.clone(), json!({}))
        .await
        .unwrap();
    let login = ws.users().login(credentials).await.unwrap();
    let token = ws.session_token().unwrap().secret().to_string();
    seen.push_str(&format!("{login:?} {ws:?} {:?}", ws.options()));
    let me = ws.users().me().await.unwrap();
    seen.push_str(&format!("{me:?}"));
    let e = ws
        .users()
        .login(cloudmine::Credentials::email(
            "sec@example.com",
            "wrong-secret-pw",
        ))
        .await
        .unwrap_err();
    seen.push_str(&format!("{e} {e:?}"));
    let restored = ws.restore().await.unwrap();
    seen.push_str(&format!("{restored:?}"));

    let logs = capture.text();
    assert!(
        logs.contains("account/login"),
        "the calls were logged: {logs}"
    );
    for secret in [token.as_str(), PASSWORD, "wrong-secret-pw", KEY] {
        assert!(!logs.contains(secret), "secret in logs");
        assert!(!seen.contains(secret), "secret in Debug/Display: {seen}");
    }
}
