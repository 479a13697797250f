//! Never two users with one email, even when a password sign-up races
//! social first logins with the same email (on PostgreSQL every path that
//! makes a user takes the email's lock; on SQLite writes are serialised).
//! Run with `CLOUDMINE_TEST_DB=postgres` for PostgreSQL.

use reqwest::{Method, StatusCode, Url};
use serde_json::json;
use tokio::task::JoinSet;

mod support;
use cloudmine_emulator::Emulator;
use support::{App, challenge, http, json_of, location, postgres};

const CM: App = App("app", "race-key");
const REDIRECT: &str = "http://127.0.0.1:9/callback";
const EMAIL: &str = "race@example.com";
/// Rounds of the race, each on a fresh emulator and database.
const ROUNDS: u32 = 4;

/// What one contender of a round did: whether it made a user.
enum Made {
    User,
    Refused,
}

/// A password sign-up with `email`: a user (201) or refused (409).
async fn sign_up(base: String, email: &str) -> Made {
    let body = json!({"credentials": {"email": email, "password": "a long password"}});
    let r = CM
        .request_at(&base, Method::POST, "account/create")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    match r.status() {
        StatusCode::CREATED => Made::User,
        StatusCode::CONFLICT => Made::Refused,
        other => panic!("sign-up answered {other}: {:?}", json_of(r).await.1),
    }
}

/// A social login's callback: a user, or refused with `email_taken`.
async fn finish_social(callback: String) -> Made {
    let r = http().get(&callback).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND, "{callback}");
    let end = r.headers()["location"].to_str().unwrap().to_owned();
    let error = Url::parse(&end)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "error")
        .map(|(_, v)| v.into_owned());
    match error.as_deref() {
        None => Made::User,
        Some("email_taken") => Made::Refused,
        Some(other) => panic!("the social login failed: {other}"),
    }
}

/// Social logins at `networks` taken up to their provider callback (two
/// networks: two identities with one email); the callback URLs.
async fn callbacks(emu: &Emulator, round: u32, networks: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, network) in networks.iter().enumerate() {
        let c = challenge(round * 10 + i as u32 + 1);
        let consent = location(&CM.start_url(emu, &c, network, Some(REDIRECT), &[])).await;
        out.push(location(&consent).await);
    }
    out
}

/// How many users of the app have [`EMAIL`], in any case.
async fn users_with_email(emu: &Emulator) -> usize {
    let (s, body) = CM.call(emu, Method::GET, "account", None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["success"]
        .as_object()
        .unwrap()
        .values()
        .filter(|u| {
            u["email"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case(EMAIL))
        })
        .count()
}

#[tokio::test]
async fn a_sign_up_racing_social_first_logins_makes_one_user() {
    for round in 0..ROUNDS {
        let emu = support::builder()
            .app(CM.0, CM.1)
            .identity("Eve", "Race@Example.com")
            .auto_consent(true)
            .start()
            .await
            .unwrap();
        let callbacks = callbacks(&emu, round, &["github", "google"]).await;
        let mut race = JoinSet::new();
        for callback in callbacks {
            race.spawn(finish_social(callback));
        }
        for email in [EMAIL, "RACE@example.com"] {
            race.spawn(sign_up(emu.base_url(), email));
        }
        let mut made = 0;
        while let Some(outcome) = race.join_next().await {
            if let Made::User = outcome.unwrap() {
                made += 1;
            }
        }
        assert_eq!(made, 1, "round {round}: one contender makes the user");
        assert_eq!(users_with_email(&emu).await, 1, "round {round}");
    }
}

/// PostgreSQL: every new user's row takes a second to insert (a trigger),
/// so a sign-up and a social first login that do not wait for each other
/// both find the email free; they do wait (the email's advisory lock).
#[tokio::test]
async fn a_slow_insert_does_not_let_a_racing_sign_up_through() {
    let Some(url) = postgres::fresh_url() else {
        return;
    };
    let schema = url.rsplit("search_path%3D").next().unwrap().to_owned();
    let emu = Emulator::builder()
        .app(CM.0, CM.1)
        .identity("Eve", "Race@Example.com")
        .auto_consent(true)
        .database(&url)
        .start()
        .await
        .unwrap();
    postgres::psql(&format!(
        "CREATE FUNCTION {schema}.slow() RETURNS trigger LANGUAGE plpgsql
             AS 'BEGIN PERFORM pg_sleep(2); RETURN NEW; END';
         CREATE TRIGGER slow BEFORE INSERT ON {schema}.users
             FOR EACH ROW EXECUTE FUNCTION {schema}.slow()"
    ))
    .unwrap();
    let callback = callbacks(&emu, 0, &["github"]).await.remove(0);
    let mut race = JoinSet::new();
    race.spawn(finish_social(callback));
    race.spawn(sign_up(emu.base_url(), EMAIL));
    let mut made = 0;
    while let Some(outcome) = race.join_next().await {
        if let Made::User = outcome.unwrap() {
            made += 1;
        }
    }
    assert_eq!(made, 1, "one of the two makes the user");
    assert_eq!(users_with_email(&emu).await, 1);
}
