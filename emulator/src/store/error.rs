//! The storage failure every [`Store`](super::Store) and
//! [`InFlight`](super::InFlight) method may return.

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend (the database) failed.
    #[error(transparent)]
    Backend(Box<dyn std::error::Error + Send + Sync>),
    /// Reading or writing file contents failed.
    #[error("file storage: {0}")]
    Io(#[from] std::io::Error),
    /// The request cannot be done as asked (no such user, a newer schema...).
    #[error("{0}")]
    Invalid(String),
    /// The request holds text this backend cannot keep (U+0000 in a key or
    /// a name on PostgreSQL): the client's to change, answered 400.
    #[error("{0}")]
    Unstorable(String),
    /// The backend gave up waiting (a lock, a statement over its time
    /// limit, no free connection, a conflicting transaction): the operation
    /// that failed changed nothing and may succeed later, answered 503.
    #[error("{0}")]
    Busy(String),
}

/// What a [`Store`](super::Store) method returns.
pub type StoreResult<T> = Result<T, StoreError>;
