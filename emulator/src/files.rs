//! `binary/{key}`: streaming uploads (raw body, binary multipart, or the JS
//! SDK's base64 multipart) and streaming downloads.
//!
//! Nothing holds a whole file in memory: uploads are hashed and written to
//! `tmp/` chunk by chunk, then committed (see `db/files.rs`); downloads are
//! read from disk in 64 KiB chunks.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use http_body_util::BodyExt as _;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncWriteExt, BufWriter};

use crate::crypto::try_random_hex;
use crate::extract::{Caller, DownloadCaller, Level, PathParams, QueryPairs, check_key, first};
use crate::fail::{Fail, json_response};
use crate::state::AppState;
use crate::store::{FileMeta, Written};

/// The default largest file an app may upload: 4 GiB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 4 * 1024 * 1024 * 1024;

const WRITE_BUFFER: usize = 256 * 1024;
const READ_CHUNK: usize = 64 * 1024;

/// Removes an upload's temporary file unless it was committed; also when
/// the request is cancelled (the handler future is dropped).
struct TempFile(Option<PathBuf>);

impl TempFile {
    /// The file was committed (renamed into place): keep it.
    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Where upload bytes go: hashed, counted against the limit, written.
struct Sink {
    out: BufWriter<tokio::fs::File>,
    hasher: Sha256,
    size: u64,
    limit: u64,
}

fn too_large(limit: u64) -> Fail {
    Fail::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the file exceeds this app's limit of {limit} bytes"),
    )
}

fn io_fail(e: std::io::Error) -> Fail {
    Fail::from(crate::EmulatorError::Io(e))
}

/// Where a received file's bytes go: the upload's temporary file
/// ([`Sink`]), or memory when the multipart reader is fuzzed.
pub(crate) trait FileSink {
    /// Takes the next piece of the file.
    async fn write(&mut self, chunk: &[u8]) -> Result<(), Fail>;
}

impl FileSink for Sink {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), Fail> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            return Err(too_large(self.limit));
        }
        self.hasher.update(chunk);
        self.out.write_all(chunk).await.map_err(io_fail)
    }
}

/// Decodes base64 that arrives in pieces, line breaks allowed anywhere.
#[derive(Default)]
struct Base64Stream {
    carry: Vec<u8>,
}

impl Base64Stream {
    fn feed(&mut self, chunk: &[u8]) -> Result<Vec<u8>, Fail> {
        self.carry
            .extend(chunk.iter().copied().filter(|b| !b.is_ascii_whitespace()));
        let whole = self.carry.len() / 4 * 4;
        let decoded = decode_base64(&self.carry[..whole])?;
        self.carry.drain(..whole);
        Ok(decoded)
    }

    fn finish(self) -> Result<(), Fail> {
        if self.carry.is_empty() {
            Ok(())
        } else {
            Err(Fail::new(
                StatusCode::BAD_REQUEST,
                "the base64 file content is truncated",
            ))
        }
    }
}

fn decode_base64(text: &[u8]) -> Result<Vec<u8>, Fail> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| {
            Fail::new(
                StatusCode::BAD_REQUEST,
                format!("the file content is not valid base64: {e}"),
            )
        })
}

fn interrupted(e: impl std::fmt::Display) -> Fail {
    Fail::new(
        StatusCode::BAD_REQUEST,
        format!("the upload was interrupted: {e}"),
    )
}

/// One upload, once the caller is checked.
struct Upload<'a> {
    state: &'a AppState,
    app_id: &'a str,
    owner: &'a str,
    key: Option<&'a str>,
    headers: &'a HeaderMap,
    filename: Option<&'a str>,
    body: Body,
}

/// `POST|PUT binary`: a new file under a random key.
pub(crate) async fn upload_new<L: Level>(
    caller: Caller<L>,
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    QueryPairs(query): QueryPairs,
    body: Body,
) -> Result<Response, Fail> {
    Upload {
        state: &state,
        app_id: &caller.app_id,
        owner: caller.owner(),
        key: None,
        headers: &headers,
        filename: first(&query, "filename"),
        body,
    }
    .run()
    .await
}

/// `POST|PUT binary/{key}`: the file of that key, new or replaced.
pub(crate) async fn upload<L: Level>(
    caller: Caller<L>,
    State(state): State<Arc<AppState>>,
    path: PathParams,
    headers: HeaderMap,
    QueryPairs(query): QueryPairs,
    body: Body,
) -> Result<Response, Fail> {
    Upload {
        state: &state,
        app_id: &caller.app_id,
        owner: caller.owner(),
        key: Some(path.get("key")),
        headers: &headers,
        filename: first(&query, "filename"),
        body,
    }
    .run()
    .await
}

impl Upload<'_> {
    /// Receives the file and answers `{key, size, content_type, sha256, filename}`
    /// (201 for a new key, 200 for a replaced one).
    async fn run(self) -> Result<Response, Fail> {
        let limit = self.state.file_limit(self.app_id);
        let declared = self
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let content_type = self
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned();
        let multipart = multer::parse_boundary(&content_type).ok();
        if multipart.is_none() && is_multipart(&content_type) {
            return Err(Fail::bad(
                "a multipart body needs a boundary in its Content-Type",
            ));
        }
        if let Some(key) = self.key {
            check_key(key)?;
        }
        if multipart.is_none() && declared.is_some_and(|n| n > limit) {
            return Err(too_large(limit));
        }
        let key = match self.key {
            Some(key) => key.to_owned(),
            None => try_random_hex(16).map_err(|e| Fail::internal(&e))?,
        };
        let tmp_path = self.state.store.upload_path().await?;
        let tmp = TempFile(Some(tmp_path.clone()));
        let file = tokio::fs::File::create(&tmp_path).await.map_err(io_fail)?;
        let mut sink = Sink {
            out: BufWriter::with_capacity(WRITE_BUFFER, file),
            hasher: Sha256::new(),
            size: 0,
            limit,
        };
        let (content_type, filename) = match multipart {
            Some(boundary) => receive_multipart(self.body, boundary, &mut sink).await?,
            None => {
                receive_raw(self.body, &mut sink).await?;
                (content_type, self.filename.map(str::to_owned))
            }
        };
        sink.out.flush().await.map_err(io_fail)?;
        drop(sink.out);
        let meta = FileMeta {
            filename: filename.unwrap_or_else(|| key.clone()),
            key,
            sha256: hex::encode(sink.hasher.finalize()),
            size: sink.size,
            content_type,
            created: 0,
            updated: 0,
        };
        let (app, owner, m) = (self.app_id.to_owned(), self.owner.to_owned(), meta.clone());
        let written = self
            .state
            .store
            .commit_file(&app, &owner, &m, &tmp_path)
            .await?;
        tmp.keep(); // committed: the path is the blob's now
        let status = match written {
            Written::Created => StatusCode::CREATED,
            Written::Updated => StatusCode::OK,
        };
        Ok(json_response(
            status,
            json!({
                "key": meta.key,
                "size": meta.size,
                "content_type": meta.content_type,
                "sha256": meta.sha256,
                "filename": meta.filename,
            }),
        ))
    }
}

async fn receive_raw(mut body: Body, sink: &mut Sink) -> Result<(), Fail> {
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(interrupted)?;
        if let Ok(data) = frame.into_data() {
            sink.write(&data).await?;
        }
    }
    Ok(())
}

/// Takes the part named `file` (or the first with a file name); returns its
/// content type and file name.
pub(crate) async fn receive_multipart(
    body: Body,
    boundary: String,
    sink: &mut impl FileSink,
) -> Result<(String, Option<String>), Fail> {
    let mut form = multer::Multipart::new(body.into_data_stream(), boundary);
    let bad = |e: multer::Error| match e {
        multer::Error::StreamReadFailed(e) => interrupted(e),
        other => Fail::new(
            StatusCode::BAD_REQUEST,
            format!("malformed multipart body: {other}"),
        ),
    };
    while let Some(mut field) = form.next_field().await.map_err(bad)? {
        if field.name() != Some("file") && field.file_name().is_none() {
            continue;
        }
        let content_type = field
            .content_type()
            .map_or("application/octet-stream".to_owned(), ToString::to_string);
        let filename = field.file_name().map(str::to_owned);
        let encoding = field
            .headers()
            .get("content-transfer-encoding")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase());
        let mut base64 = match encoding.as_deref() {
            None | Some("binary" | "8bit" | "7bit") => None,
            Some("base64") => Some(Base64Stream::default()),
            Some(other) => {
                return Err(Fail::new(
                    StatusCode::BAD_REQUEST,
                    format!("unsupported Content-Transfer-Encoding: {other}"),
                ));
            }
        };
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            match &mut base64 {
                Some(decoder) => sink.write(&decoder.feed(&chunk)?).await?,
                None => sink.write(&chunk).await?,
            }
        }
        if let Some(decoder) = base64 {
            decoder.finish()?;
        }
        drop(field);
        // Drain the rest so a truncated body is still noticed.
        while form.next_field().await.map_err(bad)?.is_some() {}
        return Ok((content_type, filename));
    }
    Err(Fail::new(
        StatusCode::BAD_REQUEST,
        "the multipart body has no part named \"file\"",
    ))
}

/// Streams a file: its bytes exactly, with `Content-Type`, `Content-Length`
/// and its SHA-256 as the `ETag`. `force_download=true` adds a
/// `Content-Disposition: attachment` with the file name.
pub(crate) async fn download<L: Level>(
    DownloadCaller {
        caller,
        credentials_in_query,
    }: DownloadCaller<L>,
    State(state): State<Arc<AppState>>,
    path: PathParams,
    QueryPairs(query): QueryPairs,
) -> Result<Response, Fail> {
    let key = path.get("key");
    let force_download = first(&query, "force_download") == Some("true");
    let (app, own, k) = (
        caller.app_id.clone(),
        caller.owner().to_owned(),
        key.to_owned(),
    );
    let found = state.store.open_file(&app, &own, &k).await?;
    let Some((meta, file)) = found else {
        return Err(Fail::new(
            StatusCode::NOT_FOUND,
            format!("no file with key {key:?}"),
        ));
    };
    let stream = tokio_util::io::ReaderStream::with_capacity(file, READ_CHUNK);
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    let content_type = HeaderValue::from_str(&meta.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(meta.size));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", meta.sha256)) {
        headers.insert(header::ETAG, etag);
    }
    // An uploaded page or SVG never runs script in the API's origin, and a
    // link that carries credentials is not kept or passed on.
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if credentials_in_query {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if force_download {
        // The name the JS SDK's `filename` option asks for, else the stored one.
        let name = first(&query, "filename").unwrap_or(&meta.filename);
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._- ".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
            headers.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    Ok(response)
}

/// Whether a Content-Type names a multipart body.
fn is_multipart(content_type: &str) -> bool {
    content_type
        .trim_start()
        .get(..10)
        .is_some_and(|t| t.eq_ignore_ascii_case("multipart/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_in_uneven_pieces_with_line_breaks() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let text = base64::engine::general_purpose::STANDARD.encode(&data);
        let mut wrapped = Vec::new();
        for line in text.as_bytes().chunks(76) {
            wrapped.extend_from_slice(line);
            wrapped.extend_from_slice(b"\r\n");
        }
        for piece in [1, 3, 7, 64, 5000] {
            let mut decoder = Base64Stream::default();
            let mut out = Vec::new();
            for chunk in wrapped.chunks(piece) {
                out.extend(decoder.feed(chunk).unwrap());
            }
            decoder.finish().unwrap();
            assert_eq!(out, data, "pieces of {piece}");
        }
    }

    #[test]
    fn base64_errors() {
        let mut decoder = Base64Stream::default();
        assert!(decoder.feed(b"ab!d").is_err());
        let mut decoder = Base64Stream::default();
        decoder.feed(b"YWJj").unwrap();
        decoder.feed(b"YW").unwrap();
        let fail = decoder.finish().unwrap_err();
        assert_eq!(fail.0, StatusCode::BAD_REQUEST);
    }
}
