//! Retries of idempotent calls (issue 16 item 8), against the emulator's
//! injected faults and a closed port: what is retried, the budgets, the
//! `Retry-After` header, the `retry` event and its place among the others.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudmine::{
    CallInfo, CallOptions, Event, EventEmitter, RetryNotice, RetryPolicy, Source, WebService,
    blocking,
};
use cloudmine_emulator::{Emulator, Fault};
use serde_json::{Value, json};
use support::{APP, KEY, builder, client, closed_port, emulator};

/// Quick retries: 1 ms backoff ceiling, so no test waits long.
fn quick() -> RetryPolicy {
    RetryPolicy::new()
        .max_attempts(3)
        .base_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(1))
}

fn retrying(emu: &Emulator, policy: RetryPolicy) -> WebService {
    builder(emu).retry(policy).build().unwrap()
}

/// Every event a call fires, in order: `retry` and the answer's events.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<(String, Value)>>>);

impl Log {
    fn attach<C: EventEmitter>(&self, mut call: C) -> C {
        let events = [
            Event::Retry,
            Event::Success,
            Event::Error,
            Event::Ok,
            Event::Status(503),
            Event::Complete,
        ];
        for event in events {
            let log = Arc::clone(&self.0);
            call = call.on(event, move |data: &Value, _: &CallInfo| {
                log.lock().unwrap().push((event.to_string(), data.clone()));
            });
        }
        call
    }

    fn names(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }

    fn retries(&self) -> Vec<RetryNotice> {
        let log = self.0.lock().unwrap();
        log.iter()
            .filter(|(n, _)| n == "retry")
            .map(|(_, d)| RetryNotice::from_data(d).expect("retry data"))
            .collect()
    }
}

fn requests_to(emu: &Emulator, method: &str, suffix: &str) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r.method == method && r.path.ends_with(suffix))
        .count()
}

async fn with_car(emu: &Emulator) {
    client(emu)
        .objects()
        .set("car", json!({"make": "Fiat"}))
        .await
        .unwrap();
    emu.clear_requests();
}

#[tokio::test]
async fn a_get_is_retried_after_503s_and_succeeds_with_the_events_in_order() {
    let emu = emulator().await;
    with_car(&emu).await;
    emu.inject_fault(Fault::status(503).path_suffix("/text"));
    emu.inject_fault(Fault::status(503).path_suffix("/text"));
    let log = Log::default();
    let ws = retrying(&emu, quick());
    let car = log.attach(ws.objects().get(["car"])).await.unwrap();
    assert_eq!(car.value("car").unwrap()["make"], "Fiat");
    assert_eq!(log.names(), ["retry", "retry", "ok", "success", "complete"]);
    let retries = log.retries();
    assert_eq!(
        retries.iter().map(|r| r.attempt).collect::<Vec<_>>(),
        [2, 3]
    );
    assert!(retries.iter().all(|r| r.reason == "503"));
    assert!(retries.iter().all(|r| r.delay <= Duration::from_millis(1)));
    assert_eq!(requests_to(&emu, "GET", "/text"), 3);
}

#[tokio::test]
async fn statuses_429_502_504_are_retried_but_500_is_not() {
    let emu = emulator().await;
    with_car(&emu).await;
    let ws = retrying(&emu, quick().max_attempts(4));
    for status in [429, 502, 504] {
        emu.inject_fault(Fault::status(status).path_suffix("/text"));
    }
    let log = Log::default();
    log.attach(ws.objects().get(["car"])).await.unwrap();
    let reasons: Vec<String> = log.retries().into_iter().map(|r| r.reason).collect();
    assert_eq!(reasons, ["429", "502", "504"]);

    emu.inject_fault(Fault::status(500).path_suffix("/text"));
    emu.clear_requests();
    let e = ws.objects().get(["car"]).await.unwrap_err();
    assert_eq!(e.status(), Some(500));
    assert_eq!(requests_to(&emu, "GET", "/text"), 1, "500 is not retried");
}

#[tokio::test]
async fn an_exhausted_attempt_budget_gives_the_last_error() {
    let emu = emulator().await;
    emu.inject_fault(Fault::status(503));
    emu.inject_fault(Fault::status(503));
    emu.inject_fault(Fault::status(503).body(json!({"errors": ["the third"]})));
    emu.inject_fault(Fault::status(503).body(json!({"errors": ["left over"]})));
    let log = Log::default();
    let ws = retrying(&emu, quick());
    let e = log.attach(ws.objects().get(["car"])).await.unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(e.server_messages(), ["the third".to_string()]);
    assert_eq!(log.names(), ["retry", "retry", "503", "error", "complete"]);
    assert_eq!(requests_to(&emu, "GET", "/text"), 3);
}

#[tokio::test]
async fn a_wait_past_the_total_delay_budget_is_not_waited() {
    let emu = emulator().await;
    emu.inject_fault(Fault::status(503).header("Retry-After", "120"));
    let policy = quick()
        .retry_after_cap(Duration::from_secs(600))
        .max_total_delay(Duration::from_secs(1));
    let log = Log::default();
    let e = log
        .attach(retrying(&emu, policy).objects().get(["car"]))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert!(log.retries().is_empty());
    assert_eq!(requests_to(&emu, "GET", "/text"), 1);
}

#[tokio::test]
async fn retry_after_in_seconds_is_the_delay() {
    let emu = emulator().await;
    with_car(&emu).await;
    emu.inject_fault(Fault::status(429).header("Retry-After", "1"));
    let log = Log::default();
    log.attach(retrying(&emu, quick()).objects().get(["car"]))
        .await
        .unwrap();
    let retries = log.retries();
    assert_eq!(retries.len(), 1);
    assert_eq!(retries[0].delay, Duration::from_secs(1));
    assert_eq!(retries[0].reason, "429");
}

#[tokio::test]
async fn retry_after_as_a_date_is_honoured_up_to_the_cap() {
    let emu = emulator().await;
    with_car(&emu).await;
    // A date a day away: waited only as long as the cap.
    let later = httpdate(std::time::SystemTime::now() + Duration::from_secs(86_400));
    emu.inject_fault(Fault::status(503).header("Retry-After", later));
    // A date in the past: no wait at all.
    emu.inject_fault(Fault::status(503).header("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"));
    let policy = quick().retry_after_cap(Duration::from_millis(40));
    let log = Log::default();
    log.attach(retrying(&emu, policy).objects().get(["car"]))
        .await
        .unwrap();
    let delays: Vec<Duration> = log.retries().into_iter().map(|r| r.delay).collect();
    assert_eq!(delays, [Duration::from_millis(40), Duration::ZERO]);
}

/// An IMF-fixdate, as `Retry-After` carries it.
fn httpdate(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{weekday}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        months[(month - 1) as usize],
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[tokio::test]
async fn a_post_is_never_retried() {
    let emu = emulator().await;
    emu.inject_fault(Fault::status(503).path_suffix("/text"));
    let log = Log::default();
    let ws = retrying(&emu, quick());
    let e = log
        .attach(ws.objects().update("car", json!({"make": "Fiat"})))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert!(log.retries().is_empty());
    assert_eq!(requests_to(&emu, "POST", "/text"), 1);
}

#[tokio::test]
async fn a_put_of_whole_objects_is_retried() {
    let emu = emulator().await;
    emu.inject_fault(Fault::status(502).path_suffix("/text"));
    let log = Log::default();
    let ws = retrying(&emu, quick());
    log.attach(ws.objects().set("car", json!({"make": "Fiat"})))
        .await
        .unwrap();
    assert_eq!(log.retries().len(), 1);
    assert_eq!(requests_to(&emu, "PUT", "/text"), 2);
    let car = ws.objects().get(["car"]).await.unwrap();
    assert_eq!(car.value("car").unwrap()["make"], "Fiat");
}

#[tokio::test]
async fn an_upload_from_a_reader_is_never_retried() {
    let emu = emulator().await;
    emu.inject_fault(Fault::status(503).path_suffix("/binary/doc"));
    let ws = retrying(&emu, quick());
    let reader = std::io::Cursor::new(b"hello".to_vec());
    let e = ws
        .files()
        .upload(Source::reader(reader, Some(5)))
        .key("doc")
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(requests_to(&emu, "POST", "/binary/doc"), 1);
}

#[tokio::test]
async fn connect_errors_are_retried_then_the_last_one_returned() {
    let ws = WebService::builder()
        .app_id(APP)
        .api_key(KEY)
        .api_root(format!("http://127.0.0.1:{}", closed_port()))
        .retry(quick())
        .build()
        .unwrap();
    let log = Log::default();
    let e = log.attach(ws.objects().get(["car"])).await.unwrap_err();
    assert!(e.is_transport(), "{e}");
    let retries = log.retries();
    assert_eq!(retries.len(), 2);
    assert!(retries.iter().all(|r| r.reason == "connect"));
    assert_eq!(log.names(), ["retry", "retry", "error", "complete"]);
}

/// An emulator on a runtime of its own (started from a handler, which may
/// not block the test's runtime).
type Started = Arc<Mutex<Option<(tokio::runtime::Runtime, Emulator)>>>;

#[tokio::test]
async fn a_connect_error_then_an_answer_succeeds() {
    // The first attempt finds nothing listening; the `retry` handler starts
    // the emulator on that port, so the retry finds it.
    let port = closed_port();
    let ws = WebService::builder()
        .app_id(APP)
        .api_key(KEY)
        .api_root(format!("http://127.0.0.1:{port}"))
        .retry(quick())
        .build()
        .unwrap();
    let started: Started = Arc::default();
    let keep = Arc::clone(&started);
    let call = ws
        .objects()
        .get_all()
        .on(Event::Retry, move |_: &Value, _: &CallInfo| {
            let (rt, emu) = std::thread::spawn(move || {
                let rt = tokio::runtime::Runtime::new().unwrap();
                let emu = rt.block_on(
                    Emulator::builder()
                        .app(APP, KEY)
                        .listen(([127, 0, 0, 1], port).into())
                        .start(),
                );
                (rt, emu.expect("the emulator starts on the freed port"))
            })
            .join()
            .unwrap();
            *keep.lock().unwrap() = Some((rt, emu));
        });
    let answer = call.await;
    let kept = started.lock().unwrap().take();
    assert!(answer.is_ok(), "{answer:?}");
    let (rt, emu) = kept.expect("one retry");
    assert_eq!(requests_to(&emu, "GET", "/text"), 1);
    // A runtime may not be dropped inside another one.
    std::thread::spawn(move || drop((emu, rt))).join().unwrap();
}

#[tokio::test]
async fn retries_are_set_and_unset_per_call() {
    let emu = emulator().await;
    with_car(&emu).await;
    emu.inject_fault(Fault::status(503));
    let e = retrying(&emu, quick())
        .objects()
        .get(["car"])
        .options(CallOptions::new().no_retry())
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(503), "no_retry: sent once");

    emu.inject_fault(Fault::status(503));
    let car = client(&emu)
        .objects()
        .get(["car"])
        .options(CallOptions::new().retry(quick()))
        .await
        .unwrap();
    assert_eq!(car.value("car").unwrap()["make"], "Fiat");
    assert_eq!(requests_to(&emu, "GET", "/text"), 3);
}

#[tokio::test]
async fn without_the_option_nothing_is_retried() {
    let emu = emulator().await;
    emu.inject_fault(Fault::status(503));
    let e = client(&emu).objects().get(["car"]).await.unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(requests_to(&emu, "GET", "/text"), 1);
}

#[tokio::test]
async fn an_impossible_policy_is_refused_before_sending() {
    let emu = emulator().await;
    let e = builder(&emu)
        .retry(RetryPolicy::new().max_attempts(0))
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("retry"), "{e}");
    let e = client(&emu)
        .objects()
        .get(["car"])
        .options(CallOptions::new().retry(RetryPolicy::new().max_attempts(21)))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("max_attempts must be 1 to 20"),
        "{e}"
    );
    assert!(emu.requests().is_empty());
}

#[test]
fn the_blocking_client_retries_too() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt.block_on(emulator());
    emu.inject_fault(Fault::status(503));
    let ws = blocking::WebService::new(builder(&emu).retry(quick())).unwrap();
    ws.objects()
        .set("car", json!({"make": "Fiat"}))
        .wait()
        .unwrap();
    emu.inject_fault(Fault::status(504));
    let car = ws.objects().get(["car"]).wait().unwrap();
    assert_eq!(car.value("car").unwrap()["make"], "Fiat");
}
