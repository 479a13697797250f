//! No blocking in async code: session stores and browser openers that block
//! run on blocking threads, so another task on a current-thread runtime
//! keeps running while they do. A ticker task counts; each slow store or
//! opener call records the count when it starts and when it ends, and the
//! tests check the ticker moved in between (it cannot if the call ran on
//! the runtime's only thread).

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudmine::{
    BrowserOpener, Credentials, Event, EventEmitter, HttpOpener, MemoryStore, SessionStore,
    SocialNetwork, StoreKey, StoredSession,
};
use serde_json::{Value, json};
use support::*;

const PASSWORD: &str = "correct horse battery";
/// How long a slow store or opener blocks its thread.
const BLOCK: Duration = Duration::from_millis(300);
/// Ticks the ticker must make while a call blocks (it makes about one a
/// millisecond; an inline call lets it make none).
const MIN_TICKS: u64 = 5;

/// A task that counts, on the test's runtime, until the test ends.
fn start_ticker() -> Arc<AtomicU64> {
    let ticks = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&ticks);
    tokio::spawn(async move {
        loop {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    ticks
}

/// What one slow call saw of the ticker: its name, the count at entry and at exit.
type Span = (&'static str, u64, u64);

/// The slow calls made so far.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<Span>>>);

impl Spans {
    fn around<R>(&self, ticks: &AtomicU64, name: &'static str, work: impl FnOnce() -> R) -> R {
        let entry = ticks.load(Ordering::SeqCst);
        std::thread::sleep(BLOCK);
        let out = work();
        let exit = ticks.load(Ordering::SeqCst);
        self.0.lock().unwrap().push((name, entry, exit));
        out
    }

    /// Every `name` call ran while the ticker kept ticking; how many there were.
    fn assert_ticked(&self, name: &str) -> usize {
        let spans = self.0.lock().unwrap();
        let mine: Vec<_> = spans.iter().filter(|(n, _, _)| *n == name).collect();
        assert!(!mine.is_empty(), "no {name} call in {spans:?}");
        for (_, entry, exit) in &mine {
            assert!(
                exit - entry >= MIN_TICKS,
                "the runtime stalled during {name}: {entry}..{exit}"
            );
        }
        mine.len()
    }
}

/// A store whose every call blocks its thread (as a keychain's IPC may).
#[derive(Clone)]
struct SlowStore {
    inner: Arc<MemoryStore>,
    ticks: Arc<AtomicU64>,
    spans: Spans,
}

impl SlowStore {
    fn new(ticks: &Arc<AtomicU64>) -> Self {
        SlowStore {
            inner: Arc::new(MemoryStore::new()),
            ticks: Arc::clone(ticks),
            spans: Spans::default(),
        }
    }
}

impl SessionStore for SlowStore {
    fn name(&self) -> &'static str {
        "slow"
    }
    fn load(&self, key: &StoreKey) -> cloudmine::Result<Option<StoredSession>> {
        self.spans
            .around(&self.ticks, "load", || self.inner.load(key))
    }
    fn save(&self, key: &StoreKey, s: &StoredSession) -> cloudmine::Result<()> {
        self.spans
            .around(&self.ticks, "save", || self.inner.save(key, s))
    }
    fn clear(&self, key: &StoreKey) -> cloudmine::Result<()> {
        self.spans
            .around(&self.ticks, "clear", || self.inner.clear(key))
    }
}

/// A store that panics on every call.
struct Panicking;

impl SessionStore for Panicking {
    fn name(&self) -> &'static str {
        "panicking"
    }
    fn load(&self, _: &StoreKey) -> cloudmine::Result<Option<StoredSession>> {
        panic!("the store broke while loading")
    }
    fn save(&self, _: &StoreKey, _: &StoredSession) -> cloudmine::Result<()> {
        panic!("the store broke while saving")
    }
    fn clear(&self, _: &StoreKey) -> cloudmine::Result<()> {
        panic!("the store broke while clearing")
    }
}

/// An opener that blocks its thread, then opens with plain HTTP.
struct SlowOpener {
    ticks: Arc<AtomicU64>,
    spans: Spans,
}

impl BrowserOpener for SlowOpener {
    fn open(&self, url: &str) -> Result<(), String> {
        self.spans
            .around(&self.ticks, "open", || HttpOpener::new().open(url))
    }
}

async fn with_account(emu: &cloudmine_emulator::Emulator, email: &str) {
    client(emu)
        .users()
        .create(Credentials::email(email, PASSWORD), json!({}))
        .await
        .unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn password_login_restore_and_logout_do_not_stall_the_runtime() {
    let emu = emulator().await;
    with_account(&emu, "ada@example.com").await;
    let ticks = start_ticker();
    let store = SlowStore::new(&ticks);
    let make = || {
        builder(&emu)
            .savelogin(true)
            .session_store(store.clone())
            .build()
            .unwrap()
    };

    let ws = make();
    ws.users()
        .login(Credentials::email("ada@example.com", PASSWORD))
        .await
        .unwrap();
    assert_eq!(store.spans.assert_ticked("save"), 1);

    let later = make();
    later.users().restore().await.unwrap();
    assert!(later.session_token().is_some());
    assert_eq!(store.spans.assert_ticked("load"), 1);

    later.users().logout().await.unwrap();
    assert_eq!(store.spans.assert_ticked("clear"), 1);
    assert!(store.inner.load(&later.store_key()).unwrap().is_none());
}

#[tokio::test(flavor = "current_thread")]
async fn a_social_login_with_a_slow_opener_and_store_does_not_stall_the_runtime() {
    let emu = auto_emulator().await;
    let ticks = start_ticker();
    let store = SlowStore::new(&ticks);
    let ws = builder(&emu)
        .savelogin(true)
        .session_store(store.clone())
        .build()
        .unwrap();
    let spans = Spans::default();
    let opener = SlowOpener {
        ticks: Arc::clone(&ticks),
        spans: spans.clone(),
    };
    let login = ws
        .login_social(SocialNetwork::Github)
        .opener(opener)
        .timeout(Duration::from_secs(20))
        .await
        .unwrap();
    assert!(!login.profile().id().is_empty());
    assert_eq!(spans.assert_ticked("open"), 1);
    assert_eq!(store.spans.assert_ticked("save"), 1);
}

#[cfg(feature = "baasbox")]
#[tokio::test(flavor = "current_thread")]
async fn baasbox_login_restore_and_logout_do_not_stall_the_runtime() {
    use cloudmine::baasbox::BaasBox;
    let emu = cloudmine_emulator::Emulator::builder()
        .app("unused", "unused-key")
        .baasbox("bb-app-code-123")
        .start()
        .await
        .unwrap();
    let ticks = start_ticker();
    let store = SlowStore::new(&ticks);
    let make = || {
        BaasBox::builder()
            .base_url(format!("{}/baasbox", emu.base_url()))
            .app_code("bb-app-code-123")
            .savelogin(true)
            .session_store(store.clone())
            .build()
            .unwrap()
    };
    let bb = make();
    bb.signup("kim", "long enough password").await.unwrap();
    assert_eq!(store.spans.assert_ticked("save"), 1);

    let later = make();
    assert_eq!(later.restore().await.unwrap().username, "kim");
    assert_eq!(store.spans.assert_ticked("load"), 1);

    later.logout().await.unwrap();
    assert_eq!(store.spans.assert_ticked("clear"), 1);
    assert!(store.inner.load(&later.store_key()).unwrap().is_none());
}

#[tokio::test(flavor = "current_thread")]
async fn a_panicking_store_is_a_typed_error_not_a_crash() {
    let emu = emulator().await;
    with_account(&emu, "bea@example.com").await;
    let ws = builder(&emu)
        .savelogin(true)
        .session_store(Panicking)
        .build()
        .unwrap();
    let log = EventLog::default();
    let err = log
        .attach(
            ws.users()
                .login(Credentials::email("bea@example.com", PASSWORD)),
        )
        .await
        .unwrap_err();
    assert!(err.is_session_store(), "{err:?}");
    assert!(err.to_string().contains("panicking"), "{err}");
    assert!(err.to_string().contains("panicked"), "{err}");
    // The login is not half done, and the events still end with complete.
    assert!(ws.session_token().is_none());
    assert_eq!(log.names().last().map(String::as_str), Some("complete"));

    let err = ws.users().restore().await.unwrap_err();
    assert!(err.is_session_store(), "{err:?}");

    // Logout forgets the session locally before the store fails.
    let (user, _) = user_client(&emu, "cy@example.com").await;
    let user_saving = builder(&emu)
        .savelogin(true)
        .session_store(Panicking)
        .build()
        .unwrap();
    user_saving
        .set_session_token(user.session_token().unwrap().secret())
        .unwrap();
    let err = user_saving.users().logout().await.unwrap_err();
    assert!(err.is_session_store(), "{err:?}");
    assert!(user_saving.session_token().is_none());
}

#[cfg(feature = "baasbox")]
#[tokio::test(flavor = "current_thread")]
async fn a_panicking_store_fails_a_baasbox_login_with_a_typed_error() {
    use cloudmine::baasbox::BaasBox;
    let emu = cloudmine_emulator::Emulator::builder()
        .app("unused", "unused-key")
        .baasbox("bb-app-code-123")
        .start()
        .await
        .unwrap();
    let bb = BaasBox::builder()
        .base_url(format!("{}/baasbox", emu.base_url()))
        .app_code("bb-app-code-123")
        .savelogin(true)
        .session_store(Panicking)
        .build()
        .unwrap();
    let err = bb.signup("lee", "long enough password").await.unwrap_err();
    assert!(err.is_session_store(), "{err:?}");
    assert!(bb.session_token().is_none());
    let err = bb.restore().await.unwrap_err();
    assert!(err.is_session_store(), "{err:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_panicking_opener_is_a_browser_that_did_not_open() {
    let emu = auto_emulator().await;
    let ws = client(&emu);
    let opened: Arc<Mutex<Option<Value>>> = Arc::default();
    let seen = Arc::clone(&opened);
    let err = ws
        .login_social(SocialNetwork::Github)
        .opener(|_: &str| -> Result<(), String> { panic!("the opener broke") })
        .timeout(Duration::from_millis(200))
        .on(Event::Open, move |data: &Value, _: &cloudmine::CallInfo| {
            *seen.lock().unwrap() = Some(data.clone());
        })
        .await
        .unwrap_err();
    // Nobody opened the page: the login waits for the browser, then times out.
    assert!(err.is_timeout(), "{err:?}");
    let data = opened.lock().unwrap().clone().expect("an open event");
    assert_eq!(data["opened"], false);
    assert_eq!(data["reason"], "the browser opener panicked");
}

/// The blocking client runs store calls on its own runtime's blocking
/// threads: a login is saved, restored and cleared, and a panicking store is
/// an error there too.
#[test]
fn the_blocking_client_saves_restores_and_clears_through_a_store() {
    use cloudmine::{WebService, blocking};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt
        .block_on(
            cloudmine_emulator::Emulator::builder()
                .app(APP, KEY)
                .start(),
        )
        .unwrap();
    let store = Arc::new(MemoryStore::new());
    let make = |store: Arc<dyn SessionStore>| {
        let builder = WebService::builder()
            .app_id(APP)
            .api_key(KEY)
            .api_root(emu.base_url())
            .savelogin(true)
            .session_store(store);
        blocking::WebService::new(builder).unwrap()
    };
    let ws = make(store.clone());
    let email = Credentials::email("dee@example.com", PASSWORD);
    ws.users().create(email.clone(), json!({})).wait().unwrap();
    ws.users().login(email.clone()).wait().unwrap();
    let key = ws.as_async().store_key();
    assert!(store.load(&key).unwrap().is_some());

    let later = make(store.clone());
    later.users().restore().wait().unwrap();
    later.users().logout().wait().unwrap();
    assert!(store.load(&key).unwrap().is_none());

    let broken = make(Arc::new(Panicking));
    let err = broken.users().login(email).wait().unwrap_err();
    assert!(err.is_session_store(), "{err:?}");
    assert!(broken.as_async().session_token().is_none());
}
