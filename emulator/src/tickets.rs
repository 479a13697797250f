//! Link tickets (an emulator extension, PROTOCOL.md §4): a one-time,
//! short-lived stand-in for a session in the social-login start URL, so a
//! client linking a network never puts its session token in a URL.
//!
//! Memory only (a ticket lives two minutes), keyed by the ticket's SHA-256:
//! the ticket itself is never kept. Each is bound to one app, one user and
//! the session it was issued for, and is gone once redeemed. Imports no
//! handler.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::crypto::{sha256_hex, try_random_hex};

/// How long a ticket may wait before the start URL redeems it.
pub(crate) const TICKET_TTL: Duration = Duration::from_secs(120);

/// The most tickets in flight at once; beyond, the oldest is dropped.
const MAX_TICKETS: usize = 10_000;

/// The most tickets one user of one app has in flight; beyond, that user's
/// oldest is dropped (a client needs one per link it starts, and uses it
/// within seconds), so no single user can fill the book for everyone.
const MAX_TICKETS_PER_USER: usize = 8;

/// What a redeemed ticket stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Redeemed {
    /// The user the ticket was issued to.
    pub user_id: String,
    /// The SHA-256 of the session it was issued for (still to be checked).
    pub session_sha256: String,
}

struct Ticket {
    app_id: String,
    redeemed: Redeemed,
    expires: Instant,
    /// Issue order (instants can tie).
    serial: u64,
}

/// The next ticket's [`Ticket::serial`].
static SERIAL: AtomicU64 = AtomicU64::new(0);

/// Why no ticket was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IssueError {
    /// The OS random generator failed.
    Random(String),
}

/// The tickets in flight.
#[derive(Default)]
pub(crate) struct LinkTickets {
    by_hash: Mutex<HashMap<String, Ticket>>,
}

impl LinkTickets {
    /// Issues a ticket for `user_id` of `app_id`, holding the session's hash.
    pub(crate) fn issue(
        &self,
        app_id: &str,
        user_id: &str,
        session_sha256: &str,
    ) -> Result<String, IssueError> {
        let ticket = try_random_hex(32).map_err(IssueError::Random)?;
        let now = Instant::now();
        let mut book = self.by_hash.lock().unwrap_or_else(|p| p.into_inner());
        book.retain(|_, t| t.expires > now);
        let theirs = |t: &Ticket| t.app_id == app_id && t.redeemed.user_id == user_id;
        if book.values().filter(|t| theirs(t)).count() >= MAX_TICKETS_PER_USER {
            drop_oldest(&mut book, theirs);
        }
        if book.len() >= MAX_TICKETS {
            drop_oldest(&mut book, |_| true);
        }
        book.insert(
            sha256_hex(&ticket),
            Ticket {
                app_id: app_id.to_owned(),
                redeemed: Redeemed {
                    user_id: user_id.to_owned(),
                    session_sha256: session_sha256.to_owned(),
                },
                expires: now + TICKET_TTL,
                serial: SERIAL.fetch_add(1, Ordering::Relaxed),
            },
        );
        Ok(ticket)
    }

    /// Redeems a ticket of `app_id`, once: `None` when it is unknown,
    /// expired, used, or another app's (a ticket of another app is not
    /// spent by the attempt).
    pub(crate) fn redeem(&self, app_id: &str, ticket: &str) -> Option<Redeemed> {
        let hash = sha256_hex(ticket);
        let mut book = self.by_hash.lock().unwrap_or_else(|p| p.into_inner());
        if book.get(&hash)?.app_id != app_id {
            return None;
        }
        let found = book.remove(&hash)?;
        (found.expires > Instant::now()).then_some(found.redeemed)
    }

    /// Makes every ticket of `app_id` expire now (tests of expiry).
    #[cfg(test)]
    fn expire_all(&self) {
        let mut book = self.by_hash.lock().unwrap_or_else(|p| p.into_inner());
        for t in book.values_mut() {
            t.expires = Instant::now();
        }
    }
}

/// Drops the ticket issued first among those `which` picks.
fn drop_oldest(book: &mut HashMap<String, Ticket>, which: impl Fn(&Ticket) -> bool) {
    let oldest = book
        .iter()
        .filter(|(_, t)| which(t))
        .min_by_key(|(_, t)| t.serial)
        .map(|(hash, _)| hash.clone());
    if let Some(hash) = oldest {
        book.remove(&hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_is_single_use_bound_to_its_app_and_expires() {
        let book = LinkTickets::default();
        let t = book.issue("app", "u1", "hash").unwrap();
        assert_eq!(t.len(), 64);
        assert_eq!(book.redeem("other", &t), None, "another app's");
        let r = book.redeem("app", &t).unwrap();
        assert_eq!(
            (r.user_id.as_str(), r.session_sha256.as_str()),
            ("u1", "hash")
        );
        assert_eq!(book.redeem("app", &t), None, "used");
        let t = book.issue("app", "u1", "hash").unwrap();
        book.expire_all();
        assert_eq!(book.redeem("app", &t), None, "expired");
        assert!(!format!("{:?}", book.by_hash.lock().unwrap().keys()).contains(&t));
    }

    #[test]
    fn a_full_book_drops_the_oldest_and_one_user_cannot_fill_it() {
        let book = LinkTickets::default();
        let first = book.issue("app", "flooder", "h").unwrap();
        for _ in 0..MAX_TICKETS_PER_USER {
            book.issue("app", "flooder", "h").unwrap();
        }
        assert_eq!(book.redeem("app", &first), None, "their oldest is gone");
        for i in 0..MAX_TICKETS {
            book.issue("app", &format!("u{i}"), "h").unwrap();
        }
        assert_eq!(book.by_hash.lock().unwrap().len(), MAX_TICKETS);
        let t = book.issue("other", "victim", "h").unwrap();
        assert!(
            book.redeem("other", &t).is_some(),
            "a full book still issues"
        );
    }
}
