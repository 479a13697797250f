//! Objects on PostgreSQL: JSON values by key, per app and owner; files
//! share their keys (an object written under a file's key replaces it, and
//! files are listed among objects as their metadata). Same semantics as
//! `sqlite/objects.rs`; keys sort bytewise (`COLLATE "C"`) as in SQLite.

use std::collections::HashMap;

use serde_json::{Map, Value};
use tokio_postgres::Transaction;

use super::acl;
use super::db::Pg;
use super::files;
use crate::store::values::{deep_merge, parse_stored};
use crate::store::{StoreResult, Written, now_ms};

impl Pg {
    /// Objects of one owner, ordered by key: all, or the given keys that
    /// exist (in the order asked).
    pub(super) async fn read_objects(
        &self,
        app_id: &str,
        owner: &str,
        keys: Option<&[String]>,
    ) -> StoreResult<Vec<(String, Value)>> {
        let client = self.client().await?;
        let Some(keys) = keys else {
            let rows = client
                .query(
                    "SELECT key, value FROM objects WHERE app_id = $1 AND owner = $2
                     ORDER BY key COLLATE \"C\"",
                    &[&app_id, &owner],
                )
                .await?;
            let mut out: Vec<(String, Value)> = rows
                .iter()
                .map(|r| (r.get(0), parse_stored(r.get::<_, &str>(1))))
                .collect();
            let files = files::all(&client, app_id, owner).await?;
            if !files.is_empty() {
                out.extend(files.into_iter().map(|f| (f.key.clone(), f.to_value())));
                out.sort_by(|a, b| a.0.cmp(&b.0));
            }
            return Ok(out);
        };
        let rows = client
            .query(
                "SELECT key, value FROM objects WHERE app_id = $1 AND owner = $2 AND key = ANY($3)",
                &[&app_id, &owner, &keys],
            )
            .await?;
        let found: HashMap<String, Value> = rows
            .iter()
            .map(|r| (r.get(0), parse_stored(r.get::<_, &str>(1))))
            .collect();
        let files: HashMap<String, Value> = files::some(&client, app_id, owner, keys)
            .await?
            .into_iter()
            .map(|f| (f.key.clone(), f.to_value()))
            .collect();
        let mut out = Vec::new();
        for key in keys {
            if let Some(value) = found.get(key) {
                out.push((key.clone(), value.clone()));
            } else if let Some(file) = files.get(key) {
                out.push((key.clone(), file.clone()));
            }
        }
        Ok(out)
    }

    /// Writes objects in one transaction; `merge` deep-merges into existing
    /// values. An object written under a file's key replaces the file.
    pub(super) async fn write_objects(
        &self,
        app_id: &str,
        owner: &str,
        objects: &Map<String, Value>,
        merge: bool,
    ) -> StoreResult<Vec<(String, Written)>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let mut out = Vec::with_capacity(objects.len());
        for (key, value) in objects {
            let replaced_file = files::delete_key(&tx, app_id, owner, key).await?;
            let existed = write_one(&tx, [app_id, owner, key], value, merge).await?;
            let written = if existed || replaced_file {
                Written::Updated
            } else {
                Written::Created
            };
            out.push((key.clone(), written));
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Deletes objects and files in one transaction; each key with whether
    /// it existed.
    pub(super) async fn remove_objects(
        &self,
        app_id: &str,
        owner: &str,
        keys: &[String],
    ) -> StoreResult<Vec<(String, bool)>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let n = tx
                .execute(
                    "DELETE FROM objects WHERE app_id = $1 AND owner = $2 AND key = $3",
                    &[&app_id, &owner, &key],
                )
                .await?;
            let file = files::delete_key(&tx, app_id, owner, key).await?;
            acl::sync_access(&tx, app_id, owner, key, None).await?;
            out.push((key.clone(), n > 0 || file));
        }
        tx.commit().await?;
        Ok(out)
    }
}

/// Writes one object (`[app_id, owner, key]`); true when it existed. The
/// row is locked while it is merged; an insert that races another
/// instance's insert of the same key falls back to the update.
async fn write_one(
    tx: &Transaction<'_>,
    [app_id, owner, key]: [&str; 3],
    value: &Value,
    merge: bool,
) -> StoreResult<bool> {
    let now = now_ms();
    for _ in 0..2 {
        let existing = tx
            .query_opt(
                "SELECT value FROM objects WHERE app_id = $1 AND owner = $2 AND key = $3
                 FOR UPDATE",
                &[&app_id, &owner, &key],
            )
            .await?;
        if let Some(row) = existing {
            let new_value = if merge {
                let mut current = parse_stored(row.get::<_, &str>(0));
                deep_merge(&mut current, value);
                current
            } else {
                value.clone()
            };
            tx.execute(
                "UPDATE objects SET value = $4, updated = $5
                 WHERE app_id = $1 AND owner = $2 AND key = $3",
                &[&app_id, &owner, &key, &new_value.to_string(), &now],
            )
            .await?;
            acl::sync_access(tx, app_id, owner, key, Some(&new_value)).await?;
            return Ok(true);
        }
        let n = tx
            .execute(
                "INSERT INTO objects (app_id, owner, key, value, created, updated)
                 VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING",
                &[&app_id, &owner, &key, &value.to_string(), &now],
            )
            .await?;
        if n == 1 {
            acl::sync_access(tx, app_id, owner, key, Some(value)).await?;
            return Ok(false);
        }
    }
    Err(crate::store::StoreError::Invalid(format!(
        "the object {key:?} changed while it was written; try again"
    )))
}
