//! Read connections: a small pool of read-only SQLite connections to a
//! database file in WAL mode, so that readers wait neither for each other
//! nor for the writer (each sees the last committed state when it starts).
//! A database in memory has no pool: its reads use the one connection.

use std::cell::Cell;
use std::ops::Deref;
use std::path::Path;
use std::sync::{Condvar, Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::store::StoreError;

/// How many read connections a database file gets.
pub(super) const READERS: usize = 8;

/// How many prepared statements each connection keeps (searches add
/// their own, so more than rusqlite's 16).
pub(super) const STATEMENT_CACHE: usize = 64;

/// How long a statement waits for a lock another process holds on the
/// database file before failing as busy (every connection to a file).
pub(super) const BUSY_WAIT: Duration = Duration::from_secs(5);

/// How long a read waits for a free connection before it is refused.
pub(super) const WAIT: Duration = Duration::from_secs(10);

thread_local! {
    /// Set while a read runs on an async worker ([`without_waiting`]).
    static NO_WAIT: Cell<bool> = const { Cell::new(false) };
    /// Set when a read under [`without_waiting`] found no free connection.
    static WOULD_WAIT: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` so that no connection it takes is waited for: `None`, with
/// nothing done, when one would have had to wait (`f` must take its
/// connection before doing anything). Short reads and writes use it to run
/// on the calling async worker instead of a blocking thread.
pub(super) fn without_waiting<T>(
    f: impl FnOnce() -> Result<T, StoreError>,
) -> Option<Result<T, StoreError>> {
    /// Leaves the thread as it was found, also when `f` panics.
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            NO_WAIT.set(false);
        }
    }
    NO_WAIT.set(true);
    WOULD_WAIT.set(false);
    let reset = Reset;
    let done = f();
    drop(reset);
    (!WOULD_WAIT.replace(false)).then_some(done)
}

/// The error a call gives when it would have had to wait under
/// [`without_waiting`] (the caller retries on a blocking thread).
fn would_wait() -> StoreError {
    WOULD_WAIT.set(true);
    StoreError::Invalid("no connection is free right now".into())
}

/// The writer's connection (for a write, or a read of a database in
/// memory): without waiting under [`without_waiting`].
pub(super) fn lock_writer(
    conn: &Mutex<Connection>,
) -> Result<MutexGuard<'_, Connection>, StoreError> {
    if !NO_WAIT.get() {
        return Ok(conn.lock().unwrap_or_else(|p| p.into_inner()));
    }
    match conn.try_lock() {
        Ok(guard) => Ok(guard),
        Err(TryLockError::Poisoned(p)) => Ok(p.into_inner()),
        Err(TryLockError::WouldBlock) => Err(would_wait()),
    }
}

/// The free read connections.
pub(super) struct Readers {
    free: Mutex<Vec<Connection>>,
    returned: Condvar,
    wait: Duration,
}

impl Readers {
    /// Opens `n` read-only connections to the database file at `path`; a
    /// read waits at most `wait` for one.
    pub(super) fn open(path: &Path, n: usize, wait: Duration) -> Result<Self, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let free = (0..n)
            .map(|_| {
                let conn = Connection::open_with_flags(path, flags)?;
                conn.busy_timeout(BUSY_WAIT)?;
                conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
                Ok(conn)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Readers {
            free: Mutex::new(free),
            returned: Condvar::new(),
            wait,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Connection>> {
        // The list is only pushed to and popped from: never half-changed.
        self.free.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A free connection, waiting a bounded time for one.
    pub(super) fn get(&self) -> Result<Reader<'_>, StoreError> {
        let free = self.lock();
        if NO_WAIT.get() {
            let mut free = free;
            let conn = free.pop().ok_or_else(would_wait)?;
            return Ok(Reader {
                pool: self,
                conn: Some(conn),
            });
        }
        let (mut free, timeout) = self
            .returned
            .wait_timeout_while(free, self.wait, |f| f.is_empty())
            .unwrap_or_else(|p| p.into_inner());
        match free.pop() {
            Some(conn) => Ok(Reader {
                pool: self,
                conn: Some(conn),
            }),
            None if timeout.timed_out() => Err(StoreError::Busy(format!(
                "the database is busy: no read connection became free within {} ms",
                self.wait.as_millis()
            ))),
            None => Err(StoreError::Invalid("no read connection".into())),
        }
    }
}

/// A read connection, given back to the pool when dropped.
pub(super) struct Reader<'a> {
    pool: &'a Readers,
    conn: Option<Connection>,
}

impl Deref for Reader<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        // Only `drop` takes the connection out.
        self.conn.as_ref().expect("a reader holds its connection")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.lock().push(conn);
            self.pool.returned.notify_one();
        }
    }
}

/// A connection to read with: a pooled reader, or the writer's connection
/// (a database in memory).
pub(super) enum ReadConn<'a> {
    /// From the pool.
    Pooled(Reader<'a>),
    /// The one connection.
    Writer(MutexGuard<'a, Connection>),
}

impl Deref for ReadConn<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match self {
            ReadConn::Pooled(r) => r,
            ReadConn::Writer(w) => w,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_are_reused_and_a_busy_pool_refuses_in_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        Connection::open(&path).unwrap();
        let pool = Readers::open(&path, 1, Duration::from_millis(20)).unwrap();
        let first = pool.get().unwrap();
        first.query_row("SELECT 1", [], |_| Ok(())).unwrap();
        let e = pool.get().err().unwrap().to_string();
        assert!(e.contains("no read connection became free"), "{e}");
        drop(first);
        assert!(pool.get().is_ok(), "given back when dropped");
        let e = Readers::open(&dir.path().join("no/such/dir"), 1, WAIT)
            .err()
            .unwrap();
        assert!(!e.to_string().is_empty());
    }
}
