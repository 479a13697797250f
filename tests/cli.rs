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
        &["login", "--network", "google", "--no-browser"],
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
