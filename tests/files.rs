//! The files API against the emulator: round trips with checksums, content
//! types, user isolation, progress, cancellation, interrupted downloads and
//! the typed errors of each failure.

mod support;

use std::future::IntoFuture;
use std::path::Path;
use std::time::Duration;

use cloudmine::{
    CallOptions, Event, EventEmitter, EventMessage, FileInfo, Progress, Source, WebService,
};
use cloudmine_emulator::Emulator;
use sha2::{Digest, Sha256};
use support::*;
use tokio::io::AsyncWriteExt;

/// Deterministic pseudo-random bytes (xorshift), so a failure can be replayed.
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn seed() -> u64 {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("random seed: {seed}");
    seed
}

/// Entries of a directory (names), for "nothing left behind" checks.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Uploads `data` three ways (path, bytes, reader) and downloads it two ways
/// (to a path, as a stream), comparing SHA-256 each time.
async fn round_trip(ws: &WebService, data: &[u8], label: &str) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join(format!("{label}.bin"));
    std::fs::write(&src, data).unwrap();
    let expected = sha256(data);

    let uploads = [
        ws.files()
            .upload(Source::path(&src))
            .key(format!("{label}-path")),
        ws.files()
            .upload(Source::bytes(data.to_vec()))
            .key(format!("{label}-bytes")),
        ws.files()
            .upload(Source::reader(
                tokio::fs::File::open(&src).await.unwrap(),
                Some(data.len() as u64),
            ))
            .key(format!("{label}-reader")),
    ];
    for upload in uploads {
        let uploaded = upload.await.unwrap();
        assert_eq!(uploaded.size, Some(data.len() as u64), "{label}");
        assert_eq!(uploaded.sha256.as_deref(), Some(expected.as_str()));

        let out = dir.path().join(format!("{}.out", uploaded.key));
        let downloaded = ws.files().download_to(&uploaded.key, &out).await.unwrap();
        assert_eq!(downloaded.size, data.len() as u64);
        assert_eq!(downloaded.path, out);
        assert_eq!(sha256(&std::fs::read(&out).unwrap()), expected, "{label}");
        assert_eq!(downloaded.sha256.as_deref(), Some(expected.as_str()));

        let mut stream = ws.files().download(&uploaded.key).await.unwrap();
        assert_eq!(stream.size(), Some(data.len() as u64));
        let mut hasher = Sha256::new();
        while let Some(chunk) = stream.chunk().await.unwrap() {
            hasher.update(&chunk);
        }
        assert_eq!(hex(&hasher.finalize()), expected);
        assert_eq!(stream.received(), data.len() as u64);
        assert!(stream.chunk().await.unwrap().is_none(), "stays at the end");
    }
    // Only the downloaded files are left: no temporary files.
    assert!(
        entries(dir.path()).iter().all(|n| !n.ends_with(".part")),
        "{:?}",
        entries(dir.path())
    );
}

#[tokio::test]
async fn round_trips_keep_every_byte() {
    let emu = emulator().await;
    let ws = client(&emu);
    let seed = seed();
    round_trip(&ws, b"", "empty").await;
    round_trip(&ws, b"\x00", "one").await;
    round_trip(&ws, &random_bytes(10 * 1024 * 1024, seed), "ten-mib").await;
    let size = (seed % (3 * 1024 * 1024)) as usize + 1;
    eprintln!("random size: {size}");
    round_trip(&ws, &random_bytes(size, seed.rotate_left(7)), "random").await;
    // A file whose bytes are JSON comes back as bytes, never parsed.
    round_trip(&ws, br#"{"looks": "like json"}"#, "json").await;
}

#[tokio::test]
async fn user_level_round_trip() {
    let emu = emulator().await;
    let (ws, _) = user_client(&emu, "files@example.com").await;
    round_trip(&ws, &random_bytes(300_000, seed()), "user").await;
    let paths: Vec<String> = emu.requests().into_iter().map(|r| r.path).collect();
    assert!(
        paths
            .iter()
            .any(|p| p == "/v1/app/test-app/user/binary/user-path"),
        "{paths:?}"
    );
}

#[tokio::test]
async fn content_types_are_guessed_given_or_default() {
    let emu = emulator().await;
    let ws = client(&emu);
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("pixel.png");
    std::fs::write(&png, b"\x89PNG....").unwrap();
    let odd = dir.path().join("data.unknown-ext");
    std::fs::write(&odd, b"?").unwrap();

    let guessed = ws
        .files()
        .upload(Source::path(&png))
        .key("png")
        .await
        .unwrap();
    assert_eq!(guessed.content_type.as_deref(), Some("image/png"));
    assert_eq!(guessed.filename.as_deref(), Some("pixel.png"));

    let given = ws
        .files()
        .upload(Source::path(&png))
        .key("given")
        .content_type("application/x-custom")
        .filename("renamed.bin")
        .await
        .unwrap();
    assert_eq!(given.content_type.as_deref(), Some("application/x-custom"));
    assert_eq!(given.filename.as_deref(), Some("renamed.bin"));

    let default = ws
        .files()
        .upload(Source::path(&odd))
        .key("odd")
        .await
        .unwrap();
    assert_eq!(
        default.content_type.as_deref(),
        Some("application/octet-stream")
    );
    let from_name = ws
        .files()
        .upload(Source::bytes(&b"a,b\n"[..]))
        .filename("table.csv")
        .await
        .unwrap();
    assert_eq!(from_name.content_type.as_deref(), Some("text/csv"));
    assert_eq!(from_name.key.len(), 32, "a server-assigned key");

    // The download carries the stored type.
    let stream = ws.files().download("given").await.unwrap();
    assert_eq!(stream.content_type(), Some("application/x-custom"));
    drop(stream);

    // Metadata through info / list / search.
    let info = ws
        .files()
        .info(["png", "given"])
        .await
        .unwrap()
        .into_map::<FileInfo>()
        .unwrap();
    assert_eq!(info["png"].content_type.as_deref(), Some("image/png"));
    assert_eq!(info["png"].size, Some(8));
    assert_eq!(info["png"].kind, "file");
    ws.objects()
        .set("not-a-file", serde_json::json!({"x": 1}))
        .await
        .unwrap();
    let all = ws.files().list().await.unwrap();
    let mut keys = all.keys();
    keys.sort();
    let mut expected = vec!["given", "odd", "png", from_name.key.as_str()];
    expected.sort();
    assert_eq!(keys, expected);
    let images = ws
        .files()
        .search(r#"content_type = "image/png""#)
        .await
        .unwrap();
    assert_eq!(images.keys(), ["png"]);

    // The SDK sent raw bytes with the content type, not multipart.
    let upload = emu
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/binary/given"))
        .unwrap();
    assert_eq!(upload.method, "POST");
    assert_eq!(upload.header("content-type"), Some("application/x-custom"));
    assert_eq!(upload.header("content-length"), Some("8"));
    assert_eq!(upload.query_value("filename"), Some("renamed.bin"));

    // Delete: gone from metadata and downloads.
    let deleted = ws.files().delete(["png"]).await.unwrap();
    assert_eq!(deleted.success(), &serde_json::json!({"png": "deleted"}));
    let err = ws.files().download("png").await.unwrap_err();
    assert_eq!(err.status(), Some(404));
}

#[tokio::test]
async fn users_cannot_read_each_others_files() {
    let emu = emulator().await;
    let (alice, _) = user_client(&emu, "alice@example.com").await;
    let (bob, _) = user_client(&emu, "bob@example.com").await;
    alice
        .files()
        .upload(Source::bytes("alice's secret"))
        .key("diary")
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("stolen.txt");
    let err = bob.files().download_to("diary", &target).await.unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    assert!(!target.exists());
    assert!(entries(dir.path()).is_empty(), "no temporary file is left");

    let app = client(&emu);
    let err = app.files().download("diary").await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert!(bob.files().list().await.unwrap().keys().is_empty());

    // Without a session, the user level is refused.
    let anonymous = builder(&emu)
        .applevel(cloudmine::AppLevel::User)
        .build()
        .unwrap();
    let err = anonymous.files().download("diary").await.unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
}

#[tokio::test]
async fn progress_is_monotonic_bounded_and_ends_at_the_total() {
    let emu = emulator().await;
    let ws = client(&emu);
    let data = random_bytes(8 * 1024 * 1024, seed());
    let log = EventLog::default();
    let call = ws
        .files()
        .upload(Source::bytes(data.clone()))
        .key("big")
        .progress_interval(Duration::from_millis(1));
    log.attach(call).await.unwrap();
    check_progress(&log, data.len() as u64);

    let dir = tempfile::tempdir().unwrap();
    let log = EventLog::default();
    let call = ws
        .files()
        .download_to("big", dir.path().join("big"))
        .progress_interval(Duration::from_millis(1));
    log.attach(call).await.unwrap();
    check_progress(&log, data.len() as u64);

    // The stream fires the same events as it is read.
    let log = EventLog::default();
    let call = ws
        .files()
        .download("big")
        .progress_interval(Duration::from_millis(1));
    let mut stream = log.attach(call).await.unwrap();
    assert!(!log.names().contains(&"complete".to_string()));
    while stream.chunk().await.unwrap().is_some() {}
    check_progress(&log, data.len() as u64);

    // A zero interval is allowed (report as often as possible).
    ws.files()
        .upload(Source::bytes(vec![1u8; 1000]))
        .key("zero")
        .progress_interval(Duration::ZERO)
        .await
        .unwrap();

    // As a `futures` stream: the same bytes, then the same events.
    let log = EventLog::default();
    let stream = log.attach(ws.files().download("big")).await.unwrap();
    let chunks: Vec<_> = futures_util::StreamExt::collect(stream.into_stream()).await;
    let bytes: Vec<u8> = chunks
        .into_iter()
        .flat_map(|c| c.unwrap().to_vec())
        .collect();
    assert_eq!(sha256(&bytes), sha256(&data));
    assert_eq!(log.names().last().map(String::as_str), Some("complete"));
    assert_eq!(log.count("success"), 1);

    // A long interval allows only the final report for a fast transfer.
    let log = EventLog::default();
    let call = ws
        .files()
        .upload(Source::bytes(vec![7u8; 1000]))
        .key("small")
        .progress_interval(Duration::from_secs(3600));
    log.attach(call).await.unwrap();
    assert!(log.count("progress") <= 2, "{:?}", log.names());
    assert_eq!(
        Progress::from_data(log.all("progress").last().unwrap()),
        Some(Progress {
            done: 1000,
            total: Some(1000)
        })
    );
}

fn check_progress(log: &EventLog, total: u64) {
    let progress: Vec<Progress> = log
        .all("progress")
        .iter()
        .map(|d| Progress::from_data(d).unwrap())
        .collect();
    assert!(!progress.is_empty());
    assert!(
        progress.windows(2).all(|w| w[0].done < w[1].done),
        "strictly increasing: {progress:?}"
    );
    assert!(progress.iter().all(|p| p.total == Some(total)));
    assert_eq!(progress.last().unwrap().done, total);
    let names = log.names();
    let last_progress = names.iter().rposition(|n| n == "progress").unwrap();
    let success = names.iter().position(|n| n == "success").unwrap();
    assert!(last_progress < success, "{names:?}");
    assert_eq!(names.last().map(String::as_str), Some("complete"));
    assert_eq!(log.count("complete"), 1);
}

/// A server that promises `promised` bytes and sends `sent`; then hangs
/// up, or with `stall`, keeps the connection open and sends nothing more.
async fn short_body_server(promised: usize, sent: usize, stall: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    use tokio::io::AsyncReadExt;
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {promised}\r\n\r\n"
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&vec![b'x'; sent]).await;
                if stall {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

fn client_for(root: &str) -> WebService {
    WebService::builder()
        .app_id(APP)
        .api_key(KEY)
        .api_root(root)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_download_cut_mid_body_is_a_typed_error_and_leaves_no_file() {
    let ws = client_for(&short_body_server(1_000_000, 70_000, false).await);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("report.pdf");
    std::fs::create_dir_all(dir.path()).unwrap();
    let log = EventLog::default();
    let err = log
        .attach(ws.files().download_to("report", &target))
        .await
        .unwrap_err();
    assert!(err.is_transport(), "{err:?}");
    assert!(!target.exists());
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
    assert_eq!(log.names().last().map(String::as_str), Some("complete"));
    assert_eq!(log.count("error"), 1);

    // The stream reports the same failure from chunk().
    let mut stream = ws.files().download("report").await.unwrap();
    let err = loop {
        match stream.chunk().await {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("a cut body must not end cleanly"),
            Err(e) => break e,
        }
    };
    assert!(err.is_transport(), "{err:?}");
    assert!(stream.received() < 1_000_000);
    // It stays failed: never a clean end.
    assert!(stream.chunk().await.unwrap_err().is_transport());
}

#[tokio::test]
async fn dropping_a_download_removes_the_partial_file() {
    let ws = client_for(&short_body_server(4_000_000, 100_000, true).await);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("movie.mp4");
    let call = ws
        .files()
        .download_to("movie", &target)
        .progress_interval(Duration::from_millis(1));
    let (task, mut rx) = start_and_wait_for_progress(call).await;
    // Mid-transfer: the bytes so far are in a temporary file only.
    let names = entries(dir.path());
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(
        names[0].starts_with(".movie.mp4.") && names[0].ends_with(".part"),
        "{names:?}"
    );
    assert!(!target.exists());

    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    let mut events = Vec::new();
    while let Ok(m) = rx.try_recv() {
        events.push(m.event);
    }
    events.retain(|e| *e != Event::Progress);
    assert_eq!(events, [Event::Abort, Event::Error, Event::Complete]);
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

/// Spawns a transfer that reports progress, abort, error and complete to a
/// channel, and waits for its first progress event.
async fn start_and_wait_for_progress<C>(
    call: C,
) -> (
    tokio::task::JoinHandle<C::Output>,
    tokio::sync::mpsc::UnboundedReceiver<EventMessage>,
)
where
    C: EventEmitter + IntoFuture,
    C::IntoFuture: Send + 'static,
    C::Output: Send + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<EventMessage>();
    let call = call
        .on(Event::Progress, tx.clone())
        .on(Event::Abort, tx.clone())
        .on(Event::Error, tx.clone())
        .on(Event::Complete, tx);
    let task = tokio::spawn(call.into_future());
    let first = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("progress within 10 s")
        .unwrap();
    assert_eq!(first.event, Event::Progress);
    assert!(Progress::from_data(&first.data).unwrap().done > 0);
    (task, rx)
}

/// An emulator keeping files in a directory the test can look into.
async fn emulator_with_files(dir: &Path) -> Emulator {
    Emulator::builder()
        .app(APP, KEY)
        .files_dir(dir)
        .file_limit(APP, 1024 * 1024)
        .start()
        .await
        .unwrap()
}

async fn wait_until_empty(dir: &Path) -> Vec<String> {
    for _ in 0..100 {
        if entries(dir).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    entries(dir)
}

#[tokio::test]
async fn cancelling_an_upload_stops_it_and_the_server_keeps_nothing() {
    let files = tempfile::tempdir().unwrap();
    let emu = emulator_with_files(files.path()).await;
    let ws = client(&emu);
    let (mut writer, reader) = tokio::io::duplex(64 * 1024);
    // 200 KiB arrive, then the source stalls (never ends).
    tokio::spawn(async move {
        writer.write_all(&vec![1u8; 200 * 1024]).await.unwrap();
        std::future::pending::<()>().await;
        drop(writer);
    });
    let call = ws
        .files()
        .upload(Source::reader(reader, Some(900 * 1024)))
        .key("partial")
        .progress_interval(Duration::from_millis(10));
    let (task, mut rx) = start_and_wait_for_progress(call).await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    let mut events = Vec::new();
    while let Ok(m) = rx.try_recv() {
        events.push(m.event);
    }
    let tail: Vec<Event> = events
        .into_iter()
        .filter(|e| *e != Event::Progress)
        .collect();
    assert_eq!(tail, [Event::Abort, Event::Error, Event::Complete]);

    // The server noticed, kept no file, and removed its temporary copy.
    assert!(wait_until_empty(&files.path().join("tmp")).await.is_empty());
    let err = ws.files().info(["partial"]).await.unwrap_err();
    assert!(matches!(err, cloudmine::Error::Keys { .. }), "{err:?}");
}

#[tokio::test]
async fn a_stalled_upload_times_out() {
    let emu = emulator().await;
    let ws = client(&emu);
    let (mut writer, reader) = tokio::io::duplex(1024);
    tokio::spawn(async move {
        writer.write_all(b"a few bytes").await.unwrap();
        std::future::pending::<()>().await;
        drop(writer);
    });
    let err = ws
        .files()
        .upload(Source::reader(reader, None))
        .key("stalled")
        .options(CallOptions::new().timeout(Duration::from_millis(400)))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn a_slow_download_times_out() {
    let emu = emulator().await;
    let ws = client(&emu);
    ws.files()
        .upload(Source::bytes("x"))
        .key("slow")
        .await
        .unwrap();
    emu.set_response_delay(Duration::from_secs(3));
    let dir = tempfile::tempdir().unwrap();
    let err = ws
        .files()
        .download_to("slow", dir.path().join("slow"))
        .options(CallOptions::new().timeout(Duration::from_millis(300)))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(entries(dir.path()).is_empty());
}

#[tokio::test]
async fn the_apps_size_limit_is_a_413() {
    let files = tempfile::tempdir().unwrap();
    let emu = emulator_with_files(files.path()).await;
    let ws = client(&emu);
    // Known length: refused before the body is read.
    let err = ws
        .files()
        .upload(Source::bytes(vec![0u8; 1024 * 1024 + 1]))
        .key("too-big")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(413), "{err:?}");
    // Exactly the limit is fine.
    ws.files()
        .upload(Source::bytes(vec![0u8; 1024 * 1024]))
        .key("just-fits")
        .await
        .unwrap();
    assert!(wait_until_empty(&files.path().join("tmp")).await.is_empty());
}

#[tokio::test]
async fn local_file_problems_are_typed_errors() {
    let emu = emulator().await;
    let ws = client(&emu);
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("does-not-exist.txt");
    let log = EventLog::default();
    let err = log
        .attach(ws.files().upload(Source::path(&missing)).key("k"))
        .await
        .unwrap_err();
    assert!(err.is_file(), "{err:?}");
    assert!(err.to_string().contains("does-not-exist.txt"), "{err}");
    assert_eq!(log.names(), ["error", "complete"]);

    ws.files()
        .upload(Source::bytes("x"))
        .key("k")
        .await
        .unwrap();
    let err = ws
        .files()
        .download_to("k", dir.path().join("no-such-dir").join("k"))
        .await
        .unwrap_err();
    assert!(err.is_file(), "{err:?}");

    let err = ws
        .files()
        .upload(Source::bytes("x"))
        .key("")
        .await
        .unwrap_err();
    assert!(err.is_invalid(), "{err:?}");
    let err = ws
        .files()
        .upload(Source::bytes("x"))
        .content_type("bad\nvalue")
        .await
        .unwrap_err();
    assert!(err.is_invalid(), "{err:?}");
    let err = ws.files().download("").await.unwrap_err();
    assert!(err.is_invalid(), "{err:?}");
}

#[tokio::test]
async fn replacing_a_file_keeps_its_key_and_the_newest_bytes() {
    let emu = emulator().await;
    let ws = client(&emu);
    let first = ws
        .files()
        .upload(Source::bytes("one"))
        .key("doc")
        .await
        .unwrap();
    let second = ws
        .files()
        .upload(Source::bytes("two!"))
        .key("doc")
        .await
        .unwrap();
    assert_ne!(first.sha256, second.sha256);
    let mut stream = ws.files().download("doc").await.unwrap();
    let mut body = Vec::new();
    while let Some(c) = stream.chunk().await.unwrap() {
        body.extend_from_slice(&c);
    }
    assert_eq!(body, b"two!");
}

#[tokio::test]
async fn dropping_a_stream_mid_way_fires_abort_then_complete() {
    let ws = client_for(&short_body_server(4_000_000, 100_000, true).await);
    let log = EventLog::default();
    let mut stream = log.attach(ws.files().download("movie")).await.unwrap();
    assert!(stream.chunk().await.unwrap().is_some());
    assert!(!log.names().contains(&"complete".to_string()));
    drop(stream);
    let names = log.names();
    let tail: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| *n != "progress")
        .collect();
    assert_eq!(tail, ["abort", "error", "complete"]);
}

/// How many pieces the slowed transfers send, of `PIECE` bytes each, with
/// `PAUSE` between them: at least 100 × 5 ms, so several 50 ms intervals.
const PIECES: usize = 100;
const PIECE: usize = 1024;
const PAUSE: Duration = Duration::from_millis(5);
const INTERVAL: Duration = Duration::from_millis(50);

/// Checks the progress events of a slowed transfer that took `elapsed`: at
/// most one per interval (plus the first and the final one), more than the
/// first and final ones alone, increasing, and ending at the full size.
fn check_bounded_progress(log: &EventLog, elapsed: Duration) {
    let total = (PIECES * PIECE) as u64;
    let progress: Vec<Progress> = log
        .all("progress")
        .iter()
        .map(|d| Progress::from_data(d).unwrap())
        .collect();
    let bound = (elapsed.as_millis() / INTERVAL.as_millis()) as usize + 2;
    assert!(
        progress.len() <= bound,
        "{} progress events in {elapsed:?} at one per {INTERVAL:?}: {progress:?}",
        progress.len()
    );
    assert!(progress.len() >= 3, "several intervals: {progress:?}");
    assert!(
        progress.windows(2).all(|w| w[0].done < w[1].done),
        "{progress:?}"
    );
    assert_eq!(
        progress.last(),
        Some(&Progress {
            done: total,
            total: Some(total)
        })
    );
}

/// A server that answers every request with `PIECES × PIECE` bytes, one
/// piece per `PAUSE`.
async fn slow_body_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    use tokio::io::AsyncReadExt;
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
                    PIECES * PIECE
                );
                let _ = socket.write_all(head.as_bytes()).await;
                for _ in 0..PIECES {
                    let _ = socket.write_all(&[b'p'; PIECE]).await;
                    tokio::time::sleep(PAUSE).await;
                }
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

/// The progress rate with a realistic interval (50 ms) over transfers slowed
/// to span several intervals: counts, not timings.
#[tokio::test]
async fn progress_at_a_realistic_interval_is_bounded_by_the_elapsed_time() {
    let emu = emulator().await;
    let ws = client(&emu);
    // An upload whose source yields one piece per pause.
    let (mut writer, reader) = tokio::io::duplex(PIECE);
    tokio::spawn(async move {
        for _ in 0..PIECES {
            writer.write_all(&[b'u'; PIECE]).await.unwrap();
            tokio::time::sleep(PAUSE).await;
        }
    });
    let log = EventLog::default();
    let call = ws
        .files()
        .upload(Source::reader(reader, Some((PIECES * PIECE) as u64)))
        .key("slow")
        .progress_interval(INTERVAL);
    let started = std::time::Instant::now();
    let info = log.attach(call).await.unwrap();
    check_bounded_progress(&log, started.elapsed());
    assert_eq!(info.size, Some((PIECES * PIECE) as u64));

    // A download from a server that sends one piece per pause.
    let dir = tempfile::tempdir().unwrap();
    let slow = client_for(&slow_body_server().await);
    let log = EventLog::default();
    let call = slow
        .files()
        .download_to("slow", dir.path().join("slow"))
        .progress_interval(INTERVAL);
    let started = std::time::Instant::now();
    log.attach(call).await.unwrap();
    check_bounded_progress(&log, started.elapsed());
    assert_eq!(
        std::fs::read(dir.path().join("slow")).unwrap(),
        vec![b'p'; PIECES * PIECE]
    );
}
