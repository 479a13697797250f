//! The private directory uploads are spooled in before their commit, and
//! the sweep of the ones processes left behind when they died (`kill -9`,
//! out of memory): a process holds a lock on its directory's `.lock` file
//! for its whole life, so a directory whose lock can be taken, and which is
//! older than [`GRACE`], belongs to no living process and is removed when
//! the next emulator on PostgreSQL starts.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// How spool directories' names start (in the system's temporary directory).
const PREFIX: &str = "cloudmine-emulator-uploads-";

/// The lock file in each spool directory.
const LOCK: &str = ".lock";

/// A directory younger than this is never swept: its process may be
/// between creating it and locking it.
const GRACE: Duration = Duration::from_secs(60);

/// This process's spool directory: removed when dropped, locked while it
/// lives.
#[derive(Debug)]
pub(super) struct Spool {
    dir: tempfile::TempDir,
    _lock: File,
}

impl Spool {
    /// Creates this process's directory (0700) in the system's temporary
    /// directory, then removes those of processes that are gone.
    pub(super) fn create() -> std::io::Result<Spool> {
        Spool::create_in(&std::env::temp_dir())
    }

    fn create_in(parent: &Path) -> std::io::Result<Spool> {
        let dir = tempfile::Builder::new().prefix(PREFIX).tempdir_in(parent)?;
        let lock = File::create(dir.path().join(LOCK))?;
        lock.try_lock().map_err(std::io::Error::other)?;
        let spool = Spool { dir, _lock: lock };
        let removed = sweep(parent, spool.path());
        if removed > 0 {
            tracing::info!(removed, "removed spool directories left by dead processes");
        }
        Ok(spool)
    }

    /// The directory.
    pub(super) fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Removes the spool directories in `parent` that no process holds; how
/// many. Only real directories (never a symbolic link) of this process's
/// user are touched.
fn sweep(parent: &Path, mine: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return 0;
    };
    let owner = std::fs::metadata(mine).ok();
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let ours = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(PREFIX));
        if !ours || path == mine || !abandoned(&path, owner.as_ref()) {
            continue;
        }
        match std::fs::remove_dir_all(&path) {
            Ok(()) => removed += 1,
            Err(e) => tracing::warn!(error = %e, "cannot remove an abandoned spool directory"),
        }
    }
    removed
}

/// Whether `dir` is a directory of this user whose lock nobody holds and
/// which has been there longer than [`GRACE`].
fn abandoned(dir: &Path, owner: Option<&std::fs::Metadata>) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return false;
    };
    if !meta.is_dir() || !same_user(&meta, owner) {
        return false;
    }
    let Ok(lock) = File::open(dir.join(LOCK)) else {
        // No lock file: an older emulator's directory, or one being made.
        return false;
    };
    let old = lock
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age > GRACE);
    old && lock.try_lock().is_ok()
}

#[cfg(unix)]
fn same_user(meta: &std::fs::Metadata, owner: Option<&std::fs::Metadata>) -> bool {
    use std::os::unix::fs::MetadataExt;
    owner.is_some_and(|o| o.uid() == meta.uid())
}

#[cfg(not(unix))]
fn same_user(_: &std::fs::Metadata, owner: Option<&std::fs::Metadata>) -> bool {
    owner.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Makes `dir/name` look like a spool directory made `age` ago, with
    /// its lock file (not held).
    fn left_behind(parent: &Path, name: &str, age: Duration) -> std::path::PathBuf {
        let dir = parent.join(name);
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("0123abcd"), b"half an upload").unwrap();
        let lock = File::create(dir.join(LOCK)).unwrap();
        lock.set_modified(SystemTime::now() - age).unwrap();
        dir
    }

    #[test]
    fn a_dead_processs_directory_is_removed_a_living_ones_kept() {
        let parent = tempfile::tempdir().unwrap();
        let hour = Duration::from_secs(3600);
        let dead = left_behind(parent.path(), &format!("{PREFIX}dead01"), hour);
        let young = left_behind(parent.path(), &format!("{PREFIX}young1"), Duration::ZERO);
        let other = left_behind(parent.path(), "not-a-spool-dir", hour);
        let no_lock = parent.path().join(format!("{PREFIX}older1"));
        std::fs::create_dir(&no_lock).unwrap();
        // A living process: its directory's lock is held.
        let living = Spool::create_in(parent.path()).unwrap();
        std::fs::File::open(living.path().join(LOCK))
            .unwrap()
            .set_modified(SystemTime::now() - hour)
            .unwrap();

        let _next = Spool::create_in(parent.path()).unwrap();
        assert!(!dead.exists(), "the dead process's directory is removed");
        assert!(young.exists(), "a directory within the grace time is kept");
        assert!(other.exists(), "other names are never touched");
        assert!(no_lock.exists(), "a directory without a lock file is kept");
        assert!(
            living.path().exists(),
            "a living process's directory is kept"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_is_never_followed() {
        let parent = tempfile::tempdir().unwrap();
        let target = left_behind(parent.path(), "precious", Duration::from_secs(3600));
        let link = parent.path().join(format!("{PREFIX}link01"));
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let _spool = Spool::create_in(parent.path()).unwrap();
        assert!(
            target.join("0123abcd").exists(),
            "the link's target is kept"
        );
        assert!(link.exists());
    }

    #[test]
    fn the_directory_goes_with_the_spool() {
        let parent = tempfile::tempdir().unwrap();
        let spool = Spool::create_in(parent.path()).unwrap();
        let path = spool.path().to_owned();
        assert!(path.join(LOCK).exists());
        drop(spool);
        assert!(!path.exists());
    }
}
