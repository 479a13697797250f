//! Two emulators serving one database (a SQLite file, or one PostgreSQL
//! schema with `CLOUDMINE_TEST_DB=postgres`), as two instances behind a
//! load balancer would (issue 17): what one keeps between requests — link
//! tickets, device logins, the built-in provider's codes and tokens, the
//! outbox — the other finds, because it lives in the database. B is given
//! A's address as its public URL, so both put the same callback in their
//! redirects; the test sends each step to the instance it names.

use cloudmine_emulator::{Emulator, EmulatorBuilder, EmulatorError};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

mod support;
use support::shared::Pair;
use support::user::User;
use support::{App, challenge, http, json_of, location, message};

const APP: &str = "app";
const KEY: &str = "instances-key";
const CM: App = App(APP, KEY);
const REDIRECT: &str = "http://127.0.0.1:9/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE_OF_VERIFIER: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn configure(builder: EmulatorBuilder) -> EmulatorBuilder {
    builder
        .app(APP, KEY)
        .identity("Mary", "mary.gh@example.com")
        .auto_consent(true)
        .test_hooks(true)
}

/// A and B on one database of the tests' backend; B's public URL is A's.
async fn pair() -> Pair {
    Pair::start(configure).await
}

#[tokio::test]
async fn a_code_from_the_provider_on_a_is_redeemed_by_b_and_the_status_read_on_a() {
    let p = pair().await;
    let c = challenge(1);
    let start = CM.start_url(&p.a, &c, "github", Some(REDIRECT), &[]);
    let authorize = location(&start).await;
    let callback = location(&authorize).await;
    assert!(callback.contains("code="), "{callback}");
    // B redeems the code A's provider issued, and settles the login.
    assert!(location(&p.on_b(&callback)).await.starts_with(REDIRECT));
    // The same code again, on A: single use across instances.
    let again = http().get(&callback).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    let (s, body) = CM.status(&p.a, &c, None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["finished"], true, "{body}");
    let token = body["session_token"].as_str().unwrap();
    let (s, me) = json_of(
        CM.request(&p.b, Method::GET, "account/me")
            .header("x-cloudmine-sessiontoken", token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "A's session works on B: {me}");
}

#[tokio::test]
async fn a_link_ticket_issued_on_a_is_redeemed_once_on_b() {
    let p = pair().await;
    let mary = User::seeded(&p.a, CM, "mary@example.com").await;
    let (s, body) = json_of(
        CM.request(&p.a, Method::POST, "account/social/ticket")
            .header("x-cloudmine-sessiontoken", &mary.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let ticket = body["ticket"].as_str().unwrap().to_owned();
    let c = challenge(2);
    let start = CM.start_url(&p.b, &c, "github", Some(REDIRECT), &[("ticket", &ticket)]);
    let authorize = location(&start).await;
    let callback = location(&p.on_b(&authorize)).await;
    location(&p.on_b(&callback)).await;
    let (s, body) = CM.status(&p.a, &c, None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        body["profile"]["__id__"],
        mary.id.as_str(),
        "linked: {body}"
    );
    // Spent: neither instance takes it again.
    let again = CM.start_url(
        &p.a,
        &challenge(3),
        "github",
        Some(REDIRECT),
        &[("ticket", &ticket)],
    );
    let r = http().get(again).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

fn device_start(emu: &Emulator, c: &str) -> String {
    CM.start_url(
        emu,
        c,
        "github",
        None,
        &[
            ("device", "1"),
            ("code_challenge", CHALLENGE_OF_VERIFIER),
            ("code_challenge_method", "S256"),
        ],
    )
}

/// The confirm page's "continue" link.
fn continue_link(page: &str) -> String {
    let marker = "id=\"continue\" href=\"";
    let from = page.find(marker).unwrap() + marker.len();
    let rest = &page[from..];
    rest[..rest.find('"').unwrap()].replace("&amp;", "&")
}

#[tokio::test]
async fn a_device_login_started_on_a_is_confirmed_and_polled_on_b() {
    let p = pair().await;
    let c = challenge(4);
    let page = http().get(device_start(&p.a, &c)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    // B gates the status call of A's login: the verifier is needed.
    let (s, body) = CM.status(&p.b, &c, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(message(&body), "invalid code_verifier");
    // The browser continues on B: provider, then callback.
    let callback = location(&p.on_b(&continue_link(&page))).await;
    let complete = location(&p.on_b(&callback)).await;
    let done = http().get(p.on_b(&complete)).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("Login complete"));
    let (s, body) = CM.status(&p.b, &c, Some(VERIFIER)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["finished"], true, "{body}");
    let (s, _) = CM.status(&p.a, &c, Some(VERIFIER)).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "consumed for both");
}

#[tokio::test]
async fn wrong_verifiers_are_counted_across_instances_and_the_bound_is_shared() {
    let p = pair().await;
    let c = challenge(5);
    let page = http().get(device_start(&p.a, &c)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    for i in 0..4 {
        let emu = if i % 2 == 0 { &p.a } else { &p.b };
        let (s, body) = CM.status(emu, &c, Some("wrong")).await;
        assert_eq!(
            (s, message(&body)),
            (StatusCode::UNAUTHORIZED, "invalid code_verifier")
        );
    }
    let (s, body) = CM.status(&p.b, &c, Some("wrong")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(message(&body).contains("too many attempts"), "{body}");
    let (_, body) = CM.status(&p.a, &c, Some(VERIFIER)).await;
    assert_eq!(
        body["error"], "too_many_attempts",
        "cancelled for A too: {body}"
    );
    // 16 pending logins per app, counted over both instances.
    for n in 0..16 {
        let emu = if n % 2 == 0 { &p.a } else { &p.b };
        let r = http()
            .get(device_start(emu, &challenge(100 + n)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "login {n}");
    }
    let r = http()
        .get(device_start(&p.a, &challenge(200)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_outbox_and_provider_tokens_written_on_a_are_read_on_b() {
    let p = pair().await;
    let created = CM
        .request(&p.a, Method::POST, "account/create")
        .json(&json!({"credentials": {"email": "a@example.com", "password": "a long password"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let reset = CM
        .request(&p.a, Method::POST, "account/password/reset")
        .json(&json!({"email": "a@example.com"}))
        .send()
        .await
        .unwrap();
    assert!(reset.status().is_success());
    let (s, body) = CM
        .call(&p.a, Method::POST, "push", Some(r#"{"text": "hi"}"#))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");

    let mails = p.b.outbox().await.unwrap();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "a@example.com");
    assert_eq!(p.b.pushes().await.unwrap()[0].notification["text"], "hi");
    let (s, hook): (_, Value) = json_of(
        http()
            .get(format!("{}/_emulator/{APP}/outbox", p.b.base_url()))
            .header("x-cloudmine-apikey", KEY)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(hook["mails"][0]["token"], mails[0].token.as_str());
    assert_eq!(hook["pushes"].as_array().map(Vec::len), Some(1));

    let token =
        p.a.provider_token("github", "Ada", "ada@example.com")
            .await
            .unwrap();
    let (s, me) = json_of(
        http()
            .get(format!("{}/idp/userinfo", p.b.base_url()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(me["email"], "ada@example.com");
    let (s, _) = json_of(
        http()
            .get(format!("{}/idp/userinfo", p.b.base_url()))
            .bearer_auth("not-a-token")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_public_url_that_cannot_be_one_is_refused_at_start() {
    for bad in [
        "cm.example.com",
        "ftp://cm.example.com",
        "https://u:p@cm.example.com",
        "https://cm.example.com/?x=1",
    ] {
        let e = Emulator::builder()
            .app(APP, KEY)
            .public_url(bad)
            .start()
            .await
            .map(|_| ())
            .unwrap_err();
        assert!(
            matches!(&e, EmulatorError::Config(m) if m.contains("public URL")),
            "{bad}: {e}"
        );
    }
}

/// The binary's `--public-url`: its redirects name that URL, and a URL that
/// cannot be one stops it at start with a message naming the problem.
#[tokio::test]
async fn the_binary_takes_a_public_url() {
    use support::binary::{Running, bin};
    let out = std::process::Command::new(bin())
        .args(["--app", "app:key", "--db", ":memory:"])
        .args(["--public-url", "ftp://cm.example.com"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("public URL must start with http"), "{err}");

    let running = Running::start(&[
        "--app",
        &format!("{APP}:{KEY}"),
        "--db",
        ":memory:",
        "--test-idp",
        "--public-url",
        "https://cm.example.com/",
    ]);
    let url = format!(
        "{}/v1/app/{APP}/account/social/login?service=github&apikey={KEY}&challenge={}",
        running.base,
        challenge(9)
    );
    let start = http().get(url).send().await.unwrap();
    assert_eq!(start.status(), StatusCode::FOUND);
    let to = start.headers()["location"].to_str().unwrap();
    assert!(
        to.starts_with("https://cm.example.com/idp/github/authorize?"),
        "{to}"
    );
}

/// `CLOUDMINE_EMULATOR_PUBLIC_URL` sets it as the flag does (every flag has
/// its variable), so a container's instances can share it.
#[tokio::test]
async fn the_binary_takes_a_public_url_from_the_environment() {
    use support::binary::Running;
    let args = [
        "--app",
        "app:instances-key",
        "--db",
        ":memory:",
        "--test-idp",
    ];
    let running = Running::start_env(
        &args,
        &[("CLOUDMINE_EMULATOR_PUBLIC_URL", "https://env.example.com")],
    );
    let url = format!(
        "{}/v1/app/{APP}/account/social/login?service=github&apikey={KEY}&challenge={}",
        running.base,
        challenge(10)
    );
    let start = http().get(url).send().await.unwrap();
    assert_eq!(start.status(), StatusCode::FOUND);
    let to = start.headers()["location"].to_str().unwrap();
    assert!(
        to.starts_with("https://env.example.com/idp/github/authorize?"),
        "{to}"
    );
}
