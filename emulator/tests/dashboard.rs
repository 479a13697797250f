//! The dashboard over real HTTP: off by default, the open mode refused off
//! loopback, login, lockout, the cookie, CSRF, the security headers on every
//! page, escaping, editing and deleting through it as seen by the API, the
//! request log. `CLOUDMINE_TEST_DB=postgres` runs it on PostgreSQL.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cloudmine_emulator::{Emulator, EmulatorError};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use support::binary::{Running, bin};
use support::dashboard::{PASSWORD, Visitor, key_segment};
use support::user::{User, me};
use support::{App, builder, http, json_of};

const CM: App = App("dash-app", "dash-key");

async fn start() -> Emulator {
    builder()
        .app(CM.0, CM.1)
        .master_key(CM.0, "dash-master")
        .dashboard_password(PASSWORD)
        .start()
        .await
        .unwrap()
}

async fn put(emu: &Emulator, body: Value) {
    let (s, b) = CM
        .call(emu, Method::PUT, "text", Some(&body.to_string()))
        .await;
    assert!(s.is_success(), "{b}");
}

async fn value_of(emu: &Emulator, key: &str) -> Value {
    let url = format!("text?keys={}", key_segment(key));
    let (_, b) = CM.call(emu, Method::GET, &url, None).await;
    b["success"][key].clone()
}

#[tokio::test]
async fn off_by_default() {
    let emu = builder().app(CM.0, CM.1).start().await.unwrap();
    for path in ["/_dashboard", "/_dashboard/", "/_dashboard/login"] {
        let page = Visitor::new(&emu.base_url()).get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn the_open_dashboard_is_refused_off_loopback() {
    let refused = builder()
        .app(CM.0, CM.1)
        .listen("0.0.0.0:0".parse().unwrap())
        .dashboard()
        .start()
        .await;
    match refused {
        Err(EmulatorError::Config(m)) => assert!(m.contains("loopback"), "{m}"),
        other => panic!("expected a refusal, got {:?}", other.map(|e| e.base_url())),
    }
    let empty = builder()
        .app(CM.0, CM.1)
        .dashboard_password("")
        .start()
        .await;
    assert!(matches!(empty, Err(EmulatorError::Config(m)) if m.contains("empty")));
    // On loopback it is served, with no login.
    let emu = builder().app(CM.0, CM.1).dashboard().start().await.unwrap();
    let v = Visitor::new(&emu.base_url());
    let page = v.get("/_dashboard/login").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.headers.contains_key("set-cookie"));
    // With a password it may listen anywhere.
    let emu = builder()
        .app(CM.0, CM.1)
        .listen("0.0.0.0:0".parse().unwrap())
        .dashboard_password(PASSWORD)
        .start()
        .await
        .unwrap();
    emu.shutdown().await.unwrap();
}

#[test]
fn the_binary_refuses_the_open_dashboard_off_loopback() {
    let mut child = Command::new(bin())
        .args([
            "--listen",
            "0.0.0.0:0",
            "--db",
            ":memory:",
            "--app",
            "a:k",
            "--dashboard",
        ])
        .env_remove("CLOUDMINE_EMULATOR_DASHBOARD_PASSWORD")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the binary kept running with --dashboard on 0.0.0.0");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(!status.success());
    assert!(err.contains("loopback"), "{err}");
}

#[tokio::test]
async fn the_binary_takes_the_password_from_its_variable() {
    let env = [("CLOUDMINE_EMULATOR_DASHBOARD_PASSWORD", "from-the-env-1")];
    let running = Running::start_env(&["--db", ":memory:", "--app", "a:k"], &env);
    let mut v = Visitor::new(&running.base);
    assert_eq!(v.login("wrong").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        v.login("from-the-env-1").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(v.get("/_dashboard/").await.status, StatusCode::OK);
    let help = Command::new(bin())
        .arg("--help")
        .env("CLOUDMINE_EMULATOR_DASHBOARD_PASSWORD", "from-the-env-1")
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains("--dashboard-password"), "{help}");
    assert!(!help.contains("from-the-env-1"), "{help}");
}

#[tokio::test]
async fn login_sets_a_strict_cookie_and_a_wrong_password_is_refused() {
    let emu = start().await;
    let mut v = Visitor::new(&emu.base_url());
    let page = v.get("/_dashboard/").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/_dashboard/login");
    let form = v.get("/_dashboard/login").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text.contains("type=\"password\""));
    let wrong = v.login("not-it").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.text.contains("Wrong password"));
    assert!(v.cookie.is_none());
    let right = v.login(PASSWORD).await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    let cookie = right.headers["set-cookie"].to_str().unwrap().to_owned();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/_dashboard"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "{cookie}");
    let id = cookie.split(';').next().unwrap().split_once('=').unwrap().1;
    assert_eq!(id.len(), 64, "256 bits as hex");
    let front = v.get("/_dashboard/").await;
    assert_eq!(front.status, StatusCode::OK);
    assert!(front.text.contains(CM.0));
    // Logging out ends the session.
    let csrf = front.csrf();
    let out = v.post("/_dashboard/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(v.get("/_dashboard/").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_cookie_is_secure_behind_an_https_public_url() {
    let emu = builder()
        .app(CM.0, CM.1)
        .public_url("https://cm.example.com")
        .dashboard_password(PASSWORD)
        .start()
        .await
        .unwrap();
    let page = Visitor::new(&emu.base_url()).login(PASSWORD).await;
    let cookie = page.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_form() {
    let emu = start().await;
    let mut v = Visitor::new(&emu.base_url());
    for i in 1..=4 {
        assert_eq!(
            v.login("guess").await.status,
            StatusCode::UNAUTHORIZED,
            "try {i}"
        );
    }
    let fifth = v.login("guess").await;
    assert_eq!(fifth.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(fifth.text.contains("locked"), "{}", fifth.text);
    // Even the right password is refused now, and the form is disabled.
    let right = v.login(PASSWORD).await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(v.cookie.is_none());
    let form = v.get("/_dashboard/login").await;
    assert!(form.text.contains("<fieldset disabled>"), "{}", form.text);
}

#[tokio::test]
async fn api_keys_and_user_sessions_do_not_open_it() {
    let emu = start().await;
    let user = User::sign_up(&emu, CM, "keys@example.com").await;
    let v = Visitor::new(&emu.base_url());
    for headers in [
        vec![("x-cloudmine-apikey", CM.1)],
        vec![("x-cloudmine-apikey", "dash-master")],
        vec![
            ("x-cloudmine-apikey", CM.1),
            ("x-cloudmine-sessiontoken", user.token.as_str()),
        ],
        vec![("authorization", "Bearer x"), ("cookie", "cm_dashboard=00")],
    ] {
        for path in ["/_dashboard/", "/_dashboard/app/dash-app/objects"] {
            let page = v.get_with(path, &headers).await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{headers:?} {path}");
            assert_eq!(page.location(), "/_dashboard/login");
        }
    }
}

#[tokio::test]
async fn every_page_carries_the_security_headers() {
    let emu = start().await;
    put(&emu, json!({"k1": {"n": 1}})).await;
    let user = User::sign_up(&emu, CM, "h@example.com").await;
    let mut anonymous = Visitor::new(&emu.base_url());
    for path in [
        "/_dashboard/",
        "/_dashboard/login",
        "/_dashboard/static/style.css",
    ] {
        anonymous.get(path).await.assert_secure(path);
    }
    anonymous
        .login("wrong")
        .await
        .assert_secure("wrong password");
    let v = Visitor::logged_in(&emu.base_url()).await;
    let app = "/_dashboard/app/dash-app";
    let pages = [
        "/_dashboard/".to_owned(),
        "/_dashboard/activity".into(),
        "/_dashboard/nowhere".into(),
        format!("{app}/objects"),
        format!("{app}/objects?q=%5Bn%20%3D%201%5D"),
        format!("{app}/objects?q=%5Bbroken"),
        format!("{app}/objects/k1"),
        format!("{app}/objects/k1/delete"),
        format!("{app}/objects/missing"),
        format!("{app}/files"),
        format!("{app}/users"),
        format!("{app}/users/{}", user.id),
        format!("{app}/users/{}/delete", user.id),
        "/_dashboard/app/nope/objects".into(),
    ];
    for path in &pages {
        let page = v.get(path).await;
        page.assert_secure(path);
        if page.status == StatusCode::OK && !path.ends_with(".css") {
            assert!(page.text.contains("name=\"viewport\""), "{path}");
        }
    }
    let css = v.get("/_dashboard/static/style.css").await;
    assert!(
        css.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    v.post(&format!("{app}/objects/k1"), &[("json", "{}")])
        .await
        .assert_secure("CSRF refusal");
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_change_nothing() {
    let emu = start().await;
    put(&emu, json!({"kept": {"n": 1}})).await;
    let user = User::sign_up(&emu, CM, "csrf@example.com").await;
    let v = Visitor::logged_in(&emu.base_url()).await;
    let app = "/_dashboard/app/dash-app";
    let posts = [
        (format!("{app}/objects/kept"), vec![("json", "{\"n\": 2}")]),
        (format!("{app}/objects/kept/delete"), vec![]),
        (format!("{app}/users/{}/delete", user.id), vec![]),
        ("/_dashboard/logout".to_owned(), vec![]),
    ];
    for (path, fields) in &posts {
        for token in [None, Some("f".repeat(64)), Some(String::new())] {
            let mut form = fields.clone();
            if let Some(t) = &token {
                form.push(("csrf", t));
            }
            let page = v.post(path, &form).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{path} {token:?}");
            assert!(page.text.contains("CSRF"), "{}", page.text);
        }
    }
    assert_eq!(value_of(&emu, "kept").await, json!({"n": 1}));
    assert_eq!(me(&emu, CM, &user.token).await, StatusCode::OK);
    assert_eq!(
        v.get("/_dashboard/").await.status,
        StatusCode::OK,
        "still logged in"
    );
}

#[tokio::test]
async fn stored_markup_is_shown_escaped() {
    let emu = start().await;
    let evil = "<script>document.title='pwned'</script>";
    put(&emu, json!({ evil: {"v": evil} })).await;
    let upload = CM
        .request(
            &emu,
            Method::POST,
            &format!(
                "binary/evilfile?filename={}",
                key_segment(&format!("{evil}.html"))
            ),
        )
        .header("content-type", "text/html")
        .body(format!("<html>{evil}</html>"))
        .send()
        .await
        .unwrap();
    assert!(upload.status().is_success());
    let user =
        User::sign_up_with(&emu, CM, "x@example.com", "pw", Some(json!({"name": evil}))).await;
    let v = Visitor::logged_in(&emu.base_url()).await;
    let app = "/_dashboard/app/dash-app";
    let key = key_segment(evil);
    for path in [
        format!("{app}/objects"),
        format!("{app}/objects/{key}"),
        format!("{app}/objects/{key}/delete"),
        format!("{app}/files"),
        format!("{app}/users/{}", user.id),
    ] {
        let page = v.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(!page.text.contains("<script"), "{path}: {}", page.text);
        assert!(
            page.text.contains("&lt;script&gt;"),
            "{path}: {}",
            page.text
        );
    }
    // A download is an attachment, never rendered.
    let file = v.get(&format!("{app}/files/evilfile")).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.headers["content-type"], "application/octet-stream");
    assert!(
        file.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(file.text, format!("<html>{evil}</html>"));
}

#[tokio::test]
async fn an_edit_is_seen_through_the_api_and_invalid_json_is_refused() {
    let emu = start().await;
    put(
        &emu,
        json!({"doc": {"n": 1, "name": "first"}, "other": {"n": 5}}),
    )
    .await;
    let v = Visitor::logged_in(&emu.base_url()).await;
    let csrf = v.csrf().await;
    let url = "/_dashboard/app/dash-app/objects/doc";
    let saved = v
        .post(
            url,
            &[
                ("csrf", &csrf),
                ("json", "{\"n\": 2, \"name\": \"second\"}"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    assert_eq!(
        value_of(&emu, "doc").await,
        json!({"n": 2, "name": "second"})
    );
    assert!(v.get(saved.location()).await.text.contains("Saved."));
    // Invalid JSON: refused with a message, the text kept, nothing changed.
    let bad = v
        .post(url, &[("csrf", &csrf), ("json", "{\"n\": 3,")])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text.contains("not valid JSON"), "{}", bad.text);
    assert!(
        bad.text.contains("{&quot;n&quot;: 3,</textarea>"),
        "{}",
        bad.text
    );
    let inexact = v
        .post(
            url,
            &[("csrf", &csrf), ("json", "{\"n\": 18446744073709551616}")],
        )
        .await;
    assert_eq!(inexact.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        value_of(&emu, "doc").await,
        json!({"n": 2, "name": "second"})
    );
    // A search finds it by the query language; a broken query is refused.
    let found = v
        .get("/_dashboard/app/dash-app/objects?q=%5Bname%20%3D%20%22second%22%5D")
        .await;
    assert!(found.text.contains("objects/doc\""), "{}", found.text);
    assert!(!found.text.contains("objects/other\""), "{}", found.text);
    assert!(found.text.contains("1 match"), "{}", found.text);
    let broken = v.get("/_dashboard/app/dash-app/objects?q=%5Bname").await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST);
    assert!(broken.text.contains("refused"));
    // Deleting, after the confirmation page.
    let confirm = v.get(&format!("{url}/delete")).await;
    assert!(confirm.text.contains("cannot be undone"));
    let gone = v.post(&format!("{url}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert_eq!(value_of(&emu, "doc").await, Value::Null);
    assert_eq!(value_of(&emu, "other").await, json!({"n": 5}));
}

#[tokio::test]
async fn deleting_a_user_ends_their_sessions() {
    let emu = start().await;
    let user = User::sign_up(&emu, CM, "gone@example.com").await;
    let stays = User::sign_up(&emu, CM, "stays@example.com").await;
    assert_eq!(me(&emu, CM, &user.token).await, StatusCode::OK);
    let v = Visitor::logged_in(&emu.base_url()).await;
    let list = v.get("/_dashboard/app/dash-app/users").await;
    assert!(list.text.contains("gone@example.com"));
    let path = format!("/_dashboard/app/dash-app/users/{}/delete", user.id);
    let done = v.post(&path, &[("csrf", &v.csrf().await)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(me(&emu, CM, &user.token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&emu, CM, &stays.token).await, StatusCode::OK);
    let missing = v
        .get(&format!("/_dashboard/app/dash-app/users/{}", user.id))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_request_log_and_chart_show_the_api_traffic_without_secrets() {
    let emu = start().await;
    put(&emu, json!({"a": 1})).await;
    let (s, _) = json_of(
        http()
            .post(CM.url(
                &emu,
                "account/password/reset/secret-reset-token?x=secret-query",
            ))
            .header("x-cloudmine-apikey", CM.1)
            .body("{\"password\": \"new-password\"}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(s.is_client_error());
    let v = Visitor::logged_in(&emu.base_url()).await;
    let page = v.get("/_dashboard/activity").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("/v1/app/dash-app/text"), "{}", page.text);
    assert!(
        page.text.contains("/password/reset/[redacted]"),
        "{}",
        page.text
    );
    for secret in ["secret-reset-token", "secret-query", CM.1, "new-password"] {
        assert!(!page.text.contains(secret), "{secret} in {}", page.text);
    }
    assert!(page.text.contains("<svg class=\"chart\""));
    assert!(
        page.text.contains("<rect class=\"bar\""),
        "a bar for the traffic"
    );
    assert!(
        !page.text.contains("/_dashboard/login</code>"),
        "dashboard pages are not logged"
    );
}

#[tokio::test]
async fn one_session_can_be_ended_from_the_users_page() {
    let emu = start().await;
    let user = User::sign_up(&emu, CM, "two@example.com").await;
    let second = support::user::login_ok(&emu, CM, "two@example.com", "pw").await;
    let other = User::sign_up(&emu, CM, "other@example.com").await;
    let v = Visitor::logged_in(&emu.base_url()).await;
    let page = v
        .get(&format!("/_dashboard/app/dash-app/users/{}", user.id))
        .await;
    assert_eq!(page.text.matches("End session").count(), 2, "{}", page.text);
    assert!(!page.text.contains(&user.token), "never the token itself");
    let url = format!("/_dashboard/app/dash-app/users/{}/end-session", user.id);
    let first_sha = support::sha256_hex(user.token.as_bytes());
    let csrf = v.csrf().await;
    // Without the token: refused, both sessions live.
    let refused = v.post(&url, &[("session", &first_sha)]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(me(&emu, CM, &user.token).await, StatusCode::OK);
    // Another user's session, or none: 404, nothing ended.
    let others = support::sha256_hex(other.token.as_bytes());
    for wrong in [others.as_str(), "0000", ""] {
        let page = v.post(&url, &[("csrf", &csrf), ("session", wrong)]).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{wrong}");
    }
    assert_eq!(me(&emu, CM, &other.token).await, StatusCode::OK);
    let ended = v
        .post(&url, &[("csrf", &csrf), ("session", &first_sha)])
        .await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER);
    assert_eq!(me(&emu, CM, &user.token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&emu, CM, &second).await, StatusCode::OK);
    let page = v
        .get(&format!("/_dashboard/app/dash-app/users/{}", user.id))
        .await;
    assert_eq!(page.text.matches("End session").count(), 1);
}
