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
}

/// What a [`Store`](super::Store) method returns.
pub type StoreResult<T> = Result<T, StoreError>;
