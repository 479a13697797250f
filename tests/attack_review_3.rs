//! Attack review 3 (issue 16), the SDK's side: a local attacker against the
//! paste-back input, the file store's and the CLI profiles' temporary files,
//! and the keychain's `secret-tool` (SECURITY.md "Attack review 3").

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use cloudmine::{Credentials, FileStore, SessionStore, SocialNetwork, StoreKey, StoredSession};
use serde_json::json;
use support::*;
use tokio::io::BufReader;

fn session(token: &str) -> StoredSession {
    StoredSession {
        session_token: token.into(),
        user_id: Some("u1".into()),
        expires: None,
        email: None,
        username: None,
    }
}

// ---- paste-back input ----------------------------------------------------

/// A paste-back login whose input is `pasted` (then end of input, or, with
/// `hold`, an input that never ends).
async fn paste(pasted: &[u8], hold: bool) -> cloudmine::Error {
    let emu = auto_emulator().await;
    let (read, mut write) = tokio::io::duplex(64 * 1024);
    tokio::io::AsyncWriteExt::write_all(&mut write, pasted)
        .await
        .unwrap();
    if !hold {
        drop(write);
    } else {
        std::mem::forget(write);
    }
    client(&emu)
        .login_social(SocialNetwork::Github)
        .opener(|_: &str| Ok(()))
        .paste_back(BufReader::new(read))
        .timeout(Duration::from_millis(700))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_paste_without_a_newline_ever_times_out() {
    // Slowloris on stdin: a code's worth of bytes, then nothing, forever.
    let e = paste(b"AAAAAAAAAAAAAAAAAAAA", true).await;
    assert!(e.is_timeout(), "{e}");
}

#[tokio::test]
async fn a_pasted_url_is_refused_and_not_echoed() {
    let url = "https://evil.example/cb?code=secret-oauth-code&state=xyz\n";
    let e = paste(url.as_bytes(), false).await;
    assert_eq!(e.login_error_code(), Some("paste_invalid"), "{e}");
    let text = format!("{e} {e:?}");
    assert!(
        !text.contains("secret-oauth-code") && !text.contains("evil"),
        "{text}"
    );
}

#[tokio::test]
async fn terminal_escapes_in_a_paste_are_never_echoed() {
    // OSC title change, cursor moves, a bell: none may reach the terminal
    // through the error the app prints.
    let line = b"\x1b]0;owned\x07\x1b[2J\x1b[1;1HAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n";
    let e = paste(line, false).await;
    assert_eq!(e.login_error_code(), Some("paste_invalid"), "{e}");
    let text = format!("{e} {e:?}");
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
    assert!(!text.contains("owned"), "{text}");
}

// ---- temporary files of the file store and the CLI profiles ---------------

#[test]
#[cfg(unix)]
fn the_file_store_never_writes_through_a_planted_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.json");
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    // The temporary name is predictable: `session.tmp<pid>`.
    let tmp = dir
        .path()
        .join(format!("session.tmp{}", std::process::id()));
    std::os::unix::fs::symlink(&victim, &tmp).unwrap();
    let key = StoreKey::new("http://127.0.0.1:1", "app");
    let store = FileStore::new(&path);
    store.save(&key, &session("tok-planted-1")).unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    // A planted world-readable file is not reused either (its mode would stay).
    std::fs::write(&tmp, "").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o666)).unwrap();
    store.save(&key, &session("tok-planted-2")).unwrap();
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert!(meta.file_type().is_file());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let loaded = store.load(&key).unwrap().unwrap();
    assert_eq!(loaded.session_token.secret(), "tok-planted-2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg(unix)]
async fn the_cli_never_writes_through_planted_temp_files() {
    let emu = emulator().await;
    let email = "planted@example.com";
    client(&emu)
        .users()
        .create(
            Credentials::email(email, "correct horse battery"),
            json!({}),
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("victim-session"), "precious-1").unwrap();
    std::fs::write(d.join("victim-profiles"), "precious-2").unwrap();
    // The shell plants symlinks named after its own pid, then execs the CLI
    // (same pid), so the CLI's temporary names are the planted ones.
    let script = format!(
        "ln -s {d}/victim-session {d}/s.tmp$$ && ln -s {d}/victim-profiles {d}/s.profiles.tmp$$ \
         && exec \"$0\" \"$@\"",
        d = d.display()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(example_binary("cli"))
        .args(["--session-file"])
        .arg(d.join("s.json"))
        .args(["--profile", "work", "login", "--password", "--email", email])
        .env("CLOUDMINE_API_ROOT", emu.base_url())
        .env("CLOUDMINE_APP_ID", APP)
        .env("CLOUDMINE_API_KEY", KEY)
        .env("CLOUDMINE_PASSWORD", "correct horse battery")
        .env_remove("CLOUDMINE_SESSION_FILE")
        .env_remove("CLOUDMINE_PROFILE")
        .env_remove("CLOUDMINE_CLI_CONFIG")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert_eq!(read(&d.join("victim-session")), "precious-1");
    assert_eq!(read(&d.join("victim-profiles")), "precious-2");
    assert!(read(&d.join("s.profiles.json")).contains("work"));
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

// ---- the keychain's secret-tool ----------------------------------------------

/// Set in the child: which case to run.
#[cfg(all(feature = "keyring", unix, not(target_os = "macos")))]
const CASE: &str = "CLOUDMINE_TEST_ATTACK3_CASE";

/// The child's side: does nothing unless run by a parent below. It saves
/// or loads through the keychain and prints what came of it.
#[test]
#[cfg(all(feature = "keyring", unix, not(target_os = "macos")))]
fn keychain_child() {
    let Ok(case) = std::env::var(CASE) else {
        return;
    };
    let store = cloudmine::KeyringStore::with_service("cloudmine-attack3");
    let key = StoreKey::new("http://127.0.0.1:1", "attack3");
    let result = match case.as_str() {
        "save" => store
            .save(&key, &session("tok-keyring-secret-42"))
            .map(|()| String::new()),
        _ => store.load(&key).map(|s| format!("{:?}", s.is_some())),
    };
    match result {
        Ok(r) => println!("RESULT: ok {r}"),
        Err(e) => println!("RESULT: err {:?}", e.to_string()),
    }
}

/// Runs [`keychain_child`] with `case`, a fake `secret-tool` (`script`, a
/// shell script) first on `PATH`, and a hostile `./secret-tool` in its
/// current folder; returns what it printed and the folder of its logs.
#[cfg(all(feature = "keyring", unix, not(target_os = "macos")))]
fn with_fake_secret_tool(case: &str, script: &str) -> (String, tempfile::TempDir) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let write_tool = |folder: &Path, body: &str| {
        std::fs::create_dir_all(folder).unwrap();
        let file = folder.join("secret-tool");
        std::fs::write(&file, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    let log = dir.path().display().to_string();
    let fake = dir.path().join("bin");
    write_tool(&fake, &script.replace("LOG", &log));
    let cwd = dir.path().join("cwd");
    write_tool(&cwd, &format!("touch {log}/pwned; cat > {log}/pwned"));
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "keychain_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .current_dir(&cwd)
        .env("PATH", format!(".::{}:/usr/bin:/bin", fake.display()))
        .env(CASE, case)
        .env("CLOUDMINE_SESSION_TOKEN", "tok-from-env-99")
        .env("CLOUDMINE_API_KEY", "key-from-env-99")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}");
    assert!(!dir.path().join("pwned").exists(), "./secret-tool ran");
    let result = stdout
        .lines()
        .find_map(|l| l.split_once("RESULT: ").map(|(_, r)| r.to_owned()))
        .unwrap_or_else(|| panic!("no result: {stdout}"));
    (result, dir)
}

#[test]
#[cfg(all(feature = "keyring", unix, not(target_os = "macos")))]
fn secret_tool_is_found_safely_and_gets_the_secret_on_stdin_only() {
    let (result, dir) = with_fake_secret_tool(
        "save",
        "for a in \"$@\"; do echo \"$a\"; done > LOG/args\nenv > LOG/env\ncat > LOG/stdin",
    );
    assert_eq!(result, "ok ");
    let read = |n: &str| std::fs::read_to_string(dir.path().join(n)).unwrap();
    // The command line (what /proc/PID/cmdline shows) has no secret…
    assert!(read("args").starts_with("store\n"), "{}", read("args"));
    assert!(!read("args").contains("tok-keyring-secret-42"));
    assert!(read("stdin").contains("tok-keyring-secret-42"));
    // …and the app's other secrets in its environment stay with the app.
    let env = read("env");
    assert!(
        !env.contains("tok-from-env-99") && !env.contains("key-from-env-99"),
        "{env}"
    );
    assert!(!env.contains("CLOUDMINE_"), "{env}");
}

#[test]
#[cfg(all(feature = "keyring", unix, not(target_os = "macos")))]
fn secret_tool_stderr_is_quoted_short_and_without_terminal_escapes() {
    let (result, _dir) = with_fake_secret_tool(
        "load",
        "printf '\\033]0;owned\\007\\033[2J' >&2\nhead -c 20000 /dev/zero | tr '\\0' A >&2\nexit 3",
    );
    assert!(result.starts_with("err "), "{result}");
    assert!(
        !result.contains("\\u{1b}") && !result.contains("\\u{7}"),
        "{result}"
    );
    assert!(result.len() < 1000, "{} bytes", result.len());
}

#[test]
#[cfg(all(feature = "keyring", unix, not(target_os = "macos")))]
fn secret_tool_leaving_its_output_open_does_not_hang_the_app() {
    // It exits, but a process it started keeps its stdout open.
    let (result, dir) = with_fake_secret_tool("load", "sleep 30 &\necho $! > LOG/pid\nexit 1");
    if let Ok(pid) = std::fs::read_to_string(dir.path().join("pid")) {
        let _ = Command::new("kill").arg(pid.trim()).status();
    }
    assert!(result.starts_with("err "), "{result}");
    assert!(result.contains("output stayed open"), "{result}");
}

#[test]
#[cfg(all(feature = "keyring", unix, not(target_os = "macos")))]
fn secret_tool_with_endless_output_is_cut_off() {
    let (result, _dir) = with_fake_secret_tool("load", "exec yes");
    assert!(result.starts_with("err "), "{result}");
}
