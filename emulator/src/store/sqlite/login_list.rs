//! The dashboard's listing of one app's social logins on SQLite (read
//! only; see `store/login_list.rs`).

use rusqlite::params;

use super::db::Db;
use crate::store::{LISTED_COLUMNS, LoginSummary, StoreError};

impl Db {
    /// The logins of `app_id` still kept, latest expiry first, at most
    /// `limit`.
    pub fn social_logins(
        &self,
        app_id: &str,
        limit: usize,
    ) -> Result<Vec<LoginSummary>, StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {LISTED_COLUMNS} FROM social_logins WHERE app_id = ?1
             ORDER BY expires_ms DESC, challenge LIMIT ?2"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![app_id, limit], |r| {
            let challenge: String = r.get(0)?;
            let status: String = r.get(2)?;
            Ok(LoginSummary::from_columns(
                &challenge,
                r.get(1)?,
                &status,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
