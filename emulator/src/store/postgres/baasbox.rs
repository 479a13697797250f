//! BaasBox users, sessions and links on PostgreSQL. Not implemented in
//! this file yet: every method refuses (the real one replaces this file).

use super::db::Pg;
use crate::store::{BbLink, BbUser, LinkOutcome, StoreError, StoreResult, UnlinkOutcome};

fn not_yet<T>() -> StoreResult<T> {
    Err(StoreError::Invalid("not implemented yet".into()))
}

impl Pg {
    /// Creates a BaasBox user; `false` when the name is taken.
    pub async fn bb_create_user(&self, _user: &BbUser) -> StoreResult<bool> {
        not_yet()
    }

    /// A BaasBox user by name.
    pub async fn bb_user(&self, _username: &str) -> StoreResult<Option<BbUser>> {
        not_yet()
    }

    /// Starts a BaasBox session.
    pub async fn bb_create_session(
        &self,
        _token_sha256: &str,
        _username: &str,
        _expires_ms: i64,
    ) -> StoreResult<()> {
        not_yet()
    }

    /// The user of a live BaasBox session.
    pub async fn bb_session_user(&self, _token_sha256: &str) -> StoreResult<Option<String>> {
        not_yet()
    }

    /// Ends a BaasBox session.
    pub async fn bb_delete_session(&self, _token_sha256: &str) -> StoreResult<()> {
        not_yet()
    }

    /// A BaasBox user's links, by network.
    pub async fn bb_links(&self, _username: &str) -> StoreResult<Vec<BbLink>> {
        not_yet()
    }

    /// Logs in with an identity: its user, or `new_user` linked to it.
    pub async fn bb_social_login(
        &self,
        _link: &BbLink,
        _new_user: &BbUser,
    ) -> StoreResult<(String, bool)> {
        not_yet()
    }

    /// Links an identity to a user.
    pub async fn bb_link(&self, _username: &str, _link: &BbLink) -> StoreResult<LinkOutcome> {
        not_yet()
    }

    /// Unlinks a network, unless it is the user's only way to log in.
    pub async fn bb_unlink(&self, _username: &str, _network: &str) -> StoreResult<UnlinkOutcome> {
        not_yet()
    }
}
