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
//!
//! [`AsyncRead`]: tokio::io::AsyncRead
//! [`Event::Progress`]: crate::Event::Progress

use std::path::PathBuf;

use reqwest::Method;

mod disk;
mod download;
mod mime;
mod model;
mod progress;
mod source;
mod transfer;
mod upload;

pub use download::{DownloadCall, DownloadToCall, FileStream};
pub use model::{Downloaded, FileInfo, Uploaded};
pub use progress::DEFAULT_PROGRESS_INTERVAL;
pub use source::Source;
pub use upload::UploadCall;

use crate::call::{ApiCall, Request};
use crate::client::Client;
use crate::objects::join_keys;
use crate::paging::Pages;

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
        UploadCall::new(self.ws, source)
    }

    /// Downloads a file as a [`FileStream`] of chunks (`GET binary/{key}`).
    /// The call resolves when the answer's headers arrived; the stream's
    /// progress, `success` and `complete` events fire as it is read.
    pub fn download(&self, key: &str) -> DownloadCall {
        DownloadCall::new(self.ws, key)
    }

    /// Downloads a file to `path`: into a temporary file in the same
    /// directory, renamed to `path` once complete, so a failed or cancelled
    /// download never leaves a partial file under `path`. An existing file
    /// at `path` is replaced.
    pub fn download_to(&self, key: &str, path: impl Into<PathBuf>) -> DownloadToCall {
        DownloadToCall::new(self.ws, key, path.into())
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

    /// Every file's metadata, page by page as a stream (see [`Pages`]).
    ///
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// use cloudmine::FileInfo;
    /// use futures_util::TryStreamExt;
    /// let mut files = ws.files().list_pages().into_stream_as::<FileInfo>();
    /// while let Some((key, info)) = files.try_next().await? {
    ///     println!("{key}: {:?} bytes", info.size);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_pages(&self) -> Pages {
        Pages::from_call(self.list())
    }

    /// The files [`search`](Self::search) finds, page by page as a stream
    /// (see [`Pages`]).
    ///
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// use futures_util::TryStreamExt;
    /// let pngs: Vec<_> = ws
    ///     .files()
    ///     .search_pages(r#"content_type = "image/png""#)
    ///     .into_stream()
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn search_pages(&self, conditions: &str) -> Pages {
        Pages::from_call(self.search(conditions))
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
