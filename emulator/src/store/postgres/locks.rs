//! Transactions whose lock waits are bounded, and the advisory locks the
//! social-login storage takes. An instance that holds a lock too long (a
//! stuck client, a crashed transaction not yet noticed) makes the others
//! fail with an error after [`LOCK_WAIT`] instead of waiting for ever.

use deadpool_postgres::Object;

use crate::store::StoreResult;

/// How long a statement waits for a row or advisory lock before failing
/// (PostgreSQL's `lock_timeout`, for the transaction only).
pub(super) const LOCK_WAIT: &str = "5s";

/// Advisory-lock class of social-login challenges (first key of the pair).
const CHALLENGE_LOCK: i32 = 0x736f_6331; // "soc1"
/// Advisory-lock class of new users' emails.
const EMAIL_LOCK: i32 = 0x656d_6c31; // "eml1"

/// Starts a transaction whose lock waits end after [`LOCK_WAIT`].
pub(super) async fn begin(client: &mut Object) -> StoreResult<deadpool_postgres::Transaction<'_>> {
    let tx = client.transaction().await?;
    tx.batch_execute(&format!("SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
        .await?;
    Ok(tx)
}

/// Runs one writing statement in its own bounded transaction; the rows
/// it changed.
pub(super) async fn execute_bounded(
    client: &mut Object,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> StoreResult<u64> {
    let tx = begin(client).await?;
    let n = tx.execute(sql, params).await?;
    tx.commit().await?;
    Ok(n)
}

/// Serialises the transactions that decide about one challenge: whether it
/// is free depends on two tables (a pending login, a used challenge), and
/// a row lock cannot guard a row that does not exist yet.
pub(super) async fn lock_challenge(
    tx: &tokio_postgres::Transaction<'_>,
    challenge: &str,
) -> StoreResult<()> {
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        &[&CHALLENGE_LOCK, &challenge],
    )
    .await?;
    Ok(())
}

/// Serialises the creation of users with one email (in any case), so two
/// instances never both find it free (account creation is to take it too).
pub(super) async fn lock_email(
    tx: &tokio_postgres::Transaction<'_>,
    app_id: &str,
    email: &str,
) -> StoreResult<()> {
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2 || chr(10) || lower($3)))",
        &[&EMAIL_LOCK, &app_id, &email],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_db;
    use super::*;

    /// Whether the error is PostgreSQL's lock timeout (SQLSTATE 55P03),
    /// told to the client as "busy".
    fn timed_out(err: &crate::store::StoreError) -> bool {
        matches!(err, crate::store::StoreError::Busy(m) if m.contains("stayed locked for 5s"))
    }

    #[tokio::test]
    async fn a_held_lock_is_an_error_after_the_wait_not_a_hang() {
        let Some(pg) = test_db::fresh("lock_wait").await else {
            return;
        };
        let mut holder = pg.client().await.unwrap();
        let held = begin(&mut holder).await.unwrap();
        lock_challenge(&held, "c1").await.unwrap();
        let mut waiter = pg.client().await.unwrap();
        let tx = begin(&mut waiter).await.unwrap();
        let err = lock_challenge(&tx, "c1").await.unwrap_err();
        assert!(timed_out(&err), "{err:?}");
        drop(tx);
        // The store's own writes are bounded the same way.
        let login = crate::store::NewLogin {
            challenge: "c1".into(),
            app_id: "app".into(),
            network: "github".into(),
            redirect_uri: None,
            code_challenge: None,
            link_user: None,
            scope: None,
            state: "s1".into(),
            expires_ms: crate::store::now_ms() + 60_000,
        };
        let err = pg.insert_login(&login).await.unwrap_err();
        assert!(timed_out(&err), "{err:?}");
        // Another challenge is not held.
        let tx = begin(&mut waiter).await.unwrap();
        lock_challenge(&tx, "c2").await.unwrap();
        held.commit().await.unwrap();
        assert!(pg.insert_login(&login).await.unwrap(), "free again");
    }
}
