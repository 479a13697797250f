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

/// Every `#[arg(..)]` of `emulator/src/main.rs`, read at test time: its long
/// flag (`long = "x"`, or the field's name in kebab case for a bare `long`),
/// its visible aliases and its environment variable.
fn declared_flags() -> Vec<(String, Vec<String>, Option<String>)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/main.rs");
    let source = std::fs::read_to_string(path).unwrap();
    let mut flags = Vec::new();
    let mut rest = source.as_str();
    while let Some(at) = rest.find("#[arg(") {
        let body_start = at + "#[arg(".len();
        let mut depth = 1;
        let mut end = body_start;
        for (i, c) in rest[body_start..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                end = body_start + i;
                break;
            }
        }
        assert!(depth == 0, "unclosed #[arg( in main.rs");
        let attr = &rest[body_start..end];
        // The field the attribute belongs to: the next `name: Type`.
        let after = &rest[end..];
        let field_line = after
            .lines()
            .skip(1)
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with("#[") && !l.starts_with("//"))
            .unwrap();
        let field = field_line.split(':').next().unwrap().trim();
        let quoted = |key: &str| -> Vec<String> {
            attr.split(',')
                .map(str::trim)
                .filter_map(|part| part.strip_prefix(key))
                .map(|v| {
                    v.trim_start()
                        .trim_start_matches('=')
                        .trim()
                        .trim_matches('"')
                        .to_string()
                })
                .collect()
        };
        let long = quoted("long =")
            .pop()
            .unwrap_or_else(|| field.trim_start_matches("pub ").replace('_', "-"));
        assert!(
            attr.split(',').any(|p| p.trim().starts_with("long")),
            "{field}: no long flag"
        );
        let aliases = quoted("visible_alias");
        let env = quoted("env").pop();
        flags.push((long, aliases, env));
        rest = &rest[end..];
    }
    flags
}

/// Derived from main.rs, so a flag added without showing in `--help` fails.
#[test]
fn help_lists_every_flag() {
    let flags = declared_flags();
    let source =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/main.rs")).unwrap();
    assert_eq!(
        flags.len(),
        source.matches("#[arg(").count(),
        "every #[arg( parsed"
    );
    assert!(
        flags.len() >= 30,
        "the parser found only {} flags",
        flags.len()
    );
    let out = Command::new(bin()).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let shown: std::collections::BTreeSet<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']' || c == '=')
        .collect();
    for (long, aliases, env) in &flags {
        let flag = format!("--{long}");
        assert!(
            shown.contains(flag.as_str()),
            "--help lacks {flag}:\n{text}"
        );
        for alias in aliases {
            assert!(
                text.contains(&format!("--{alias}")),
                "--help lacks the alias --{alias}"
            );
        }
        // Every flag has its variable, named after it (docs/EMULATOR.md).
        let expected = format!(
            "CLOUDMINE_EMULATOR_{}",
            long.to_uppercase().replace('-', "_")
        );
        assert_eq!(env.as_deref(), Some(expected.as_str()), "{flag}'s variable");
        if let Some(env) = env {
            assert!(
                text.contains(&format!("env: {env}")),
                "--help lacks {env} for {flag}"
            );
        }
    }
    for value_name in ["APP_ID:API_KEY", "NAME:EMAIL"] {
        assert!(text.contains(value_name), "--help lacks {value_name}");
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
