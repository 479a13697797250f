//! The `cloudmine-emulator` binary on a free loopback port, for the tests
//! that need the real process (flags, restarts, its descriptors and memory).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary's path. Only the emulator package's own tests have it (the
/// SDK's benches share this support module without the binary).
pub fn bin() -> &'static str {
    match option_env!("CARGO_BIN_EXE_cloudmine-emulator") {
        Some(path) => path,
        None => panic!("only the emulator's own tests run its binary"),
    }
}

/// A running binary, killed when dropped.
pub struct Running {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// Starts the binary with `--listen 127.0.0.1:0` and `args`, and waits
    /// for the line that names its address.
    pub fn start(args: &[&str]) -> Running {
        Running::start_env(args, &[])
    }

    /// [`Running::start`] with environment variables set for the process
    /// (`CLOUDMINE_EMULATOR_*` the tests do not set are removed).
    pub fn start_env(args: &[&str], env: &[(&str, &str)]) -> Running {
        let mut command = Command::new(bin());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("CLOUDMINE_EMULATOR_") {
                command.env_remove(name);
            }
        }
        let mut child = command
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("cloudmine-emulator listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        let addr = base.trim_start_matches("http://").to_owned();
        Running { child, base, addr }
    }

    /// Open descriptors of the process.
    pub fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Peak resident memory of the process, in MiB (`VmHWM`).
    pub fn peak_rss_mib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/PID/status");
        kb / 1024
    }

    /// Waits (up to a 10 s liveness guard) until the descriptors are back to `baseline`.
    pub async fn fds_return_to(&self, baseline: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = self.fds();
            if now <= baseline || Instant::now() > deadline {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
