//! [`InFlight`] for PostgreSQL against a real server: set
//! `CLOUDMINE_TEST_PG_URL` (`postgres://user@host:port/db`, no query; the
//! user may create databases). Each test makes a fresh database next to
//! that one and drops it at the end. Without the variable every test says
//! it is skipped and passes, except on CI (`test_db::server_url`).

use std::sync::Arc;

use super::*;
use crate::store::now_ms;

/// A fresh database on the test server, and what drops it; `None` (with a
/// note on stderr) when no server is configured.
async fn fresh() -> Option<(Pg, Dropper)> {
    let url = super::super::test_db::server_url()?;
    let name = format!("cm_flight_{}", crate::crypto::random_hex(6));
    let admin = admin(&url).await;
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let (root, _) = url.rsplit_once('/').expect("a URL with a database name");
    let pg = Pg::connect(&format!("{root}/{name}")).await.unwrap();
    Some((pg, Dropper { url, name }))
}

async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

/// Drops a test database (call [`Dropper::drop_now`] at the end).
struct Dropper {
    url: String,
    name: String,
}

impl Dropper {
    async fn drop_now(self, pg: Pg) {
        drop(pg);
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        admin(&self.url).await.batch_execute(&sql).await.unwrap();
    }
}

fn ticket(hash: &str, user: &str, expires_ms: i64) -> NewTicket {
    NewTicket {
        ticket_sha256: hash.into(),
        app_id: "app".into(),
        of: TicketOf {
            user_id: user.into(),
            session_sha256: "s".into(),
        },
        expires_ms,
    }
}

#[tokio::test]
async fn tickets_are_single_use_app_bound_expiring_and_capped() {
    let Some((pg, dropper)) = fresh().await else {
        return;
    };
    let (now, later) = (now_ms(), now_ms() + 60_000);
    let limits = TicketLimits {
        per_user: 2,
        total: 4,
    };
    pg.ticket_issue(&ticket("t1", "u", later), limits, now)
        .await
        .unwrap();
    assert_eq!(pg.ticket_redeem("other", "t1", now).await.unwrap(), None);
    let got = pg.ticket_redeem("app", "t1", now).await.unwrap().unwrap();
    assert_eq!(got.user_id, "u");
    assert_eq!(pg.ticket_redeem("app", "t1", now).await.unwrap(), None);
    pg.ticket_issue(&ticket("old", "u", later), limits, now)
        .await
        .unwrap();
    assert_eq!(
        pg.ticket_redeem("app", "old", later).await.unwrap(),
        None,
        "expired"
    );
    for h in ["a1", "a2", "a3"] {
        pg.ticket_issue(&ticket(h, "u", later), limits, now)
            .await
            .unwrap();
    }
    assert_eq!(pg.ticket_redeem("app", "a1", now).await.unwrap(), None);
    for h in ["b1", "b2", "b3"] {
        pg.ticket_issue(&ticket(h, h, later), limits, now)
            .await
            .unwrap();
    }
    assert_eq!(pg.ticket_redeem("app", "a2", now).await.unwrap(), None);
    assert!(pg.ticket_redeem("app", "b3", now).await.unwrap().is_some());
    dropper.drop_now(pg).await;
}

#[tokio::test]
async fn a_ticket_redeemed_at_once_by_many_is_given_once() {
    let Some((pg, dropper)) = fresh().await else {
        return;
    };
    let limits = TicketLimits {
        per_user: 8,
        total: 100,
    };
    pg.ticket_issue(&ticket("race", "u", now_ms() + 60_000), limits, now_ms())
        .await
        .unwrap();
    let pg = Arc::new(pg);
    let tries: Vec<_> = (0..12)
        .map(|_| {
            let pg = Arc::clone(&pg);
            tokio::spawn(async move { pg.ticket_redeem("app", "race", now_ms()).await })
        })
        .collect();
    let mut won = 0;
    for t in tries {
        won += usize::from(t.await.unwrap().unwrap().is_some());
    }
    assert_eq!(won, 1);
    let pg = Arc::into_inner(pg).unwrap();
    dropper.drop_now(pg).await;
}

fn entry(challenge: &str, app: &str) -> DeviceEntry {
    DeviceEntry {
        challenge_sha256: challenge.into(),
        app_id: app.into(),
        kind: "device".into(),
        code_challenge: "cc".into(),
        expires_ms: now_ms() + 60_000,
    }
}

const DEVICE_LIMITS: DeviceLimits = DeviceLimits {
    pending_per_app: 4,
    kept_per_app: 6,
    total: 100,
};

#[tokio::test]
async fn device_logins_are_bounded_even_when_reserved_at_once() {
    let Some((pg, dropper)) = fresh().await else {
        return;
    };
    let pg = Arc::new(pg);
    let tries: Vec<_> = (0..12)
        .map(|i| {
            let pg = Arc::clone(&pg);
            tokio::spawn(async move {
                let e = entry(&format!("c{i}"), "app");
                pg.device_reserve(&e, DEVICE_LIMITS, now_ms()).await
            })
        })
        .collect();
    let mut kept = 0;
    for t in tries {
        kept += usize::from(t.await.unwrap().unwrap() == Reserved::Yes);
    }
    assert_eq!(kept, 4, "the pending bound holds under concurrency");
    let pg = Arc::into_inner(pg).unwrap();
    let x = entry("x", "other");
    let other = pg.device_reserve(&x, DEVICE_LIMITS, now_ms()).await;
    assert_eq!(other.unwrap(), Reserved::Yes);
    let again = pg.device_reserve(&x, DEVICE_LIMITS, now_ms()).await;
    assert_eq!(again.unwrap(), Reserved::Taken);
    dropper.drop_now(pg).await;
}

#[tokio::test]
async fn device_logins_settle_count_misses_and_are_forgotten() {
    let Some((pg, dropper)) = fresh().await else {
        return;
    };
    let now = now_ms();
    assert_eq!(
        pg.device_reserve(&entry("c", "app"), DEVICE_LIMITS, now)
            .await
            .unwrap(),
        Reserved::Yes
    );
    let cc = pg.device_code_challenge("app", "c").await.unwrap();
    assert_eq!(cc.as_deref(), Some("cc"));
    assert_eq!(pg.device_code_challenge("other", "c").await.unwrap(), None);
    assert!(!pg.device_miss("app", "c", 2).await.unwrap());
    assert!(pg.device_miss("app", "c", 2).await.unwrap(), "the last");
    assert_eq!(pg.device_code_challenge("app", "c").await.unwrap(), None);
    pg.device_reserve(&entry("d", "app"), DEVICE_LIMITS, now)
        .await
        .unwrap();
    let kind = pg.device_settle("app", "d", now).await.unwrap();
    assert_eq!(kind.as_deref(), Some("device"));
    assert_eq!(pg.device_settle("other", "d", now).await.unwrap(), None);
    pg.device_forget(Some("other"), "d").await.unwrap();
    assert!(
        pg.device_code_challenge("app", "d")
            .await
            .unwrap()
            .is_some()
    );
    pg.device_forget(Some("app"), "d").await.unwrap();
    assert_eq!(pg.device_code_challenge("app", "d").await.unwrap(), None);
    dropper.drop_now(pg).await;
}

#[tokio::test]
async fn provider_codes_are_single_use_and_tokens_expire() {
    let Some((pg, dropper)) = fresh().await else {
        return;
    };
    let identity = Identity::new("github", "Ada", "ada@example.com");
    let grant = Grant {
        client_id: "app".into(),
        redirect_uri: "http://h/cb".into(),
        identity: identity.clone(),
        code_challenge: Some("cc".into()),
    };
    let (now, later) = (now_ms(), now_ms() + 60_000);
    pg.grant_issue("code", &grant, later, 10).await.unwrap();
    assert_eq!(
        pg.grant_take("code", now).await.unwrap(),
        Some(grant.clone())
    );
    assert_eq!(pg.grant_take("code", now).await.unwrap(), None);
    pg.grant_issue("late", &grant, later, 10).await.unwrap();
    assert_eq!(pg.grant_take("late", later).await.unwrap(), None, "expired");
    pg.idp_token_issue("tok", &identity, later, 10)
        .await
        .unwrap();
    let found = pg.idp_token_identity("tok", now).await.unwrap();
    assert_eq!(found, Some(identity));
    assert_eq!(pg.idp_token_identity("tok", later).await.unwrap(), None);
    assert_eq!(pg.idp_token_identity("nope", now).await.unwrap(), None);
    dropper.drop_now(pg).await;
}

#[tokio::test]
async fn the_sent_log_keeps_the_newest_of_each_kind() {
    let Some((pg, dropper)) = fresh().await else {
        return;
    };
    for i in 0..5 {
        let app = if i % 2 == 0 { "a" } else { "b" };
        let item = serde_json::json!({ "n": i });
        pg.sent_append(SentKind::Push, app, &item, 3).await.unwrap();
    }
    let all = pg.sent_read(SentKind::Push, None).await.unwrap();
    let ns: Vec<_> = all.iter().map(|v| v["n"].as_i64().unwrap()).collect();
    assert_eq!(ns, [2, 3, 4]);
    let a = pg.sent_read(SentKind::Push, Some("a")).await.unwrap();
    assert_eq!(a.len(), 2);
    assert!(pg.sent_read(SentKind::Mail, None).await.unwrap().is_empty());
    dropper.drop_now(pg).await;
}
