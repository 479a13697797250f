//! Typed event data against the emulator: `typed` handlers and
//! `EventMessage::payload` read `progress`, `open` and a login's `success`
//! as `Progress`, `OpenUrl` and `SignedIn`; CloudMine-shaped events stay JSON;
//! the old handler signatures still work next to them.

mod support;

use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use cloudmine::{
    CallInfo, Credentials, Event, EventEmitter, EventMessage, HttpOpener, OpenUrl, Payload,
    Progress, SignedIn, SocialNetwork, Source, typed,
};
use serde_json::{Value, json};
use support::*;

/// What a typed handler saw, as owned values.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Progress(Progress),
    Open(OpenUrl),
    SignedIn(SignedIn),
    Json(Event, Value),
}

/// Everything a recorder saw.
type SeenLog = Arc<Mutex<Vec<Seen>>>;

fn recorder() -> (
    SeenLog,
    impl FnMut(Event, Payload<'_>, &CallInfo) + Send + 'static,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    let handler = move |event: Event, payload: Payload<'_>, _: &CallInfo| {
        let owned = match payload {
            Payload::Progress(p) => Seen::Progress(p),
            Payload::Open(o) => Seen::Open(o),
            Payload::SignedIn(w) => Seen::SignedIn(w),
            Payload::Json(v) => Seen::Json(event, v.clone()),
            other => panic!("a payload this test does not know: {other:?}"),
        };
        s.lock().unwrap().push(owned);
    };
    (seen, handler)
}

#[tokio::test]
async fn a_password_login_success_is_signed_in_and_other_events_stay_json() {
    let emu = emulator().await;
    let ws = client(&emu);
    let who = Credentials::email("typed@example.com", "typed password 1");
    let created = ws.users().create(who.clone(), json!({})).await.unwrap();
    let id = created.success()["__id__"].as_str().unwrap().to_owned();
    let (seen, handler) = recorder();
    let old = Arc::new(Mutex::new(Vec::new()));
    let o = Arc::clone(&old);
    ws.users()
        .login(who)
        .on(Event::Success, typed(handler))
        .on(Event::Success, move |d: &Value, _: &CallInfo| {
            o.lock().unwrap().push(d.clone())
        })
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    let [Seen::SignedIn(signed)] = seen.as_slice() else {
        panic!("one signed-in payload: {seen:?}");
    };
    assert_eq!(signed.user_id, id);
    assert!(signed.services.is_empty());
    let old = old.lock().unwrap().clone();
    assert_eq!(old.len(), 1, "the JSON handler still runs");
    assert_eq!(old[0]["session_token"], "[redacted]");
    assert!(!format!("{signed:?}").contains(&ws.session_token().unwrap().secret().to_string()));

    // An objects call's success is CloudMine-shaped: JSON, as fired.
    let (seen, handler) = recorder();
    ws.objects()
        .set("k", json!({"v": 1}))
        .on(Event::Success, typed(handler))
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [Seen::Json(Event::Success, json!({"k": "created"}))],
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_failed_login_fires_json_errors_not_a_signed_in() {
    let emu = emulator().await;
    let ws = client(&emu);
    let (successes, on_success) = recorder();
    let (errors, on_error) = recorder();
    let err = ws
        .users()
        .login(Credentials::email("nobody@example.com", "wrong"))
        .on(Event::Success, typed(on_success))
        .on(Event::Error, typed(on_error))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401), "{err:?}");
    assert!(successes.lock().unwrap().is_empty());
    let seen = errors.lock().unwrap().clone();
    assert!(
        matches!(seen.as_slice(), [Seen::Json(Event::Error, v)] if v.get("401").is_some()),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_social_login_open_is_an_open_url_on_a_channel_and_a_handler() {
    let emu = auto_emulator().await;
    let ws = client(&emu);
    let (tx, rx) = mpsc::channel::<EventMessage>();
    let (seen, handler) = recorder();
    ws.login_social(SocialNetwork::Github)
        .opener(HttpOpener::new())
        .timeout(Duration::from_secs(30))
        .on(Event::Open, tx)
        .on(Event::Open, typed(handler))
        .await
        .unwrap();
    let message = rx.try_recv().unwrap();
    let Payload::Open(open) = message.payload() else {
        panic!("an open payload: {:?}", message.data);
    };
    assert!(open.opened, "the HTTP opener opened it");
    assert_eq!(open.reason, None);
    assert_eq!(open.user_code, None, "the loopback login shows no code");
    assert!(open.url.starts_with(&emu.base_url()), "{}", open.url);
    assert_eq!(open.url, message.data["url"], "the same URL as the JSON");
    let shown = format!("{open:?}");
    assert!(
        !shown.contains(KEY),
        "the URL's query is not in Debug: {shown}"
    );
    assert_eq!(seen.lock().unwrap().as_slice(), [Seen::Open(open)]);
}

#[tokio::test]
async fn an_upload_reports_typed_progress_up_to_the_total() {
    let emu = emulator().await;
    let ws = client(&emu);
    let (seen, handler) = recorder();
    ws.files()
        .upload(Source::bytes(vec![3u8; 64 * 1024]))
        .key("typed")
        .progress_interval(Duration::ZERO)
        .on(Event::Progress, typed(handler))
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    let progress: Vec<Progress> = seen
        .iter()
        .map(|s| match s {
            Seen::Progress(p) => *p,
            other => panic!("progress only: {other:?}"),
        })
        .collect();
    assert_eq!(
        progress.last(),
        Some(&Progress {
            done: 64 * 1024,
            total: Some(64 * 1024)
        })
    );
    assert!(progress.windows(2).all(|w| w[0].done <= w[1].done));
}

#[test]
fn typed_handlers_work_on_the_blocking_client() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt.block_on(emulator());
    let ws = cloudmine::blocking::WebService::new(builder(&emu)).unwrap();
    let who = Credentials::email("blocking-typed@example.com", "typed password 2");
    ws.users().create(who.clone(), json!({})).wait().unwrap();
    let (seen, handler) = recorder();
    ws.users()
        .login(who)
        .on(Event::Success, typed(handler))
        .wait()
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert!(
        matches!(seen.as_slice(), [Seen::SignedIn(s)] if !s.user_id.is_empty()),
        "{seen:?}"
    );
}
