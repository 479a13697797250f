//! Runs one JavaScript snippet in its own `node` process: the name checked
//! against the directory, a process slot (bounded, then 503), the input on
//! stdin, the answer read back from a marker line, every stage bounded.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::settings::{Checked, NodeSettings};
use crate::crypto;
use crate::fail::Fail;

/// The wrapper that defines `data` and `exit` around a snippet.
const PRELUDE: &str = include_str!("prelude.js");
/// The largest snippet source read.
const MAX_SOURCE_BYTES: u64 = 1024 * 1024;
/// The most a snippet may write to stderr.
const MAX_STDERR_BYTES: usize = 64 * 1024;
/// The longest snippet name.
const MAX_NAME_LEN: usize = 128;

/// Runs the snippets of one directory.
pub(crate) struct NodeRunner {
    dir: PathBuf,
    node: PathBuf,
    settings: NodeSettings,
    permits: Arc<Semaphore>,
    queued: AtomicUsize,
}

/// A place in line: a process slot already, or a bounded wait for one.
pub(crate) enum Ticket {
    Running(OwnedSemaphorePermit),
    Waiting(QueueSlot),
}

/// One waiting call, counted until dropped.
pub(crate) struct QueueSlot(Arc<NodeRunner>);

impl Drop for QueueSlot {
    fn drop(&mut self) {
        self.0.queued.fetch_sub(1, Ordering::SeqCst);
    }
}

fn unknown(name: &str) -> Fail {
    Fail::new(StatusCode::NOT_FOUND, format!("unknown snippet: {name}"))
}

fn failed(name: &str, why: impl std::fmt::Display) -> Fail {
    Fail::bad(format!("snippet {name} failed: {why}"))
}

fn busy() -> Fail {
    Fail::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "too many snippets are running: try again shortly",
    )
}

impl NodeRunner {
    pub(crate) fn new(checked: Checked, settings: NodeSettings) -> Self {
        NodeRunner {
            dir: checked.dir,
            node: checked.node,
            permits: Arc::new(Semaphore::new(settings.max_processes)),
            queued: AtomicUsize::new(0),
            settings,
        }
    }

    /// The snippets directory (canonical).
    pub(crate) fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// `DIR/NAME.js` for a name of `[A-Za-z0-9_-]`, inside `DIR` once
    /// symlinks are resolved, and a regular file.
    pub(crate) fn resolve(&self, name: &str) -> Result<PathBuf, Fail> {
        let valid = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid {
            return Err(Fail::bad(
                "invalid snippet name: use 1 to 128 letters, digits, _ or -",
            ));
        }
        let path = std::fs::canonicalize(self.dir.join(format!("{name}.js")))
            .map_err(|_| unknown(name))?;
        if !path.starts_with(&self.dir) || !path.is_file() {
            tracing::warn!(
                snippet = name,
                "a snippet file outside the snippets directory"
            );
            return Err(unknown(name));
        }
        Ok(path)
    }

    /// A process slot now, a place in the queue, or 503.
    pub(crate) fn enter(self: &Arc<Self>) -> Result<Ticket, Fail> {
        if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
            return Ok(Ticket::Running(permit));
        }
        let slot = QueueSlot(Arc::clone(self));
        if self.queued.fetch_add(1, Ordering::SeqCst) >= self.settings.max_queued {
            return Err(busy()); // the slot's drop gives the place back
        }
        Ok(Ticket::Waiting(slot))
    }

    /// Runs `name` (at `path`) with `data`, once `ticket` has a slot.
    pub(crate) async fn run(
        &self,
        ticket: Ticket,
        name: &str,
        path: PathBuf,
        data: Value,
    ) -> Result<Value, Fail> {
        let _permit = match ticket {
            Ticket::Running(permit) => permit,
            Ticket::Waiting(slot) => {
                let wait = Arc::clone(&self.permits).acquire_owned();
                let permit = tokio::time::timeout(self.settings.timeout, wait).await;
                drop(slot);
                permit.ok().and_then(Result::ok).ok_or_else(busy)?
            }
        };
        let source = read_source(name, path).await?;
        let marker = crypto::try_random_hex(16).map_err(|e| Fail::internal(&e))?;
        let input = json!({ "marker": marker, "name": name, "source": source, "data": data });
        let output = self.exchange(name, input.to_string().into_bytes()).await?;
        answer(name, &marker, &output)
    }

    fn spawn(&self) -> Result<Child, Fail> {
        Command::new(&self.node)
            .arg(format!("--max-old-space-size={}", self.settings.memory_mib))
            .arg("-e")
            .arg(PRELUDE)
            .env_clear()
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                tracing::error!(error = %e, "cannot start node for a snippet");
                Fail::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the snippet runner could not start node",
                )
            })
    }

    /// Feeds `input`, reads stdout and stderr (capped) and waits, all within
    /// the timeout; on any failure the process is killed and reaped.
    async fn exchange(&self, name: &str, input: Vec<u8>) -> Result<Output, Fail> {
        let mut child = self.spawn()?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(Fail::internal(&"node's pipes are missing"));
        };
        let cap = self.settings.max_output;
        let io = async {
            let feed = async {
                // A snippet may end without reading everything: not an error.
                let _ = stdin.write_all(&input).await;
                drop(stdin);
                Ok(())
            };
            let (_, out, err) = tokio::try_join!(
                feed,
                read_capped(stdout, cap),
                read_capped(stderr, MAX_STDERR_BYTES)
            )?;
            let status = child.wait().await.map_err(|e| e.to_string())?;
            Ok::<_, String>(Output { out, err, status })
        };
        let result = tokio::time::timeout(self.settings.timeout, io).await;
        match result {
            Ok(Ok(output)) => Ok(output),
            Ok(Err(why)) => {
                let _ = child.kill().await;
                Err(failed(name, why))
            }
            Err(_) => {
                let _ = child.kill().await;
                Err(failed(
                    name,
                    format!("killed after {}", seconds(self.settings.timeout)),
                ))
            }
        }
    }
}

/// What node left behind.
struct Output {
    out: Vec<u8>,
    err: Vec<u8>,
    status: std::process::ExitStatus,
}

fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

async fn read_source(name: &str, path: PathBuf) -> Result<String, Fail> {
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|_| unknown(name))?;
    let mut source = String::new();
    file.take(MAX_SOURCE_BYTES + 1)
        .read_to_string(&mut source)
        .await
        .map_err(|_| failed(name, "its file is not UTF-8 text"))?;
    if source.len() as u64 > MAX_SOURCE_BYTES {
        return Err(failed(name, "its file is larger than 1 MiB"));
    }
    Ok(source)
}

/// Everything a pipe gives, or an error once it passes `cap` bytes.
async fn read_capped(pipe: impl AsyncRead + Unpin, cap: usize) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    pipe.take(limit)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| e.to_string())?;
    if bytes.len() > cap {
        return Err(format!("it printed more than {cap} bytes"));
    }
    Ok(bytes)
}

/// The snippet's answer, from the line the prelude marked.
fn answer(name: &str, marker: &str, output: &Output) -> Result<Value, Fail> {
    let prefix = format!("{marker} ");
    let text = String::from_utf8_lossy(&output.out);
    let Some(line) = text.lines().find_map(|l| l.strip_prefix(&prefix)) else {
        let stderr = String::from_utf8_lossy(&output.err);
        let why = if stderr.contains("heap out of memory") || stderr.contains("heap limit") {
            "it ran out of memory".to_owned()
        } else {
            format!("node stopped without an answer ({})", output.status)
        };
        return Err(failed(name, why));
    };
    let (kind, json) = line.split_once(' ').unwrap_or((line, "null"));
    let value: Value = serde_json::from_str(json).map_err(|e| failed(name, e))?;
    match kind {
        "ok" => Ok(value),
        "noexit" => Err(failed(name, "it ended without calling exit()")),
        _ => {
            let message = value["message"].as_str().unwrap_or("an error");
            let at = value["stack"][0].as_str().unwrap_or_default();
            Err(failed(name, format!("it threw {message} {at}").trim_end()))
        }
    }
}
