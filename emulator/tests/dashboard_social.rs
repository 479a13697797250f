//! The dashboard's social-logins page over real HTTP: logins in flight
//! (named by a short hash, never their challenge or provider state) and
//! the outcomes the store still keeps. `CLOUDMINE_TEST_DB=postgres` runs
//! it on PostgreSQL.

mod support;

use reqwest::{StatusCode, Url};
use sha2::{Digest, Sha256};

use support::dashboard::{PASSWORD, Visitor};
use support::{App, builder, challenge, http};

const CM: App = App("dash-app", "dash-key");
const PAGE: &str = "/_dashboard/app/dash-app/social";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// The short id the page shows for a challenge.
fn short_id(challenge: &str) -> String {
    hex::encode(Sha256::digest(challenge.as_bytes()))[..8].to_owned()
}

/// Starts a login for `challenge` at github; returns the consent page's
/// URL (the provider's authorize URL, with our `state` in it).
async fn start(emu: &cloudmine_emulator::Emulator, challenge: &str) -> String {
    let start = CM.start_url(emu, challenge, "github", Some(REDIRECT), &[]);
    let r = http().get(&start).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let authorize = r.headers()["location"].to_str().unwrap();
    Url::parse(&emu.base_url())
        .unwrap()
        .join(authorize)
        .unwrap()
        .to_string()
}

/// The `state` query value of the provider's authorize URL.
fn state_of(authorize: &str) -> String {
    Url::parse(authorize)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

/// Follows the provider's callback (a 302 to the emulator) to its end.
async fn callback(emu: &cloudmine_emulator::Emulator, location: &str) {
    let url = Url::parse(&emu.base_url()).unwrap().join(location).unwrap();
    let r = http().get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND, "the callback redirects back");
}

#[tokio::test]
async fn a_login_in_flight_is_shown_without_its_secrets() {
    let emu = builder()
        .app(CM.0, CM.1)
        .identity("Ada", "ada@example.com")
        .dashboard_password(PASSWORD)
        .start()
        .await
        .unwrap();
    let v = Visitor::logged_in(&emu.base_url()).await;
    let empty = v.get(PAGE).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.text.contains("id=\"no-flight\""), "{}", empty.text);

    let c = challenge(41);
    let authorize = start(&emu, &c).await;
    let state = state_of(&authorize);
    let page = v.get(PAGE).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_secure("social");
    assert!(page.text.contains("In flight (1)"), "{}", page.text);
    assert!(page.text.contains(&short_id(&c)), "{}", page.text);
    assert!(page.text.contains("github"), "{}", page.text);
    assert!(!page.text.contains(&c), "no challenge: {}", page.text);
    assert!(!page.text.contains(&state), "no state: {}", page.text);
    assert!(
        v.get("/_dashboard/app/dash-app/objects")
            .await
            .text
            .contains(PAGE),
        "linked from the app's pages"
    );
    let anonymous = Visitor::new(&emu.base_url()).get(PAGE).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    let unknown = v.get("/_dashboard/app/nope/social").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn settled_logins_are_shown_as_outcomes_until_collected() {
    let emu = builder()
        .app(CM.0, CM.1)
        .identity("Ada", "ada@example.com")
        .dashboard_password(PASSWORD)
        .start()
        .await
        .unwrap();
    let (ok, no) = (challenge(42), challenge(43));
    let allowed = start(&emu, &ok).await;
    let back = support::social::consent(
        &emu,
        "github",
        &allowed,
        &[("name", "Ada"), ("email", "ada@example.com")],
    )
    .await;
    callback(&emu, &back).await;
    let denied = start(&emu, &no).await;
    let mut form: Vec<(String, String)> = Url::parse(&denied)
        .unwrap()
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != "response_type")
        .collect();
    form.push(("action".into(), "deny".into()));
    let r = http()
        .post(format!("{}/idp/github/consent", emu.base_url()))
        .form(&form)
        .send()
        .await
        .unwrap();
    callback(&emu, r.headers()["location"].to_str().unwrap()).await;

    let v = Visitor::logged_in(&emu.base_url()).await;
    let page = v.get(PAGE).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("In flight (0)"), "{}", page.text);
    assert!(page.text.contains("Recent outcomes (2)"), "{}", page.text);
    assert!(page.text.contains("succeeded"), "{}", page.text);
    assert!(page.text.contains("denied"), "{}", page.text);
    assert!(page.text.contains(&short_id(&ok)), "{}", page.text);

    let (s, body) = CM.status(&emu, &ok, None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let user = body["profile"]["__id__"].as_str().unwrap().to_owned();
    let token = body["session_token"].as_str().unwrap().to_owned();
    assert!(page.text.contains(&user), "the user: {}", page.text);
    assert!(!page.text.contains(&token), "no session token");
    let after = v.get(PAGE).await;
    assert!(after.text.contains("Recent outcomes (1)"), "{}", after.text);
    assert!(
        !after.text.contains(&short_id(&ok)),
        "collected: {}",
        after.text
    );
}
