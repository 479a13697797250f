//! A login keeps the email or username it used, next to the user id: saved
//! with the session, restored with it, cleared on logout.

mod support;

use std::sync::Arc;

use cloudmine::{Credentials, MemoryStore, SessionStore};
use serde_json::json;
use support::{EventLog, builder, client, emulator};

const PASSWORD: &str = "analytical engine";

async fn create_ada(ws: &cloudmine::WebService) {
    ws.users()
        .create(
            Credentials::email("ada@example.com", PASSWORD).with_username("ada"),
            json!(null),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn an_email_login_keeps_and_saves_the_email_and_logout_clears_it() {
    let emu = emulator().await;
    let store = Arc::new(MemoryStore::new());
    let ws = builder(&emu)
        .savelogin(true)
        .session_store(Arc::clone(&store))
        .build()
        .unwrap();
    create_ada(&ws).await;
    let login = ws
        .users()
        .login(Credentials::email("ada@example.com", PASSWORD))
        .await
        .unwrap();
    let options = ws.options();
    assert_eq!(options.email(), Some("ada@example.com"));
    assert_eq!(options.username(), None);
    assert_eq!(options.user_id(), Some(login.profile().id()));
    let saved = store.load(&ws.store_key()).unwrap().unwrap();
    assert_eq!(saved.email.as_deref(), Some("ada@example.com"));
    assert_eq!(saved.username, None);

    // A second client restores the names with the session.
    let other = builder(&emu)
        .savelogin(true)
        .session_store(Arc::clone(&store))
        .build()
        .unwrap();
    other.restore().await.unwrap();
    assert_eq!(other.options().email(), Some("ada@example.com"));

    ws.users().logout().await.unwrap();
    assert_eq!(ws.options().email(), None);
    assert_eq!(ws.options().user_id(), None);
    assert!(store.load(&ws.store_key()).unwrap().is_none());
}

#[tokio::test]
async fn a_username_login_keeps_the_username_and_replaces_the_email() {
    let emu = emulator().await;
    let ws = client(&emu);
    create_ada(&ws).await;
    ws.users()
        .login(Credentials::email("ada@example.com", PASSWORD))
        .await
        .unwrap();
    ws.users()
        .login(Credentials::username("ada", PASSWORD))
        .await
        .unwrap();
    assert_eq!(ws.options().username(), Some("ada"));
    assert_eq!(ws.options().email(), None);
    // Forgetting the session locally forgets the names too.
    ws.clear_session_token();
    assert_eq!(ws.options().username(), None);
}

#[tokio::test]
async fn a_failed_login_keeps_no_name_and_handlers_never_see_the_password() {
    let emu = emulator().await;
    let ws = client(&emu);
    create_ada(&ws).await;
    let log = EventLog::default();
    let e = log
        .attach(
            ws.users()
                .login(Credentials::email("ada@example.com", "wrong")),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(401));
    assert_eq!(ws.options().email(), None);
    let log = EventLog::default();
    log.attach(
        ws.users()
            .login(Credentials::email("ada@example.com", PASSWORD)),
    )
    .await
    .unwrap();
    let seen = serde_json::to_string(&log.data("complete").unwrap()).unwrap();
    assert!(!seen.contains(PASSWORD), "{seen}");
}
