//! Providers' access tokens of social logins on PostgreSQL. Not
//! implemented in this file yet: every method refuses (the real one
//! replaces this file).

use super::db::Pg;
use crate::store::{StoreError, StoreResult};

impl Pg {
    /// Keeps the provider's access token of a user at `network`.
    pub async fn put_provider_token(
        &self,
        _app_id: &str,
        _user_id: &str,
        _network: &str,
        _token: &str,
    ) -> StoreResult<()> {
        Err(StoreError::Invalid("not implemented yet".into()))
    }

    /// The kept provider access token of a user at `network`.
    pub async fn provider_token(
        &self,
        _app_id: &str,
        _user_id: &str,
        _network: &str,
    ) -> StoreResult<Option<String>> {
        Err(StoreError::Invalid("not implemented yet".into()))
    }
}
