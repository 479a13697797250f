//! Attacks from outside that must do no harm.

use cloudmine_emulator::Emulator;
use reqwest::{Method, StatusCode};

mod support;
use support::{App, http};

const APP: App = App("app", "key");

/// The outbox holds password-reset tokens: with only the API key (which
/// ships in every client), anyone could reset any user's password. It is
/// served over HTTP only when test hooks are turned on.
#[tokio::test]
async fn outbox_is_not_served_unless_test_hooks_are_on() {
    let emu = Emulator::builder().app(APP.0, APP.1).start().await.unwrap();
    let created = APP
        .request(&emu, Method::POST, "account/create")
        .json(&serde_json::json!({"credentials": {"email": "a@example.com", "password": "a long password"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let reset = APP
        .request(&emu, Method::POST, "account/password/reset")
        .json(&serde_json::json!({"email": "a@example.com"}))
        .send()
        .await
        .unwrap();
    assert!(reset.status().is_success());
    assert_eq!(emu.outbox().len(), 1);
    for path in [
        "/_emulator/app/outbox",
        "/%5Femulator/app/outbox",
        "/_emulator/app/outbox/",
    ] {
        let r = http()
            .get(format!("{}{path}", emu.base_url()))
            .header("x-cloudmine-apikey", APP.1)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        let body = r.text().await.unwrap();
        assert!(!body.contains(&emu.outbox()[0].token), "{path}");
    }

    let on = Emulator::builder()
        .app(APP.0, APP.1)
        .test_hooks(true)
        .start()
        .await
        .unwrap();
    let r = http()
        .get(format!("{}/_emulator/app/outbox", on.base_url()))
        .header("x-cloudmine-apikey", APP.1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// The database (password and session hashes, every app's data) and the
/// uploaded files are readable by this user only.
#[cfg(unix)]
#[tokio::test]
async fn database_and_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data.sqlite");
    let emu = Emulator::builder()
        .app(APP.0, APP.1)
        .database(&db)
        .start()
        .await
        .unwrap();
    let r = APP
        .request(&emu, Method::PUT, "binary/f?filename=f.txt")
        .body("contents")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(&dir.path().join("data.sqlite-wal")), 0o600);
    let files = dir.path().join("data.sqlite-files");
    for d in [files.clone(), files.join("tmp"), files.join("blobs")] {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
    }
    emu.shutdown().await.unwrap();
}
