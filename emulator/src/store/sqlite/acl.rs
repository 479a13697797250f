//! ACLs: their rows, members and the `__access__` index of user-level
//! objects, and the shared objects a member reaches through them.
//!
//! A member's shared objects are found from the member's side: their ACL
//! ids (`acl_members_by_member`, plus ACLs for every user), then the objects
//! listing those ids (`object_access_by_acl`), then those objects by key.
//! Nobody else's data is read.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::db::Db;
use crate::store::values::parse_stored;
use crate::store::{AclWrite, NewAcl, SharedObject, StoreError, access_ids, now_ms};

/// Makes the `__access__` index of one object match its new value (user
/// level only: app-level `__access__` is plain data, as on CloudMine).
pub(super) fn sync_access(
    conn: &Connection,
    app_id: &str,
    owner: &str,
    key: &str,
    value: Option<&Value>,
) -> Result<(), StoreError> {
    if owner.is_empty() {
        return Ok(());
    }
    conn.prepare_cached("DELETE FROM object_access WHERE app_id = ?1 AND owner = ?2 AND key = ?3")?
        .execute(params![app_id, owner, key])?;
    let Some(value) = value else { return Ok(()) };
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO object_access (app_id, owner, key, acl_id) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for id in access_ids(value) {
        insert.execute(params![app_id, owner, key, id])?;
    }
    Ok(())
}

/// Removes a deleted user's ACLs, memberships and `__access__` index.
pub(super) fn forget_user(
    conn: &Connection,
    app_id: &str,
    user_id: &str,
) -> Result<(), StoreError> {
    for sql in [
        "DELETE FROM acl_members WHERE app_id = ?1 AND (member = ?2 OR acl_id IN
             (SELECT id FROM acls WHERE app_id = ?1 AND owner = ?2))",
        "DELETE FROM object_access WHERE app_id = ?1 AND (owner = ?2 OR acl_id IN
             (SELECT id FROM acls WHERE app_id = ?1 AND owner = ?2))",
        "DELETE FROM acls WHERE app_id = ?1 AND owner = ?2",
    ] {
        conn.execute(sql, params![app_id, user_id])?;
    }
    Ok(())
}

/// The shared-objects query; `?3` is a key, or NULL for every key. An
/// ACL shares its owner's objects only: another user's object listing its
/// id in `__access__` is shared through nothing.
const SHARED: &str = "
WITH mine(id) AS (
    SELECT acl_id FROM acl_members WHERE app_id = ?1 AND member = ?2
    UNION
    SELECT id FROM acls WHERE app_id = ?1 AND everyone = 1
)
SELECT o.owner, o.key, o.value, group_concat(a.permissions, '')
FROM mine
JOIN acls a ON a.app_id = ?1 AND a.id = mine.id
JOIN object_access x ON x.app_id = ?1 AND x.acl_id = mine.id AND x.owner = a.owner
JOIN objects o ON o.app_id = ?1 AND o.owner = x.owner AND o.key = x.key
WHERE o.owner <> ?2 AND (?3 IS NULL OR x.key = ?3)
GROUP BY o.owner, o.key
ORDER BY o.key, o.owner";

impl Db {
    /// Creates or replaces an ACL with its members, in one transaction.
    pub fn put_acl(
        &self,
        app_id: &str,
        owner: &str,
        acl: &NewAcl,
        create: bool,
    ) -> Result<AclWrite, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let current: Option<String> = tx
            .query_row(
                "SELECT owner FROM acls WHERE app_id = ?1 AND id = ?2",
                params![app_id, acl.id],
                |r| r.get(0),
            )
            .optional()?;
        let outcome = match (current.as_deref(), create) {
            (None, true) => AclWrite::Created,
            (Some(o), false) if o == owner => AclWrite::Updated,
            _ => return Ok(AclWrite::Unknown),
        };
        let now = now_ms();
        tx.execute(
            "INSERT INTO acls (app_id, id, owner, permissions, everyone, value, created, updated)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
             ON CONFLICT (app_id, id) DO UPDATE SET permissions = ?4, everyone = ?5,
                 value = ?6, updated = ?7",
            params![
                app_id,
                acl.id,
                owner,
                acl.permissions,
                acl.everyone,
                acl.value.to_string(),
                now
            ],
        )?;
        tx.execute(
            "DELETE FROM acl_members WHERE app_id = ?1 AND acl_id = ?2",
            params![app_id, acl.id],
        )?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO acl_members (app_id, acl_id, member) VALUES (?1, ?2, ?3)",
            )?;
            for member in &acl.members {
                insert.execute(params![app_id, acl.id, member])?;
            }
        }
        tx.commit()?;
        Ok(outcome)
    }

    /// The owner's ACLs by id: all, or those of `ids`.
    pub fn acls(
        &self,
        app_id: &str,
        owner: &str,
        ids: Option<&[String]>,
    ) -> Result<Vec<(String, Value)>, StoreError> {
        let conn = self.conn();
        let mut out = Vec::new();
        match ids {
            None => {
                let mut stmt = conn.prepare_cached(
                    "SELECT id, value FROM acls WHERE app_id = ?1 AND owner = ?2 ORDER BY id",
                )?;
                let rows = stmt.query_map(params![app_id, owner], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?;
                for row in rows {
                    let (id, text) = row?;
                    out.push((id, parse_stored(&text)));
                }
            }
            Some(ids) => {
                let mut stmt = conn.prepare_cached(
                    "SELECT value FROM acls WHERE app_id = ?1 AND owner = ?2 AND id = ?3",
                )?;
                for id in ids {
                    let text: Option<String> = stmt
                        .query_row(params![app_id, owner, id], |r| r.get(0))
                        .optional()?;
                    if let Some(text) = text {
                        out.push((id.clone(), parse_stored(&text)));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Deletes the owner's ACL, its members and its `__access__` index
    /// rows: every grant it gave ends with this transaction.
    pub fn delete_acl(&self, app_id: &str, owner: &str, id: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "DELETE FROM acls WHERE app_id = ?1 AND owner = ?2 AND id = ?3",
            params![app_id, owner, id],
        )?;
        if n > 0 {
            for sql in [
                "DELETE FROM acl_members WHERE app_id = ?1 AND acl_id = ?2",
                "DELETE FROM object_access WHERE app_id = ?1 AND acl_id = ?2",
            ] {
                tx.execute(sql, params![app_id, id])?;
            }
        }
        tx.commit()?;
        Ok(n > 0)
    }

    /// Other users' objects shared with `member`: all, or under `keys`.
    pub fn shared_objects(
        &self,
        app_id: &str,
        member: &str,
        keys: Option<&[String]>,
    ) -> Result<Vec<SharedObject>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(SHARED)?;
        let mut out = Vec::new();
        let keys: Vec<Option<&str>> = match keys {
            None => vec![None],
            Some(keys) => keys.iter().map(|k| Some(k.as_str())).collect(),
        };
        for key in keys {
            let rows = stmt.query_map(params![app_id, member, key], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?;
            for row in rows {
                let (owner, key, text, permissions) = row?;
                out.push(SharedObject {
                    owner,
                    key,
                    value: parse_stored(&text),
                    permissions,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    fn acl(id: &str, members: &[&str], permissions: &str) -> NewAcl {
        NewAcl {
            id: id.into(),
            members: members.iter().map(|m| (*m).to_owned()).collect(),
            permissions: permissions.into(),
            everyone: false,
            value: json!({"__id__": id}),
        }
    }

    #[test]
    fn migration_5_indexes_the_access_lists_already_stored() {
        use super::super::migrate::{MIGRATIONS, migrate};
        let mut conn = Connection::open_in_memory().unwrap();
        for step in &MIGRATIONS[..4] {
            conn.execute_batch(step).unwrap();
        }
        conn.pragma_update(None, "user_version", 4).unwrap();
        for (owner, key, value) in [
            ("u", "list", r#"{"__access__": ["a1", 2, "a2"]}"#),
            ("u", "one", r#"{"__access__": "a3"}"#),
            ("u", "none", r#"{"x": "__access__"}"#),
            ("", "app", r#"{"__access__": ["a4"]}"#),
            ("u", "text", "not json __access__"),
        ] {
            conn.execute(
                "INSERT INTO objects VALUES ('app', ?1, ?2, ?3, 0, 0)",
                params![owner, key, value],
            )
            .unwrap();
        }
        migrate(&mut conn).unwrap();
        let mut stmt = conn
            .prepare("SELECT key, acl_id FROM object_access ORDER BY key, acl_id")
            .unwrap();
        let rows: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let expected = [("list", "a1"), ("list", "a2"), ("one", "a3")];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(k, a)| ((*k).to_owned(), (*a).to_owned()))
            .collect();
        assert_eq!(rows, expected);
    }

    #[test]
    fn sharing_follows_members_access_and_deletion() {
        let db = Db::open(Path::new(":memory:")).unwrap();
        let mut m = serde_json::Map::new();
        m.insert("k".into(), json!({"x": 1, "__access__": ["a1", "a2"]}));
        db.put_objects("app", "owner", &m, false).unwrap();
        assert_eq!(
            db.put_acl("app", "owner", &acl("a1", &["bob"], "r"), true)
                .unwrap(),
            AclWrite::Created
        );
        db.put_acl("app", "owner", &acl("a2", &["bob"], "u"), true)
            .unwrap();
        let shared = db.shared_objects("app", "bob", None).unwrap();
        assert_eq!(shared.len(), 1);
        assert!(shared[0].allows('r') && shared[0].allows('u') && !shared[0].allows('d'));
        assert!(db.shared_objects("app", "eve", None).unwrap().is_empty());
        assert!(db.shared_objects("other", "bob", None).unwrap().is_empty());
        assert_eq!(
            db.put_acl("app", "eve", &acl("a1", &["eve"], "rud"), false)
                .unwrap(),
            AclWrite::Unknown,
            "only the owner replaces an ACL"
        );
        assert!(db.delete_acl("app", "owner", "a1").unwrap());
        assert!(!db.delete_acl("app", "owner", "a1").unwrap());
        let shared = db
            .shared_objects("app", "bob", Some(&["k".into()]))
            .unwrap();
        assert_eq!(shared[0].permissions, "u");
        db.delete_user("app", "owner").unwrap();
        assert!(db.shared_objects("app", "bob", None).unwrap().is_empty());
        assert!(db.acls("app", "owner", None).unwrap().is_empty());
    }
}
