//! docs/SECURITY.md's file claims, each held by a test: a download never
//! touches an existing destination unless every byte arrived (a refused
//! and a cut-short download leave it as it was, and no `.part` file
//! behind); a symlink at the destination is replaced, never followed; the
//! SDK saves only where it is told, whatever `Content-Disposition` says;
//! the emulator cleans a stored file name before it writes it into
//! `Content-Disposition`. (`create_new` for the `.part` file itself:
//! `files::download::tests` in `src/files/download.rs`.)

mod support;

use std::path::Path;

use cloudmine::{Source, WebService};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A loopback server giving every connection `reply` (after reading its
/// request head), then closing it.
async fn replying(reply: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    root
}

fn client_for(root: &str) -> WebService {
    WebService::builder()
        .app_id(APP)
        .api_key(KEY)
        .api_root(root)
        .build()
        .unwrap()
}

/// The names in a directory, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn an_existing_file_is_left_alone_when_a_download_is_refused_or_cut_short() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("report.pdf");
    std::fs::write(&target, b"the user's own report").unwrap();

    // Refused: the emulator has no such file (404).
    let emu = emulator().await;
    let e = client(&emu)
        .files()
        .download_to("missing", &target)
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert_eq!(std::fs::read(&target).unwrap(), b"the user's own report");
    assert_eq!(entries(dir.path()), ["report.pdf"], "a .part file was left");

    // Cut short: 100 bytes announced, 10 sent, then the connection closes.
    let root = replying(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: 100\r\nConnection: close\r\n\r\n0123456789",
    )
    .await;
    let e = client_for(&root)
        .files()
        .download_to("cut", &target)
        .await
        .unwrap_err();
    assert!(!e.is_not_found(), "{e}");
    assert_eq!(std::fs::read(&target).unwrap(), b"the user's own report");
    assert_eq!(entries(dir.path()), ["report.pdf"], "a .part file was left");
}

#[cfg(unix)]
#[tokio::test]
async fn a_symlink_at_the_destination_is_replaced_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, b"must not change").unwrap();
    let target = dir.path().join("download.bin");
    std::os::unix::fs::symlink(&victim, &target).unwrap();
    let emu = emulator().await;
    let ws = client(&emu);
    ws.files()
        .upload(Source::bytes(&b"the downloaded bytes"[..]))
        .key("k")
        .await
        .unwrap();
    ws.files().download_to("k", &target).await.unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"must not change");
    let meta = std::fs::symlink_metadata(&target).unwrap();
    assert!(meta.is_file(), "the destination is a plain file now");
    assert_eq!(std::fs::read(&target).unwrap(), b"the downloaded bytes");
}

#[tokio::test]
async fn the_sdk_saves_where_it_is_told_whatever_content_disposition_says() {
    let outer = tempfile::tempdir().unwrap();
    let dir = outer.path().join("downloads");
    std::fs::create_dir(&dir).unwrap();
    let root = replying(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
         Content-Disposition: attachment; filename=\"../evil.sh\"\r\n\
         Content-Length: 4\r\nConnection: close\r\n\r\ndata",
    )
    .await;
    let target = dir.join("chosen.bin");
    client_for(&root)
        .files()
        .download_to("k", &target)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"data");
    assert_eq!(entries(&dir), ["chosen.bin"]);
    assert_eq!(entries(outer.path()), ["downloads"], "saved outside");
}

#[tokio::test]
async fn hostile_stored_file_names_are_cleaned_in_content_disposition() {
    let emu = emulator().await;
    let ws = client(&emu);
    let names = [
        ("a\"b.txt", "a_b.txt"),
        ("x\r\nX-Evil: 1.txt", "x__X-Evil_ 1.txt"),
        ("../../etc/passwd", ".._.._etc_passwd"),
        ("..\\..\\win.ini", ".._.._win.ini"),
        ("é-ünï.txt", "_-_n_.txt"),
        ("日本.txt", "__.txt"),
    ];
    let http = reqwest::Client::new();
    for (i, (name, cleaned)) in names.iter().enumerate() {
        let key = format!("f{i}");
        ws.files()
            .upload(Source::bytes(&b"data"[..]))
            .key(&key)
            .filename(*name)
            .await
            .unwrap();
        let url = format!(
            "{}/v1/app/{APP}/binary/{key}?force_download=true",
            emu.base_url()
        );
        let r = http
            .get(&url)
            .header("x-cloudmine-apikey", KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{name:?}");
        assert!(r.headers().get("x-evil").is_none(), "{name:?}");
        let disposition = r.headers()["content-disposition"].to_str().unwrap();
        assert_eq!(
            disposition,
            format!("attachment; filename=\"{cleaned}\""),
            "{name:?}"
        );
    }
}
