//! Event order for each outcome; `complete` exactly once, last, every time.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use cloudmine::{CallInfo, CallOptions, Event, EventEmitter, EventMessage, WebService};
use cloudmine_emulator::Fault;
use serde_json::{Value, json};
use support::*;

fn assert_complete_once_last(log: &EventLog) {
    let names = log.names();
    assert_eq!(log.count("complete"), 1, "{names:?}");
    assert_eq!(
        names.last().map(String::as_str),
        Some("complete"),
        "{names:?}"
    );
}

#[tokio::test]
async fn ok_200() {
    let emu = emulator().await;
    let ws = client(&emu);
    ws.objects().set("a", json!({"x": 1})).await.unwrap();
    let log = EventLog::default();
    log.attach(ws.objects().get(["a"])).await.unwrap();
    assert_eq!(log.names(), ["ok", "200", "success", "complete"]);
    assert_complete_once_last(&log);
    assert_eq!(log.data("success").unwrap(), json!({"a": {"x": 1}}));
    assert_eq!(
        log.data("complete").unwrap(),
        json!({"success": {"a": {"x": 1}}})
    );
}

#[tokio::test]
async fn created_201() {
    let emu = emulator().await;
    let log = EventLog::default();
    let r = log
        .attach(client(&emu).objects().set("new", json!(1)))
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.success(), &json!({"new": "created"}));
    assert_eq!(log.names(), ["created", "201", "success", "complete"]);
    assert_complete_once_last(&log);
    assert_eq!(log.data("success").unwrap(), json!({"new": "created"}));
    assert_eq!(log.data("created").unwrap(), json!({"new": "created"}));
}

#[tokio::test]
async fn badrequest_400() {
    let emu = emulator().await;
    let log = EventLog::default();
    let e = log
        .attach(client(&emu).objects().search("[a = 1] or [b = 2]"))
        .await
        .unwrap_err();
    assert!(e.is_bad_request());
    assert_eq!(log.names(), ["badrequest", "400", "error", "complete"]);
    assert_complete_once_last(&log);
    assert!(log.data("error").unwrap()["400"]["errors"][0].is_string());
}

#[tokio::test]
async fn unauthorized_401() {
    let emu = emulator().await;
    let ws = builder(&emu).api_key("not-the-key").build().unwrap();
    let log = EventLog::default();
    let e = log.attach(ws.objects().get_all()).await.unwrap_err();
    assert!(e.is_unauthorized());
    assert_eq!(log.names(), ["unauthorized", "401", "error", "complete"]);
    assert_complete_once_last(&log);
    assert!(
        !e.to_string().contains("not-the-key"),
        "no key in errors: {e}"
    );
}

#[tokio::test]
async fn notfound_404() {
    let emu = emulator().await;
    let ws = WebService::builder()
        .app_id("no-such-app")
        .api_key(KEY)
        .api_root(emu.base_url())
        .build()
        .unwrap();
    let log = EventLog::default();
    let e = log.attach(ws.objects().get_all()).await.unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(log.names(), ["notfound", "404", "error", "complete"]);
    assert_complete_once_last(&log);
}

#[tokio::test]
async fn conflict_409() {
    let emu = emulator().await;
    emu.inject_fault(Fault::status(409).body(json!({"errors": ["already taken"]})));
    let log = EventLog::default();
    let e = log
        .attach(client(&emu).objects().set("k", json!(1)))
        .await
        .unwrap_err();
    assert!(e.is_conflict());
    assert_eq!(e.server_messages(), ["already taken".to_string()]);
    assert_eq!(log.names(), ["conflict", "409", "error", "complete"]);
    assert_complete_once_last(&log);
    assert_eq!(
        log.data("409").unwrap(),
        json!({"errors": ["already taken"]})
    );
}

#[tokio::test]
async fn servererror_500_keeps_the_body() {
    let emu = emulator().await;
    emu.inject_fault(Fault::status(500));
    let log = EventLog::default();
    let e = log
        .attach(client(&emu).objects().get_all())
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(500));
    assert_eq!(log.names(), ["servererror", "500", "error", "complete"]);
    assert_complete_once_last(&log);
    let body = log.data("500").unwrap();
    assert_eq!(log.data("servererror").unwrap(), body);
    assert_eq!(log.data("error").unwrap(), json!({"500": body}));
    assert_eq!(e.body_text().unwrap(), body.to_string());
}

#[tokio::test]
async fn transport_error() {
    let ws = WebService::builder()
        .app_id(APP)
        .api_key(KEY)
        .api_root(format!("http://127.0.0.1:{}", closed_port()))
        .build()
        .unwrap();
    let log = EventLog::default();
    let e = log.attach(ws.objects().get_all()).await.unwrap_err();
    assert!(e.is_transport(), "{e}");
    assert_eq!(log.names(), ["error", "complete"]);
    assert_complete_once_last(&log);
    assert!(log.data("error").unwrap()["transport"]["errors"][0].is_string());
}

#[tokio::test]
async fn timeout() {
    let emu = emulator().await;
    emu.set_response_delay(Duration::from_secs(3));
    let ws = client(&emu);
    let log = EventLog::default();
    let infos = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&infos);
    let call = ws
        .objects()
        .get_all()
        .options(CallOptions::new().timeout(Duration::from_millis(200)))
        .on(Event::Complete, move |_: &Value, call: &CallInfo| {
            seen.lock()
                .unwrap()
                .push(call.error().map(|e| e.is_timeout()))
        });
    let e = log.attach(call).await.unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert_eq!(log.names(), ["error", "complete"]);
    assert_complete_once_last(&log);
    assert_eq!(*infos.lock().unwrap(), [Some(true)]);
    emu.set_response_delay(Duration::ZERO);
}

#[tokio::test]
async fn dropped_call_fires_abort_error_complete_once() {
    let emu = emulator().await;
    emu.set_response_delay(Duration::from_secs(5));
    let log = EventLog::default();
    let call = log.attach(client(&emu).objects().get_all());
    let outcome = tokio::time::timeout(Duration::from_millis(200), call).await;
    assert!(outcome.is_err(), "the call should still be running");
    assert_eq!(log.names(), ["abort", "error", "complete"]);
    assert_complete_once_last(&log);
    assert_eq!(
        log.data("error").unwrap()["abort"]["errors"][0],
        "the call was cancelled before it completed"
    );
}

#[tokio::test]
async fn invalid_options_fire_error_and_complete_without_a_request() {
    let emu = emulator().await;
    let log = EventLog::default();
    let e = log
        .attach(
            client(&emu)
                .objects()
                .get_all()
                .options(CallOptions::new().limit(-5)),
        )
        .await
        .unwrap_err();
    assert!(e.is_invalid());
    assert_eq!(log.names(), ["error", "complete"]);
    assert_complete_once_last(&log);
    let e = log
        .attach(client(&emu).objects().get(Vec::<String>::new()))
        .await
        .unwrap_err();
    assert!(e.is_invalid(), "{e}");
    assert!(emu.requests().is_empty(), "nothing may be sent");
}

#[tokio::test]
async fn panicking_handler_does_not_stop_complete() {
    let emu = emulator().await;
    let ws = client(&emu);
    ws.objects().set("a", json!({"x": 1})).await.unwrap();
    let completes = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&completes);
    let log = EventLog::default();
    let call = ws
        .objects()
        .get_all()
        .on(Event::Success, |_: &Value, _: &CallInfo| {
            panic!("handler bug")
        })
        .on(Event::Complete, move |_: &Value, _: &CallInfo| {
            c.fetch_add(1, Ordering::SeqCst);
        });
    let r = log
        .attach(call)
        .await
        .expect("a handler's panic is not the call's error");
    assert_eq!(r.success(), &json!({"a": {"x": 1}}));
    assert_eq!(completes.load(Ordering::SeqCst), 1);
    // The handlers after the panicking one still ran, in order.
    assert_eq!(log.names(), ["ok", "200", "success", "complete"]);
    assert_eq!(log.data("success").unwrap(), json!({"a": {"x": 1}}));
}

#[tokio::test]
async fn channel_handlers_and_off() {
    let emu = emulator().await;
    let ws = client(&emu);
    ws.objects().set("a", json!(1)).await.unwrap();
    let (tx, rx) = mpsc::channel::<EventMessage>();
    let (atx, mut arx) = tokio::sync::mpsc::unbounded_channel::<EventMessage>();
    let r = ws
        .objects()
        .get(["a", "b"])
        .on(Event::Success, tx.clone())
        .on(Event::Error, tx.clone())
        .on(Event::Complete, tx)
        .on(Event::Ok, atx.clone())
        .on(Event::Status(200), atx)
        .off(Event::Ok)
        .await
        .unwrap();
    assert_eq!(r.success(), &json!({"a": 1}));
    assert_eq!(r.key_errors()["b"].status, 404);
    let missing = json!({"errors": ["key does not exist"]});
    let got: Vec<(Event, Value)> = rx.try_iter().map(|m| (m.event, m.data)).collect();
    assert_eq!(
        got,
        [
            (Event::Success, json!({"a": 1})),
            (Event::Error, json!({"404": {"b": missing.clone()}})),
            (
                Event::Complete,
                json!({"success": {"a": 1}, "errors": {"404": {"b": missing}}})
            ),
        ]
    );
    let first = arx.try_recv().unwrap();
    assert_eq!(first.event, Event::Status(200));
    assert_eq!(first.call.status(), Some(200));
    assert_eq!(first.data, json!({"a": 1}));
    assert!(arx.try_recv().is_err(), "off(Ok) removed the Ok handler");
}

#[tokio::test]
async fn once_fires_once_and_emit_triggers_handlers() {
    let emu = emulator().await;
    let ws = client(&emu);
    ws.objects().set("a", json!(1)).await.unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let once = Arc::clone(&seen);
    let every = Arc::clone(&seen);
    let mut call = ws
        .objects()
        .get_all()
        .once(Event::Success, move |data: &Value, _: &CallInfo| {
            once.lock().unwrap().push(("once", data.clone()));
        })
        .on(Event::Success, move |data: &Value, _: &CallInfo| {
            every.lock().unwrap().push(("on", data.clone()));
        });
    call.emit(Event::Success, &json!({"manual": true}));
    let r = call.await.unwrap();
    assert_eq!(r.success(), &json!({"a": 1}));
    assert_eq!(
        *seen.lock().unwrap(),
        [
            ("once", json!({"manual": true})),
            ("on", json!({"manual": true})),
            ("on", json!({"a": 1})),
        ],
        "emit reaches the handlers with its data; a once handler fires once"
    );
}

#[tokio::test]
async fn call_info_reports_count_and_headers() {
    let emu = emulator().await;
    let ws = client(&emu);
    ws.objects()
        .set_many(json!({"a": 1, "b": 2}))
        .await
        .unwrap();
    let seen = Arc::new(std::sync::Mutex::new(None));
    let s = Arc::clone(&seen);
    ws.objects()
        .get_all()
        .options(CallOptions::new().count(true))
        .on(Event::Success, move |_: &Value, call: &CallInfo| {
            *s.lock().unwrap() = Some((
                call.count(),
                call.method().to_string(),
                call.header("X-Request-Id").is_some(),
                call.url().contains('?'),
            ));
        })
        .await
        .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        Some((Some(2), "GET".to_string(), true, false))
    );
}
