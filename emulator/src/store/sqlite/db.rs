//! The database handle: one writer connection behind a mutex and, for a
//! database file, a pool of read connections (`pool.rs`) and a checkpointer
//! (`checkpoint.rs`); opened and migrated here; the other files of this
//! module add its statements.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, params};

use super::checkpoint::{Checkpointer, WAL_SIZE_LIMIT};
use super::migrate;
use super::pool::{self, BUSY_WAIT, READERS, ReadConn, Readers, STATEMENT_CACHE, WAIT};
use crate::store::StoreError;

impl From<rusqlite::Error> for StoreError {
    // Another process holding the file's lock past the busy timeout is a
    // wait the client may retry; everything else is the backend's failure.
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy) => StoreError::Busy(format!(
                "the database is busy: another process held its file's write lock for {} s; \
                 try again",
                BUSY_WAIT.as_secs()
            )),
            _ => StoreError::Backend(Box::new(e)),
        }
    }
}

/// The database.
pub struct Db {
    conn: Mutex<Connection>,
    /// Read-only connections to a database file (`None` in memory).
    readers: Option<Readers>,
    /// Where file contents live (`blobs/`, `tmp/`); `None` until set.
    pub(super) files_dir: Option<PathBuf>,
    /// Checkpoints the log of a database file (stopped when dropped).
    _checkpointer: Option<Checkpointer>,
}

impl Db {
    /// Opens (creating if needed) the database at `path`, or in memory for `:memory:`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = if path.as_os_str() == ":memory:" {
            Connection::open_in_memory()?
        } else {
            if !is_uri(path) {
                create_private(path)?;
            }
            let conn = Connection::open(path)?;
            // Before anything that locks the file: another process starting
            // on it at the same time is waited for, not an error.
            conn.busy_timeout(BUSY_WAIT)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            // Checkpoints run on their own thread (`checkpoint.rs`).
            conn.pragma_update(None, "wal_autocheckpoint", 0)?;
            conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
            conn
        };
        let mut conn = conn;
        // Transactions take the write lock when they begin: one that read
        // first and then wrote while another process held the lock would
        // fail at once (SQLite cannot wait there without risking a
        // deadlock), where one that begins by asking waits [`BUSY_WAIT`].
        conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        migrate::migrate(&mut conn)?;
        let (readers, checkpointer) = if path.as_os_str() == ":memory:" || is_uri(path) {
            (None, None)
        } else {
            (
                Some(Readers::open(path, READERS, WAIT)?),
                Some(Checkpointer::start(path)?),
            )
        };
        Ok(Db {
            conn: Mutex::new(conn),
            readers,
            files_dir: None,
            _checkpointer: checkpointer,
        })
    }

    /// Creates `dir` and missing parents as 0700 on Unix (only this user
    /// can read file contents); an existing directory is left as it is.
    pub(super) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir)
    }

    pub(super) fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written
        // (transactions roll back), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The writer's connection; without waiting for it inside
    /// [`pool::without_waiting`].
    pub(super) fn writer(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        pool::lock_writer(&self.conn)
    }

    /// A connection for reads: a pooled read-only one for a database file
    /// (never waiting for the writer or other readers), else the one
    /// connection; without waiting for either inside
    /// [`pool::without_waiting`].
    pub(super) fn read(&self) -> Result<ReadConn<'_>, StoreError> {
        match &self.readers {
            Some(readers) => Ok(ReadConn::Pooled(readers.get()?)),
            None => Ok(ReadConn::Writer(self.writer()?)),
        }
    }

    /// Whether the database can be read and written now: reads the schema
    /// and takes the write lock for an empty transaction (a lock another
    /// process holds makes it wait, as every write would).
    pub fn ping(&self) -> Result<(), StoreError> {
        let conn = self.conn();
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
        conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;")?;
        Ok(())
    }

    /// Creates or replaces an app; only the key's SHA-256 is stored.
    pub fn upsert_app(&self, app_id: &str, api_key: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO apps (app_id, api_key) VALUES (?1, ?2)
             ON CONFLICT(app_id) DO UPDATE SET api_key = excluded.api_key",
            params![app_id, crate::store::values::sealed_key(api_key)],
        )?;
        Ok(())
    }

    /// Replaces every API key still stored in plain text (by older
    /// versions) with its SHA-256.
    pub fn seal_app_keys(&self) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let plain: Vec<(String, String)> = {
            let mut stmt =
                tx.prepare("SELECT app_id, api_key FROM apps WHERE api_key NOT LIKE 'sha256:%'")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        for (id, key) in plain {
            tx.execute(
                "UPDATE apps SET api_key = ?2 WHERE app_id = ?1",
                params![id, crate::store::values::sealed_key(&key)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Every app with its stored key (`sha256:HEX`, or plain text in a
    /// database no newer emulator has opened): for tests.
    #[cfg(test)]
    pub fn apps(&self) -> Result<Vec<(String, String)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT app_id, api_key FROM apps")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Whether `path` is an SQLite URI (`file:...`): it may name a database
/// in memory, which separate read connections would not share.
fn is_uri(path: &Path) -> bool {
    path.to_string_lossy().starts_with("file:")
}

/// Creates a missing database file as 0600 on Unix: it holds password and
/// session hashes and every app's data. SQLite gives its `-wal` and `-shm`
/// files the database file's mode.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other.map(drop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A transaction of the writer takes the file's write lock when it
    /// begins (not at its first write): no other process can commit
    /// between what it reads and what it writes, and it waits for one
    /// that holds the lock instead of failing when it starts writing.
    #[test]
    fn a_writer_transaction_holds_the_write_lock_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock.sqlite");
        let db = Db::open(&path).unwrap();
        let other = Connection::open(&path).unwrap();
        other.busy_timeout(std::time::Duration::ZERO).unwrap();
        let mut conn = db.conn();
        let tx = conn.transaction().unwrap();
        let n: i64 = tx
            .query_row("SELECT count(*) FROM objects", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
        let e = other.execute_batch("BEGIN IMMEDIATE").unwrap_err();
        assert_eq!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy),
            "the other process must wait: {e}"
        );
        drop(tx);
        other.execute_batch("BEGIN IMMEDIATE; ROLLBACK").unwrap();
    }

    #[test]
    fn a_busy_file_is_told_as_busy() {
        let e = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        );
        let StoreError::Busy(message) = StoreError::from(e) else {
            panic!("not busy");
        };
        assert!(message.starts_with("the database is busy: "), "{message}");
    }
}
