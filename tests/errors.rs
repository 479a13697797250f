//! Typed errors: invalid options, server refusals, malformed bodies,
//! unsupported queries, and data that survives an emulator restart.

mod support;

use cloudmine::{Error, Method, WebService};
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
