//! A machine without a keychain: `KeyringStore` says what to do, and a
//! `ChainStore` the app chose falls back to a file, with a warning. The
//! keychain is made unreachable for real: each case runs this test binary
//! again as a child process whose `DBUS_SESSION_BUS_ADDRESS` points at a
//! socket that does not exist (the parent's environment is left alone).
#![cfg(feature = "keyring")]

mod support;

use std::path::Path;
use std::process::Command;

use cloudmine::{
    ChainStore, Credentials, FileStore, KeyringStore, SessionStore, StoreKey, StoredSession,
};
use serde_json::json;
use support::*;

/// Set in the child: which case to run, and where its file store lives.
const CASE: &str = "CLOUDMINE_TEST_NO_KEYCHAIN_CASE";
const FILE: &str = "CLOUDMINE_TEST_NO_KEYCHAIN_FILE";

/// Runs `test` of this binary in a child without a reachable D-Bus, and
/// returns its stdout (the child prints what it saw, one fact a line).
fn in_child_without_keychain(test: &str, case: &str, file: &Path) -> String {
    in_child(test, case, file, None)
}

/// [`in_child_without_keychain`], with `path` as the child's `PATH` when
/// given (to hide `secret-tool`, or put a fake one first).
fn in_child(test: &str, case: &str, file: &Path, path: Option<&Path>) -> String {
    let bus = tempfile::tempdir().unwrap();
    let mut command = Command::new(std::env::current_exe().unwrap());
    if let Some(path) = path {
        command.env("PATH", path);
    }
    let out = command
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", bus.path().join("no-bus").display()),
        )
        .env(CASE, case)
        .env(FILE, file)
        .output()
        .expect("the test binary runs again");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "child failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// What the child printed after `tag` (it may share a line with the test
/// harness's own output).
fn facts<'a>(out: &'a str, tag: &str) -> Vec<&'a str> {
    out.lines()
        .filter_map(|l| l.find(tag).map(|at| &l[at + tag.len()..]))
        .collect()
}

fn session() -> StoredSession {
    StoredSession {
        session_token: "tok-child-0123".into(),
        user_id: Some("u1".into()),
        expires: None,
        email: None,
        username: None,
    }
}

fn chain(file: &str, seen: &std::sync::Arc<std::sync::Mutex<Vec<String>>>) -> ChainStore {
    let sink = seen.clone();
    ChainStore::new([
        Box::new(KeyringStore::with_service("cloudmine-test-missing")) as Box<dyn SessionStore>,
        Box::new(FileStore::new(file)),
    ])
    .on_fallback(move |w| sink.lock().unwrap().push(w.to_string()))
}

/// The child's side: does nothing unless run by a parent below.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child() {
    let (Ok(case), Ok(file)) = (std::env::var(CASE), std::env::var(FILE)) else {
        return;
    };
    let key = StoreKey::new("http://127.0.0.1:1", "missing-app");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    match case.as_str() {
        "keyring" => {
            let e = KeyringStore::new().load(&key).unwrap_err();
            println!("ERROR: {e}");
            let e = KeyringStore::new().save(&key, &session()).unwrap_err();
            println!("ERROR: {e}");
        }
        "login" => {
            let emu = emulator().await;
            let creds = Credentials::email("nokey@example.com", "correct horse battery");
            client(&emu)
                .users()
                .create(creds.clone(), json!({}))
                .await
                .unwrap();
            let ws = builder(&emu)
                .savelogin(true)
                .session_store(chain(&file, &seen))
                .build()
                .unwrap();
            ws.users().login(creds).await.unwrap();
            let next_run = builder(&emu)
                .savelogin(true)
                .session_store(chain(&file, &seen))
                .build()
                .unwrap();
            let me = next_run.restore().await.unwrap();
            println!("RESTORED: {}", me.success()["email"]);
        }
        "both" => {
            let e = chain(&file, &seen).save(&key, &session()).unwrap_err();
            println!("ERROR: {e}");
        }
        other => panic!("unknown case {other}"),
    }
    for w in seen.lock().unwrap().iter() {
        println!("WARN: {w}");
    }
}

#[test]
fn a_missing_keychain_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = in_child_without_keychain("child", "keyring", &dir.path().join("unused.json"));
    let errors = facts(&out, "ERROR: ");
    assert_eq!(errors.len(), 2, "{out}");
    for e in errors {
        assert!(e.contains("keyring session store failed"), "{e}");
        for advice in ["Secret Service", "D-Bus session", "FileStore", "ChainStore"] {
            assert!(e.contains(advice), "{advice} missing from: {e}");
        }
        assert!(!e.contains("tok-child-0123"), "{e}");
    }
}

#[test]
fn without_secret_tool_the_error_says_to_install_it() {
    let empty = tempfile::tempdir().unwrap();
    let out = in_child(
        "child",
        "keyring",
        &empty.path().join("unused.json"),
        Some(empty.path()),
    );
    let errors = facts(&out, "ERROR: ");
    assert_eq!(errors.len(), 2, "{out}");
    for e in errors {
        assert!(
            e.contains("secret-tool") && e.contains("is not installed"),
            "{e}"
        );
        assert!(e.contains("FileStore") && e.contains("ChainStore"), "{e}");
    }
}

/// A `secret-tool` that answers `lookup` with `lookup_out` and fails every
/// other command with a message on stderr.
#[cfg(unix)]
fn fake_secret_tool(dir: &Path, lookup_out: &str) {
    use std::os::unix::fs::PermissionsExt;
    let script = format!(
        "#!/bin/sh\nif [ \"$1\" = lookup ]; then printf '%s' '{lookup_out}'; exit 0; fi\n\
         cat >/dev/null; echo 'the collection is locked' >&2; exit 3\n"
    );
    let tool = dir.join("secret-tool");
    std::fs::write(&tool, script).unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[cfg(unix)]
#[test]
fn a_failing_or_foreign_keychain_item_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    fake_secret_tool(dir.path(), "not json");
    let path = format!("{}:/usr/bin:/bin", dir.path().display());
    let path = Path::new(&path);
    let out = in_child(
        "child",
        "keyring",
        &dir.path().join("unused.json"),
        Some(path),
    );
    let errors = facts(&out, "ERROR: ");
    assert_eq!(errors.len(), 2, "{out}");
    assert!(
        errors[0].contains("the stored item is not a cloudmine session"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].contains("failed to save the session"),
        "{}",
        errors[1]
    );
    assert!(
        errors[1].contains("it said: the collection is locked"),
        "{}",
        errors[1]
    );
    assert!(!errors[1].contains("tok-child-0123"), "{}", errors[1]);

    fake_secret_tool(dir.path(), r#"{"user_id": "u1"}"#);
    let out = in_child(
        "child",
        "keyring",
        &dir.path().join("unused.json"),
        Some(path),
    );
    assert!(
        facts(&out, "ERROR: ")[0].contains("has no session token"),
        "{out}"
    );
}

#[test]
fn a_chain_falls_back_to_the_file_and_warns() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sessions.json");
    let out = in_child_without_keychain("child", "login", &file);
    assert!(out.contains("RESTORED: \"nokey@example.com\""), "{out}");
    let warns = facts(&out, "WARN: ");
    assert!(
        warns
            .iter()
            .any(|w| w.contains("keyring failed to save") && w.contains("using file")),
        "{out}"
    );
    assert!(
        warns
            .iter()
            .any(|w| w.contains("keyring failed to load") && w.contains("using file")),
        "{out}"
    );
    let saved = std::fs::read_to_string(&file).expect("the session went to the file");
    assert!(saved.contains("session_token"), "{saved}");
    for w in warns {
        assert!(!w.contains("session_token"), "{w}");
    }
}

#[test]
fn a_chain_where_every_store_fails_names_each() {
    let dir = tempfile::tempdir().unwrap();
    // The file store's folder is a regular file: it cannot write there.
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, "x").unwrap();
    let out = in_child_without_keychain("child", "both", &blocker.join("sessions.json"));
    let errors = facts(&out, "ERROR: ");
    let error = errors.first().unwrap_or_else(|| panic!("no error: {out}"));
    assert!(error.contains("chain session store failed"), "{error}");
    assert!(error.contains("every store failed to save"), "{error}");
    assert!(
        error.contains("keyring: ") && error.contains("; then file: "),
        "{error}"
    );
    assert!(!out.contains("WARN: "), "no fallback happened: {out}");
    assert!(!error.contains("tok-child-0123"), "{error}");
}
