//! The Secret Service (GNOME Keyring, KWallet) through libsecret's
//! `secret-tool`, for [`KeyringStore`](super::KeyringStore) on Linux and the
//! BSDs. No D-Bus stack is linked into the SDK: the items are the ones
//! libsecret and the `keyring` crate use (attributes `service` and
//! `username`). The secret goes through the child's stdin and stdout, never
//! its command line; every run is bounded in time and in output.

use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::base::store_error;
use crate::{Error, Result};

/// How long one `secret-tool` run may take (an unlock prompt may be up).
const TIMEOUT: Duration = Duration::from_secs(30);
/// How much of its output is read: a session is far smaller.
const MAX_OUTPUT: u64 = 64 * 1024;
/// How often the child is checked on while it runs.
const POLL: Duration = Duration::from_millis(10);

/// What to do when the keychain is missing: said in every error that may
/// mean it is.
pub(super) const NO_KEYCHAIN_HELP: &str = "start a Secret Service (gnome-keyring or KWallet) in a \
    D-Bus session and unlock it, or keep sessions in a file with FileStore, or fall back to one \
    explicitly with ChainStore::new([keyring, file])";

/// One finished run: exit status, stdout, stderr.
struct Run {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    /// `secret-tool` exits 1 with nothing on stderr when no item matched.
    fn nothing_matched(&self) -> bool {
        self.status.code() == Some(1) && self.stderr.trim().is_empty()
    }

    fn failure(&self, what: &str) -> Error {
        let said = self.stderr.trim();
        let said = if said.is_empty() {
            format!("it exited with {}", self.status)
        } else {
            format!("it said: {said}")
        };
        store_error(
            "keyring",
            format!("the keychain failed to {what} ({said}); {NO_KEYCHAIN_HELP}"),
        )
    }
}

/// Reads at most [`MAX_OUTPUT`] bytes of a child's stream on a thread.
fn drain(stream: Option<impl Read + Send + 'static>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(s) = stream {
            let _ = s.take(MAX_OUTPUT).read_to_end(&mut out);
        }
        out
    })
}

/// Waits for the child, at most [`TIMEOUT`]; kills it past that.
fn wait(child: &mut Child) -> Result<ExitStatus> {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if start.elapsed() < TIMEOUT => thread::sleep(POLL),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(store_error(
                    "keyring",
                    format!(
                        "the keychain did not answer within {}s (is an unlock prompt waiting?)",
                        TIMEOUT.as_secs()
                    ),
                ));
            }
            Err(e) => {
                return Err(store_error(
                    "keyring",
                    format!("cannot wait for secret-tool: {e}"),
                ));
            }
        }
    }
}

/// Runs `secret-tool ARGS`, with `input` on its stdin.
fn run(args: &[&str], input: Option<&[u8]>) -> Result<Run> {
    let mut child = Command::new("secret-tool")
        .args(args)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            let why = if e.kind() == std::io::ErrorKind::NotFound {
                "secret-tool (libsecret's tool: package libsecret-tools or libsecret) is not installed"
                    .to_owned()
            } else {
                format!("cannot run secret-tool: {e}")
            };
            store_error("keyring", format!("no keychain is available here: {why}; {NO_KEYCHAIN_HELP}"))
        })?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    if let (Some(mut stdin), Some(bytes)) = (child.stdin.take(), input) {
        // A child that exits early closes its stdin: its status says why.
        let _ = stdin.write_all(bytes);
    }
    let status = wait(&mut child)?;
    Ok(Run {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned(),
    })
}

/// The secret stored for `service` and `account`, if any.
pub(super) fn lookup(service: &str, account: &str) -> Result<Option<String>> {
    let out = run(&["lookup", "service", service, "username", account], None)?;
    if out.nothing_matched() {
        return Ok(None);
    }
    if !out.status.success() {
        return Err(out.failure("read the session"));
    }
    String::from_utf8(out.stdout)
        .map(Some)
        .map_err(|_| store_error("keyring", "the stored item is not a cloudmine session"))
}

/// Stores (replaces) the secret for `service` and `account`.
pub(super) fn store(service: &str, account: &str, secret: &str) -> Result<()> {
    let label = format!("cloudmine session {account}");
    let args = [
        "store", "--label", &label, "service", service, "username", account,
    ];
    let out = run(&args, Some(secret.as_bytes()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(out.failure("save the session"))
    }
}

/// Removes the secret for `service` and `account` (none is fine).
pub(super) fn clear(service: &str, account: &str) -> Result<()> {
    let out = run(&["clear", "service", service, "username", account], None)?;
    if out.status.success() || out.nothing_matched() {
        Ok(())
    } else {
        Err(out.failure("remove the session"))
    }
}
