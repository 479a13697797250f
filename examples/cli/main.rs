//! A command-line client built on the blocking API that stays logged in
//! between runs, the way `gh` does: the session goes to the OS keychain (or
//! to `--session-file`).
//!
//! ```text
//! export CLOUDMINE_API_ROOT=http://127.0.0.1:8080 CLOUDMINE_APP_ID=my-app CLOUDMINE_API_KEY=my-api-key
//! cargo run -p cloudmine-emulator -- --app my-app:my-api-key --identity "Ada:ada@example.com" &
//! cargo run --example cli -- login --network github      # browser login
//! cargo run --example cli -- login --no-browser           # print the URL and wait
//! cargo run --example cli -- login --device               # sign in on another device (URL + code)
//! CLOUDMINE_PASSWORD=… cargo run --example cli -- login --password --email ada@example.com
//! cargo run --example cli -- whoami
//! cargo run --example cli -- set greeting '{"hello": "world"}'
//! cargo run --example cli -- get greeting
//! cargo run --example cli -- search '[hello = "world"]'
//! cargo run --example cli -- logout
//! ```
//!
//! # Profiles
//!
//! Several accounts can be logged in side by side, one per profile:
//!
//! ```text
//! cargo run --example cli -- --profile work login --password --email ada@work.example
//! cargo run --example cli -- --profile home login --network google
//! cargo run --example cli -- whoami                 # lists every profile, `*` marks the default
//! cargo run --example cli -- --profile home get greeting
//! cargo run --example cli -- switch home            # commands without --profile now use home
//! cargo run --example cli -- --profile work logout  # home stays logged in
//! ```
//!
//! - A profile name is 1 to 32 ASCII letters, digits, `-` or `_`, starting
//!   with a letter or digit (`$CLOUDMINE_PROFILE` works too).
//! - Each profile is its own entry in the session store (the OS keychain or
//!   `--session-file`): the name is folded into the entry's key. The profile
//!   `default` is the entry used before profiles existed.
//! - Which profiles exist and which one is the default is kept in a small
//!   config file, never with a token: `--config FILE` (or
//!   `$CLOUDMINE_CLI_CONFIG`), else next to the session file
//!   (`session.json` → `session.profiles.json`), else
//!   `$XDG_CONFIG_HOME/cloudmine-cli/profiles.json` (`~/.config/…`).
//! - Without `--profile`, commands use the default: the first profile that
//!   logged in, or the one chosen with `switch NAME`, else `default`.
//!   `switch` only accepts a profile that is logged in; logging the default
//!   profile out leaves no default until the next login or `switch`.
//! - Every command but `login` refuses a profile it does not know, and
//!   lists the known ones.

mod profiles;

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use cloudmine::{
    BrowserOpener, CallInfo, Credentials, Error, Event, EventEmitter, FileStore, HttpOpener,
    KeyringStore, LoginMode, ManualOpener, SessionStore, SocialNetwork, SystemBrowser, WebService,
    blocking,
};
use profiles::{Config, ProfileStore};
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
    /// The account to act as (default: the one chosen with `switch`).
    #[arg(long, env = "CLOUDMINE_PROFILE", global = true)]
    profile: Option<String>,
    /// The profiles file (default: next to --session-file, or in the
    /// user's config directory).
    #[arg(long, env = "CLOUDMINE_CLI_CONFIG")]
    config: Option<PathBuf>,
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
        /// Log in on another device: print a URL and a short code, open the
        /// URL on any device (phone, another computer), check the page shows
        /// the same code, sign in; this command waits (PKCE still binds the
        /// session to it).
        #[arg(long, conflicts_with_all = ["http", "no_browser"])]
        device: bool,
        /// Follow the login over plain HTTP instead of a browser (for
        /// servers that approve by themselves, such as the emulator with
        /// --auto-consent).
        #[arg(long)]
        http: bool,
    },
    /// Show who is logged in, and every saved profile.
    Whoami,
    /// Make a logged-in profile the default.
    Switch {
        /// The profile's name.
        name: String,
    },
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

/// What every command works with: the client (acting as `profile`), the
/// store under all profiles and the profiles file.
struct Ctx {
    ws: blocking::WebService,
    store: Arc<dyn SessionStore>,
    config: Config,
    profile: String,
}

impl Ctx {
    fn new(cli: &Cli) -> Result<Ctx, String> {
        let path = profiles::config_path(cli.config.as_deref(), cli.session_file.as_deref())?;
        let config = Config::load(path)?;
        let profile = match &cli.profile {
            Some(name) => profiles::check_name(name)?.to_owned(),
            None => config.default_profile().to_owned(),
        };
        let is_login = matches!(cli.command, Command::Login { .. });
        if !is_login && !config.knows(&profile) {
            return Err(config.unknown(&profile));
        }
        let store: Arc<dyn SessionStore> = match &cli.session_file {
            Some(path) => Arc::new(FileStore::new(path)),
            None => Arc::new(KeyringStore::new()),
        };
        let builder = WebService::builder()
            .api_root(&cli.api_root)
            .app_id(&cli.app_id)
            .api_key(cli.api_key.as_str())
            .app_name("cloudmine-cli")
            .savelogin(true)
            .session_store(ProfileStore::new(store.clone(), &profile));
        let ws = blocking::WebService::new(builder).map_err(|e| e.to_string())?;
        Ok(Ctx {
            ws,
            store,
            config,
            profile,
        })
    }

    /// Brings back the saved session, if any; `Ok(false)` when there is none.
    fn restore(&self) -> Result<bool, String> {
        match self.ws.restore().wait() {
            Ok(_) => Ok(true),
            Err(e) if e.is_no_session() || e.is_unauthorized() => Ok(false),
            Err(e) => Err(e.to_string()),
        }
    }

    /// What is saved for `profile`, if anything.
    fn saved(&self, profile: &str) -> Result<Option<cloudmine::StoredSession>, String> {
        let key = profiles::profile_key(&self.ws.as_async().store_key(), profile);
        self.store.load(&key).map_err(|e| e.to_string())
    }

    /// Records a login: the profile exists, and is the default if there
    /// was none.
    fn logged_in(&mut self) -> Result<(), String> {
        self.config.profiles.insert(self.profile.clone());
        if self.config.default.is_none() {
            self.config.default = Some(self.profile.clone());
        }
        self.config.save()
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

fn fail(e: Error) -> String {
    e.to_string()
}

fn login_password(
    ctx: &mut Ctx,
    email: Option<&String>,
    username: Option<&String>,
) -> Result<(), String> {
    let secret = password()?;
    let credentials = match (email, username) {
        (Some(e), _) => Credentials::email(e, secret),
        (None, Some(u)) => Credentials::username(u, secret),
        (None, None) => return Err("--password needs --email or --username".into()),
    };
    let answer = ctx.ws.users().login(credentials).wait().map_err(fail)?;
    ctx.logged_in()?;
    println!("logged in as {}", answer.profile().id());
    Ok(())
}

/// How the social login reaches a browser, and how it waits for it.
fn opener(no_browser: bool, http: bool, device: bool) -> (Box<dyn BrowserOpener>, LoginMode) {
    let mode = if device {
        LoginMode::Device {
            interval: std::time::Duration::from_secs(1),
        }
    } else {
        LoginMode::Loopback
    };
    (browser(no_browser || device, http), mode)
}

fn browser(no_browser: bool, http: bool) -> Box<dyn BrowserOpener> {
    if http {
        Box::new(HttpOpener::new())
    } else if no_browser {
        Box::new(ManualOpener)
    } else {
        Box::new(SystemBrowser)
    }
}

fn login_social(
    ctx: &mut Ctx,
    network: &SocialNetwork,
    (opener, mode): (Box<dyn BrowserOpener>, LoginMode),
) -> Result<(), String> {
    let login = ctx
        .ws
        .login_social(network.clone())
        .mode(mode)
        .on(Event::Open, |d: &Value, _: &CallInfo| {
            if d["opened"] == false {
                eprintln!(
                    "Open this URL to continue: {}",
                    d["url"].as_str().unwrap_or_default()
                );
            }
            if let Some(code) = d["user_code"].as_str() {
                eprintln!("Check that the page shows this code: {code}");
            }
        })
        .opener(move |url: &str| opener.open(url))
        .wait()
        .map_err(fail)?;
    ctx.logged_in()?;
    println!("logged in as {} with {network}", login.profile().id());
    Ok(())
}

/// The profile in use, as the server sees it, then every saved profile
/// (`*` marks the default).
fn whoami(ctx: &Ctx) -> Result<(), String> {
    let mut saved = Vec::new();
    // `default` too: a session saved before profiles existed.
    let default = profiles::DEFAULT_PROFILE.to_owned();
    let names: std::collections::BTreeSet<&String> =
        ctx.config.profiles.iter().chain([&default]).collect();
    for name in names.into_iter().map(String::as_str) {
        if let Some(session) = ctx.saved(name)? {
            saved.push((name, profiles::describe(&session)));
        }
    }
    if !ctx.restore()? {
        if saved.is_empty() {
            return Err("not logged in".into());
        }
        print_profiles(ctx, &saved);
        return Err(format!("profile {:?} is not logged in", ctx.profile));
    }
    let me = ctx.ws.users().me().wait().map_err(fail)?;
    let who = me.success();
    let name = who["email"]
        .as_str()
        .or(who["username"].as_str())
        .or(who["name"].as_str())
        .unwrap_or("?");
    println!("{name} ({})", who["__id__"].as_str().unwrap_or("?"));
    print_profiles(ctx, &saved);
    Ok(())
}

fn print_profiles(ctx: &Ctx, saved: &[(&str, String)]) {
    let default = ctx.config.default_profile();
    for (name, who) in saved {
        let mark = if *name == default { '*' } else { ' ' };
        println!("{mark} {name}: {who}");
    }
}

fn switch(ctx: &mut Ctx, name: &str) -> Result<(), String> {
    profiles::check_name(name)?;
    if !ctx.config.knows(name) {
        return Err(ctx.config.unknown(name));
    }
    if ctx.saved(name)?.is_none() {
        return Err(format!(
            "profile {name:?} is not logged in: run `login --profile {name}` first"
        ));
    }
    ctx.config.profiles.insert(name.to_owned());
    ctx.config.default = Some(name.to_owned());
    ctx.config.save()?;
    println!("default profile: {name}");
    Ok(())
}

fn logout(ctx: &mut Ctx) -> Result<(), String> {
    if !ctx.restore()? {
        println!("not logged in");
        return Ok(());
    }
    ctx.ws.users().logout().wait().map_err(fail)?;
    ctx.config.profiles.remove(&ctx.profile);
    if ctx.config.default.as_deref() == Some(ctx.profile.as_str()) {
        ctx.config.default = None;
    }
    ctx.config.save()?;
    println!("logged out");
    Ok(())
}

fn get(ctx: &Ctx, key: &str) -> Result<(), String> {
    ctx.restore()?;
    let answer = ctx.ws.objects().get([key]).wait().map_err(fail)?;
    print_json(answer.value(key).unwrap_or(&Value::Null));
    Ok(())
}

fn set(ctx: &Ctx, key: &str, json: &str) -> Result<(), String> {
    let value: Value =
        serde_json::from_str(json).map_err(|e| format!("the value is not JSON: {e}"))?;
    ctx.restore()?;
    ctx.ws.objects().set(key, value).wait().map_err(fail)?;
    println!("stored {key}");
    Ok(())
}

fn search(ctx: &Ctx, query: &str) -> Result<(), String> {
    ctx.restore()?;
    let found = ctx.ws.objects().search(query).wait().map_err(fail)?;
    print_json(found.success());
    Ok(())
}

fn run(cli: Cli) -> Result<(), String> {
    let mut ctx = Ctx::new(&cli)?;
    match &cli.command {
        Command::Login {
            password: true,
            email,
            username,
            ..
        } => login_password(&mut ctx, email.as_ref(), username.as_ref()),
        Command::Login {
            network,
            no_browser,
            http,
            device,
            ..
        } => login_social(&mut ctx, network, opener(*no_browser, *http, *device)),
        Command::Whoami => whoami(&ctx),
        Command::Switch { name } => switch(&mut ctx, name),
        Command::Logout => logout(&mut ctx),
        Command::Get { key } => get(&ctx, key),
        Command::Set { key, json } => set(&ctx, key, json),
        Command::Search { query } => search(&ctx, query),
    }
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
