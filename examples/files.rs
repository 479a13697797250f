//! Files: upload a file with a progress bar, list and search file metadata,
//! download it back (to a path, and as a stream), compare checksums, delete.
//!
//! ```text
//! cargo run --example files                 # a generated 8 MiB file
//! cargo run --example files -- ./photo.jpg  # a file of yours
//! ```
//!
//! Runs against a `cloudmine-emulator` started in this process, unless
//! `CLOUDMINE_API_ROOT`, `CLOUDMINE_APP_ID` and `CLOUDMINE_API_KEY` name
//! another server.

use std::io::Write;
use std::path::PathBuf;

use cloudmine::{CallInfo, Event, EventEmitter, FileInfo, Progress, Source, WebService};
use cloudmine_emulator::Emulator;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A progress handler drawing `label [#####     ] 52%` on one line.
fn progress_bar(label: &'static str) -> impl FnMut(&Value, &CallInfo) + Send + 'static {
    move |data: &Value, _call: &CallInfo| {
        let Some(p) = Progress::from_data(data) else {
            return;
        };
        match p.total.filter(|t| *t > 0) {
            Some(total) => {
                let filled = (p.done * 30 / total) as usize;
                eprint!(
                    "\r{label} [{:<30}] {:>3}%",
                    "#".repeat(filled),
                    p.done * 100 / total
                );
            }
            None => eprint!("\r{label} {} bytes", p.done),
        }
        let _ = std::io::stderr().flush();
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (_emulator, ws) = match std::env::var("CLOUDMINE_API_ROOT") {
        Ok(root) => {
            let ws = WebService::builder()
                .app_id(std::env::var("CLOUDMINE_APP_ID")?)
                .api_key(std::env::var("CLOUDMINE_API_KEY")?)
                .api_root(root)
                .build()?;
            (None, ws)
        }
        Err(_) => {
            let emulator = Emulator::builder()
                .app("files-example", "files-example-key")
                .start()
                .await?;
            println!("emulator listening on {}", emulator.base_url());
            let ws = WebService::builder()
                .app_id("files-example")
                .api_key("files-example-key")
                .api_root(emulator.base_url())
                .build()?;
            (Some(emulator), ws)
        }
    };

    let work = tempfile::tempdir()?;
    let source: PathBuf = match std::env::args_os().nth(1) {
        Some(path) => path.into(),
        None => {
            let path = work.path().join("generated.bin");
            let data: Vec<u8> = (0..8 * 1024 * 1024u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
                .collect();
            std::fs::write(&path, data)?;
            path
        }
    };
    let original = sha256_hex(&std::fs::read(&source)?);

    // Upload, streamed from disk, with a progress bar.
    let uploaded = ws
        .files()
        .upload(Source::path(&source))
        .key("example-file")
        .on(Event::Progress, progress_bar("upload  "))
        .await?;
    eprintln!();
    println!(
        "uploaded {:?}: {:?} bytes, {:?}",
        uploaded.key, uploaded.size, uploaded.content_type
    );

    // Metadata: list, and a search on the metadata.
    let listed = ws.files().list().await?.into_map::<FileInfo>()?;
    for (key, info) in &listed {
        println!(
            "  {key}: {:?}, {:?} bytes",
            info.filename.as_deref().unwrap_or("?"),
            info.size
        );
    }
    let big = ws.files().search("size > 1000").await?;
    println!("files over 1000 bytes: {:?}", big.keys());

    // Download to a path: a temporary file renamed into place when complete.
    let target = work.path().join("downloaded.bin");
    let downloaded = ws
        .files()
        .download_to(&uploaded.key, &target)
        .on(Event::Progress, progress_bar("download"))
        .await?;
    eprintln!();
    let copy = sha256_hex(&std::fs::read(&downloaded.path)?);
    println!(
        "downloaded {} bytes; checksums {}",
        downloaded.size,
        if copy == original { "match" } else { "DIFFER" }
    );

    // Or as a stream of chunks.
    let mut stream = ws.files().download(&uploaded.key).await?;
    let mut hasher = Sha256::new();
    while let Some(chunk) = stream.chunk().await? {
        hasher.update(&chunk);
    }
    println!(
        "streamed {} bytes of {}",
        stream.received(),
        stream.content_type().unwrap_or("?")
    );
    assert_eq!(
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
        original
    );

    ws.files().delete([&uploaded.key]).await?;
    println!("deleted {}", uploaded.key);
    if copy != original {
        return Err("the downloaded file differs from the original".into());
    }
    Ok(())
}
