//! File I/O for transfers on a thread of its own.
//!
//! `tokio::fs` hands every read or write to the blocking pool and copies it
//! through its own buffer; at network speed that is one thread hop per
//! chunk. Here one plain thread per transfer reads or writes with `std::fs`,
//! and chunks cross a small bounded channel as `Bytes`, without copies:
//! disk and network work in parallel, and memory stays bounded by the
//! channel.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::{Error, Result};

/// Bytes read from a file at a time.
const READ_CHUNK: usize = 64 * 1024;
/// Chunks in flight between the disk thread and the network.
const IN_FLIGHT: usize = 16;

/// A file's contents as a stream of chunks, read on a thread of its own.
pub(crate) fn read_stream(
    file: std::fs::File,
    path: &Path,
) -> Result<impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static> {
    let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(IN_FLIGHT);
    std::thread::Builder::new()
        .name("cloudmine-upload-reader".into())
        .spawn(move || read_loop(file, &tx))
        .map_err(|e| Error::file("start a reader thread for", path, e))?;
    Ok(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }))
}

fn read_loop(mut file: std::fs::File, tx: &mpsc::Sender<std::io::Result<Bytes>>) {
    loop {
        let mut buf = vec![0u8; READ_CHUNK];
        let mut filled = 0;
        // Fill the chunk (short reads happen) so chunks stay large.
        let outcome = loop {
            match file.read(&mut buf[filled..]) {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    filled += n;
                    if filled == buf.len() {
                        break Ok(());
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        if let Err(e) = outcome {
            let _ = tx.blocking_send(Err(e));
            return;
        }
        if filled == 0 {
            return; // end of file: dropping `tx` ends the stream
        }
        buf.truncate(filled);
        let last = filled < READ_CHUNK;
        // A closed channel means the upload went away: stop reading.
        if tx.blocking_send(Ok(Bytes::from(buf))).is_err() || last {
            return;
        }
    }
}

/// Writes chunks to a file on its own thread.
pub(crate) struct DiskWriter {
    tx: Option<mpsc::Sender<Bytes>>,
    done: oneshot::Receiver<std::io::Result<()>>,
    path: PathBuf,
}

impl DiskWriter {
    /// Starts the writer thread for `file` (at `path`, for error messages).
    pub(crate) fn start(file: std::fs::File, path: &Path) -> Result<Self> {
        let (tx, mut rx) = mpsc::channel::<Bytes>(IN_FLIGHT);
        let (done_tx, done) = oneshot::channel();
        std::thread::Builder::new()
            .name("cloudmine-download-writer".into())
            .spawn(move || {
                let mut file = file;
                let mut outcome = Ok(());
                while let Some(chunk) = rx.blocking_recv() {
                    if let Err(e) = file.write_all(&chunk) {
                        outcome = Err(e);
                        break;
                    }
                }
                let _ = done_tx.send(outcome.and_then(|()| file.flush()));
            })
            .map_err(|e| Error::file("start a writer thread for", path, e))?;
        Ok(DiskWriter {
            tx: Some(tx),
            done,
            path: path.to_path_buf(),
        })
    }

    /// Queues a chunk; waits only when the disk is behind.
    pub(crate) async fn write(&mut self, chunk: Bytes) -> Result<()> {
        let sent = match &self.tx {
            Some(tx) => tx.send(chunk).await.is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        // The thread stopped: it failed. Report its error.
        self.tx = None;
        match (&mut self.done).await {
            Ok(Err(e)) => Err(Error::file("write", &self.path, e)),
            _ => Err(Error::file(
                "write",
                &self.path,
                std::io::Error::other("the writer thread stopped"),
            )),
        }
    }

    /// Waits until every chunk is written.
    pub(crate) async fn finish(mut self) -> Result<()> {
        drop(self.tx.take());
        match (&mut self.done).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::file("write", &self.path, e)),
            Err(_) => Err(Error::file(
                "write",
                &self.path,
                std::io::Error::other("the writer thread stopped"),
            )),
        }
    }
}
