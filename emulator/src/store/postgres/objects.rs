//! Objects on PostgreSQL: JSON values by key, per app and owner; files
//! share their keys (an object written under a file's key replaces it, and
//! files are listed among objects as their metadata). Same semantics as
//! `sqlite/objects.rs`; keys sort bytewise (`COLLATE "C"`) as in SQLite.

use std::collections::HashMap;

use deadpool_postgres::Transaction;
use serde_json::{Map, Value};

use super::acl;
use super::db::Pg;
use super::files;
use crate::store::values::{deep_merge, parse_stored};
use crate::store::{StoreResult, Written, now_ms};

/// Objects and files among the keys `$3`: the files' columns in the order
/// `files::meta_from_row` reads them, then the object's value (NULL for a
/// file).
const BY_KEYS: &str = "
SELECT key, NULL::text, NULL::int8, NULL::text, NULL::text, NULL::int8, NULL::int8, value
  FROM objects WHERE app_id = $1 AND owner = $2 AND key = ANY($3)
UNION ALL
SELECT key, sha256, size, content_type, filename, created, updated, NULL::text
  FROM files WHERE app_id = $1 AND owner = $2 AND key = ANY($3)";

/// The column of [`BY_KEYS`] holding an object's value.
const BY_KEYS_VALUE: usize = 7;

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
            let stmt = client
                .prepare_cached(
                    "SELECT key, value FROM objects WHERE app_id = $1 AND owner = $2
                     ORDER BY key COLLATE \"C\"",
                )
                .await?;
            let rows = client.query(&stmt, &[&app_id, &owner]).await?;
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
        // Objects and files in one statement (one snapshot, one round trip).
        let stmt = client.prepare_cached(BY_KEYS).await?;
        let rows = client.query(&stmt, &[&app_id, &owner, &keys]).await?;
        let mut found: HashMap<String, Value> = HashMap::with_capacity(rows.len());
        for row in &rows {
            match row.get::<_, Option<&str>>(BY_KEYS_VALUE) {
                Some(text) => {
                    found.insert(row.get(0), parse_stored(text));
                }
                // A key is an object or a file; the object wins if a race
                // ever left both.
                None => {
                    let file = files::meta_from_row(row);
                    found
                        .entry(file.key.clone())
                        .or_insert_with(|| file.to_value());
                }
            }
        }
        Ok(keys
            .iter()
            .filter_map(|key| found.get(key).map(|v| (key.clone(), v.clone())))
            .collect())
    }

    /// Writes objects in one transaction; `merge` deep-merges into existing
    /// values. An object written under a file's key replaces the file.
    /// Keys are written (and their rows locked) in sorted order, so two
    /// batches naming the same keys in different orders never deadlock;
    /// the answer keeps the request's order.
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
        for (at, (key, value)) in in_key_order(objects.iter(), |(k, _)| k.as_str()) {
            let written = write_one(&tx, [app_id, owner, key], value, merge).await?;
            out.push((at, (key.clone(), written)));
        }
        tx.commit().await?;
        Ok(in_request_order(out))
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
        for (at, key) in in_key_order(keys.iter(), |k| k.as_str()) {
            let n = tx
                .execute(
                    "DELETE FROM objects WHERE app_id = $1 AND owner = $2 AND key = $3",
                    &[&app_id, &owner, &key],
                )
                .await?;
            let file = files::delete_key(&tx, app_id, owner, key).await?;
            acl::sync_access(&tx, app_id, owner, key, None).await?;
            out.push((at, (key.clone(), n > 0 || file)));
        }
        tx.commit().await?;
        Ok(in_request_order(out))
    }
}

/// `items` with their positions, sorted by key (bytewise): the order rows
/// are locked in.
fn in_key_order<T>(items: impl Iterator<Item = T>, key: impl Fn(&T) -> &str) -> Vec<(usize, T)> {
    let mut sorted: Vec<(usize, T)> = items.enumerate().collect();
    sorted.sort_by(|a, b| key(&a.1).cmp(key(&b.1)));
    sorted
}

/// Results back in the order of their positions.
fn in_request_order<T>(mut done: Vec<(usize, T)>) -> Vec<T> {
    done.sort_by_key(|(at, _)| *at);
    done.into_iter().map(|(_, item)| item).collect()
}

/// Writes one object (`[app_id, owner, key]`). The row is locked while
/// it is merged; an insert that races another instance's insert of the
/// same key falls back to the update. A key is an object or a file, never
/// both: a file of that key goes first (also on an update, which mends a
/// key another instance's race left as both); only a value that names
/// `__access__` (or replaces one that did) touches the ACL index.
async fn write_one(
    tx: &Transaction<'_>,
    [app_id, owner, key]: [&str; 3],
    value: &Value,
    merge: bool,
) -> StoreResult<Written> {
    let now = now_ms();
    let replaced_file = files::delete_key(tx, app_id, owner, key).await?;
    let select = tx
        .prepare_cached(
            "SELECT value FROM objects WHERE app_id = $1 AND owner = $2 AND key = $3
             FOR UPDATE",
        )
        .await?;
    for _ in 0..2 {
        if let Some(row) = tx.query_opt(&select, &[&app_id, &owner, &key]).await? {
            let text: &str = row.get(0);
            let new_value = if merge {
                let mut current = parse_stored(text);
                deep_merge(&mut current, value);
                current
            } else {
                value.clone()
            };
            let update = tx
                .prepare_cached(
                    "UPDATE objects SET value = $4, updated = $5
                     WHERE app_id = $1 AND owner = $2 AND key = $3",
                )
                .await?;
            tx.execute(
                &update,
                &[&app_id, &owner, &key, &new_value.to_string(), &now],
            )
            .await?;
            if text.contains("__access__") || new_value.get("__access__").is_some() {
                acl::sync_access(tx, app_id, owner, key, Some(&new_value)).await?;
            }
            return Ok(Written::Updated);
        }
        let insert = tx
            .prepare_cached(
                "INSERT INTO objects (app_id, owner, key, value, created, updated)
                 VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING",
            )
            .await?;
        let n = tx
            .execute(&insert, &[&app_id, &owner, &key, &value.to_string(), &now])
            .await?;
        if n == 1 {
            acl::sync_access(tx, app_id, owner, key, Some(value)).await?;
            return Ok(if replaced_file {
                Written::Updated
            } else {
                Written::Created
            });
        }
    }
    Err(crate::store::StoreError::Invalid(format!(
        "the object {key:?} changed while it was written; try again"
    )))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_db;
    use super::*;

    /// A key left as both an object and a file (two instances racing an
    /// upload and a write) is read as the object and mended by the next
    /// write, also when that write is an update.
    #[tokio::test]
    async fn a_write_mends_a_key_left_as_object_and_file() {
        let Some(pg) = test_db::fresh("object_and_file").await else {
            return;
        };
        let objects = |v: Value| v.as_object().unwrap().clone();
        pg.write_objects("app", "o", &objects(json!({"k": {"n": 1}})), false)
            .await
            .unwrap();
        let client = pg.client().await.unwrap();
        client
            .execute(
                "INSERT INTO files VALUES ('app', 'o', 'k', 'x', 1, 'text/plain', 'k.txt', 1, 1)",
                &[],
            )
            .await
            .unwrap();
        let keys = ["k".to_owned()];
        let read = pg.read_objects("app", "o", Some(&keys)).await.unwrap();
        assert_eq!(read, vec![("k".to_owned(), json!({"n": 1}))]);
        let written = pg
            .write_objects("app", "o", &objects(json!({"k": {"n": 2}})), true)
            .await
            .unwrap();
        assert_eq!(written, vec![("k".to_owned(), Written::Updated)]);
        let files = client
            .query_one("SELECT count(*) FROM files WHERE key = 'k'", &[])
            .await
            .unwrap();
        assert_eq!(files.get::<_, i64>(0), 0);
    }
}
