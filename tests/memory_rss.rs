//! README's memory claim, held by a test: files stream through the SDK in
//! constant memory. A 192 MiB upload (`Source::path`) and download
//! (`download_to`) run in a CHILD process (this test binary re-run with
//! `CLOUDMINE_RSS_CHILD` set and a filter on this test), which reads its own
//! peak RSS (`VmHWM` in `/proc/self/status`) at the end and prints it; the
//! emulator runs in this process, so its memory is not counted. Speed is
//! the benchmark's business (`benches/files_transfer.rs`), not a test's.

mod support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cloudmine::{Source, WebService};
use cloudmine_emulator::Emulator;
use sha2::{Digest, Sha256};
use support::{APP, KEY};

/// Set in the child: `ROOT\nSOURCE\nTARGET`.
const CHILD_ENV: &str = "CLOUDMINE_RSS_CHILD";
const TEST_NAME: &str = "a_192_mib_upload_and_download_stay_under_32_mib_of_peak_rss";
const FILE_MIB: usize = 192;
const LIMIT_KIB: u64 = 32 * 1024;
/// What the child prints before its peak RSS.
const MARK: &str = "CHILD_VMHWM_KIB=";

#[test]
fn a_192_mib_upload_and_download_stay_under_32_mib_of_peak_rss() {
    match std::env::var(CHILD_ENV) {
        Ok(spec) => child(&spec),
        Err(_) => parent(),
    }
}

/// Starts the emulator, writes the source, runs the child, checks its
/// answer: the peak RSS under the limit, the downloaded bytes equal.
fn parent() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = scratch_dir();
    let blobs = dir.path().join("blobs");
    let emu = rt.block_on(async {
        Emulator::builder()
            .app(APP, KEY)
            .files_dir(&blobs)
            .start()
            .await
            .expect("the emulator starts")
    });
    let source = dir.path().join("source.bin");
    let target = dir.path().join("target.bin");
    write_source(&source, FILE_MIB);
    let spec = format!(
        "{}\n{}\n{}",
        emu.base_url(),
        source.display(),
        target.display()
    );
    let out = run_child(&spec);
    let peak_kib = out
        .lines()
        .find_map(|l| l.split_once(MARK).map(|(_, n)| n))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .unwrap_or_else(|| panic!("the child printed no {MARK} line:\n{out}"));
    eprintln!("child peak RSS: {peak_kib} KiB for {FILE_MIB} MiB each way");
    assert!(
        peak_kib < LIMIT_KIB,
        "peak RSS {peak_kib} KiB is not under {LIMIT_KIB} KiB for {FILE_MIB} MiB up and down"
    );
    assert_eq!(
        digest(&target),
        digest(&source),
        "the downloaded file differs from the uploaded one"
    );
    rt.block_on(emu.shutdown()).expect("shutdown");
}

/// The files live in `/dev/shm` when it is there (no disk write-back to
/// wait for), else in `TMPDIR`.
fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().expect("a temporary directory")
}

/// Runs this test alone in a child process; its stdout, once it exited 0.
/// Waits at most 10 minutes (then kills it and fails).
fn run_child(spec: &str) -> String {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut child = Command::new(exe)
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the child starts");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        // At most 1 MiB of output is kept.
        let _ = (&mut stdout).take(1 << 20).read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the child") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child did not finish within 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = reader.join().expect("the reader thread");
    assert!(status.success(), "the child failed ({status}):\n{out}");
    out
}

/// The child: one upload from a path, one download to a path, then the
/// process's peak RSS on stdout.
fn child(spec: &str) {
    let mut parts = spec.lines();
    let (Some(root), Some(source), Some(target)) = (parts.next(), parts.next(), parts.next())
    else {
        panic!("{CHILD_ENV} must hold ROOT, SOURCE and TARGET lines");
    };
    let (source, target) = (PathBuf::from(source), PathBuf::from(target));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let ws = WebService::builder()
            .app_id(APP)
            .api_key(KEY)
            .api_root(root)
            .build()
            .expect("a client");
        let up = ws
            .files()
            .upload(Source::path(&source))
            .key("big")
            .await
            .expect("the upload");
        assert_eq!(up.key, "big");
        ws.files()
            .download_to("big", &target)
            .await
            .expect("the download");
    });
    drop(rt);
    println!("\n{MARK}{}", peak_rss_kib());
    std::io::stdout().flush().expect("stdout");
}

/// This process's peak resident set size in KiB (`VmHWM`).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("a VmHWM line in /proc/self/status")
}

/// Writes `mib` MiB of xorshift bytes, one 1 MiB block at a time.
fn write_source(path: &Path, mib: usize) {
    let file = std::fs::File::create(path).expect("the source file");
    let mut file = std::io::BufWriter::new(file);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for word in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        file.write_all(&block).expect("writing the source");
    }
    file.flush().expect("flushing the source");
}

/// SHA-256 of a file, read 1 MiB at a time.
fn digest(path: &Path) -> Vec<u8> {
    let mut file = std::fs::File::open(path).expect("a file to hash");
    let mut hash = Sha256::new();
    let mut block = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut block).expect("reading a file to hash");
        if n == 0 {
            return hash.finalize().to_vec();
        }
        hash.update(&block[..n]);
    }
}
