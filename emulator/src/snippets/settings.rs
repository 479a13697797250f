//! The JavaScript snippets' settings, and the checks made at start: the
//! snippets directory exists and `node` runs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;

/// How long a snippet may run before it is killed (CloudMine's limit).
pub const DEFAULT_SNIPPET_TIMEOUT: Duration = Duration::from_secs(30);
/// The V8 heap cap given to each snippet's node, in MiB.
pub const DEFAULT_SNIPPET_MEMORY_MIB: u64 = 256;
/// Snippet processes running at once.
pub const DEFAULT_MAX_SNIPPET_PROCESSES: usize = 4;
/// Snippet calls waiting for a process slot; beyond, 503.
pub const DEFAULT_SNIPPET_QUEUE: usize = 32;
/// The most a snippet may print (its answer included), in bytes.
pub const DEFAULT_SNIPPET_OUTPUT_BYTES: usize = 1024 * 1024;

/// How long `node --version` may take at start.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where JavaScript snippets live, the node that runs them and its limits.
#[derive(Debug, Clone)]
pub(crate) struct NodeSettings {
    /// `DIR` of `DIR/NAME.js`; `None`: no JavaScript snippets.
    pub dir: Option<PathBuf>,
    /// The node binary; `None`: `node` on `PATH`.
    pub node: Option<PathBuf>,
    pub timeout: Duration,
    pub memory_mib: u64,
    pub max_processes: usize,
    pub max_queued: usize,
    pub max_output: usize,
}

impl Default for NodeSettings {
    fn default() -> Self {
        NodeSettings {
            dir: None,
            node: None,
            timeout: DEFAULT_SNIPPET_TIMEOUT,
            memory_mib: DEFAULT_SNIPPET_MEMORY_MIB,
            max_processes: DEFAULT_MAX_SNIPPET_PROCESSES,
            max_queued: DEFAULT_SNIPPET_QUEUE,
            max_output: DEFAULT_SNIPPET_OUTPUT_BYTES,
        }
    }
}

/// What start found: the canonical directory and a node that runs.
pub(crate) struct Checked {
    pub dir: PathBuf,
    pub node: PathBuf,
}

impl NodeSettings {
    /// Checks the limits, the directory and node; `None` without a directory.
    pub(crate) async fn check(&self) -> Result<Option<Checked>, String> {
        let Some(dir) = &self.dir else {
            return Ok(None);
        };
        if self.timeout.is_zero() || self.max_processes == 0 || self.max_output == 0 {
            return Err(
                "the snippet timeout, process limit and output limit must be above 0".into(),
            );
        }
        if self.memory_mib < 16 {
            return Err("the snippet memory cap must be at least 16 MiB".into());
        }
        let dir = std::fs::canonicalize(dir)
            .ok()
            .filter(|d| d.is_dir())
            .ok_or_else(|| {
                format!(
                    "--snippets {}: no such directory (snippets are DIR/NAME.js files)",
                    dir.display()
                )
            })?;
        let node = self.find_node()?;
        probe(&node).await?;
        Ok(Some(Checked { dir, node }))
    }

    /// The node binary: the configured path, or the first `node` on `PATH`.
    fn find_node(&self) -> Result<PathBuf, String> {
        if let Some(path) = &self.node {
            return Ok(path.clone());
        }
        std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|d| d.join("node"))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                "--snippets needs node (Node.js) to run JavaScript snippets, and no `node` \
                 is on PATH: install it or name it with --node PATH"
                    .to_owned()
            })
    }
}

/// Runs `node --version`, bounded, with an empty environment.
async fn probe(node: &Path) -> Result<(), String> {
    let cant = |why: String| {
        format!(
            "--snippets needs node (Node.js), and {} does not run ({why}): \
             install it or name it with --node PATH",
            node.display()
        )
    };
    let run = Command::new(node)
        .arg("--version")
        .env_clear()
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .status();
    match tokio::time::timeout(PROBE_TIMEOUT, run).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(cant(format!("`--version` ended with {status}"))),
        Ok(Err(e)) => Err(cant(e.to_string())),
        Err(_) => Err(cant("`--version` took over 10 s".into())),
    }
}
