//! Link tickets (an emulator extension, PROTOCOL.md §4): a one-time,
//! short-lived stand-in for a session in the social-login start URL, so a
//! client linking a network never puts its session token in a URL.
//!
//! Kept in the database ([`InFlight`](crate::store::InFlight)), so a ticket
//! issued by one instance is redeemed by any other serving the same
//! database; keyed by the ticket's SHA-256: the ticket itself is never
//! kept. Each is bound to one app, one user and the session it was issued
//! for, and is gone once redeemed. Imports no handler.

use std::time::Duration;

use crate::crypto::{sha256_hex, try_random_hex};
use crate::store::{NewTicket, Store, StoreError, TicketLimits, TicketOf, now_ms};

/// How long a ticket may wait before the start URL redeems it.
pub(crate) const TICKET_TTL: Duration = Duration::from_secs(120);

/// The most tickets in flight at once; beyond, the oldest is dropped.
const MAX_TICKETS: usize = 10_000;

/// The most tickets one user of one app has in flight; beyond, that user's
/// oldest is dropped (a client needs one per link it starts, and uses it
/// within seconds), so no single user can fill the book for everyone.
const MAX_TICKETS_PER_USER: usize = 8;

const LIMITS: TicketLimits = TicketLimits {
    per_user: MAX_TICKETS_PER_USER,
    total: MAX_TICKETS,
};

/// What a redeemed ticket stands for.
pub(crate) type Redeemed = TicketOf;

/// Why no ticket was issued.
#[derive(Debug)]
pub(crate) enum IssueError {
    /// The OS random generator failed.
    Random(String),
    /// The database failed.
    Store(StoreError),
}

/// Issues a ticket for `user_id` of `app_id`, holding the session's hash.
pub(crate) async fn issue(
    store: &dyn Store,
    app_id: &str,
    user_id: &str,
    session_sha256: &str,
) -> Result<String, IssueError> {
    let ticket = try_random_hex(32).map_err(IssueError::Random)?;
    let now = now_ms();
    let ttl = i64::try_from(TICKET_TTL.as_millis()).unwrap_or(i64::MAX);
    let kept = NewTicket {
        ticket_sha256: sha256_hex(&ticket),
        app_id: app_id.to_owned(),
        of: TicketOf {
            user_id: user_id.to_owned(),
            session_sha256: session_sha256.to_owned(),
        },
        expires_ms: now.saturating_add(ttl),
    };
    store
        .ticket_issue(&kept, LIMITS, now)
        .await
        .map_err(IssueError::Store)?;
    Ok(ticket)
}

/// Redeems a ticket of `app_id`, once: `None` when it is unknown,
/// expired, used, or another app's (a ticket of another app is not
/// spent by the attempt).
pub(crate) async fn redeem(
    store: &dyn Store,
    app_id: &str,
    ticket: &str,
) -> Result<Option<Redeemed>, StoreError> {
    store
        .ticket_redeem(app_id, &sha256_hex(ticket), now_ms())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::InFlight;
    use crate::store::sqlite::SqliteStore;

    async fn memory() -> (SqliteStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(std::path::Path::new(":memory:"), dir.path())
            .await
            .unwrap();
        (store, dir)
    }

    #[tokio::test]
    async fn a_ticket_is_single_use_bound_to_its_app_and_expires() {
        let (book, _dir) = memory().await;
        let t = issue(&book, "app", "u1", "hash").await.unwrap();
        assert_eq!(t.len(), 64);
        assert_eq!(
            redeem(&book, "other", &t).await.unwrap(),
            None,
            "another app's"
        );
        let r = redeem(&book, "app", &t).await.unwrap().unwrap();
        assert_eq!(
            (r.user_id.as_str(), r.session_sha256.as_str()),
            ("u1", "hash")
        );
        assert_eq!(redeem(&book, "app", &t).await.unwrap(), None, "used");
        let t = issue(&book, "app", "u1", "hash").await.unwrap();
        let later = now_ms() + 121_000;
        let hash = sha256_hex(&t);
        assert_eq!(
            book.ticket_redeem("app", &hash, later).await.unwrap(),
            None,
            "expired"
        );
    }

    #[tokio::test]
    async fn a_full_book_drops_the_oldest_and_one_user_cannot_fill_it() {
        let (book, _dir) = memory().await;
        let first = issue(&book, "app", "flooder", "h").await.unwrap();
        for _ in 0..MAX_TICKETS_PER_USER {
            issue(&book, "app", "flooder", "h").await.unwrap();
        }
        assert_eq!(
            redeem(&book, "app", &first).await.unwrap(),
            None,
            "their oldest is gone"
        );
        let second = issue(&book, "app", "u-first", "h").await.unwrap();
        let small = TicketLimits {
            per_user: MAX_TICKETS_PER_USER,
            total: 3,
        };
        for i in 0..3 {
            let t = NewTicket {
                ticket_sha256: format!("x{i}"),
                app_id: "app".into(),
                of: TicketOf {
                    user_id: format!("u{i}"),
                    session_sha256: "h".into(),
                },
                expires_ms: now_ms() + 60_000,
            };
            book.ticket_issue(&t, small, now_ms()).await.unwrap();
        }
        assert_eq!(
            redeem(&book, "app", &second).await.unwrap(),
            None,
            "the oldest of all"
        );
        let kept = book.ticket_redeem("app", "x2", now_ms()).await.unwrap();
        assert!(kept.is_some(), "a full book still issues");
    }
}
