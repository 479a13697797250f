//! [`InFlight`] for SQLite: the statements (synchronous [`Db`] methods,
//! each one transaction on the one connection, so counts and writes cannot
//! interleave) and the async trait over them on blocking threads.

use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use super::db::Db;
use super::store_impl::SqliteStore;
use crate::model::Identity;
use crate::store::{
    DeviceEntry, DeviceLimits, Grant, InFlight, NewTicket, Reserved, SentKind, StoreError,
    StoreResult, TicketLimits, TicketOf, as_i64, identity_json, identity_of,
};

impl Db {
    fn ticket_issue(&self, t: &NewTicket, limits: TicketLimits, now: i64) -> StoreResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM link_tickets WHERE expires_ms <= ?1", [now])?;
        tx.execute(
            "INSERT INTO link_tickets (ticket_sha256, app_id, user_id, session_sha256, expires_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                t.ticket_sha256,
                t.app_id,
                t.of.user_id,
                t.of.session_sha256,
                t.expires_ms
            ],
        )?;
        tx.execute(
            "DELETE FROM link_tickets WHERE seq IN (SELECT seq FROM link_tickets
             WHERE app_id = ?1 AND user_id = ?2 ORDER BY seq DESC LIMIT -1 OFFSET ?3)",
            params![t.app_id, t.of.user_id, as_i64(limits.per_user)],
        )?;
        tx.execute(
            "DELETE FROM link_tickets WHERE seq IN
             (SELECT seq FROM link_tickets ORDER BY seq DESC LIMIT -1 OFFSET ?1)",
            [as_i64(limits.total)],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn ticket_redeem(&self, app_id: &str, hash: &str, now: i64) -> StoreResult<Option<TicketOf>> {
        let row = self
            .conn()
            .query_row(
                "DELETE FROM link_tickets WHERE ticket_sha256 = ?1 AND app_id = ?2
                 RETURNING user_id, session_sha256, expires_ms",
                params![hash, app_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)?)),
            )
            .optional()?;
        Ok(row
            .filter(|(_, _, expires)| *expires > now)
            .map(|(user_id, session_sha256, _)| TicketOf {
                user_id,
                session_sha256,
            }))
    }

    fn device_reserve(
        &self,
        e: &DeviceEntry,
        lim: DeviceLimits,
        now: i64,
    ) -> StoreResult<Reserved> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM device_logins WHERE expires_ms <= ?1", [now])?;
        let (pending, kept): (i64, i64) = tx.query_row(
            "SELECT COALESCE(SUM(settled = 0), 0), COUNT(*) FROM device_logins WHERE app_id = ?1",
            [&e.app_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let total: i64 = tx.query_row("SELECT COUNT(*) FROM device_logins", [], |r| r.get(0))?;
        if pending >= as_i64(lim.pending_per_app)
            || kept >= as_i64(lim.kept_per_app)
            || total >= as_i64(lim.total)
        {
            return Ok(Reserved::Full);
        }
        let added = tx.execute(
            "INSERT INTO device_logins (challenge_sha256, app_id, kind, code_challenge, expires_ms)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (challenge_sha256) DO NOTHING",
            params![
                e.challenge_sha256,
                e.app_id,
                e.kind,
                e.code_challenge,
                e.expires_ms
            ],
        )?;
        tx.commit()?;
        Ok(if added == 1 {
            Reserved::Yes
        } else {
            Reserved::Taken
        })
    }

    fn device_forget(&self, app_id: Option<&str>, hash: &str) -> StoreResult<()> {
        self.conn().execute(
            "DELETE FROM device_logins WHERE challenge_sha256 = ?1
             AND (?2 IS NULL OR app_id = ?2)",
            params![hash, app_id],
        )?;
        Ok(())
    }

    fn device_settle(&self, app_id: &str, hash: &str, now: i64) -> StoreResult<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "UPDATE device_logins SET settled = 1
                 WHERE challenge_sha256 = ?1 AND app_id = ?2 AND expires_ms > ?3 RETURNING kind",
                params![hash, app_id, now],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn device_code_challenge(&self, app_id: &str, hash: &str) -> StoreResult<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT code_challenge FROM device_logins
                 WHERE challenge_sha256 = ?1 AND app_id = ?2",
                params![hash, app_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn device_miss(&self, app_id: &str, hash: &str, max: u32) -> StoreResult<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let attempts: Option<i64> = tx
            .query_row(
                "UPDATE device_logins SET attempts = attempts + 1
                 WHERE challenge_sha256 = ?1 AND app_id = ?2 RETURNING attempts",
                params![hash, app_id],
                |r| r.get(0),
            )
            .optional()?;
        let last = attempts.is_some_and(|a| a >= i64::from(max));
        if last {
            tx.execute(
                "DELETE FROM device_logins WHERE challenge_sha256 = ?1",
                [hash],
            )?;
        }
        tx.commit()?;
        Ok(last)
    }

    fn grant_issue(&self, hash: &str, g: &Grant, expires: i64, cap: usize) -> StoreResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM idp_codes WHERE expires_ms <= ?1",
            [crate::store::now_ms()],
        )?;
        tx.execute(
            "INSERT INTO idp_codes
             (code_sha256, client_id, redirect_uri, identity, code_challenge, expires_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                hash,
                g.client_id,
                g.redirect_uri,
                identity_json(&g.identity),
                g.code_challenge,
                expires
            ],
        )?;
        tx.execute(
            "DELETE FROM idp_codes WHERE code_sha256 IN (SELECT code_sha256 FROM idp_codes
             ORDER BY expires_ms DESC LIMIT -1 OFFSET ?1)",
            [as_i64(cap)],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn grant_take(&self, hash: &str, now: i64) -> StoreResult<Option<Grant>> {
        let row: Option<(String, String, String, Option<String>, i64)> = self
            .conn()
            .query_row(
                "DELETE FROM idp_codes WHERE code_sha256 = ?1
                 RETURNING client_id, redirect_uri, identity, code_challenge, expires_ms",
                [hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        let Some((client_id, redirect_uri, identity, code_challenge, expires)) = row else {
            return Ok(None);
        };
        if expires <= now {
            return Ok(None);
        }
        Ok(Some(Grant {
            client_id,
            redirect_uri,
            identity: identity_of(&identity)?,
            code_challenge,
        }))
    }

    fn idp_token_issue(
        &self,
        hash: &str,
        id: &Identity,
        expires: i64,
        cap: usize,
    ) -> StoreResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM idp_tokens WHERE expires_ms <= ?1",
            [crate::store::now_ms()],
        )?;
        tx.execute(
            "INSERT INTO idp_tokens (token_sha256, identity, expires_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (token_sha256) DO UPDATE SET
             identity = excluded.identity, expires_ms = excluded.expires_ms",
            params![hash, identity_json(id), expires],
        )?;
        tx.execute(
            "DELETE FROM idp_tokens WHERE token_sha256 IN (SELECT token_sha256 FROM idp_tokens
             ORDER BY expires_ms DESC LIMIT -1 OFFSET ?1)",
            [as_i64(cap)],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn idp_token_identity(&self, hash: &str, now: i64) -> StoreResult<Option<Identity>> {
        let text: Option<String> = self
            .conn()
            .query_row(
                "SELECT identity FROM idp_tokens WHERE token_sha256 = ?1 AND expires_ms > ?2",
                params![hash, now],
                |r| r.get(0),
            )
            .optional()?;
        text.as_deref().map(identity_of).transpose()
    }

    fn sent_append(
        &self,
        kind: SentKind,
        app_id: &str,
        item: &Value,
        cap: usize,
    ) -> StoreResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO sent (kind, app_id, item) VALUES (?1, ?2, ?3)",
            params![kind.as_str(), app_id, item.to_string()],
        )?;
        tx.execute(
            "DELETE FROM sent WHERE kind = ?1 AND seq <= COALESCE((SELECT seq FROM sent
             WHERE kind = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2), -1)",
            params![kind.as_str(), as_i64(cap)],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn sent_read(&self, kind: SentKind, app_id: Option<&str>) -> StoreResult<Vec<Value>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT item FROM sent WHERE kind = ?1 AND (?2 IS NULL OR app_id = ?2) ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![kind.as_str(), app_id], |r| r.get::<_, String>(0))?;
        let mut items = Vec::new();
        for text in rows {
            let item = serde_json::from_str(&text?)
                .map_err(|e| StoreError::Invalid(format!("a stored sent item: {e}")))?;
            items.push(item);
        }
        Ok(items)
    }
}

fn owned(s: &str) -> String {
    s.to_owned()
}

#[async_trait::async_trait]
impl InFlight for SqliteStore {
    async fn ticket_issue(&self, t: &NewTicket, l: TicketLimits, now: i64) -> StoreResult<()> {
        let t = t.clone();
        self.run(move |db| db.ticket_issue(&t, l, now)).await
    }

    async fn ticket_redeem(&self, app: &str, h: &str, now: i64) -> StoreResult<Option<TicketOf>> {
        let (app, h) = (owned(app), owned(h));
        self.run(move |db| db.ticket_redeem(&app, &h, now)).await
    }

    async fn device_reserve(
        &self,
        e: &DeviceEntry,
        l: DeviceLimits,
        now: i64,
    ) -> StoreResult<Reserved> {
        let e = e.clone();
        self.run(move |db| db.device_reserve(&e, l, now)).await
    }

    async fn device_forget(&self, app: Option<&str>, h: &str) -> StoreResult<()> {
        let (app, h) = (app.map(owned), owned(h));
        self.run(move |db| db.device_forget(app.as_deref(), &h))
            .await
    }

    async fn device_settle(&self, app: &str, h: &str, now: i64) -> StoreResult<Option<String>> {
        let (app, h) = (owned(app), owned(h));
        self.run(move |db| db.device_settle(&app, &h, now)).await
    }

    async fn device_code_challenge(&self, app: &str, h: &str) -> StoreResult<Option<String>> {
        let (app, h) = (owned(app), owned(h));
        self.run(move |db| db.device_code_challenge(&app, &h)).await
    }

    async fn device_miss(&self, app: &str, h: &str, max: u32) -> StoreResult<bool> {
        let (app, h) = (owned(app), owned(h));
        self.run(move |db| db.device_miss(&app, &h, max)).await
    }

    async fn grant_issue(&self, h: &str, g: &Grant, exp: i64, cap: usize) -> StoreResult<()> {
        let (h, g) = (owned(h), g.clone());
        self.run(move |db| db.grant_issue(&h, &g, exp, cap)).await
    }

    async fn grant_take(&self, h: &str, now: i64) -> StoreResult<Option<Grant>> {
        let h = owned(h);
        self.run(move |db| db.grant_take(&h, now)).await
    }

    async fn idp_token_issue(
        &self,
        h: &str,
        id: &Identity,
        exp: i64,
        cap: usize,
    ) -> StoreResult<()> {
        let (h, id) = (owned(h), id.clone());
        self.run(move |db| db.idp_token_issue(&h, &id, exp, cap))
            .await
    }

    async fn idp_token_identity(&self, h: &str, now: i64) -> StoreResult<Option<Identity>> {
        let h = owned(h);
        self.run(move |db| db.idp_token_identity(&h, now)).await
    }

    async fn sent_append(
        &self,
        k: SentKind,
        app: &str,
        item: &Value,
        cap: usize,
    ) -> StoreResult<()> {
        let (app, item) = (owned(app), item.clone());
        self.run(move |db| db.sent_append(k, &app, &item, cap))
            .await
    }

    async fn sent_read(&self, k: SentKind, app: Option<&str>) -> StoreResult<Vec<Value>> {
        let app = app.map(owned);
        self.run(move |db| db.sent_read(k, app.as_deref())).await
    }
}
