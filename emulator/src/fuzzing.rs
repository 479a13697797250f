//! Entry points for `cargo fuzz` (`fuzz/`), compiled only with
//! `--cfg fuzzing`: thin wrappers that make the crate's parsers of remote
//! input callable from the fuzz targets. Not part of the public API.
//!
//! The query language is public already ([`crate::query`]).
#![cfg(fuzzing)]
#![doc(hidden)]

use axum::body::Body;
use tokio_util::io::ReaderStream;

use crate::fail::Fail;
use crate::files::{FileSink, receive_multipart};

/// The largest file the in-memory sink takes, as the app limit would.
pub const MULTIPART_LIMIT: u64 = 1024 * 1024;

/// What the multipart reader took from an upload.
#[derive(Debug)]
pub struct FilePart {
    /// The part's content type.
    pub content_type: String,
    /// The part's file name, if it had one.
    pub filename: Option<String>,
    /// The file's bytes (decoded when the part was base64).
    pub bytes: Vec<u8>,
}

struct Memory {
    bytes: Vec<u8>,
}

impl FileSink for Memory {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), Fail> {
        if self.bytes.len() as u64 + chunk.len() as u64 > MULTIPART_LIMIT {
            return Err(Fail::bad("the file exceeds the fuzzing limit"));
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }
}

/// Runs an upload's body through the multipart reader exactly as
/// `POST binary` does: the boundary from the `Content-Type` value, then the
/// body arriving in pieces of `chunk` bytes (at least 1). `Err` is the
/// refusal's status and message.
pub async fn multipart(
    content_type: &str,
    body: Vec<u8>,
    chunk: usize,
) -> Result<FilePart, String> {
    let boundary =
        multer::parse_boundary(content_type).map_err(|e| format!("not multipart: {e}"))?;
    let pieces = ReaderStream::with_capacity(std::io::Cursor::new(body), chunk.max(1));
    let mut sink = Memory { bytes: Vec::new() };
    let (content_type, filename) =
        receive_multipart(Body::from_stream(pieces), boundary, &mut sink)
            .await
            .map_err(|Fail(status, message)| format!("{status}: {message}"))?;
    Ok(FilePart {
        content_type,
        filename,
        bytes: sink.bytes,
    })
}
