//! Sessions and password resets on PostgreSQL, by their tokens' SHA-256.

use super::db::Pg;
use crate::store::{StoreError, StoreResult, now_ms};

impl Pg {
    /// Stores a session; an error when the user does not exist.
    pub(super) async fn insert_session(
        &self,
        token_sha256: &str,
        app_id: &str,
        user_id: &str,
        expires_ms: i64,
    ) -> StoreResult<()> {
        let n = self
            .client()
            .await?
            .execute(
                "INSERT INTO sessions (token_sha256, app_id, user_id, expires_ms)
                 SELECT $1, $2, $3, $4 WHERE EXISTS
                     (SELECT 1 FROM users WHERE app_id = $2 AND id = $3)",
                &[&token_sha256, &app_id, &user_id, &expires_ms],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::Invalid(format!(
                "no user {user_id} in app {app_id}"
            )));
        }
        Ok(())
    }

    /// The user of a live session of `app_id`.
    pub(super) async fn live_session_user(
        &self,
        app_id: &str,
        token_sha256: &str,
    ) -> StoreResult<Option<String>> {
        // Every call checks a session: the statement is prepared once per
        // connection (one round trip a call instead of two).
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT user_id FROM sessions
                 WHERE token_sha256 = $1 AND app_id = $2 AND expires_ms > $3",
            )
            .await?;
        Ok(client
            .query_opt(&stmt, &[&token_sha256, &app_id, &now_ms()])
            .await?
            .map(|r| r.get(0)))
    }

    /// Ends a session.
    pub(super) async fn remove_session(&self, token_sha256: &str) -> StoreResult<()> {
        self.client()
            .await?
            .execute(
                "DELETE FROM sessions WHERE token_sha256 = $1",
                &[&token_sha256],
            )
            .await?;
        Ok(())
    }

    /// A user's live sessions: token SHA-256 and expiry, soonest first.
    pub(super) async fn live_sessions_of(
        &self,
        app_id: &str,
        user_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<(String, i64)>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .client()
            .await?
            .query(
                "SELECT token_sha256, expires_ms FROM sessions
                 WHERE app_id = $1 AND user_id = $2 AND expires_ms > $3
                 ORDER BY expires_ms, token_sha256 LIMIT $4",
                &[&app_id, &user_id, &now_ms(), &limit],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Stores a password-reset token.
    pub(super) async fn insert_reset(
        &self,
        token_sha256: &str,
        app_id: &str,
        user_id: &str,
        expires_ms: i64,
    ) -> StoreResult<()> {
        self.client()
            .await?
            .execute(
                "INSERT INTO password_resets (token_sha256, app_id, user_id, expires_ms)
                 VALUES ($1, $2, $3, $4)",
                &[&token_sha256, &app_id, &user_id, &expires_ms],
            )
            .await?;
        Ok(())
    }

    /// Consumes a reset token (live or not: it is deleted either way, in
    /// one statement, so two instances cannot both use it); its user when
    /// it was live and of `app_id`.
    pub(super) async fn consume_reset(
        &self,
        token_sha256: &str,
        app_id: &str,
    ) -> StoreResult<Option<String>> {
        let row = self
            .client()
            .await?
            .query_opt(
                "DELETE FROM password_resets WHERE token_sha256 = $1
                 RETURNING user_id, app_id, expires_ms",
                &[&token_sha256],
            )
            .await?;
        Ok(row.and_then(|r| {
            let (user, app, expires): (String, String, i64) = (r.get(0), r.get(1), r.get(2));
            (app == app_id && expires > now_ms()).then_some(user)
        }))
    }
}
