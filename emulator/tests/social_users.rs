//! Which user a social login lands on: the same identity is the same user,
//! another identity another user, linking adds a network to a user, and an
//! identity owned by someone else cannot be linked.

use cloudmine_emulator::Emulator;
use reqwest::{StatusCode, Url};

mod support;
use support::social::consent;
use support::user::User;
use support::{App, challenge, http, location};

const APP: &str = "app";
const KEY: &str = "social-users-key";
const CM: App = App(APP, KEY);
const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// Logs in through the consent page as `name <email>`; returns the final
/// redirect to the client's loopback URI.
async fn login_as(
    emu: &Emulator,
    challenge: &str,
    network: &str,
    name: &str,
    email: &str,
    extra: &[(&str, &str)],
) -> String {
    let authorize = location(&CM.start_url(emu, challenge, network, Some(REDIRECT), extra)).await;
    let page = http().get(&authorize).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let callback = consent(
        emu,
        network,
        &authorize,
        &[("name", name), ("email", email)],
    )
    .await;
    assert!(callback.contains("code="), "{callback}");
    location(&callback).await
}

async fn emulator() -> Emulator {
    support::builder()
        .app(APP, KEY)
        .identity("Ada Lovelace", "ada@example.com")
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_same_identity_is_the_same_user_and_another_is_another() {
    let emu = emulator().await;
    let mut ids = Vec::new();
    for (n, email) in [
        (1, "ada@example.com"),
        (2, "ada@example.com"),
        (3, "grace@example.com"),
    ] {
        let c = challenge(n);
        let end = login_as(&emu, &c, "github", "Someone", email, &[]).await;
        assert_eq!(end, format!("{REDIRECT}?challenge={c}"));
        let (s, body) = CM.status(&emu, &c, None).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["finished"], true);
        assert_eq!(body["profile"]["email"], email);
        assert_eq!(body["profile"]["name"], "Someone");
        ids.push(body["profile"]["__id__"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids[0], ids[1], "same identity, same user");
    assert_ne!(ids[0], ids[2], "another identity, another user");

    // The same email at another network is another identity, but its email
    // is taken: no second user with it (the user links google instead).
    let c = challenge(4);
    login_as(&emu, &c, "google", "Ada", "ada@example.com", &[]).await;
    let (_, body) = CM.status(&emu, &c, None).await;
    assert_eq!(body["error"], "email_taken", "{body}");
    assert!(body.get("session_token").is_none());
}

#[tokio::test]
async fn linking_adds_the_network_to_the_logged_in_user() {
    let emu = emulator().await;
    let User {
        id: user,
        token: session,
        ..
    } = User::seeded(&emu, CM, "mary@example.com").await;
    for (n, network) in [(10, "github"), (11, "twitter")] {
        let c = challenge(n);
        login_as(
            &emu,
            &c,
            network,
            "Mary",
            "mary.gh@example.com",
            &[("session_token", &session)],
        )
        .await;
        let (s, body) = CM.status(&emu, &c, None).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["finished"], true);
        assert_eq!(body["profile"]["__id__"], user.as_str(), "linked, not new");
    }
    // Linking again an identity the user already has is fine.
    let c = challenge(12);
    login_as(
        &emu,
        &c,
        "github",
        "Mary",
        "mary.gh@example.com",
        &[("session_token", &session)],
    )
    .await;
    let (_, body) = CM.status(&emu, &c, None).await;
    assert_eq!(body["profile"]["__id__"], user.as_str());
    assert_eq!(
        body["profile"]["__services__"],
        serde_json::json!(["github", "twitter"])
    );
    // And a later plain login with that identity finds the user.
    let c = challenge(13);
    login_as(&emu, &c, "twitter", "Mary", "mary.gh@example.com", &[]).await;
    assert_eq!(
        CM.status(&emu, &c, None).await.1["profile"]["__id__"],
        user.as_str()
    );
}

#[tokio::test]
async fn linking_an_identity_of_another_user_is_a_conflict() {
    let emu = emulator().await;
    let c = challenge(20);
    login_as(&emu, &c, "github", "Ada", "ada@example.com", &[]).await;
    let ada = CM.status(&emu, &c, None).await.1["profile"]["__id__"]
        .as_str()
        .unwrap()
        .to_owned();

    let User {
        id: other,
        token: session,
        ..
    } = User::seeded(&emu, CM, "bob@example.com").await;
    let c = challenge(21);
    let end = login_as(
        &emu,
        &c,
        "github",
        "Ada",
        "ada@example.com",
        &[("session_token", &session)],
    )
    .await;
    let url = Url::parse(&end).unwrap();
    let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert!(q.contains(&("challenge".into(), c.clone())));
    assert!(q.contains(&("error".into(), "identity_conflict".into())));
    assert!(q.contains(&(
        "error_description".into(),
        "this github identity is already linked to another user".into()
    )));
    let (s, body) = CM.status(&emu, &c, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["finished"], false);
    assert_eq!(body["error"], "identity_conflict");
    assert!(body.get("session_token").is_none());
    assert_eq!(
        CM.status(&emu, &c, None).await.0,
        StatusCode::NOT_FOUND,
        "consumed"
    );
    assert_ne!(ada, other);
}

#[tokio::test]
async fn unknown_app_and_missing_fields_are_pages() {
    let emu = emulator().await;
    let r = http()
        .get(
            CM.start_url(&emu, &challenge(30), "github", Some(REDIRECT), &[])
                .replace("/app/app/", "/app/nope/"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let r = http()
        .get(
            CM.start_url(&emu, &challenge(31), "github", Some(REDIRECT), &[])
                .replace("service=github&", ""),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // The consent form without an email is a 400 page.
    let authorize =
        location(&CM.start_url(&emu, &challenge(32), "github", Some(REDIRECT), &[])).await;
    let mut form: Vec<(String, String)> = Url::parse(&authorize)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    form.push(("action".into(), "allow".into()));
    let r = http()
        .post(format!("{}/idp/github/consent", emu.base_url()))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // The complete page.
    let r = http()
        .get(format!(
            "{}/v1/app/{APP}/account/social/login/complete",
            emu.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // One script, allowed by its hash and nothing else: it closes a popup.
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("script-src 'sha256-"), "{csp}");
    assert!(!csp.contains("unsafe-inline'; script") && !csp.contains("script-src *"));
    let page = r.text().await.unwrap();
    assert!(page.contains("You can close this window"), "{page}");
    assert_eq!(page.matches("<script>").count(), 1, "{page}");
    assert!(page.contains("window.close()"), "{page}");
}

#[tokio::test]
async fn a_pending_login_survives_a_restart_on_a_file_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("emu.sqlite");
    let emu = Emulator::builder()
        .app(APP, KEY)
        .database(&db)
        .test_idp(true)
        .start()
        .await
        .unwrap();
    let c = challenge(40);
    location(&CM.start_url(&emu, &c, "github", Some(REDIRECT), &[])).await;
    emu.shutdown().await.unwrap();
    let emu = Emulator::builder()
        .app(APP, KEY)
        .database(&db)
        .test_idp(true)
        .start()
        .await
        .unwrap();
    assert_eq!(
        CM.status(&emu, &c, None).await.1,
        serde_json::json!({"finished": false})
    );
    // Its challenge is still taken.
    let r = http()
        .get(CM.start_url(&emu, &c, "github", Some(REDIRECT), &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn continue_as_a_seeded_identity_posts_its_email() {
    let emu = emulator().await;
    let c = challenge(50);
    let authorize = location(&CM.start_url(&emu, &c, "github", Some(REDIRECT), &[])).await;
    let page = http()
        .get(&authorize)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Continue as Ada Lovelace"));
    assert!(page.contains("id=\"continue-0\""));
    assert!(page.contains("name=\"identity\" value=\"ada@example.com\""));
    assert!(page.contains("Sign in with Github"));
    assert!(page.contains("cloudmine-emulator test identity provider"));
    let base: Vec<(String, String)> = Url::parse(&authorize)
        .unwrap()
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != "response_type")
        .collect();
    let post = |identity: &str| {
        let mut form = base.clone();
        form.push(("action".into(), "allow".into()));
        form.push(("identity".into(), identity.into()));
        http()
            .post(format!("{}/idp/github/consent", emu.base_url()))
            .form(&form)
            .send()
    };
    assert_eq!(
        post("nobody@example.com").await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    let r = post("ada@example.com").await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    location(r.headers()["location"].to_str().unwrap()).await;
    let (_, body) = CM.status(&emu, &c, None).await;
    assert_eq!(body["profile"]["name"], "Ada Lovelace");
    assert_eq!(body["profile"]["email"], "ada@example.com");
}
