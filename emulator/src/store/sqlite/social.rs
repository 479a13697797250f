//! Social-login storage: linked identities, and logins in flight.
//!
//! A pending login is one `social_logins` row keyed by its challenge. The
//! callback marks it finished (keeping the new session token in plain text
//! until the status call takes it) or failed; the status call deletes the
//! row and remembers the challenge in `social_used_challenges` for ten
//! minutes, so it can be used only once.

use rusqlite::{OptionalExtension, Row, params};
use serde_json::Value;

use super::db::Db;
use crate::store::decide::{
    IdentityStep, LOGIN_COLUMNS, StoredOutcome, USED_CHALLENGE_TTL_MS, identity_step,
};
use crate::store::{LoginOutcome, NewLogin, PendingLogin, SocialUser, StoreError, now_ms};

impl Db {
    /// Finds the user of a social identity, links it to `link_user`, or
    /// creates a user for it, in one transaction; never a second user with
    /// an email that is taken ([`SocialUser::EmailTaken`]).
    pub fn social_user(
        &self,
        app_id: &str,
        identity: &crate::model::Identity,
        link_user: Option<&str>,
    ) -> Result<SocialUser, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let owner: Option<String> = tx
            .query_row(
                "SELECT user_id FROM social_identities WHERE app_id = ?1 AND network = ?2 AND provider_id = ?3",
                params![app_id, identity.network, identity.id],
                |r| r.get(0),
            )
            .optional()?;
        let user = match identity_step(owner, link_user) {
            IdentityStep::Conflict => return Ok(SocialUser::Conflict),
            IdentityStep::Existing(owner) => owner,
            step => {
                let user = match step {
                    IdentityStep::Link(link) => link,
                    _ => {
                        if !identity.email.is_empty() && email_taken(&tx, app_id, &identity.email)?
                        {
                            return Ok(SocialUser::EmailTaken);
                        }
                        let id = crate::crypto::random_hex(16);
                        if id.is_empty() {
                            return Err(StoreError::Invalid(
                                "the OS random generator failed".into(),
                            ));
                        }
                        let profile =
                            serde_json::json!({ "name": identity.name, "email": identity.email });
                        tx.execute(
                            "INSERT INTO users (app_id, id, email, profile, created) VALUES (?1, ?2, ?3, ?4, ?5)",
                            params![app_id, id, identity.email, profile.to_string(), now_ms()],
                        )?;
                        id
                    }
                };
                tx.execute(
                    "INSERT INTO social_identities (app_id, network, provider_id, user_id, created)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![app_id, identity.network, identity.id, user, now_ms()],
                )?;
                user
            }
        };
        tx.commit()?;
        Ok(SocialUser::Found(user))
    }

    /// A user's profile as CloudMine shows it: `__id__`, `__type__`,
    /// `__services__` (linked networks, sorted), email and profile fields.
    pub fn user_profile(&self, app_id: &str, user_id: &str) -> Result<Option<Value>, StoreError> {
        let conn = self.conn();
        let row: Option<(Option<String>, Option<String>, String)> = conn
            .query_row(
                "SELECT email, username, profile FROM users WHERE app_id = ?1 AND id = ?2",
                params![app_id, user_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((email, username, profile)) = row else {
            return Ok(None);
        };
        let mut stmt = conn.prepare(
            "SELECT DISTINCT network FROM social_identities WHERE app_id = ?1 AND user_id = ?2 ORDER BY network",
        )?;
        let services = stmt
            .query_map(params![app_id, user_id], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(crate::store::values::user_profile_value(
            crate::store::values::StoredUser {
                id: user_id,
                email,
                username,
                profile: &profile,
                services,
            },
        )))
    }
}

/// True when a user of the app already has this email (in any case, as
/// `account/create` compares them).
fn email_taken(
    tx: &rusqlite::Transaction<'_>,
    app_id: &str,
    email: &str,
) -> Result<bool, StoreError> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM users WHERE app_id = ?1 AND lower(email) = lower(?2) LIMIT 1",
            params![app_id, email],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

fn login_from_row(r: &Row<'_>) -> rusqlite::Result<PendingLogin> {
    let outcome = StoredOutcome {
        status: r.get(6)?,
        error: r.get(7)?,
        description: r.get(8)?,
        user_id: r.get(9)?,
        token: r.get(10)?,
        expires_ms: r.get(11)?,
    }
    .into_outcome();
    Ok(PendingLogin {
        challenge: r.get(0)?,
        app_id: r.get(1)?,
        network: r.get(2)?,
        redirect_uri: r.get(3)?,
        code_challenge: r.get(4)?,
        link_user: r.get(5)?,
        outcome,
    })
}

impl Db {
    /// Forgets expired logins (and the unclaimed sessions they made) and
    /// expired used challenges.
    fn sweep_logins(tx: &rusqlite::Transaction<'_>, now: i64) -> Result<(), StoreError> {
        tx.execute(
            "DELETE FROM sessions WHERE token_sha256 IN
               (SELECT session_token_sha256 FROM social_logins
                WHERE expires_ms <= ?1 AND session_token_sha256 IS NOT NULL)",
            [now],
        )?;
        tx.execute("DELETE FROM social_logins WHERE expires_ms <= ?1", [now])?;
        tx.execute(
            "DELETE FROM social_used_challenges WHERE expires_ms <= ?1",
            [now],
        )?;
        Ok(())
    }

    /// Stores a pending login; `Ok(false)` when its challenge is pending or
    /// was used in the last ten minutes.
    pub fn insert_login(&self, login: &NewLogin) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        Self::sweep_logins(&tx, now_ms())?;
        let taken: bool = tx
            .query_row(
                "SELECT 1 FROM social_logins WHERE challenge = ?1
                 UNION ALL SELECT 1 FROM social_used_challenges WHERE challenge = ?1",
                [&login.challenge],
                |_| Ok(true),
            )
            .optional()?
            .unwrap_or(false);
        if taken {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO social_logins (challenge, app_id, network, redirect_uri, code_challenge,
                 link_user_id, scope, state, status, expires_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9)",
            params![
                login.challenge,
                login.app_id,
                login.network,
                login.redirect_uri,
                login.code_challenge,
                login.link_user,
                login.scope,
                login.state,
                login.expires_ms,
            ],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// The live login with this provider `state`.
    pub fn login_by_state(&self, state: &str) -> Result<Option<PendingLogin>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "SELECT {LOGIN_COLUMNS} FROM social_logins WHERE state = ?1 AND expires_ms > ?2"
                ),
                params![state, now_ms()],
                login_from_row,
            )
            .optional()?)
    }

    /// Records the outcome of a pending login; `Ok(false)` if it is no
    /// longer pending (or gone). A finished login's session token is kept in
    /// plain text only until [`take_login`](Self::take_login).
    pub fn settle_login(
        &self,
        challenge: &str,
        outcome: &LoginOutcome,
        token_sha256: Option<&str>,
    ) -> Result<bool, StoreError> {
        let conn = self.conn();
        let changed = match outcome {
            LoginOutcome::Pending => 0,
            LoginOutcome::Finished {
                user_id,
                token,
                expires_ms,
            } => conn.execute(
                "UPDATE social_logins SET status = 'finished', user_id = ?2, session_token = ?3,
                     session_token_sha256 = ?4, session_expires_ms = ?5
                 WHERE challenge = ?1 AND status = 'pending'",
                params![challenge, user_id, token, token_sha256, expires_ms],
            )?,
            LoginOutcome::Failed { error, description } => conn.execute(
                "UPDATE social_logins SET status = 'failed', error = ?2, error_description = ?3
                 WHERE challenge = ?1 AND status = 'pending'",
                params![challenge, error, description],
            )?,
        };
        Ok(changed == 1)
    }

    /// The live login of `app_id` with this challenge. A settled (finished
    /// or failed) one is deleted in the same transaction and its challenge
    /// remembered as used, so it is handed out exactly once.
    pub fn take_login(
        &self,
        app_id: &str,
        challenge: &str,
    ) -> Result<Option<PendingLogin>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let now = now_ms();
        Self::sweep_logins(&tx, now)?;
        let login = tx
            .query_row(
                &format!(
                    "SELECT {LOGIN_COLUMNS} FROM social_logins WHERE challenge = ?1 AND app_id = ?2"
                ),
                params![challenge, app_id],
                login_from_row,
            )
            .optional()?;
        if let Some(l) = &login
            && l.outcome != LoginOutcome::Pending
        {
            tx.execute(
                "DELETE FROM social_logins WHERE challenge = ?1",
                [challenge],
            )?;
            tx.execute(
                "INSERT OR REPLACE INTO social_used_challenges (challenge, expires_ms) VALUES (?1, ?2)",
                params![challenge, now.saturating_add(USED_CHALLENGE_TTL_MS)],
            )?;
        }
        tx.commit()?;
        Ok(login)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn new_login(challenge: &str, state: &str) -> NewLogin {
        NewLogin {
            challenge: challenge.into(),
            app_id: "app".into(),
            network: "github".into(),
            redirect_uri: None,
            code_challenge: None,
            link_user: None,
            scope: Some("read".into()),
            state: state.into(),
            expires_ms: now_ms() + 60_000,
        }
    }

    #[test]
    fn a_login_is_handed_out_once_and_its_challenge_stays_used() {
        let db = Db::open(Path::new(":memory:")).unwrap();
        assert!(db.insert_login(&new_login("c1", "s1")).unwrap());
        assert!(!db.insert_login(&new_login("c1", "s2")).unwrap(), "pending");
        let l = db.login_by_state("s1").unwrap().unwrap();
        assert_eq!(l.challenge, "c1");
        assert_eq!(l.outcome, LoginOutcome::Pending);
        // Pending: not consumed.
        assert!(db.take_login("app", "c1").unwrap().is_some());
        assert!(db.take_login("other", "c1").unwrap().is_none());
        let failed = LoginOutcome::Failed {
            error: "access_denied".into(),
            description: "no".into(),
        };
        assert!(db.settle_login("c1", &failed, None).unwrap());
        assert!(!db.settle_login("c1", &failed, None).unwrap(), "once");
        assert_eq!(db.take_login("app", "c1").unwrap().unwrap().outcome, failed);
        assert!(db.take_login("app", "c1").unwrap().is_none());
        assert!(!db.insert_login(&new_login("c1", "s3")).unwrap(), "used");
    }

    #[test]
    fn expired_logins_are_gone_with_their_unclaimed_session() {
        let db = Db::open(Path::new(":memory:")).unwrap();
        db.create_user("app", "u1", "a@example.com").unwrap();
        db.create_session("hash", "app", "u1", now_ms() + 60_000)
            .unwrap();
        let mut login = new_login("c2", "s2");
        login.expires_ms = now_ms() - 1;
        assert!(db.insert_login(&login).unwrap());
        let finished = LoginOutcome::Finished {
            user_id: "u1".into(),
            token: "plain".into(),
            expires_ms: now_ms() + 60_000,
        };
        assert!(db.settle_login("c2", &finished, Some("hash")).unwrap());
        assert!(!format!("{finished:?}").contains("plain"), "redacted");
        assert!(db.login_by_state("s2").unwrap().is_none());
        assert!(db.take_login("app", "c2").unwrap().is_none());
        assert_eq!(db.session_user("app", "hash").unwrap(), None);
    }

    #[test]
    fn a_version_1_database_opens_and_keeps_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.sqlite");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE apps (app_id TEXT PRIMARY KEY, api_key TEXT NOT NULL);
                 INSERT INTO apps VALUES ('old-app', 'old-key');
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        let db = Db::open(&path).unwrap();
        assert_eq!(
            db.apps().unwrap(),
            vec![("old-app".to_owned(), "old-key".to_owned())]
        );
        assert!(db.insert_login(&new_login("c3", "s3")).unwrap());
        let version: i64 = db
            .conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, super::super::SCHEMA_VERSION);
        drop(db);
        // Reopening a version-2 file works too, pending logins included.
        let db = Db::open(&path).unwrap();
        assert!(db.login_by_state("s3").unwrap().is_some());
    }
}
