//! Which file the database is: recorded at open, compared by
//! [`SqliteStore::ping`](super::SqliteStore). An open SQLite connection
//! keeps working on a file that was deleted or replaced under it, and every
//! write after that is lost at the next start; readiness reports it.

use std::path::{Path, PathBuf};

use crate::store::StoreError;

/// The database file's path and identity (device and inode on Unix).
#[derive(Debug, Clone)]
pub(super) struct FileIdentity {
    path: PathBuf,
    id: Option<(u64, u64)>,
}

impl FileIdentity {
    /// The file at `path` as it is now; `None` for `:memory:` and `file:`
    /// URIs (nothing to compare with).
    pub(super) fn of(path: &Path) -> Result<Option<Self>, StoreError> {
        if path.as_os_str() == ":memory:" || path.to_string_lossy().starts_with("file:") {
            return Ok(None);
        }
        Ok(Some(FileIdentity {
            path: path.to_path_buf(),
            id: id_of(path)?,
        }))
    }

    /// `Err` when the path no longer names the file that was opened.
    pub(super) fn check(&self) -> Result<(), StoreError> {
        let now = id_of(&self.path).map_err(|e| {
            StoreError::Invalid(format!(
                "the database file {} is gone: {e}",
                self.path.display()
            ))
        })?;
        if now != self.id {
            return Err(StoreError::Invalid(format!(
                "the database file {} was replaced after the emulator opened it",
                self.path.display()
            )));
        }
        Ok(())
    }
}

#[cfg(unix)]
fn id_of(path: &Path) -> Result<Option<(u64, u64)>, StoreError> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path)?;
    Ok(Some((meta.dev(), meta.ino())))
}

#[cfg(not(unix))]
fn id_of(path: &Path) -> Result<Option<(u64, u64)>, StoreError> {
    std::fs::metadata(path)?;
    Ok(None)
}
