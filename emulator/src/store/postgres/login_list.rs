//! The dashboard's listing of one app's social logins on PostgreSQL (read
//! only; see `store/login_list.rs`).

use super::db::Pg;
use crate::store::{LISTED_COLUMNS, LoginSummary, StoreResult};

impl Pg {
    /// The logins of `app_id` still kept, latest expiry first, at most
    /// `limit`.
    pub(super) async fn list_social_logins(
        &self,
        app_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<LoginSummary>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .client()
            .await?
            .query(
                &format!(
                    "SELECT {LISTED_COLUMNS} FROM social_logins WHERE app_id = $1
                     ORDER BY expires_ms DESC, challenge LIMIT $2"
                ),
                &[&app_id, &limit],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let challenge: String = r.get(0);
                let status: String = r.get(2);
                LoginSummary::from_columns(
                    &challenge,
                    r.get(1),
                    &status,
                    r.get(3),
                    r.get(4),
                    r.get(5),
                )
            })
            .collect())
    }
}
