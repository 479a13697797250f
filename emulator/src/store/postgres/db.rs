//! The connection pool: opened, checked and migrated here; the other files
//! of this module add the statements.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

use super::migrate;
use crate::store::{StoreError, StoreResult};

impl From<tokio_postgres::Error> for StoreError {
    // The server's message (never its detail, which may quote values) is
    // kept: `tokio_postgres::Error` alone shows only "db error". What the
    // client can change or retry gets its own variant and a fixed message.
    fn from(e: tokio_postgres::Error) -> Self {
        let Some(db) = e.as_db_error() else {
            return StoreError::Backend(format!("PostgreSQL: {e}").into());
        };
        match classify(db.code()) {
            Some(known) => known,
            None => {
                let text = format!("PostgreSQL: {} ({})", db.message(), db.code().code());
                StoreError::Backend(text.into())
            }
        }
    }
}

/// The refusal for a server error the client can act on, if it is one.
fn classify(code: &SqlState) -> Option<StoreError> {
    let busy = |why: String| Some(StoreError::Busy(why));
    if *code == SqlState::CHARACTER_NOT_IN_REPERTOIRE || *code == SqlState::UNTRANSLATABLE_CHARACTER
    {
        // The database is UTF8 (checked at start), so the one character
        // its text refuses is U+0000.
        Some(StoreError::Unstorable(NUL_REFUSED.into()))
    } else if *code == SqlState::LOCK_NOT_AVAILABLE {
        busy(format!(
            "the database is busy: a record stayed locked for {}; try again",
            super::locks::LOCK_WAIT
        ))
    } else if *code == SqlState::QUERY_CANCELED {
        busy(format!(
            "the database cancelled the statement: it ran longer than {STATEMENT_TIMEOUT}, or \
             an operator cancelled it"
        ))
    } else if *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
    {
        busy("the database is busy: a concurrent change conflicted with this one; try again".into())
    } else if *code == SqlState::TOO_MANY_CONNECTIONS {
        busy("the database is busy: it takes no more connections; try again".into())
    } else if *code == SqlState::ADMIN_SHUTDOWN
        || *code == SqlState::CRASH_SHUTDOWN
        || *code == SqlState::CANNOT_CONNECT_NOW
    {
        busy("the database is not available: it is starting or stopping; try again".into())
    } else {
        None
    }
}

/// The answer to text holding U+0000 where PostgreSQL keeps text.
const NUL_REFUSED: &str = "the NUL character (U+0000) is not accepted in keys, ids, \
    names or file names on this server (strings inside object values may hold it)";

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        use deadpool_postgres::{PoolError, TimeoutType};
        match e {
            // A new connection failed before any statement: unreachable.
            PoolError::Backend(e) if e.as_db_error().is_none() => {
                tracing::warn!(error = %e, "cannot connect to PostgreSQL");
                StoreError::Busy("the database cannot be reached; try again".into())
            }
            PoolError::Backend(e) => e.into(),
            PoolError::Timeout(TimeoutType::Wait) => StoreError::Busy(
                "the database is busy: no connection became free in time; try again".into(),
            ),
            PoolError::Timeout(_) => {
                StoreError::Busy("the database did not answer in time; try again".into())
            }
            other => StoreError::Backend(Box::new(other)),
        }
    }
}

/// Connections the pool keeps at most.
const POOL_SIZE: usize = 16;

/// How long one statement may run before the server cancels it
/// (`statement_timeout`, set on every connection of the pool).
pub(super) const STATEMENT_TIMEOUT: &str = "30s";

/// Session settings every pooled connection starts with: no statement
/// runs longer than [`STATEMENT_TIMEOUT`] and none waits for a lock longer
/// than [`super::locks::LOCK_WAIT`], so nothing waits for ever; and
/// prepared statements run a generic plan (planned once per connection:
/// the fixed statements are key lookups, and re-planning each call was
/// half of the server's work on a GET). Searches, whose best plan depends
/// on the values, ask for custom plans in their own transaction
/// (`search.rs`). These win over options the URL sets.
const MINE: &str = "-c plan_cache_mode=force_generic_plan";

/// Defaults the URL's `options` may change: one backend per statement, no
/// parallel workers. On a server shared by many clients a long search
/// fanning out over every core takes them from everyone's short calls
/// (docs/PERFORMANCE.md, round 4: another user's GET beside four
/// searches); `?options=-c%20max_parallel_workers_per_gather%3D2` turns
/// them back on.
const DEFAULTS: &str = "-c max_parallel_workers_per_gather=0";

/// The connection options: [`DEFAULTS`], then the URL's, then [`MINE`]
/// and the time limits (a later `-c` wins).
fn bounded(mut config: tokio_postgres::Config) -> tokio_postgres::Config {
    let mine = format!(
        "-c statement_timeout={STATEMENT_TIMEOUT} -c lock_timeout={} {MINE}",
        super::locks::LOCK_WAIT
    );
    let options = match config.get_options() {
        Some(theirs) if !theirs.trim().is_empty() => format!("{DEFAULTS} {theirs} {mine}"),
        _ => format!("{DEFAULTS} {mine}"),
    };
    config.options(&options);
    config
}

/// The PostgreSQL database: a pool of connections.
#[derive(Clone)]
pub struct Pg {
    pool: Pool,
    /// A private directory where uploads are spooled before their commit
    /// (removed with the last clone).
    spool: std::sync::Arc<super::spool::Spool>,
}

impl std::fmt::Debug for Pg {
    // The URL holds the password: never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pg").finish_non_exhaustive()
    }
}

impl Pg {
    /// Connects to `url` (`postgres://user:pass@host:port/db`), checks the
    /// server's version and applies the missing migrations. Errors name the
    /// problem (unreachable, too old, a newer schema) without the password.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let config = bounded(super::url::parse(url)?);
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(std::time::Duration::from_secs(30)))
            .create_timeout(Some(std::time::Duration::from_secs(10)))
            .build()
            .map_err(|e| StoreError::Invalid(format!("the PostgreSQL pool: {e}")))?;
        let pg = Pg {
            pool,
            spool: std::sync::Arc::new(super::spool::Spool::create()?),
        };
        let mut client =
            pg.pool.get().await.map_err(|e| {
                StoreError::Invalid(format!("cannot reach the PostgreSQL server: {e}"))
            })?;
        migrate::migrate(&mut client).await?;
        Ok(pg)
    }

    /// A connection from the pool.
    pub(super) async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        Ok(self.pool.get().await?)
    }

    /// The directory uploads are spooled in.
    pub(super) fn spool_dir(&self) -> &std::path::Path {
        self.spool.path()
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> StoreResult<()> {
        self.client().await?.simple_query("SELECT 1").await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_may_change_the_defaults_but_not_the_limits() {
        let url = "postgres://u@h/db?options=-c%20max_parallel_workers_per_gather%3D2%20-c%20statement_timeout%3D0";
        let options = bounded(super::super::url::parse(url).unwrap())
            .get_options()
            .unwrap()
            .to_owned();
        let at = |needle: &str| {
            options
                .find(needle)
                .unwrap_or_else(|| panic!("{needle} in {options}"))
        };
        // Later `-c` options win: the URL's parallelism after the default,
        // the emulator's limits after the URL's.
        assert!(at("max_parallel_workers_per_gather=2") > at("max_parallel_workers_per_gather=0"));
        assert!(at(&format!("statement_timeout={STATEMENT_TIMEOUT}")) > at("statement_timeout=0"));
        assert!(options.ends_with(MINE), "{options}");
    }

    #[tokio::test]
    async fn pooled_connections_plan_generically_and_serially() {
        let Some(pg) = super::super::test_db::fresh("connection_settings").await else {
            return;
        };
        let client = pg.client().await.unwrap();
        let show = |name| super::super::test_db::show(&client, name);
        assert_eq!(show("plan_cache_mode").await, "force_generic_plan");
        assert_eq!(show("max_parallel_workers_per_gather").await, "0");
        assert_eq!(show("statement_timeout").await, "30s");
    }
}
