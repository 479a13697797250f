//! `cloudmine-emulator`: serve the CloudMine v1 API subset on SQLite.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use cloudmine_emulator::{
    DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_SNIPPET_PROCESSES, DEFAULT_MIN_PASSWORD_LEN, DEFAULT_SNIPPET_MEMORY_MIB,
    DEFAULT_SNIPPET_QUEUE, Emulator, EmulatorBuilder,
};

/// A self-hostable CloudMine v1 API emulator (objects, files, users and
/// sessions, social login, snippets) backed by SQLite.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on. Port 0 picks a free port.
    #[arg(
        long,
        default_value = "127.0.0.1:8080",
        env = "CLOUDMINE_EMULATOR_LISTEN"
    )]
    listen: SocketAddr,

    /// The URL clients reach this emulator at, when it is not the listening
    /// address (behind a load balancer or reverse proxy): put in redirects,
    /// provider callbacks and pages. Every instance serving one database
    /// needs the same one.
    #[arg(long, value_name = "URL", env = "CLOUDMINE_EMULATOR_PUBLIC_URL")]
    public_url: Option<String>,

    /// SQLite database file (created if missing; data survives restarts).
    /// `:memory:` keeps everything in memory. A `postgres://user:pass@host/db`
    /// URL uses PostgreSQL instead (file contents kept there too).
    #[arg(
        long,
        visible_alias = "database",
        default_value = "cloudmine-emulator.sqlite",
        env = "CLOUDMINE_EMULATOR_DB",
        hide_env_values = true
    )]
    db: PathBuf,

    /// An application as APP_ID:API_KEY, or APP_ID:API_KEY:MASTER_KEY to
    /// also open the master-key calls. Repeat for several apps. A command
    /// line is visible to other local users: prefer --apps-file for real keys.
    #[arg(long = "app", value_name = "APP_ID:API_KEY[:MASTER_KEY]", value_parser = AppParser,
          required_unless_present = "apps_file", env = "CLOUDMINE_EMULATOR_APP",
          value_delimiter = ',', hide_env_values = true)]
    apps: Vec<AppArg>,

    /// A file of applications, one APP_ID:API_KEY[:MASTER_KEY] per line
    /// (blank lines and lines starting with # skipped), so keys stay off the
    /// command line. Adds to --app.
    #[arg(long, value_name = "FILE", env = "CLOUDMINE_EMULATOR_APPS_FILE")]
    apps_file: Option<PathBuf>,

    /// Largest request body accepted, in bytes; larger bodies get HTTP 413.
    #[arg(long, default_value_t = DEFAULT_MAX_BODY_BYTES, env = "CLOUDMINE_EMULATOR_MAX_BODY_BYTES")]
    max_body_bytes: usize,

    /// Directory for uploaded files' contents (default: the --db path with
    /// `-files` appended; a temporary directory with `--db :memory:`).
    #[arg(long, value_name = "DIR", env = "CLOUDMINE_EMULATOR_FILES_DIR")]
    files_dir: Option<PathBuf>,

    /// Largest file an app may upload, in bytes; larger uploads get HTTP 413.
    #[arg(long, default_value_t = DEFAULT_MAX_FILE_BYTES, env = "CLOUDMINE_EMULATOR_MAX_FILE_BYTES")]
    max_file_bytes: u64,

    /// A per-app file size limit as APP_ID:BYTES (overrides --max-file-bytes
    /// for that app). Repeatable.
    #[arg(long = "file-limit", value_name = "APP_ID:BYTES", value_parser = parse_file_limit, env = "CLOUDMINE_EMULATOR_FILE_LIMIT", value_delimiter = ',')]
    file_limits: Vec<(String, u64)>,

    /// Also serve the BaasBox API for this app code (under --baasbox-prefix).
    #[arg(
        long,
        value_name = "APP_CODE",
        env = "CLOUDMINE_EMULATOR_BAASBOX_APPCODE",
        hide_env_values = true
    )]
    baasbox_appcode: Option<String>,

    /// Where the BaasBox API is mounted.
    #[arg(
        long,
        default_value = "/baasbox",
        value_name = "PATH",
        env = "CLOUDMINE_EMULATOR_BAASBOX_PREFIX"
    )]
    baasbox_prefix: String,

    /// How long a BaasBox session lasts, in seconds.
    #[arg(long, default_value_t = 24 * 3600, value_name = "SECONDS", env = "CLOUDMINE_EMULATOR_BAASBOX_SESSION_TTL")]
    baasbox_session_ttl: u64,

    /// Serve the built-in test identity provider (/idp) for networks without
    /// a --provider-config entry. It authenticates nobody (anyone can sign in
    /// as any email): for tests only. Implied by --auto-consent and --identity.
    #[arg(long, env = "CLOUDMINE_EMULATOR_TEST_IDP", value_parser = clap::builder::BoolishValueParser::new())]
    test_idp: bool,

    /// The built-in identity provider approves social logins at once, as the
    /// first --identity, without a consent page (for headless runs). Implies
    /// --test-idp.
    #[arg(long, env = "CLOUDMINE_EMULATOR_AUTO_CONSENT", value_parser = clap::builder::BoolishValueParser::new())]
    auto_consent: bool,

    /// A test identity shown on the consent page as "Continue as NAME".
    /// Repeat for several. Implies --test-idp.
    #[arg(long = "identity", value_name = "NAME:EMAIL", value_parser = parse_identity, env = "CLOUDMINE_EMULATOR_IDENTITY", value_delimiter = ',')]
    identities: Vec<(String, String)>,

    /// Ignore `redirect_uri` and PKCE in social-login starts, like a server
    /// without the loopback extension (clients then poll).
    #[arg(long, env = "CLOUDMINE_EMULATOR_NO_REDIRECT_SUPPORT", value_parser = clap::builder::BoolishValueParser::new())]
    no_redirect_support: bool,

    /// Serve the test hooks over HTTP (`GET /_emulator/{app}/outbox`, which
    /// shows password-reset tokens). Never on a reachable server.
    #[arg(long, env = "CLOUDMINE_EMULATOR_TEST_HOOKS", value_parser = clap::builder::BoolishValueParser::new())]
    test_hooks: bool,

    /// Serve the dashboard (`/_dashboard/`: apps, objects, files, users,
    /// activity) WITHOUT a login. Refused unless --listen is a loopback
    /// address; elsewhere use --dashboard-password.
    #[arg(long, env = "CLOUDMINE_EMULATOR_DASHBOARD", value_parser = clap::builder::BoolishValueParser::new())]
    dashboard: bool,

    /// Serve the dashboard behind a login form with this password. A
    /// command line is visible to other local users: prefer the variable.
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "CLOUDMINE_EMULATOR_DASHBOARD_PASSWORD",
        hide_env_values = true
    )]
    dashboard_password: Option<String>,

    /// Seconds a client has to send a request's headers once it started;
    /// then the connection is closed.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS", value_parser = parse_seconds, env = "CLOUDMINE_EMULATOR_HEADER_TIMEOUT")]
    header_timeout: f64,

    /// Longest pause, in seconds, inside a request body; then HTTP 408 and
    /// the connection is closed.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS", value_parser = parse_seconds, env = "CLOUDMINE_EMULATOR_BODY_TIMEOUT")]
    body_timeout: f64,

    /// Seconds a connection with no request in flight and no bytes moving
    /// (keep-alive) stays open.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS", value_parser = parse_seconds, env = "CLOUDMINE_EMULATOR_IDLE_TIMEOUT")]
    idle_timeout: f64,

    /// Most connections open at once; more are closed as they arrive.
    #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS, value_name = "N", env = "CLOUDMINE_EMULATOR_MAX_CONNECTIONS")]
    max_connections: usize,

    /// The fewest characters a new password may have. The default accepts any
    /// non-empty password, as CloudMine did.
    #[arg(long, default_value_t = DEFAULT_MIN_PASSWORD_LEN, value_name = "N", value_parser = parse_min_password, env = "CLOUDMINE_EMULATOR_MIN_PASSWORD_LENGTH")]
    min_password_length: usize,

    /// Let pages from this origin (scheme://host[:port]) call the API from a
    /// browser. Repeatable. Without it every origin may (the API key is the
    /// credential, as CloudMine did).
    #[arg(
        long = "cors-origin",
        value_name = "ORIGIN",
        env = "CLOUDMINE_EMULATOR_CORS_ORIGIN",
        value_delimiter = ','
    )]
    cors_origins: Vec<String>,

    /// Real OAuth 2 providers: a JSON file mapping network names to
    /// {authorize_url, token_url, userinfo_url, client_id, client_secret,
    /// api_base (optional: the API root for social graph queries)}.
    #[arg(long, value_name = "FILE", env = "CLOUDMINE_EMULATOR_PROVIDER_CONFIG")]
    provider_config: Option<PathBuf>,

    /// Serve DIR/NAME.js as CloudMine JavaScript snippets (`run/NAME`,
    /// `f=NAME`), each call run by its own node process. Needs node.
    #[arg(long, value_name = "DIR", env = "CLOUDMINE_EMULATOR_SNIPPETS")]
    snippets: Option<PathBuf>,

    /// The node binary for --snippets (default: `node` on PATH).
    #[arg(long, value_name = "PATH", env = "CLOUDMINE_EMULATOR_NODE")]
    node: Option<PathBuf>,

    /// Seconds a snippet may run before it is killed (CloudMine's limit: 30).
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS", value_parser = parse_seconds, env = "CLOUDMINE_EMULATOR_SNIPPET_TIMEOUT")]
    snippet_timeout: f64,

    /// node's heap cap per snippet, in MiB (--max-old-space-size).
    #[arg(long, default_value_t = DEFAULT_SNIPPET_MEMORY_MIB, value_name = "MIB", env = "CLOUDMINE_EMULATOR_SNIPPET_MEMORY_MIB")]
    snippet_memory_mib: u64,

    /// Snippet processes running at once.
    #[arg(long, default_value_t = DEFAULT_MAX_SNIPPET_PROCESSES, value_name = "N", env = "CLOUDMINE_EMULATOR_MAX_SNIPPET_PROCESSES")]
    max_snippet_processes: usize,

    /// Seconds a stopping server (SIGTERM, Ctrl-C) waits for the requests in
    /// flight before it closes their connections and exits.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS", value_parser = parse_seconds, env = "CLOUDMINE_EMULATOR_SHUTDOWN_GRACE")]
    shutdown_grace: f64,

    /// Snippet calls that may wait for a process; beyond, HTTP 503.
    #[arg(long, default_value_t = DEFAULT_SNIPPET_QUEUE, value_name = "N", env = "CLOUDMINE_EMULATOR_SNIPPET_QUEUE")]
    snippet_queue: usize,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(n) if n > 0.0 && n <= 86_400.0 => Ok(n),
        _ => Err("expected a number of seconds greater than 0 and at most 86400".to_owned()),
    }
}

fn parse_min_password(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=1024).contains(&n) => Ok(n),
        _ => Err("expected a number of characters from 1 to 1024".to_owned()),
    }
}

fn parse_identity(s: &str) -> Result<(String, String), String> {
    match s.rsplit_once(':') {
        Some((name, email)) if !name.trim().is_empty() && email.contains('@') => {
            Ok((name.trim().to_owned(), email.trim().to_owned()))
        }
        _ => Err("expected NAME:EMAIL, e.g. \"Ada Lovelace:ada@example.com\"".to_owned()),
    }
}

fn parse_file_limit(s: &str) -> Result<(String, u64), String> {
    match s.rsplit_once(':') {
        Some((id, n)) if !id.is_empty() => n
            .parse()
            .map(|n| (id.to_owned(), n))
            .map_err(|_| format!("{n:?} is not a number of bytes")),
        _ => Err("expected APP_ID:BYTES, e.g. my-app:1048576".to_owned()),
    }
}

/// An application from `--app` or `--apps-file`.
#[derive(Debug, Clone)]
struct AppArg {
    id: String,
    key: String,
    master: Option<String>,
}

fn parse_app(s: &str) -> Result<AppArg, String> {
    let mut parts = s.splitn(3, ':');
    let (id, key, master) = (parts.next(), parts.next(), parts.next());
    match (id, key, master) {
        (Some(id), Some(key), master)
            if !id.is_empty() && !key.is_empty() && master != Some("") =>
        {
            Ok(AppArg {
                id: id.to_owned(),
                key: key.to_owned(),
                master: master.map(str::to_owned),
            })
        }
        _ => Err("expected APP_ID:API_KEY or APP_ID:API_KEY:MASTER_KEY, each non-empty".to_owned()),
    }
}

/// `--app`'s parser: a refusal never shows the value (it holds keys, and
/// clap's own message would quote it, on stderr and in service logs).
#[derive(Debug, Clone, Copy)]
struct AppParser;

impl clap::builder::TypedValueParser for AppParser {
    type Value = AppArg;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<AppArg, clap::Error> {
        let name = arg.map_or_else(|| "--app".to_owned(), ToString::to_string);
        let refuse = |why: &str| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value for '{name}' (not shown: it holds keys): {why}\n"),
            )
            .with_cmd(cmd)
        };
        let text = value.to_str().ok_or_else(|| refuse("not UTF-8"))?;
        parse_app(text).map_err(|e| refuse(&e))
    }
}

/// Reads `--apps-file`: one application per line; errors name the line
/// number, never its text (it holds keys).
fn apps_file(path: &std::path::Path) -> Result<Vec<AppArg>, String> {
    let text = read_apps_file(path)?;
    text.lines()
        .enumerate()
        .map(|(n, line)| (n + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(n, line)| parse_app(line).map_err(|e| format!("line {n}: {e}")))
        .collect()
}

/// The largest `--apps-file` read (a `/dev/zero` or a log named by
/// mistake is refused, not read until memory runs out).
const MAX_APPS_FILE_BYTES: u64 = 1024 * 1024;

/// The text of `--apps-file`, bounded; warns when other local users may
/// read or change it (it holds API and master keys).
fn read_apps_file(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    warn_if_open_to_others(&file);
    let mut text = String::new();
    file.take(MAX_APPS_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    if text.len() as u64 > MAX_APPS_FILE_BYTES {
        return Err(format!(
            "larger than {MAX_APPS_FILE_BYTES} bytes: one APP_ID:API_KEY[:MASTER_KEY] a line"
        ));
    }
    Ok(text)
}

#[cfg(unix)]
fn warn_if_open_to_others(file: &std::fs::File) {
    use std::os::unix::fs::PermissionsExt;
    let mode = file.metadata().map(|m| m.permissions().mode()).unwrap_or(0);
    // On stderr: stdout's first line stays the "listening on" line.
    if mode & 0o077 != 0 {
        eprintln!(
            "cloudmine-emulator: warning: the --apps-file (mode {:o}) can be read or \
             changed by other users and holds API and master keys: chmod 600 it",
            mode & 0o777
        );
    }
}

#[cfg(not(unix))]
fn warn_if_open_to_others(_file: &std::fs::File) {}

/// SIGTERM or Ctrl-C (SIGINT). The handlers are installed when this is
/// called, not when the future is first polled, so a signal that arrives
/// right after the "listening on" line still stops the server gracefully.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// The connection limits and the request log: a reachable server's defences.
fn connection_limits(builder: EmulatorBuilder, args: &Args) -> EmulatorBuilder {
    builder
        .header_timeout(Duration::from_secs_f64(args.header_timeout))
        .body_timeout(Duration::from_secs_f64(args.body_timeout))
        .idle_timeout(Duration::from_secs_f64(args.idle_timeout))
        .max_connections(args.max_connections)
        .shutdown_grace(Duration::from_secs_f64(args.shutdown_grace))
        // Recorded requests are only readable in-process: the binary keeps none.
        .record_requests(false)
}

/// `--snippets` and its limits.
fn snippet_settings(mut builder: EmulatorBuilder, args: &Args) -> EmulatorBuilder {
    if let Some(dir) = &args.snippets {
        builder = builder.snippets_dir(dir);
    }
    if let Some(node) = &args.node {
        builder = builder.node(node);
    }
    builder
        .snippet_timeout(Duration::from_secs_f64(args.snippet_timeout))
        .snippet_memory_mib(args.snippet_memory_mib)
        .max_snippet_processes(args.max_snippet_processes, args.snippet_queue)
}

/// Reads `--provider-config FILE`: network names to real providers.
fn provider_config(
    path: &std::path::Path,
) -> Result<std::collections::HashMap<String, cloudmine_emulator::ProviderConfig>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// The builder for the flags; `Err` names the flag that is wrong.
fn configure(args: &Args) -> Result<EmulatorBuilder, String> {
    let mut builder = connection_limits(
        Emulator::builder()
            .database(&args.db)
            .listen(args.listen)
            .max_body_bytes(args.max_body_bytes)
            .max_file_bytes(args.max_file_bytes)
            .min_password_length(args.min_password_length),
        args,
    );
    builder = snippet_settings(builder, args);
    if let Some(dir) = &args.files_dir {
        builder = builder.files_dir(dir);
    }
    if let Some(url) = &args.public_url {
        builder = builder.public_url(url);
    }
    if let Some(code) = &args.baasbox_appcode {
        builder = builder
            .baasbox(code)
            .baasbox_prefix(&args.baasbox_prefix)
            .baasbox_session_ttl(Duration::from_secs(args.baasbox_session_ttl));
    }
    for (id, limit) in &args.file_limits {
        builder = builder.file_limit(id, *limit);
    }
    for origin in &args.cors_origins {
        builder = builder.cors_origin(origin);
    }
    for (name, email) in &args.identities {
        builder = builder.identity(name, email);
    }
    builder = with_apps(builder, args)?
        .test_idp(args.test_idp)
        .auto_consent(args.auto_consent)
        .redirect_support(!args.no_redirect_support)
        .test_hooks(args.test_hooks);
    if args.dashboard {
        builder = builder.dashboard();
    }
    if let Some(password) = &args.dashboard_password {
        builder = builder.dashboard_password(password);
    }
    if let Some(path) = &args.provider_config {
        let providers = provider_config(path)
            .map_err(|e| format!("--provider-config {}: {e}", path.display()))?;
        for (network, config) in providers {
            builder = builder.provider(network, config);
        }
    }
    Ok(builder)
}

/// `--app` and `--apps-file`, with their master keys.
fn with_apps(mut builder: EmulatorBuilder, args: &Args) -> Result<EmulatorBuilder, String> {
    let mut apps = args.apps.clone();
    if let Some(path) = &args.apps_file {
        apps.extend(apps_file(path).map_err(|e| format!("--apps-file {}: {e}", path.display()))?);
    }
    if apps.is_empty() {
        return Err("no application: give --app or --apps-file".into());
    }
    for app in apps {
        builder = builder.app(&app.id, &app.key);
        if let Some(master) = app.master {
            builder = builder.master_key(&app.id, master);
        }
    }
    Ok(builder)
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
    let builder = match configure(&args) {
        Ok(builder) => builder,
        Err(e) => {
            eprintln!("cloudmine-emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    let emulator = match builder.start().await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("cloudmine-emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stop = stop_signal();
    println!("cloudmine-emulator listening on {}", emulator.base_url());
    stop.await;
    tracing::info!("shutting down");
    match emulator.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cloudmine-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}
