//! Tests of `baasbox.rs` against a real PostgreSQL (skipped without one).

use super::super::test_db;
use super::*;

fn user(name: &str, password: bool) -> BbUser {
    BbUser {
        username: name.into(),
        id: format!("id-{name}"),
        password_hash: password.then(|| "argon2-hash".to_owned()),
        generated: !password,
        email: None,
        created: 1,
    }
}

fn link(network: &str, provider_id: &str) -> BbLink {
    BbLink {
        network: network.into(),
        provider_id: provider_id.into(),
        name: "Ada".into(),
        email: "ada@example.com".into(),
        token: "tok".into(),
        secret: "sec".into(),
    }
}

#[tokio::test]
async fn users_and_sessions() {
    let Some(pg) = test_db::fresh("bb_users").await else {
        return;
    };
    assert!(pg.bb_create_user(&user("ada", true)).await.unwrap());
    assert!(
        !pg.bb_create_user(&user("ada", false)).await.unwrap(),
        "name"
    );
    assert_eq!(pg.bb_user("ada").await.unwrap(), Some(user("ada", true)));
    assert_eq!(pg.bb_user("bob").await.unwrap(), None);
    pg.bb_create_session("h1", "ada", now_ms() + 60_000)
        .await
        .unwrap();
    pg.bb_create_session("old", "ada", now_ms() - 1)
        .await
        .unwrap();
    assert_eq!(
        pg.bb_session_user("h1").await.unwrap().as_deref(),
        Some("ada")
    );
    assert_eq!(pg.bb_session_user("old").await.unwrap(), None, "expired");
    pg.bb_delete_session("h1").await.unwrap();
    assert_eq!(pg.bb_session_user("h1").await.unwrap(), None);
}

#[tokio::test]
async fn links_unlinks_and_the_last_login_method_stays() {
    let Some(pg) = test_db::fresh("bb_links").await else {
        return;
    };
    let (name, created) = pg
        .bb_social_login(&link("github", "1"), &user("gen1", false))
        .await
        .unwrap();
    assert_eq!((name.as_str(), created), ("gen1", true));
    let again = pg
        .bb_social_login(&link("github", "1"), &user("gen2", false))
        .await
        .unwrap();
    assert_eq!(again, ("gen1".to_owned(), false));
    assert_eq!(pg.bb_user("gen2").await.unwrap(), None);
    let outcome = |u: &'static str, l: BbLink| {
        let pg = pg.clone();
        async move { pg.bb_link(u, &l).await.unwrap() }
    };
    assert_eq!(
        outcome("gen1", link("github", "1")).await,
        LinkOutcome::AlreadyLinked
    );
    assert!(pg.bb_create_user(&user("ada", true)).await.unwrap());
    assert_eq!(
        outcome("ada", link("github", "1")).await,
        LinkOutcome::OwnedByOther
    );
    assert_eq!(
        outcome("gen1", link("github", "2")).await,
        LinkOutcome::NetworkTaken
    );
    assert_eq!(
        outcome("gen1", link("twitter", "3")).await,
        LinkOutcome::Linked
    );
    let networks: Vec<String> = pg
        .bb_links("gen1")
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.network)
        .collect();
    assert_eq!(networks, ["github", "twitter"]);
    assert_eq!(
        pg.bb_unlink("gen1", "facebook").await.unwrap(),
        UnlinkOutcome::NotLinked
    );
    assert_eq!(
        pg.bb_unlink("gen1", "twitter").await.unwrap(),
        UnlinkOutcome::Removed
    );
    assert_eq!(
        pg.bb_unlink("gen1", "github").await.unwrap(),
        UnlinkOutcome::LastLoginMethod
    );
    // A user with a password may drop their only link.
    assert_eq!(
        outcome("ada", link("github", "9")).await,
        LinkOutcome::Linked
    );
    assert_eq!(
        pg.bb_unlink("ada", "github").await.unwrap(),
        UnlinkOutcome::Removed
    );
}

#[tokio::test]
async fn concurrent_unlinks_never_leave_a_user_without_a_login() {
    let Some(pg) = test_db::fresh("bb_unlink_race").await else {
        return;
    };
    pg.bb_social_login(&link("github", "1"), &user("gen", false))
        .await
        .unwrap();
    assert_eq!(
        pg.bb_link("gen", &link("twitter", "2")).await.unwrap(),
        LinkOutcome::Linked
    );
    let tasks = ["github", "twitter"].map(|network| {
        let pg = pg.clone();
        tokio::spawn(async move { pg.bb_unlink("gen", network).await.unwrap() })
    });
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    outcomes.sort_by_key(|o| *o == UnlinkOutcome::Removed);
    assert_eq!(
        outcomes,
        [UnlinkOutcome::LastLoginMethod, UnlinkOutcome::Removed]
    );
    assert_eq!(pg.bb_links("gen").await.unwrap().len(), 1);
}

#[tokio::test]
async fn concurrent_first_social_logins_make_one_user() {
    let Some(pg) = test_db::fresh("bb_login_race").await else {
        return;
    };
    let tasks = (0..8).map(|i| {
        let pg = pg.clone();
        tokio::spawn(async move {
            pg.bb_social_login(&link("github", "7"), &user(&format!("gen{i}"), false))
                .await
                .unwrap()
        })
    });
    let mut created = 0;
    let mut names = Vec::new();
    for task in tasks.collect::<Vec<_>>() {
        let (name, new) = task.await.unwrap();
        created += usize::from(new);
        names.push(name);
    }
    names.dedup();
    assert_eq!((created, names.len()), (1, 1), "{names:?}");
    let users: i64 = pg
        .client()
        .await
        .unwrap()
        .query_one("SELECT count(*) FROM bb_users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 1);
}
