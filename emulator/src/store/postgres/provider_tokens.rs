//! The provider access tokens social logins got, one per (app, user,
//! network), on PostgreSQL (as `sqlite/provider_tokens.rs`). Stored as
//! given (not encrypted at rest, see SECURITY.md).

use super::db::Pg;
use super::locks::execute_bounded;
use crate::store::{StoreResult, now_ms};

impl Pg {
    /// Keeps `token` as the user's access token at `network`, replacing an
    /// older one. One `INSERT … ON CONFLICT DO UPDATE`: two instances
    /// storing at once leave one row, the later write's token.
    pub async fn put_provider_token(
        &self,
        app_id: &str,
        user_id: &str,
        network: &str,
        token: &str,
    ) -> StoreResult<()> {
        execute_bounded(
            &mut self.client().await?,
            "INSERT INTO provider_tokens (app_id, user_id, network, token, updated)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (app_id, user_id, network)
                 DO UPDATE SET token = excluded.token, updated = excluded.updated",
            &[&app_id, &user_id, &network, &token, &now_ms()],
        )
        .await?;
        Ok(())
    }

    /// The user's access token at `network`, if a login kept one.
    pub async fn provider_token(
        &self,
        app_id: &str,
        user_id: &str,
        network: &str,
    ) -> StoreResult<Option<String>> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT token FROM provider_tokens
                 WHERE app_id = $1 AND user_id = $2 AND network = $3",
                &[&app_id, &user_id, &network],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_db;

    #[tokio::test]
    async fn a_token_is_per_app_user_and_network() {
        let Some(pg) = test_db::fresh("provider_tokens").await else {
            return;
        };
        pg.put_provider_token("app", "u1", "github", "old")
            .await
            .unwrap();
        pg.put_provider_token("app", "u1", "github", "new")
            .await
            .unwrap();
        let get = |a: &'static str, u: &'static str, n: &'static str| {
            let pg = pg.clone();
            async move { pg.provider_token(a, u, n).await.unwrap() }
        };
        assert_eq!(get("app", "u1", "github").await.as_deref(), Some("new"));
        assert_eq!(get("app", "u1", "twitter").await, None);
        assert_eq!(get("other", "u1", "github").await, None);
        assert_eq!(get("app", "u2", "github").await, None);
    }
}
