//! The blocking client: the same calls, finished with `.wait()`.

use std::time::Duration;

use cloudmine::{Credentials, Error, HttpOpener, SocialNetwork, WebService, blocking};
use cloudmine_emulator::Emulator;
use serde_json::json;

const APP: &str = "blocking-app";
const KEY: &str = "blocking-key";

/// An emulator on a runtime of its own; the test thread has none.
fn emulator() -> (tokio::runtime::Runtime, Emulator) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt
        .block_on(Emulator::builder().app(APP, KEY).auto_consent(true).start())
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
fn objects_users_and_social_login_without_a_runtime() {
    let (_rt, emu) = emulator();
    let ws = client(&emu);
    let written = json!({"make": "Fiat", "model": {"name": "500", "year": 1957}});
    let set = ws.objects().set("car", written.clone()).wait().unwrap();
    assert_eq!(set.status(), 201);
    assert_eq!(set.success(), &json!({"car": "created"}));
    let car = ws.objects().get(["car"]).wait().unwrap();
    assert_eq!(car.value("car"), Some(&written), "read back as written");
    assert_eq!(car.keys(), ["car"]);

    let created = ws
        .users()
        .create(
            Credentials::email("ada@example.com", "correct horse battery"),
            json!({"name": "Ada"}),
        )
        .wait()
        .unwrap();
    let id = created.success()["__id__"].as_str().unwrap().to_owned();
    let login = ws
        .users()
        .login(Credentials::email(
            "ada@example.com",
            "correct horse battery",
        ))
        .wait()
        .unwrap();
    assert_eq!(login.profile().id(), id);
    assert_eq!(login.profile().fields()["name"], "Ada");
    assert_eq!(
        ws.session_token().unwrap().secret(),
        login.session_token().secret()
    );
    let me = ws.users().me().wait().unwrap();
    assert_eq!(me.success()["email"], "ada@example.com");
    assert_eq!(me.success()["__id__"], id.as_str());
    assert_eq!(me.success()["name"], "Ada");
    ws.users().logout().wait().unwrap();
    assert!(ws.session_token().is_none());
    let e = ws.users().me().wait().unwrap_err();
    assert!(e.is_unauthorized(), "{e:?}");

    let login = ws
        .login_social(SocialNetwork::Github)
        .opener(HttpOpener::new())
        .timeout(Duration::from_secs(20))
        .wait()
        .unwrap();
    assert_eq!(login.profile().services(), ["github"]);
    assert_ne!(login.profile().id(), id, "a new user for a new identity");
    let me = ws.users().me().wait().unwrap();
    assert_eq!(me.success()["__id__"], login.profile().id());
    // The async client behind it shares the session.
    assert_eq!(
        ws.as_async().session_token().unwrap().secret(),
        login.session_token().secret()
    );
}

#[test]
fn errors_are_typed() {
    let (rt, emu) = emulator();
    let ws = client(&emu);
    let e = ws.objects().get(["missing"]).wait().unwrap_err();
    assert!(matches!(e, Error::Keys { .. }), "{e:?}");
    assert_eq!(e.key_errors().unwrap()["missing"].status, 404);
    let e = ws.objects().get(Vec::<String>::new()).wait().unwrap_err();
    assert!(e.is_invalid_argument(), "{e:?}");
    let e = ws.users().me().wait().unwrap_err();
    assert!(e.is_unauthorized(), "{e:?}");

    // .wait() inside a runtime: a clear error, not a hang or a panic.
    let inside = rt.block_on(async { client(&emu).objects().get_all().wait() });
    assert!(
        matches!(inside, Err(Error::BlockingInRuntime)),
        "{inside:?}"
    );
    assert!(inside.unwrap_err().is_blocking_in_runtime());

    // .wait() cannot fail because of how the client was built: a call of
    // a plain async client waits just as well.
    let async_ws = WebService::builder()
        .app_id(APP)
        .api_key(KEY)
        .api_root(emu.base_url())
        .build()
        .unwrap();
    async_ws
        .objects()
        .set("car", json!({"make": "Fiat"}))
        .wait()
        .unwrap();
    let all = async_ws.objects().get_all().wait().unwrap();
    assert_eq!(all.value("car"), Some(&json!({"make": "Fiat"})));
    assert_eq!(all.keys(), ["car"]);
}

#[test]
fn dropping_a_blocking_client_inside_a_runtime_does_not_panic() {
    let (rt, emu) = emulator();
    let ws = client(&emu);
    ws.objects().set("k", json!(1)).wait().unwrap();
    rt.block_on(async move { drop(ws) });
    // The shared runtime still serves a new client afterwards.
    let again = client(&emu).objects().get(["k"]).wait().unwrap();
    assert_eq!(again.value("k"), Some(&json!(1)));
}

#[test]
fn files_upload_and_download_without_a_runtime() {
    let (_rt, emu) = emulator();
    let ws = client(&emu);
    let dir = tempfile::tempdir().unwrap();
    let uploaded = ws
        .files()
        .upload(cloudmine::Source::bytes("blocking bytes"))
        .filename("note.txt")
        .wait()
        .unwrap();
    assert_eq!(uploaded.content_type.as_deref(), Some("text/plain"));
    let target = dir.path().join("note.txt");
    let downloaded = ws
        .files()
        .download_to(&uploaded.key, &target)
        .wait()
        .unwrap();
    assert_eq!(downloaded.size, 14);
    assert_eq!(std::fs::read(&target).unwrap(), b"blocking bytes");
    // A plain async client's transfers wait just as well.
    let plain = WebService::builder()
        .app_id(APP)
        .api_key(KEY)
        .api_root(emu.base_url())
        .build()
        .unwrap();
    let again = plain
        .files()
        .upload(cloudmine::Source::bytes("x"))
        .wait()
        .unwrap();
    assert_eq!(again.size, Some(1));
    assert_eq!(
        again.content_type.as_deref(),
        Some("application/octet-stream")
    );
    let target = dir.path().join("x");
    let info = plain
        .files()
        .download_to(&again.key, &target)
        .wait()
        .unwrap();
    assert_eq!(info.size, 1);
    assert_eq!(std::fs::read(&target).unwrap(), b"x");
    // A missing file is a typed 404.
    let e = ws
        .files()
        .download_to("no-such-file", dir.path().join("none"))
        .wait()
        .unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert!(!dir.path().join("none").exists());
}

#[cfg(feature = "baasbox")]
#[test]
fn baasbox_without_a_runtime() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt
        .block_on(
            Emulator::builder()
                .app(APP, KEY)
                .baasbox("bb-code")
                .auto_consent(true)
                .start(),
        )
        .unwrap();
    let bb = blocking::BaasBox::new(
        cloudmine::baasbox::BaasBox::builder()
            .base_url(format!("{}/baasbox", emu.base_url()))
            .app_code("bb-code"),
    )
    .unwrap();
    let ada = bb.signup("ada", "long enough password").wait().unwrap();
    assert_eq!(ada.username, "ada");
    assert!(ada.networks.is_empty());
    assert_eq!(bb.me().wait().unwrap().username, "ada");
    assert!(bb.social_logins().wait().unwrap().is_empty());
    let provider = cloudmine::baasbox::OAuthProvider::emulator(&emu.base_url(), "github").unwrap();
    let user = bb
        .login_social("github", provider)
        .opener(HttpOpener::new())
        .link(true)
        .wait()
        .unwrap();
    assert_eq!(user.networks, ["github"]);
    assert_eq!(user.username, "ada", "linked to the signed-in user");
    let linked = bb.social_logins().wait().unwrap();
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].network, "github");
    bb.logout().wait().unwrap();
    let e = bb.me().wait().unwrap_err();
    assert!(e.is_no_session(), "{e:?}");
}
