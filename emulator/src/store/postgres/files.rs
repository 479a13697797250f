//! Files on PostgreSQL: metadata in `files`, contents in `file_chunks`
//! (`bytea` rows of [`CHUNK`] bytes, deleted with their file by a cascade),
//! so instances share no filesystem. An upload is spooled to a private
//! temporary file first, then copied in chunks in the transaction that
//! commits it; downloads are in `download.rs`.

use std::path::{Path, PathBuf};

use deadpool_postgres::{GenericClient, Transaction};
use tokio::io::AsyncReadExt;
use tokio_postgres::Row;

use super::db::Pg;
use crate::store::{FileMeta, StoreError, StoreResult, Written, now_ms};

/// Bytes per `file_chunks` row.
pub(super) const CHUNK: usize = 256 * 1024;

/// How long a download may wait for its reader to take the next chunk
/// before the download ends.
pub(super) const STALL_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

pub(super) const COLUMNS: &str = "key, sha256, size, content_type, filename, created, updated";

pub(super) fn meta_from_row(r: &Row) -> FileMeta {
    FileMeta {
        key: r.get(0),
        sha256: r.get(1),
        size: u64::try_from(r.get::<_, i64>(2)).unwrap_or(0),
        content_type: r.get(3),
        filename: r.get(4),
        created: r.get(5),
        updated: r.get(6),
    }
}

/// Every file of one owner, by key.
pub(super) async fn all(
    client: &impl GenericClient,
    app_id: &str,
    owner: &str,
) -> StoreResult<Vec<FileMeta>> {
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM files WHERE app_id = $1 AND owner = $2
             ORDER BY key COLLATE \"C\""
        ))
        .await?;
    let rows = client.query(&stmt, &[&app_id, &owner]).await?;
    Ok(rows.iter().map(meta_from_row).collect())
}

/// Deletes one file (its chunks go by the cascade); true when there was one.
pub(super) async fn delete_key(
    tx: &Transaction<'_>,
    app_id: &str,
    owner: &str,
    key: &str,
) -> StoreResult<bool> {
    let stmt = tx
        .prepare_cached("DELETE FROM files WHERE app_id = $1 AND owner = $2 AND key = $3")
        .await?;
    let n = tx.execute(&stmt, &[&app_id, &owner, &key]).await?;
    Ok(n > 0)
}

/// Copies the spooled upload at `tmp` into chunk rows of one file.
async fn copy_chunks(tx: &Transaction<'_>, ids: [&str; 3], tmp: &Path) -> StoreResult<()> {
    let [app_id, owner, key] = ids;
    let mut file = tokio::fs::File::open(tmp).await?;
    let insert = tx
        .prepare(
            "INSERT INTO file_chunks (app_id, owner, key, seq, data) VALUES ($1, $2, $3, $4, $5)",
        )
        .await?;
    let mut buf = vec![0u8; CHUNK];
    for seq in 0i32.. {
        let mut filled = 0;
        while filled < CHUNK {
            let n = file.read(&mut buf[filled..]).await?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            break;
        }
        let data = &buf[..filled];
        tx.execute(&insert, &[&app_id, &owner, &key, &seq, &data])
            .await?;
        if filled < CHUNK {
            break;
        }
    }
    Ok(())
}

impl Pg {
    /// Where uploads are spooled before they are committed: a private
    /// temporary directory of this process.
    pub(super) fn spool_path(&self) -> StoreResult<PathBuf> {
        let name = crate::crypto::try_random_hex(16).map_err(StoreError::Invalid)?;
        Ok(self.spool_dir().join(name))
    }

    /// Makes the upload at `tmp` the content of `meta.key`, replacing a
    /// file or object of that key, in one transaction; `tmp` is removed.
    pub(super) async fn store_file(
        &self,
        app_id: &str,
        owner: &str,
        meta: &FileMeta,
        tmp: &Path,
    ) -> StoreResult<Written> {
        let result = self.store_file_rows(app_id, owner, meta, tmp).await;
        if let Err(e) = tokio::fs::remove_file(tmp).await
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(error = %e, "cannot remove a spooled upload");
        }
        result
    }

    async fn store_file_rows(
        &self,
        app_id: &str,
        owner: &str,
        meta: &FileMeta,
        tmp: &Path,
    ) -> StoreResult<Written> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let key = meta.key.as_str();
        let created: Option<i64> = tx
            .query_opt(
                "DELETE FROM files WHERE app_id = $1 AND owner = $2 AND key = $3 RETURNING created",
                &[&app_id, &owner, &key],
            )
            .await?
            .map(|r| r.get(0));
        let had_object = tx
            .execute(
                "DELETE FROM objects WHERE app_id = $1 AND owner = $2 AND key = $3",
                &[&app_id, &owner, &key],
            )
            .await?
            > 0;
        super::acl::sync_access(&tx, app_id, owner, key, None).await?;
        let now = now_ms();
        let size = i64::try_from(meta.size).unwrap_or(i64::MAX);
        tx.execute(
            "INSERT INTO files (app_id, owner, key, sha256, size, content_type, filename, created, updated)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &app_id,
                &owner,
                &key,
                &meta.sha256,
                &size,
                &meta.content_type,
                &meta.filename,
                &created.unwrap_or(now),
                &now,
            ],
        )
        .await?;
        copy_chunks(&tx, [app_id, owner, key], tmp).await?;
        tx.commit().await?;
        Ok(if created.is_some() || had_object {
            Written::Updated
        } else {
            Written::Created
        })
    }
}
