//! Apps, users and profiles on PostgreSQL (sessions and resets are in
//! `sessions.rs`).

use serde_json::Value;
use tokio_postgres::Transaction;

use super::db::Pg;
use super::locks::{begin, lock_email};
use crate::store::values::{StoredUser, deep_merge, parse_stored, sealed_key, user_profile_value};
use crate::store::{StoreResult, now_ms};

/// Serialises the writes that check an app's emails and usernames are free
/// (account creation, credential changes), across every instance. When an
/// email is given its lock (`locks::lock_email`, the one a social first
/// login takes) is taken too, after the app's: a sign-up racing a social
/// first login with the same email waits for it and then finds the email
/// taken. Social logins take only the email lock, so the order cannot
/// deadlock.
pub(super) async fn lock_names(
    tx: &Transaction<'_>,
    app_id: &str,
    email: Option<&str>,
) -> StoreResult<()> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('cloudmine-users:' || $1::text))",
        &[&app_id],
    )
    .await?;
    if let Some(email) = email {
        lock_email(tx, app_id, email).await?;
    }
    Ok(())
}

/// True when another user of the app has this email or username.
async fn taken(
    tx: &Transaction<'_>,
    app_id: &str,
    except: Option<&str>,
    email: Option<&str>,
    username: Option<&str>,
) -> StoreResult<bool> {
    Ok(tx
        .query_opt(
            "SELECT 1 FROM users WHERE app_id = $1 AND id IS DISTINCT FROM $2::text
             AND (($3::text IS NOT NULL AND lower(email) = lower($3::text))
               OR ($4::text IS NOT NULL AND lower(username) = lower($4::text)))
             LIMIT 1",
            &[&app_id, &except, &email, &username],
        )
        .await?
        .is_some())
}

impl Pg {
    /// Creates or replaces an app; only the key's SHA-256 is stored.
    pub(super) async fn upsert_app_row(&self, app_id: &str, api_key: &str) -> StoreResult<()> {
        self.client()
            .await?
            .execute(
                "INSERT INTO apps (app_id, api_key) VALUES ($1, $2)
                 ON CONFLICT (app_id) DO UPDATE SET api_key = excluded.api_key",
                &[&app_id, &sealed_key(api_key)],
            )
            .await?;
        Ok(())
    }

    /// Replaces every API key still stored in plain text with its SHA-256.
    pub(super) async fn seal_keys(&self) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let rows = tx
            .query(
                "SELECT app_id, api_key FROM apps WHERE api_key NOT LIKE 'sha256:%' FOR UPDATE",
                &[],
            )
            .await?;
        for row in rows {
            let (id, key): (String, String) = (row.get(0), row.get(1));
            tx.execute(
                "UPDATE apps SET api_key = $2 WHERE app_id = $1",
                &[&id, &sealed_key(&key)],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Creates a user with an email and no password.
    pub(super) async fn insert_user(&self, app_id: &str, id: &str, email: &str) -> StoreResult<()> {
        self.client()
            .await?
            .execute(
                "INSERT INTO users (app_id, id, email, created) VALUES ($1, $2, $3, $4)",
                &[&app_id, &id, &email, &now_ms()],
            )
            .await?;
        Ok(())
    }

    /// A user with credentials; `false` when the email or username is taken.
    pub(super) async fn insert_account(
        &self,
        app_id: &str,
        id: &str,
        email: Option<&str>,
        username: Option<&str>,
        password_hash: &str,
        profile: &Value,
    ) -> StoreResult<bool> {
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        lock_names(&tx, app_id, email).await?;
        if taken(&tx, app_id, None, email, username).await? {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO users (app_id, id, email, username, password_hash, profile, created)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &app_id,
                &id,
                &email,
                &username,
                &password_hash,
                &profile.to_string(),
                &now_ms(),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The id and password hash of the users with this email or username.
    pub(super) async fn login_rows(
        &self,
        app_id: &str,
        email: Option<&str>,
        username: Option<&str>,
    ) -> StoreResult<Vec<(String, Option<String>)>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT id, password_hash FROM users WHERE app_id = $1
                 AND (($2::text IS NOT NULL AND lower(email) = lower($2::text))
                   OR ($3::text IS NOT NULL AND lower(username) = lower($3::text)))
                 LIMIT 2",
                &[&app_id, &email, &username],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Deep-merges `patch` into a user's profile.
    pub(super) async fn merge_profile(
        &self,
        app_id: &str,
        user_id: &str,
        patch: &Value,
    ) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let current = tx
            .query_opt(
                "SELECT profile FROM users WHERE app_id = $1 AND id = $2 FOR UPDATE",
                &[&app_id, &user_id],
            )
            .await?;
        let mut profile = current.map_or(Value::Object(serde_json::Map::new()), |r| {
            parse_stored(r.get::<_, &str>(0))
        });
        deep_merge(&mut profile, patch);
        tx.execute(
            "UPDATE users SET profile = $3 WHERE app_id = $1 AND id = $2",
            &[&app_id, &user_id, &profile.to_string()],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces a user's profile fields; false when there is no such user.
    pub(super) async fn put_profile(
        &self,
        app_id: &str,
        user_id: &str,
        profile: &Value,
    ) -> StoreResult<bool> {
        let n = self
            .client()
            .await?
            .execute(
                "UPDATE users SET profile = $3 WHERE app_id = $1 AND id = $2",
                &[&app_id, &user_id, &profile.to_string()],
            )
            .await?;
        Ok(n == 1)
    }

    /// Replaces a user's password hash and ends all the user's sessions.
    pub(super) async fn put_password(
        &self,
        app_id: &str,
        user_id: &str,
        hash: &str,
    ) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "UPDATE users SET password_hash = $3 WHERE app_id = $1 AND id = $2",
            &[&app_id, &user_id, &hash],
        )
        .await?;
        tx.execute(
            "DELETE FROM sessions WHERE app_id = $1 AND user_id = $2",
            &[&app_id, &user_id],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes email and/or username; `false` when one is taken.
    pub(super) async fn put_credentials(
        &self,
        app_id: &str,
        user_id: &str,
        email: Option<&str>,
        username: Option<&str>,
    ) -> StoreResult<bool> {
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        lock_names(&tx, app_id, email).await?;
        if taken(&tx, app_id, Some(user_id), email, username).await? {
            return Ok(false);
        }
        tx.execute(
            "UPDATE users SET email = COALESCE($3::text, email),
                              username = COALESCE($4::text, username)
             WHERE app_id = $1 AND id = $2",
            &[&app_id, &user_id, &email, &username],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes a user with everything that is theirs, in one transaction:
    /// sessions, identities, provider tokens, resets, objects, files (their
    /// chunks go with them), ACLs with their members and `__access__` index.
    pub(super) async fn remove_user(&self, app_id: &str, user_id: &str) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        for sql in [
            "DELETE FROM acl_members WHERE app_id = $1 AND (member = $2 OR acl_id IN
                 (SELECT id FROM acls WHERE app_id = $1 AND owner = $2))",
            "DELETE FROM object_access WHERE app_id = $1 AND (owner = $2 OR acl_id IN
                 (SELECT id FROM acls WHERE app_id = $1 AND owner = $2))",
            "DELETE FROM acls WHERE app_id = $1 AND owner = $2",
            "DELETE FROM sessions WHERE app_id = $1 AND user_id = $2",
            "DELETE FROM social_identities WHERE app_id = $1 AND user_id = $2",
            "DELETE FROM provider_tokens WHERE app_id = $1 AND user_id = $2",
            "DELETE FROM password_resets WHERE app_id = $1 AND user_id = $2",
            "DELETE FROM files WHERE app_id = $1 AND owner = $2",
            "DELETE FROM objects WHERE app_id = $1 AND owner = $2",
            "DELETE FROM users WHERE app_id = $1 AND id = $2",
        ] {
            tx.execute(sql, &[&app_id, &user_id]).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every user id of an app, sorted (bytewise, as SQLite sorts).
    pub(super) async fn all_user_ids(&self, app_id: &str) -> StoreResult<Vec<String>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT id FROM users WHERE app_id = $1 ORDER BY id COLLATE \"C\"",
                &[&app_id],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// A user's profile as CloudMine shows it.
    pub(super) async fn profile_of(
        &self,
        app_id: &str,
        user_id: &str,
    ) -> StoreResult<Option<Value>> {
        let client = self.client().await?;
        let Some(row) = client
            .query_opt(
                "SELECT email, username, profile FROM users WHERE app_id = $1 AND id = $2",
                &[&app_id, &user_id],
            )
            .await?
        else {
            return Ok(None);
        };
        let services = client
            .query(
                "SELECT DISTINCT network COLLATE \"C\" FROM social_identities
                 WHERE app_id = $1 AND user_id = $2 ORDER BY 1",
                &[&app_id, &user_id],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        Ok(Some(user_profile_value(StoredUser {
            id: user_id,
            email: row.get(0),
            username: row.get(1),
            profile: row.get(2),
            services,
        })))
    }
}
