//! Tests of `social.rs` against a real PostgreSQL (skipped without one).

use super::super::test_db;
use super::*;

fn new_login(challenge: &str, state: &str) -> NewLogin {
    NewLogin {
        challenge: challenge.into(),
        app_id: "app".into(),
        network: "github".into(),
        redirect_uri: None,
        code_challenge: None,
        link_user: None,
        scope: Some("read".into()),
        state: state.into(),
        expires_ms: now_ms() + 60_000,
    }
}

fn finished(user: &str, token: &str) -> LoginOutcome {
    LoginOutcome::Finished {
        user_id: user.into(),
        token: token.into(),
        expires_ms: now_ms() + 60_000,
    }
}

fn identity(email: &str) -> Identity {
    Identity {
        id: format!("id-{email}"),
        name: "Ada".into(),
        email: email.into(),
        network: "github".into(),
    }
}

async fn sql(pg: &Pg, statement: &str) {
    pg.client()
        .await
        .unwrap()
        .batch_execute(statement)
        .await
        .unwrap();
}

async fn count(pg: &Pg, query: &str) -> i64 {
    pg.client()
        .await
        .unwrap()
        .query_one(query, &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_login_is_handed_out_once_and_its_challenge_stays_used() {
    let Some(pg) = test_db::fresh("login_once").await else {
        return;
    };
    assert!(pg.insert_login(&new_login("c1", "s1")).await.unwrap());
    assert!(
        !pg.insert_login(&new_login("c1", "s2")).await.unwrap(),
        "pending"
    );
    assert!(
        !pg.insert_login(&new_login("c9", "s1")).await.unwrap(),
        "state"
    );
    let l = pg.login_by_state("s1").await.unwrap().unwrap();
    assert_eq!(
        (l.challenge.as_str(), l.outcome),
        ("c1", LoginOutcome::Pending)
    );
    // Pending: not consumed.
    assert!(pg.take_login("app", "c1").await.unwrap().is_some());
    assert!(pg.take_login("other", "c1").await.unwrap().is_none());
    let failed = LoginOutcome::Failed {
        error: "access_denied".into(),
        description: "no".into(),
    };
    assert!(pg.settle_login("c1", &failed, None).await.unwrap());
    assert!(!pg.settle_login("c1", &failed, None).await.unwrap(), "once");
    assert!(
        !pg.settle_login("nope", &failed, None).await.unwrap(),
        "gone"
    );
    assert!(pg.take_login("other", "c1").await.unwrap().is_none(), "app");
    let taken = pg.take_login("app", "c1").await.unwrap().unwrap();
    assert_eq!(taken.outcome, failed);
    assert!(pg.take_login("app", "c1").await.unwrap().is_none());
    assert!(
        !pg.insert_login(&new_login("c1", "s3")).await.unwrap(),
        "used"
    );
}

#[tokio::test]
async fn of_concurrent_settles_and_takes_exactly_one_wins() {
    let Some(pg) = test_db::fresh("login_race").await else {
        return;
    };
    assert!(pg.insert_login(&new_login("c1", "s1")).await.unwrap());
    let settles = (0..8).map(|i| {
        let pg = pg.clone();
        tokio::spawn(async move {
            let outcome = finished(&format!("u{i}"), &format!("t{i}"));
            let won = pg.settle_login("c1", &outcome, Some("h")).await.unwrap();
            won.then_some(outcome)
        })
    });
    let mut winners = Vec::new();
    for task in settles.collect::<Vec<_>>() {
        winners.extend(task.await.unwrap());
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let takes = (0..8).map(|_| {
        let pg = pg.clone();
        tokio::spawn(async move { pg.take_login("app", "c1").await.unwrap() })
    });
    let mut taken = Vec::new();
    for task in takes.collect::<Vec<_>>() {
        taken.extend(task.await.unwrap());
    }
    assert_eq!(taken.len(), 1, "consumed once");
    assert_eq!(taken[0].outcome, winners[0]);
}

#[tokio::test]
async fn expired_logins_are_gone_with_their_unclaimed_session() {
    let Some(pg) = test_db::fresh("login_expiry").await else {
        return;
    };
    sql(
        &pg,
        "INSERT INTO sessions VALUES ('hash', 'app', 'u1', 9223372036854775807)",
    )
    .await;
    let mut login = new_login("c2", "s2");
    login.expires_ms = now_ms() - 1;
    assert!(pg.insert_login(&login).await.unwrap());
    let outcome = finished("u1", "plain");
    assert!(pg.settle_login("c2", &outcome, Some("hash")).await.unwrap());
    assert!(pg.login_by_state("s2").await.unwrap().is_none());
    assert!(pg.take_login("app", "c2").await.unwrap().is_none());
    assert_eq!(count(&pg, "SELECT count(*) FROM sessions").await, 0);
    assert_eq!(count(&pg, "SELECT count(*) FROM social_logins").await, 0);
    // An expired used challenge is free again.
    sql(&pg, "INSERT INTO social_used_challenges VALUES ('c3', 0)").await;
    assert!(pg.insert_login(&new_login("c3", "s3")).await.unwrap());
}

#[tokio::test]
async fn an_identity_finds_links_or_creates_its_user() {
    let Some(pg) = test_db::fresh("social_user").await else {
        return;
    };
    let ada = identity("ada@example.com");
    let SocialUser::Found(user) = pg.social_user("app", &ada, None).await.unwrap() else {
        panic!("a new user");
    };
    assert_eq!(
        pg.social_user("app", &ada, None).await.unwrap(),
        SocialUser::Found(user.clone())
    );
    assert_eq!(
        pg.social_user("app", &ada, Some(&user)).await.unwrap(),
        SocialUser::Found(user.clone())
    );
    assert_eq!(
        pg.social_user("app", &ada, Some("other")).await.unwrap(),
        SocialUser::Conflict
    );
    let mut twin = identity("ADA@example.com");
    twin.network = "twitter".into();
    assert_eq!(
        pg.social_user("app", &twin, None).await.unwrap(),
        SocialUser::EmailTaken
    );
    assert_eq!(
        pg.social_user("app", &twin, Some(&user)).await.unwrap(),
        SocialUser::Found(user.clone()),
        "linked to the user asking"
    );
    assert!(matches!(
        pg.social_user("other-app", &ada, None).await.unwrap(),
        SocialUser::Found(u) if u != user
    ));
    assert_eq!(count(&pg, "SELECT count(*) FROM users").await, 2);
}

#[tokio::test]
async fn concurrent_first_logins_of_one_identity_make_one_user() {
    let Some(pg) = test_db::fresh("social_race").await else {
        return;
    };
    let tasks = (0..8).map(|_| {
        let pg = pg.clone();
        tokio::spawn(async move {
            pg.social_user("app", &identity("bo@example.com"), None)
                .await
                .unwrap()
        })
    });
    let mut users = Vec::new();
    for task in tasks.collect::<Vec<_>>() {
        users.push(task.await.unwrap());
    }
    users.dedup();
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(count(&pg, "SELECT count(*) FROM users").await, 1);
}
