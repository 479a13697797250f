//! Social graph queries over real HTTP: users sign in through the built-in
//! provider, then `user/social/{network}/{endpoint}` reaches the network's
//! API (the built-in `/idp/api`, or a stub listener standing in for one)
//! with the kept provider token, which never comes back to the caller.

use std::time::Duration;

use cloudmine_emulator::Emulator;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

mod support;
use support::social::{consent, query};
use support::stub::{Seen, bearer, raw_stub};
use support::user::User;
use support::{App, challenge, http, json_of, location, message};

const APP: &str = "app";
const KEY: &str = "social-query-key";
const CM: App = App(APP, KEY);
const OTHER: App = App("other", "other-key");
const MASTER: &str = "social-query-master";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// Signs in at `network` as `email` through the consent page; returns the
/// user id and session token.
async fn sign_in(emu: &Emulator, app: App, n: u32, network: &str, email: &str) -> (String, String) {
    let c = challenge(n);
    let authorize = location(&app.start_url(emu, &c, network, Some(REDIRECT), &[])).await;
    let callback = consent(emu, network, &authorize, &[("email", email)]).await;
    assert!(location(&callback).await.starts_with(REDIRECT));
    let (s, body) = app.status(emu, &c, None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    (
        body["profile"]["__id__"].as_str().unwrap().to_owned(),
        body["session_token"].as_str().unwrap().to_owned(),
    )
}

/// A GET social query without extras: its status and JSON body.
async fn get(emu: &Emulator, app: App, session: &str, path: &str) -> (StatusCode, Value) {
    json_of(
        query(emu, app, session, Method::GET, path, &[])
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// How the stub network API answers.
#[derive(Clone, Copy)]
enum Stub {
    /// 200 `{"ok":true}` with headers that must not pass back.
    Ok,
    /// `n` bytes, with or without a `Content-Length`.
    Big(usize, bool),
    /// Never answers.
    Silent,
}

impl Stub {
    /// The raw answer, or `None` for no answer.
    fn answer(self) -> Option<String> {
        match self {
            Stub::Silent => None,
            Stub::Ok => Some(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                 x-stub-secret: leak\r\nset-cookie: s=1\r\nserver: stub\r\n\
                 content-length: 11\r\nconnection: close\r\n\r\n{\"ok\":true}"
                    .to_owned(),
            ),
            Stub::Big(size, with_length) => {
                let length = if with_length {
                    format!("content-length: {size}\r\n")
                } else {
                    String::new()
                };
                Some(format!(
                    "HTTP/1.1 200 OK\r\n{length}connection: close\r\n\r\n{}",
                    "x".repeat(size)
                ))
            }
        }
    }
}

/// A stub network API on loopback; returns its root and the request heads
/// it received.
async fn stub(mode: Stub) -> (String, Seen) {
    raw_stub(move || mode.answer()).await
}

async fn emulator(
    configure: impl FnOnce(cloudmine_emulator::EmulatorBuilder) -> cloudmine_emulator::EmulatorBuilder,
) -> Emulator {
    configure(
        support::builder()
            .app(APP, KEY)
            .app(OTHER.0, OTHER.1)
            .master_key(APP, MASTER)
            .test_idp(true),
    )
    .start()
    .await
    .unwrap()
}

#[tokio::test]
async fn me_and_echo_through_the_built_in_provider() {
    let emu = emulator(|b| b).await;
    let (_, session) = sign_in(&emu, CM, 1, "github", "ada@example.com").await;
    let (s, me) = get(&emu, CM, &session, "github/me").await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(me["network"], "github");
    let (s, friends) = get(&emu, CM, &session, "GitHub/friends").await;
    assert_eq!((s, friends), (StatusCode::OK, json!({"friends": []})));

    for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE] {
        let r = query(
            &emu,
            CM,
            &session,
            method.clone(),
            "github/echo",
            &[
                ("params", r#"{"q":"a b","n":3}"#),
                (
                    "headers",
                    r#"{"X-Custom":"yes","Authorization":"Bearer mine","Host":"evil.example","Cookie":"c=1"}"#,
                ),
            ],
        )
        .header("content-type", "application/octet-stream")
        .header("cookie", "outer=1")
        .body("name=TestList&mode=public")
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "application/json");
        let echo: Value = r.json().await.unwrap();
        assert_eq!(echo["method"], method.as_str());
        assert_eq!(echo["query"], json!([["q", "a b"], ["n", "3"]]));
        assert_eq!(echo["body"], "name=TestList&mode=public");
        let h = &echo["headers"];
        assert_eq!(h["x-custom"], "yes");
        assert_eq!(h["content-type"], "application/octet-stream");
        assert!(h.get("authorization").is_none(), "echo hides it: {h}");
        assert!(h.get("cookie").is_none(), "{h}");
        assert!(h.get("x-cloudmine-sessiontoken").is_none(), "{h}");
        assert_ne!(h["host"], "evil.example");
    }

    // The caller's Content-Type is overridden by one in `headers`.
    let r = query(
        &emu,
        CM,
        &session,
        Method::POST,
        "github/echo",
        &[(
            "headers",
            r#"{"Content-Type":"application/x-www-form-urlencoded"}"#,
        )],
    )
    .header("content-type", "application/octet-stream")
    .body("status=Posting.")
    .send()
    .await
    .unwrap();
    let echo: Value = r.json().await.unwrap();
    assert_eq!(
        echo["headers"]["content-type"],
        "application/x-www-form-urlencoded"
    );
}

#[tokio::test]
async fn the_network_status_and_body_pass_back_as_they_are() {
    let emu = emulator(|b| b).await;
    let (_, session) = sign_in(&emu, CM, 1, "github", "ada@example.com").await;
    let (s, echo) = json_of(
        query(
            &emu,
            CM,
            &session,
            Method::GET,
            "github/echo",
            &[("params", r#"{"status":418}"#)],
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::IM_A_TEAPOT);
    assert_eq!(echo["method"], "GET");
    // An endpoint the provider lacks: its 404, not the emulator's.
    let r = query(&emu, CM, &session, Method::GET, "github/nothing/here", &[])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_token_goes_to_the_network_only_and_its_headers_stay_there() {
    let (root, seen) = stub(Stub::Ok).await;
    let emu = emulator(|b| b.test_idp_api_base("stubnet", &root)).await;
    let (_, session) = sign_in(&emu, CM, 1, "stubnet", "ada@example.com").await;
    let r = query(
        &emu,
        CM,
        &session,
        Method::POST,
        "stubnet/statuses/update.json",
        &[("params", r#"{"trim_user":true}"#)],
    )
    .body("status=hello")
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.headers()["content-length"], "11");
    for hidden in ["x-stub-secret", "set-cookie"] {
        assert!(r.headers().get(hidden).is_none(), "{hidden} passed back");
    }
    assert_ne!(
        r.headers().get("server").map(|v| v.to_str().unwrap()),
        Some("stub")
    );
    let answer = r.text().await.unwrap();
    assert_eq!(answer, "{\"ok\":true}");

    let head = seen.lock().unwrap()[0].clone();
    assert!(
        head.starts_with("POST /api/statuses/update.json?trim_user=true HTTP/1.1\r\n"),
        "{head}"
    );
    let token = bearer(&head);
    assert_eq!(token.len(), 64);
    assert!(head.ends_with("status=hello"), "{head}");
    // Nothing the caller sees holds the token: the answer, or any refusal.
    assert!(!answer.contains(&token));
    for path in ["stubnet/..", "nosuch/x", "stubnet/a%40b"] {
        let r = query(&emu, CM, &session, Method::GET, path, &[])
            .send()
            .await
            .unwrap();
        let text = format!("{:?} {}", r.headers().clone(), r.text().await.unwrap());
        assert!(!text.contains(&token), "{text}");
    }
}

/// Sends a request with a raw, unnormalised path; returns the status and
/// the body.
async fn raw(emu: &Emulator, session: &str, path: &str) -> (u16, String) {
    let mut conn = TcpStream::connect(emu.local_addr()).await.unwrap();
    let request = format!(
        "GET /v1/app/{APP}/user/social/{path} HTTP/1.1\r\nhost: 127.0.0.1\r\n\
         x-cloudmine-apikey: {KEY}\r\nx-cloudmine-sessiontoken: {session}\r\n\
         connection: close\r\n\r\n"
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await.unwrap();
    let status = answer[9..12].parse().unwrap();
    (status, answer)
}

#[tokio::test]
async fn endpoints_cannot_leave_the_api_base() {
    let (root, seen) = stub(Stub::Ok).await;
    let emu = emulator(|b| b.test_idp_api_base("stubnet", &root)).await;
    let (_, session) = sign_in(&emu, CM, 1, "stubnet", "ada@example.com").await;
    for path in [
        "stubnet/../../idp/userinfo",
        "stubnet/%2e%2e/x",
        "stubnet/.%2E/x",
        "stubnet/a/%2F%2Fevil.example/x",
        "stubnet//evil.example/x",
        "stubnet/http://evil.example/x",
        "stubnet/x@evil.example",
        "stubnet/%252e%252e/x",
        "stubnet/a%5C..%5Cb",
        "stubnet/./x",
    ] {
        let (status, answer) = raw(&emu, &session, path).await;
        assert_eq!(status, 400, "{path}: {answer}");
        assert!(answer.contains("path under the network's API"), "{answer}");
    }
    assert!(seen.lock().unwrap().is_empty(), "nothing reached the stub");
    let (status, _) = raw(&emu, &session, "stubnet/fine/path.json").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn refusals_are_distinct() {
    let emu = emulator(|b| {
        b.social_networks(OTHER.0, ["github"]).provider(
            "corp",
            cloudmine_emulator::ProviderConfig {
                authorize_url: "http://127.0.0.1:9/authorize".into(),
                token_url: "http://127.0.0.1:9/token".into(),
                userinfo_url: "http://127.0.0.1:9/me".into(),
                client_id: "c".into(),
                client_secret: "s".into(),
                api_base: None,
            },
        )
    })
    .await;
    let (_, session) = sign_in(&emu, CM, 1, "github", "ada@example.com").await;
    let (_, other_session) = sign_in(&emu, OTHER, 2, "github", "ada@example.com").await;
    let send = |app: App, session: &str, path: &str, extra: &[(&str, &str)]| {
        let req = query(&emu, app, session, Method::GET, path, extra);
        async move { json_of(req.send().await.unwrap()).await }
    };

    let (s, body) = send(CM, "", "github/me", &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "no session: {body}");
    let (s, body) = send(CM, &"0".repeat(64), "github/me", &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "unknown session: {body}");
    let (s, body) = send(CM, &session, "twitter/me", &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(message(&body).contains("no twitter access token"), "{body}");
    let (s, body) = send(OTHER, &other_session, "twitter/me", &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(message(&body).contains("twitter is not enabled"), "{body}");
    let (s, body) = send(CM, &session, "corp/me", &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(message(&body).contains("corp has no API"), "{body}");
    for (name, bad) in [
        ("headers", "not json"),
        ("headers", "[1]"),
        ("headers", r#"{"X":{"nested":1}}"#),
        ("headers", r#"{"bad name":"x"}"#),
        ("params", "{"),
        ("params", "\"text\""),
    ] {
        let (s, body) = send(CM, &session, "github/me", &[(name, bad)]).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{name}={bad}: {body}");
        assert!(message(&body).contains(name) || message(&body).contains("header"));
    }
    // A session of one app is nothing in another.
    let (s, _) = send(OTHER, &session, "github/me", &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // A user who never signed in socially (or before tokens were kept).
    let pw_session = User::sign_up(&emu, CM, "pw@example.com").await.token;
    let (s, body) = send(CM, &pw_session, "github/me", &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(message(&body).contains("no github access token"), "{body}");

    // Without --test-idp a network with no provider is unknown.
    let plain = support::builder().app(APP, KEY).start().await.unwrap();
    let pw_session = User::sign_up(&plain, CM, "pw@example.com").await.token;
    let (s, body) = get(&plain, CM, &pw_session, "github/me").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(message(&body).contains("unknown network github"), "{body}");
}

#[tokio::test]
async fn users_and_apps_use_their_own_tokens_only() {
    let emu = emulator(|b| b).await;
    let (_, ada) = sign_in(&emu, CM, 1, "github", "ada@example.com").await;
    let (_, bob) = sign_in(&emu, CM, 2, "github", "bob@example.com").await;
    let (_, carol) = sign_in(&emu, OTHER, 3, "github", "carol@example.com").await;
    for (app, session, email) in [
        (CM, &ada, "ada@example.com"),
        (CM, &bob, "bob@example.com"),
        (OTHER, &carol, "carol@example.com"),
    ] {
        let (s, me) = get(&emu, app, session, "github/me").await;
        assert_eq!((s, me["email"].as_str()), (StatusCode::OK, Some(email)));
    }
    let (_, bob_twitter) = sign_in(&emu, CM, 4, "twitter", "bob.t@example.com").await;
    let (s, body) = get(&emu, CM, &bob_twitter, "github/me").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
}

#[tokio::test]
async fn deleting_the_user_ends_the_queries() {
    let emu = emulator(|b| b).await;
    let (id, session) = sign_in(&emu, CM, 1, "github", "ada@example.com").await;
    let r = http()
        .delete(CM.url(&emu, &format!("account/{id}")))
        .header("x-cloudmine-apikey", MASTER)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (s, _) = get(&emu, CM, &session, "github/me").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_unreachable_network_is_a_502() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}/api", closed.local_addr().unwrap());
    drop(closed);
    let emu = emulator(|b| b.test_idp_api_base("down", &root)).await;
    let (_, session) = sign_in(&emu, CM, 1, "down", "ada@example.com").await;
    let (s, body) = get(&emu, CM, &session, "down/me").await;
    assert_eq!(s, StatusCode::BAD_GATEWAY);
    assert_eq!(message(&body), "the down API could not be reached");
}

#[tokio::test]
async fn a_silent_network_is_a_504() {
    let (root, _) = stub(Stub::Silent).await;
    let emu = emulator(|b| {
        b.test_idp_api_base("slow", &root)
            .social_query_timeout(Duration::from_millis(200))
    })
    .await;
    let (_, session) = sign_in(&emu, CM, 1, "slow", "ada@example.com").await;
    let (s, body) = get(&emu, CM, &session, "slow/me").await;
    assert_eq!(s, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(message(&body), "the slow API did not answer in time");
}

#[tokio::test]
async fn a_huge_answer_is_cut_off() {
    for with_length in [true, false] {
        let (root, _) = stub(Stub::Big(300_000, with_length)).await;
        let emu = emulator(|b| {
            b.test_idp_api_base("big", &root)
                .social_query_max_bytes(100_000)
        })
        .await;
        let (_, session) = sign_in(&emu, CM, 1, "big", "ada@example.com").await;
        let (s, body) = get(&emu, CM, &session, "big/everything").await;
        assert_eq!(s, StatusCode::BAD_GATEWAY, "{with_length}");
        assert_eq!(
            message(&body),
            "the big API's answer is larger than 100000 bytes"
        );
    }
    // Within the cap, it passes whole.
    let (root, _) = stub(Stub::Big(50_000, false)).await;
    let emu = emulator(|b| {
        b.test_idp_api_base("big", &root)
            .social_query_max_bytes(100_000)
    })
    .await;
    let (_, session) = sign_in(&emu, CM, 1, "big", "ada@example.com").await;
    let r = query(&emu, CM, &session, Method::GET, "big/x", &[])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().len(), 50_000);
}

#[tokio::test]
async fn a_network_named_api_still_signs_in_and_queries() {
    let emu = emulator(|b| b).await;
    let (_, session) = sign_in(&emu, CM, 1, "api", "ada@example.com").await;
    let (s, me) = get(&emu, CM, &session, "api/me").await;
    assert_eq!((s, me["network"].as_str()), (StatusCode::OK, Some("api")));
}

#[tokio::test]
async fn the_built_in_api_wants_its_bearer_token() {
    let emu = emulator(|b| b).await;
    for (method, path) in [
        (Method::GET, "me"),
        (Method::GET, "friends"),
        (Method::POST, "echo"),
    ] {
        let url = format!("{}/idp/api/{path}", emu.base_url());
        let (s, body) = json_of(http().request(method.clone(), &url).send().await.unwrap()).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(body["error"], "invalid_token");
        let r = http()
            .request(method, &url)
            .bearer_auth("f".repeat(64))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    // Not served without the test provider.
    let plain = support::builder().app(APP, KEY).start().await.unwrap();
    let r = http()
        .get(format!("{}/idp/api/me", plain.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
