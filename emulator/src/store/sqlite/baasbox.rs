//! The BaasBox front end's storage: its users, sessions and social links.
//!
//! BaasBox is a one-app server, so these tables are not keyed by app.
//! Sessions are stored as the SHA-256 of their token, with an expiry.

use rusqlite::{OptionalExtension, params};

use super::db::Db;
use crate::store::decide::{link_outcome, unlink_outcome};
use crate::store::{BbLink, BbUser, LinkOutcome, StoreError, UnlinkOutcome, now_ms};

fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BbUser> {
    Ok(BbUser {
        username: r.get(0)?,
        id: r.get(1)?,
        password_hash: r.get(2)?,
        generated: r.get::<_, i64>(3)? != 0,
        email: r.get(4)?,
        created: r.get(5)?,
    })
}

const USER_COLUMNS: &str = "username, id, password_hash, generated, email, created";

impl Db {
    /// Creates a user; `Ok(false)` when the name is taken.
    pub fn bb_create_user(&self, user: &BbUser) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "INSERT INTO bb_users (username, id, password_hash, generated, email, created)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
            params![
                user.username,
                user.id,
                user.password_hash,
                i64::from(user.generated),
                user.email,
                user.created
            ],
        )?;
        Ok(n == 1)
    }

    /// A user by name.
    pub fn bb_user(&self, username: &str) -> Result<Option<BbUser>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM bb_users WHERE username = ?1"),
                [username],
                user_from_row,
            )
            .optional()?)
    }

    /// Starts a session.
    pub fn bb_create_session(
        &self,
        token_sha256: &str,
        username: &str,
        expires_ms: i64,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        conn.execute("DELETE FROM bb_sessions WHERE expires_ms <= ?1", [now_ms()])?;
        conn.execute(
            "INSERT INTO bb_sessions (token_sha256, username, expires_ms) VALUES (?1, ?2, ?3)",
            params![token_sha256, username, expires_ms],
        )?;
        Ok(())
    }

    /// The user of a live session.
    pub fn bb_session_user(&self, token_sha256: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT username FROM bb_sessions WHERE token_sha256 = ?1 AND expires_ms > ?2",
                params![token_sha256, now_ms()],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Ends a session.
    pub fn bb_delete_session(&self, token_sha256: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "DELETE FROM bb_sessions WHERE token_sha256 = ?1",
            [token_sha256],
        )?;
        Ok(())
    }

    /// A user's links, by network.
    pub fn bb_links(&self, username: &str) -> Result<Vec<BbLink>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT network, provider_id, name, email, token, secret FROM bb_links
             WHERE username = ?1 ORDER BY network",
        )?;
        let rows = stmt.query_map([username], |r| {
            Ok(BbLink {
                network: r.get(0)?,
                provider_id: r.get(1)?,
                name: r.get(2)?,
                email: r.get(3)?,
                token: r.get(4)?,
                secret: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Logs in with a social identity: its user, or a new user with a
    /// generated name (`new_user`) linked to it. Returns the user name and
    /// whether it was created.
    pub fn bb_social_login(
        &self,
        link: &BbLink,
        new_user: &BbUser,
    ) -> Result<(String, bool), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let owner = owner_of(&tx, link)?;
        if let Some(owner) = owner {
            return Ok((owner, false));
        }
        tx.execute(
            "INSERT INTO bb_users (username, id, password_hash, generated, email, created)
             VALUES (?1, ?2, NULL, 1, ?3, ?4)",
            params![
                new_user.username,
                new_user.id,
                new_user.email,
                new_user.created
            ],
        )?;
        insert_link(&tx, &new_user.username, link)?;
        tx.commit()?;
        Ok((new_user.username.clone(), true))
    }

    /// Links an identity to a user.
    pub fn bb_link(&self, username: &str, link: &BbLink) -> Result<LinkOutcome, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let owner = owner_of(&tx, link)?;
        let network_taken = tx
            .query_row(
                "SELECT 1 FROM bb_links WHERE username = ?1 AND network = ?2",
                params![username, link.network],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        let outcome = link_outcome(owner.as_deref(), username, network_taken);
        let outcome = match outcome {
            Some(outcome) => outcome,
            None => {
                insert_link(&tx, username, link)?;
                LinkOutcome::Linked
            }
        };
        tx.commit()?;
        Ok(outcome)
    }

    /// Unlinks a network from a user, unless it is their only way to log in.
    pub fn bb_unlink(&self, username: &str, network: &str) -> Result<UnlinkOutcome, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let linked: bool = tx
            .query_row(
                "SELECT 1 FROM bb_links WHERE username = ?1 AND network = ?2",
                params![username, network],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        let has_password: bool = tx
            .query_row(
                "SELECT password_hash IS NOT NULL FROM bb_users WHERE username = ?1",
                [username],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(false);
        let links: i64 = tx.query_row(
            "SELECT count(*) FROM bb_links WHERE username = ?1",
            [username],
            |r| r.get(0),
        )?;
        let outcome = unlink_outcome(linked, has_password, links);
        if outcome != UnlinkOutcome::Removed {
            return Ok(outcome);
        }
        tx.execute(
            "DELETE FROM bb_links WHERE username = ?1 AND network = ?2",
            params![username, network],
        )?;
        tx.commit()?;
        Ok(UnlinkOutcome::Removed)
    }
}

/// The user an identity is linked to.
fn owner_of(tx: &rusqlite::Transaction<'_>, link: &BbLink) -> Result<Option<String>, StoreError> {
    Ok(tx
        .query_row(
            "SELECT username FROM bb_links WHERE network = ?1 AND provider_id = ?2",
            params![link.network, link.provider_id],
            |r| r.get(0),
        )
        .optional()?)
}

fn insert_link(
    tx: &rusqlite::Transaction<'_>,
    username: &str,
    link: &BbLink,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO bb_links (network, provider_id, username, name, email, token, secret, created)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            link.network,
            link.provider_id,
            username,
            link.name,
            link.email,
            link.token,
            link.secret,
            now_ms()
        ],
    )?;
    Ok(())
}
