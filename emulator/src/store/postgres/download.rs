//! File downloads on PostgreSQL: the metadata is read first, then a task
//! writes the chunks into a pipe one at a time, taking a pool connection
//! only for the moment each chunk is read. A slow or stalled reader thus
//! holds no database connection (N slow downloads cannot empty the pool
//! and deny every other request). Each chunk is read only while the file
//! still has the digest the metadata promised, so a file replaced or
//! deleted mid-download ends the download early (the client sees a body
//! shorter than its `Content-Length`), never with mixed content.

use tokio::io::{AsyncWriteExt, DuplexStream};

use super::db::Pg;
use super::files::{CHUNK, COLUMNS, STALL_LIMIT, meta_from_row};
use crate::store::{FileBody, FileMeta, StoreResult};

/// One chunk of a file, if the file still has this digest.
const CHUNK_SQL: &str = "SELECT c.data FROM file_chunks c JOIN files f
     ON f.app_id = c.app_id AND f.owner = c.owner AND f.key = c.key
     WHERE c.app_id = $1 AND c.owner = $2 AND c.key = $3 AND c.seq = $4 AND f.sha256 = $5";

impl Pg {
    /// A file's metadata and its content, streamed (see the module
    /// documentation); a reader that stops taking chunks for
    /// [`STALL_LIMIT`] ends the download.
    pub(super) async fn read_file(
        &self,
        app_id: &str,
        owner: &str,
        key: &str,
    ) -> StoreResult<Option<(FileMeta, FileBody)>> {
        let row = self
            .client()
            .await?
            .query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM files WHERE app_id = $1 AND owner = $2 AND key = $3"
                ),
                &[&app_id, &owner, &key],
            )
            .await?;
        let Some(meta) = row.as_ref().map(meta_from_row) else {
            return Ok(None);
        };
        let (reader, writer) = tokio::io::duplex(CHUNK);
        let ids = [app_id.to_owned(), owner.to_owned(), key.to_owned()];
        let (pg, expected) = (self.clone(), meta.clone());
        tokio::spawn(async move {
            if let Err(e) = stream_chunks(&pg, ids, &expected, writer).await {
                tracing::warn!(error = %e, "a file download stopped");
            }
        });
        let body: FileBody = Box::pin(reader);
        Ok(Some((meta, body)))
    }
}

/// Writes the file's chunks into `out` until `meta.size` bytes are
/// written; stops early (without finishing `out`) when a chunk is gone or
/// the reader stalls or leaves.
async fn stream_chunks(
    pg: &Pg,
    [app_id, owner, key]: [String; 3],
    meta: &FileMeta,
    mut out: DuplexStream,
) -> StoreResult<()> {
    let mut written: u64 = 0;
    let mut seq: i32 = 0;
    while written < meta.size {
        let row = {
            // The connection goes back to the pool before the write waits.
            let client = pg.client().await?;
            client
                .query_opt(CHUNK_SQL, &[&app_id, &owner, &key, &seq, &meta.sha256])
                .await?
        };
        let Some(row) = row else {
            return Ok(()); // replaced or deleted meanwhile: cut short
        };
        let data: Vec<u8> = row.get(0);
        match tokio::time::timeout(STALL_LIMIT, out.write_all(&data)).await {
            Ok(Ok(())) => {}
            // The client went away, or stopped reading.
            Ok(Err(_)) | Err(_) => return Ok(()),
        }
        written += data.len() as u64;
        seq += 1;
    }
    out.shutdown().await?;
    Ok(())
}
