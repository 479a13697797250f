//! The CLI example as a real program, run again for every command: login
//! in one process, the session restored in the next ones.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use cloudmine::Credentials;
use cloudmine_emulator::Emulator;
use serde_json::json;
use support::*;

fn cli(emu: &Emulator, session: Option<&Path>, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(example_binary("cli"));
    cmd.env("CLOUDMINE_API_ROOT", emu.base_url())
        .env("CLOUDMINE_APP_ID", APP)
        .env("CLOUDMINE_API_KEY", KEY)
        .env_remove("CLOUDMINE_PASSWORD")
        .env_remove("CLOUDMINE_SESSION_FILE")
        .env_remove("CLOUDMINE_PROFILE")
        .env_remove("CLOUDMINE_CLI_CONFIG");
    if let Some(path) = session {
        cmd.arg("--session-file").arg(path);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(args).output().expect("the cli runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stays_logged_in_between_runs_with_a_session_file() {
    let emu = Emulator::builder()
        .app(APP, KEY)
        .auto_consent(true)
        .start()
        .await
        .unwrap();
    client(&emu)
        .users()
        .create(
            Credentials::email("cli@example.com", "correct horse battery"),
            json!({}),
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("session.json");
    let session = Some(file.as_path());

    let out = cli(&emu, session, &["whoami"], &[]);
    assert!(!out.status.success());
    assert_eq!(stderr(&out).trim(), "error: not logged in");

    let out = cli(
        &emu,
        session,
        &["login", "--password", "--email", "cli@example.com"],
        &[("CLOUDMINE_PASSWORD", "correct horse battery")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("logged in as "));
    assert!(file.exists());

    let out = cli(&emu, session, &["whoami"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("cli@example.com ("),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("\n* default: cli@example.com ("));

    let out = cli(
        &emu,
        session,
        &["set", "greeting", r#"{"hello": "world"}"#],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cli(&emu, session, &["get", "greeting"], &[]);
    let value: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(value, json!({"hello": "world"}));
    let out = cli(&emu, session, &["search", r#"[hello = "world"]"#], &[]);
    assert!(stdout(&out).contains("greeting"));
    // The data is the user's, not the app's.
    let e = client(&emu).objects().get(["greeting"]).await.unwrap_err();
    assert!(e.key_errors().is_some());

    let out = cli(&emu, session, &["logout"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !std::fs::read_to_string(&file)
            .unwrap()
            .contains("session_token\":\""),
        "the entry is gone"
    );
    let out = cli(&emu, session, &["whoami"], &[]);
    assert_eq!(stderr(&out).trim(), "error: not logged in");

    // A social login through plain HTTP, against the auto-consent emulator.
    let out = cli(
        &emu,
        session,
        &["login", "--network", "google", "--http"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).ends_with("with google\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_one_line_and_exit_non_zero() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let session = dir.path().join("s.json");
    // (arguments, environment, what the one-line error must say)
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec!["login", "--password", "--email", "nobody@example.com"],
            vec![("CLOUDMINE_PASSWORD", "wrong password")],
            "401",
        ),
        (vec!["set", "k", "{not json"], vec![], "not JSON"),
        (vec!["search", "[a = 1] or [b = 2]"], vec![], "unsupported"),
        (
            vec!["login", "--network", "not a network"],
            vec![],
            "network",
        ),
    ];
    for (args, env, needle) in cases {
        let out = cli(&emu, Some(&session), &args, &env);
        assert!(!out.status.success(), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("wrong password"), "no secret in errors");
    }
    let out = cli(&emu, Some(&session), &["--help"], &[]);
    let help = stdout(&out);
    for word in [
        "login",
        "whoami",
        "get",
        "set",
        "search",
        "logout",
        "--api-root",
        "--app-id",
        "--api-key",
        "--session-file",
        "--profile",
        "--config",
        "switch",
    ] {
        assert!(help.contains(word), "--help lacks {word}");
    }
}

/// A `login` run in the background: its stderr lines arrive on the
/// receiver as they are printed.
fn spawn_login(
    emu: &Emulator,
    session: &Path,
    extra: &[&str],
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = Command::new(example_binary("cli"))
        .env("CLOUDMINE_API_ROOT", emu.base_url())
        .env("CLOUDMINE_APP_ID", APP)
        .env("CLOUDMINE_API_KEY", KEY)
        .env_remove("BROWSER")
        .arg("--session-file")
        .arg(session)
        .args(["login", "--network", "github"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the cli runs");
    let errors = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(errors).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

/// The text after `prefix` in the next line that has it (30 s at most).
fn printed(
    child: &mut std::process::Child,
    lines: &std::sync::mpsc::Receiver<String>,
    prefix: &str,
) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                if let Some(rest) = line.strip_prefix(prefix) {
                    return rest.to_owned();
                }
            }
            Err(e) => {
                let _ = child.kill();
                panic!("the cli printed no {prefix:?}: {e}");
            }
        }
    }
}

/// Waits (30 s at most) for the login to end; its standard output.
async fn finished(mut child: std::process::Child) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the cli did not finish after the browser came back");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(status.success());
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    out
}

/// `login --no-browser`: the CLI prints the URL and waits; the "user" opens
/// it elsewhere (here: plain HTTP, against the auto-consent emulator).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_without_a_browser_prints_the_url_and_waits() {
    let emu = auto_emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("session.json");
    let (mut child, lines) = spawn_login(&emu, &file, &["--no-browser"]);
    let url = printed(&mut child, &lines, "Open this URL to continue: ");
    assert!(
        url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"),
        "{url}"
    );
    // The user opens it on another browser.
    reqwest::get(&url).await.unwrap();
    let out = finished(child).await;
    assert!(out.ends_with("with github\n"), "{out}");
    let out = cli(&emu, Some(&file), &["whoami"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));

    // --no-browser and --http contradict each other.
    let out = cli(&emu, Some(&file), &["login", "--no-browser", "--http"], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--http"), "{}", stderr(&out));
}

/// `login --device`: the CLI prints a URL and a code; "another device"
/// opens the URL, sees the same code on the page, continues and signs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_on_another_device_prints_a_url_and_a_code() {
    let emu = auto_emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("session.json");
    let (mut child, lines) = spawn_login(&emu, &file, &["--device"]);
    let url = printed(&mut child, &lines, "Open this URL to continue: ");
    let code = printed(&mut child, &lines, "Check that the page shows this code: ");
    assert!(
        url.contains("device=1") && !url.contains("redirect_uri"),
        "{url}"
    );
    assert_eq!(code.len(), 9, "{code}");
    let other_device = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = other_device.get(&url).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains(&code), "the page shows another code: {page}");
    let marker = "id=\"continue\" href=\"";
    let from = page.find(marker).expect("a continue link") + marker.len();
    let onward = page[from..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    reqwest::get(&onward).await.unwrap();
    let out = finished(child).await;
    assert!(out.ends_with("with github\n"), "{out}");
    let out = cli(&emu, Some(&file), &["whoami"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));

    let out = cli(&emu, Some(&file), &["login", "--device", "--http"], &[]);
    assert!(!out.status.success());
}

/// Creates users `{name}@example.com` with the password `pw-{name}` …
async fn users(emu: &Emulator, names: &[&str]) {
    for name in names {
        client(emu)
            .users()
            .create(
                Credentials::email(format!("{name}@example.com"), format!("pw-{name}")),
                json!({}),
            )
            .await
            .unwrap();
    }
}

/// … and logs one in under `profile`.
fn login_as(emu: &Emulator, session: Option<&Path>, pre: &[&str], profile: &str, name: &str) {
    let email = format!("{name}@example.com");
    let password = format!("pw-{name}");
    let mut args = pre.to_vec();
    args.extend([
        "--profile",
        profile,
        "login",
        "--password",
        "--email",
        &email,
    ]);
    let out = cli(emu, session, &args, &[("CLOUDMINE_PASSWORD", &password)]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Runs a command that must succeed and returns its standard output.
fn ok(emu: &Emulator, session: Option<&Path>, args: &[&str]) -> String {
    let out = cli(emu, session, args, &[]);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

/// Runs a command that must fail and returns its one-line error.
fn refused(emu: &Emulator, session: Option<&Path>, args: &[&str]) -> String {
    let out = cli(emu, session, args, &[]);
    assert!(
        !out.status.success(),
        "{args:?} succeeded: {}",
        stdout(&out)
    );
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_profiles_side_by_side_with_a_session_file() {
    let emu = emulator().await;
    users(&emu, &["ada", "bob"]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("session.json");
    let s = Some(file.as_path());
    login_as(&emu, s, &[], "work", "ada");
    login_as(&emu, s, &[], "home", "bob");

    // whoami: the default (the first to log in) asked of the server, then
    // every profile, `*` on the default; no token anywhere.
    let who = ok(&emu, s, &["whoami"]);
    let lines: Vec<&str> = who.lines().collect();
    assert!(lines[0].starts_with("ada@example.com ("), "{who}");
    assert_eq!(lines.len(), 3, "{who}");
    assert!(lines[1].starts_with("  home: bob@example.com ("), "{who}");
    assert!(lines[2].starts_with("* work: ada@example.com ("), "{who}");
    let config = std::fs::read_to_string(dir.path().join("session.profiles.json")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(dir.path().join("session.profiles.json")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    let sessions = std::fs::read_to_string(&file).unwrap();
    let saved: serde_json::Value = serde_json::from_str(&sessions).unwrap();
    assert_eq!(
        saved["sessions"].as_object().unwrap().len(),
        2,
        "two entries"
    );
    for entry in saved["sessions"].as_object().unwrap().values() {
        let token = entry["session_token"].as_str().unwrap();
        assert!(!config.contains(token) && !who.contains(token));
    }

    // Commands act as the profile's user.
    ok(
        &emu,
        s,
        &["--profile", "home", "set", "k", r#"{"who": "bob"}"#],
    );
    ok(&emu, s, &["set", "k", r#"{"who": "ada"}"#]);
    let get = |profile: &str| {
        let out = ok(&emu, s, &["--profile", profile, "get", "k"]);
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["who"].clone()
    };
    assert_eq!(get("home"), "bob");
    assert_eq!(get("work"), "ada");

    // switch changes the default.
    assert_eq!(ok(&emu, s, &["switch", "home"]), "default profile: home\n");
    let who = ok(&emu, s, &["whoami"]);
    assert!(who.starts_with("bob@example.com ("), "{who}");
    assert!(who.contains("* home: bob@") && who.contains("  work: ada@"));
    assert!(ok(&emu, s, &["get", "k"]).contains("bob"));

    // Logging one out leaves the other; the default is gone with it.
    assert_eq!(
        ok(&emu, s, &["--profile", "home", "logout"]),
        "logged out\n"
    );
    let out = cli(&emu, s, &["whoami"], &[]);
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out).trim(),
        r#"error: profile "default" is not logged in"#
    );
    assert_eq!(stdout(&out), format!("  work: {}", &lines[2][8..]) + "\n");
    assert_eq!(get("work"), "ada");
    let err = refused(&emu, s, &["--profile", "home", "get", "k"]);
    assert!(
        err.contains(r#"unknown profile "home" (known profiles: work)"#),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_errors_are_clear() {
    let emu = emulator().await;
    users(&emu, &["cy"]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.json");
    let s = Some(file.as_path());

    let long = "a".repeat(33);
    for bad in ["bad name", "-x", "_x", "é", long.as_str(), "a/b", ""] {
        let profile = format!("--profile={bad}");
        for args in [vec![profile.as_str(), "whoami"], vec!["switch", "--", bad]] {
            let err = refused(&emu, s, &args);
            assert!(err.contains("invalid profile name"), "{args:?}: {err}");
            assert!(err.contains("letters, digits, '-' or '_'"), "{err}");
        }
    }
    // A login under an invalid name is refused before any request.
    let out = cli(
        &emu,
        s,
        &[
            "--profile",
            "no way",
            "login",
            "--password",
            "--email",
            "cy@example.com",
        ],
        &[("CLOUDMINE_PASSWORD", "pw-cy")],
    );
    assert!(stderr(&out).contains("invalid profile name"));
    assert!(!file.exists());
    // A 32-character name is fine.
    login_as(&emu, s, &[], &"b".repeat(32), "cy");

    let known = format!("(known profiles: {})", "b".repeat(32));
    for args in [
        vec!["--profile", "nobody", "whoami"],
        vec!["switch", "nobody"],
    ] {
        let err = refused(&emu, s, &args);
        assert!(err.contains(r#"unknown profile "nobody""#), "{err}");
        assert!(err.contains(&known), "{err}");
    }
    // `default` is always known, but not logged in here.
    let err = refused(&emu, s, &["switch", "default"]);
    assert!(
        err.contains(r#"profile "default" is not logged in"#),
        "{err}"
    );
    // A profile whose session went away (file removed) is not switched to.
    std::fs::remove_file(&file).unwrap();
    let err = refused(&emu, s, &["switch", &"b".repeat(32)]);
    assert!(
        err.contains("is not logged in: run `login --profile"),
        "{err}"
    );

    // A broken profiles file is named, not silently replaced.
    let config = dir.path().join("c.json");
    for text in [
        "{not json",
        r#"{"profiles": ["ok", "not ok"]}"#,
        r#"{"profiles": [], "default": 3}"#,
    ] {
        std::fs::write(&config, text).unwrap();
        let path = config.to_str().unwrap();
        let err = refused(&emu, s, &["--config", path, "whoami"]);
        assert!(err.contains("is not a profiles file"), "{text}: {err}");
        assert!(err.contains("c.json"), "{err}");
    }
    std::fs::write(&config, vec![b' '; 70 * 1024]).unwrap();
    let err = refused(&emu, s, &["--config", config.to_str().unwrap(), "whoami"]);
    assert!(err.contains("bytes"), "{err}");
}

/// `pre` then `args`.
fn with<'a>(pre: &[&'a str], args: &[&'a str]) -> Vec<&'a str> {
    [pre, args].concat()
}

/// Profiles in the OS keychain (a real Secret Service), the profiles file
/// given with --config. Skips visibly without one; fails with `CI=true`.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_in_the_os_keychain() {
    use support::browser::which;
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() || which("secret-tool").is_none() {
        support::skip::skip_or_fail(
            "no D-Bus session with a Secret Service (see tests/keyring.rs)",
        );
        return;
    }
    let emu = emulator().await;
    users(&emu, &["dee", "eve"]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("profiles.json");
    let pre = ["--config", config.to_str().unwrap()];
    login_as(&emu, None, &pre, "one", "dee");
    login_as(&emu, None, &pre, "two", "eve");
    let who = ok(&emu, None, &with(&pre, &["whoami"]));
    assert!(who.starts_with("dee@example.com ("), "{who}");
    assert!(
        who.contains("* one: dee@") && who.contains("  two: eve@"),
        "{who}"
    );
    ok(&emu, None, &with(&pre, &["switch", "two"]));
    assert!(ok(&emu, None, &with(&pre, &["whoami"])).starts_with("eve@example.com ("));
    ok(&emu, None, &with(&pre, &["--profile", "two", "logout"]));
    ok(&emu, None, &with(&pre, &["--profile", "one", "whoami"]));
    ok(&emu, None, &with(&pre, &["--profile", "one", "logout"]));
    let err = refused(&emu, None, &with(&pre, &["--profile", "one", "whoami"]));
    assert!(err.contains("unknown profile"), "{err}");
}

/// A session saved before profiles existed (no profiles file) is the
/// `default` profile, listed and used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_from_before_profiles_is_the_default_profile() {
    let emu = emulator().await;
    users(&emu, &["fay"]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("session.json");
    let s = Some(file.as_path());
    login_as(&emu, s, &[], "default", "fay");
    std::fs::remove_file(dir.path().join("session.profiles.json")).unwrap();
    let who = ok(&emu, s, &["whoami"]);
    assert!(who.contains("\n* default: fay@example.com ("), "{who}");
    assert_eq!(
        ok(&emu, s, &["switch", "default"]),
        "default profile: default\n"
    );
}
