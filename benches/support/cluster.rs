//! What the emulator storage benchmarks share: emulators on one database
//! (`CLOUDMINE_BENCH_DB`: a PostgreSQL URL, default SQLite in a temporary
//! directory; `CLOUDMINE_BENCH_INSTANCES`: how many emulators serve it,
//! default 1), seeded users, batch writes, percentiles and memory figures.

#![allow(dead_code)] // each bench uses part of it

use std::time::{Duration, Instant};

use cloudmine_emulator::Emulator;
use serde_json::{Map, Value};

pub const APP: &str = "bench";
pub const KEY: &str = "bench-key";

/// Emulators on one database, and where they keep their files.
pub struct Cluster {
    pub emus: Vec<Emulator>,
    pub bases: Vec<String>,
    pub database: String,
    _dir: tempfile::TempDir,
}

/// A user with a session.
#[derive(Clone)]
pub struct BenchUser {
    pub id: String,
    pub token: String,
}

impl Cluster {
    /// Starts the emulators the environment asks for.
    pub async fn start() -> Cluster {
        let dir = tempfile::tempdir().expect("temporary directory");
        let database = std::env::var("CLOUDMINE_BENCH_DB")
            .unwrap_or_else(|_| dir.path().join("bench.sqlite").display().to_string());
        let instances: usize = std::env::var("CLOUDMINE_BENCH_INSTANCES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1)
            .max(1);
        let mut emus = Vec::new();
        for i in 0..instances {
            let emu = Emulator::builder()
                .app(APP, KEY)
                .database(&database)
                .files_dir(dir.path().join(format!("files{i}")))
                // As the binary runs: the test hooks' request log is off.
                .record_requests(false)
                .start()
                .await
                .expect("emulator");
            emus.push(emu);
        }
        let bases = emus.iter().map(Emulator::base_url).collect();
        let shown = if database.contains("://") {
            "PostgreSQL".to_owned()
        } else {
            "SQLite file".to_owned()
        };
        Cluster {
            emus,
            bases,
            database: shown,
            _dir: dir,
        }
    }

    /// The base URL client `i` uses (clients spread over the instances).
    pub fn base(&self, i: usize) -> &str {
        &self.bases[i % self.bases.len()]
    }

    /// A new user with a day-long session.
    pub async fn user(&self, email: &str) -> BenchUser {
        let emu = &self.emus[0];
        let id = emu.create_user(APP, email).await.expect("user");
        let token = emu
            .create_session(APP, &id, Duration::from_secs(86_400))
            .await
            .expect("session");
        BenchUser { id, token }
    }

    pub async fn shutdown(self) {
        for emu in self.emus {
            emu.shutdown().await.expect("shutdown");
        }
    }
}

/// A client for many requests (HTTP/1.1 keep-alive).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .expect("client")
}

/// A user-level request.
pub fn request(
    client: &reqwest::Client,
    base: &str,
    user: &BenchUser,
    method: reqwest::Method,
    path: &str,
) -> reqwest::RequestBuilder {
    client
        .request(method, format!("{base}/v1/app/{APP}/user/{path}"))
        .header("x-cloudmine-apikey", KEY)
        .header("x-cloudmine-sessiontoken", &user.token)
}

/// Sends a request; panics unless it succeeds; the time it took.
pub async fn timed(req: reqwest::RequestBuilder) -> Duration {
    let started = Instant::now();
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let body = resp.bytes().await.expect("body");
    assert!(
        status.is_success(),
        "{status}: {}",
        String::from_utf8_lossy(&body)
    );
    started.elapsed()
}

/// Writes `n` objects made by `make` for a user, 1,000 per request.
pub async fn seed(
    client: &reqwest::Client,
    base: &str,
    user: &BenchUser,
    n: usize,
    make: impl Fn(usize) -> Value,
) {
    for start in (0..n).step_by(1000) {
        let batch: Map<String, Value> = (start..(start + 1000).min(n))
            .map(|i| (format!("k{i:07}"), make(i)))
            .collect();
        let req = request(client, base, user, reqwest::Method::PUT, "text")
            .body(Value::Object(batch).to_string());
        timed(req).await;
    }
}

/// The `p` quantile (0..=1) of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `BENCH_SCALE` (default 1).
pub fn scale() -> usize {
    std::env::var("BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// `CLOUDMINE_BENCH_REQUESTS`: requests each client sends a round
/// (`default` when unset), so a slow backend's run still ends.
pub fn requests_per_client(default: usize) -> usize {
    std::env::var("CLOUDMINE_BENCH_REQUESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// Starts a new peak for `VmHWM` (Linux: `5` to `/proc/self/clear_refs`);
/// elsewhere nothing.
pub fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// A `/proc/self/status` figure in MB (`VmRSS`, `VmHWM`); 0 elsewhere.
pub fn memory_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
