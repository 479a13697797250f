//! The BaasBox front end with a plain HTTP client: every route's success and
//! each error status, tokens from the built-in identity provider.

use base64::Engine as _;
use cloudmine_emulator::Emulator;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

mod support;
use sha2::{Digest, Sha256};
use support::{http, sha256_hex};

const APP_CODE: &str = "1234567890";

/// The BaasBox front end with its default (long) session lifetime.
async fn emulator() -> Emulator {
    support::builder()
        .app("cm-app", "cm-key")
        .baasbox(APP_CODE)
        .start()
        .await
        .unwrap()
}

struct Bb<'a> {
    emu: &'a Emulator,
}

impl Bb<'_> {
    fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        http()
            .request(method, format!("{}/baasbox{path}", self.emu.base_url()))
            .header("X-BAASBOX-APPCODE", APP_CODE)
    }

    async fn send(rb: reqwest::RequestBuilder) -> (StatusCode, Option<String>, Value) {
        let resp = rb.send().await.unwrap();
        let status = resp.status();
        let session = resp
            .headers()
            .get("x-bb-session")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, session, resp.json().await.unwrap_or(Value::Null))
    }

    async fn signup(&self, user: &str) -> String {
        let (s, session, b) = Self::send(
            self.req(Method::POST, "/user")
                .json(&json!({"username": user, "password": "long enough password"})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        session.unwrap()
    }
}

fn tokens(token: &str) -> Value {
    json!({"oauth_token": token, "oauth_secret": token})
}

#[tokio::test]
async fn app_code_is_required_and_checked() {
    let emu = emulator().await;
    let url = format!("{}/baasbox/login", emu.base_url());
    let body = json!({"username": "u", "password": "p"});
    let (s, _, b) = Bb::send(http().post(&url).json(&body)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["result"], "error");
    assert_eq!(b["http_code"], 400);
    assert_eq!(b["resource"], "/login");
    assert_eq!(b["method"], "POST");
    let (s, _, b) = Bb::send(
        http()
            .post(&url)
            .header("X-BAASBOX-APPCODE", "wrong")
            .json(&body),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    // The echoed request headers never show the app code or a session.
    assert_eq!(b["request_header"]["x-baasbox-appcode"], "[redacted]");
    // The query parameter works too.
    let (s, _, _) = Bb::send(http().post(format!("{url}?appcode={APP_CODE}")).json(&body)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "right app code, unknown user");
}

#[tokio::test]
async fn password_login_me_and_logout() {
    let emu = emulator().await;
    let bb = Bb { emu: &emu };
    let first = bb.signup("ada").await;
    let (s, _, b) = Bb::send(
        bb.req(Method::POST, "/user")
            .json(&json!({"username": "ada", "password": "long enough password"})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");

    let login = |password: &'static str| {
        bb.req(Method::POST, "/login")
            .json(&json!({"username": "ada", "password": password}))
    };
    let (s, session, b) = Bb::send(login("long enough password")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let session = session.unwrap();
    assert_ne!(session, first);
    assert_eq!(b["result"], "ok");
    assert_eq!(b["data"]["X-BB-SESSION"], session.as_str());
    assert_eq!(b["data"]["user"]["name"], "ada");
    assert_eq!(b["data"]["user"]["roles"][0]["name"], "registered");
    let (s, _, _) = Bb::send(login("wrong password!")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, b) = Bb::send(
        bb.req(Method::POST, "/login")
            .json(&json!({"username": "ada"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    // A form body works as in BaasBox.
    let (s, _, _) = Bb::send(bb.req(Method::POST, "/login").form(&[
        ("username", "ada"),
        ("password", "long enough password"),
        ("appcode", APP_CODE),
    ]))
    .await;
    assert_eq!(s, StatusCode::OK);

    let (s, _, b) = Bb::send(bb.req(Method::GET, "/me").header("X-BB-SESSION", &session)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["data"]["user"]["name"], "ada");
    assert_eq!(b["data"]["generated_username"], false);
    // HTTP Basic with the app code also authenticates.
    let basic = base64::engine::general_purpose::STANDARD.encode("ada:long enough password");
    let (s, _, _) = Bb::send(
        bb.req(Method::GET, "/me")
            .header("authorization", format!("Basic {basic}")),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = Bb::send(bb.req(Method::GET, "/me")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, b) = Bb::send(bb.req(Method::GET, "/me").header("X-BB-SESSION", "nope")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(b["bb_code"], "40101");

    let (s, _, b) = Bb::send(
        bb.req(Method::POST, "/logout")
            .header("X-BB-SESSION", &session),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["data"], "user logged out");
    let (s, _, _) = Bb::send(bb.req(Method::GET, "/me").header("X-BB-SESSION", &session)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn social_login_link_list_unlink() {
    let emu = emulator().await;
    let bb = Bb { emu: &emu };

    // Login with a token: a new user with a generated name, then the same
    // user with a new session.
    let token = emu
        .provider_token("google", "Test Person", "grace@example.com")
        .await
        .unwrap();
    let (s, first, b) =
        Bb::send(bb.req(Method::POST, "/social/google").json(&tokens(&token))).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let user = b["data"]["user"]["name"].as_str().unwrap().to_owned();
    assert_eq!(user.len(), 36, "a UUID-shaped name: {user}");
    assert_eq!(b["data"]["generated_username"], true);
    let provider_id = &sha256_hex(b"grace@example.com")[..16];
    assert_eq!(
        b["data"]["visibleByRegisteredUsers"]["_social"]["google"]["id"],
        provider_id
    );
    let again = emu
        .provider_token("google", "Test Person", "grace@example.com")
        .await
        .unwrap();
    let (s, second, b) = Bb::send(bb.req(
        Method::POST,
        &format!("/social/google?oauth_token={again}&oauth_secret={again}"),
    ))
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["data"]["user"]["name"], user.as_str());
    assert_ne!(first, second);
    let session = second.unwrap();

    // List: the token from the first signup.
    let (s, _, b) = Bb::send(
        bb.req(Method::GET, "/social")
            .header("X-BB-SESSION", &session),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["data"][0]["from"], "google");
    assert_eq!(b["data"][0]["token"], token.as_str());
    assert_eq!(b["data"][0]["id"], provider_id);
    assert_eq!(b["data"][0]["additionalData"]["email"], "grace@example.com");

    // Link GitHub, list both, unlink GitHub.
    let gh = emu
        .provider_token("github", "Test Person", "grace@example.com")
        .await
        .unwrap();
    let (s, _, b) = Bb::send(
        bb.req(Method::PUT, "/social/github")
            .header("X-BB-SESSION", &session)
            .json(&tokens(&gh)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"], "");
    let (_, _, b) = Bb::send(
        bb.req(Method::GET, "/social")
            .header("X-BB-SESSION", &session),
    )
    .await;
    assert_eq!(b["data"].as_array().unwrap().len(), 2);
    let (s, _, _) = Bb::send(
        bb.req(Method::DELETE, "/social/github")
            .header("X-BB-SESSION", &session),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, _, b) = Bb::send(bb.req(Method::GET, "/me").header("X-BB-SESSION", &session)).await;
    assert!(
        b["data"]["visibleByRegisteredUsers"]["_social"]
            .get("github")
            .is_none(),
        "no trace of the unlinked network: {b}"
    );
    let (s, _, _) = Bb::send(
        bb.req(Method::DELETE, "/social/github")
            .header("X-BB-SESSION", &session),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "not linked");
    // Google is this generated user's only way in: it stays.
    let (s, _, b) = Bb::send(
        bb.req(Method::DELETE, "/social/google")
            .header("X-BB-SESSION", &session),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");

    // Another user cannot link Grace's Google identity.
    let other = bb.signup("alan").await;
    let grace_again = emu
        .provider_token("google", "Test Person", "grace@example.com")
        .await
        .unwrap();
    let (s, _, b) = Bb::send(
        bb.req(Method::PUT, "/social/google")
            .header("X-BB-SESSION", &other)
            .json(&tokens(&grace_again)),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    // Nothing linked is a 404 for the list.
    let (s, _, _) = Bb::send(
        bb.req(Method::GET, "/social")
            .header("X-BB-SESSION", &other),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A password user may unlink their only network: the password remains.
    let alans = emu
        .provider_token("facebook", "Test Person", "alan@example.com")
        .await
        .unwrap();
    let (s, _, _) = Bb::send(
        bb.req(Method::PUT, "/social/facebook")
            .header("X-BB-SESSION", &other)
            .json(&tokens(&alans)),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = Bb::send(
        bb.req(Method::DELETE, "/social/facebook")
            .header("X-BB-SESSION", &other),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn social_route_errors() {
    let emu = emulator().await;
    let bb = Bb { emu: &emu };
    let token = emu
        .provider_token("google", "Test Person", "x@example.com")
        .await
        .unwrap();
    let cases: Vec<(&str, reqwest::RequestBuilder, StatusCode, &str)> = vec![
        (
            "unknown network",
            bb.req(Method::POST, "/social/myspace")
                .json(&tokens(&token)),
            StatusCode::BAD_REQUEST,
            "unknown social network",
        ),
        (
            "no body",
            bb.req(Method::POST, "/social/google"),
            StatusCode::BAD_REQUEST,
            "no body",
        ),
        (
            "not JSON",
            bb.req(Method::POST, "/social/google").body("oauth_token=1"),
            StatusCode::BAD_REQUEST,
            "not valid JSON",
        ),
        (
            "missing secret",
            bb.req(Method::POST, "/social/google")
                .json(&json!({"oauth_token": token})),
            StatusCode::BAD_REQUEST,
            "required",
        ),
        (
            "invalid token",
            bb.req(Method::POST, "/social/google")
                .json(&tokens("forged")),
            StatusCode::BAD_REQUEST,
            "not valid",
        ),
        (
            "token of another network",
            bb.req(Method::POST, "/social/facebook")
                .json(&tokens(&token)),
            StatusCode::BAD_REQUEST,
            "not valid",
        ),
        (
            "list without a session",
            bb.req(Method::GET, "/social"),
            StatusCode::UNAUTHORIZED,
            "missing",
        ),
        (
            "link without a session",
            bb.req(Method::PUT, "/social/google").json(&tokens(&token)),
            StatusCode::UNAUTHORIZED,
            "missing",
        ),
        (
            "wrong method",
            bb.req(Method::PATCH, "/social/google"),
            StatusCode::METHOD_NOT_ALLOWED,
            "not allowed",
        ),
        (
            "unknown resource",
            bb.req(Method::GET, "/nothing"),
            StatusCode::NOT_FOUND,
            "no such resource",
        ),
    ];
    for (name, rb, status, message) in cases {
        let (s, _, b) = Bb::send(rb).await;
        assert_eq!(s, status, "{name}: {b}");
        assert!(
            b["message"].as_str().unwrap_or("").contains(message),
            "{name}: {b}"
        );
        assert_eq!(b["http_code"], status.as_u16());
    }
}

#[tokio::test]
async fn the_provider_enforces_pkce() {
    let emu = support::builder()
        .app("cm-app", "cm-key")
        .baasbox(APP_CODE)
        .test_idp(true)
        .start()
        .await
        .unwrap();
    // The test provider sends codes only to the broker's own callback.
    let redirect_uri = format!("{}/v1/app/cm-app/account/social/callback", emu.base_url());
    let redirect = redirect_uri.as_str();
    let verifier = "a-verifier-that-is-long-enough-to-be-valid-0123456789";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    let issue = || async {
        let resp = http()
            .post(format!("{}/idp/google/consent", emu.base_url()))
            .form(&[
                ("client_id", "cm-app"),
                ("redirect_uri", redirect),
                ("state", "s"),
                ("email", "p@example.com"),
                ("code_challenge", &challenge),
            ])
            .send()
            .await
            .unwrap();
        let location = resp.headers()["location"].to_str().unwrap().to_owned();
        url::Url::parse(&location)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned()
    };
    let base = emu.base_url();
    let exchange = |code: String, verifier: &'static str| {
        let base = base.clone();
        async move {
            let resp = http()
                .post(format!("{base}/idp/token"))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", redirect),
                    ("client_id", "cm-app"),
                    ("code_verifier", verifier),
                ])
                .send()
                .await
                .unwrap();
            (resp.status(), resp.json::<Value>().await.unwrap())
        }
    };
    let (s, b) = exchange(
        issue().await,
        "the-wrong-verifier-of-sufficient-length-000000000",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"], "invalid_grant");
    let (s, b) = exchange(issue().await, verifier).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b["access_token"].is_string());
}

#[tokio::test]
async fn the_prefix_is_configurable_and_cloudmine_still_answers() {
    let emu = support::builder()
        .app("cm-app", "cm-key")
        .baasbox(APP_CODE)
        .baasbox_prefix("/api/bb")
        .start()
        .await
        .unwrap();
    let (s, _, _) = Bb::send(
        http()
            .get(format!("{}/api/bb/me", emu.base_url()))
            .header("X-BAASBOX-APPCODE", APP_CODE),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "served under the prefix");
    let resp = http()
        .get(format!("{}/v1/app/cm-app/text", emu.base_url()))
        .header("x-cloudmine-apikey", "cm-key")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let bad = support::builder()
        .app("a", "k")
        .baasbox(APP_CODE)
        .baasbox_prefix("/v1")
        .start()
        .await;
    match bad {
        Err(cloudmine_emulator::EmulatorError::Config(message)) => {
            assert!(message.contains("BaasBox prefix \"/v1\""), "{message}")
        }
        Err(e) => panic!("a prefix of /v1 is a configuration error, not {e}"),
        Ok(_) => panic!("a prefix of /v1 is refused"),
    }
}

#[tokio::test]
async fn sessions_and_links_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bb.sqlite");
    let db = db.to_str().unwrap();
    let start = || async {
        Emulator::builder()
            .app("cm-app", "cm-key")
            .database(db)
            .baasbox(APP_CODE)
            .start()
            .await
            .unwrap()
    };
    let emu = start().await;
    let bb = Bb { emu: &emu };
    let session = bb.signup("ada").await;
    let token = emu
        .provider_token("github", "Ada", "ada@example.com")
        .await
        .unwrap();
    let (s, _, _) = Bb::send(
        bb.req(Method::PUT, "/social/github")
            .header("X-BB-SESSION", &session)
            .json(&tokens(&token)),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    emu.shutdown().await.unwrap();

    let emu = start().await;
    let bb = Bb { emu: &emu };
    let (s, _, b) = Bb::send(
        bb.req(Method::GET, "/social")
            .header("X-BB-SESSION", &session),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"][0]["from"], "github");
    // The database keeps only a hash of the session token.
    for file in [db.to_owned(), format!("{db}-wal")] {
        let raw = std::fs::read(&file).unwrap_or_default();
        assert!(
            !raw.windows(session.len()).any(|w| w == session.as_bytes()),
            "{file} holds the session token"
        );
    }
}

#[tokio::test]
async fn a_configured_real_provider_validates_tokens() {
    // Emulator A plays the real provider; B's BaasBox front end asks A's
    // userinfo endpoint about GitHub tokens.
    let provider = support::builder()
        .app("a", "k")
        .test_idp(true)
        .start()
        .await
        .unwrap();
    let root = provider.base_url();
    let emu = support::builder()
        .app("cm-app", "cm-key")
        .baasbox(APP_CODE)
        .provider(
            "github",
            cloudmine_emulator::ProviderConfig {
                authorize_url: format!("{root}/idp/github/authorize"),
                token_url: format!("{root}/idp/token"),
                userinfo_url: format!("{root}/idp/userinfo"),
                client_id: "b".into(),
                client_secret: "b-secret".into(),
                api_base: None,
            },
        )
        .start()
        .await
        .unwrap();
    let bb = Bb { emu: &emu };
    let real = provider
        .provider_token("github", "Linus", "linus@example.com")
        .await
        .unwrap();
    let (s, _, b) = Bb::send(bb.req(Method::POST, "/social/github").json(&tokens(&real))).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let expected_id = &sha256_hex(b"linus@example.com")[..16];
    assert_eq!(
        b["data"]["visibleByRegisteredUsers"]["_social"]["github"]["id"],
        expected_id
    );
    // B's own built-in provider is not the authority for GitHub any more.
    let local = emu
        .provider_token("github", "Linus", "linus@example.com")
        .await
        .unwrap();
    let (s, _, b) = Bb::send(bb.req(Method::POST, "/social/github").json(&tokens(&local))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    // Other networks still use the built-in provider.
    let google = emu
        .provider_token("google", "Linus", "linus@example.com")
        .await
        .unwrap();
    let (s, _, _) = Bb::send(
        bb.req(Method::POST, "/social/google")
            .json(&tokens(&google)),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}
