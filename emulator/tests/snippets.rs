//! JavaScript snippets (`DIR/NAME.js` run by node): the CloudMine contract
//! (`data`, `exit()`, `run` and `f=`), and every limit around the process.
//! Skipped, with the reason printed, where `node` is missing, unless
//! `CI=true`, where a missing node fails.

use std::path::Path;
use std::time::{Duration, Instant};

use cloudmine_emulator::{Emulator, EmulatorBuilder};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

mod support;
use support::user::User;
use support::{App, json_of, message};

const APP: &str = "app";
const KEY: &str = "snippet-test-key";
const CM: App = App(APP, KEY);

/// The test snippets, written to a fresh directory.
const SNIPPETS: &[(&str, &str)] = &[
    ("echo", "exit({params: data.params, i_am: 'echo'});"),
    (
        "inspect",
        "exit({params: data.params, input: data.input, success: data.success, \
         user: data.user_id || null, has_token: typeof data.session_token == 'string'});",
    ),
    ("thrower", "var x = 1;\nthrow new Error('boom');"),
    ("async_thrower", "setTimeout(function () { null.x; }, 1);"),
    ("no_exit", "var quiet = true;"),
    (
        "forever",
        "require('fs').writeFileSync(data.params.pidfile, String(process.pid));\nwhile (true) {}",
    ),
    (
        "chatty",
        "var s = 'x'.repeat(1024); for (var i = 0; i < 4096; i++) console.log(s); exit(1);",
    ),
    (
        "forger",
        "console.log('garbage \\u0000 {'); console.log('ok 99'); process.stdout.write('\\nok 7\\n'); exit(2);",
    ),
    ("env", "exit(Object.keys(process.env));"),
    (
        "writer",
        "require('fs').writeFileSync(data.params.path, 'ran'); exit(true);",
    ),
    (
        "blocker",
        "var fs = require('fs'); fs.writeFileSync(data.params.started, 'x');\n\
         var t = setInterval(function () { if (fs.existsSync(data.params.release)) \
         { clearInterval(t); exit('released'); } }, 20);",
    ),
    ("shadowed", "exit('from the file');"),
    (
        "hog",
        "var a = []; while (true) a.push(new Array(100000).fill({x: a.length}));",
    ),
];

/// Whether node runs here; on CI a missing node is a failure (`support::skip`).
fn node_present() -> bool {
    let found = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        support::skip::skip_or_fail("node is not on PATH (JavaScript snippets need it)");
    }
    found
}

fn snippet_dir() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, source) in SNIPPETS {
        std::fs::write(dir.path().join(format!("{name}.js")), source).unwrap();
    }
    dir
}

fn builder(dir: &Path) -> EmulatorBuilder {
    support::builder().app(APP, KEY).snippets_dir(dir)
}

/// The snippet directory, or `None` (the test is skipped) where node is
/// missing.
fn node_dir() -> Option<TempDir> {
    node_present().then(snippet_dir)
}

/// A snippet directory and an emulator serving it, its builder changed by
/// `configure`; `None` (the test is skipped) where node is missing.
async fn setup_with(
    configure: impl FnOnce(EmulatorBuilder) -> EmulatorBuilder,
) -> Option<(TempDir, Emulator)> {
    let dir = node_dir()?;
    let emu = configure(builder(dir.path())).start().await.unwrap();
    Some((dir, emu))
}

/// [`setup_with`] the builder as it is.
async fn setup() -> Option<(TempDir, Emulator)> {
    setup_with(|b| b).await
}

async fn call(
    emu: &Emulator,
    method: Method,
    path: &str,
    body: Option<&str>,
) -> (StatusCode, Value) {
    CM.call(emu, method, path, body).await
}

/// `pairs` as a URL query string.
fn query_string(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Waits (up to a 20 s liveness guard) for `path` to exist.
async fn wait_for_file(path: &Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !path.exists() {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

#[tokio::test]
async fn run_passes_query_body_and_put_body_as_params() {
    let Some((_dir, emu)) = setup().await else {
        return;
    };
    let (s, b) = call(&emu, Method::GET, "run/echo?abc=123&def=hij&limit=5", None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        b,
        json!({"result": {"params": {"abc": "123", "def": "hij"}, "i_am": "echo"}}),
        "server params such as limit are not the snippet's"
    );
    let (s, b) = call(
        &emu,
        Method::POST,
        "run/echo",
        Some(r#"{"n": [1, {"x": null}]}"#),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["result"]["params"], json!({"n": [1, {"x": null}]}));
    let (s, b) = call(&emu, Method::PUT, "run/echo", Some("42")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["result"]["params"], json!(42));
    let (s, b) = call(&emu, Method::POST, "run/echo", Some("{nope")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(message(&b).contains("malformed JSON"), "{b}");
}

#[tokio::test]
async fn f_gives_the_action_answer_as_input_on_set_get_search_delete() {
    let Some((_dir, emu)) = setup().await else {
        return;
    };
    let opts = "f=inspect&params=%7B%22a%22%3A1%7D";
    let (s, b) = call(
        &emu,
        Method::PUT,
        &format!("text?{opts}"),
        Some(r#"{"k": {"v": 1}}"#),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let set = json!({"k": "created"});
    assert_eq!(b["success"], set);
    assert_eq!(b["result"]["input"], json!({"success": set, "errors": {}}));
    assert_eq!(
        b["result"]["success"], set,
        "the answer is also at data's top"
    );
    assert_eq!(b["result"]["params"], json!({"a": 1}));
    assert_eq!(b["result"]["user"], Value::Null);
    assert_eq!(b["result"]["has_token"], false);

    let (_, b) = call(&emu, Method::GET, &format!("text?keys=k&{opts}"), None).await;
    assert_eq!(b["result"]["input"]["success"], json!({"k": {"v": 1}}));
    let (_, b) = call(
        &emu,
        Method::GET,
        &format!("search?q=%5Bv%3D1%5D&{opts}"),
        None,
    )
    .await;
    assert_eq!(b["result"]["input"]["success"], json!({"k": {"v": 1}}));
    let (_, b) = call(&emu, Method::DELETE, &format!("data?keys=k&{opts}"), None).await;
    assert_eq!(b["success"], json!({"k": "deleted"}));
    assert_eq!(b["result"]["input"]["success"], json!({"k": "deleted"}));
}

#[tokio::test]
async fn user_level_snippets_see_the_user_and_a_session_token() {
    let Some((_dir, emu)) = setup().await else {
        return;
    };
    let User {
        id: user, token, ..
    } = User::seeded(&emu, CM, "s@example.com").await;
    let r = CM
        .request(&emu, Method::GET, "user/run/inspect")
        .header("x-cloudmine-sessiontoken", &token)
        .send()
        .await
        .unwrap();
    let (s, b) = json_of(r).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["result"]["user"], user.as_str());
    assert_eq!(b["result"]["has_token"], true);
    assert!(!b.to_string().contains(&token), "the token is not echoed");
}

#[tokio::test]
async fn result_only_answers_just_the_result() {
    let Some((_dir, emu)) = setup().await else {
        return;
    };
    let (s, b) = call(
        &emu,
        Method::PUT,
        "text?f=echo&result_only=true",
        Some(r#"{"k": 1}"#),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b, json!({"result": {"params": null, "i_am": "echo"}}));
}

#[tokio::test]
async fn async_answers_at_once_and_runs_in_the_background() {
    let Some((_dir, emu)) = setup().await else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let ran = out.path().join("ran");
    let q = query_string(&[("path", ran.to_str().unwrap()), ("async", "true")]);
    let (s, b) = call(&emu, Method::GET, &format!("run/writer?{q}"), None).await;
    assert_eq!((s, b), (StatusCode::OK, json!({})));
    assert!(
        wait_for_file(&ran).await,
        "the snippet ran in the background"
    );

    let (s, b) = call(
        &emu,
        Method::PUT,
        "text?f=echo&async=true",
        Some(r#"{"k": 1}"#),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        b,
        json!({"success": {"k": "created"}, "errors": {}}),
        "no result"
    );
    let (s, b) = call(&emu, Method::GET, "run/echo?async=maybe", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(message(&b).contains("invalid async"), "{b}");
}

#[tokio::test]
async fn unknown_and_invalid_names_are_refused() {
    let Some(dir) = node_dir() else {
        return;
    };
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.js"), "exit('escaped');").unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.js"), dir.path().join("link.js"))
        .unwrap();
    std::os::unix::fs::symlink(dir.path().join("echo.js"), dir.path().join("alias.js")).unwrap();
    let emu = builder(dir.path()).start().await.unwrap();
    let (s, b) = call(&emu, Method::GET, "run/nope", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(message(&b), "unknown snippet: nope");
    let (s, b) = call(&emu, Method::GET, "run/link", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a symlink out of DIR: {b}");
    let (s, b) = call(&emu, Method::GET, "run/alias", None).await;
    assert_eq!(s, StatusCode::OK, "a symlink inside DIR: {b}");
    for bad in ["..%2Fsecret", "a.b", "%2Fetc%2Fpasswd", "x%00"] {
        let (s, b) = call(&emu, Method::GET, &format!("run/{bad}"), None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {b}");
        assert!(message(&b).starts_with("invalid snippet name"), "{b}");
    }
    let (s, _) = call(&emu, Method::GET, "text?f=nope", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_throw_or_a_missing_exit_is_an_error_answer() {
    let Some((dir, emu)) = setup().await else {
        return;
    };
    let (s, b) = call(&emu, Method::GET, "run/thrower", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let m = message(&b);
    assert!(
        m.starts_with("snippet thrower failed: it threw boom"),
        "{m}"
    );
    assert!(m.contains("thrower.js:2"), "the snippet's own line: {m}");
    assert!(
        !m.contains(dir.path().to_str().unwrap()),
        "no host path: {m}"
    );
    let (s, b) = call(&emu, Method::GET, "run/async_thrower", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(message(&b).contains("it threw"), "{b}");
    let (s, b) = call(&emu, Method::GET, "run/no_exit", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&b),
        "snippet no_exit failed: it ended without calling exit()"
    );
}

#[tokio::test]
async fn a_snippet_past_its_time_is_killed() {
    let Some((_dir, emu)) = setup_with(|b| b.snippet_timeout(Duration::from_secs(1))).await else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let pidfile = out.path().join("pid");
    let q = query_string(&[("pidfile", pidfile.to_str().unwrap())]);
    let (s, b) = call(&emu, Method::GET, &format!("run/forever?{q}"), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(message(&b), "snippet forever failed: killed after 1 s");
    let pid = std::fs::read_to_string(&pidfile).expect("the snippet started");
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "node {pid} is gone once the answer is sent"
    );
}

/// Whether process `pid` is gone (or a zombie about to be reaped).
fn gone(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status")).map_or(true, |s| {
        s.lines()
            .any(|l| l.starts_with("State:") && l.contains('Z'))
    })
}

#[tokio::test]
async fn a_dropped_request_leaves_no_process_behind() {
    let Some((_dir, emu)) = setup().await else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let pidfile = out.path().join("pid");
    let q = query_string(&[("pidfile", pidfile.to_str().unwrap())]);
    let request = tokio::spawn(
        CM.request(&emu, Method::GET, &format!("run/forever?{q}"))
            .send(),
    );
    assert!(wait_for_file(&pidfile).await, "the snippet started");
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    request.abort();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !gone(&pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gone(&pid), "node {pid} was killed with its request");
}

#[tokio::test]
async fn the_heap_cap_stops_a_hog() {
    let Some((_dir, emu)) = setup_with(|b| b.snippet_memory_mib(32)).await else {
        return;
    };
    let (s, b) = call(&emu, Method::GET, "run/hog", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(message(&b), "snippet hog failed: it ran out of memory");
}

#[tokio::test]
async fn too_much_output_is_refused_and_printing_cannot_forge_the_answer() {
    let Some((_dir, emu)) = setup_with(|b| b.snippet_output_bytes(64 * 1024)).await else {
        return;
    };
    let (s, b) = call(&emu, Method::GET, "run/chatty", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&b),
        "snippet chatty failed: it printed more than 65536 bytes"
    );
    let (s, b) = call(&emu, Method::GET, "run/forger", None).await;
    assert_eq!((s, b), (StatusCode::OK, json!({"result": 2})));
}

#[tokio::test]
async fn the_environment_is_cleared() {
    let Some((_dir, emu)) = setup().await else {
        return;
    };
    let (s, b) = call(&emu, Method::GET, "run/env", None).await;
    assert_eq!((s, b), (StatusCode::OK, json!({"result": []})));
}

#[tokio::test]
async fn past_the_process_bound_the_answer_is_503() {
    let Some((_dir, emu)) = setup_with(|b| b.max_snippet_processes(1, 0)).await else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let (started, release) = (out.path().join("started"), out.path().join("release"));
    let q = query_string(&[
        ("started", started.to_str().unwrap()),
        ("release", release.to_str().unwrap()),
    ]);
    let first = CM
        .request(&emu, Method::GET, &format!("run/blocker?{q}"))
        .send();
    let first = tokio::spawn(first);
    assert!(wait_for_file(&started).await, "the first snippet runs");
    let r = CM
        .request(&emu, Method::GET, "run/echo")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["retry-after"], "1");
    let (s, b) = json_of(r).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(message(&b).contains("too many snippets"), "{b}");
    std::fs::write(&release, "go").unwrap();
    let (s, b) = json_of(first.await.unwrap().unwrap()).await;
    assert_eq!((s, b), (StatusCode::OK, json!({"result": "released"})));
    let (s, _) = call(&emu, Method::GET, "run/echo", None).await;
    assert_eq!(s, StatusCode::OK, "the slot is free again");
}

#[tokio::test]
async fn closures_still_run_and_win_over_a_file() {
    let Some((_dir, emu)) = setup_with(|b| {
        b.snippet("shadowed", |_| Ok(json!("from the closure")))
            .snippet("rust_only", |input| Ok(input.params))
    })
    .await
    else {
        return;
    };
    let (_, b) = call(&emu, Method::GET, "run/shadowed", None).await;
    assert_eq!(b, json!({"result": "from the closure"}));
    let (_, b) = call(&emu, Method::POST, "run/rust_only", Some("[1]")).await;
    assert_eq!(b, json!({"result": [1]}));
    let (_, b) = call(&emu, Method::GET, "run/shadowed?async=true", None).await;
    assert_eq!(
        b,
        json!({"result": "from the closure"}),
        "a closure answers even with async=true"
    );
}

#[tokio::test]
async fn start_refuses_a_missing_dir_or_node() {
    let dir = snippet_dir();
    let err = builder(dir.path())
        .node("/nonexistent/node")
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("node") && err.contains("--snippets"), "{err}");
    assert!(err.contains("/nonexistent/node"), "{err}");
    let err = builder(&dir.path().join("missing"))
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no such directory"), "{err}");
    let err = builder(dir.path())
        .snippet_memory_mib(1)
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("at least 16 MiB"), "{err}");
}

/// The emulator binary with an app and a memory store, to add flags to.
fn emulator_command() -> std::process::Command {
    let mut command = std::process::Command::new(support::binary::bin());
    command.args([
        "--listen",
        "127.0.0.1:0",
        "--db",
        ":memory:",
        "--app",
        "a:k",
    ]);
    command
}

#[test]
fn the_binary_names_node_and_the_flag_when_node_is_missing() {
    let dir = snippet_dir();
    let out = emulator_command()
        .arg("--snippets")
        .arg(dir.path())
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--snippets needs node"), "{stderr}");
    assert!(stderr.contains("no `node` is on PATH"), "{stderr}");
    let out = emulator_command()
        .args(["--snippets", "/nonexistent/snippets"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--snippets /nonexistent/snippets: no such directory"),
        "{stderr}"
    );
}
