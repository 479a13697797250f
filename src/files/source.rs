//! What an upload sends ([`Source`]), and the request body made from it
//! that counts what it hands over.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;

use bytes::Bytes;
use tokio::io::AsyncRead;

use super::disk;
use crate::{Error, Result};

/// Bytes read from an upload source at a time.
const READ_CHUNK: usize = 64 * 1024;

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

    pub(super) fn file_name(&self) -> Option<String> {
        match &self.kind {
            SourceKind::Path(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()),
            _ => None,
        }
    }

    /// The request body and its length. What the body hands over is
    /// counted into `sent`; when `cancel` fires (its sender is dropped with
    /// the upload), the body fails, so the connection is closed and the
    /// server discards the partial file even while the source is stalled.
    pub(super) fn into_body(
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
