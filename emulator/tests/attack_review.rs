//! Regressions from the outsider review of the new surfaces (ACLs, download
//! links, master key): each test reproduces an attack that worked before
//! its fix. The full list of attacks tried is in docs/SECURITY.md.

use cloudmine_emulator::Emulator;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

mod support;
use support::user::User;
use support::{App, http, json_of, message};

const APP: App = App("attackapp", "attack-key");
const MASTER_KEY: &str = "attack-master-key";

async fn emulator() -> Emulator {
    support::builder()
        .app(APP.0, APP.1)
        .master_key(APP.0, MASTER_KEY)
        .start()
        .await
        .unwrap()
}

/// The ACL calls these tests make as a user.
trait AclCalls {
    /// Creates an ACL with `members` and `permissions`; its id.
    async fn acl(&self, emu: &Emulator, members: &[&User], permissions: &[&str]) -> String;
    /// Puts `key`, which must succeed.
    async fn put(&self, emu: &Emulator, key: &str, value: Value);
}

/// Alice, Bob and Eve, signed up and logged in.
async fn alice_bob_and_eve(emu: &Emulator) -> (User, User, User) {
    (
        User::sign_up(emu, APP, "alice@example.com").await,
        User::sign_up(emu, APP, "bob@example.com").await,
        User::sign_up(emu, APP, "eve@example.com").await,
    )
}

impl AclCalls for User {
    async fn acl(&self, emu: &Emulator, members: &[&User], permissions: &[&str]) -> String {
        let ids: Vec<&str> = members.iter().map(|u| u.id.as_str()).collect();
        let body = json!({"members": ids, "permissions": permissions});
        let (s, b) = self.call(emu, Method::PUT, "access", Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b.as_object().unwrap().keys().next().unwrap().clone()
    }

    async fn put(&self, emu: &Emulator, key: &str, value: Value) {
        let (s, b) = self
            .call(emu, Method::PUT, "text", Some(json!({ key: value })))
            .await;
        assert!(s.is_success(), "{b}");
    }
}

/// An object that lists someone else's ACL id in its `__access__` is not
/// shared through that ACL: an ACL shares its owner's objects only. Before
/// the fix, Eve could plant objects in the view of Bob's ACL members (and,
/// under a key Bob also shares, catch the members' writes meant for Bob).
#[tokio::test]
async fn an_acl_shares_only_its_owners_objects() {
    let emu = emulator().await;
    let (alice, bob, eve) = alice_bob_and_eve(&emu).await;
    let bobs = bob.acl(&emu, &[&alice], &["r", "u", "d"]).await;
    bob.put(&emu, "doc", json!({"from": "bob", "__access__": [&bobs]}))
        .await;
    eve.put(
        &emu,
        "planted",
        json!({"from": "eve", "__access__": [&bobs]}),
    )
    .await;

    let (s, b) = alice
        .call(&emu, Method::GET, "text?shared_only=true", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let keys: Vec<&String> = b["success"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["doc"], "only Bob's own object comes through his ACL");

    let (s, b) = alice
        .call(&emu, Method::GET, "text?keys=planted", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b["success"].get("planted").is_none(), "{b}");

    // A write to the planted key is Alice's own object, not Eve's.
    let (s, b) = alice
        .call(
            &emu,
            Method::POST,
            "text",
            Some(json!({"planted": {"secret": 1}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "a new object of Alice's: {b}");
    let (_, b) = eve.call(&emu, Method::GET, "text?keys=planted", None).await;
    assert_eq!(b["success"]["planted"]["from"], "eve");
    assert!(b["success"]["planted"].get("secret").is_none(), "{b}");

    // Deleting by the planted key reaches nothing of Eve's either.
    let (_, b) = alice
        .call(&emu, Method::DELETE, "data?keys=planted", None)
        .await;
    assert_eq!(b["success"]["planted"], "deleted", "Alice's own copy");
    let (_, b) = eve.call(&emu, Method::GET, "text?keys=planted", None).await;
    assert_eq!(b["success"]["planted"]["from"], "eve", "{b}");
}

/// Download links take the API key from the query, but never the master
/// key: a URL ends up in histories, logs and Referer headers.
#[tokio::test]
async fn a_download_link_never_takes_the_master_key() {
    let emu = emulator().await;
    let put = APP
        .request(&emu, Method::PUT, "binary/report")
        .header("content-type", "text/plain")
        .body("contents");
    assert!(put.send().await.unwrap().status().is_success());

    let url = APP.url(&emu, &format!("binary/report?apikey={MASTER_KEY}"));
    let (s, b) = json_of(http().get(url).send().await.unwrap()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    assert!(message(&b).contains("master key"), "{b}");
    assert!(!b.to_string().contains(MASTER_KEY), "{b}");

    // The API key in the query and the master key in the header still work.
    let url = APP.url(&emu, &format!("binary/report?apikey={}", APP.1));
    assert_eq!(http().get(url).send().await.unwrap().status(), 200);
    let r = http()
        .get(APP.url(&emu, "binary/report"))
        .header("x-cloudmine-apikey", MASTER_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// When two users share objects under the same key with Alice, her write or
/// delete by that key reaches neither (409 in `errors`): before the fix it
/// went to the first owner by id, so Eve could share a `doc` of her own
/// with Alice and catch the writes Alice meant for Bob's `doc`.
#[tokio::test]
async fn a_key_shared_by_several_owners_is_not_written_or_deleted() {
    let emu = emulator().await;
    let (alice, bob, eve) = alice_bob_and_eve(&emu).await;
    let bobs = bob.acl(&emu, &[&alice], &["r", "u", "d"]).await;
    let eves = eve.acl(&emu, &[&alice], &["r", "u", "d"]).await;
    bob.put(&emu, "doc", json!({"from": "bob", "__access__": [&bobs]}))
        .await;
    eve.put(&emu, "doc", json!({"from": "eve", "__access__": [&eves]}))
        .await;

    for method in [Method::POST, Method::PUT] {
        let body = json!({"doc": {"from": "alice", "secret": 1}});
        let (s, b) = alice.call(&emu, method, "text", Some(body)).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(b["errors"]["doc"]["code"], 409, "{b}");
        let why = b["errors"]["doc"]["message"].as_str().unwrap_or_default();
        assert!(why.contains("several users"), "{b}");
    }
    let (_, b) = alice
        .call(&emu, Method::DELETE, "data?keys=doc", None)
        .await;
    assert_eq!(b["errors"]["doc"]["code"], 409, "{b}");

    for (owner, name) in [(&bob, "bob"), (&eve, "eve")] {
        let (_, b) = owner.call(&emu, Method::GET, "text?keys=doc", None).await;
        assert_eq!(b["success"]["doc"]["from"], name, "{b}");
        assert!(b["success"]["doc"].get("secret").is_none(), "{b}");
    }
    // Once Eve's share ends, the key names Bob's object alone again.
    let (s, _) = eve
        .call(&emu, Method::DELETE, &format!("access/{eves}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let body = json!({"doc": {"note": "for bob"}});
    let (_, b) = alice.call(&emu, Method::POST, "text", Some(body)).await;
    assert_eq!(b["success"]["doc"], "updated", "{b}");
}

/// `--apps-file` is read up to 1 MiB (a `/dev/zero` named by mistake is
/// refused rather than read until memory runs out), and a file other users
/// may read draws a warning: it holds API and master keys.
#[cfg(unix)]
#[test]
fn the_apps_file_is_bounded_and_a_shared_one_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    use support::binary::bin;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("apps");
    let run = || {
        std::process::Command::new(bin())
            .args(["--listen", "127.0.0.1:0", "--db", ":memory:"])
            .args(["--apps-file", file.to_str().unwrap()])
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    // The bad last line makes a binary that read it all stop too.
    let big = format!("{}bad-line\n", "app:key\n".repeat(200_000));
    std::fs::write(&file, big).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = run();
    assert!(!out.status.success(), "a 1.6 MB apps file is refused");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("larger than 1048576 bytes"), "{err}");
    assert!(!err.contains("chmod 600"), "a private file: {err}");

    // A bad line makes the binary stop; the warning comes first.
    std::fs::write(&file, "app:key:s3cr3t-value\nbad-line\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run();
    assert!(!out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("(mode 644)") && log.contains("chmod 600"),
        "{log}"
    );
    assert!(!log.contains("s3cr3t"), "no key in the warning: {log}");
}

/// A configured CORS origin with capitals (accepted at start) matches the
/// lower-case origin browsers send; other origins are still not reflected.
/// Before the fix, `https://App.Example.com` was accepted and then never
/// allowed anything.
#[tokio::test]
async fn a_cors_origin_matches_whatever_its_case() {
    let emu = support::builder()
        .app(APP.0, APP.1)
        .cors_origin("https://App.Example.com")
        .start()
        .await
        .unwrap();
    for (origin, allowed) in [
        ("https://app.example.com", Some("https://app.example.com")),
        ("https://evil.example.com", None),
        ("null", None),
    ] {
        let r = http()
            .request(Method::OPTIONS, APP.url(&emu, "text"))
            .header("origin", origin)
            .header("access-control-request-method", "PUT")
            .send()
            .await
            .unwrap();
        let got = r
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap());
        assert_eq!(got, allowed, "{origin}");
        assert!(
            r.headers()
                .get("access-control-allow-credentials")
                .is_none()
        );
    }
}

/// Whether node runs here (snippet tests skip without it, except on CI).
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

/// Holds its process until the file `release` exists.
const HOLD: &str = "var fs = require('fs');
var t = setInterval(function () {
  if (fs.existsSync(data.params.release)) { clearInterval(t); exit('released'); }
}, 20);";

/// `async=true` answers at once but still takes a process slot or a queue
/// place first: a flood of background calls meets the same bound (503) as
/// waiting ones, and leaves nothing running once released.
#[tokio::test]
async fn an_async_flood_meets_the_process_bound() {
    if !node_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hold.js"), HOLD).unwrap();
    std::fs::write(dir.path().join("echo.js"), "exit(data.params);").unwrap();
    let emu = support::builder()
        .app(APP.0, APP.1)
        .snippets_dir(dir.path())
        .max_snippet_processes(1, 1)
        .start()
        .await
        .unwrap();
    let release = dir.path().join("release");
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("release", release.to_str().unwrap())
        .append_pair("async", "true")
        .finish();
    for expected in [StatusCode::OK, StatusCode::OK] {
        let (s, b) = APP
            .call(&emu, Method::GET, &format!("run/hold?{q}"), None)
            .await;
        assert_eq!(s, expected, "a slot, then a queue place: {b}");
    }
    let (s, b) = APP
        .call(&emu, Method::GET, &format!("run/hold?{q}"), None)
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{b}");
    assert!(message(&b).contains("too many snippets"), "{b}");
    std::fs::write(&release, "go").unwrap();
    // Both held snippets end once released; until then the slot and the
    // queue may still be taken (a 20 s liveness guard, not a timing test).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (s, b) = APP.call(&emu, Method::GET, "run/echo?x=1", None).await;
        if s == StatusCode::OK {
            assert_eq!(b, json!({"result": {"x": "1"}}));
            break;
        }
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{b}");
        assert!(
            std::time::Instant::now() < deadline,
            "the slots never freed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Snippet names that try to leave `DIR` or smuggle another file: encoded
/// dots and slashes, NUL, Unicode, a `.js` suffix, an over-long name.
#[tokio::test]
async fn tricky_snippet_names_are_refused() {
    if !node_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("echo.js"), "exit(1);").unwrap();
    let emu = support::builder()
        .app(APP.0, APP.1)
        .snippets_dir(dir.path())
        .start()
        .await
        .unwrap();
    let long = "a".repeat(129);
    for bad in [
        "%2e%2e",
        "%2E%2E%2Fecho",
        "echo%2F",
        "echo.js",
        "ech%C3%B6",
        "echo%00",
        "%5C..%5Cecho",
        long.as_str(),
    ] {
        for path in [format!("run/{bad}"), format!("text?f={bad}")] {
            let (s, b) = APP.call(&emu, Method::GET, &path, None).await;
            // The client's URL parser may already fold `%2e%2e` away: then
            // no route is reached at all.
            let folded = bad.to_ascii_lowercase().starts_with("%2e%2e")
                && path.starts_with("run/")
                && s == StatusCode::NOT_FOUND
                && message(&b).starts_with("no such endpoint");
            if !folded {
                assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {b}");
                assert!(message(&b).starts_with("invalid snippet name"), "{b}");
            }
        }
    }
}

/// Passwords at the edges: empty and over-long ones refused with a clear
/// message; whitespace, NUL and Unicode ones kept byte for byte (the login
/// needs exactly them); a 15 MB password at login is a plain 401.
#[tokio::test]
async fn passwords_at_the_edges() {
    let emu = emulator().await;
    let create = |name: &str, password: &str| {
        json!({"credentials": {"username": name, "password": password}}).to_string()
    };
    for (password, why) in [("", "required"), (&*"a".repeat(1_000_000), "at most 1024")] {
        let body = create("edge", password);
        let (s, b) = APP
            .call(&emu, Method::POST, "account/create", Some(&body))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
        assert!(message(&b).contains(why), "{b}");
    }
    for (i, password) in ["   ", "a\u{0}b", "pässwörd🔑"].into_iter().enumerate() {
        let name = format!("edge{i}");
        let body = create(&name, password);
        let (s, b) = APP
            .call(&emu, Method::POST, "account/create", Some(&body))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        let login = |p: &str| json!({"username": name, "password": p}).to_string();
        let (s, _) = APP
            .call(&emu, Method::POST, "account/login", Some(&login(password)))
            .await;
        assert_eq!(s, StatusCode::OK, "{password:?}");
        let (s, _) = APP
            .call(&emu, Method::POST, "account/login", Some(&login("a")))
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let huge = json!({"username": "edge0", "password": "a".repeat(15_000_000)}).to_string();
    let (s, _) = APP
        .call(&emu, Method::POST, "account/login", Some(&huge))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}
