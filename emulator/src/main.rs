//! `cloudmine-emulator`: serve the CloudMine v1 API subset on SQLite.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use cloudmine_emulator::{DEFAULT_MAX_BODY_BYTES, Emulator};

/// A self-hostable CloudMine v1 API emulator (objects API, users' sessions,
/// snippets) backed by SQLite.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on. Port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// SQLite database file (created if missing; data survives restarts).
    /// `:memory:` keeps everything in memory.
    #[arg(long, default_value = "cloudmine-emulator.sqlite")]
    db: PathBuf,

    /// An application as APP_ID:API_KEY. Repeat for several apps.
    #[arg(long = "app", value_name = "APP_ID:API_KEY", value_parser = parse_app, required = true)]
    apps: Vec<(String, String)>,

    /// Largest request body accepted, in bytes; larger bodies get HTTP 413.
    #[arg(long, default_value_t = DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
}

fn parse_app(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        Some((id, key)) if !id.is_empty() && !key.is_empty() => Ok((id.to_owned(), key.to_owned())),
        _ => Err("expected APP_ID:API_KEY, both non-empty".to_owned()),
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let mut builder = Emulator::builder()
        .database(&args.db)
        .listen(args.listen)
        .max_body_bytes(args.max_body_bytes);
    for (id, key) in &args.apps {
        builder = builder.app(id, key);
    }
    let emulator = match builder.start().await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("cloudmine-emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("cloudmine-emulator listening on {}", emulator.base_url());
    wait_for_signal().await;
    tracing::info!("shutting down");
    match emulator.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cloudmine-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}
