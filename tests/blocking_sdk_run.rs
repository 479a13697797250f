//! The blocking client: snippets, credential checks and push, with `.wait()`.

use cloudmine::{Credentials, WebService, blocking};
use cloudmine_emulator::Emulator;
use serde_json::json;

const APP: &str = "blocking-run-app";
const KEY: &str = "blocking-run-key";

/// An emulator on a runtime of its own; the test thread has none.
fn emulator() -> (tokio::runtime::Runtime, Emulator) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt
        .block_on(
            Emulator::builder()
                .app(APP, KEY)
                .snippet("echo", |input| Ok(json!({"params": input.params})))
                .start(),
        )
        .unwrap();
    (rt, emu)
}

fn client(emu: &Emulator) -> blocking::WebService {
    blocking::WebService::new(
        WebService::builder()
            .app_id(APP)
            .api_key(KEY)
            .api_root(emu.base_url()),
    )
    .unwrap()
}

#[test]
fn run_waits_for_the_snippet() {
    let (_rt, emu) = emulator();
    let ws = client(&emu);
    let answer = ws
        .run("echo")
        .param("a", String::from("b"))
        .get()
        .wait()
        .unwrap();
    assert_eq!(answer.result().unwrap()["params"], json!({"a": "b"}));
    let answer = ws.run("echo").post(json!({"x": 1})).wait().unwrap();
    assert_eq!(answer.result().unwrap()["params"], json!({"x": 1}));
    assert!(ws.run("a/b").get().wait().unwrap_err().is_invalid());
}

#[test]
fn verify_waits_and_keeps_no_session() {
    let (_rt, emu) = emulator();
    let ws = client(&emu);
    ws.users()
        .create(
            Credentials::email("ada@example.com", "analytical engine"),
            json!(null),
        )
        .wait()
        .unwrap();
    let ok = ws
        .users()
        .verify(Credentials::email("ada@example.com", "analytical engine"));
    assert!(ok.wait().unwrap());
    let wrong = ws
        .users()
        .verify(Credentials::email("ada@example.com", "wrong"));
    assert!(!wrong.wait().unwrap());
    assert!(ws.session_token().is_none());
}

#[test]
fn push_waits_for_the_server() {
    let (_rt, emu) = emulator();
    let ws = client(&emu);
    ws.push(cloudmine::Notification::new("hi").channel("news"))
        .wait()
        .unwrap();
    assert_eq!(
        _rt.block_on(emu.pushes()).unwrap()[0].notification["channel"],
        "news"
    );
    let e = ws
        .push(cloudmine::Notification::new(""))
        .wait()
        .unwrap_err();
    assert!(e.is_invalid(), "{e}");
}

#[test]
fn a_blocking_login_keeps_the_email() {
    let (_rt, emu) = emulator();
    let ws = client(&emu);
    ws.users()
        .create(
            Credentials::email("ada@example.com", "analytical engine"),
            json!(null),
        )
        .wait()
        .unwrap();
    ws.users()
        .login(Credentials::email("ada@example.com", "analytical engine"))
        .wait()
        .unwrap();
    assert_eq!(ws.options().email(), Some("ada@example.com"));
    ws.users().logout().wait().unwrap();
    assert_eq!(ws.options().email(), None);
}
