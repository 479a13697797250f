//! Checkpoints of the write-ahead log, off the write path. SQLite's own
//! automatic checkpoint runs inside the commit that crosses 1,000 WAL pages,
//! and with `synchronous = NORMAL` it syncs the database file there: every
//! write waiting for the lock waited for that sync too (the mixed-load p99
//! was three times the median). The writer's automatic checkpoint is off;
//! a thread of this database checkpoints `PASSIVE`ly (never blocking the
//! writer or readers) every [`EVERY`], on its own connection, until the
//! database is dropped.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use crate::store::StoreError;

/// How often the log is checkpointed.
pub(super) const EVERY: Duration = Duration::from_millis(250);

/// The largest WAL file kept between checkpoints once it has been reset
/// (`journal_size_limit`): a burst does not keep its disk space.
pub(super) const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// The checkpointing thread; stopped (and joined) when dropped.
pub(super) struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing the database file at `path`, whose writer has
    /// `wal_autocheckpoint` off.
    pub(super) fn start(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(super::pool::BUSY_WAIT)?;
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&conn, &stopped))?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Checkpoints every [`EVERY`] until `stopped` disconnects.
fn run(conn: &Connection, stopped: &mpsc::Receiver<()>) {
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "checkpoint of the SQLite write-ahead log failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn the_log_is_copied_into_the_database_without_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
                 CREATE TABLE t (v BLOB);",
            )
            .unwrap();
        let checkpointer = Checkpointer::start(&path).unwrap();
        for _ in 0..64 {
            writer
                .execute("INSERT INTO t VALUES (zeroblob(16384))", [])
                .unwrap();
        }
        // One MiB written; the database file gets it only by a checkpoint.
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::fs::metadata(&path).unwrap().len() < 1 << 20 {
            assert!(Instant::now() < deadline, "nothing was checkpointed");
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(checkpointer); // stops and joins the thread
    }
}
