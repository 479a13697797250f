//! ACLs on PostgreSQL: their rows, members and the `__access__` index of
//! user-level objects, and the shared objects a member reaches through
//! them (the same rows and rules as `sqlite/acl.rs`). A member's shared
//! objects are found from the member's side: their ACL ids, the objects
//! listing those ids, those objects by key; nobody else's data is read.
//!
//! Races between instances: creating an ACL is `INSERT … ON CONFLICT DO
//! NOTHING` (of two creators of one id exactly one gets it; the other is
//! told the id is not theirs), replacing is `UPDATE … WHERE owner = $me`
//! (never another owner's row); either holds the ACL row's lock until the
//! members are replaced, so two writers of one ACL cannot mix members.

use deadpool_postgres::Transaction;
use serde_json::Value;

use super::db::Pg;
use super::locks::begin;
use crate::store::values::parse_stored;
use crate::store::{AclWrite, NewAcl, SharedObject, StoreResult, access_ids, now_ms};

/// Makes the `__access__` index of one object match its new value (`None`
/// when it was deleted). User-level only: app-level `__access__` is plain
/// data, as on CloudMine. Called in the transaction that wrote the object,
/// which holds the object row's lock, so two writers of one object keep
/// their index rows one after the other.
pub(super) async fn sync_access(
    tx: &Transaction<'_>,
    app_id: &str,
    owner: &str,
    key: &str,
    value: Option<&Value>,
) -> StoreResult<()> {
    if owner.is_empty() {
        return Ok(());
    }
    let clear = tx
        .prepare_cached("DELETE FROM object_access WHERE app_id = $1 AND owner = $2 AND key = $3")
        .await?;
    tx.execute(&clear, &[&app_id, &owner, &key]).await?;
    let ids = value.map(access_ids).unwrap_or_default();
    if !ids.is_empty() {
        tx.execute(
            "INSERT INTO object_access (app_id, owner, key, acl_id)
             SELECT $1, $2, $3, id FROM unnest($4::text[]) AS id
             ON CONFLICT DO NOTHING",
            &[&app_id, &owner, &key, &ids],
        )
        .await?;
    }
    Ok(())
}

/// The shared-objects query over the keys `$3` (with their order, so the
/// answer follows the asked keys as SQLite's does). An ACL shares its
/// owner's objects only.
const SHARED_KEYS: &str = "
WITH mine(id) AS (
    SELECT acl_id FROM acl_members WHERE app_id = $1 AND member = $2
    UNION
    SELECT id FROM acls WHERE app_id = $1 AND everyone
)
SELECT o.owner, o.key, o.value, string_agg(a.permissions, '' ORDER BY a.id)
FROM unnest($3::text[]) WITH ORDINALITY AS k(key, n)
JOIN object_access x ON x.app_id = $1 AND x.key = k.key
JOIN mine ON mine.id = x.acl_id
JOIN acls a ON a.app_id = $1 AND a.id = mine.id AND a.owner = x.owner
JOIN objects o ON o.app_id = $1 AND o.owner = x.owner AND o.key = x.key
WHERE o.owner <> $2
GROUP BY k.n, o.app_id, o.owner, o.key
ORDER BY k.n, o.owner";

/// The shared-objects query over every key, by key then owner.
const SHARED_ALL: &str = "
WITH mine(id) AS (
    SELECT acl_id FROM acl_members WHERE app_id = $1 AND member = $2
    UNION
    SELECT id FROM acls WHERE app_id = $1 AND everyone
)
SELECT o.owner, o.key, o.value, string_agg(a.permissions, '' ORDER BY a.id)
FROM mine
JOIN acls a ON a.app_id = $1 AND a.id = mine.id
JOIN object_access x ON x.app_id = $1 AND x.acl_id = mine.id AND x.owner = a.owner
JOIN objects o ON o.app_id = $1 AND o.owner = x.owner AND o.key = x.key
WHERE o.owner <> $2
GROUP BY o.app_id, o.owner, o.key
ORDER BY o.key, o.owner";

impl Pg {
    /// Creates or replaces an ACL with its members, in one transaction.
    pub async fn put_acl(
        &self,
        app_id: &str,
        owner: &str,
        acl: &NewAcl,
        create: bool,
    ) -> StoreResult<AclWrite> {
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        let (now, value) = (now_ms(), acl.value.to_string());
        let written = if create {
            tx.execute(
                "INSERT INTO acls (app_id, id, owner, permissions, everyone, value, created,
                     updated)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT DO NOTHING",
                &[
                    &app_id,
                    &acl.id,
                    &owner,
                    &acl.permissions,
                    &acl.everyone,
                    &value,
                    &now,
                ],
            )
            .await?
        } else {
            tx.execute(
                "UPDATE acls SET permissions = $4, everyone = $5, value = $6, updated = $7
                 WHERE app_id = $1 AND id = $2 AND owner = $3",
                &[
                    &app_id,
                    &acl.id,
                    &owner,
                    &acl.permissions,
                    &acl.everyone,
                    &value,
                    &now,
                ],
            )
            .await?
        };
        if written != 1 {
            return Ok(AclWrite::Unknown);
        }
        tx.execute(
            "DELETE FROM acl_members WHERE app_id = $1 AND acl_id = $2",
            &[&app_id, &acl.id],
        )
        .await?;
        tx.execute(
            "INSERT INTO acl_members (app_id, acl_id, member)
             SELECT $1, $2, m FROM unnest($3::text[]) AS m ON CONFLICT DO NOTHING",
            &[&app_id, &acl.id, &acl.members],
        )
        .await?;
        tx.commit().await?;
        Ok(if create {
            AclWrite::Created
        } else {
            AclWrite::Updated
        })
    }

    /// The owner's ACLs by id: all (ordered by id), or those of `ids` that
    /// exist, in the order asked.
    pub async fn acls(
        &self,
        app_id: &str,
        owner: &str,
        ids: Option<&[String]>,
    ) -> StoreResult<Vec<(String, Value)>> {
        let client = self.client().await?;
        let rows =
            match ids {
                None => client
                    .query(
                        "SELECT id, value FROM acls WHERE app_id = $1 AND owner = $2 ORDER BY id",
                        &[&app_id, &owner],
                    )
                    .await?,
                Some(ids) => {
                    client
                        .query(
                            "SELECT a.id, a.value
                         FROM unnest($3::text[]) WITH ORDINALITY AS k(id, n)
                         JOIN acls a ON a.app_id = $1 AND a.owner = $2 AND a.id = k.id
                         ORDER BY k.n",
                            &[&app_id, &owner, &ids],
                        )
                        .await?
                }
            };
        Ok(rows
            .iter()
            .map(|r| (r.get(0), parse_stored(r.get(1))))
            .collect())
    }

    /// Deletes the owner's ACL, its members and its `__access__` index
    /// rows: every grant it gave ends with this transaction.
    pub async fn delete_acl(&self, app_id: &str, owner: &str, id: &str) -> StoreResult<bool> {
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        let n = tx
            .execute(
                "DELETE FROM acls WHERE app_id = $1 AND owner = $2 AND id = $3",
                &[&app_id, &owner, &id],
            )
            .await?;
        if n > 0 {
            for sql in [
                "DELETE FROM acl_members WHERE app_id = $1 AND acl_id = $2",
                "DELETE FROM object_access WHERE app_id = $1 AND acl_id = $2",
            ] {
                tx.execute(sql, &[&app_id, &id]).await?;
            }
        }
        tx.commit().await?;
        Ok(n > 0)
    }

    /// Other users' objects shared with `member`: all, or under `keys`.
    pub async fn shared_objects(
        &self,
        app_id: &str,
        member: &str,
        keys: Option<&[String]>,
    ) -> StoreResult<Vec<SharedObject>> {
        let client = self.client().await?;
        let rows = match keys {
            None => client.query(SHARED_ALL, &[&app_id, &member]).await?,
            Some(keys) => {
                client
                    .query(SHARED_KEYS, &[&app_id, &member, &keys])
                    .await?
            }
        };
        Ok(rows
            .iter()
            .map(|r| SharedObject {
                owner: r.get(0),
                key: r.get(1),
                value: parse_stored(r.get(2)),
                permissions: r.get(3),
            })
            .collect())
    }
}

#[cfg(test)]
#[path = "acl_tests.rs"]
mod tests;
