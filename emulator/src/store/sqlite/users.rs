//! Users, sessions and password resets.

use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use super::acl;
use super::db::Db;
use super::files;
use crate::store::values::{deep_merge, parse_stored};
use crate::store::{StoreError, now_ms};

impl Db {
    /// Creates a user; returns its id.
    pub fn create_user(&self, app_id: &str, id: &str, email: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO users (app_id, id, email, created) VALUES (?1, ?2, ?3, ?4)",
            params![app_id, id, email, now_ms()],
        )?;
        Ok(())
    }

    /// Stores a session (by the SHA-256 of its token).
    pub fn create_session(
        &self,
        token_sha256: &str,
        app_id: &str,
        user_id: &str,
        expires_ms: i64,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        let exists: bool = conn
            .query_row(
                "SELECT 1 FROM users WHERE app_id = ?1 AND id = ?2",
                params![app_id, user_id],
                |_| Ok(true),
            )
            .optional()?
            .unwrap_or(false);
        if !exists {
            return Err(StoreError::Invalid(format!(
                "no user {user_id} in app {app_id}"
            )));
        }
        conn.execute(
            "INSERT INTO sessions (token_sha256, app_id, user_id, expires_ms) VALUES (?1, ?2, ?3, ?4)",
            params![token_sha256, app_id, user_id, expires_ms],
        )?;
        Ok(())
    }

    /// The user of a live session of `app_id`.
    pub fn session_user(
        &self,
        app_id: &str,
        token_sha256: &str,
    ) -> Result<Option<String>, StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(
            "SELECT user_id FROM sessions
             WHERE token_sha256 = ?1 AND app_id = ?2 AND expires_ms > ?3",
        )?;
        Ok(stmt
            .query_row(params![token_sha256, app_id, now_ms()], |r| r.get(0))
            .optional()?)
    }

    /// A user with credentials; `Ok(false)` when the email or username is taken.
    pub fn create_account(
        &self,
        app_id: &str,
        id: &str,
        email: Option<&str>,
        username: Option<&str>,
        password_hash: &str,
        profile: &Value,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if taken(&tx, app_id, None, email, username)? {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO users (app_id, id, email, username, password_hash, profile, created)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                app_id,
                id,
                email,
                username,
                password_hash,
                profile.to_string(),
                now_ms()
            ],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// The id and password hash of the users with this email or username:
    /// none, one, or two when the email is one user's and the username
    /// another's.
    pub fn find_login(
        &self,
        app_id: &str,
        email: Option<&str>,
        username: Option<&str>,
    ) -> Result<Vec<(String, Option<String>)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, password_hash FROM users WHERE app_id = ?1
             AND ((?2 IS NOT NULL AND lower(email) = lower(?2))
               OR (?3 IS NOT NULL AND lower(username) = lower(?3)))
             LIMIT 2",
        )?;
        let rows = stmt.query_map(params![app_id, email, username], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Merges `patch` into a user's profile (deep merge, as objects).
    pub fn update_profile(
        &self,
        app_id: &str,
        user_id: &str,
        patch: &Value,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let current: Option<String> = tx
            .query_row(
                "SELECT profile FROM users WHERE app_id = ?1 AND id = ?2",
                params![app_id, user_id],
                |r| r.get(0),
            )
            .optional()?;
        let mut profile =
            current.map_or(Value::Object(serde_json::Map::new()), |t| parse_stored(&t));
        deep_merge(&mut profile, patch);
        tx.execute(
            "UPDATE users SET profile = ?3 WHERE app_id = ?1 AND id = ?2",
            params![app_id, user_id, profile.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Replaces a user's profile fields; false when there is no such user.
    pub fn replace_profile(
        &self,
        app_id: &str,
        user_id: &str,
        profile: &Value,
    ) -> Result<bool, StoreError> {
        let changed = self.conn().execute(
            "UPDATE users SET profile = ?3 WHERE app_id = ?1 AND id = ?2",
            params![app_id, user_id, profile.to_string()],
        )?;
        Ok(changed == 1)
    }

    /// Replaces a user's password hash and ends every session of the user,
    /// in one transaction: whoever held a session with the old password
    /// must log in again.
    pub fn set_password(&self, app_id: &str, user_id: &str, hash: &str) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE users SET password_hash = ?3 WHERE app_id = ?1 AND id = ?2",
            params![app_id, user_id, hash],
        )?;
        tx.execute(
            "DELETE FROM sessions WHERE app_id = ?1 AND user_id = ?2",
            params![app_id, user_id],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Changes email and/or username; `Ok(false)` when one is taken.
    pub fn set_credentials(
        &self,
        app_id: &str,
        user_id: &str,
        email: Option<&str>,
        username: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if taken(&tx, app_id, Some(user_id), email, username)? {
            return Ok(false);
        }
        if let Some(email) = email {
            tx.execute(
                "UPDATE users SET email = ?3 WHERE app_id = ?1 AND id = ?2",
                params![app_id, user_id, email],
            )?;
        }
        if let Some(username) = username {
            tx.execute(
                "UPDATE users SET username = ?3 WHERE app_id = ?1 AND id = ?2",
                params![app_id, user_id, username],
            )?;
        }
        tx.commit()?;
        Ok(true)
    }

    /// Deletes a user with their sessions, identities, resets, objects and files.
    pub fn delete_user(&self, app_id: &str, user_id: &str) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let orphans = files::delete_owner(&tx, app_id, user_id)?;
        acl::forget_user(&tx, app_id, user_id)?;
        for sql in [
            "DELETE FROM sessions WHERE app_id = ?1 AND user_id = ?2",
            "DELETE FROM social_identities WHERE app_id = ?1 AND user_id = ?2",
            "DELETE FROM provider_tokens WHERE app_id = ?1 AND user_id = ?2",
            "DELETE FROM password_resets WHERE app_id = ?1 AND user_id = ?2",
            "DELETE FROM objects WHERE app_id = ?1 AND owner = ?2",
            "DELETE FROM users WHERE app_id = ?1 AND id = ?2",
        ] {
            tx.execute(sql, params![app_id, user_id])?;
        }
        tx.commit()?;
        self.remove_blobs(orphans);
        Ok(())
    }

    /// Every user id of an app, by id.
    pub fn user_ids(&self, app_id: &str) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT id FROM users WHERE app_id = ?1 ORDER BY id")?;
        let ids = stmt
            .query_map([app_id], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(ids)
    }

    /// Stores a password-reset token (by its SHA-256).
    pub fn create_reset(
        &self,
        token_sha256: &str,
        app_id: &str,
        user_id: &str,
        expires_ms: i64,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO password_resets (token_sha256, app_id, user_id, expires_ms) VALUES (?1, ?2, ?3, ?4)",
            params![token_sha256, app_id, user_id, expires_ms],
        )?;
        Ok(())
    }

    /// Consumes a live reset token; returns its user.
    pub fn take_reset(
        &self,
        token_sha256: &str,
        app_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let user: Option<String> = tx
            .query_row(
                "SELECT user_id FROM password_resets WHERE token_sha256 = ?1 AND app_id = ?2 AND expires_ms > ?3",
                params![token_sha256, app_id, now_ms()],
                |r| r.get(0),
            )
            .optional()?;
        tx.execute(
            "DELETE FROM password_resets WHERE token_sha256 = ?1",
            [token_sha256],
        )?;
        tx.commit()?;
        Ok(user)
    }

    /// Ends a session.
    pub fn delete_session(&self, token_sha256: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "DELETE FROM sessions WHERE token_sha256 = ?1",
            [token_sha256],
        )?;
        Ok(())
    }

    /// A user's live sessions: token SHA-256 and expiry, soonest first.
    pub fn user_sessions(
        &self,
        app_id: &str,
        user_id: &str,
        limit: usize,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let conn = self.read()?;
        let mut stmt = conn.prepare(
            "SELECT token_sha256, expires_ms FROM sessions
             WHERE app_id = ?1 AND user_id = ?2 AND expires_ms > ?3
             ORDER BY expires_ms, token_sha256 LIMIT ?4",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![app_id, user_id, now_ms(), limit], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// True when another user of the app has this email or username.
fn taken(
    tx: &rusqlite::Transaction<'_>,
    app_id: &str,
    except: Option<&str>,
    email: Option<&str>,
    username: Option<&str>,
) -> Result<bool, StoreError> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM users WHERE app_id = ?1 AND id IS NOT ?2
             AND ((?3 IS NOT NULL AND lower(email) = lower(?3))
               OR (?4 IS NOT NULL AND lower(username) = lower(?4)))",
            params![app_id, except, email, username],
            |_| Ok(true),
        )
        .optional()?
        .unwrap_or(false))
}
