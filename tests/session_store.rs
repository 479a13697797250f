//! Sessions kept between runs: savelogin, restore, logout, and stores that fail.

mod support;

use std::sync::Arc;
use std::time::Duration;

use cloudmine::{
    Credentials, Error, FileStore, HttpOpener, MemoryStore, SessionStore, SocialNetwork, StoreKey,
    StoredSession, WebService,
};
use serde_json::json;
use support::*;

const PASSWORD: &str = "correct horse battery";

/// A store shared by several clients, as a keychain is shared by runs.
#[derive(Clone, Default)]
struct Shared(Arc<MemoryStore>);

impl SessionStore for Shared {
    fn name(&self) -> &'static str {
        "shared-memory"
    }
    fn load(&self, key: &StoreKey) -> cloudmine::Result<Option<StoredSession>> {
        self.0.load(key)
    }
    fn save(&self, key: &StoreKey, s: &StoredSession) -> cloudmine::Result<()> {
        self.0.save(key, s)
    }
    fn clear(&self, key: &StoreKey) -> cloudmine::Result<()> {
        self.0.clear(key)
    }
}

/// A store whose keychain is locked.
struct Locked;

impl SessionStore for Locked {
    fn name(&self) -> &'static str {
        "keyring"
    }
    fn load(&self, _: &StoreKey) -> cloudmine::Result<Option<StoredSession>> {
        Err(locked())
    }
    fn save(&self, _: &StoreKey, _: &StoredSession) -> cloudmine::Result<()> {
        Err(locked())
    }
    fn clear(&self, _: &StoreKey) -> cloudmine::Result<()> {
        Err(locked())
    }
}

fn locked() -> Error {
    Error::session_store("keyring", "the collection is locked")
}

async fn with_account(emu: &cloudmine_emulator::Emulator, email: &str) {
    client(emu)
        .users()
        .create(Credentials::email(email, PASSWORD), json!({}))
        .await
        .unwrap();
}

fn saving(emu: &cloudmine_emulator::Emulator, store: impl SessionStore) -> WebService {
    builder(emu)
        .savelogin(true)
        .session_store(store)
        .build()
        .unwrap()
}

#[tokio::test]
async fn login_is_saved_restored_and_cleared_by_logout() {
    let emu = emulator().await;
    with_account(&emu, "ada@example.com").await;
    let store = Shared::default();

    let first = saving(&emu, store.clone());
    assert!(first.restore().await.unwrap_err().is_no_session());
    first
        .users()
        .login(Credentials::email("ada@example.com", PASSWORD))
        .await
        .unwrap();
    let saved = store.load(&first.store_key()).unwrap().expect("saved");
    assert_eq!(
        saved.session_token.secret(),
        first.session_token().unwrap().secret()
    );
    assert_eq!(saved.user_id.as_deref(), first.options().user_id());
    assert!(saved.expires.is_some());

    // A new run: nothing in memory, the store has the session.
    let second = saving(&emu, store.clone());
    assert!(second.session_token().is_none());
    let me = second.restore().await.unwrap();
    assert_eq!(me.success()["email"], "ada@example.com");
    assert_eq!(
        second.session_token().unwrap().secret(),
        saved.session_token.secret()
    );
    second.objects().set("k", 1).await.unwrap();
    assert!(emu.requests().pop().unwrap().path.contains("/user/"));

    second.users().logout().await.unwrap();
    assert!(
        store.load(&second.store_key()).unwrap().is_none(),
        "logout clears the store"
    );
    assert!(
        saving(&emu, store)
            .restore()
            .await
            .unwrap_err()
            .is_no_session()
    );
}

#[tokio::test]
async fn a_dead_saved_session_is_forgotten() {
    let emu = emulator().await;
    let user = emu.create_user(APP, "old@example.com").await.unwrap();
    let token = emu
        .create_session(APP, &user, Duration::from_millis(1))
        .await
        .unwrap();
    let store = Shared::default();
    let ws = saving(&emu, store.clone());
    store
        .save(
            &ws.store_key(),
            &StoredSession {
                session_token: token.into(),
                user_id: Some(user),
                expires: None,
                email: None,
                username: None,
            },
        )
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let e = ws.restore().await.unwrap_err();
    assert!(e.is_unauthorized(), "{e}");
    assert!(ws.session_token().is_none());
    assert!(
        store.load(&ws.store_key()).unwrap().is_none(),
        "cleared after the 401"
    );
}

#[tokio::test]
async fn apps_and_roots_do_not_share_sessions() {
    let emu = cloudmine_emulator::Emulator::builder()
        .app(APP, KEY)
        .app("other-app", "other-key")
        .start()
        .await
        .unwrap();
    with_account(&emu, "ada@example.com").await;
    let store = Shared::default();
    let ws = saving(&emu, store.clone());
    ws.users()
        .login(Credentials::email("ada@example.com", PASSWORD))
        .await
        .unwrap();
    let other = WebService::builder()
        .app_id("other-app")
        .api_key("other-key")
        .api_root(emu.base_url())
        .savelogin(true)
        .session_store(store.clone())
        .build()
        .unwrap();
    assert!(other.restore().await.unwrap_err().is_no_session());
    let elsewhere = WebService::builder()
        .app_id(APP)
        .api_key(KEY)
        .api_root(format!("{}/prefix", emu.base_url()))
        .session_store(store)
        .build()
        .unwrap();
    assert_ne!(elsewhere.store_key(), ws.store_key());
}

#[tokio::test]
async fn file_store_between_runs_and_savelogin_off() {
    let emu = emulator().await;
    with_account(&emu, "bea@example.com").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.json");

    // savelogin off: nothing written.
    let ws = builder(&emu)
        .session_store(FileStore::new(&path))
        .build()
        .unwrap();
    ws.users()
        .login(Credentials::email("bea@example.com", PASSWORD))
        .await
        .unwrap();
    assert!(!path.exists());

    let ws = saving(&emu, FileStore::new(&path));
    ws.users()
        .login(Credentials::email("bea@example.com", PASSWORD))
        .await
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains(ws.session_token().unwrap().secret()),
        "what is stored: the token…"
    );
    assert!(!text.contains(PASSWORD), "…never the password");
    let again = saving(&emu, FileStore::new(&path));
    again.restore().await.unwrap();

    // A corrupt file is a typed error, and stays until a login replaces it.
    std::fs::write(&path, "garbage").unwrap();
    let e = saving(&emu, FileStore::new(&path))
        .restore()
        .await
        .unwrap_err();
    assert!(e.is_session_store(), "{e}");
    assert!(e.to_string().contains("file"), "{e}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "garbage");
    let fresh = saving(&emu, FileStore::new(&path));
    fresh
        .users()
        .login(Credentials::email("bea@example.com", PASSWORD))
        .await
        .unwrap();
    saving(&emu, FileStore::new(&path)).restore().await.unwrap();
}

#[tokio::test]
async fn social_login_is_saved_too() {
    let emu = cloudmine_emulator::Emulator::builder()
        .app(APP, KEY)
        .auto_consent(true)
        .start()
        .await
        .unwrap();
    let store = Shared::default();
    let ws = saving(&emu, store.clone());
    let login = ws
        .login_social(SocialNetwork::Github)
        .opener(HttpOpener::new())
        .await
        .unwrap();
    let saved = store.load(&ws.store_key()).unwrap().unwrap();
    assert_eq!(saved.session_token.secret(), login.session_token().secret());
    assert_eq!(saved.user_id.as_deref(), Some(login.profile().id()));
}

#[tokio::test]
async fn a_failing_store_is_a_typed_error_not_a_silent_fallback() {
    let emu = emulator().await;
    with_account(&emu, "cy@example.com").await;
    let ws = saving(&emu, Locked);
    let e = ws
        .users()
        .login(Credentials::email("cy@example.com", PASSWORD))
        .await
        .unwrap_err();
    assert!(e.is_session_store(), "{e}");
    assert!(
        e.to_string().contains("keyring") && e.to_string().contains("session_store"),
        "says which store and what to do: {e}"
    );
    assert_logged_out(&ws).await;
    let e = ws.restore().await.unwrap_err();
    assert!(e.is_session_store(), "{e}");
    // Logout still clears locally, and reports the store it could not clear.
    let e = ws.users().logout().await.unwrap_err();
    assert!(e.is_session_store(), "{e}");
    assert!(ws.session_token().is_none());
}

/// A login that could not be saved left nothing behind: no token, calls go
/// to the application level, and the account's own call is refused.
async fn assert_logged_out(ws: &WebService) {
    assert!(
        ws.session_token().is_none(),
        "a login that cannot be saved must leave the client logged out"
    );
    let info = ws.objects().get(["car"]).request_info().unwrap();
    assert!(
        !info.url().contains("/user/") && info.header("X-CloudMine-SessionToken").is_none(),
        "an objects call after the failed login is still user-scoped: {info}"
    );
    let e = ws.users().me().await.unwrap_err();
    assert_eq!(e.status(), Some(401), "the account call is refused: {e}");
}

#[tokio::test]
async fn a_social_login_that_cannot_be_saved_fails_and_leaves_no_session() {
    let emu = cloudmine_emulator::Emulator::builder()
        .app(APP, KEY)
        .auto_consent(true)
        .start()
        .await
        .unwrap();
    let ws = saving(&emu, Locked);
    let e = ws
        .login_social(SocialNetwork::Github)
        .opener(HttpOpener::new())
        .await
        .unwrap_err();
    assert!(e.is_session_store(), "{e}");
    assert_logged_out(&ws).await;
}
