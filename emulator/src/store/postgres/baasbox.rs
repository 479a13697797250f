//! The BaasBox front end's storage on PostgreSQL: its users, sessions and
//! social links (the same rows and rules as `sqlite/baasbox.rs`).
//!
//! Races between instances:
//! - names and identities are unique in the schema; inserts say `ON
//!   CONFLICT DO NOTHING` and the loser reads the winner's row instead;
//! - linking and unlinking lock the user's row first (`SELECT … FOR
//!   UPDATE`), so two unlinks of one user cannot both see two links and
//!   leave none, and a link and an unlink of one user do not interleave.

use tokio_postgres::{Row, Transaction};

use super::db::Pg;
use super::locks::{begin, execute_bounded};
use crate::store::decide::{link_outcome, unlink_outcome};
use crate::store::{BbLink, BbUser, LinkOutcome, StoreError, StoreResult, UnlinkOutcome, now_ms};

/// How often `bb_social_login` starts over after losing a race.
const LOGIN_ATTEMPTS: usize = 3;

const USER_COLUMNS: &str = "username, id, password_hash, generated, email, created";

fn user_from_row(r: &Row) -> BbUser {
    BbUser {
        username: r.get(0),
        id: r.get(1),
        password_hash: r.get(2),
        generated: r.get(3),
        email: r.get(4),
        created: r.get(5),
    }
}

impl Pg {
    /// Creates a user; `Ok(false)` when the name (or id) is taken.
    pub async fn bb_create_user(&self, user: &BbUser) -> StoreResult<bool> {
        let n = execute_bounded(
            &mut self.client().await?,
            "INSERT INTO bb_users (username, id, password_hash, generated, email, created)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[
                &user.username,
                &user.id,
                &user.password_hash,
                &user.generated,
                &user.email,
                &user.created,
            ],
        )
        .await?;
        Ok(n == 1)
    }

    /// A user by name.
    pub async fn bb_user(&self, username: &str) -> StoreResult<Option<BbUser>> {
        let row = self
            .client()
            .await?
            .query_opt(
                &format!("SELECT {USER_COLUMNS} FROM bb_users WHERE username = $1"),
                &[&username],
            )
            .await?;
        Ok(row.as_ref().map(user_from_row))
    }

    /// Starts a session (forgetting expired ones that nobody else holds).
    pub async fn bb_create_session(
        &self,
        token_sha256: &str,
        username: &str,
        expires_ms: i64,
    ) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        tx.execute(
            "DELETE FROM bb_sessions WHERE token_sha256 IN
                     (SELECT token_sha256 FROM bb_sessions WHERE expires_ms <= $1
                      FOR UPDATE SKIP LOCKED)",
            &[&now_ms()],
        )
        .await?;
        tx.execute(
            "INSERT INTO bb_sessions (token_sha256, username, expires_ms) VALUES ($1, $2, $3)",
            &[&token_sha256, &username, &expires_ms],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The user of a live session.
    pub async fn bb_session_user(&self, token_sha256: &str) -> StoreResult<Option<String>> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT username FROM bb_sessions WHERE token_sha256 = $1 AND expires_ms > $2",
                &[&token_sha256, &now_ms()],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Ends a session.
    pub async fn bb_delete_session(&self, token_sha256: &str) -> StoreResult<()> {
        execute_bounded(
            &mut self.client().await?,
            "DELETE FROM bb_sessions WHERE token_sha256 = $1",
            &[&token_sha256],
        )
        .await?;
        Ok(())
    }

    /// A user's links, by network.
    pub async fn bb_links(&self, username: &str) -> StoreResult<Vec<BbLink>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT network, provider_id, name, email, token, secret FROM bb_links
                 WHERE username = $1 ORDER BY network",
                &[&username],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| BbLink {
                network: r.get(0),
                provider_id: r.get(1),
                name: r.get(2),
                email: r.get(3),
                token: r.get(4),
                secret: r.get(5),
            })
            .collect())
    }

    /// Logs in with a social identity: its user, or a new user with a
    /// generated name (`new_user`) linked to it. Returns the user name and
    /// whether it was created. Two first logins with one identity: the
    /// link insert of the second finds the first's row (`ON CONFLICT DO
    /// NOTHING`), rolls back its new user and starts over as a login.
    pub async fn bb_social_login(
        &self,
        link: &BbLink,
        new_user: &BbUser,
    ) -> StoreResult<(String, bool)> {
        let mut client = self.client().await?;
        for _ in 0..LOGIN_ATTEMPTS {
            let tx = begin(&mut client).await?;
            if let Some(owner) = owner_of(&tx, link).await? {
                return Ok((owner, false));
            }
            tx.execute(
                "INSERT INTO bb_users (username, id, password_hash, generated, email, created)
                 VALUES ($1, $2, NULL, TRUE, $3, $4)",
                &[
                    &new_user.username,
                    &new_user.id,
                    &new_user.email,
                    &new_user.created,
                ],
            )
            .await?;
            if insert_link(&tx, &new_user.username, link).await? {
                tx.commit().await?;
                return Ok((new_user.username.clone(), true));
            }
            tx.rollback().await?;
        }
        Err(StoreError::Invalid(
            "the social identity kept changing while logging in; try again".into(),
        ))
    }

    /// Links an identity to a user.
    pub async fn bb_link(&self, username: &str, link: &BbLink) -> StoreResult<LinkOutcome> {
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        lock_user(&tx, username).await?;
        // Another user may link the identity between the read and the
        // insert: the insert then does nothing and the read is repeated.
        for _ in 0..2 {
            let owner = owner_of(&tx, link).await?;
            let network_taken = tx
                .query_opt(
                    "SELECT 1 FROM bb_links WHERE username = $1 AND network = $2",
                    &[&username, &link.network],
                )
                .await?
                .is_some();
            if let Some(outcome) = link_outcome(owner.as_deref(), username, network_taken) {
                return Ok(outcome);
            }
            if insert_link(&tx, username, link).await? {
                tx.commit().await?;
                return Ok(LinkOutcome::Linked);
            }
        }
        Err(StoreError::Invalid(
            "the social identity kept changing while being linked; try again".into(),
        ))
    }

    /// Unlinks a network from a user, unless it is their only way to log in.
    pub async fn bb_unlink(&self, username: &str, network: &str) -> StoreResult<UnlinkOutcome> {
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        let has_password = lock_user(&tx, username).await?;
        let row = tx
            .query_one(
                "SELECT count(*), count(*) FILTER (WHERE network = $2)
                 FROM bb_links WHERE username = $1",
                &[&username, &network],
            )
            .await?;
        let (links, this): (i64, i64) = (row.get(0), row.get(1));
        let outcome = unlink_outcome(this > 0, has_password, links);
        if outcome == UnlinkOutcome::Removed {
            tx.execute(
                "DELETE FROM bb_links WHERE username = $1 AND network = $2",
                &[&username, &network],
            )
            .await?;
            tx.commit().await?;
        }
        Ok(outcome)
    }
}

/// Locks a user's row for the transaction (link and unlink of one user go
/// one at a time); whether the user has a password (false when unknown).
async fn lock_user(tx: &Transaction<'_>, username: &str) -> StoreResult<bool> {
    let row = tx
        .query_opt(
            "SELECT password_hash IS NOT NULL FROM bb_users WHERE username = $1 FOR UPDATE",
            &[&username],
        )
        .await?;
    Ok(row.is_some_and(|r| r.get(0)))
}

/// The user an identity is linked to.
async fn owner_of(tx: &Transaction<'_>, link: &BbLink) -> StoreResult<Option<String>> {
    let row = tx
        .query_opt(
            "SELECT username FROM bb_links WHERE network = $1 AND provider_id = $2",
            &[&link.network, &link.provider_id],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Links an identity; false when a concurrent transaction took it (or the
/// user's network) first.
async fn insert_link(tx: &Transaction<'_>, username: &str, link: &BbLink) -> StoreResult<bool> {
    let n = tx
        .execute(
            "INSERT INTO bb_links (network, provider_id, username, name, email, token, secret,
                 created)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            &[
                &link.network,
                &link.provider_id,
                &username,
                &link.name,
                &link.email,
                &link.token,
                &link.secret,
                &now_ms(),
            ],
        )
        .await?;
    Ok(n == 1)
}

#[cfg(test)]
#[path = "baasbox_tests.rs"]
mod tests;
