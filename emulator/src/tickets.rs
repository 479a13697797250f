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
use std::time::{Duration, Instant};

use crate::crypto::{sha256_hex, try_random_hex};

/// How long a ticket may wait before the start URL redeems it.
pub(crate) const TICKET_TTL: Duration = Duration::from_secs(120);

/// The most tickets in flight at once; beyond, issuing is refused.
const MAX_TICKETS: usize = 10_000;

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
}

/// Why no ticket was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IssueError {
    /// [`MAX_TICKETS`] are in flight.
    Full,
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
        if book.len() >= MAX_TICKETS {
            return Err(IssueError::Full);
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
}
