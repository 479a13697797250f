//! The provider access tokens social logins got, one per (app, user,
//! network), kept for social graph queries. Stored as given (not encrypted
//! at rest, see SECURITY.md); they leave the emulator only towards the
//! network's API.

use rusqlite::{OptionalExtension, params};

use super::db::Db;
use crate::store::{StoreError, now_ms};

impl Db {
    /// Keeps `token` as the user's access token at `network`, replacing an
    /// older one.
    pub fn put_provider_token(
        &self,
        app_id: &str,
        user_id: &str,
        network: &str,
        token: &str,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO provider_tokens (app_id, user_id, network, token, updated)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (app_id, user_id, network)
             DO UPDATE SET token = excluded.token, updated = excluded.updated",
            params![app_id, user_id, network, token, now_ms()],
        )?;
        Ok(())
    }

    /// The user's access token at `network`, if a login kept one.
    pub fn provider_token(
        &self,
        app_id: &str,
        user_id: &str,
        network: &str,
    ) -> Result<Option<String>, StoreError> {
        let token = self
            .conn()
            .query_row(
                "SELECT token FROM provider_tokens
                 WHERE app_id = ?1 AND user_id = ?2 AND network = ?3",
                params![app_id, user_id, network],
                |r| r.get(0),
            )
            .optional()?;
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn a_token_is_per_app_user_and_network_and_goes_with_its_user() {
        let db = Db::open(Path::new(":memory:")).unwrap();
        db.create_user("app", "u1", "u1@example.com").unwrap();
        db.put_provider_token("app", "u1", "github", "old").unwrap();
        db.put_provider_token("app", "u1", "github", "new").unwrap();
        let get = |a, u, n| db.provider_token(a, u, n).unwrap();
        assert_eq!(get("app", "u1", "github").as_deref(), Some("new"));
        assert_eq!(get("app", "u1", "twitter"), None);
        assert_eq!(get("other", "u1", "github"), None);
        assert_eq!(get("app", "u2", "github"), None);
        db.delete_user("app", "u1").unwrap();
        assert_eq!(get("app", "u1", "github"), None);
    }
}
