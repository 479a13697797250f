//! The blocking client: removing one handler, aborting from another thread,
//! the raw answer, the request as sent.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudmine::{CallInfo, Event, EventEmitter, REDACTED, WebService, blocking};
use cloudmine_emulator::Emulator;
use serde_json::{Value, json};
use support::{APP, EventLog, KEY};

/// An emulator on a runtime of its own; the test thread has none.
fn emulator() -> (tokio::runtime::Runtime, Emulator) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt
        .block_on(Emulator::builder().app(APP, KEY).start())
        .unwrap();
    (rt, emu)
}

fn client(emu: &Emulator, key: &str) -> blocking::WebService {
    blocking::WebService::new(
        WebService::builder()
            .app_id(APP)
            .api_key(key)
            .api_root(emu.base_url()),
    )
    .unwrap()
}

#[test]
fn abort_from_another_thread_while_the_server_is_slow() {
    let (_rt, emu) = emulator();
    let ws = client(&emu, KEY);
    emu.clear_requests();
    emu.set_response_delay(Duration::from_secs(60));
    let log = EventLog::default();
    let mut call = log.attach(ws.objects().get_all());
    let handle = call.abort_handle();
    let requests = {
        let handle = handle.clone();
        let emu_requests = move || emu.requests().len();
        std::thread::spawn(move || {
            // Bounded by a count, not a clock assertion.
            for _ in 0..2000 {
                if emu_requests() >= 1 {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            handle.abort();
            emu_requests()
        })
    };
    let error = call.wait().unwrap_err();
    assert!(error.is_aborted(), "{error}");
    assert_eq!(requests.join().unwrap(), 1, "the request was under way");
    assert_eq!(log.names(), ["abort", "error", "complete"]);
}

#[test]
fn abort_before_waiting_sends_nothing_and_after_is_a_noop() {
    let (_rt, emu) = emulator();
    let ws = client(&emu, KEY);
    emu.clear_requests();
    let mut call = ws.objects().get_all();
    call.abort_handle().abort();
    assert!(call.wait().unwrap_err().is_aborted());
    assert!(emu.requests().is_empty());

    let mut call = ws.objects().set("car", json!({"make": "Fiat"}));
    let handle = call.abort_handle();
    assert_eq!(call.wait().unwrap().keys(), ["car"]);
    handle.abort();
    assert_eq!(ws.objects().get(["car"]).wait().unwrap().keys(), ["car"]);
}

#[test]
fn raw_answers_request_info_and_unsubscribe() {
    let (_rt, emu) = emulator();
    let ws = client(&emu, KEY);
    ws.objects()
        .set("car", json!({"make": "Fiat"}))
        .wait()
        .unwrap();

    let log = Arc::new(Mutex::new(Vec::new()));
    let mut call = ws.objects().get(["car"]);
    let info = call.request_info().unwrap();
    assert_eq!(info.header("x-cloudmine-apikey"), Some(REDACTED));
    assert!(!format!("{info} {info:?}").contains(KEY));
    let seen = Arc::clone(&log);
    let gone = call.subscribe(Event::Success, move |_: &Value, _: &CallInfo| {
        seen.lock().unwrap().push("gone")
    });
    let seen = Arc::clone(&log);
    let url = info.url().to_owned();
    // A panicking handler is caught by the call: record, assert below.
    call.subscribe(Event::Success, move |_: &Value, c: &CallInfo| {
        let same = c.request().map(|r| r.url()) == Some(url.as_str());
        seen.lock()
            .unwrap()
            .push(if same { "kept" } else { "other url" });
    });
    assert!(call.unsubscribe(gone));
    assert!(!call.unsubscribe(gone));
    let response = call.wait().unwrap();
    assert_eq!(*log.lock().unwrap(), ["kept"]);
    assert!(response.text().contains("Fiat"), "{}", response.text());

    let error = client(&emu, "wrong-key")
        .objects()
        .get_all()
        .wait()
        .unwrap_err();
    let raw: Value = serde_json::from_slice(error.raw_body().unwrap()).unwrap();
    assert!(raw["errors"].is_array(), "{raw}");
}
