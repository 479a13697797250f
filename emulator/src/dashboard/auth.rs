//! Who may see the dashboard: with a password, a login form, a session
//! cookie (`HttpOnly; SameSite=Strict; Path=/_dashboard`, `Secure` behind
//! an https public URL) naming a random 256-bit session id kept only as its
//! SHA-256, and a lockout: after [`MAX_FAILURES`] wrong passwords in a row
//! the form refuses every attempt for [`LOCKOUT`]. The lockout is global,
//! not per source address: behind a proxy every address is the proxy's, and
//! an attacker with many addresses would get five guesses per address;
//! the price is that anyone who reaches the form can lock it for a while.
//! Without a password (`--dashboard`, loopback only) a visit to the login
//! page makes a session at once, so forms still carry CSRF tokens.
//! Sessions live in this instance's memory only.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};

use super::session::Session;
use crate::crypto::{constant_time_eq, random_hex, sha256_hex};

/// Wrong passwords in a row that lock the form.
pub(crate) const MAX_FAILURES: u32 = 5;
/// How long the form stays locked.
pub(crate) const LOCKOUT: Duration = Duration::from_secs(5 * 60);
/// How long a dashboard session lasts.
pub(crate) const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at once; the oldest goes first.
const MAX_SESSIONS: usize = 256;
/// The session cookie's name.
pub(crate) const COOKIE: &str = "cm_dashboard";

struct Live {
    csrf: String,
    expires: Instant,
    created: Instant,
}

#[derive(Default)]
struct Lockout {
    failures: u32,
    until: Option<Instant>,
}

/// The dashboard's sessions and lockout.
pub(crate) struct Auth {
    /// SHA-256 of the password; `None`: no login (open mode).
    pub(crate) password_sha: Option<String>,
    sessions: Mutex<HashMap<String, Live>>,
    lockout: Mutex<Lockout>,
}

impl Auth {
    pub(crate) fn new(password: Option<String>) -> Self {
        Auth {
            password_sha: password.map(|p| sha256_hex(&p)),
            sessions: Mutex::new(HashMap::new()),
            lockout: Mutex::new(Lockout::default()),
        }
    }

    /// A new session: its id (for the cookie only).
    pub(crate) fn start(&self) -> String {
        let id = random_hex(32);
        let now = Instant::now();
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.retain(|_, s| s.expires > now);
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.created)
                .map(|(k, _)| k.clone())
        {
            sessions.remove(&oldest);
        }
        let live = Live {
            csrf: random_hex(32),
            expires: now + SESSION_TTL,
            created: now,
        };
        sessions.insert(sha256_hex(&id), live);
        id
    }

    /// The live session a cookie names.
    /// Every candidate cookie is tried: one tossed in for a longer path (by
    /// another site on this host name: cookies ignore ports) and so sent
    /// first must not hide the real one.
    pub(crate) fn find(&self, headers: &HeaderMap) -> Option<Session> {
        let now = Instant::now();
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let (id_hash, live) = cookie_values(headers).find_map(|id| {
            let id_hash = sha256_hex(&id);
            let live = sessions.get(&id_hash).filter(|s| s.expires > now)?;
            Some((id_hash, live))
        })?;
        Some(Session {
            csrf: live.csrf.clone(),
            id_hash,
            can_log_out: self.password_sha.is_some(),
        })
    }

    pub(crate) fn end(&self, session: &Session) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.remove(&session.id_hash);
    }

    /// How long the form stays locked, if it is.
    pub(crate) fn locked_for(&self) -> Option<Duration> {
        let lock = self.lockout.lock().unwrap_or_else(|p| p.into_inner());
        lock.until
            .and_then(|until| until.checked_duration_since(Instant::now()))
    }

    /// Checks a password (unless locked); a failure may lock the form.
    pub(crate) fn check(&self, given: &str) -> Attempt {
        let Some(expected) = &self.password_sha else {
            return Attempt::Right;
        };
        let mut lock = self.lockout.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = lock.until {
            if until > Instant::now() {
                return Attempt::Locked;
            }
            *lock = Lockout::default();
        }
        if constant_time_eq(sha256_hex(given).as_bytes(), expected.as_bytes()) {
            *lock = Lockout::default();
            return Attempt::Right;
        }
        lock.failures += 1;
        if lock.failures >= MAX_FAILURES {
            lock.until = Some(Instant::now() + LOCKOUT);
            return Attempt::Locked;
        }
        Attempt::Wrong
    }
}

pub(crate) enum Attempt {
    Right,
    Wrong,
    Locked,
}

/// The session cookies tried per request, at most.
const MAX_CANDIDATES: usize = 8;

/// The well-formed values of every session cookie sent, in order.
fn cookie_values(headers: &HeaderMap) -> impl Iterator<Item = String> + '_ {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, value)| *name == COOKIE && value.len() == 64)
        .map(|(_, value)| value.to_owned())
        .take(MAX_CANDIDATES)
}
