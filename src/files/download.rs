//! Downloads: to a path ([`DownloadToCall`], through a temporary file), or
//! as a stream of chunks ([`DownloadCall`] → [`FileStream`]).

use std::future::IntoFuture;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::json;

use super::disk;
use super::model::{Downloaded, etag_sha256, header_str};
use super::progress::{Tracker, timeout_error};
use super::transfer::{BoxFuture, Transfer, check_key, read_answer, success, transfer_builder};
use crate::call::{Completion, Prepared, Request};
use crate::client::Client;
use crate::envelope::Processed;
use crate::options::CallOptions;
use crate::transport::transport_error;
use crate::{Error, Result};

/// Sends a download request and waits for its headers; a non-2xx answer
/// becomes the call's failure.
async fn open_download(
    ws: &Client,
    prepared: Prepared,
    completion: &mut Completion,
) -> std::result::Result<reqwest::Response, Processed> {
    let stall = prepared.timeout;
    let request = ws
        .http()
        .request(prepared.method, prepared.url)
        .headers(prepared.headers)
        .build()
        .map_err(|e| {
            Processed::from_failure(transport_error(
                e,
                &completion.info.method,
                &completion.info.url,
                stall,
            ))
        })?;
    let started = Instant::now();
    let answer = tokio::time::timeout(stall, ws.http().execute(request)).await;
    completion.info.set_elapsed(started.elapsed());
    match answer {
        Err(_) => Err(Processed::from_failure(timeout_error(completion, stall))),
        Ok(Err(e)) => Err(Processed::from_failure(transport_error(
            e,
            &completion.info.method,
            &completion.info.url,
            stall,
        ))),
        Ok(Ok(response)) if !response.status().is_success() => {
            Err(read_answer(response, stall, completion).await)
        }
        Ok(Ok(response)) => {
            completion.info.headers = response.headers().clone();
            Ok(response)
        }
    }
}

/// A download's temporary file, removed unless it was renamed into place
/// (also when the download future is dropped).
struct PartFile {
    path: Option<PathBuf>,
}

impl PartFile {
    fn create(target: &Path) -> Result<(PartFile, std::fs::File)> {
        let name = target
            .file_name()
            .ok_or_else(|| Error::invalid_argument("path", "names no file"))?;
        let dir = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let suffix = &crate::objects::new_key()[..12];
        let temp = dir.join(format!(".{}.{suffix}.part", name.to_string_lossy()));
        let file = open_new(&temp)?;
        Ok((PartFile { path: Some(temp) }, file))
    }

    fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }

    async fn commit(mut self, target: &Path) -> Result<()> {
        let Some(temp) = self.path.take() else {
            return Ok(());
        };
        if let Err(e) = tokio::fs::rename(&temp, target).await {
            let _ = std::fs::remove_file(&temp);
            return Err(Error::file("rename the download to", target, e));
        }
        Ok(())
    }
}

/// Creates `path` afresh (`O_CREAT|O_EXCL`): never opens, follows or
/// truncates a file or symlink already there.
fn open_new(path: &Path) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::file("create", path, e))
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn ended_early(completion: &Completion, done: u64, total: u64) -> Error {
    Error::Transport {
        method: completion.info.method.clone(),
        url: completion.info.url.clone(),
        message: format!("the body ended after {done} of {total} bytes"),
        source: None,
    }
}

/// A download to a path, from [`Files::download_to`]: awaitable to
/// [`Downloaded`], and an [`EventEmitter`](crate::EventEmitter). Dropping it
/// mid-transfer stops the download and removes the temporary file.
///
/// [`Files::download_to`]: crate::Files::download_to
#[must_use = "a download does nothing until it is awaited"]
pub struct DownloadToCall {
    transfer: Transfer,
    key: String,
    path: PathBuf,
}

impl std::fmt::Debug for DownloadToCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownloadToCall")
            .field("key", &self.key)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

transfer_builder!(DownloadToCall);

impl DownloadToCall {
    pub(super) fn new(ws: &Client, key: &str, path: PathBuf) -> Self {
        DownloadToCall {
            transfer: Transfer::new(ws),
            key: key.to_owned(),
            path,
        }
    }
}

impl IntoFuture for DownloadToCall {
    type Output = Result<Downloaded>;
    type IntoFuture = BoxFuture<Result<Downloaded>>;

    fn into_future(self) -> Self::IntoFuture {
        let DownloadToCall {
            transfer,
            key,
            path,
        } = self;
        let (ws, mut completion, prepared, interval) =
            transfer.start(Request::new(Method::GET, &["binary", &key]));
        let ready = check_key(&key).and(prepared);
        Box::pin(async move {
            let (processed, downloaded) = match ready {
                Ok(prepared) => {
                    download_to(&ws, prepared, key, path, interval, &mut completion).await
                }
                Err(e) => (Processed::from_failure(e), None),
            };
            completion.finish(processed)?;
            downloaded.ok_or(Error::Aborted)
        })
    }
}

async fn download_to(
    ws: &Client,
    prepared: Prepared,
    key: String,
    path: PathBuf,
    interval: Duration,
    completion: &mut Completion,
) -> (Processed, Option<Downloaded>) {
    let stall = prepared.timeout;
    let mut response = match open_download(ws, prepared, completion).await {
        Ok(r) => r,
        Err(processed) => return (processed, None),
    };
    let fail = |e| (Processed::from_failure(e), None);
    let status = response.status().as_u16();
    let total = response.content_length();
    let content_type = header_str(response.headers(), CONTENT_TYPE);
    let sha256 = etag_sha256(response.headers());
    let (part, file) = match PartFile::create(&path) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let mut out = match disk::DiskWriter::start(file, part.path()) {
        Ok(w) => w,
        Err(e) => return fail(e),
    };
    let mut tracker = Tracker::new(interval, stall, total);
    let mut done = 0u64;
    loop {
        match tokio::time::timeout(stall, response.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                done += chunk.len() as u64;
                if let Err(e) = out.write(chunk).await {
                    return fail(e);
                }
                tracker.update(done, completion);
            }
            Ok(Ok(None)) => break,
            Ok(Err(e)) => {
                let (method, url) = (&completion.info.method, &completion.info.url);
                return fail(transport_error(e, method, url, stall));
            }
            Err(_) => return fail(timeout_error(completion, stall)),
        }
    }
    if let Some(total) = total.filter(|t| *t != done) {
        return fail(ended_early(completion, done, total));
    }
    if let Err(e) = out.finish().await {
        return fail(e);
    }
    if let Err(e) = part.commit(&path).await {
        return fail(e);
    }
    tracker.finish(completion);
    let data = json!({ key.as_str(): {
        "path": path.display().to_string(),
        "size": done,
        "content_type": content_type,
        "sha256": sha256,
    }});
    let downloaded = Downloaded {
        key,
        path,
        size: done,
        content_type,
        sha256,
    };
    (success(status, data), Some(downloaded))
}

/// A download as a stream, from [`Files::download`]: awaitable to a
/// [`FileStream`], and an [`EventEmitter`](crate::EventEmitter) whose
/// progress, `success` and `complete` events fire as the stream is read.
///
/// [`Files::download`]: crate::Files::download
#[must_use = "a download does nothing until it is awaited"]
pub struct DownloadCall {
    transfer: Transfer,
    key: String,
}

impl std::fmt::Debug for DownloadCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownloadCall")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

transfer_builder!(DownloadCall);

impl DownloadCall {
    pub(super) fn new(ws: &Client, key: &str) -> Self {
        DownloadCall {
            transfer: Transfer::new(ws),
            key: key.to_owned(),
        }
    }
}

impl IntoFuture for DownloadCall {
    type Output = Result<FileStream>;
    type IntoFuture = BoxFuture<Result<FileStream>>;

    fn into_future(self) -> Self::IntoFuture {
        let DownloadCall { transfer, key } = self;
        let (ws, mut completion, prepared, interval) =
            transfer.start(Request::new(Method::GET, &["binary", &key]));
        let ready = check_key(&key).and(prepared);
        Box::pin(async move {
            let prepared = match ready {
                Ok(p) => p,
                Err(e) => return Err(fail_now(completion, Processed::from_failure(e))),
            };
            let stall = prepared.timeout;
            let response = match open_download(&ws, prepared, &mut completion).await {
                Ok(r) => r,
                Err(processed) => return Err(fail_now(completion, processed)),
            };
            let total = response.content_length();
            Ok(FileStream {
                key,
                status: response.status().as_u16(),
                content_type: header_str(response.headers(), CONTENT_TYPE),
                sha256: etag_sha256(response.headers()),
                response,
                completion: Some(completion),
                tracker: Tracker::new(interval, stall, total),
                total,
                failed: None,
            })
        })
    }
}

/// Fires a failed call's events; returns its error.
fn fail_now(completion: Completion, processed: Processed) -> Error {
    match completion.finish(processed) {
        Err(e) => e,
        Ok(_) => Error::Aborted,
    }
}

/// A file being downloaded: read it with [`chunk`](Self::chunk) until
/// `None`. Dropping it before the end stops the download (`abort`, `error`
/// and `complete` fire).
///
/// ```no_run
/// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
/// let mut stream = ws.files().download("holiday").await?;
/// let mut hasher_input = 0usize;
/// while let Some(chunk) = stream.chunk().await? {
///     hasher_input += chunk.len();
/// }
/// assert_eq!(Some(hasher_input as u64), stream.size());
/// # Ok(()) }
/// ```
pub struct FileStream {
    key: String,
    status: u16,
    content_type: Option<String>,
    sha256: Option<String>,
    response: reqwest::Response,
    completion: Option<Completion>,
    tracker: Tracker,
    total: Option<u64>,
    /// The failure that ended the stream, returned again by later calls.
    failed: Option<Error>,
}

impl std::fmt::Debug for FileStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStream")
            .field("key", &self.key)
            .field("content_type", &self.content_type)
            .field("size", &self.total)
            .field("received", &self.tracker.done)
            .finish_non_exhaustive()
    }
}

impl FileStream {
    /// The file's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The content type the server gave.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The file's size, when the server gave a `Content-Length`.
    pub fn size(&self) -> Option<u64> {
        self.total
    }

    /// The SHA-256 the server gave (its `ETag`), when it is one.
    pub fn sha256(&self) -> Option<&str> {
        self.sha256.as_deref()
    }

    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        self.tracker.done
    }

    /// The rest of the file as a `futures` [`Stream`](futures_util::Stream)
    /// of chunks, for stream combinators, or for an `AsyncRead` through
    /// `tokio_util::io::StreamReader` (map the error into `std::io::Error`).
    /// It ends after the last chunk, or after yielding the error.
    pub fn into_stream(self) -> impl futures_util::Stream<Item = Result<Bytes>> + Send {
        futures_util::stream::unfold(Some(self), |state| async move {
            let mut stream = state?;
            match stream.chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some(stream))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        })
    }

    /// The next chunk, or `None` at the end (then `success` and `complete`
    /// have fired). A connection that breaks, a body shorter than its
    /// `Content-Length`, or no bytes within the `timeout` option is an error
    /// (`error` and `complete` fire), and every later call returns it again:
    /// a failed stream never looks finished.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let Some(completion) = self.completion.as_mut() else {
            return Ok(None);
        };
        let stall = self.tracker.stall;
        let failure = match tokio::time::timeout(stall, self.response.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                let done = self.tracker.done + chunk.len() as u64;
                self.tracker.update(done, completion);
                return Ok(Some(chunk));
            }
            Ok(Ok(None)) => match self.total.filter(|t| *t != self.tracker.done) {
                Some(total) => ended_early(completion, self.tracker.done, total),
                None => {
                    self.tracker.finish(completion);
                    let data = json!({ self.key.as_str(): {
                        "size": self.tracker.done,
                        "content_type": self.content_type,
                        "sha256": self.sha256,
                    }});
                    if let Some(completion) = self.completion.take() {
                        completion.finish(success(self.status, data))?;
                    }
                    return Ok(None);
                }
            },
            Ok(Err(e)) => {
                let (method, url) = (&completion.info.method, &completion.info.url);
                transport_error(e, method, url, stall)
            }
            Err(_) => timeout_error(completion, stall),
        };
        let error = match self.completion.take() {
            Some(completion) => fail_now(completion, Processed::from_failure(failure)),
            None => failure,
        };
        self.failed = Some(error.clone());
        Err(error)
    }
}

#[cfg(test)]
mod tests {
    use super::open_new;

    /// A file or a symlink planted under a `.part` name is refused, and
    /// neither it nor what the link points at is touched.
    #[test]
    fn a_part_file_is_created_afresh_never_over_what_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let planted = dir.path().join(".a.bin.planted.part");
        std::fs::write(&planted, b"keep me").unwrap();
        let e = open_new(&planted).unwrap_err();
        assert!(e.is_file(), "{e}");
        assert_eq!(std::fs::read(&planted).unwrap(), b"keep me");
        #[cfg(unix)]
        {
            let victim = dir.path().join("victim");
            std::fs::write(&victim, b"victim").unwrap();
            let link = dir.path().join(".a.bin.link.part");
            std::os::unix::fs::symlink(&victim, &link).unwrap();
            assert!(open_new(&link).unwrap_err().is_file());
            assert_eq!(std::fs::read(&victim).unwrap(), b"victim");
            let dangling = dir.path().join(".a.bin.dangling.part");
            let nowhere = dir.path().join("nowhere");
            std::os::unix::fs::symlink(&nowhere, &dangling).unwrap();
            assert!(open_new(&dangling).unwrap_err().is_file());
            assert!(!nowhere.exists(), "a dangling link was followed");
        }
    }
}
