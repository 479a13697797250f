//! A PostgreSQL server for the tests: one per test binary, started on
//! first use from Debian's `postgresql` package (`initdb` into a temporary
//! directory, run as the `postgres` user when the tests run as root), on
//! 127.0.0.1 at a free port with a private socket directory and `fsync`
//! off. A watchdog shell holds it: when the test process exits (however it
//! exits) the watchdog's stdin closes, and it stops the server and removes
//! its directory. Each emulator gets a fresh empty schema of its own
//! (through the URL's `search_path`), which is much quicker than a new
//! database.

use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The running server: its port and its binaries.
struct Server {
    port: u16,
    bin: PathBuf,
    /// Holding it keeps the server up; dropped only with the process.
    _watchdog: Mutex<ChildStdin>,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
static NEXT_SCHEMA: AtomicU64 = AtomicU64::new(0);

/// Whether the tests are asked to run on PostgreSQL (`CLOUDMINE_TEST_DB=postgres`).
pub fn requested() -> bool {
    std::env::var("CLOUDMINE_TEST_DB").is_ok_and(|v| v.eq_ignore_ascii_case("postgres"))
}

/// A URL of a fresh, empty schema on the shared server; `None` when no
/// PostgreSQL can be started here (outside CI, with a `SKIPPED:` line; on
/// CI that fails the test, see `support::skip`).
pub fn fresh_url() -> Option<String> {
    let server = match SERVER.get_or_init(start) {
        Ok(server) => server,
        Err(e) => {
            super::skip::skip_or_fail(&format!(
                "PostgreSQL cannot be started here, its part is not run ({e})"
            ));
            return None;
        }
    };
    let schema = format!(
        "t{}_{}",
        std::process::id(),
        NEXT_SCHEMA.fetch_add(1, Ordering::Relaxed)
    );
    server
        .psql(&format!("CREATE SCHEMA {schema}"))
        .unwrap_or_else(|e| panic!("cannot create a schema: {e}"));
    Some(format!(
        "postgres://postgres@127.0.0.1:{}/postgres?options=-c%20search_path%3D{schema}",
        server.port
    ))
}

/// The server's port (starting it if needed); `None` as for [`fresh_url`].
pub fn port() -> Option<u16> {
    fresh_url()?;
    SERVER.get().and_then(|s| s.as_ref().ok()).map(|s| s.port)
}

/// Runs one SQL command as the superuser (for tests that tamper with a
/// schema, e.g. to make it look newer than the binary).
pub fn psql(sql: &str) -> Result<String, String> {
    match SERVER.get_or_init(start) {
        Ok(server) => server.psql(sql),
        Err(e) => Err(e.clone()),
    }
}

impl Server {
    fn psql(&self, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", "postgres", "-d", "postgres", "-c", sql])
            .output()
            .map_err(|e| format!("psql: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }
}

/// The directory with `initdb`, `postgres` and `psql`: `initdb`'s on PATH,
/// else Debian's `/usr/lib/postgresql/*/bin` (the newest).
fn bin_dir() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("initdb"))
            .find(|p| p.is_file())
            .and_then(|p| p.canonicalize().ok())
            .and_then(|p| p.parent().map(Path::to_path_buf))
    });
    let debian = || {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|d| d.join("initdb").is_file())
            .collect();
        dirs.sort();
        dirs.pop()
    };
    on_path
        .filter(|d| d.join("postgres").is_file() && d.join("psql").is_file())
        .or_else(debian)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A command run as `postgres` when we are root (PostgreSQL refuses root).
fn as_server_user(program: &Path, root: bool) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

fn start() -> Result<Server, String> {
    let bin = bin_dir().ok_or("no initdb (install Debian's postgresql package)")?;
    let root = is_root();
    let dir = tempfile::Builder::new()
        .prefix("cloudmine-test-pg-")
        .tempdir()
        .map_err(|e| e.to_string())?
        .keep();
    if root {
        let ok = Command::new("chown")
            .args(["-R", "postgres:"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Err("cannot give the data directory to the postgres user".into());
        }
    }
    let data = dir.join("data");
    let init = as_server_user(&bin.join("initdb"), root)
        .arg("-D")
        .arg(&data)
        .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
        .args(["--locale=C.UTF-8"])
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("initdb: {e}"))?;
    if !init.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&init.stderr)
        ));
    }
    let port = free_port()?;
    let script = format!(
        "{postgres} -D {data} -p {port} -k {dir} -c listen_addresses=127.0.0.1 \
         -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
         -c max_connections=400 >{dir}/log 2>&1 & pid=$!; \
         cat >/dev/null; kill -INT $pid; wait $pid; rm -rf {dir}",
        postgres = bin.join("postgres").display(),
        data = data.display(),
        dir = dir.display(),
    );
    let mut watchdog = as_server_user(Path::new("sh"), root)
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start postgres: {e}"))?;
    let stdin = watchdog.stdin.take().ok_or("no watchdog pipe")?;
    let server = Server {
        port,
        bin,
        _watchdog: Mutex::new(stdin),
    };
    // Bounded: a server that is not up within a minute is an error.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match server.psql("SELECT 1") {
            Ok(_) => return Ok(server),
            Err(e) if Instant::now() > deadline => {
                let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
                return Err(format!("postgres did not start: {e}\n{log}"));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}
