//! Objects: JSON values by key, per app and owner; files share their keys.

use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use super::acl;
use super::db::Db;
use super::files::{self, Orphans};
use crate::store::values::{deep_merge, parse_stored};
use crate::store::{StoreError, Written, now_ms};

impl Db {
    /// Objects of one namespace, ordered by key: all of them, or the given
    /// keys. Files appear among them as their metadata (`__type__: "file"`).
    pub fn get_objects(
        &self,
        app_id: &str,
        owner: &str,
        keys: Option<&[String]>,
    ) -> Result<Vec<(String, Value)>, StoreError> {
        let conn = self.read()?;
        let mut out = Vec::new();
        match keys {
            None => {
                let mut stmt = conn.prepare_cached(
                    "SELECT key, value FROM objects WHERE app_id = ?1 AND owner = ?2 ORDER BY key",
                )?;
                let rows = stmt.query_map(params![app_id, owner], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?;
                for row in rows {
                    let (key, text) = row?;
                    out.push((key, parse_stored(&text)));
                }
                let files = files::all(&conn, app_id, owner)?;
                if !files.is_empty() {
                    out.extend(files.into_iter().map(|f| (f.key.clone(), f.to_value())));
                    out.sort_by(|a, b| a.0.cmp(&b.0));
                }
            }
            Some(keys) => {
                let mut stmt = conn.prepare_cached(
                    "SELECT value FROM objects WHERE app_id = ?1 AND owner = ?2 AND key = ?3",
                )?;
                for key in keys {
                    let text: Option<String> = stmt
                        .query_row(params![app_id, owner, key], |r| r.get(0))
                        .optional()?;
                    if let Some(text) = text {
                        out.push((key.clone(), parse_stored(&text)));
                    } else if let Some(file) = files::get(&conn, app_id, owner, key)? {
                        out.push((key.clone(), file.to_value()));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Writes objects in one transaction; `merge` deep-merges into existing
    /// values. An object written under a file's key replaces the file.
    pub fn put_objects(
        &self,
        app_id: &str,
        owner: &str,
        objects: &serde_json::Map<String, Value>,
        merge: bool,
    ) -> Result<Vec<(String, Written)>, StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction()?;
        let now = now_ms();
        let mut out = Vec::with_capacity(objects.len());
        let mut orphans = Orphans::default();
        for (key, value) in objects {
            let existing: Option<String> = tx
                .prepare_cached(
                    "SELECT value FROM objects WHERE app_id = ?1 AND owner = ?2 AND key = ?3",
                )?
                .query_row(params![app_id, owner, key], |r| r.get(0))
                .optional()?;
            let written = match existing {
                Some(text) => {
                    let new_value = if merge {
                        let mut current = parse_stored(&text);
                        deep_merge(&mut current, value);
                        current
                    } else {
                        value.clone()
                    };
                    tx.prepare_cached(
                        "UPDATE objects SET value = ?4, updated = ?5
                         WHERE app_id = ?1 AND owner = ?2 AND key = ?3",
                    )?
                    .execute(params![
                        app_id,
                        owner,
                        key,
                        new_value.to_string(),
                        now
                    ])?;
                    // The index holds the old value's ACL ids: none when
                    // the old text never names `__access__`.
                    if text.contains("__access__") || new_value.get("__access__").is_some() {
                        acl::sync_access(&tx, app_id, owner, key, Some(&new_value))?;
                    }
                    Written::Updated
                }
                None => {
                    // A key is an object or a file, never both: only a new
                    // object can replace a file.
                    let replaced_file = files::delete_key(&tx, app_id, owner, key, &mut orphans)?;
                    tx.prepare_cached(
                        "INSERT INTO objects (app_id, owner, key, value, created, updated)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                    )?
                    .execute(params![
                        app_id,
                        owner,
                        key,
                        value.to_string(),
                        now
                    ])?;
                    acl::sync_access(&tx, app_id, owner, key, Some(value))?;
                    if replaced_file {
                        Written::Updated
                    } else {
                        Written::Created
                    }
                }
            };
            out.push((key.clone(), written));
        }
        tx.commit()?;
        self.remove_blobs(orphans);
        Ok(out)
    }

    /// Deletes objects and files in one transaction; returns each key with
    /// whether it existed.
    pub fn delete_objects(
        &self,
        app_id: &str,
        owner: &str,
        keys: &[String],
    ) -> Result<Vec<(String, bool)>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut out = Vec::with_capacity(keys.len());
        let mut orphans = Orphans::default();
        for key in keys {
            let n = tx.execute(
                "DELETE FROM objects WHERE app_id = ?1 AND owner = ?2 AND key = ?3",
                params![app_id, owner, key],
            )?;
            let file = files::delete_key(&tx, app_id, owner, key, &mut orphans)?;
            acl::sync_access(&tx, app_id, owner, key, None)?;
            out.push((key.clone(), n > 0 || file));
        }
        tx.commit()?;
        self.remove_blobs(orphans);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    #[test]
    fn objects_round_trip_in_memory() {
        let db = Db::open(Path::new(":memory:")).unwrap();
        let mut m = serde_json::Map::new();
        m.insert("k".into(), json!({"x": 1}));
        assert_eq!(
            db.put_objects("a", "", &m, false).unwrap()[0].1,
            Written::Created
        );
        assert_eq!(
            db.put_objects("a", "", &m, true).unwrap()[0].1,
            Written::Updated
        );
        assert_eq!(
            db.get_objects("a", "", None).unwrap(),
            vec![("k".into(), json!({"x": 1}))]
        );
        assert!(db.get_objects("a", "u", None).unwrap().is_empty());
        assert_eq!(
            db.delete_objects("a", "", &["k".into(), "z".into()])
                .unwrap(),
            vec![("k".into(), true), ("z".into(), false)]
        );
    }
}
