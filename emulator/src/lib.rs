//! # cloudmine-emulator
//!
//! A self-hostable server for the subset of the CloudMine v1 API that the
//! `cloudmine` SDK uses, on SQLite. Run it as a binary
//! (`cloudmine-emulator --app ID:KEY`) or start it inside tests:
//!
//! ```no_run
//! # async fn demo() -> Result<(), cloudmine_emulator::EmulatorError> {
//! use cloudmine_emulator::Emulator;
//! let emulator = Emulator::builder()
//!     .app("my-app", "my-api-key")
//!     .database(":memory:")
//!     .start()
//!     .await?;
//! println!("API root: {}", emulator.base_url()); // http://127.0.0.1:<free port>
//! // ... point a client at it ...
//! let seen = emulator.requests(); // what the server received, for assertions
//! emulator.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! What it serves, its status codes, the supported query language and where
//! it differs from CloudMine are in `docs/EMULATOR.md`.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

// Handlers (each imports the bottom modules below, never the router).
mod accounts;
mod baasbox;
mod broker;
mod files;
mod objects;
mod provider;
mod provider_config;
mod social_ticket;
mod upstream;
// The HTTP plumbing around them.
mod middleware;
mod miss;
mod router;
mod serve;
// Bottom modules: import no handler.
mod crypto;
mod extract;
mod fail;
pub mod fuzzing; // only with `--cfg fuzzing`, for `cargo fuzz` (fuzz/)
mod hooks;
mod model;
mod oauth;
mod pages;
mod params;
mod password;
pub mod query;
mod state;
mod store;
mod tickets;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, atomic::AtomicU64, atomic::Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use baasbox::BAASBOX_NETWORKS;
pub use files::DEFAULT_MAX_FILE_BYTES;
pub use hooks::{Fault, RecordedRequest};
pub use model::Mail;
pub use password::MIN_PASSWORD_LEN;
pub use provider::is_loopback_redirect;
pub use provider_config::ProviderConfig;
pub use serve::{
    DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS,
};

/// Everything that can go wrong starting or driving the emulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// Binding, serving or file I/O failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The storage (the database) failed; the backend's error is the source.
    #[error("storage error: {0}")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A setting or argument is wrong.
    #[error("{0}")]
    Config(String),
}

impl From<store::StoreError> for EmulatorError {
    fn from(e: store::StoreError) -> Self {
        match e {
            store::StoreError::Backend(source) => EmulatorError::Storage(source),
            store::StoreError::Io(e) => EmulatorError::Io(e),
            store::StoreError::Invalid(message) => EmulatorError::Config(message),
        }
    }
}

/// What a snippet receives.
#[derive(Debug, Clone)]
pub struct SnippetInput {
    /// For `run/{name}`: the query parameters (GET) or the JSON body (POST).
    /// For `f=` post-processing: the `params` query value parsed as JSON.
    /// `Null` when there are none.
    pub params: Value,
    /// For `f=` post-processing: the answer the request would have had.
    pub response: Option<Value>,
    /// The logged-in user, for user-level calls.
    pub user_id: Option<String>,
}

type SnippetFn = dyn Fn(SnippetInput) -> Result<Value, String> + Send + Sync;

/// Configures and starts an [`Emulator`].
pub struct EmulatorBuilder {
    apps: Vec<(String, String)>,
    database: PathBuf,
    listen: SocketAddr,
    max_body_bytes: usize,
    files_dir: Option<PathBuf>,
    max_file_bytes: u64,
    file_limits: HashMap<String, u64>,
    snippets: HashMap<String, Arc<SnippetFn>>,
    social: state::SocialSettings,
    baasbox: state::BaasBoxSettings,
    test_hooks: bool,
    record_requests: bool,
    limits: serve::Limits,
}

impl std::fmt::Debug for EmulatorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorBuilder")
            .field(
                "apps",
                &self.apps.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            )
            .field("database", &self.database)
            .field("listen", &self.listen)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("files_dir", &self.files_dir)
            .field("max_file_bytes", &self.max_file_bytes)
            .field("file_limits", &self.file_limits)
            .field("snippets", &self.snippets.keys().collect::<Vec<_>>())
            .field("test_idp", &self.social.test_idp)
            .field("auto_consent", &self.social.auto_consent)
            .field("identities", &self.social.identities)
            .field("redirect_support", &self.social.redirect_support)
            .field("baasbox_prefix", &self.baasbox.prefix)
            .field("baasbox", &self.baasbox.app_code.is_some())
            .finish()
    }
}

/// The default request body limit: 16 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

impl EmulatorBuilder {
    /// Adds an application with its API key (repeatable; stored at start).
    pub fn app(mut self, app_id: impl Into<String>, api_key: impl Into<String>) -> Self {
        self.apps.push((app_id.into(), api_key.into()));
        self
    }

    /// The SQLite database: `":memory:"` (the default) or a file path.
    pub fn database(mut self, path: impl Into<PathBuf>) -> Self {
        self.database = path.into();
        self
    }

    /// The address to listen on (default `127.0.0.1:0`, a free port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The largest request body accepted; larger ones get 413.
    pub fn max_body_bytes(mut self, n: usize) -> Self {
        self.max_body_bytes = n;
        self
    }

    /// Where uploaded files are kept. Default: `<database>-files` next to a
    /// database file, or a temporary directory (removed when the emulator
    /// goes away) for `:memory:`.
    pub fn files_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.files_dir = Some(dir.into());
        self
    }

    /// The largest file an app may upload, for apps without their own
    /// [`file_limit`](Self::file_limit) (default
    /// [`DEFAULT_MAX_FILE_BYTES`]); larger uploads get 413.
    pub fn max_file_bytes(mut self, n: u64) -> Self {
        self.max_file_bytes = n;
        self
    }

    /// The largest file `app_id` may upload (overrides
    /// [`max_file_bytes`](Self::max_file_bytes) for that app).
    pub fn file_limit(mut self, app_id: impl Into<String>, bytes: u64) -> Self {
        self.file_limits.insert(app_id.into(), bytes);
        self
    }

    /// Serves the built-in test identity provider (`/idp/...`) for every
    /// network without a configured [`provider`](Self::provider) (default
    /// off: it authenticates nobody, so anyone reaching it can sign in as
    /// any email). Off, a social login for such a network gets 400.
    /// [`auto_consent`](Self::auto_consent) and
    /// [`identity`](Self::identity) turn it on.
    pub fn test_idp(mut self, on: bool) -> Self {
        self.social.test_idp = on;
        self
    }

    /// The built-in identity provider approves at once, as the first seeded
    /// identity (or `Test User <test.user@example.com>`), with no page: for
    /// headless runs. `true` implies [`test_idp`](Self::test_idp).
    pub fn auto_consent(mut self, on: bool) -> Self {
        self.social.auto_consent = on;
        self
    }

    /// Serves `GET /_emulator/{app}/outbox` (reset tokens!) over HTTP (default off).
    pub fn test_hooks(mut self, on: bool) -> Self {
        self.test_hooks = on;
        self
    }

    /// A seeded test identity, shown as "Continue as NAME" (repeatable).
    /// Implies [`test_idp`](Self::test_idp).
    pub fn identity(mut self, name: impl Into<String>, email: impl Into<String>) -> Self {
        self.social.identities.push((name.into(), email.into()));
        self
    }

    /// Whether the social-login start honours `redirect_uri` and PKCE
    /// (default true). `false` behaves like a server without the loopback
    /// extension: the flow ends on the "login complete" page.
    pub fn redirect_support(mut self, on: bool) -> Self {
        self.social.redirect_support = on;
        self
    }

    /// Restricts the networks an app may log in with (default: all).
    pub fn social_networks<I, S>(mut self, app_id: impl Into<String>, networks: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let set = networks
            .into_iter()
            .map(|n| n.into().to_ascii_lowercase())
            .collect();
        self.social.networks.insert(app_id.into(), set);
        self
    }

    /// A real OAuth 2 provider for `network` instead of the built-in one.
    pub fn provider(mut self, network: impl Into<String>, config: ProviderConfig) -> Self {
        self.social
            .providers
            .insert(network.into().to_ascii_lowercase(), config);
        self
    }

    /// Serves the BaasBox API too, for clients sending this app code, under
    /// [`baasbox_prefix`](Self::baasbox_prefix) (default `/baasbox`).
    pub fn baasbox(mut self, app_code: impl Into<String>) -> Self {
        self.baasbox.app_code = Some(app_code.into());
        self
    }

    /// Where the BaasBox API is mounted (default `/baasbox`; not empty).
    pub fn baasbox_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.baasbox.prefix = prefix.into().trim_end_matches('/').to_owned();
        self
    }

    /// How long a BaasBox session lasts (default 24 hours).
    pub fn baasbox_session_ttl(mut self, ttl: Duration) -> Self {
        self.baasbox.session_ttl = ttl;
        self
    }

    /// Registers a server-side snippet, callable with `run/{name}` or `f={name}`.
    pub fn snippet<F>(mut self, name: impl Into<String>, f: F) -> Self
    where
        F: Fn(SnippetInput) -> Result<Value, String> + Send + Sync + 'static,
    {
        self.snippets.insert(name.into(), Arc::new(f));
        self
    }

    /// Opens the database, binds the address and starts serving.
    pub async fn start(self) -> Result<Emulator, EmulatorError> {
        self.validate()?;
        let (files_dir, files_temp) = self.files_location()?;
        let store = store::sqlite::SqliteStore::open(&self.database, &files_dir).await?;
        let store: Arc<dyn store::Store> = Arc::new(store);
        for (id, key) in &self.apps {
            store.upsert_app(id, key).await?;
        }
        store.seal_app_keys().await?;
        let listener = tokio::net::TcpListener::bind(self.listen).await?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(state::AppState {
            store,
            base_url: format!("http://{local_addr}"),
            social: state::SocialSettings {
                test_idp: self.social.test_idp
                    || self.social.auto_consent
                    || !self.social.identities.is_empty(),
                ..self.social
            },
            baasbox: self.baasbox,
            provider: oauth::ProviderState::default(),
            tickets: tickets::LinkTickets::default(),
            outbox: Mutex::new(Vec::new()),
            test_hooks: self.test_hooks,
            apps: self.apps.into_iter().collect(), // only these are served
            max_body: self.max_body_bytes,
            file_limits: self.file_limits,
            default_file_limit: self.max_file_bytes,
            _files_temp: files_temp,
            snippets: self.snippets,
            record_requests: self.record_requests,
            recorded: Mutex::new(hooks::RecordLog::default()),
            hashing: password::HashGate::per_core(),
            delay_ms: AtomicU64::new(0),
            faults: Mutex::new(Vec::new()),
        });
        let (stop, task) = serve(listener, Arc::clone(&shared), self.limits);
        Ok(Emulator {
            local_addr,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    fn validate(&self) -> Result<(), EmulatorError> {
        self.limits.validate().map_err(EmulatorError::Config)?;
        if self.baasbox.app_code.as_deref() == Some("") {
            return Err(EmulatorError::Config(
                "the BaasBox app code must not be empty".into(),
            ));
        }
        let prefix_ok = self.baasbox.prefix.starts_with('/')
            && self.baasbox.prefix.split('/').any(|s| !s.is_empty())
            && !matches!(
                self.baasbox.prefix.split('/').nth(1),
                Some("v1" | "idp" | "_emulator")
            );
        if self.baasbox.app_code.is_some() && !prefix_ok {
            return Err(EmulatorError::Config(format!(
                "the BaasBox prefix {:?} must start with / and not be /, /v1, /idp or /_emulator",
                self.baasbox.prefix
            )));
        }
        if self
            .apps
            .iter()
            .any(|(id, key)| id.is_empty() || key.is_empty())
        {
            return Err(EmulatorError::Config(
                "app id and API key must not be empty".into(),
            ));
        }
        Ok(())
    }

    /// Where file contents go, and the temporary directory to remove with
    /// the emulator (for an in-memory database).
    fn files_location(&self) -> Result<(PathBuf, Option<tempfile::TempDir>), EmulatorError> {
        Ok(match (&self.files_dir, self.database.as_os_str()) {
            (Some(dir), _) => (dir.clone(), None),
            (None, memory) if memory == ":memory:" => {
                let temp = tempfile::Builder::new()
                    .prefix("cloudmine-emulator-files-")
                    .tempdir()?;
                (temp.path().to_path_buf(), Some(temp))
            }
            (None, path) => {
                let mut dir = path.to_os_string();
                dir.push("-files");
                (PathBuf::from(dir), None)
            }
        })
    }
}

/// Serves the routes, wrapped in the middleware, until `stop` fires.
fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<state::AppState>,
    limits: serve::Limits,
) -> (oneshot::Sender<()>, JoinHandle<std::io::Result<()>>) {
    let routes = router::app(Arc::clone(&shared));
    // Around the whole router, so it sees (and can rewrite) every request
    // before routing.
    let app = tower::Layer::layer(
        &axum::middleware::from_fn_with_state(shared, middleware::intercept),
        routes,
    );
    serve::spawn(listener, app, limits)
}

/// A running emulator. Dropping it stops the server in the background;
/// [`shutdown`](Self::shutdown) stops it and waits.
pub struct Emulator {
    local_addr: SocketAddr,
    shared: Arc<state::AppState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

fn random_hex(bytes: usize) -> Result<String, EmulatorError> {
    crypto::try_random_hex(bytes).map_err(EmulatorError::Config)
}

impl Emulator {
    /// Starts configuring an emulator.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder {
            apps: Vec::new(),
            database: PathBuf::from(":memory:"),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            files_dir: None,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            file_limits: HashMap::new(),
            snippets: HashMap::new(),
            social: state::SocialSettings {
                redirect_support: true,
                ..Default::default()
            },
            baasbox: state::BaasBoxSettings {
                prefix: "/baasbox".into(),
                app_code: None,
                session_ttl: Duration::from_secs(24 * 3600),
            },
            test_hooks: false,
            record_requests: true,
            limits: serve::Limits::default(),
        }
    }

    /// The API root to give a client: `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections, lets requests in flight finish, and
    /// waits until the port is released.
    pub async fn shutdown(mut self) -> Result<(), EmulatorError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .map_err(|e| EmulatorError::Config(format!("server task failed: {e}")))??;
        }
        Ok(())
    }

    /// Every request received so far, oldest first: the last 10 000, and
    /// fewer when they hold more than 32 MiB. Empty when recording is off
    /// ([`EmulatorBuilder::record_requests`]).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        let recorded = self.shared.recorded.lock();
        recorded.unwrap_or_else(|p| p.into_inner()).to_vec()
    }

    /// The mails sent so far (password resets), oldest first.
    pub fn outbox(&self) -> Vec<Mail> {
        self.shared
            .outbox
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.shared
            .recorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Delays every answer by `delay` (`Duration::ZERO` turns it off).
    pub fn set_response_delay(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.shared.delay_ms.store(ms, Ordering::Relaxed);
    }

    /// Answers the next matching request with `fault` instead of handling it.
    pub fn inject_fault(&self, fault: Fault) {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(fault);
    }

    /// Creates a user in `app_id`; returns its id (32 hex characters).
    pub async fn create_user(&self, app_id: &str, email: &str) -> Result<String, EmulatorError> {
        let id = random_hex(16)?;
        self.shared.store.create_user(app_id, &id, email).await?;
        Ok(id)
    }

    /// An access token of the built-in identity provider for `email` at
    /// `network`, as its token endpoint issues after a consent (valid for an
    /// hour): for testing clients that take a provider's token, such as
    /// BaasBox's `POST /social/{network}`.
    pub fn provider_token(&self, network: &str, name: &str, email: &str) -> String {
        let identity = model::Identity::new(&network.to_ascii_lowercase(), name, email);
        self.shared.provider.token_for(identity)
    }

    /// Starts a session for a user; returns its token (256 random bits, hex).
    /// The database keeps only the token's SHA-256.
    pub async fn create_session(
        &self,
        app_id: &str,
        user_id: &str,
        ttl: Duration,
    ) -> Result<String, EmulatorError> {
        let token = random_hex(32)?;
        let hash = crypto::sha256_hex(&token);
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let expires = store::now_ms().saturating_add(ttl_ms);
        self.shared
            .store
            .create_session(&hash, app_id, user_id, expires)
            .await?;
        Ok(token)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

// The Rust example in docs/EMULATOR.md compiles as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../docs/EMULATOR.md")]
struct EmulatorDocDoctests;
