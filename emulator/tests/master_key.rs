//! Master-key account administration: a user's profile updated or replaced,
//! their password set and the user deleted by id, without their session —
//! only with the application's master key, never with the API key alone.

use cloudmine_emulator::Emulator;
use reqwest::{Method, StatusCode};
use serde_json::json;

mod support;
use support::binary::{Running, bin};
use support::user::{User, login, me};
use support::{App, json_of, message};

const API: App = App("app", "api-key");
const MASTER: App = App("app", "master-key");

async fn emulator() -> Emulator {
    support::builder()
        .app(API.0, API.1)
        .master_key(API.0, MASTER.1)
        .app("other", "other-key")
        .master_key("other", "other-master")
        .start()
        .await
        .unwrap()
}

/// Signs up `email` (password "abcde") and logs in; returns (id, session).
async fn user(emu: &Emulator, email: &str) -> (String, String) {
    let profile = json!({"name": "Ada", "age": 36});
    let u = User::sign_up_with(emu, API, email, "abcde", Some(profile)).await;
    (u.id, u.token)
}

#[tokio::test]
async fn the_api_key_alone_gets_401_on_every_master_call() {
    let emu = emulator().await;
    let (id, _) = user(&emu, "ada@example.com").await;
    let calls = [
        (Method::POST, format!("account/{id}"), Some(r#"{"x": 1}"#)),
        (Method::PUT, format!("account/{id}"), Some(r#"{"x": 1}"#)),
        (Method::DELETE, format!("account/{id}"), None),
        (
            Method::POST,
            format!("account/{id}/password/change"),
            Some(r#"{"password": "new pass"}"#),
        ),
    ];
    for (method, path, body) in &calls {
        let (status, answer) = API.call(&emu, method.clone(), path, *body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert!(message(&answer).contains("master key"), "{answer}");
        // Another app's master key is not this app's.
        let (status, _) = App(API.0, "other-master")
            .call(&emu, method.clone(), path, *body)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    // Nothing changed.
    let (status, body) = API
        .call(&emu, Method::GET, &format!("account/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["success"][&id]["name"], "Ada");
    assert!(body["success"][&id].get("x").is_none());
}

#[tokio::test]
async fn update_and_replace_a_profile_by_id() {
    let emu = emulator().await;
    let (id, _) = user(&emu, "ada@example.com").await;
    let path = format!("account/{id}");
    let patch = json!({"age": 37, "city": "London", "email": "evil@example.com", "__id__": "x"});
    let (status, body) = MASTER
        .call(&emu, Method::POST, &path, Some(&patch.to_string()))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let profile = &body["success"][&id];
    assert_eq!(profile["name"], "Ada", "merged");
    assert_eq!(profile["age"], 37);
    assert_eq!(
        profile["email"], "ada@example.com",
        "credentials are not a profile write"
    );
    assert_eq!(profile["__id__"], id.as_str());

    let (status, body) = MASTER
        .call(&emu, Method::PUT, &path, Some(r#"{"nickname": "AL"}"#))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let profile = &body["success"][&id];
    assert_eq!(profile["nickname"], "AL");
    assert!(profile.get("name").is_none(), "replaced: {profile}");
    assert_eq!(profile["email"], "ada@example.com");
    assert!(
        login(&emu, API, "ada@example.com", "abcde").await.is_some(),
        "credentials stay"
    );

    for (method, body) in [
        (Method::POST, "[1]"),
        (Method::PUT, "not json"),
        (Method::PUT, "null"),
    ] {
        let (status, _) = MASTER.call(&emu, method, &path, Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
    for method in [Method::POST, Method::PUT] {
        let (status, answer) = MASTER
            .call(&emu, method, "account/0123456789abcdef", Some("{}"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    }
}

#[tokio::test]
async fn a_password_set_by_id_ends_the_users_sessions() {
    let emu = emulator().await;
    let (id, session) = user(&emu, "ada@example.com").await;
    assert_eq!(me(&emu, API, &session).await, StatusCode::OK);
    let path = format!("account/{id}/password/change");
    let (status, body) = MASTER
        .call(
            &emu,
            Method::POST,
            &path,
            Some(r#"{"password": "a new one"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(me(&emu, API, &session).await, StatusCode::UNAUTHORIZED);
    assert!(login(&emu, API, "ada@example.com", "abcde").await.is_none());
    assert!(
        login(&emu, API, "ada@example.com", "a new one")
            .await
            .is_some()
    );

    for body in [r#"{}"#, r#"{"password": ""}"#, r#"{"password": 5}"#, "[]"] {
        let (status, _) = MASTER.call(&emu, Method::POST, &path, Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
    let (status, _) = MASTER
        .call(
            &emu,
            Method::POST,
            "account/0123456789abcdef/password/change",
            Some(r#"{"password": "whatever"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_user_deleted_by_id_is_gone_with_their_sessions() {
    let emu = emulator().await;
    let (id, session) = user(&emu, "ada@example.com").await;
    let (bob, bob_session) = user(&emu, "bob@example.com").await;
    let (status, _) = MASTER
        .call(&emu, Method::DELETE, &format!("account/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me(&emu, API, &session).await, StatusCode::UNAUTHORIZED);
    let (status, _) = API
        .call(&emu, Method::GET, &format!("account/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = MASTER
        .call(&emu, Method::DELETE, &format!("account/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "twice");
    // Bob is untouched.
    assert_eq!(me(&emu, API, &bob_session).await, StatusCode::OK);
    let (status, _) = API
        .call(&emu, Method::GET, &format!("account/{bob}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_master_key_opens_everything_the_api_key_does() {
    let emu = emulator().await;
    let (status, _) = MASTER
        .call(&emu, Method::PUT, "text", Some(r#"{"k": {"v": 1}}"#))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = API.call(&emu, Method::GET, "text?keys=k", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["success"]["k"]["v"], 1);
    // An app without a master key has no master calls.
    let plain = support::builder().app(API.0, API.1).start().await.unwrap();
    let (id, _) = user(&plain, "ada@example.com").await;
    let (status, _) = API
        .call(&plain, Method::DELETE, &format!("account/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn master_keys_are_checked_at_start() {
    for (builder, expected) in [
        (
            support::builder().app("a", "k").master_key("b", "m"),
            "not an app",
        ),
        (
            support::builder().app("a", "k").master_key("a", "k"),
            "differ from its API key",
        ),
        (
            support::builder().app("a", "k").master_key("a", ""),
            "non-empty",
        ),
    ] {
        let e = builder.start().await.unwrap_err();
        assert!(e.to_string().contains(expected), "{e}");
        assert!(!format!("{e:?}").contains("\"m\""), "{e:?}");
    }
}

#[tokio::test]
async fn the_binary_takes_master_keys_from_app_or_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("apps");
    std::fs::write(&file, "# apps\n\nfile-app:file-key:file-master\n").unwrap();
    let db = dir.path().join("db.sqlite");
    let running = Running::start(&[
        "--db",
        db.to_str().unwrap(),
        "--app",
        "app:api-key:master-key",
        "--apps-file",
        file.to_str().unwrap(),
    ]);
    let http = support::http();
    for (app, key, master) in [
        ("app", "api-key", "master-key"),
        ("file-app", "file-key", "file-master"),
    ] {
        let url = format!("{}/v1/app/{app}/account/0123/password/change", running.base);
        let body = r#"{"password": "x"}"#;
        let r = http
            .post(&url)
            .header("x-cloudmine-apikey", key)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{app}");
        let r = http
            .post(&url)
            .header("x-cloudmine-apikey", master)
            .body(body)
            .send()
            .await
            .unwrap();
        let (status, answer) = json_of(r).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{app}: {answer}");
    }
    drop(running);

    std::fs::write(&file, "good:key\nbad-line-secret\n").unwrap();
    let out = std::process::Command::new(bin())
        .args(["--listen", "127.0.0.1:0", "--db", ":memory:"])
        .args(["--apps-file", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("line 2"), "{err}");
    assert!(
        !err.contains("bad-line-secret"),
        "a key never in an error: {err}"
    );
    let out = std::process::Command::new(bin())
        .args(["--listen", "127.0.0.1:0", "--db", ":memory:"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "no app at all");
}
