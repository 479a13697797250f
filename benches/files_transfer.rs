//! 1 GiB upload and download through the SDK against `curl` doing the same
//! transfers to the same emulator, in the same run.
//!
//! ```text
//! cargo bench --bench files_transfer
//! ```
//!
//! Three processes: the emulator (this binary with `FILES_BENCH_ROLE=server`),
//! the SDK client (`FILES_BENCH_ROLE=client`, a process of its own so that
//! its peak RSS is the client's alone) and `curl`. Rounds alternate
//! curl, SDK, SDK, curl, curl, SDK… so drifting machine state favours
//! neither; each side's best and median rounds are compared. Files live in `/dev/shm`
//! when it has room (so disk write-back, which is the same for both but
//! noisy, stays out of the figures), else in the temp directory.
//! Prints a Markdown table with MiB/s, the SDK/curl ratios and the SDK
//! process's peak RSS (`VmHWM`). `BENCH_FILE_MIB` (default 1024) sets the
//! file size, `BENCH_ROUNDS` (default 3) the rounds per side.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use cloudmine::{Source, WebService};
use cloudmine_emulator::Emulator;

const APP: &str = "bench";
const KEY: &str = "bench-key";
const ROLE: &str = "FILES_BENCH_ROLE";

fn main() {
    match std::env::var(ROLE).as_deref() {
        Ok("server") => server(),
        Ok("client") => client(),
        _ => driver(),
    }
}

/// The client's runtime: multi-threaded (2 workers), or with
/// `FILES_BENCH_FLAVOR=current` a current-thread runtime.
fn runtime(role: &str) -> tokio::runtime::Runtime {
    if role == "client" && std::env::var("FILES_BENCH_FLAVOR").as_deref() == Ok("current") {
        return tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Serves until stdin closes.
fn server() {
    let files = std::env::var("FILES_BENCH_DIR").expect("FILES_BENCH_DIR");
    let rt = runtime("server");
    let emu = rt.block_on(async {
        Emulator::builder()
            .app(APP, KEY)
            .files_dir(files)
            .start()
            .await
            .expect("the emulator starts")
    });
    println!("{}", emu.base_url());
    std::io::stdout().flush().ok();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    rt.block_on(emu.shutdown()).expect("shutdown");
}

/// Peak resident set size of this process, in KiB (Linux).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// One upload from a path and one download to a path; prints
/// `upload_seconds download_seconds peak_rss_kib`.
fn client() {
    let root = std::env::var("FILES_BENCH_ROOT").expect("FILES_BENCH_ROOT");
    let source = PathBuf::from(std::env::var("FILES_BENCH_SOURCE").expect("source"));
    let target = PathBuf::from(std::env::var("FILES_BENCH_TARGET").expect("target"));
    let rt = runtime("client");
    let (up, down) = rt.block_on(async {
        let ws = WebService::builder()
            .app_id(APP)
            .api_key(KEY)
            .api_root(root)
            .build()
            .expect("client");
        let started = Instant::now();
        ws.files()
            .upload(Source::path(&source))
            .key("sdk")
            .await
            .expect("upload");
        let up = started.elapsed().as_secs_f64();
        let started = Instant::now();
        ws.files()
            .download_to("sdk", &target)
            .await
            .expect("download");
        (up, started.elapsed().as_secs_f64())
    });
    println!("{up} {down} {}", peak_rss_kib());
}

fn write_source(path: &Path, mib: usize) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("source file"));
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut block = vec![0u8; 1024 * 1024];
    for _ in 0..mib {
        for word in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        file.write_all(&block).expect("write");
    }
    file.flush().expect("flush");
}

/// Free bytes on the file system holding `dir` (`df`), 0 when unknown.
fn free_bytes(dir: &Path) -> u64 {
    Command::new("df")
        .args(["-k", "--output=avail"])
        .arg(dir)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .nth(1)
                .and_then(|l| l.trim().parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

fn curl(args: &[&str]) -> f64 {
    let started = Instant::now();
    let status = Command::new("curl")
        .args(["-sS", "--fail", "-o", "/dev/null", "-H"])
        .arg(format!("X-CloudMine-ApiKey: {KEY}"))
        .args(args)
        .status()
        .expect("curl runs (install curl)");
    assert!(status.success(), "curl {args:?} failed");
    started.elapsed().as_secs_f64()
}

struct Round {
    up: f64,
    down: f64,
    rss_kib: Option<u64>,
}

fn driver() {
    let mib: usize = std::env::var("BENCH_FILE_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let shm = Path::new("/dev/shm");
    let work = if shm.is_dir() && free_bytes(shm) > (mib as u64 * 5) << 20 {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .expect("temp dir");
    println!("Files in {}", work.path().display());
    let source = work.path().join("source.bin");
    let target = work.path().join("downloaded.bin");
    let files = work.path().join("emulator-files");
    write_source(&source, mib);

    let exe = std::env::current_exe().expect("own path");
    let mut server = Command::new(&exe)
        .env(ROLE, "server")
        .env("FILES_BENCH_DIR", &files)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("emulator process");
    let mut root = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut root)
        .expect("the emulator's address");
    let root = root.trim().to_owned();
    let url = |key: &str| format!("{root}/v1/app/{APP}/binary/{key}");
    let source_arg = source.to_str().expect("utf-8 path");
    let target_arg = target.to_str().expect("utf-8 path");

    // Warm-up: the blob exists from here on, so every timed upload ends the
    // same way on the server, and the source is in the page cache.
    let curl_upload = |key: &str| {
        curl(&[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/octet-stream",
            "-T",
            source_arg,
            &url(key),
        ])
    };
    curl_upload("warmup");

    let curl_round = || {
        let up = curl_upload("curl");
        let down = {
            let started = Instant::now();
            let status = Command::new("curl")
                .args(["-sS", "--fail", "-o", target_arg, "-H"])
                .arg(format!("X-CloudMine-ApiKey: {KEY}"))
                .arg(url("curl"))
                .status()
                .expect("curl");
            assert!(status.success());
            started.elapsed().as_secs_f64()
        };
        let _ = std::fs::remove_file(&target);
        Round {
            up,
            down,
            rss_kib: None,
        }
    };
    let sdk_round = || {
        let out = Command::new(&exe)
            .env(ROLE, "client")
            .env("FILES_BENCH_ROOT", &root)
            .env("FILES_BENCH_SOURCE", &source)
            .env("FILES_BENCH_TARGET", &target)
            .output()
            .expect("client process");
        assert!(
            out.status.success(),
            "client failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let fields: Vec<f64> = text
            .split_whitespace()
            .map(|f| f.parse().expect("a number"))
            .collect();
        let _ = std::fs::remove_file(&target);
        Round {
            up: fields[0],
            down: fields[1],
            rss_kib: Some(fields[2] as u64),
        }
    };

    let mut curl_rounds = Vec::new();
    let mut sdk_rounds = Vec::new();
    let mut order = String::new();
    for i in 0..rounds {
        // ABBA: C S, S C, C S, …
        if i % 2 == 0 {
            curl_rounds.push(curl_round());
            sdk_rounds.push(sdk_round());
            order.push_str("curl, SDK, ");
        } else {
            sdk_rounds.push(sdk_round());
            curl_rounds.push(curl_round());
            order.push_str("SDK, curl, ");
        }
    }
    drop(server.stdin.take());
    let _ = server.wait();

    let times = |rs: &[Round], up: bool| {
        let mut t: Vec<f64> = rs.iter().map(|r| if up { r.up } else { r.down }).collect();
        t.sort_by(f64::total_cmp);
        t
    };
    let best = |t: &[f64]| t[0];
    let median = |t: &[f64]| t[t.len() / 2];
    let rate = |secs: f64| mib as f64 / secs;
    let peak = sdk_rounds
        .iter()
        .filter_map(|r| r.rss_kib)
        .max()
        .unwrap_or(0);
    println!(
        "File: {mib} MiB, emulator and client on loopback, {rounds} rounds each ({}).\n",
        order.trim_end_matches(", ")
    );
    println!(
        "| transfer | curl MiB/s (best / median) | SDK MiB/s (best / median) | SDK/curl (best / median) | SDK peak RSS |"
    );
    println!("|---|---|---|---|---|");
    for (name, up) in [("upload", true), ("download", false)] {
        let (c, s) = (times(&curl_rounds, up), times(&sdk_rounds, up));
        let (cb, cm, sb, sm) = (
            rate(best(&c)),
            rate(median(&c)),
            rate(best(&s)),
            rate(median(&s)),
        );
        println!(
            "| {name} | {cb:.0} / {cm:.0} | {sb:.0} / {sm:.0} | {:.2}x / {:.2}x | {:.1} MiB |",
            sb / cb,
            sm / cm,
            peak as f64 / 1024.0
        );
    }
    let show = |rs: &[Round]| {
        rs.iter()
            .map(|r| format!("{:.2}/{:.2}", r.up, r.down))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "\nSeconds per round (up/down): curl {}; SDK {}.",
        show(&curl_rounds),
        show(&sdk_rounds)
    );
}
