//! Attacks from outside that must do no harm.

use cloudmine_emulator::Emulator;
use reqwest::{Method, StatusCode};

mod support;
use support::user::{User, login_ok, me};
use support::{App, http};

const APP: App = App("app", "key");

/// The outbox holds password-reset tokens: with only the API key (which
/// ships in every client), anyone could reset any user's password. It is
/// served over HTTP only when test hooks are turned on.
#[tokio::test]
async fn outbox_is_not_served_unless_test_hooks_are_on() {
    let emu = support::builder().app(APP.0, APP.1).start().await.unwrap();
    let created = APP
        .request(&emu, Method::POST, "account/create")
        .json(&serde_json::json!({"credentials": {"email": "a@example.com", "password": "a long password"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let reset = APP
        .request(&emu, Method::POST, "account/password/reset")
        .json(&serde_json::json!({"email": "a@example.com"}))
        .send()
        .await
        .unwrap();
    assert!(reset.status().is_success());
    assert_eq!(emu.outbox().await.unwrap().len(), 1);
    for path in [
        "/_emulator/app/outbox",
        "/%5Femulator/app/outbox",
        "/_emulator/app/outbox/",
    ] {
        let r = http()
            .get(format!("{}{path}", emu.base_url()))
            .header("x-cloudmine-apikey", APP.1)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        let body = r.text().await.unwrap();
        assert!(
            !body.contains(&emu.outbox().await.unwrap()[0].token),
            "{path}"
        );
    }

    let on = support::builder()
        .app(APP.0, APP.1)
        .test_hooks(true)
        .start()
        .await
        .unwrap();
    let r = http()
        .get(format!("{}/_emulator/app/outbox", on.base_url()))
        .header("x-cloudmine-apikey", APP.1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// The database (password and session hashes, every app's data) and the
/// uploaded files are readable by this user only.
#[cfg(unix)]
#[tokio::test]
async fn database_and_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data.sqlite");
    let emu = Emulator::builder()
        .app(APP.0, APP.1)
        .database(&db)
        .start()
        .await
        .unwrap();
    let r = APP
        .request(&emu, Method::PUT, "binary/f?filename=f.txt")
        .body("contents")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(&dir.path().join("data.sqlite-wal")), 0o600);
    let files = dir.path().join("data.sqlite-files");
    for d in [files.clone(), files.join("tmp"), files.join("blobs")] {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
    }
    emu.shutdown().await.unwrap();
}

/// Item 7: only the outbox is a test hook over HTTP, and only with
/// `--test-hooks`; faults, delays and the recorded requests are reachable
/// in-process only, whatever the setting.
#[tokio::test]
async fn no_other_test_hook_is_served_over_http() {
    for hooks in [false, true] {
        let emu = support::builder()
            .app(APP.0, APP.1)
            .test_hooks(hooks)
            .start()
            .await
            .unwrap();
        for (method, path) in [
            (Method::POST, "/_emulator/app/faults"),
            (Method::POST, "/_emulator/app/fault"),
            (Method::POST, "/_emulator/app/delay"),
            (Method::GET, "/_emulator/app/requests"),
            (Method::GET, "/_emulator/requests"),
        ] {
            let r = http()
                .request(method, format!("{}{path}", emu.base_url()))
                .header("x-cloudmine-apikey", APP.1)
                .body(r#"{"status": 500}"#)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}, hooks {hooks}");
        }
        // Nothing above became a fault or a delay.
        let (status, _) = APP.call(&emu, Method::GET, "text", None).await;
        assert_eq!(status, StatusCode::OK);
    }
}

async fn create_and_login(emu: &Emulator, email: &str, password: &str) -> String {
    User::sign_up_with(emu, APP, email, password, None)
        .await
        .token
}

/// Item 12: a session taken with the old password (by a thief, say) no
/// longer works once the password is changed or reset: every session of
/// the user ends, the one of the device that made the change too (the
/// change is authenticated by the password, not by a session).
#[tokio::test]
async fn a_password_change_or_reset_ends_every_session() {
    let emu = support::builder().app(APP.0, APP.1).start().await.unwrap();
    let old = "the first password";
    let stolen = create_and_login(&emu, "v@example.com", old).await;
    let own = login_ok(&emu, APP, "v@example.com", old).await;
    let other = create_and_login(&emu, "w@example.com", old).await;
    assert_eq!(me(&emu, APP, &stolen).await, StatusCode::OK);
    let change = serde_json::json!({"email": "v@example.com", "password": old,
        "credentials": {"password": "the second password"}});
    let (status, _) = APP
        .call(
            &emu,
            Method::POST,
            "account/password/change",
            Some(&change.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me(&emu, APP, &stolen).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&emu, APP, &own).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        me(&emu, APP, &other).await,
        StatusCode::OK,
        "other users keep theirs"
    );

    let stolen = login_ok(&emu, APP, "v@example.com", "the second password").await;
    let (status, _) = APP
        .call(
            &emu,
            Method::POST,
            "account/password/reset",
            Some(r#"{"email": "v@example.com"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let token = emu.outbox().await.unwrap().pop().unwrap().token;
    let (status, _) = APP
        .call(
            &emu,
            Method::POST,
            &format!("account/password/reset/{token}"),
            Some(r#"{"password": "the third password"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me(&emu, APP, &stolen).await, StatusCode::UNAUTHORIZED);
    login_ok(&emu, APP, "v@example.com", "the third password").await;
}

/// Item 14: the email of one user with the username of another used to act
/// on whichever row came first; now it is refused, whichever password.
#[tokio::test]
async fn credentials_naming_two_users_are_refused() {
    let emu = support::builder().app(APP.0, APP.1).start().await.unwrap();
    for (email, username) in [("a@example.com", "alice"), ("b@example.com", "bob")] {
        let body = serde_json::json!({"credentials": {
            "email": email, "username": username, "password": format!("{username} password")}});
        let (status, _) = APP
            .call(
                &emu,
                Method::POST,
                "account/create",
                Some(&body.to_string()),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    for password in ["alice password", "bob password"] {
        let body =
            serde_json::json!({"email": "a@example.com", "username": "bob", "password": password});
        let (status, json) = APP
            .call(&emu, Method::POST, "account/login", Some(&body.to_string()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
        assert!(
            support::message(&json).contains("different users"),
            "{json}"
        );
    }
    let body = r#"{"email": "a@example.com", "username": "alice", "password": "alice password"}"#;
    let (status, _) = APP
        .call(&emu, Method::POST, "account/login", Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "both naming one user is fine");
}

/// Item 14: `%FF` and `%FE` used to decode to the same key (U+FFFD).
#[tokio::test]
async fn a_path_that_is_not_utf8_is_refused() {
    let emu = support::builder().app(APP.0, APP.1).start().await.unwrap();
    let (status, json) = APP
        .call(&emu, Method::PUT, "binary/%FF", Some("first"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
    assert!(support::message(&json).contains("UTF-8"), "{json}");
    let (status, _) = APP.call(&emu, Method::GET, "binary/%FE", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = APP
        .call(&emu, Method::PUT, "binary/%C3%A9", Some("ok"))
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "valid UTF-8 escapes still work"
    );
}

/// Item 14: `PUT binary/` made a file with an empty key, and a key with a
/// comma could be written but never named in `?keys=`.
#[tokio::test]
async fn empty_keys_and_keys_with_commas_are_refused() {
    let emu = support::builder().app(APP.0, APP.1).start().await.unwrap();
    for path in ["binary/", "binary/a,b", "binary/a%2Cb", "user/binary/"] {
        let (status, json) = APP.call(&emu, Method::PUT, path, Some("data")).await;
        let expected = if path.starts_with("user/") {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        assert_eq!(status, expected, "{path}: {json}");
    }
    let (status, json) = APP
        .call(&emu, Method::PUT, "text", Some(r#"{"a,b": 1}"#))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
    assert!(support::message(&json).contains("comma"), "{json}");
    let (status, json) = APP.call(&emu, Method::GET, "text", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["success"], serde_json::json!({}), "nothing was stored");
}

/// Item 14: a multipart upload without a boundary was stored raw.
#[tokio::test]
async fn multipart_without_a_boundary_is_refused() {
    let emu = support::builder().app(APP.0, APP.1).start().await.unwrap();
    let r = APP
        .request(&emu, Method::PUT, "binary/f")
        .header("content-type", "multipart/form-data")
        .body("--x\r\n\r\nhello\r\n--x--\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let (status, _) = APP.call(&emu, Method::GET, "binary/f", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing stored");
}

/// Item 14: a body cut short, or with bad chunk framing, got 413 as if it
/// were too large; it is a bad request.
#[tokio::test]
async fn a_cut_short_or_badly_chunked_body_is_400() {
    use std::io::{Read, Write};
    let emu = support::builder().app(APP.0, APP.1).start().await.unwrap();
    let addr = emu.local_addr();
    let head = "PUT /v1/app/app/text HTTP/1.1\r\nHost: x\r\nX-CloudMine-ApiKey: key\r\n";
    let cases = [
        format!("{head}Content-Length: 100\r\n\r\n{{\"a\": 1"),
        format!("{head}Transfer-Encoding: chunked\r\n\r\nZZ\r\n{{\"a\": 1}}\r\n0\r\n\r\n"),
    ];
    for request in cases {
        let answer = tokio::task::spawn_blocking(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
                .unwrap();
            s.write_all(request.as_bytes()).unwrap();
            s.shutdown(std::net::Shutdown::Write).unwrap();
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            out
        })
        .await
        .unwrap();
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    }
}

/// Item 14: integers beyond 64 bits became the nearest double and `-0`
/// became `0`: stored silently, not as sent. They are refused now, with a
/// message saying to send them as strings; 64-bit extremes are kept exactly.
#[tokio::test]
async fn integers_that_cannot_be_kept_exactly_are_refused() {
    let emu = support::builder().app(APP.0, APP.1).start().await.unwrap();
    for body in [
        r#"{"big": 18446744073709551616}"#,
        r#"{"neg": {"n": -9223372036854775809}}"#,
        r#"{"zero": -0}"#,
    ] {
        for method in [Method::PUT, Method::POST] {
            let (status, json) = APP.call(&emu, method, "text", Some(body)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {json}");
            assert!(support::message(&json).contains("as a string"), "{json}");
        }
    }
    let exact = r#"{"max": 18446744073709551615, "min": -9223372036854775808}"#;
    let (status, _) = APP.call(&emu, Method::PUT, "text", Some(exact)).await;
    assert_eq!(status, StatusCode::CREATED);
    let r = APP
        .request(&emu, Method::GET, "text?keys=max,min")
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(text.contains("18446744073709551615"), "{text}");
    assert!(text.contains("-9223372036854775808"), "{text}");
}

/// An email with spaces or control characters around it was a different
/// email: `" ada@example.com"` made a second user next to
/// `ada@example.com` (and a social login as `ada@example.com` a third,
/// since identities are trimmed). Refused with 400, on create and on a
/// change of credentials.
#[tokio::test]
async fn an_email_with_blanks_is_not_a_second_email() {
    let emu = support::builder().app(APP.0, APP.1).start().await.unwrap();
    let create = |email: &str| {
        APP.request(&emu, Method::POST, "account/create")
            .json(&serde_json::json!({"credentials": {"email": email, "password": "a long password"}}))
            .send()
    };
    assert_eq!(
        create("ada@example.com").await.unwrap().status(),
        StatusCode::CREATED
    );
    for email in [
        " ada@example.com",
        "ada@example.com\t",
        "ada@example.com\n",
        "ada @example.com",
    ] {
        let status = create(email).await.unwrap().status();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{email:?}");
    }
    let change = APP
        .request(&emu, Method::POST, "account/credentials")
        .json(&serde_json::json!({
            "email": "ada@example.com",
            "password": "a long password",
            "credentials": {"email": "ada@example.org "}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(change.status(), StatusCode::BAD_REQUEST);
}
