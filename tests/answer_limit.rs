//! Bounded answers (issue 16 item 9): the `max_answer_bytes` option caps
//! what a call reads into memory, by the `Content-Length` before any of
//! the body is read, and while reading a body of unknown length.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use cloudmine::{
    CallInfo, CallOptions, DEFAULT_MAX_ANSWER_BYTES, Error, Event, EventEmitter, WebService,
};
use serde_json::{Value, json};
use support::{APP, KEY, builder, client, emulator};

#[tokio::test]
async fn a_listing_larger_than_the_cap_is_refused_with_a_typed_error() {
    let emu = emulator().await;
    let ws = client(&emu);
    for i in 0..20 {
        ws.objects()
            .set(format!("car{i}"), json!({"make": "Fiat", "i": i}))
            .await
            .unwrap();
    }
    let errors = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&errors);
    let e = ws
        .objects()
        .get_all()
        .options(CallOptions::new().max_answer_bytes(100))
        .on(Event::Error, move |data: &Value, _: &CallInfo| {
            seen.lock().unwrap().push(data.clone())
        })
        .await
        .unwrap_err();
    assert!(e.is_answer_too_large(), "{e}");
    assert!(matches!(e, Error::AnswerTooLarge { limit: 100, .. }));
    let text = e.to_string();
    assert!(text.contains("larger than 100 bytes") && text.contains("max_answer_bytes"));
    assert!(errors.lock().unwrap()[0].get("toolarge").is_some());

    // The same listing under the default cap.
    let all = ws.objects().get_all().await.unwrap();
    assert_eq!(all.keys().len(), 20);
}

#[tokio::test]
async fn the_cap_is_set_per_client_and_unset_per_call() {
    let emu = emulator().await;
    client(&emu)
        .objects()
        .set("car", json!({"make": "Fiat"}))
        .await
        .unwrap();
    let ws = builder(&emu).max_answer_bytes(10).build().unwrap();
    assert_eq!(ws.options().max_answer_bytes(), Some(10));
    assert!(
        ws.objects()
            .get(["car"])
            .await
            .unwrap_err()
            .is_answer_too_large()
    );
    let car = ws
        .objects()
        .get(["car"])
        .options(CallOptions::new().unset_max_answer_bytes())
        .await
        .unwrap();
    assert_eq!(car.value("car").unwrap()["make"], "Fiat");
}

#[tokio::test]
async fn an_answer_of_exactly_the_cap_is_read() {
    let emu = emulator().await;
    let ws = client(&emu);
    ws.objects()
        .set("car", json!({"make": "Fiat"}))
        .await
        .unwrap();
    let size = ws.objects().get(["car"]).await.unwrap().raw().len() as u64;
    let exact = CallOptions::new().max_answer_bytes(size);
    assert!(ws.objects().get(["car"]).options(exact).await.is_ok());
    let under = CallOptions::new().max_answer_bytes(size - 1);
    assert!(
        ws.objects()
            .get(["car"])
            .options(under)
            .await
            .unwrap_err()
            .is_answer_too_large()
    );
}

#[tokio::test]
async fn a_zero_cap_is_refused_before_sending() {
    let emu = emulator().await;
    let e = builder(&emu).max_answer_bytes(0).build().unwrap_err();
    assert!(e.to_string().contains("max_answer_bytes"), "{e}");
    let e = client(&emu)
        .objects()
        .get(["car"])
        .options(CallOptions::new().max_answer_bytes(0))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("at least 1 byte"), "{e}");
    assert!(emu.requests().is_empty());
    assert_eq!(DEFAULT_MAX_ANSWER_BYTES, 64 * 1024 * 1024);
}

/// A one-connection HTTP server on loopback that reads a request head and
/// writes `answer`, then holds the connection open until the client goes.
fn raw_server(answer: Vec<u8>) -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let thread = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        let _ = stream.write_all(&answer);
        // Wait for the client to close (a read of 0 or an error).
        let _ = stream.read(&mut [0u8; 16]);
    });
    (port, thread)
}

/// Waits for the server thread off the runtime, so the client's connection
/// tasks can still run and close the socket.
async fn finish(server: std::thread::JoinHandle<()>) {
    tokio::task::spawn_blocking(move || server.join().unwrap())
        .await
        .unwrap();
}

fn raw_client(port: u16, cap: u64) -> WebService {
    WebService::builder()
        .app_id(APP)
        .api_key(KEY)
        .api_root(format!("http://127.0.0.1:{port}"))
        .max_answer_bytes(cap)
        // Were the body awaited, the call would end in a timeout instead.
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_huge_content_length_is_refused_without_reading_the_body() {
    // It claims 1 TB and sends nothing: only the header is looked at.
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n{";
    let (port, server) = raw_server(head.to_vec());
    let e = raw_client(port, 1024)
        .objects()
        .get(["a"])
        .await
        .unwrap_err();
    assert!(e.is_answer_too_large(), "{e}");
    finish(server).await;
}

#[tokio::test]
async fn a_chunked_body_past_the_cap_is_cut_off() {
    // No Content-Length: chunks of 512 bytes, the third passes the cap,
    // the last chunk never comes.
    let mut answer =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    for _ in 0..3 {
        answer.extend_from_slice(b"200\r\n");
        answer.extend_from_slice(&[b' '; 512]);
        answer.extend_from_slice(b"\r\n");
    }
    let (port, server) = raw_server(answer);
    let e = raw_client(port, 1200)
        .objects()
        .get(["a"])
        .await
        .unwrap_err();
    assert!(e.is_answer_too_large(), "{e}");
    assert!(matches!(e, Error::AnswerTooLarge { limit: 1200, .. }));
    finish(server).await;
}

#[tokio::test]
async fn a_lying_small_content_length_is_not_read_past() {
    // It claims 20 bytes and sends more: the extra bytes are never taken
    // as part of the answer, which is decoded from the 20 announced.
    let mut answer =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n".to_vec();
    answer.extend_from_slice(br#"{"success":{"a":1}}  "#);
    answer.extend_from_slice(&[b'x'; 4096]);
    let (port, server) = raw_server(answer);
    let a = raw_client(port, 100).objects().get(["a"]).await.unwrap();
    assert_eq!(a.value("a"), Some(&json!(1)));
    finish(server).await;
}
