//! Injected faults with headers (`Fault::header`), as a client sees them
//! over HTTP: the SDK's retry tests need `Retry-After`.

mod support;

use cloudmine_emulator::{Emulator, Fault};
use reqwest::{Method, StatusCode};
use support::{App, message};

const CM: App = App("app", "fault-key");

async fn emulator() -> Emulator {
    support::builder().app(CM.0, CM.1).start().await.unwrap()
}

#[tokio::test]
async fn a_fault_carries_its_headers_once() {
    let emu = emulator().await;
    emu.inject_fault(
        Fault::status(503)
            .header("Retry-After", "7")
            .header("X-Extra", "a")
            .header("X-Extra", "b"),
    );
    let resp = CM.request(&emu, Method::GET, "text").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()["retry-after"], "7");
    let extra: Vec<_> = resp.headers().get_all("x-extra").iter().collect();
    assert_eq!(extra, ["a", "b"], "repeated headers are all sent");
    let (_, body) = support::json_of(resp).await;
    assert_eq!(message(&body), "injected fault");

    let resp = CM.request(&emu, Method::GET, "text").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "a fault is used once");
    assert!(resp.headers().get("retry-after").is_none());
}

#[tokio::test]
async fn a_header_http_cannot_carry_is_left_out() {
    let emu = emulator().await;
    emu.inject_fault(
        Fault::status(429)
            .header("bad name", "x")
            .header("X-Bad-Value", "line\nbreak")
            .header("Retry-After", "1"),
    );
    let resp = CM.request(&emu, Method::GET, "text").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().get("x-bad-value").is_none());
    assert_eq!(resp.headers()["retry-after"], "1");
}
