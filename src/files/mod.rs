//! The files API: streaming uploads and downloads with progress events.
//!
//! Transfers never hold a whole file in memory: uploads stream from a path,
//! bytes or any [`AsyncRead`]; downloads stream to a temporary file that is
//! renamed into place only once every byte arrived, or are read chunk by
//! chunk from a [`FileStream`]. Both fire [`Event::Progress`] at a bounded
//! rate on the same emitter as every other call, then `success`/`error` and
//! `complete`.
//!
//! On the wire, uploads are the raw bytes with their `Content-Type` (not the
//! JS SDK's base64 multipart, which costs a third more bytes and a copy in
//! memory); `docs/PROTOCOL.md` explains the choice.

use std::future::{Future, IntoFuture};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, ETAG, HeaderMap, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::AsyncRead;

mod disk;

use crate::call::{ApiCall, Completion, Prepared, Request, prepare};
use crate::client::Client;
use crate::envelope::{Processed, Processor, parse_body};
use crate::events::{Event, Handlers, Progress};
use crate::objects::join_keys;
use crate::options::{CallOptions, Patch};
use crate::transport::transport_error;
use crate::{Error, Result};

/// The default shortest time between two [`Event::Progress`] events.
pub const DEFAULT_PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// Bytes read from an upload source at a time.
const READ_CHUNK: usize = 64 * 1024;
/// The most of an error answer's body that is read.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What an upload sends: a file, bytes in memory, or any async reader.
pub struct Source {
    kind: SourceKind,
}

enum SourceKind {
    Path(PathBuf),
    Bytes(Bytes),
    Reader {
        reader: Pin<Box<dyn AsyncRead + Send>>,
        len: Option<u64>,
    },
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            SourceKind::Path(p) => f.debug_tuple("Source::Path").field(p).finish(),
            SourceKind::Bytes(b) => write!(f, "Source::Bytes({} bytes)", b.len()),
            SourceKind::Reader { len, .. } => write!(f, "Source::Reader(len: {len:?})"),
        }
    }
}

impl Source {
    /// A file on disk, streamed from its start. Its name gives the default
    /// file name and content type.
    pub fn path(path: impl Into<PathBuf>) -> Self {
        Source {
            kind: SourceKind::Path(path.into()),
        }
    }

    /// Bytes in memory (`Vec<u8>`, `&'static [u8]`, `String`, `Bytes`…),
    /// sent without copying.
    pub fn bytes(bytes: impl Into<Bytes>) -> Self {
        Source {
            kind: SourceKind::Bytes(bytes.into()),
        }
    }

    /// Any async reader. With `len`, the upload has a `Content-Length` and
    /// progress events know the total; without, it is sent chunked.
    pub fn reader(reader: impl AsyncRead + Send + 'static, len: Option<u64>) -> Self {
        Source {
            kind: SourceKind::Reader {
                reader: Box::pin(reader),
                len,
            },
        }
    }

    fn file_name(&self) -> Option<String> {
        match &self.kind {
            SourceKind::Path(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()),
            _ => None,
        }
    }

    /// The request body and its length. What the body hands over is
    /// counted into `sent`; when `cancel` fires (its sender is dropped with
    /// the upload), the body fails, so the connection is closed and the
    /// server discards the partial file even while the source is stalled.
    fn into_body(
        self,
        sent: Arc<AtomicU64>,
        cancel: tokio::sync::oneshot::Receiver<()>,
    ) -> Result<(reqwest::Body, Option<u64>)> {
        let (stream, len): (BodyStream, Option<u64>) = match self.kind {
            SourceKind::Path(path) => {
                let file = std::fs::File::open(&path).map_err(|e| Error::file("open", &path, e))?;
                let meta = file
                    .metadata()
                    .map_err(|e| Error::file("read the size of", &path, e))?;
                if meta.is_dir() {
                    return Err(Error::file(
                        "upload",
                        &path,
                        std::io::Error::other("it is a directory"),
                    ));
                }
                (Box::pin(disk::read_stream(file, &path)?), Some(meta.len()))
            }
            SourceKind::Bytes(bytes) => {
                let len = bytes.len();
                let chunks = (0..len).step_by(READ_CHUNK).map(move |start| {
                    Ok::<_, std::io::Error>(bytes.slice(start..len.min(start + READ_CHUNK)))
                });
                (
                    Box::pin(futures_util::stream::iter(chunks)),
                    Some(len as u64),
                )
            }
            SourceKind::Reader { reader, len } => (
                Box::pin(tokio_util::io::ReaderStream::with_capacity(
                    reader, READ_CHUNK,
                )),
                len,
            ),
        };
        let body = Counted {
            inner: stream,
            sent,
            cancel: Some(cancel),
        };
        Ok((reqwest::Body::wrap_stream(body), len))
    }
}

type BodyStream = Pin<Box<dyn futures_util::Stream<Item = std::io::Result<Bytes>> + Send>>;

/// An upload body that counts what it hands over and fails once cancelled.
struct Counted {
    inner: BodyStream,
    sent: Arc<AtomicU64>,
    /// `None` once it fired: the stream has ended with an error.
    cancel: Option<tokio::sync::oneshot::Receiver<()>>,
}

impl futures_util::Stream for Counted {
    type Item = std::io::Result<Bytes>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Self::Item>> {
        let Some(cancel) = self.cancel.as_mut() else {
            return Poll::Ready(None);
        };
        if Pin::new(cancel).poll(cx).is_ready() {
            self.cancel = None;
            return Poll::Ready(Some(Err(std::io::Error::other("the upload was cancelled"))));
        }
        let next = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &next {
            self.sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
        next
    }
}

/// What an upload returns: the server's record of the file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Uploaded {
    /// The file's key (the server's when none was given).
    pub key: String,
    /// Its size in bytes, as the server stored it.
    #[serde(default)]
    pub size: Option<u64>,
    /// Its content type.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Its SHA-256 (hex), when the server reports one.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Its file name.
    #[serde(default)]
    pub filename: Option<String>,
}

/// What [`Files::download_to`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Downloaded {
    /// The file's key.
    pub key: String,
    /// Where it was written.
    pub path: PathBuf,
    /// Bytes written.
    pub size: u64,
    /// The content type the server gave.
    pub content_type: Option<String>,
    /// The SHA-256 the server gave (its `ETag`), when it is one.
    pub sha256: Option<String>,
}

/// A file's metadata, as [`Files::info`], [`Files::list`] and
/// [`Files::search`] return it (decode with
/// [`Response::into_map`](crate::Response::into_map)`::<FileInfo>()`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct FileInfo {
    /// Always `"file"`.
    #[serde(rename = "__type__")]
    pub kind: String,
    /// The file's key.
    #[serde(rename = "__id__", default)]
    pub key: Option<String>,
    /// The file name it was uploaded with.
    #[serde(default)]
    pub filename: Option<String>,
    /// Its content type.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Its size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// Its SHA-256, hex.
    #[serde(default)]
    pub sha256: Option<String>,
    /// When it was first uploaded, in milliseconds since the Unix epoch.
    #[serde(default)]
    pub created: Option<i64>,
    /// When it was last replaced, in milliseconds since the Unix epoch.
    #[serde(default)]
    pub updated: Option<i64>,
}

/// The files API, from [`WebService::files`](crate::WebService::files).
///
/// Files live next to objects, at the user level when a session is set and
/// at the application level otherwise (see [`AppLevel`](crate::AppLevel));
/// a user's files are readable by that user only.
///
/// ```no_run
/// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
/// use cloudmine::{CallInfo, Event, EventEmitter, Progress, Source};
/// use serde_json::Value;
/// let uploaded = ws
///     .files()
///     .upload(Source::path("holiday.jpg"))
///     .key("holiday")
///     .on(Event::Progress, |data: &Value, _: &CallInfo| {
///         if let Some(p) = Progress::from_data(data) {
///             eprintln!("{} of {:?} bytes", p.done, p.total);
///         }
///     })
///     .await?;
/// let saved = ws.files().download_to(&uploaded.key, "copy.jpg").await?;
/// println!("{} bytes of {:?}", saved.size, saved.content_type);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Files<'a> {
    ws: &'a Client,
}

impl<'a> Files<'a> {
    pub(crate) fn new(ws: &'a Client) -> Self {
        Files { ws }
    }

    /// Uploads a file (`POST binary/{key}`). Without [`UploadCall::key`] the
    /// server assigns one; the content type is guessed from the file name
    /// unless [`UploadCall::content_type`] sets it.
    pub fn upload(&self, source: Source) -> UploadCall {
        UploadCall {
            transfer: Transfer::new(self.ws),
            source,
            key: None,
            content_type: None,
            filename: None,
        }
    }

    /// Downloads a file as a [`FileStream`] of chunks (`GET binary/{key}`).
    /// The call resolves when the answer's headers arrived; the stream's
    /// progress, `success` and `complete` events fire as it is read.
    pub fn download(&self, key: &str) -> DownloadCall {
        DownloadCall {
            transfer: Transfer::new(self.ws),
            key: key.to_owned(),
        }
    }

    /// Downloads a file to `path`: into a temporary file in the same
    /// directory, renamed to `path` once complete, so a failed or cancelled
    /// download never leaves a partial file under `path`. An existing file
    /// at `path` is replaced.
    pub fn download_to(&self, key: &str, path: impl Into<PathBuf>) -> DownloadToCall {
        DownloadToCall {
            transfer: Transfer::new(self.ws),
            key: key.to_owned(),
            path: path.into(),
        }
    }

    /// The metadata of files by key (`GET text?keys=`); decode with
    /// [`Response::into_map`](crate::Response::into_map)`::<FileInfo>()`.
    pub fn info<I, K>(&self, keys: I) -> ApiCall
    where
        I: IntoIterator<Item = K>,
        K: AsRef<str>,
    {
        crate::objects::Objects::new(self.ws).get(keys)
    }

    /// Deletes files by key (`DELETE data?keys=`).
    pub fn delete<I, K>(&self, keys: I) -> ApiCall
    where
        I: IntoIterator<Item = K>,
        K: AsRef<str>,
    {
        let request =
            join_keys(keys).map(|keys| Request::new(Method::DELETE, &["data"]).query("keys", keys));
        ApiCall::new(self.ws, request)
    }

    /// Every file's metadata (a search for `[__type__ = "file"]`; paged by
    /// the `limit`/`skip` options).
    pub fn list(&self) -> ApiCall {
        crate::objects::Objects::new(self.ws).search(r#"[__type__ = "file"]"#)
    }

    /// Files whose metadata matches `conditions`: the inside of a CloudMine
    /// query, joined to `__type__ = "file"` with AND, e.g.
    /// `content_type = "image/png", size > 1000`.
    pub fn search(&self, conditions: &str) -> ApiCall {
        let conditions = conditions.trim();
        let inner = conditions
            .strip_prefix('[')
            .and_then(|c| c.strip_suffix(']'))
            .unwrap_or(conditions)
            .trim();
        if inner.is_empty() {
            return self.list();
        }
        crate::objects::Objects::new(self.ws).search(format!(r#"[__type__ = "file", {inner}]"#))
    }
}

/// What every transfer call holds: client, per-call options, handlers.
struct Transfer {
    ws: Client,
    overrides: Option<Box<Patch>>,
    handlers: Handlers,
    interval: Duration,
}

impl Transfer {
    fn new(ws: &Client) -> Self {
        Transfer {
            ws: ws.clone(),
            overrides: None,
            handlers: Handlers::new(),
            interval: DEFAULT_PROGRESS_INTERVAL,
        }
    }

    fn options(&mut self, options: CallOptions) {
        self.overrides
            .get_or_insert_with(Box::default)
            .merge(options.patch);
    }

    /// Builds the request's URL and headers, and the completion guard that
    /// fires `complete` whatever happens from here on.
    fn start(self, request: Request) -> (Client, Completion, Result<Prepared>, Duration) {
        let Transfer {
            ws,
            overrides,
            handlers,
            interval,
        } = self;
        let mut completion = Completion::new(handlers);
        let prepared = prepare(&ws, request, overrides.as_deref());
        if let Ok(p) = &prepared {
            completion.info.method = p.method.to_string();
            completion.info.url = p.display_url.clone();
        }
        (ws, completion, prepared, interval)
    }
}

macro_rules! transfer_builder {
    ($ty:ty) => {
        impl $ty {
            /// Overrides options for this call only (level, session, and
            /// `timeout`, which for transfers is the longest wait for the
            /// next bytes, not a limit on the whole transfer).
            pub fn options(mut self, options: CallOptions) -> Self {
                self.transfer.options(options);
                self
            }

            /// The shortest time between two progress events (default
            /// [`DEFAULT_PROGRESS_INTERVAL`]).
            pub fn progress_interval(mut self, interval: Duration) -> Self {
                self.transfer.interval = interval;
                self
            }
        }

        crate::events::impl_event_emitter!($ty, transfer.handlers);
    };
}

/// Fires progress events at most once per interval, and notices stalls.
struct Tracker {
    interval: Duration,
    stall: Duration,
    total: Option<u64>,
    done: u64,
    reported: Option<u64>,
    last_report: Option<Instant>,
    last_change: Instant,
}

impl Tracker {
    fn new(interval: Duration, stall: Duration, total: Option<u64>) -> Self {
        Tracker {
            interval,
            stall,
            total,
            done: 0,
            reported: None,
            last_report: None,
            last_change: Instant::now(),
        }
    }

    fn emit(&mut self, completion: &mut Completion, now: Instant) {
        let data = Progress {
            done: self.done,
            total: self.total,
        }
        .to_data();
        completion
            .handlers
            .emit(Event::Progress, &data, &completion.info);
        self.reported = Some(self.done);
        self.last_report = Some(now);
    }

    /// Records `done` bytes; reports them if the interval has passed.
    fn update(&mut self, done: u64, completion: &mut Completion) {
        let now = Instant::now();
        if done != self.done {
            self.done = done;
            self.last_change = now;
        }
        let due = self
            .last_report
            .is_none_or(|t| now.duration_since(t) >= self.interval);
        if due && self.done > 0 && self.reported != Some(self.done) {
            self.emit(completion, now);
        }
    }

    /// True when nothing moved for longer than the stall timeout.
    fn stalled(&self) -> bool {
        self.last_change.elapsed() >= self.stall
    }

    /// The final report, unless it was already made.
    fn finish(&mut self, completion: &mut Completion) {
        if self.reported != Some(self.done) {
            self.emit(completion, Instant::now());
        }
    }
}

fn timeout_error(completion: &Completion, after: Duration) -> Error {
    Error::Timeout {
        method: completion.info.method.clone(),
        url: completion.info.url.clone(),
        after,
    }
}

/// Reads an answer's body (keeping at most `ERROR_BODY_LIMIT` bytes, with
/// `stall` as the longest wait for the next bytes) and processes it as the
/// call's outcome. An error answer is reported with whatever of its body
/// arrived; a success must arrive whole.
async fn read_answer(
    mut response: reqwest::Response,
    stall: Duration,
    completion: &mut Completion,
) -> Processed {
    let status = response.status().as_u16();
    let success = response.status().is_success();
    completion.info.headers = std::mem::take(response.headers_mut());
    let mut body = Vec::new();
    loop {
        match tokio::time::timeout(stall, response.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                if body.len() < ERROR_BODY_LIMIT {
                    body.extend_from_slice(&chunk);
                } else if !success {
                    break;
                }
            }
            Ok(Ok(None)) => break,
            _ if !success => break,
            Ok(Err(e)) => {
                let (method, url) = (&completion.info.method, &completion.info.url);
                return Processed::from_failure(transport_error(e, method, url, stall));
            }
            Err(_) => return Processed::from_failure(timeout_error(completion, stall)),
        }
    }
    body.truncate(ERROR_BODY_LIMIT);
    Processed::from_http(
        status,
        parse_body(&body),
        Processor::Basic,
        false,
        &completion.info.method,
        &completion.info.url,
    )
}

fn success(status: u16, data: Value) -> Processed {
    Processed {
        status: Some(status),
        success: Some(data),
        ..Processed::default()
    }
}

/// Sends a request and waits for the answer's headers, reporting upload
/// progress from `sent` meanwhile; fails when nothing moves for `stall`.
async fn send(
    ws: &Client,
    request: reqwest::Request,
    sent: &AtomicU64,
    tracker: &mut Tracker,
    completion: &mut Completion,
) -> std::result::Result<reqwest::Response, Error> {
    let method = completion.info.method.clone();
    let url = completion.info.url.clone();
    let mut pending = std::pin::pin!(ws.http().execute(request));
    // `interval` panics on zero; a zero progress interval means "every tick".
    let period = tracker
        .interval
        .min(tracker.stall)
        .max(Duration::from_millis(1));
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let step = std::future::poll_fn(|cx| {
            if let Poll::Ready(answer) = pending.as_mut().poll(cx) {
                return Poll::Ready(Some(answer));
            }
            if ticker.poll_tick(cx).is_ready() {
                return Poll::Ready(None);
            }
            Poll::Pending
        })
        .await;
        match step {
            Some(answer) => {
                return answer.map_err(|e| transport_error(e, &method, &url, tracker.stall));
            }
            None => {
                tracker.update(sent.load(Ordering::Relaxed), completion);
                if tracker.stalled() {
                    return Err(timeout_error(completion, tracker.stall));
                }
            }
        }
    }
}

fn header_str(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The SHA-256 in an `ETag`, when it is one.
fn etag_sha256(headers: &HeaderMap) -> Option<String> {
    let tag = header_str(headers, ETAG)?;
    let tag = tag.trim_start_matches("W/").trim_matches('"');
    (tag.len() == 64 && tag.bytes().all(|b| b.is_ascii_hexdigit())).then(|| tag.to_owned())
}

fn check_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid_argument("key", "must not be empty"));
    }
    Ok(())
}

/// An upload, from [`Files::upload`]: awaitable to [`Uploaded`], and an
/// [`EventEmitter`](crate::EventEmitter) (`progress`, `success`, `error`,
/// `complete`…). Dropping it mid-transfer cancels the upload (`abort`,
/// `error` and `complete` fire) and the server discards what it received.
#[must_use = "an upload does nothing until it is awaited"]
pub struct UploadCall {
    transfer: Transfer,
    source: Source,
    key: Option<String>,
    content_type: Option<String>,
    filename: Option<String>,
}

impl std::fmt::Debug for UploadCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadCall")
            .field("source", &self.source)
            .field("key", &self.key)
            .field("content_type", &self.content_type)
            .field("filename", &self.filename)
            .finish_non_exhaustive()
    }
}

transfer_builder!(UploadCall);

impl UploadCall {
    /// The file's key (default: the server assigns one).
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// The content type (default: guessed from the file name, else
    /// `application/octet-stream`).
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// The file name stored with the file (default: the source file's name,
    /// else the key).
    pub fn filename(mut self, name: impl Into<String>) -> Self {
        self.filename = Some(name.into());
        self
    }
}

/// The content type for a file name: the user's, else a guess, else bytes.
fn content_type_for(given: Option<String>, filename: Option<&str>) -> Result<HeaderValue> {
    let chosen = match given {
        Some(ct) => ct,
        None => filename
            .and_then(|n| mime_guess::from_path(n).first_raw())
            .unwrap_or("application/octet-stream")
            .to_owned(),
    };
    HeaderValue::from_str(&chosen).map_err(|_| {
        Error::invalid_argument("content_type", format!("{chosen:?} is not a valid header"))
    })
}

impl IntoFuture for UploadCall {
    type Output = Result<Uploaded>;
    type IntoFuture = BoxFuture<Result<Uploaded>>;

    fn into_future(self) -> Self::IntoFuture {
        let UploadCall {
            transfer,
            source,
            key,
            content_type,
            filename,
        } = self;
        let filename = filename.or_else(|| source.file_name());
        let mut segments = vec!["binary"];
        segments.extend(key.as_deref());
        let mut request = Request::new(Method::POST, &segments);
        if let Some(name) = &filename {
            request = request.query("filename", name.clone());
        }
        let (ws, mut completion, prepared, interval) = transfer.start(request);
        let ready = key
            .as_deref()
            .map_or(Ok(()), check_key)
            .and_then(|()| content_type_for(content_type, filename.as_deref()))
            .and_then(|content_type| prepared.map(|p| (p, content_type)));
        Box::pin(async move {
            let processed = match ready {
                Ok((prepared, content_type)) => {
                    upload(
                        &ws,
                        prepared,
                        source,
                        content_type,
                        interval,
                        &mut completion,
                    )
                    .await
                }
                Err(e) => Processed::from_failure(e),
            };
            let response = completion.finish(processed)?;
            response.get_as::<Uploaded>()
        })
    }
}

async fn upload(
    ws: &Client,
    prepared: Prepared,
    source: Source,
    content_type: HeaderValue,
    interval: Duration,
    completion: &mut Completion,
) -> Processed {
    let sent = Arc::new(AtomicU64::new(0));
    // Dropped with this future: the body then fails (see `Counted`).
    let (_cancel, cancel) = tokio::sync::oneshot::channel::<()>();
    let (body, len) = match source.into_body(Arc::clone(&sent), cancel) {
        Ok(b) => b,
        Err(e) => return Processed::from_failure(e),
    };
    let mut headers = prepared.headers;
    headers.insert(CONTENT_TYPE, content_type);
    if let Some(len) = len {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    }
    let request = ws
        .http()
        .request(prepared.method, prepared.url)
        .headers(headers)
        .body(body)
        .build();
    let request = match request {
        Ok(r) => r,
        Err(e) => {
            let error = transport_error(
                e,
                &completion.info.method,
                &completion.info.url,
                prepared.timeout,
            );
            return Processed::from_failure(error);
        }
    };
    let mut tracker = Tracker::new(interval, prepared.timeout, len);
    let started = Instant::now();
    let answer = send(ws, request, &sent, &mut tracker, completion).await;
    completion.info.elapsed = started.elapsed();
    let response = match answer {
        Ok(r) => r,
        Err(e) => return Processed::from_failure(e),
    };
    if response.status().is_success() {
        tracker.update(sent.load(Ordering::Relaxed), completion);
        tracker.finish(completion);
    }
    read_answer(response, prepared.timeout, completion).await
}

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
    completion.info.elapsed = started.elapsed();
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
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| Error::file("create", &temp, e))?;
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

impl DownloadToCall {}

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
