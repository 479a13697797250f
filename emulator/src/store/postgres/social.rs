//! Social logins on PostgreSQL: linked identities and logins in flight.
//! Not implemented in this file yet: every method refuses (the real one
//! replaces this file).

use super::db::Pg;
use crate::model::Identity;
use crate::store::{LoginOutcome, NewLogin, PendingLogin, SocialUser, StoreError, StoreResult};

fn not_yet<T>() -> StoreResult<T> {
    Err(StoreError::Invalid("not implemented yet".into()))
}

impl Pg {
    /// The user of a social identity: found, linked to `link_user`, or new.
    pub async fn social_user(
        &self,
        _app_id: &str,
        _identity: &Identity,
        _link_user: Option<&str>,
    ) -> StoreResult<SocialUser> {
        not_yet()
    }

    /// Stores a pending login; `false` when its challenge is taken.
    pub async fn insert_login(&self, _login: &NewLogin) -> StoreResult<bool> {
        not_yet()
    }

    /// The live login with this provider `state`.
    pub async fn login_by_state(&self, _state: &str) -> StoreResult<Option<PendingLogin>> {
        not_yet()
    }

    /// Records a pending login's outcome.
    pub async fn settle_login(
        &self,
        _challenge: &str,
        _outcome: &LoginOutcome,
        _token_sha256: Option<&str>,
    ) -> StoreResult<bool> {
        not_yet()
    }

    /// The live login with this challenge; a settled one is consumed.
    pub async fn take_login(
        &self,
        _app_id: &str,
        _challenge: &str,
    ) -> StoreResult<Option<PendingLogin>> {
        not_yet()
    }
}
