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
        .env_remove("CLOUDMINE_SESSION_FILE");
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
    ] {
        assert!(help.contains(word), "--help lacks {word}");
    }
}

/// `login --no-browser`: the CLI prints the URL and waits; the "user" opens
/// it elsewhere (here: plain HTTP, against the auto-consent emulator).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_without_a_browser_prints_the_url_and_waits() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let emu = auto_emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("session.json");
    let mut child = Command::new(example_binary("cli"))
        .env("CLOUDMINE_API_ROOT", emu.base_url())
        .env("CLOUDMINE_APP_ID", APP)
        .env("CLOUDMINE_API_KEY", KEY)
        .env_remove("BROWSER")
        .arg("--session-file")
        .arg(&file)
        .args(["login", "--network", "github", "--no-browser"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the cli runs");
    let errors = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(errors).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("Open this URL to continue: ") {
                let _ = tx.send(url.to_owned());
            }
        }
    });
    let url = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(url) => url,
        Err(e) => {
            let _ = child.kill();
            panic!("the cli printed no URL: {e}");
        }
    };
    assert!(
        url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"),
        "{url}"
    );
    // The user opens it on another browser.
    reqwest::get(&url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the cli did not finish after the browser came back");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success());
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    assert!(out.ends_with("with github\n"), "{out}");
    let out = cli(&emu, Some(&file), &["whoami"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));

    // --no-browser and --http contradict each other.
    let out = cli(&emu, Some(&file), &["login", "--no-browser", "--http"], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--http"), "{}", stderr(&out));
}
