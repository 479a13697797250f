//! The listing of one app's social logins for the dashboard: what both
//! backends return from `Store::social_logins`. It carries no secret: the
//! challenge is reduced to a short id (the first 8 hex digits of its
//! SHA-256), and the provider `state`, PKCE challenge and session token
//! are never read.

use crate::crypto::sha256_hex;

/// The columns both backends read for the listing, in this order:
/// challenge (hashed at once), network, status, error, user, expiry.
pub(crate) const LISTED_COLUMNS: &str = "challenge, network, status, error, user_id, expires_ms";

/// Where a listed login stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginState {
    /// Waiting for the provider (possibly past its expiry, not yet swept).
    Pending,
    /// A session was made for this user; the client has not collected it.
    Finished {
        /// The user.
        user_id: String,
    },
    /// The login failed with this OAuth-style error code.
    Failed {
        /// The error code (`access_denied` when the person said no).
        error: String,
    },
}

/// One social login as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginSummary {
    /// The first 8 hex digits of the challenge's SHA-256 (not the challenge).
    pub short_id: String,
    /// The network (lowercase).
    pub network: String,
    /// Where it stands.
    pub state: LoginState,
    /// When the login expires (ms since the epoch).
    pub expires_ms: i64,
}

impl LoginSummary {
    /// A summary from the [`LISTED_COLUMNS`] of one row.
    pub(crate) fn from_columns(
        challenge: &str,
        network: String,
        status: &str,
        error: Option<String>,
        user_id: Option<String>,
        expires_ms: i64,
    ) -> Self {
        let state = match status {
            "finished" => LoginState::Finished {
                user_id: user_id.unwrap_or_default(),
            },
            "failed" => LoginState::Failed {
                error: error.unwrap_or_default(),
            },
            _ => LoginState::Pending,
        };
        let mut short_id = sha256_hex(challenge);
        short_id.truncate(8);
        LoginSummary {
            short_id,
            network,
            state,
            expires_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_only_kept_as_a_short_hash() {
        let s = LoginSummary::from_columns("secret-challenge", "x".into(), "failed", None, None, 1);
        assert_eq!(s.short_id, sha256_hex("secret-challenge")[..8]);
        assert!(!format!("{s:?}").contains("secret-challenge"));
        assert_eq!(
            s.state,
            LoginState::Failed {
                error: String::new()
            }
        );
        let f = LoginSummary::from_columns("c", "x".into(), "finished", None, Some("u".into()), 1);
        assert_eq!(
            f.state,
            LoginState::Finished {
                user_id: "u".into()
            }
        );
        let p = LoginSummary::from_columns("c", "x".into(), "odd", None, None, 1);
        assert_eq!(p.state, LoginState::Pending);
    }
}
