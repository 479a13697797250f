//! Controlling one call: removing one handler, aborting it, reading the raw
//! answer and the request as sent (secrets redacted).

mod support;

use std::future::IntoFuture;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudmine::{
    CallInfo, CallOptions, Credentials, Event, EventEmitter, REDACTED, RequestBody, RequestInfo,
    Source, WebService,
};
use cloudmine_emulator::Emulator;
use serde_json::{Value, json};
use support::{APP, EventLog, KEY, builder, client, closed_port, emulator, user_client};

fn recorder(
    log: &Arc<Mutex<Vec<&'static str>>>,
    tag: &'static str,
) -> impl cloudmine::EventHandler {
    let log = Arc::clone(log);
    move |_: &Value, _: &CallInfo| log.lock().unwrap().push(tag)
}

/// Waits (bounded by a count, not a clock assertion) until the emulator
/// has recorded `n` requests.
async fn until_requests(emu: &Emulator, n: usize) {
    for _ in 0..2000 {
        if emu.requests().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the emulator never saw {n} request(s)");
}

#[tokio::test]
async fn unsubscribe_removes_one_handler_and_off_still_removes_all() {
    let emu = emulator().await;
    let ws = client(&emu);
    let log = Arc::new(Mutex::new(Vec::new()));

    let mut call = ws.objects().get_all();
    let first = call.subscribe(Event::Success, recorder(&log, "first"));
    call.subscribe(Event::Success, recorder(&log, "second"));
    let once = call.subscribe_once(Event::Complete, recorder(&log, "once"));
    assert!(call.unsubscribe(first));
    assert!(!call.unsubscribe(first), "removing twice is false");
    assert!(call.unsubscribe(once));
    call.await.unwrap();
    assert_eq!(*log.lock().unwrap(), ["second"]);

    // An id from another call removes nothing here.
    let mut other = ws.objects().get_all();
    let foreign = other.subscribe(Event::Success, recorder(&log, "other"));
    let mut call = ws.objects().get_all();
    call.subscribe(Event::Success, recorder(&log, "kept"));
    assert!(!call.unsubscribe(foreign));

    // `off` removes subscribed handlers too.
    let mut call = call.off(Event::Success);
    call.subscribe(Event::Complete, recorder(&log, "complete"));
    call.await.unwrap();
    assert_eq!(*log.lock().unwrap(), ["second", "complete"]);
    drop(other);
}

#[tokio::test]
async fn unsubscribe_works_on_other_call_types() {
    let emu = emulator().await;
    let ws = client(&emu);
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut upload = ws
        .files()
        .upload(Source::bytes(&b"hello"[..]))
        .key("greeting");
    let gone = upload.subscribe(Event::Success, recorder(&log, "gone"));
    upload.subscribe(Event::Success, recorder(&log, "kept"));
    assert!(upload.unsubscribe(gone));
    upload.await.unwrap();
    assert_eq!(*log.lock().unwrap(), ["kept"]);
}

#[tokio::test]
async fn abort_before_sending_sends_nothing() {
    let emu = emulator().await;
    let ws = client(&emu);
    emu.clear_requests();
    let log = EventLog::default();
    let mut call = log.attach(ws.objects().get_all());
    let handle = call.abort_handle();
    handle.abort();
    assert!(handle.is_aborted());
    let error = call.await.unwrap_err();
    assert!(error.is_aborted(), "{error}");
    assert_eq!(log.names(), ["abort", "error", "complete"]);
    assert!(emu.requests().is_empty(), "{:?}", emu.requests());
}

#[tokio::test]
async fn abort_after_into_future_before_the_first_poll_sends_nothing() {
    let emu = emulator().await;
    let ws = client(&emu);
    emu.clear_requests();
    let log = EventLog::default();
    let mut call = log.attach(ws.objects().get_all());
    let handle = call.abort_handle();
    let future = call.into_future();
    handle.abort();
    assert!(future.await.unwrap_err().is_aborted());
    assert_eq!(log.names(), ["abort", "error", "complete"]);
    assert!(emu.requests().is_empty());
}

#[tokio::test]
async fn abort_from_another_task_while_the_server_is_slow() {
    let emu = emulator().await;
    let ws = client(&emu);
    emu.clear_requests();
    emu.set_response_delay(Duration::from_secs(60));
    let log = EventLog::default();
    let mut call = log.attach(ws.objects().get_all());
    let handle = call.abort_handle();
    let task = tokio::spawn(call.into_future());
    until_requests(&emu, 1).await;
    let aborter = handle.clone();
    tokio::spawn(async move { aborter.abort() }).await.unwrap();
    let error = task.await.unwrap().unwrap_err();
    assert!(error.is_aborted(), "{error}");
    assert_eq!(log.names(), ["abort", "error", "complete"]);
    assert_eq!(
        log.data("error").unwrap()["abort"]["errors"][0],
        "the call was cancelled before it completed"
    );
    // The client goes on working.
    emu.set_response_delay(Duration::ZERO);
    ws.objects().get_all().await.unwrap();
}

#[tokio::test]
async fn abort_after_completion_changes_nothing() {
    let emu = emulator().await;
    let ws = client(&emu);
    let log = EventLog::default();
    let mut call = log.attach(ws.objects().set("car", json!({"make": "Fiat"})));
    let handle = call.abort_handle();
    let response = call.await.unwrap();
    handle.abort();
    assert!(handle.is_aborted());
    assert_eq!(response.keys(), ["car"]);
    assert_eq!(log.names(), ["created", "201", "success", "complete"]);
    assert_eq!(ws.objects().get(["car"]).await.unwrap().keys(), ["car"]);
}

#[tokio::test]
async fn response_keeps_the_raw_body() {
    let emu = emulator().await;
    let ws = client(&emu);
    ws.objects()
        .set("car", json!({"make": "Fiat"}))
        .await
        .unwrap();
    let response = ws.objects().get(["car"]).await.unwrap();
    let parsed: Value = serde_json::from_slice(response.raw()).unwrap();
    assert_eq!(parsed["success"]["car"]["make"], "Fiat");
    assert_eq!(
        serde_json::from_str::<Value>(&response.text()).unwrap(),
        parsed
    );
    // A clone shares the buffer.
    assert_eq!(response.raw().clone().as_ptr(), response.raw().as_ptr());
}

#[tokio::test]
async fn status_errors_keep_the_raw_body_other_errors_have_none() {
    let emu = emulator().await;
    let ws = builder(&emu).api_key("not-the-key").build().unwrap();
    let error = ws.objects().get_all().await.unwrap_err();
    assert!(error.is_unauthorized(), "{error}");
    let raw: Value = serde_json::from_slice(error.raw_body().unwrap()).unwrap();
    let cloudmine::Error::Status { body, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(&raw, &**body);
    assert!(error.body_text().unwrap().contains("errors"));

    let closed = WebService::builder()
        .app_id(APP)
        .api_key(KEY)
        .api_root(format!("http://127.0.0.1:{}", closed_port()))
        .build()
        .unwrap();
    let error = closed.objects().get_all().await.unwrap_err();
    assert!(error.is_transport());
    assert!(error.raw_body().is_none() && error.body_text().is_none());
}

fn assert_no_secret(info: &RequestInfo, secrets: &[&str]) {
    let shown = format!("{info} {info:?}");
    for secret in secrets {
        assert!(!shown.contains(secret), "a secret shows in {shown}");
    }
}

#[tokio::test]
async fn request_info_redacts_secrets_and_names_every_header() {
    let emu = emulator().await;
    let (ws, _user) = user_client(&emu, "ada@example.com").await;
    let token = ws.session_token().unwrap();
    let call = ws.objects().search("[make = \"Fiat\"]");
    let info = call.request_info().unwrap();
    assert_eq!(info.method(), "GET");
    assert!(info.url().starts_with(&emu.base_url()), "{}", info.url());
    assert!(info.url().contains("/user/search?q="), "{}", info.url());
    assert_eq!(info.header("X-CloudMine-ApiKey"), Some(REDACTED));
    assert_eq!(info.header("X-CloudMine-SessionToken"), Some(REDACTED));
    assert_eq!(info.body(), &RequestBody::None);
    assert_no_secret(&info, &[KEY, token.secret()]);

    emu.clear_requests();
    let seen = Arc::new(Mutex::new(None));
    let keep = Arc::clone(&seen);
    call.on(Event::Complete, move |_: &Value, c: &CallInfo| {
        *keep.lock().unwrap() = c.request().cloned()
    })
    .await
    .unwrap();
    let during = seen
        .lock()
        .unwrap()
        .clone()
        .expect("handlers see the request");
    assert_eq!(during, info);
    // Every header the server received that the SDK set is named.
    let sent = emu.requests().pop().unwrap();
    for (name, _) in &sent.headers {
        let transport = [
            "host",
            "accept",
            "accept-encoding",
            "content-length",
            "user-agent",
        ];
        if !transport.contains(&name.as_str()) {
            assert!(info.header(name).is_some(), "{name} missing from {info}");
        }
    }
}

#[tokio::test]
async fn request_info_shows_json_bodies_without_passwords() {
    let emu = emulator().await;
    let ws = client(&emu);
    let info = ws
        .users()
        .create(
            Credentials::email("bo@example.com", "hunter2-long-pass"),
            json!({"age": 3}),
        )
        .request_info()
        .unwrap();
    assert_eq!(info.method(), "POST");
    let RequestBody::Json(text) = info.body() else {
        panic!("{info}")
    };
    assert!(text.contains("bo@example.com"), "{text}");
    assert_no_secret(&info, &["hunter2-long-pass", KEY]);

    let login = ws
        .users()
        .login(Credentials::email("bo@example.com", "hunter2-long-pass"))
        .request_info()
        .unwrap();
    assert_no_secret(&login, &["hunter2-long-pass", KEY]);
}

#[tokio::test]
async fn request_info_redacts_a_reset_token_in_the_path() {
    let emu = emulator().await;
    let ws = client(&emu);
    let info = ws
        .users()
        .confirm_reset("reset-token-4b1d9e", "new-long-password-1")
        .request_info()
        .unwrap();
    assert!(info.url().contains("/password/reset/[redacted]"), "{info}");
    assert_no_secret(&info, &["reset-token-4b1d9e", "new-long-password-1", KEY]);
}

#[tokio::test]
async fn request_info_is_the_same_error_as_awaiting() {
    let emu = emulator().await;
    let call = client(&emu)
        .objects()
        .get_all()
        .options(CallOptions::new().limit(-5));
    let error = call.request_info().unwrap_err();
    assert!(
        matches!(error, cloudmine::Error::InvalidOptions { .. }),
        "{error}"
    );
    assert!(matches!(
        call.await.unwrap_err(),
        cloudmine::Error::InvalidOptions { .. }
    ));
    let bad = client(&emu).objects().get(Vec::<String>::new());
    assert!(bad.request_info().is_err());
}
