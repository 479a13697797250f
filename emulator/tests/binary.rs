//! The `cloudmine-emulator` binary: flags, and data that survives a restart.

use std::process::Command;

use reqwest::Method;

mod support;
use support::App;
use support::binary::{Running, bin};

fn start(db: &std::path::Path) -> Running {
    start_with(db, &["--app", "app1:key1", "--app", "app2:key2"])
}

fn start_with(db: &std::path::Path, apps: &[&str]) -> Running {
    let mut args = apps.to_vec();
    args.extend(["--db", db.to_str().expect("a UTF-8 temporary path")]);
    Running::start(&args)
}

fn terminate(mut running: Running) {
    let status = Command::new("kill")
        .args(["-TERM", &running.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = running.child.wait().unwrap();
    assert!(exit.success(), "graceful exit on SIGTERM: {exit:?}");
}

#[test]
fn help_lists_every_flag() {
    let out = Command::new(bin()).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--listen",
        "--db",
        "--app",
        "--max-body-bytes",
        "APP_ID:API_KEY",
        "--auto-consent",
        "--test-idp",
        "--identity",
        "NAME:EMAIL",
        "--no-redirect-support",
        "--provider-config",
        "--header-timeout",
        "--body-timeout",
        "--idle-timeout",
        "--max-connections",
        "--min-password-length",
        "--dashboard",
        "--dashboard-password",
    ] {
        assert!(text.contains(flag), "--help lacks {flag}:\n{text}");
    }
}

#[test]
fn bad_app_flag_is_a_clear_error() {
    let out = Command::new(bin())
        .args(["--app", "no-colon"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("APP_ID:API_KEY"), "{err}");
    let out = Command::new(bin()).output().unwrap();
    assert!(!out.status.success(), "--app is required");
}

/// The password policy: by default any non-empty password (CloudMine took
/// the JS SDK suite's 5-character ones); `--min-password-length` is stricter
/// and names the rule in its refusal; 0 is refused at start.
#[tokio::test]
async fn the_password_policy_is_a_flag() {
    let dir = tempfile::tempdir().unwrap();
    let app = App("app1", "key1");
    let create = |base: &str, email: &str, password: &str| {
        let body = serde_json::json!({"credentials": {"email": email, "password": password}});
        app.request_at(base, Method::POST, "account/create")
            .body(body.to_string())
            .send()
    };
    let lenient = start(&dir.path().join("a.sqlite"));
    let r = create(&lenient.base, "five@example.com", "abcde")
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = create(&lenient.base, "none@example.com", "").await.unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body.to_string().contains("password is required"), "{body}");
    drop(lenient);

    let db = dir.path().join("b.sqlite");
    let strict = start_with(&db, &["--app", "app1:key1", "--min-password-length", "8"]);
    let r = create(&strict.base, "seven@example.com", "abcdefg")
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body.to_string().contains("at least 8 characters"), "{body}");
    let r = create(&strict.base, "eight@example.com", "abcdefgh")
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    drop(strict);

    let out = Command::new(bin())
        .args(["--app", "a:k", "--min-password-length", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "0 is refused");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("from 1 to 1024"), "{err}");
}

#[tokio::test]
async fn data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data.sqlite");
    let app1 = App("app1", "key1");

    let running = start(&db);
    let r = app1
        .request_at(&running.base, Method::PUT, "text")
        .body(r#"{"kept": {"n": 1}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    terminate(running);

    let running = start(&db);
    let body: serde_json::Value = app1
        .request_at(&running.base, Method::GET, "text?keys=kept")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["success"]["kept"]["n"], 1);
    // The second app has its own namespace and key.
    let r = App("app2", "key1")
        .request_at(&running.base, Method::GET, "text?keys=kept")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    terminate(running);
}

/// Item 13: an app removed from `--app` stayed live with its old key, and
/// keys were stored in plain text. Restarted on the same database without
/// `app2`, the binary answers 404 for it; its data stays on disk and is
/// served again when `app2` is given back; no key is stored in plain text.
#[tokio::test]
async fn only_the_apps_given_are_served_and_keys_are_stored_hashed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data.sqlite");
    let app2 = App("app2", "key2");
    let running = start(&db);
    let r = app2
        .request_at(&running.base, Method::PUT, "text")
        .body(r#"{"kept": 2}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    terminate(running);

    let only_app1 = start_with(&db, &["--app", "app1:key1"]);
    let r = app2
        .request_at(&only_app1.base, Method::GET, "text?keys=kept")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "app2 is not served");
    terminate(only_app1);

    let running = start(&db);
    let body: serde_json::Value = app2
        .request_at(&running.base, Method::GET, "text?keys=kept")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["success"]["kept"], 2, "its data was kept");
    terminate(running);

    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = conn.prepare("SELECT api_key FROM apps").unwrap();
    let keys: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(keys.len(), 2);
    for key in keys {
        assert!(key.starts_with("sha256:"), "{key}");
        assert!(!key.contains("key1") && !key.contains("key2"), "{key}");
    }
}
