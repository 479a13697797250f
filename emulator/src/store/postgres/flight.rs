//! [`InFlight`] for PostgreSQL. Every method is one transaction on a pooled
//! connection; single use is `DELETE … RETURNING`, a second insert of the
//! same key `ON CONFLICT`. Where a bound counts rows (tickets, device
//! logins) the transaction first takes an advisory lock of its own, so two
//! instances counting at once cannot both pass the bound.

use serde_json::Value;

use super::db::Pg;
use crate::model::Identity;
use crate::store::{
    DeviceEntry, DeviceLimits, Grant, InFlight, NewTicket, Reserved, SentKind, StoreError,
    StoreResult, TicketLimits, TicketOf, as_i64, identity_json, identity_of,
};

/// Serialises ticket issues ("cm-tick" in ASCII).
const TICKETS_LOCK: i64 = 0x0063_6d2d_7469_636b;
/// Serialises device-login reservations ("cm-devi" in ASCII).
const DEVICES_LOCK: i64 = 0x0063_6d2d_6465_7669;

#[async_trait::async_trait]
impl InFlight for Pg {
    async fn ticket_issue(&self, t: &NewTicket, l: TicketLimits, now: i64) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&TICKETS_LOCK])
            .await?;
        tx.execute("DELETE FROM link_tickets WHERE expires_ms <= $1", &[&now])
            .await?;
        tx.execute(
            "INSERT INTO link_tickets (ticket_sha256, app_id, user_id, session_sha256, expires_ms)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &t.ticket_sha256,
                &t.app_id,
                &t.of.user_id,
                &t.of.session_sha256,
                &t.expires_ms,
            ],
        )
        .await?;
        tx.execute(
            "DELETE FROM link_tickets WHERE seq IN (SELECT seq FROM link_tickets
             WHERE app_id = $1 AND user_id = $2 ORDER BY seq DESC OFFSET $3)",
            &[&t.app_id, &t.of.user_id, &as_i64(l.per_user)],
        )
        .await?;
        tx.execute(
            "DELETE FROM link_tickets WHERE seq IN
             (SELECT seq FROM link_tickets ORDER BY seq DESC OFFSET $1)",
            &[&as_i64(l.total)],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn ticket_redeem(&self, app: &str, h: &str, now: i64) -> StoreResult<Option<TicketOf>> {
        let row = self
            .client()
            .await?
            .query_opt(
                "DELETE FROM link_tickets WHERE ticket_sha256 = $1 AND app_id = $2
                 RETURNING user_id, session_sha256, expires_ms",
                &[&h, &app],
            )
            .await?;
        Ok(row.filter(|r| r.get::<_, i64>(2) > now).map(|r| TicketOf {
            user_id: r.get(0),
            session_sha256: r.get(1),
        }))
    }

    async fn device_reserve(
        &self,
        e: &DeviceEntry,
        lim: DeviceLimits,
        now: i64,
    ) -> StoreResult<Reserved> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&DEVICES_LOCK])
            .await?;
        tx.execute("DELETE FROM device_logins WHERE expires_ms <= $1", &[&now])
            .await?;
        let counts = tx
            .query_one(
                "SELECT COUNT(*) FILTER (WHERE NOT settled), COUNT(*),
                 (SELECT COUNT(*) FROM device_logins)
                 FROM device_logins WHERE app_id = $1",
                &[&e.app_id],
            )
            .await?;
        let (pending, kept, total): (i64, i64, i64) = (counts.get(0), counts.get(1), counts.get(2));
        if pending >= as_i64(lim.pending_per_app)
            || kept >= as_i64(lim.kept_per_app)
            || total >= as_i64(lim.total)
        {
            return Ok(Reserved::Full);
        }
        let added = tx
            .execute(
                "INSERT INTO device_logins
                 (challenge_sha256, app_id, kind, code_challenge, expires_ms)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (challenge_sha256) DO NOTHING",
                &[
                    &e.challenge_sha256,
                    &e.app_id,
                    &e.kind,
                    &e.code_challenge,
                    &e.expires_ms,
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(if added == 1 {
            Reserved::Yes
        } else {
            Reserved::Taken
        })
    }

    async fn device_forget(&self, app: Option<&str>, h: &str) -> StoreResult<()> {
        self.client()
            .await?
            .execute(
                "DELETE FROM device_logins WHERE challenge_sha256 = $1
                 AND ($2::TEXT IS NULL OR app_id = $2)",
                &[&h, &app],
            )
            .await?;
        Ok(())
    }

    async fn device_settle(&self, app: &str, h: &str, now: i64) -> StoreResult<Option<String>> {
        let row = self
            .client()
            .await?
            .query_opt(
                "UPDATE device_logins SET settled = TRUE
                 WHERE challenge_sha256 = $1 AND app_id = $2 AND expires_ms > $3 RETURNING kind",
                &[&h, &app, &now],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn device_code_challenge(&self, app: &str, h: &str) -> StoreResult<Option<String>> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT code_challenge FROM device_logins
                 WHERE challenge_sha256 = $1 AND app_id = $2",
                &[&h, &app],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn device_miss(&self, app: &str, h: &str, max: u32) -> StoreResult<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let row = tx
            .query_opt(
                "UPDATE device_logins SET attempts = attempts + 1
                 WHERE challenge_sha256 = $1 AND app_id = $2 RETURNING attempts",
                &[&h, &app],
            )
            .await?;
        let last = row.is_some_and(|r| i64::from(r.get::<_, i32>(0)) >= i64::from(max));
        if last {
            tx.execute(
                "DELETE FROM device_logins WHERE challenge_sha256 = $1",
                &[&h],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(last)
    }

    async fn grant_issue(&self, h: &str, g: &Grant, exp: i64, cap: usize) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "DELETE FROM idp_codes WHERE expires_ms <= $1",
            &[&crate::store::now_ms()],
        )
        .await?;
        tx.execute(
            "INSERT INTO idp_codes
             (code_sha256, client_id, redirect_uri, identity, code_challenge, expires_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &h,
                &g.client_id,
                &g.redirect_uri,
                &identity_json(&g.identity),
                &g.code_challenge,
                &exp,
            ],
        )
        .await?;
        tx.execute(
            "DELETE FROM idp_codes WHERE code_sha256 IN (SELECT code_sha256 FROM idp_codes
             ORDER BY expires_ms DESC OFFSET $1)",
            &[&as_i64(cap)],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn grant_take(&self, h: &str, now: i64) -> StoreResult<Option<Grant>> {
        let row = self
            .client()
            .await?
            .query_opt(
                "DELETE FROM idp_codes WHERE code_sha256 = $1
                 RETURNING client_id, redirect_uri, identity, code_challenge, expires_ms",
                &[&h],
            )
            .await?;
        let Some(row) = row.filter(|r| r.get::<_, i64>(4) > now) else {
            return Ok(None);
        };
        Ok(Some(Grant {
            client_id: row.get(0),
            redirect_uri: row.get(1),
            identity: identity_of(row.get(2))?,
            code_challenge: row.get(3),
        }))
    }

    async fn idp_token_issue(
        &self,
        h: &str,
        id: &Identity,
        exp: i64,
        cap: usize,
    ) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "DELETE FROM idp_tokens WHERE expires_ms <= $1",
            &[&crate::store::now_ms()],
        )
        .await?;
        tx.execute(
            "INSERT INTO idp_tokens (token_sha256, identity, expires_ms) VALUES ($1, $2, $3)
             ON CONFLICT (token_sha256) DO UPDATE SET
             identity = excluded.identity, expires_ms = excluded.expires_ms",
            &[&h, &identity_json(id), &exp],
        )
        .await?;
        tx.execute(
            "DELETE FROM idp_tokens WHERE token_sha256 IN (SELECT token_sha256 FROM idp_tokens
             ORDER BY expires_ms DESC OFFSET $1)",
            &[&as_i64(cap)],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn idp_token_identity(&self, h: &str, now: i64) -> StoreResult<Option<Identity>> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT identity FROM idp_tokens WHERE token_sha256 = $1 AND expires_ms > $2",
                &[&h, &now],
            )
            .await?;
        row.map(|r| identity_of(r.get(0))).transpose()
    }

    async fn sent_append(
        &self,
        k: SentKind,
        app: &str,
        item: &Value,
        cap: usize,
    ) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO sent (kind, app_id, item) VALUES ($1, $2, $3)",
            &[&k.as_str(), &app, &item.to_string()],
        )
        .await?;
        tx.execute(
            "DELETE FROM sent WHERE kind = $1 AND seq <= COALESCE((SELECT seq FROM sent
             WHERE kind = $1 ORDER BY seq DESC OFFSET $2 LIMIT 1), -1)",
            &[&k.as_str(), &as_i64(cap)],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn sent_read(&self, k: SentKind, app: Option<&str>) -> StoreResult<Vec<Value>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT item FROM sent WHERE kind = $1 AND ($2::TEXT IS NULL OR app_id = $2)
                 ORDER BY seq",
                &[&k.as_str(), &app],
            )
            .await?;
        rows.iter()
            .map(|r| {
                serde_json::from_str(r.get(0))
                    .map_err(|e| StoreError::Invalid(format!("a stored sent item: {e}")))
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "flight_tests.rs"]
mod tests;
