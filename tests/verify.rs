//! `ws.users().verify(credentials)`: checks credentials without taking over
//! the client's session.

mod support;

use cloudmine::{Credentials, MemoryStore, SessionStore};
use serde_json::json;
use support::{EventLog, builder, client, emulator};

async fn with_user(ws: &cloudmine::WebService) {
    ws.users()
        .create(
            Credentials::email("ada@example.com", "analytical engine"),
            json!(null),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn valid_credentials_are_true_and_the_session_is_untouched() {
    let emu = emulator().await;
    let store = std::sync::Arc::new(MemoryStore::new());
    let ws = builder(&emu)
        .savelogin(true)
        .session_store(std::sync::Arc::clone(&store))
        .build()
        .unwrap();
    with_user(&ws).await;
    let (other, other_id) = support::user_client(&emu, "bob@example.com").await;
    let before = other.session_token().unwrap();
    let valid = other
        .users()
        .verify(Credentials::email("ada@example.com", "analytical engine"))
        .await
        .unwrap();
    assert!(valid);
    assert_eq!(other.session_token().unwrap().secret(), before.secret());
    assert_eq!(other.options().user_id(), None);
    // Still Bob's data: the session header sent is Bob's, and verify sent none.
    let me = other.users().me().await.unwrap();
    assert_eq!(me.success()["__id__"], json!(other_id));

    // A client with no session stays without one, and nothing is saved.
    assert!(
        ws.users()
            .verify(Credentials::email("ada@example.com", "analytical engine"))
            .await
            .unwrap()
    );
    assert!(ws.session_token().is_none());
    assert!(store.load(&ws.store_key()).unwrap().is_none());
}

#[tokio::test]
async fn wrong_credentials_are_false_not_an_error() {
    let emu = emulator().await;
    let ws = client(&emu);
    with_user(&ws).await;
    for credentials in [
        Credentials::email("ada@example.com", "wrong"),
        Credentials::email("nobody@example.com", "analytical engine"),
        Credentials::username("ada", "analytical engine"),
    ] {
        assert!(!ws.users().verify(credentials).await.unwrap());
    }
}

#[tokio::test]
async fn no_handler_ever_sees_the_token() {
    let emu = emulator().await;
    let ws = client(&emu);
    with_user(&ws).await;
    let log = EventLog::default();
    let call = ws
        .users()
        .verify(Credentials::email("ada@example.com", "analytical engine"));
    assert!(log.attach(call).await.unwrap());
    assert_eq!(log.names(), ["ok", "200", "success", "complete"]);
    assert_eq!(log.data("success").unwrap(), json!({"valid": true}));
    assert_eq!(
        log.data("complete").unwrap(),
        json!({"success": {"valid": true}})
    );

    let log = EventLog::default();
    let call = ws
        .users()
        .verify(Credentials::email("ada@example.com", "nope"));
    assert!(!log.attach(call).await.unwrap());
    assert_eq!(log.names(), ["unauthorized", "401", "success", "complete"]);
    assert_eq!(log.data("success").unwrap(), json!({"valid": false}));
}

#[tokio::test]
async fn invalid_credentials_and_transport_failures_are_errors() {
    let emu = emulator().await;
    let ws = client(&emu);
    let e = ws
        .users()
        .verify(Credentials::email("", "x"))
        .await
        .unwrap_err();
    assert!(e.is_invalid(), "{e}");
    assert!(emu.requests().is_empty());

    let dead = cloudmine::WebService::builder()
        .app_id(support::APP)
        .api_key(support::KEY)
        .api_root(format!("http://127.0.0.1:{}", support::closed_port()))
        .build()
        .unwrap();
    let e = dead
        .users()
        .verify(Credentials::email("ada@example.com", "analytical engine"))
        .await
        .unwrap_err();
    assert!(e.status().is_none(), "{e}");
}
