//! Social-login storage on PostgreSQL: linked identities, and logins in
//! flight (the same rows and rules as `sqlite/social.rs`).
//!
//! Several instances share these rows, so each write says how it stays
//! right when two of them race:
//! - a challenge is serialised by a transaction-scoped advisory lock
//!   (`locks::lock_challenge`): whether it is free depends on two tables (a
//!   pending login, a used challenge), and a row lock cannot guard a row
//!   that does not exist yet;
//! - settling is one conditional `UPDATE … WHERE status = 'pending'`: a
//!   second settle waits for the first's row lock, re-reads the row, finds
//!   it settled and changes nothing;
//! - taking a settled login is a `DELETE … RETURNING`, which hands the row
//!   to exactly one taker;
//! - sweeping expired rows skips rows another transaction holds
//!   (`FOR UPDATE SKIP LOCKED`), so sweeps never wait or deadlock.

use tokio_postgres::{Row, Transaction};

use super::db::Pg;
use super::locks::{begin, execute_bounded, lock_challenge, lock_email};
use crate::model::Identity;
use crate::store::decide::{
    IdentityStep, LOGIN_COLUMNS, StoredOutcome, USED_CHALLENGE_TTL_MS, identity_step,
};
use crate::store::{
    LoginOutcome, NewLogin, PendingLogin, SocialUser, StoreError, StoreResult, now_ms,
};

/// How often `social_user` starts over after losing a race on the identity.
const IDENTITY_ATTEMPTS: usize = 3;

fn login_from_row(r: &Row) -> PendingLogin {
    let outcome = StoredOutcome {
        status: r.get(6),
        error: r.get(7),
        description: r.get(8),
        user_id: r.get(9),
        token: r.get(10),
        expires_ms: r.get(11),
    }
    .into_outcome();
    PendingLogin {
        challenge: r.get(0),
        app_id: r.get(1),
        network: r.get(2),
        redirect_uri: r.get(3),
        code_challenge: r.get(4),
        link_user: r.get(5),
        outcome,
    }
}

/// Forgets expired logins (with the unclaimed sessions they made) and
/// expired used challenges; rows another transaction holds are left for
/// the next sweep.
async fn sweep_logins(tx: &Transaction<'_>, now: i64) -> StoreResult<()> {
    tx.execute(
        "WITH gone AS (
             DELETE FROM social_logins WHERE challenge IN
                 (SELECT challenge FROM social_logins WHERE expires_ms <= $1
                  FOR UPDATE SKIP LOCKED)
             RETURNING session_token_sha256)
         DELETE FROM sessions WHERE token_sha256 IN
             (SELECT session_token_sha256 FROM gone WHERE session_token_sha256 IS NOT NULL)",
        &[&now],
    )
    .await?;
    tx.execute(
        "DELETE FROM social_used_challenges WHERE challenge IN
             (SELECT challenge FROM social_used_challenges WHERE expires_ms <= $1
              FOR UPDATE SKIP LOCKED)",
        &[&now],
    )
    .await?;
    Ok(())
}

impl Pg {
    /// Finds the user of a social identity, links it to `link_user`, or
    /// creates a user for it, in one transaction; never a second user with
    /// an email that is taken ([`SocialUser::EmailTaken`]). Two instances
    /// racing on one new identity: the identity row is inserted with `ON
    /// CONFLICT DO NOTHING`; the loser rolls back (its new user with it)
    /// and starts over, now finding the winner's user.
    pub async fn social_user(
        &self,
        app_id: &str,
        identity: &Identity,
        link_user: Option<&str>,
    ) -> StoreResult<SocialUser> {
        let mut client = self.client().await?;
        for _ in 0..IDENTITY_ATTEMPTS {
            let tx = begin(&mut client).await?;
            if let Some(found) = identity_once(&tx, app_id, identity, link_user).await? {
                tx.commit().await?;
                return Ok(found);
            }
            tx.rollback().await?;
        }
        Err(StoreError::Invalid(
            "the social identity kept changing while it was being linked; try again".into(),
        ))
    }

    /// Stores a pending login; `Ok(false)` when its challenge is pending or
    /// was used in the last ten minutes.
    pub async fn insert_login(&self, login: &NewLogin) -> StoreResult<bool> {
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        let now = now_ms();
        lock_challenge(&tx, &login.challenge).await?;
        sweep_logins(&tx, now).await?;
        let taken = tx
            .query_opt(
                "SELECT 1 FROM social_logins WHERE challenge = $1
                 UNION ALL SELECT 1 FROM social_used_challenges
                     WHERE challenge = $1 AND expires_ms > $2
                 LIMIT 1",
                &[&login.challenge, &now],
            )
            .await?
            .is_some();
        if taken {
            return Ok(false);
        }
        // The state is unique too: a clash (random, so never in practice)
        // is a refusal, not an error.
        let n = tx
            .execute(
                "INSERT INTO social_logins (challenge, app_id, network, redirect_uri,
                     code_challenge, link_user_id, scope, state, status, expires_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9)
                 ON CONFLICT DO NOTHING",
                &[
                    &login.challenge,
                    &login.app_id,
                    &login.network,
                    &login.redirect_uri,
                    &login.code_challenge,
                    &login.link_user,
                    &login.scope,
                    &login.state,
                    &login.expires_ms,
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    /// The live login with this provider `state`.
    pub async fn login_by_state(&self, state: &str) -> StoreResult<Option<PendingLogin>> {
        let row = self
            .client()
            .await?
            .query_opt(
                &format!(
                    "SELECT {LOGIN_COLUMNS} FROM social_logins WHERE state = $1 AND expires_ms > $2"
                ),
                &[&state, &now_ms()],
            )
            .await?;
        Ok(row.as_ref().map(login_from_row))
    }

    /// Records the outcome of a pending login; `Ok(false)` if it is no
    /// longer pending (or gone). One statement: of two racing settles the
    /// second re-reads the row after the first commits and matches nothing.
    pub async fn settle_login(
        &self,
        challenge: &str,
        outcome: &LoginOutcome,
        token_sha256: Option<&str>,
    ) -> StoreResult<bool> {
        let mut client = self.client().await?;
        let changed = match outcome {
            LoginOutcome::Pending => 0,
            LoginOutcome::Finished {
                user_id,
                token,
                expires_ms,
            } => {
                execute_bounded(
                    &mut client,
                    "UPDATE social_logins SET status = 'finished', user_id = $2,
                             session_token = $3, session_token_sha256 = $4, session_expires_ms = $5
                         WHERE challenge = $1 AND status = 'pending'",
                    &[&challenge, user_id, token, &token_sha256, expires_ms],
                )
                .await?
            }
            LoginOutcome::Failed { error, description } => {
                execute_bounded(
                    &mut client,
                    "UPDATE social_logins SET status = 'failed', error = $2,
                             error_description = $3
                         WHERE challenge = $1 AND status = 'pending'",
                    &[&challenge, error, description],
                )
                .await?
            }
        };
        Ok(changed == 1)
    }

    /// The live login of `app_id` with this challenge. A settled one is
    /// deleted (`DELETE … RETURNING`: one taker gets it) and its challenge
    /// remembered as used, in one transaction.
    pub async fn take_login(
        &self,
        app_id: &str,
        challenge: &str,
    ) -> StoreResult<Option<PendingLogin>> {
        let mut client = self.client().await?;
        let tx = begin(&mut client).await?;
        let now = now_ms();
        lock_challenge(&tx, challenge).await?;
        sweep_logins(&tx, now).await?;
        let taken = tx
            .query_opt(
                &format!(
                    "DELETE FROM social_logins
                     WHERE challenge = $1 AND app_id = $2 AND expires_ms > $3
                         AND status <> 'pending'
                     RETURNING {LOGIN_COLUMNS}"
                ),
                &[&challenge, &app_id, &now],
            )
            .await?;
        let login = match taken {
            Some(row) => {
                tx.execute(
                    "INSERT INTO social_used_challenges (challenge, expires_ms) VALUES ($1, $2)
                     ON CONFLICT (challenge) DO UPDATE SET expires_ms = excluded.expires_ms",
                    &[&challenge, &now.saturating_add(USED_CHALLENGE_TTL_MS)],
                )
                .await?;
                Some(login_from_row(&row))
            }
            None => tx
                .query_opt(
                    &format!(
                        "SELECT {LOGIN_COLUMNS} FROM social_logins
                         WHERE challenge = $1 AND app_id = $2 AND expires_ms > $3"
                    ),
                    &[&challenge, &app_id, &now],
                )
                .await?
                .as_ref()
                .map(login_from_row),
        };
        tx.commit().await?;
        Ok(login)
    }
}

/// One attempt of [`Pg::social_user`]; `None` when another transaction
/// linked the identity first (the caller rolls back and starts over).
async fn identity_once(
    tx: &Transaction<'_>,
    app_id: &str,
    identity: &Identity,
    link_user: Option<&str>,
) -> StoreResult<Option<SocialUser>> {
    // A new user may be made with the identity's email: the email lock is
    // taken before anything is read, so a racing first login of the same
    // identity waits here and then finds the identity linked.
    if link_user.is_none() && !identity.email.is_empty() {
        lock_email(tx, app_id, &identity.email).await?;
    }
    let owner: Option<String> = tx
        .query_opt(
            "SELECT user_id FROM social_identities
             WHERE app_id = $1 AND network = $2 AND provider_id = $3",
            &[&app_id, &identity.network, &identity.id],
        )
        .await?
        .map(|r| r.get(0));
    let user = match identity_step(owner, link_user) {
        IdentityStep::Conflict => return Ok(Some(SocialUser::Conflict)),
        IdentityStep::Existing(owner) => return Ok(Some(SocialUser::Found(owner))),
        IdentityStep::Link(user) => user,
        IdentityStep::Create => match create_user(tx, app_id, identity).await? {
            Some(user) => user,
            None => return Ok(Some(SocialUser::EmailTaken)),
        },
    };
    let linked = tx
        .execute(
            "INSERT INTO social_identities (app_id, network, provider_id, user_id, created)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            &[&app_id, &identity.network, &identity.id, &user, &now_ms()],
        )
        .await?;
    Ok((linked == 1).then_some(SocialUser::Found(user)))
}

/// Creates the user of a new identity; `None` when its email is taken.
/// The caller holds the email's lock.
async fn create_user(
    tx: &Transaction<'_>,
    app_id: &str,
    identity: &Identity,
) -> StoreResult<Option<String>> {
    if !identity.email.is_empty() {
        let taken = tx
            .query_opt(
                "SELECT 1 FROM users WHERE app_id = $1 AND lower(email) = lower($2) LIMIT 1",
                &[&app_id, &identity.email],
            )
            .await?
            .is_some();
        if taken {
            return Ok(None);
        }
    }
    let id = crate::crypto::try_random_hex(16).map_err(StoreError::Invalid)?;
    let profile = serde_json::json!({ "name": identity.name, "email": identity.email });
    tx.execute(
        "INSERT INTO users (app_id, id, email, profile, created) VALUES ($1, $2, $3, $4, $5)",
        &[
            &app_id,
            &id,
            &identity.email,
            &profile.to_string(),
            &now_ms(),
        ],
    )
    .await?;
    Ok(Some(id))
}

#[cfg(test)]
#[path = "social_tests.rs"]
mod tests;
