//! A command-line client built on the blocking API that stays logged in
//! between runs, the way `gh` does: the session goes to the OS keychain (or
//! to `--session-file`).
//!
//! ```text
//! export CLOUDMINE_API_ROOT=http://127.0.0.1:8080 CLOUDMINE_APP_ID=my-app CLOUDMINE_API_KEY=my-api-key
//! cargo run -p cloudmine-emulator -- --app my-app:my-api-key --identity "Ada:ada@example.com" &
//! cargo run --example cli -- login --network github      # browser login
//! cargo run --example cli -- login --no-browser           # print the URL and wait
//! CLOUDMINE_PASSWORD=… cargo run --example cli -- login --password --email ada@example.com
//! cargo run --example cli -- whoami
//! cargo run --example cli -- set greeting '{"hello": "world"}'
//! cargo run --example cli -- get greeting
//! cargo run --example cli -- search '[hello = "world"]'
//! cargo run --example cli -- logout
//! ```

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cloudmine::{
    CallInfo, Credentials, Error, Event, EventEmitter, FileStore, HttpOpener, ManualOpener,
    SocialNetwork, SystemBrowser, WebService, blocking,
};
use serde_json::Value;

/// A CloudMine command-line client that stays logged in between runs.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// The server's API root.
    #[arg(long, env = "CLOUDMINE_API_ROOT", default_value = cloudmine::DEFAULT_API_ROOT)]
    api_root: String,
    /// The application id.
    #[arg(long, env = "CLOUDMINE_APP_ID")]
    app_id: String,
    /// The API key.
    #[arg(long, env = "CLOUDMINE_API_KEY", hide_env_values = true)]
    api_key: String,
    /// Keep the session in this file (mode 0600) instead of the OS keychain.
    #[arg(long, env = "CLOUDMINE_SESSION_FILE")]
    session_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Log in through the browser with a social network, or with a password.
    Login {
        /// The social network to log in with.
        #[arg(long, default_value = "github", conflicts_with = "password")]
        network: SocialNetwork,
        /// Log in with a password instead (read from $CLOUDMINE_PASSWORD or
        /// the first line of standard input).
        #[arg(long)]
        password: bool,
        /// The account's email (with --password).
        #[arg(long, requires = "password")]
        email: Option<String>,
        /// The account's username (with --password).
        #[arg(long, requires = "password", conflicts_with = "email")]
        username: Option<String>,
        /// Open no browser: print the URL, to open on any browser that
        /// reaches this machine's loopback address, and wait for it.
        #[arg(long, conflicts_with = "http")]
        no_browser: bool,
        /// Follow the login over plain HTTP instead of a browser (for
        /// servers that approve by themselves, such as the emulator with
        /// --auto-consent).
        #[arg(long)]
        http: bool,
    },
    /// Show who is logged in.
    Whoami,
    /// Print the object stored under KEY.
    Get {
        /// The object's key.
        key: String,
    },
    /// Store JSON under KEY.
    Set {
        /// The object's key.
        key: String,
        /// The value, as JSON.
        json: String,
    },
    /// Print the objects matching a CloudMine query, e.g. '[make = "Fiat"]'.
    Search {
        /// The query.
        query: String,
    },
    /// Log out, here and on the server.
    Logout,
}

fn client(cli: &Cli) -> cloudmine::Result<blocking::WebService> {
    let mut builder = WebService::builder()
        .api_root(&cli.api_root)
        .app_id(&cli.app_id)
        .api_key(cli.api_key.as_str())
        .app_name("cloudmine-cli")
        .savelogin(true);
    if let Some(path) = &cli.session_file {
        builder = builder.session_store(FileStore::new(path));
    }
    blocking::WebService::new(builder)
}

/// Brings back the saved session, if any; `Ok(false)` when there is none.
fn restore(ws: &blocking::WebService) -> cloudmine::Result<bool> {
    match ws.restore().wait() {
        Ok(_) => Ok(true),
        Err(e) if e.is_no_session() || e.is_unauthorized() => Ok(false),
        Err(e) => Err(e),
    }
}

fn password() -> Result<String, String> {
    if let Ok(p) = std::env::var("CLOUDMINE_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let line = line.trim_end_matches(['\r', '\n']).to_owned();
    if line.is_empty() {
        return Err("no password: set CLOUDMINE_PASSWORD or pipe it on standard input".into());
    }
    Ok(line)
}

fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

fn run(cli: Cli) -> Result<(), String> {
    let ws = client(&cli).map_err(|e| e.to_string())?;
    let fail = |e: Error| e.to_string();
    match &cli.command {
        Command::Login {
            password: true,
            email,
            username,
            ..
        } => {
            let secret = password()?;
            let credentials = match (email, username) {
                (Some(e), _) => Credentials::email(e, secret),
                (None, Some(u)) => Credentials::username(u, secret),
                (None, None) => return Err("--password needs --email or --username".into()),
            };
            let answer = ws.users().login(credentials).wait().map_err(fail)?;
            println!("logged in as {}", answer.profile().id());
        }
        Command::Login {
            network,
            no_browser,
            http,
            ..
        } => {
            let login =
                ws.login_social(network.clone())
                    .on(Event::Open, |d: &Value, _: &CallInfo| {
                        if d["opened"] == false {
                            eprintln!(
                                "Open this URL to continue: {}",
                                d["url"].as_str().unwrap_or_default()
                            );
                        }
                    });
            let login = if *http {
                login.opener(HttpOpener::new())
            } else if *no_browser {
                login.opener(ManualOpener)
            } else {
                login.opener(SystemBrowser)
            };
            let login = login.wait().map_err(fail)?;
            println!("logged in as {} with {network}", login.profile().id());
        }
        Command::Whoami => {
            if !restore(&ws).map_err(fail)? {
                return Err("not logged in".into());
            }
            let me = ws.users().me().wait().map_err(fail)?;
            let who = me.success();
            let name = who["email"]
                .as_str()
                .or(who["username"].as_str())
                .or(who["name"].as_str())
                .unwrap_or("?");
            println!("{name} ({})", who["__id__"].as_str().unwrap_or("?"));
        }
        Command::Get { key } => {
            restore(&ws).map_err(fail)?;
            let answer = ws.objects().get([key]).wait().map_err(fail)?;
            print_json(answer.value(key).unwrap_or(&Value::Null));
        }
        Command::Set { key, json } => {
            let value: Value =
                serde_json::from_str(json).map_err(|e| format!("the value is not JSON: {e}"))?;
            restore(&ws).map_err(fail)?;
            ws.objects().set(key.as_str(), value).wait().map_err(fail)?;
            println!("stored {key}");
        }
        Command::Search { query } => {
            restore(&ws).map_err(fail)?;
            print_json(
                ws.objects()
                    .search(query.as_str())
                    .wait()
                    .map_err(fail)?
                    .success(),
            );
        }
        Command::Logout => {
            if !restore(&ws).map_err(fail)? {
                println!("not logged in");
                return Ok(());
            }
            ws.users().logout().wait().map_err(fail)?;
            println!("logged out");
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
