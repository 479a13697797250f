//! Files on PostgreSQL: metadata in `files`, contents in `file_chunks`
//! (`bytea` rows of [`CHUNK`] bytes, deleted with their file by a cascade),
//! so instances share no filesystem. An upload is spooled to a private
//! temporary file first, then copied in chunks in the transaction that
//! commits it; a download streams the chunks from one snapshot.

use std::path::{Path, PathBuf};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_postgres::{Row, Transaction};

use super::db::Pg;
use crate::store::{FileBody, FileMeta, StoreError, StoreResult, Written, now_ms};

/// Bytes per `file_chunks` row.
pub(super) const CHUNK: usize = 256 * 1024;

/// How long a download may wait for its reader to take the next chunk
/// before its database connection is given back.
const STALL_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

const COLUMNS: &str = "key, sha256, size, content_type, filename, created, updated";

fn meta_from_row(r: &Row) -> FileMeta {
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
    client: &tokio_postgres::Client,
    app_id: &str,
    owner: &str,
) -> StoreResult<Vec<FileMeta>> {
    let rows = client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM files WHERE app_id = $1 AND owner = $2
                 ORDER BY key COLLATE \"C\""
            ),
            &[&app_id, &owner],
        )
        .await?;
    Ok(rows.iter().map(meta_from_row).collect())
}

/// The files of one owner among `keys`.
pub(super) async fn some(
    client: &tokio_postgres::Client,
    app_id: &str,
    owner: &str,
    keys: &[String],
) -> StoreResult<Vec<FileMeta>> {
    let rows = client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM files WHERE app_id = $1 AND owner = $2 AND key = ANY($3)"
            ),
            &[&app_id, &owner, &keys],
        )
        .await?;
    Ok(rows.iter().map(meta_from_row).collect())
}

/// Deletes one file (its chunks go by the cascade); true when there was one.
pub(super) async fn delete_key(
    tx: &Transaction<'_>,
    app_id: &str,
    owner: &str,
    key: &str,
) -> StoreResult<bool> {
    let n = tx
        .execute(
            "DELETE FROM files WHERE app_id = $1 AND owner = $2 AND key = $3",
            &[&app_id, &owner, &key],
        )
        .await?;
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

    /// A file's metadata and its content, streamed: a task holds one
    /// connection in a repeatable-read transaction (so a file replaced
    /// meanwhile is still read whole, as it was) and writes the chunks into
    /// a pipe one at a time; a reader that stops taking them for
    /// [`STALL_LIMIT`] ends the task.
    pub(super) async fn read_file(
        &self,
        app_id: &str,
        owner: &str,
        key: &str,
    ) -> StoreResult<Option<(FileMeta, FileBody)>> {
        let client = self.client().await?;
        let (found_tx, found_rx) = tokio::sync::oneshot::channel();
        let (reader, writer) = tokio::io::duplex(CHUNK);
        let ids = [app_id.to_owned(), owner.to_owned(), key.to_owned()];
        tokio::spawn(async move {
            let mut client = client;
            if let Err(e) = stream_file(&mut client, ids, found_tx, writer).await {
                tracing::warn!(error = %e, "a file download stopped");
            }
        });
        let found = found_rx
            .await
            .map_err(|_| StoreError::Invalid("the file reader stopped".into()))??;
        Ok(found.map(|meta| {
            let body: FileBody = Box::pin(reader);
            (meta, body)
        }))
    }
}

type Found = tokio::sync::oneshot::Sender<StoreResult<Option<FileMeta>>>;

/// Reads one file's metadata (sent on `found`) and then its chunks into
/// `out`, in one snapshot.
async fn stream_file(
    client: &mut deadpool_postgres::Object,
    [app_id, owner, key]: [String; 3],
    found: Found,
    mut out: tokio::io::DuplexStream,
) -> StoreResult<()> {
    let meta = async {
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let row = tx
            .query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM files WHERE app_id = $1 AND owner = $2 AND key = $3"
                ),
                &[&app_id, &owner, &key],
            )
            .await?;
        StoreResult::Ok((tx, row.as_ref().map(meta_from_row)))
    }
    .await;
    let (tx, meta) = match meta {
        Ok(found_meta) => found_meta,
        Err(e) => {
            let _ = found.send(Err(e));
            return Ok(());
        }
    };
    let present = meta.is_some();
    if found.send(Ok(meta)).is_err() || !present {
        return Ok(());
    }
    let chunk = tx
        .prepare(
            "SELECT data FROM file_chunks WHERE app_id = $1 AND owner = $2 AND key = $3 AND seq = $4",
        )
        .await?;
    for seq in 0i32.. {
        let Some(row) = tx.query_opt(&chunk, &[&app_id, &owner, &key, &seq]).await? else {
            break;
        };
        let data: &[u8] = row.get(0);
        match tokio::time::timeout(STALL_LIMIT, out.write_all(data)).await {
            Ok(Ok(())) => {}
            // The client went away, or stopped reading.
            Ok(Err(_)) | Err(_) => return Ok(()),
        }
    }
    out.shutdown().await?;
    tx.commit().await?;
    Ok(())
}
