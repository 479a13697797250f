//! `KeyringStore` against a real Secret Service (gnome-keyring in a D-Bus
//! session), checked from outside with `secret-tool`. Skips on a developer
//! machine without one; with `CI=true` a missing Secret Service fails.
//!
//! ```text
//! dbus-run-session -- sh -c 'export XDG_DATA_HOME=$(mktemp -d); printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; cargo test --test keyring'
//! ```
#![cfg(feature = "keyring")]

mod support;

use std::process::Command;

use cloudmine::{Credentials, KeyringStore, SessionStore, StoreKey, StoredSession};
use serde_json::json;
use support::browser::which;
use support::*;

fn secret_service_available() -> bool {
    let ok =
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() && which("secret-tool").is_some();
    if !ok {
        support::skip::skip_or_fail(
            "no D-Bus session with a Secret Service: run the tests under dbus-run-session with gnome-keyring unlocked (see this file's docs)",
        );
    }
    ok
}

/// What `secret-tool` finds for a service and account (`None`: nothing).
fn lookup(service: &str, account: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", service, "username", account])
        .output()
        .expect("secret-tool runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

#[test]
fn the_session_is_really_in_the_keychain() {
    if !secret_service_available() {
        return;
    }
    let service = format!("cloudmine-test-{}", std::process::id());
    let store = KeyringStore::with_service(&service);
    let key = StoreKey::new("http://127.0.0.1:1", "keyring-app");
    let other = StoreKey::new("http://127.0.0.1:1", "another-app");
    store.clear(&key).unwrap();
    assert_eq!(store.load(&key).unwrap(), None);

    let session = StoredSession {
        session_token: "tok-0123456789".into(),
        user_id: Some("user-1".into()),
        expires: Some("Wed, 09 Dec 2026 05:13:04 GMT".into()),
        email: None,
        username: None,
    };
    store.save(&key, &session).unwrap();
    let seen = lookup(&service, &key.as_account()).expect("the item is in the Secret Service");
    assert!(
        seen.contains("tok-0123456789") && seen.contains("user-1"),
        "{seen}"
    );
    assert_eq!(store.load(&key).unwrap(), Some(session));
    assert_eq!(
        store.load(&other).unwrap(),
        None,
        "another app sees nothing"
    );

    store.clear(&key).unwrap();
    assert_eq!(
        lookup(&service, &key.as_account()),
        None,
        "gone from the keychain"
    );
    assert_eq!(store.load(&key).unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_restore_logout_through_the_default_store() {
    if !secret_service_available() {
        return;
    }
    let emu = emulator().await;
    client(&emu)
        .users()
        .create(
            Credentials::email("kim@example.com", "correct horse battery"),
            json!({}),
        )
        .await
        .unwrap();
    // No store given: with the `keyring` feature the keychain is the default.
    let ws = builder(&emu).savelogin(true).build().unwrap();
    ws.users()
        .login(Credentials::email(
            "kim@example.com",
            "correct horse battery",
        ))
        .await
        .unwrap();
    let account = ws.store_key().as_account();
    let token = ws.session_token().unwrap().secret().to_string();
    let seen = lookup("cloudmine", &account).expect("saved in the keychain");
    assert!(seen.contains(&token));
    assert!(
        !seen.contains("correct horse battery"),
        "never the password"
    );

    let next_run = builder(&emu).savelogin(true).build().unwrap();
    let me = next_run.restore().await.unwrap();
    assert_eq!(me.success()["email"], "kim@example.com");

    next_run.users().logout().await.unwrap();
    assert_eq!(
        lookup("cloudmine", &account),
        None,
        "logout removes the item"
    );
    assert!(
        builder(&emu)
            .build()
            .unwrap()
            .restore()
            .await
            .unwrap_err()
            .is_no_session()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_stays_logged_in_through_the_keychain() {
    if !secret_service_available() {
        return;
    }
    let emu = emulator().await;
    client(&emu)
        .users()
        .create(
            Credentials::email("lee@example.com", "correct horse battery"),
            json!({}),
        )
        .await
        .unwrap();
    let run = |args: &[&str]| {
        Command::new(example_binary("cli"))
            .env("CLOUDMINE_API_ROOT", emu.base_url())
            .env("CLOUDMINE_APP_ID", APP)
            .env("CLOUDMINE_API_KEY", KEY)
            .env("CLOUDMINE_PASSWORD", "correct horse battery")
            .env_remove("CLOUDMINE_SESSION_FILE")
            .args(args)
            .output()
            .expect("the cli runs")
    };
    let out = run(&["login", "--password", "--email", "lee@example.com"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let account = StoreKey::new(emu.base_url(), APP).as_account();
    assert!(
        lookup("cloudmine", &account).is_some(),
        "the session is in the keychain"
    );

    // A second process restores it.
    let out = run(&["whoami"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("lee@example.com"));

    let out = run(&["logout"]);
    assert!(out.status.success());
    assert_eq!(
        lookup("cloudmine", &account),
        None,
        "the keychain item is gone"
    );
    let out = run(&["whoami"]);
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: not logged in"
    );
}

#[test]
fn a_chain_uses_the_keychain_when_it_works() {
    if !secret_service_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sessions.json");
    let service = format!("cloudmine-chain-test-{}", std::process::id());
    let warned = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = warned.clone();
    let chain = cloudmine::ChainStore::new([
        Box::new(KeyringStore::with_service(&service)) as Box<dyn SessionStore>,
        Box::new(cloudmine::FileStore::new(&file)),
    ])
    .on_fallback(move |_| {
        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    let key = StoreKey::new("http://127.0.0.1:1", "chain-app");
    let session = StoredSession {
        session_token: "tok-chain-42".into(),
        user_id: Some("user-2".into()),
        expires: None,
        email: None,
        username: None,
    };
    chain.save(&key, &session).unwrap();
    let seen = lookup(&service, &key.as_account()).expect("saved in the keychain");
    assert!(seen.contains("tok-chain-42"), "{seen}");
    assert!(!file.exists(), "the file store was not used");
    assert_eq!(chain.load(&key).unwrap(), Some(session));
    chain.clear(&key).unwrap();
    assert_eq!(lookup(&service, &key.as_account()), None);
    assert_eq!(
        warned.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no fallback"
    );
}
