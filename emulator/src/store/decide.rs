//! The decisions every backend makes the same way, from what it read inside
//! its transaction: who a social identity logs in as, whether a BaasBox
//! link or unlink may go ahead, and a stored login's outcome. The backends
//! only read the facts and write the result; the rules live here once.

use crate::store::{LinkOutcome, LoginOutcome, UnlinkOutcome};

/// How long a challenge stays refused after its login was consumed.
pub(crate) const USED_CHALLENGE_TTL_MS: i64 = 10 * 60 * 1000;

/// What to do with a social identity, given the user it is linked to (if
/// any) and the user a login asked to link it to (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IdentityStep {
    /// Linking was asked, but the identity is another user's.
    Conflict,
    /// The identity is this user's already.
    Existing(String),
    /// Link the identity to this (existing) user.
    Link(String),
    /// Create a user for the identity and link it.
    Create,
}

/// Decides [`IdentityStep`] from the identity's current owner and the
/// user to link to.
pub(crate) fn identity_step(owner: Option<String>, link_user: Option<&str>) -> IdentityStep {
    match (owner, link_user) {
        (Some(owner), Some(link)) if owner != link => IdentityStep::Conflict,
        (Some(owner), _) => IdentityStep::Existing(owner),
        (None, Some(link)) => IdentityStep::Link(link.to_owned()),
        (None, None) => IdentityStep::Create,
    }
}

/// The outcome of linking an identity to `username`, given the identity's
/// current owner and whether the user has another identity of that
/// network; `None` when the link is to be written.
pub(crate) fn link_outcome(
    owner: Option<&str>,
    username: &str,
    network_taken: bool,
) -> Option<LinkOutcome> {
    match owner {
        Some(owner) if owner == username => Some(LinkOutcome::AlreadyLinked),
        Some(_) => Some(LinkOutcome::OwnedByOther),
        None if network_taken => Some(LinkOutcome::NetworkTaken),
        None => None,
    }
}

/// The outcome of unlinking a network, given whether it is linked, whether
/// the user has a password and how many links they have:
/// [`UnlinkOutcome::Removed`] means the link is to be deleted.
pub(crate) fn unlink_outcome(linked: bool, has_password: bool, links: i64) -> UnlinkOutcome {
    if !linked {
        UnlinkOutcome::NotLinked
    } else if !has_password && links <= 1 {
        UnlinkOutcome::LastLoginMethod
    } else {
        UnlinkOutcome::Removed
    }
}

/// The `social_logins` columns a stored login is read from, in this order
/// (both backends): its fields, then the [`StoredOutcome`] columns.
pub(crate) const LOGIN_COLUMNS: &str = "challenge, app_id, network, redirect_uri, code_challenge, \
     link_user_id, status, error, error_description, user_id, session_token, session_expires_ms";

/// The columns of a stored login's outcome, as both backends keep them.
#[derive(Debug, Default)]
pub(crate) struct StoredOutcome {
    /// `pending`, `finished` or `failed`.
    pub status: String,
    /// A failed login's error code.
    pub error: Option<String>,
    /// A failed login's description.
    pub description: Option<String>,
    /// A finished login's user.
    pub user_id: Option<String>,
    /// A finished login's session token (plain until taken).
    pub token: Option<String>,
    /// A finished login's session expiry.
    pub expires_ms: Option<i64>,
}

impl StoredOutcome {
    /// The [`LoginOutcome`] these columns stand for; an unknown status is
    /// still pending.
    pub(crate) fn into_outcome(self) -> LoginOutcome {
        match self.status.as_str() {
            "finished" => LoginOutcome::Finished {
                user_id: self.user_id.unwrap_or_default(),
                token: self.token.unwrap_or_default(),
                expires_ms: self.expires_ms.unwrap_or(0),
            },
            "failed" => LoginOutcome::Failed {
                error: self.error.unwrap_or_default(),
                description: self.description.unwrap_or_default(),
            },
            _ => LoginOutcome::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_goes_to_its_owner_or_the_linking_user_or_a_new_one() {
        let owner = || Some("u1".to_owned());
        assert_eq!(identity_step(owner(), Some("u2")), IdentityStep::Conflict);
        assert_eq!(
            identity_step(owner(), Some("u1")),
            IdentityStep::Existing("u1".into())
        );
        assert_eq!(
            identity_step(owner(), None),
            IdentityStep::Existing("u1".into())
        );
        assert_eq!(
            identity_step(None, Some("u2")),
            IdentityStep::Link("u2".into())
        );
        assert_eq!(identity_step(None, None), IdentityStep::Create);
    }

    #[test]
    fn links_and_unlinks_follow_the_rules() {
        assert_eq!(
            link_outcome(Some("a"), "a", false),
            Some(LinkOutcome::AlreadyLinked)
        );
        assert_eq!(
            link_outcome(Some("b"), "a", false),
            Some(LinkOutcome::OwnedByOther)
        );
        assert_eq!(
            link_outcome(None, "a", true),
            Some(LinkOutcome::NetworkTaken)
        );
        assert_eq!(link_outcome(None, "a", false), None);
        assert_eq!(unlink_outcome(false, false, 0), UnlinkOutcome::NotLinked);
        assert_eq!(
            unlink_outcome(true, false, 1),
            UnlinkOutcome::LastLoginMethod
        );
        assert_eq!(unlink_outcome(true, true, 1), UnlinkOutcome::Removed);
        assert_eq!(unlink_outcome(true, false, 2), UnlinkOutcome::Removed);
    }

    #[test]
    fn stored_outcomes_read_back() {
        let finished = StoredOutcome {
            status: "finished".into(),
            user_id: Some("u".into()),
            token: Some("t".into()),
            expires_ms: Some(5),
            ..StoredOutcome::default()
        };
        assert_eq!(
            finished.into_outcome(),
            LoginOutcome::Finished {
                user_id: "u".into(),
                token: "t".into(),
                expires_ms: 5
            }
        );
        let failed = StoredOutcome {
            status: "failed".into(),
            error: Some("e".into()),
            ..StoredOutcome::default()
        };
        assert_eq!(
            failed.into_outcome(),
            LoginOutcome::Failed {
                error: "e".into(),
                description: String::new()
            }
        );
        let odd = StoredOutcome {
            status: "odd".into(),
            ..StoredOutcome::default()
        };
        assert_eq!(odd.into_outcome(), LoginOutcome::Pending);
    }
}
