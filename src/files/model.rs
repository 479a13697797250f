//! What transfers return: [`Uploaded`], [`Downloaded`], [`FileInfo`], and
//! the answer headers they are read from.

use std::path::PathBuf;

use reqwest::header::{ETAG, HeaderMap};
use serde::Deserialize;

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
///
/// [`Files::download_to`]: crate::Files::download_to
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
///
/// [`Files::info`]: crate::Files::info
/// [`Files::list`]: crate::Files::list
/// [`Files::search`]: crate::Files::search
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

pub(super) fn header_str(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The SHA-256 in an `ETag`, when it is one.
pub(super) fn etag_sha256(headers: &HeaderMap) -> Option<String> {
    let tag = header_str(headers, ETAG)?;
    let tag = tag.trim_start_matches("W/").trim_matches('"');
    (tag.len() == 64 && tag.bytes().all(|b| b.is_ascii_hexdigit())).then(|| tag.to_owned())
}
