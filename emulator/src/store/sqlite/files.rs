//! Files: metadata in SQLite, contents on disk.
//!
//! Contents are content-addressed: `blobs/ab/abcdef…` named by their SHA-256,
//! so identical uploads share one copy. An upload streams into `tmp/` and is
//! renamed into place by [`Db::commit_file`]. Blob renames, metadata writes
//! and the removal of blobs no row refers to any more all happen under the
//! connection lock, so a blob is never removed while a new row comes to
//! refer to it.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::db::Db;
use crate::store::{FileMeta, StoreError, Written, now_ms};

fn meta_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FileMeta> {
    Ok(FileMeta {
        key: r.get(0)?,
        sha256: r.get(1)?,
        size: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
        content_type: r.get(3)?,
        filename: r.get(4)?,
        created: r.get(5)?,
        updated: r.get(6)?,
    })
}

const COLUMNS: &str = "key, sha256, size, content_type, filename, created, updated";

/// Blobs that lost their last reference in a transaction; removed from disk
/// once it committed.
#[derive(Debug, Default)]
pub struct Orphans(Vec<String>);

pub(super) fn all(
    conn: &Connection,
    app_id: &str,
    owner: &str,
) -> Result<Vec<FileMeta>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM files WHERE app_id = ?1 AND owner = ?2 ORDER BY key"
    ))?;
    let rows = stmt.query_map(params![app_id, owner], meta_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn get(
    conn: &Connection,
    app_id: &str,
    owner: &str,
    key: &str,
) -> Result<Option<FileMeta>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM files WHERE app_id = ?1 AND owner = ?2 AND key = ?3"
    ))?;
    Ok(stmt
        .query_row(params![app_id, owner, key], meta_from_row)
        .optional()?)
}

fn referenced(tx: &Transaction<'_>, sha256: &str) -> Result<bool, StoreError> {
    Ok(tx
        .prepare_cached("SELECT 1 FROM files WHERE sha256 = ?1 LIMIT 1")?
        .query_row([sha256], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Deletes one file's row; true when there was one.
pub(super) fn delete_key(
    tx: &Transaction<'_>,
    app_id: &str,
    owner: &str,
    key: &str,
    orphans: &mut Orphans,
) -> Result<bool, StoreError> {
    let sha: Option<String> = tx
        .prepare_cached(
            "DELETE FROM files WHERE app_id = ?1 AND owner = ?2 AND key = ?3 RETURNING sha256",
        )?
        .query_row(params![app_id, owner, key], |r| r.get(0))
        .optional()?;
    match sha {
        Some(sha) => {
            if !referenced(tx, &sha)? {
                orphans.0.push(sha);
            }
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Deletes every file of one owner.
pub(super) fn delete_owner(
    tx: &Transaction<'_>,
    app_id: &str,
    owner: &str,
) -> Result<Orphans, StoreError> {
    let shas: Vec<String> = {
        let mut stmt =
            tx.prepare("DELETE FROM files WHERE app_id = ?1 AND owner = ?2 RETURNING sha256")?;
        let rows = stmt.query_map(params![app_id, owner], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut orphans = Orphans::default();
    for sha in shas {
        if !orphans.0.contains(&sha) && !referenced(tx, &sha)? {
            orphans.0.push(sha);
        }
    }
    Ok(orphans)
}

fn valid_sha(sha256: &str) -> bool {
    sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Db {
    /// Keeps file contents under `dir` (created if needed). Leftover
    /// uploads in `tmp/` and blobs no file refers to are removed.
    pub fn with_files_dir(mut self, dir: &Path) -> Result<Self, StoreError> {
        let tmp = dir.join("tmp");
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        Db::create_private_dir(&tmp)?;
        Db::create_private_dir(&dir.join("blobs"))?;
        self.files_dir = Some(dir.to_path_buf());
        self.sweep_blobs()?;
        Ok(self)
    }

    fn files_dir(&self) -> Result<&Path, StoreError> {
        self.files_dir
            .as_deref()
            .ok_or_else(|| StoreError::Invalid("no files directory is set".into()))
    }

    /// Removes blobs that no file refers to (after a crash between an
    /// upload's rename and its commit).
    fn sweep_blobs(&self) -> Result<(), StoreError> {
        let blobs = self.files_dir()?.join("blobs");
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT 1 FROM files WHERE sha256 = ?1 LIMIT 1")?;
        for shard in std::fs::read_dir(&blobs)? {
            let shard = shard?.path();
            if !shard.is_dir() {
                continue;
            }
            for blob in std::fs::read_dir(&shard)? {
                let blob = blob?.path();
                let name = blob.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if !stmt.exists([name])? {
                    std::fs::remove_file(&blob)?;
                }
            }
        }
        Ok(())
    }

    /// A fresh path in `tmp/` for an upload in progress.
    pub fn upload_path(&self) -> Result<PathBuf, StoreError> {
        Ok(self
            .files_dir()?
            .join("tmp")
            .join(crate::crypto::try_random_hex(16).map_err(StoreError::Invalid)?))
    }

    fn blob_path(&self, sha256: &str) -> Result<PathBuf, StoreError> {
        if !valid_sha(sha256) {
            return Err(StoreError::Invalid(format!("not a SHA-256: {sha256}")));
        }
        Ok(self
            .files_dir()?
            .join("blobs")
            .join(&sha256[..2])
            .join(sha256))
    }

    /// Makes the upload at `tmp` the content of `meta.key`, replacing a file
    /// or object of that key. Its `created`/`updated` are set here.
    pub fn commit_file(
        &self,
        app_id: &str,
        owner: &str,
        meta: &FileMeta,
        tmp: &Path,
    ) -> Result<Written, StoreError> {
        let blob = self.blob_path(&meta.sha256)?;
        let mut conn = self.conn();
        if blob.exists() {
            std::fs::remove_file(tmp)?;
        } else {
            if let Some(parent) = blob.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::rename(tmp, &blob)?;
        }
        let tx = conn.transaction()?;
        let now = now_ms();
        let mut orphans = Orphans::default();
        let created: Option<i64> = tx
            .query_row(
                "SELECT created FROM files WHERE app_id = ?1 AND owner = ?2 AND key = ?3",
                params![app_id, owner, meta.key],
                |r| r.get(0),
            )
            .optional()?;
        let had_file = delete_key(&tx, app_id, owner, &meta.key, &mut orphans)?;
        let had_object = tx.execute(
            "DELETE FROM objects WHERE app_id = ?1 AND owner = ?2 AND key = ?3",
            params![app_id, owner, meta.key],
        )? > 0;
        tx.execute(
            "INSERT INTO files (app_id, owner, key, sha256, size, content_type, filename, created, updated)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                app_id,
                owner,
                meta.key,
                meta.sha256,
                i64::try_from(meta.size).unwrap_or(i64::MAX),
                meta.content_type,
                meta.filename,
                created.unwrap_or(now),
                now
            ],
        )?;
        // The new row refers to its blob again, so it is not an orphan.
        orphans.0.retain(|sha| *sha != meta.sha256);
        tx.commit()?;
        drop(conn);
        self.remove_blobs(orphans);
        Ok(if had_file || had_object {
            Written::Updated
        } else {
            Written::Created
        })
    }

    /// A file's metadata with its content opened for reading, or `None`.
    pub fn open_file(
        &self,
        app_id: &str,
        owner: &str,
        key: &str,
    ) -> Result<Option<(FileMeta, std::fs::File)>, StoreError> {
        // Under the lock, so the blob cannot be removed between the two.
        let conn = self.conn();
        let Some(meta) = get(&conn, app_id, owner, key)? else {
            return Ok(None);
        };
        let file = std::fs::File::open(self.blob_path(&meta.sha256)?)?;
        Ok(Some((meta, file)))
    }

    /// Removes the blobs of `orphans` from disk. A failure only leaves a
    /// blob behind (the next start sweeps it), so it is logged, not returned.
    pub(super) fn remove_blobs(&self, orphans: Orphans) {
        for sha in orphans.0 {
            if let Ok(path) = self.blob_path(&sha)
                && let Err(e) = std::fs::remove_file(&path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(error = %e, blob = %sha, "cannot remove an unused blob");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(key: &str, sha: char) -> FileMeta {
        FileMeta {
            key: key.into(),
            sha256: sha.to_string().repeat(64),
            size: 3,
            content_type: "text/plain".into(),
            filename: key.into(),
            created: 0,
            updated: 0,
        }
    }

    fn upload(db: &Db, content: &[u8]) -> PathBuf {
        let tmp = db.upload_path().unwrap();
        std::fs::write(&tmp, content).unwrap();
        tmp
    }

    #[test]
    fn blobs_are_shared_and_removed_with_their_last_file() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(Path::new(":memory:"))
            .unwrap()
            .with_files_dir(dir.path())
            .unwrap();
        let blob = db.blob_path(&"a".repeat(64)).unwrap();
        let w = db
            .commit_file("app", "", &meta("one", 'a'), &upload(&db, b"abc"))
            .unwrap();
        assert_eq!(w, Written::Created);
        db.commit_file("app", "u", &meta("two", 'a'), &upload(&db, b"abc"))
            .unwrap();
        assert!(blob.exists());
        assert_eq!(
            db.delete_objects("app", "", &["one".into()]).unwrap(),
            vec![("one".into(), true)]
        );
        assert!(blob.exists(), "still used by the other file");
        // Replacing the last user's file with other content frees the blob.
        let w = db
            .commit_file("app", "u", &meta("two", 'b'), &upload(&db, b"xyz"))
            .unwrap();
        assert_eq!(w, Written::Updated);
        assert!(!blob.exists());
        // An object written under the key replaces the file.
        let mut m = serde_json::Map::new();
        m.insert("two".into(), serde_json::json!(1));
        assert_eq!(
            db.put_objects("app", "u", &m, false).unwrap()[0].1,
            Written::Updated
        );
        assert!(!db.blob_path(&"b".repeat(64)).unwrap().exists());
        assert!(db.open_file("app", "u", "two").unwrap().is_none());
    }

    #[test]
    fn restart_sweeps_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(Path::new(":memory:"))
            .unwrap()
            .with_files_dir(dir.path())
            .unwrap();
        let stray = db.blob_path(&"c".repeat(64)).unwrap();
        std::fs::create_dir_all(stray.parent().unwrap()).unwrap();
        std::fs::write(&stray, b"x").unwrap();
        let partial = upload(&db, b"half");
        drop(db);
        let _db = Db::open(Path::new(":memory:"))
            .unwrap()
            .with_files_dir(dir.path())
            .unwrap();
        assert!(!stray.exists());
        assert!(!partial.exists());
    }
}
