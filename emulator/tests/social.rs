//! The identity broker and the built-in provider over real HTTP, following
//! redirects by hand.

use cloudmine_emulator::Emulator;
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

mod support;
use support::{App, challenge, http};

const APP: &str = "app";
const KEY: &str = "social-test-key";
const CM: App = App(APP, KEY);
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE_OF_VERIFIER: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Follows 302s until one leaves the emulator; returns that Location (or the
/// last emulator page's URL and status).
async fn follow(emu: &Emulator, url: &str) -> (String, StatusCode) {
    let mut next = url.to_owned();
    for _ in 0..10 {
        let r = http().get(&next).send().await.unwrap();
        match r.headers().get("location").and_then(|v| v.to_str().ok()) {
            Some(l) => {
                let l = reqwest::Url::parse(&next)
                    .unwrap()
                    .join(l)
                    .unwrap()
                    .to_string();
                if !l.starts_with(&emu.base_url()) {
                    return (l, r.status());
                }
                next = l;
            }
            None => return (next, r.status()),
        }
    }
    panic!("redirect loop")
}

async fn auto() -> Emulator {
    support::builder()
        .app(APP, KEY)
        .identity("Ada Lovelace", "ada@example.com")
        .auto_consent(true)
        .start()
        .await
        .unwrap()
}

const REDIRECT: &str = "http://127.0.0.1:9/callback";

#[tokio::test]
async fn full_flow_with_pkce_and_one_time_status() {
    let emu = auto().await;
    let c = challenge(1);
    let (location, s) = follow(
        &emu,
        &CM.start_url(
            &emu,
            &c,
            "github",
            None,
            &[
                ("redirect_uri", REDIRECT),
                ("code_challenge", CHALLENGE_OF_VERIFIER),
                ("code_challenge_method", "S256"),
            ],
        ),
    )
    .await;
    assert_eq!(s, StatusCode::FOUND);
    assert_eq!(
        location,
        format!("{REDIRECT}?challenge={c}"),
        "no code or token in the redirect"
    );

    let (s, body) = CM.status(&emu, &c, Some(VERIFIER)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["finished"], true);
    assert_eq!(body["profile"]["__type__"], "user");
    assert_eq!(
        body["profile"]["__services__"],
        serde_json::json!(["github"])
    );
    assert_eq!(body["profile"]["email"], "ada@example.com");
    assert!(body["expires"].as_str().unwrap().ends_with("GMT"));
    let token = body["session_token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 64);

    // The session works for user data.
    let r = http()
        .get(format!("{}/v1/app/{APP}/user/text", emu.base_url()))
        .header("x-cloudmine-apikey", KEY)
        .header("x-cloudmine-sessiontoken", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // A replayed status call finds nothing; so does reusing the challenge.
    assert_eq!(
        CM.status(&emu, &c, Some(VERIFIER)).await.0,
        StatusCode::NOT_FOUND
    );
    let r = http()
        .get(CM.start_url(&emu, &c, "github", None, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn wrong_verifier_destroys_the_login_and_its_session() {
    let emu = auto().await;
    let c = challenge(2);
    follow(
        &emu,
        &CM.start_url(
            &emu,
            &c,
            "github",
            None,
            &[
                ("redirect_uri", REDIRECT),
                ("code_challenge", CHALLENGE_OF_VERIFIER),
                ("code_challenge_method", "S256"),
            ],
        ),
    )
    .await;
    let (s, body) = CM
        .status(
            &emu,
            &c,
            Some("not-the-verifier-not-the-verifier-not-the-v"),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(
        CM.status(&emu, &c, Some(VERIFIER)).await.0,
        StatusCode::NOT_FOUND
    );
    let c = challenge(3);
    follow(
        &emu,
        &CM.start_url(
            &emu,
            &c,
            "github",
            None,
            &[
                ("redirect_uri", REDIRECT),
                ("code_challenge", CHALLENGE_OF_VERIFIER),
                ("code_challenge_method", "S256"),
            ],
        ),
    )
    .await;
    assert_eq!(
        CM.status(&emu, &c, None).await.0,
        StatusCode::UNAUTHORIZED,
        "a missing verifier too"
    );
}

#[tokio::test]
async fn rejections() {
    let emu = support::builder()
        .app(APP, KEY)
        .auto_consent(true)
        .social_networks(APP, ["github"])
        .start()
        .await
        .unwrap();
    for bad in [
        "https://evil.example/cb",
        "http://10.0.0.1/cb",
        "http://127.0.0.1.evil.com/cb",
        "javascript:alert(1)",
        "http://user@127.0.0.1/cb",
        "https://127.0.0.1/cb",
        "http://127.0.0.1/cb#x",
    ] {
        let r = http()
            .get(CM.start_url(
                &emu,
                &challenge(10),
                "github",
                None,
                &[("redirect_uri", bad)],
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            r.headers().get("location").is_none(),
            "no redirect for {bad}"
        );
    }
    let cases: Vec<(String, StatusCode)> = vec![
        (
            CM.start_url(&emu, "short", "github", None, &[]),
            StatusCode::BAD_REQUEST,
        ),
        (
            CM.start_url(&emu, &format!("{}!", challenge(11)), "github", None, &[]),
            StatusCode::BAD_REQUEST,
        ),
        (
            CM.start_url(
                &emu,
                &challenge(12),
                "github",
                None,
                &[
                    ("code_challenge", CHALLENGE_OF_VERIFIER),
                    ("code_challenge_method", "plain"),
                ],
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            CM.start_url(
                &emu,
                &challenge(13),
                "github",
                None,
                &[("code_challenge", "short")],
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            CM.start_url(
                &emu,
                &challenge(14),
                "github",
                None,
                &[("session_token", "not-a-session")],
            ),
            StatusCode::UNAUTHORIZED,
        ),
        (
            CM.start_url(&emu, &challenge(15), "github", None, &[])
                .replace("service=github", "service=facebook"),
            StatusCode::BAD_REQUEST,
        ),
        (
            CM.start_url(&emu, &challenge(16), "github", None, &[])
                .replace(KEY, "wrong-key"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            format!(
                "{}/v1/app/{APP}/account/social/callback?state=unknown&code=x",
                emu.base_url()
            ),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (url, expected) in cases {
        let r = http().get(&url).send().await.unwrap();
        assert_eq!(r.status(), expected, "{url}");
        let page = r.text().await.unwrap();
        assert!(!page.contains("<script"), "{page}");
    }
    assert_eq!(
        CM.status(&emu, &challenge(99), None).await.0,
        StatusCode::NOT_FOUND,
        "unknown challenge"
    );
    let r = http()
        .get(format!(
            "{}/v1/app/{APP}/account/social/login/status/{}",
            emu.base_url(),
            challenge(99)
        ))
        .header("x-cloudmine-apikey", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn consent_page_deny_and_pending_status() {
    let emu = support::builder()
        .app(APP, KEY)
        .identity("Ada <Lovelace>", "ada@example.com")
        .start()
        .await
        .unwrap();
    let c = challenge(20);
    let (consent, s) = follow(
        &emu,
        &CM.start_url(
            &emu,
            &c,
            "github",
            None,
            &[("redirect_uri", REDIRECT), ("scope", "read:user")],
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let page = http()
        .get(&consent)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Continue as Ada &lt;Lovelace&gt;"),
        "escaped: {page}"
    );
    assert!(page.contains("id=\"deny\"") && page.contains("id=\"other-email\""));
    assert!(page.contains("read:user"));
    assert_eq!(
        CM.status(&emu, &c, None).await.1,
        serde_json::json!({"finished": false}),
        "pending"
    );

    let q: Vec<(String, String)> = reqwest::Url::parse(&consent)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let mut form: Vec<(String, String)> = q
        .into_iter()
        .filter(|(k, _)| k != "response_type")
        .collect();
    form.push(("action".into(), "deny".into()));
    let r = http()
        .post(format!("{}/idp/github/consent", emu.base_url()))
        .form(&form)
        .send()
        .await
        .unwrap();
    let callback = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(callback.contains("error=access_denied"));
    let (location, _) = follow(&emu, &callback).await;
    assert!(
        location.starts_with(&format!("{REDIRECT}?challenge={c}&error=access_denied")),
        "{location}"
    );
    let (s, body) = CM.status(&emu, &c, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["finished"], false);
    assert_eq!(body["error"], "access_denied");
}

#[tokio::test]
async fn provider_token_and_userinfo() {
    let emu = auto().await;
    // The test provider sends codes only to the broker's own callback.
    let cb = format!("{}/v1/app/{APP}/account/social/callback", emu.base_url());
    let authorize = format!(
        "{}/idp/github/authorize?response_type=code&client_id={APP}&redirect_uri={cb}&state=s1&code_challenge={CHALLENGE_OF_VERIFIER}&code_challenge_method=S256",
        emu.base_url()
    );
    let r = http().get(&authorize).send().await.unwrap();
    let location = reqwest::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let token_url = format!("{}/idp/token", emu.base_url());
    let form = |verifier: &str| {
        vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.clone()),
            ("redirect_uri", cb.clone()),
            ("client_id", APP.to_string()),
            ("code_verifier", verifier.to_string()),
        ]
    };
    let r = http()
        .post(&token_url)
        .form(&form("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "PKCE mismatch");
    // The code was spent by the failed attempt: reuse is refused too.
    let r = http()
        .post(&token_url)
        .form(&form(VERIFIER))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");

    // A fresh code with the right verifier works, once.
    let r = http()
        .get(authorize.replace("s1", "s2"))
        .send()
        .await
        .unwrap();
    let location = reqwest::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let ok: Value = http()
        .post(&token_url)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &cb),
            ("client_id", APP),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = ok["access_token"].as_str().unwrap();
    let info: Value = http()
        .get(format!("{}/idp/userinfo", emu.base_url()))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["email"], "ada@example.com");
    let expected_id = &hex::encode(Sha256::digest(b"ada@example.com"))[..16];
    assert_eq!(info["id"], expected_id);
    let r = http()
        .get(format!("{}/idp/userinfo", emu.base_url()))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn without_redirect_support_the_flow_ends_on_the_complete_page() {
    let emu = support::builder()
        .app(APP, KEY)
        .auto_consent(true)
        .redirect_support(false)
        .start()
        .await
        .unwrap();
    let c = challenge(30);
    let (last, s) = follow(
        &emu,
        &CM.start_url(
            &emu,
            &c,
            "github",
            None,
            &[
                ("redirect_uri", REDIRECT),
                ("code_challenge", CHALLENGE_OF_VERIFIER),
                ("code_challenge_method", "S256"),
            ],
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(last.ends_with("/account/social/login/complete"), "{last}");
    let (s, body) = CM.status(&emu, &c, None).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "no verifier needed: the server ignored PKCE"
    );
    assert_eq!(body["finished"], true);
}
