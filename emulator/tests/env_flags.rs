//! Every flag of the binary also read from `CLOUDMINE_EMULATOR_*`: a flag
//! set only by its variable takes effect, the command line wins, lists are
//! comma-separated, `--help` names each variable and never shows a
//! secret-bearing value, and a refused value is never echoed.

use std::process::Command;

use reqwest::{Method, StatusCode};

mod support;
use support::App;
use support::binary::{Running, bin};

const APP1: App = App("app1", "key1");
const APP2: App = App("app2", "key2");

async fn status_of(app: App, base: &str, method: Method, path: &str, body: &str) -> StatusCode {
    app.request_at(base, method, path)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .status()
}

/// A `PUT text` body of about `len` bytes.
fn body_of(len: usize) -> String {
    format!(r#"{{"k": {{"pad": "{}"}}}}"#, "x".repeat(len))
}

#[tokio::test]
async fn flags_set_only_by_the_environment_take_effect() {
    let running = Running::start_env(
        &[],
        &[
            ("CLOUDMINE_EMULATOR_DB", ":memory:"),
            ("CLOUDMINE_EMULATOR_APP", "app1:key1,app2:key2"),
            ("CLOUDMINE_EMULATOR_MAX_BODY_BYTES", "200"),
            ("CLOUDMINE_EMULATOR_TEST_HOOKS", "true"),
        ],
    );
    let base = &running.base;
    for app in [APP1, APP2] {
        assert_eq!(
            status_of(app, base, Method::GET, "text", "").await,
            StatusCode::OK
        );
    }
    let small = status_of(APP1, base, Method::PUT, "text", &body_of(10)).await;
    assert!(small.is_success(), "{small}");
    let large = status_of(APP1, base, Method::PUT, "text", &body_of(500)).await;
    assert_eq!(large, StatusCode::PAYLOAD_TOO_LARGE);
    let hooks = support::http()
        .get(format!("{base}/_emulator/app1/outbox"))
        .header("x-cloudmine-apikey", APP1.1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        hooks.status(),
        StatusCode::OK,
        "--test-hooks from the environment"
    );
}

#[tokio::test]
async fn the_command_line_wins_over_the_environment() {
    let running = Running::start_env(
        &[
            "--db",
            ":memory:",
            "--app",
            "app2:key2",
            "--max-body-bytes",
            "100000",
        ],
        &[
            ("CLOUDMINE_EMULATOR_APP", "app1:key1"),
            ("CLOUDMINE_EMULATOR_MAX_BODY_BYTES", "200"),
        ],
    );
    let base = &running.base;
    let put = status_of(APP2, base, Method::PUT, "text", &body_of(500)).await;
    assert!(put.is_success(), "{put}");
    // The list from the command line replaces the variable's.
    let other = status_of(APP1, base, Method::GET, "text", "").await;
    assert_ne!(other, StatusCode::OK);
}

#[test]
fn a_wrong_value_in_the_environment_is_refused_by_its_flag() {
    let out = Command::new(bin())
        .args(["--db", ":memory:", "--app", "app1:key1"])
        .env("CLOUDMINE_EMULATOR_MAX_CONNECTIONS", "many")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--max-connections"), "{err}");
}

/// A malformed `--app` (from the environment or the command line) is
/// refused without quoting it: it holds keys.
#[test]
fn a_wrong_app_is_refused_without_showing_it() {
    for (env, args) in [
        (Some("app1:key1,sekrit-no-colon"), vec!["--db", ":memory:"]),
        (None, vec!["--db", ":memory:", "--app", "sekrit-no-colon"]),
    ] {
        let mut command = Command::new(bin());
        command.args(&args);
        if let Some(value) = env {
            command.env("CLOUDMINE_EMULATOR_APP", value);
        }
        let out = command.output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("invalid value for '--app"), "{err}");
        assert!(!err.contains("sekrit"), "{err}");
    }
}

/// The flags in `--help`, each `--flag` with the variable it names.
fn help_with(env: &[(&str, &str)]) -> String {
    let out = Command::new(bin())
        .arg("--help")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help_names_the_variable_of_every_flag() {
    let help = help_with(&[]);
    // The option lines: `      --flag <VALUE>` or `  -h, --help`.
    let flags: Vec<&str> = help
        .lines()
        .map(str::trim_start)
        .filter(|line| {
            line.starts_with("--") || line.starts_with("-h, --") || line.starts_with("-V, --")
        })
        .filter_map(|line| line.split_whitespace().find(|w| w.starts_with("--")))
        .map(|w| w.trim_end_matches(','))
        .filter(|w| !matches!(*w, "--help" | "--version"))
        .collect();
    assert!(flags.contains(&"--shutdown-grace"), "{help}");
    assert!(flags.len() >= 30, "{flags:?}");
    for flag in flags {
        let var = format!(
            "CLOUDMINE_EMULATOR_{}",
            flag.trim_start_matches("--")
                .replace('-', "_")
                .to_uppercase()
        );
        assert!(help.contains(&var), "{flag} names {var}");
    }
}

#[test]
fn help_never_shows_a_secret_given_by_the_environment() {
    let help = help_with(&[
        (
            "CLOUDMINE_EMULATOR_APP",
            "app9:sekrit-api-key:sekrit-master-key",
        ),
        (
            "CLOUDMINE_EMULATOR_DB",
            "postgres://u:sekrit-password@db.internal/cm",
        ),
        ("CLOUDMINE_EMULATOR_BAASBOX_APPCODE", "sekrit-app-code"),
        ("CLOUDMINE_EMULATOR_MAX_CONNECTIONS", "77"),
    ]);
    assert!(!help.contains("sekrit"), "{help}");
    assert!(help.contains("CLOUDMINE_EMULATOR_APP"), "{help}");
    // Values that are not secrets are shown, as clap does.
    assert!(
        help.contains("CLOUDMINE_EMULATOR_MAX_CONNECTIONS=77"),
        "{help}"
    );
}
