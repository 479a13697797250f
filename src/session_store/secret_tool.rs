//! The Secret Service (GNOME Keyring, KWallet) through libsecret's
//! `secret-tool`, for [`KeyringStore`](super::KeyringStore) on Linux and the
//! BSDs. No D-Bus stack is linked into the SDK: the items are the ones
//! libsecret and the `keyring` crate use (attributes `service` and
//! `username`). The secret goes through the child's stdin and stdout, never
//! its command line; every run is bounded in time and in output.
//!
//! Trust: `secret-tool` is taken from the first absolute folder of `PATH`
//! that has it (relative entries such as `.` are skipped), like a shell
//! would but without the current folder. Whoever can write to a folder on
//! the user's `PATH` can already run code as the user. The child gets only
//! the environment libsecret needs ([`PASSED_ENV`]).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
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
/// How long its output may stay open after it exited (a process it left
/// behind may hold the pipes).
const DRAIN_GRACE: Duration = Duration::from_secs(5);
/// How much of its stderr an error quotes.
const MAX_QUOTED: usize = 300;
/// The only variables the child gets: what libsecret needs to find the
/// session bus and show an unlock prompt, and the locale. Anything else
/// the app holds (a `CLOUDMINE_SESSION_TOKEN`, an API key) stays here.
const PASSED_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "DBUS_SESSION_BUS_ADDRESS",
    "XDG_RUNTIME_DIR",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_MESSAGES",
    "LC_CTYPE",
];

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
        let said = quoted(&self.stderr);
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

/// What an error quotes of the child's stderr: trimmed, at most
/// [`MAX_QUOTED`] characters, control characters (terminal escapes) as `?`.
fn quoted(stderr: &str) -> String {
    stderr
        .trim()
        .chars()
        .take(MAX_QUOTED)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Reads at most [`MAX_OUTPUT`] bytes of a child's stream on a thread.
fn drain(stream: Option<impl Read + Send + 'static>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(s) = stream {
            let _ = s.take(MAX_OUTPUT).read_to_end(&mut out);
        }
        let _ = tx.send(out);
    });
    rx
}

/// A drained stream, once the child exited; an error if something it left
/// behind keeps the stream open.
fn collect(stream: &mpsc::Receiver<Vec<u8>>) -> Result<Vec<u8>> {
    stream.recv_timeout(DRAIN_GRACE).map_err(|_| {
        store_error(
            "keyring",
            "secret-tool exited but its output stayed open (a process it started holds it)",
        )
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

/// `secret-tool` in the first *absolute* folder of `PATH` that has it as
/// an executable file. Relative entries (`.`, an empty one) are skipped: they
/// would run whatever `secret-tool` the current folder holds.
fn locate() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join("secret-tool"))
        .find(|file| is_executable(file))
}

fn is_executable(file: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(file) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// Runs `secret-tool ARGS`, with `input` on its stdin.
fn run(args: &[&str], input: Option<&[u8]>) -> Result<Run> {
    let unavailable = |why: String| {
        store_error(
            "keyring",
            format!("no keychain is available here: {why}; {NO_KEYCHAIN_HELP}"),
        )
    };
    let missing = "secret-tool (libsecret's tool: package libsecret-tools or libsecret) is not \
                   installed (in an absolute folder of PATH)";
    let program = locate().ok_or_else(|| unavailable(missing.to_owned()))?;
    let mut child = Command::new(program)
        .env_clear()
        .envs(
            PASSED_ENV
                .iter()
                .filter_map(|k| Some((k, std::env::var_os(k)?))),
        )
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| unavailable(format!("cannot run secret-tool: {e}")))?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    if let (Some(mut stdin), Some(bytes)) = (child.stdin.take(), input) {
        // A child that exits early closes its stdin: its status says why.
        let _ = stdin.write_all(bytes);
    }
    let status = wait(&mut child)?;
    Ok(Run {
        status,
        stdout: collect(&stdout)?,
        stderr: String::from_utf8_lossy(&collect(&stderr)?).into_owned(),
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
