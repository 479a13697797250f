//! Typed errors: invalid options, server refusals, malformed bodies,
//! unsupported queries, and data that survives an emulator restart.

mod support;

use cloudmine::{Credentials, Error, EventEmitter, Method, WebService};
use cloudmine_emulator::Emulator;
use serde_json::json;
use support::*;

#[test]
fn builder_rejects_invalid_options() {
    let e = WebService::builder().api_key("k").build().unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidOptions {
                option: "app_id",
                ..
            }
        ),
        "{e}"
    );
    let e = WebService::builder().app_id("a").build().unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidOptions {
                option: "api_key",
                ..
            }
        ),
        "{e}"
    );
    let e = WebService::builder()
        .app_id("a")
        .api_key("k")
        .api_root("ftp://example.com")
        .build()
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidOptions {
                option: "api_root",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.is_invalid());
    let ws = WebService::new("a", "k").unwrap();
    assert_eq!(
        ws.options().api_root().as_str(),
        "https://api.cloudmine.io/"
    );
}

#[test]
fn update_options_is_validated_and_atomic() {
    let ws = WebService::new("a", "k").unwrap();
    let e = ws
        .update_options(
            cloudmine::CallOptions::new()
                .limit(7)
                .unique_id("bad\nvalue"),
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidOptions {
                option: "unique_id",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        ws.options().limit(),
        None,
        "a failed update changes nothing"
    );
    ws.update_options(cloudmine::CallOptions::new().limit(7))
        .unwrap();
    assert_eq!(ws.options().limit(), Some(7));
}

#[test]
fn secrets_stay_out_of_debug() {
    let ws = WebService::builder()
        .app_id("a")
        .api_key("super-secret-key")
        .session_token("super-secret-session")
        .build()
        .unwrap();
    let debug = format!("{ws:?} {:?}", ws.options());
    assert!(!debug.contains("super-secret"), "{debug}");
    assert!(debug.contains("[redacted]"));
}

#[tokio::test]
async fn malformed_body_is_a_400_with_the_message() {
    let emu = emulator().await;
    let ws = client(&emu);
    let e = ws
        .api(Method::PUT, "text")
        .body("{not json", "application/json")
        .await
        .unwrap_err();
    assert!(e.is_bad_request(), "{e}");
    assert!(e.server_messages()[0].contains("malformed JSON"), "{e}");
    let e = ws
        .api(Method::PUT, "text")
        .json(&json!([1, 2]))
        .await
        .unwrap_err();
    assert!(e.is_bad_request(), "{e}");
}

#[tokio::test]
async fn oversized_body_is_a_413() {
    let emu = Emulator::builder()
        .app(APP, KEY)
        .max_body_bytes(1024)
        .start()
        .await
        .unwrap();
    let ws = client(&emu);
    let e = ws.objects().set("big", "x".repeat(4096)).await.unwrap_err();
    assert_eq!(e.status(), Some(413), "{e}");
}

#[tokio::test]
async fn unsupported_query_names_the_part() {
    let emu = emulator().await;
    let ws = client(&emu);
    for (query, part) in [
        (r#"[make = "a"] or [make = "b"]"#, "or"),
        ("[make = /x/]", "regular expression"),
        (r#"[showroom[make = "x"]]"#, "["),
    ] {
        let e = ws.objects().search(query).await.unwrap_err();
        assert!(e.is_bad_request(), "{query}: {e}");
        let message = e.server_messages().join(" ");
        assert!(message.contains("unsupported"), "{query}: {message}");
        assert!(
            message.contains(part),
            "{query}: {message} should name {part:?}"
        );
    }
    let e = ws.objects().search("   ").await.unwrap_err();
    assert!(e.is_invalid(), "an empty query is refused before sending");
}

#[tokio::test]
async fn generic_api_rejects_bad_actions() {
    let emu = emulator().await;
    let ws = client(&emu);
    for action in ["", "/", "a//b", "../text"] {
        let e = ws.api(Method::GET, action).await.unwrap_err();
        assert!(e.is_invalid(), "{action:?}: {e}");
    }
    let e = ws.api(Method::GET, "no/such/endpoint").await.unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(emu.requests().len() == 1);
}

#[tokio::test]
async fn emulator_restart_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data.sqlite");

    let emu = Emulator::builder()
        .app(APP, KEY)
        .database(&db)
        .start()
        .await
        .unwrap();
    let (ws, user) = user_client(&emu, "keep@example.com").await;
    client(&emu)
        .objects()
        .set("app-key", json!({"kept": true}))
        .await
        .unwrap();
    ws.objects()
        .set("user-key", json!({"mine": true}))
        .await
        .unwrap();
    emu.shutdown().await.unwrap();

    let emu = Emulator::builder()
        .app(APP, KEY)
        .database(&db)
        .start()
        .await
        .unwrap();
    let r = client(&emu).objects().get(["app-key"]).await.unwrap();
    assert_eq!(r.value("app-key"), Some(&json!({"kept": true})));
    let token = emu
        .create_session(APP, &user, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let ws = client(&emu);
    ws.set_session_token(token).unwrap();
    let r = ws.objects().get(["user-key"]).await.unwrap();
    assert_eq!(r.value("user-key"), Some(&json!({"mine": true})));
    emu.shutdown().await.unwrap();
}

/// A tiny HTTP server on loopback that answers every request with HTTP 200,
/// a JSON content type and `body`; returns its root URL.
async fn answering(body: &'static str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                // Reads the head and whatever body came with it; the
                // answer does not depend on the request.
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

fn client_of(root: &str) -> WebService {
    WebService::builder()
        .app_id(APP)
        .api_key(KEY)
        .api_root(root)
        .build()
        .unwrap()
}

/// The `what` of a [`Error::Decode`], with its predicate checked.
fn decode_what(e: &Error) -> String {
    assert!(e.is_decode(), "{e:?}");
    assert!(
        !e.is_invalid() && !e.is_transport() && e.status().is_none(),
        "{e:?}"
    );
    match e {
        Error::Decode { what, .. } => what.clone(),
        other => panic!("not a Decode error: {other:?}"),
    }
}

#[tokio::test]
async fn a_malformed_json_answer_is_a_decode_error() {
    let ws = client_of(&answering(r#"{"success": {"a": 1"#).await);
    // The login decodes its answer itself.
    let e = ws
        .users()
        .login(Credentials::email("ada@example.com", "a password"))
        .await
        .unwrap_err();
    assert_eq!(decode_what(&e), "the login answer", "{e}");
    assert!(
        ws.session_token().is_none(),
        "no session from a broken answer"
    );
    // A plain call keeps the text; decoding it as keys fails.
    let r = ws.objects().get(["a"]).await.unwrap();
    let e = r.into_map::<u32>().unwrap_err();
    assert_eq!(decode_what(&e), "the success data", "{e}");
    assert!(
        e.to_string()
            .starts_with("could not decode the success data"),
        "{e}"
    );
}

#[tokio::test]
async fn an_answer_of_the_wrong_shape_is_a_decode_error() {
    let ws = client_of(&answering(r#"{"success": {"a": "not a number"}}"#).await);
    let r = ws.objects().get(["a"]).await.unwrap();
    let e = r.value_as::<u32>("a").unwrap_err();
    assert_eq!(decode_what(&e), "key \"a\"", "{e}");
    let e = r.get_as::<Vec<u32>>().unwrap_err();
    assert_eq!(decode_what(&e), "the success data", "{e}");
    let e = r.into_map::<u32>().unwrap_err();
    assert_eq!(decode_what(&e), "key \"a\"", "{e}");
    // A typed call decodes in its output step: an ACL answer without an ACL.
    let ws = client_of(&answering("[]").await);
    ws.set_session_token("a-session-token-for-the-fake-server")
        .unwrap();
    let e = ws.acls().get("acl1").await.unwrap_err();
    assert_eq!(decode_what(&e), "the ACL answer", "{e}");
}

#[tokio::test]
async fn a_page_that_is_not_an_object_of_keys_is_a_decode_error() {
    use futures_util::StreamExt;
    let ws = client_of(&answering(r#"{"success": [1, 2, 3], "count": 3}"#).await);
    let mut pages = ws.objects().get_all_pages().into_stream();
    let e = pages.next().await.expect("one item").unwrap_err();
    assert_eq!(decode_what(&e), "a page", "{e}");
    assert!(
        pages.next().await.is_none(),
        "the stream ends after an error"
    );
}

#[tokio::test]
async fn invalid_arguments_and_options_are_told_apart() {
    let emu = emulator().await;
    let ws = client(&emu);
    let e = ws.objects().get(Vec::<String>::new()).await.unwrap_err();
    assert!(e.is_invalid_argument() && !e.is_invalid_options(), "{e:?}");
    assert!(
        matches!(
            e,
            Error::InvalidArgument {
                argument: "keys",
                ..
            }
        ),
        "{e:?}"
    );
    let e = ws
        .objects()
        .get_all()
        .options(cloudmine::CallOptions::new().limit(-5))
        .await
        .unwrap_err();
    assert!(e.is_invalid_options() && !e.is_invalid_argument(), "{e:?}");
    assert!(
        matches!(
            e,
            Error::InvalidOptions {
                option: "limit",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(emu.requests().is_empty(), "nothing was sent");
    let e = WebService::builder().app_id("a").build().unwrap_err();
    assert!(e.is_invalid_options() && !e.is_invalid_argument(), "{e:?}");
}

#[tokio::test]
async fn an_aborted_call_is_aborted_and_nothing_else() {
    let emu = emulator().await;
    emu.set_response_delay(std::time::Duration::from_secs(60));
    let ws = client(&emu);
    let mut call = ws.objects().get_all();
    let handle = call.abort_handle();
    let task = tokio::spawn(std::future::IntoFuture::into_future(call));
    // Aborts once the request reached the server (a generous deadline).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while emu.requests().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no request within 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    handle.abort();
    let e = task.await.unwrap().unwrap_err();
    assert!(matches!(e, Error::Aborted), "{e:?}");
    assert!(e.is_aborted(), "{e}");
    assert!(
        !e.is_timeout() && !e.is_transport() && !e.is_invalid(),
        "{e:?}"
    );
    assert_eq!(e.status(), None);
    assert_eq!(e.to_string(), "the call was cancelled before it completed");

    // A call dropped in flight: its `complete` handler sees the same error.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = std::sync::Arc::clone(&seen);
    let call = ws.objects().get_all().on(
        cloudmine::Event::Complete,
        move |_: &serde_json::Value, info: &cloudmine::CallInfo| {
            let e = info.error();
            log.lock()
                .unwrap()
                .push(e.map(|e| (e.is_aborted(), matches!(e, Error::Aborted))));
        },
    );
    let task = tokio::spawn(std::future::IntoFuture::into_future(call));
    while emu.requests().len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "no request within 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    assert_eq!(*seen.lock().unwrap(), [Some((true, true))]);
    emu.set_response_delay(std::time::Duration::ZERO);
}
