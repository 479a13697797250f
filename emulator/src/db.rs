//! SQLite storage: schema, and every read and write the server makes.
//!
//! One connection behind a mutex, used from blocking tasks; every write runs
//! in a transaction.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use crate::EmulatorError;

mod baasbox;
mod files;
mod social;

pub use baasbox::{BbLink, BbUser, LinkOutcome, UnlinkOutcome};
pub use files::{FileMeta, Orphans};
pub use social::{LoginOutcome, NewLogin, PendingLogin, SocialUser};

/// The schema version this code writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 3;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS apps (
    app_id  TEXT PRIMARY KEY,
    api_key TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    app_id        TEXT NOT NULL,
    id            TEXT NOT NULL,
    email         TEXT,
    username      TEXT,
    password_hash TEXT,
    profile       TEXT NOT NULL DEFAULT '{}',
    created       INTEGER NOT NULL,
    PRIMARY KEY (app_id, id)
);
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY,
    app_id       TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    expires_ms   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS social_identities (
    app_id      TEXT NOT NULL,
    network     TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    created     INTEGER NOT NULL,
    PRIMARY KEY (app_id, network, provider_id)
);
CREATE TABLE IF NOT EXISTS password_resets (
    token_sha256 TEXT PRIMARY KEY,
    app_id       TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    expires_ms   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    app_id  TEXT NOT NULL,
    owner   TEXT NOT NULL,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    PRIMARY KEY (app_id, owner, key)
);
";

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The database.
pub struct Db {
    conn: Mutex<Connection>,
    /// Where file contents live (`blobs/`, `tmp/`); `None` until set.
    files_dir: Option<PathBuf>,
}

/// Whether a written key was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The key did not exist.
    Created,
    /// The key existed and was replaced or merged.
    Updated,
}

impl Db {
    /// Opens (creating if needed) the database at `path`, or in memory for `:memory:`.
    pub fn open(path: &Path) -> Result<Self, EmulatorError> {
        let conn = if path.as_os_str() == ":memory:" {
            Connection::open_in_memory()?
        } else {
            let conn = Connection::open(path)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn
        };
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(EmulatorError::Config(format!(
                "database schema version {version} is newer than this emulator's {SCHEMA_VERSION}"
            )));
        }
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(social::SCHEMA)?;
        conn.execute_batch(files::SCHEMA)?;
        conn.execute_batch(baasbox::SCHEMA)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        Ok(Db {
            conn: Mutex::new(conn),
            files_dir: None,
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written
        // (transactions roll back), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates or replaces an app.
    pub fn upsert_app(&self, app_id: &str, api_key: &str) -> Result<(), EmulatorError> {
        self.conn().execute(
            "INSERT INTO apps (app_id, api_key) VALUES (?1, ?2)
             ON CONFLICT(app_id) DO UPDATE SET api_key = excluded.api_key",
            params![app_id, api_key],
        )?;
        Ok(())
    }

    /// Every app with its API key (loaded once at start).
    pub fn apps(&self) -> Result<Vec<(String, String)>, EmulatorError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT app_id, api_key FROM apps")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Creates a user; returns its id.
    pub fn create_user(&self, app_id: &str, id: &str, email: &str) -> Result<(), EmulatorError> {
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
    ) -> Result<(), EmulatorError> {
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
            return Err(EmulatorError::Config(format!(
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
    ) -> Result<Option<String>, EmulatorError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT user_id FROM sessions
                 WHERE token_sha256 = ?1 AND app_id = ?2 AND expires_ms > ?3",
                params![token_sha256, app_id, now_ms()],
                |r| r.get(0),
            )
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
    ) -> Result<bool, EmulatorError> {
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

    /// The id and password hash of the user with this email or username.
    pub fn find_login(
        &self,
        app_id: &str,
        email: Option<&str>,
        username: Option<&str>,
    ) -> Result<Option<(String, Option<String>)>, EmulatorError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, password_hash FROM users WHERE app_id = ?1
                 AND ((?2 IS NOT NULL AND lower(email) = lower(?2))
                   OR (?3 IS NOT NULL AND lower(username) = lower(?3)))",
                params![app_id, email, username],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Merges `patch` into a user's profile (deep merge, as objects).
    pub fn update_profile(
        &self,
        app_id: &str,
        user_id: &str,
        patch: &Value,
    ) -> Result<(), EmulatorError> {
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

    /// Replaces a user's password hash.
    pub fn set_password(
        &self,
        app_id: &str,
        user_id: &str,
        hash: &str,
    ) -> Result<(), EmulatorError> {
        self.conn().execute(
            "UPDATE users SET password_hash = ?3 WHERE app_id = ?1 AND id = ?2",
            params![app_id, user_id, hash],
        )?;
        Ok(())
    }

    /// Changes email and/or username; `Ok(false)` when one is taken.
    pub fn set_credentials(
        &self,
        app_id: &str,
        user_id: &str,
        email: Option<&str>,
        username: Option<&str>,
    ) -> Result<bool, EmulatorError> {
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
    pub fn delete_user(&self, app_id: &str, user_id: &str) -> Result<(), EmulatorError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let orphans = files::delete_owner(&tx, app_id, user_id)?;
        for sql in [
            "DELETE FROM sessions WHERE app_id = ?1 AND user_id = ?2",
            "DELETE FROM social_identities WHERE app_id = ?1 AND user_id = ?2",
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
    pub fn user_ids(&self, app_id: &str) -> Result<Vec<String>, EmulatorError> {
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
    ) -> Result<(), EmulatorError> {
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
    ) -> Result<Option<String>, EmulatorError> {
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
    pub fn delete_session(&self, token_sha256: &str) -> Result<(), EmulatorError> {
        self.conn().execute(
            "DELETE FROM sessions WHERE token_sha256 = ?1",
            [token_sha256],
        )?;
        Ok(())
    }

    /// Objects of one namespace, ordered by key: all of them, or the given
    /// keys. Files appear among them as their metadata (`__type__: "file"`).
    pub fn get_objects(
        &self,
        app_id: &str,
        owner: &str,
        keys: Option<&[String]>,
    ) -> Result<Vec<(String, Value)>, EmulatorError> {
        let conn = self.conn();
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
    ) -> Result<Vec<(String, Written)>, EmulatorError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let now = now_ms();
        let mut out = Vec::with_capacity(objects.len());
        let mut orphans = Orphans::default();
        for (key, value) in objects {
            let replaced_file = files::delete_key(&tx, app_id, owner, key, &mut orphans)?;
            let existing: Option<String> = tx
                .query_row(
                    "SELECT value FROM objects WHERE app_id = ?1 AND owner = ?2 AND key = ?3",
                    params![app_id, owner, key],
                    |r| r.get(0),
                )
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
                    tx.execute(
                        "UPDATE objects SET value = ?4, updated = ?5
                         WHERE app_id = ?1 AND owner = ?2 AND key = ?3",
                        params![app_id, owner, key, new_value.to_string(), now],
                    )?;
                    Written::Updated
                }
                None => {
                    tx.execute(
                        "INSERT INTO objects (app_id, owner, key, value, created, updated)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                        params![app_id, owner, key, value.to_string(), now],
                    )?;
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
    ) -> Result<Vec<(String, bool)>, EmulatorError> {
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
            out.push((key.clone(), n > 0 || file));
        }
        tx.commit()?;
        self.remove_blobs(orphans);
        Ok(out)
    }
}

/// True when another user of the app has this email or username.
fn taken(
    tx: &rusqlite::Transaction<'_>,
    app_id: &str,
    except: Option<&str>,
    email: Option<&str>,
    username: Option<&str>,
) -> Result<bool, EmulatorError> {
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

fn parse_stored(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// CloudMine's update: nested objects merge recursively; arrays, scalars and
/// non-object patches replace; `{}` changes nothing.
pub fn deep_merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                match t.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => {
                        deep_merge(existing, v)
                    }
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_rules() {
        let mut v = json!({"a": {"b": 1, "c": [1, 2]}, "d": 1});
        deep_merge(&mut v, &json!({"a": {"c": [3], "e": 2}, "d": {"x": 1}}));
        assert_eq!(v, json!({"a": {"b": 1, "c": [3], "e": 2}, "d": {"x": 1}}));
        let before = v.clone();
        deep_merge(&mut v, &json!({}));
        assert_eq!(v, before);
        deep_merge(&mut v, &json!(5));
        assert_eq!(v, json!(5));
    }

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
