//! [`EmulatorBuilder`]: every setting of an emulator, and `start`, which
//! opens the store, binds the port and assembles the shared state.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, atomic::AtomicU64};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::snippets::{self, SnippetInput};
use crate::{
    DEFAULT_MAX_FILE_BYTES, Emulator, EmulatorError, ProviderConfig, cors, dashboard, health,
    hooks, middleware, password, router, serve, state, store,
};

/// Configures and starts an [`Emulator`].
pub struct EmulatorBuilder {
    apps: Vec<(String, String)>,
    master_keys: HashMap<String, String>,
    database: PathBuf,
    listen: SocketAddr,
    max_body_bytes: usize,
    files_dir: Option<PathBuf>,
    max_file_bytes: u64,
    file_limits: HashMap<String, u64>,
    snippets: HashMap<String, state::Snippet>,
    node: snippets::NodeSettings,
    social: state::SocialSettings,
    baasbox: state::BaasBoxSettings,
    test_hooks: bool,
    record_requests: bool,
    password_policy: password::PasswordPolicy,
    cors: cors::CorsSettings,
    limits: serve::Limits,
    /// The URL clients reach this emulator at, when not its own address.
    public_url: Option<String>,
    dashboard: dashboard::Settings,
}

impl std::fmt::Debug for EmulatorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorBuilder")
            .field(
                "apps",
                &self.apps.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            )
            .field(
                "database",
                &store::postgres::redacted(&self.database.to_string_lossy()),
            )
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("files_dir", &self.files_dir)
            .field("max_file_bytes", &self.max_file_bytes)
            .field("file_limits", &self.file_limits)
            .field("snippets", &self.snippets.keys().collect::<Vec<_>>())
            .field("snippets_dir", &self.node.dir)
            .field("test_idp", &self.social.test_idp)
            .field("auto_consent", &self.social.auto_consent)
            .field("identities", &self.social.identities)
            .field("redirect_support", &self.social.redirect_support)
            .field("cors_origins", &self.cors.origins)
            .field("baasbox_prefix", &self.baasbox.prefix)
            .field("baasbox", &self.baasbox.app_code.is_some())
            .field("dashboard", &self.dashboard.enabled())
            .finish()
    }
}

/// The default request body limit: 16 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

impl EmulatorBuilder {
    /// The defaults [`Emulator::builder`] starts from.
    pub(crate) fn new() -> Self {
        EmulatorBuilder {
            apps: Vec::new(),
            master_keys: HashMap::new(),
            database: PathBuf::from(":memory:"),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            files_dir: None,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            file_limits: HashMap::new(),
            snippets: HashMap::new(),
            node: snippets::NodeSettings::default(),
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
            password_policy: password::PasswordPolicy::default(),
            cors: cors::CorsSettings::default(),
            limits: serve::Limits::default(),
            dashboard: dashboard::Settings::default(),
        }
    }

    /// Adds an application with its API key (repeatable; stored at start).
    pub fn app(mut self, app_id: impl Into<String>, api_key: impl Into<String>) -> Self {
        self.apps.push((app_id.into(), api_key.into()));
        self
    }

    /// The master key of `app_id` (added with [`app`](Self::app)): sent as
    /// the API key, it also opens the master-key calls (a user's profile,
    /// password and deletion by id). Kept in memory only; it must differ
    /// from the API key.
    pub fn master_key(mut self, app_id: impl Into<String>, key: impl Into<String>) -> Self {
        self.master_keys.insert(app_id.into(), key.into());
        self
    }

    /// The database: `":memory:"` (the default) or a file path for SQLite,
    /// or a `postgres://user:pass@host:port/db` (or `postgresql://`) URL
    /// for PostgreSQL (file contents are then kept in the database too).
    pub fn database(mut self, path: impl Into<PathBuf>) -> Self {
        self.database = path.into();
        self
    }

    /// The address to listen on (default `127.0.0.1:0`, a free port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The URL clients reach this emulator at (a load balancer's, e.g.
    /// `https://cm.example.com`), put in redirects, provider callbacks and
    /// pages instead of the listening address: every instance serving one
    /// database behind a load balancer needs the same one (EMULATOR.md
    /// "Several instances"). Checked at start.
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
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

    /// The deadline of one social graph query's call to the network's API
    /// (default 30 s); past it the caller gets 504.
    pub fn social_query_timeout(mut self, timeout: Duration) -> Self {
        self.social.query.timeout = timeout;
        self
    }

    /// The largest answer a social graph query passes back (default
    /// 16 MiB); a larger one is a 502.
    pub fn social_query_max_bytes(mut self, n: usize) -> Self {
        self.social.query.max_answer = n;
        self
    }

    /// The API root social graph queries call for `network` when the
    /// built-in provider serves it (default: the provider's own
    /// `/idp/api`), e.g. a local stub API in tests.
    pub fn test_idp_api_base(mut self, network: impl Into<String>, url: impl Into<String>) -> Self {
        self.social
            .query
            .builtin_api_bases
            .insert(network.into().to_ascii_lowercase(), url.into());
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

    /// Serves `DIR/NAME.js` as JavaScript snippets, each call run by its own
    /// `node` process (a closure registered with [`snippet`](Self::snippet)
    /// under the same name wins). `start` fails when `DIR` is missing or
    /// node does not run.
    pub fn snippets_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.node.dir = Some(dir.into());
        self
    }

    /// The node binary for JavaScript snippets (default: `node` on `PATH`).
    pub fn node(mut self, path: impl Into<PathBuf>) -> Self {
        self.node.node = Some(path.into());
        self
    }

    /// How long a JavaScript snippet may run before it is killed (default
    /// [`DEFAULT_SNIPPET_TIMEOUT`](crate::DEFAULT_SNIPPET_TIMEOUT), CloudMine's 30 s).
    pub fn snippet_timeout(mut self, timeout: Duration) -> Self {
        self.node.timeout = timeout;
        self
    }

    /// node's V8 heap cap per snippet, in MiB (`--max-old-space-size`;
    /// default [`DEFAULT_SNIPPET_MEMORY_MIB`](crate::DEFAULT_SNIPPET_MEMORY_MIB), at least 16).
    pub fn snippet_memory_mib(mut self, mib: u64) -> Self {
        self.node.memory_mib = mib;
        self
    }

    /// Snippet processes running at once (default
    /// [`DEFAULT_MAX_SNIPPET_PROCESSES`](crate::DEFAULT_MAX_SNIPPET_PROCESSES)) and calls
    /// that may wait for one (default [`DEFAULT_SNIPPET_QUEUE`](crate::DEFAULT_SNIPPET_QUEUE));
    /// beyond both, 503 with `Retry-After`.
    pub fn max_snippet_processes(mut self, running: usize, queued: usize) -> Self {
        self.node.max_processes = running;
        self.node.max_queued = queued;
        self
    }

    /// The most a JavaScript snippet may print, its answer included (default
    /// [`DEFAULT_SNIPPET_OUTPUT_BYTES`](crate::DEFAULT_SNIPPET_OUTPUT_BYTES)).
    pub fn snippet_output_bytes(mut self, n: usize) -> Self {
        self.node.max_output = n;
        self
    }

    /// How long a client has to send a request's headers once it started
    /// (default [`DEFAULT_HEADER_TIMEOUT`](crate::DEFAULT_HEADER_TIMEOUT)); then the connection is closed.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header = timeout;
        self
    }

    /// The longest pause inside a request body (default
    /// [`DEFAULT_BODY_TIMEOUT`](crate::DEFAULT_BODY_TIMEOUT)); then the request gets 408 and the
    /// connection is closed.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.limits.body = timeout;
        self
    }

    /// How long a connection with no request in flight and no bytes moving
    /// stays open (default [`DEFAULT_IDLE_TIMEOUT`](crate::DEFAULT_IDLE_TIMEOUT)).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.limits.idle = timeout;
        self
    }

    /// The most connections open at once (default
    /// [`DEFAULT_MAX_CONNECTIONS`](crate::DEFAULT_MAX_CONNECTIONS)); more are closed as they arrive.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.limits.max_connections = n;
        self
    }

    /// Records every request for [`crate::Emulator::requests`] (default on:
    /// the in-process emulator is a test harness; the binary records only
    /// with `--test-hooks`). The log is bounded either way.
    pub fn record_requests(mut self, on: bool) -> Self {
        self.record_requests = on;
        self
    }

    /// The fewest characters a new password may have (sign-up, password
    /// change and reset, BaasBox sign-up). Default
    /// [`DEFAULT_MIN_PASSWORD_LEN`](crate::DEFAULT_MIN_PASSWORD_LEN): any
    /// non-empty password, as CloudMine accepted. `0` is refused at start.
    pub fn min_password_length(mut self, n: usize) -> Self {
        self.password_policy.min_len = n;
        self
    }

    /// Lets pages from `origin` (`scheme://host[:port]`) call the API from a
    /// browser (repeatable). Without any, every origin may: the API key is
    /// the credential, as CloudMine did. A malformed origin is refused at
    /// start.
    pub fn cors_origin(mut self, origin: impl Into<String>) -> Self {
        self.cors
            .origins
            .get_or_insert_with(Vec::new)
            .push(origin.into());
        self
    }

    /// How long a stopping server waits for the requests in flight before
    /// it closes their connections (default [`DEFAULT_SHUTDOWN_GRACE`](crate::DEFAULT_SHUTDOWN_GRACE)).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.limits.grace = grace;
        self
    }

    /// Serves the dashboard under `/_dashboard/` without a login: for a
    /// developer's own machine, so `start` refuses it unless the listen
    /// address is loopback. A [`dashboard_password`](Self::dashboard_password)
    /// puts it behind a login instead (EMULATOR.md "Dashboard").
    pub fn dashboard(mut self) -> Self {
        self.dashboard.open = true;
        self
    }

    /// Serves the dashboard under `/_dashboard/` behind a login form with
    /// this password (not empty; kept in memory only, as its SHA-256).
    pub fn dashboard_password(mut self, password: impl Into<String>) -> Self {
        self.dashboard.password = Some(password.into());
        self
    }

    /// Opens the database, binds the address and starts serving.
    pub async fn start(self) -> Result<Emulator, EmulatorError> {
        self.validate()?;
        let node = match self.node.check().await.map_err(EmulatorError::Config)? {
            Some(checked) => Some(snippets::NodeRunner::new(checked, self.node.clone())),
            None => None,
        };
        let (store, files_temp) = self.open_store().await?;
        for (id, key) in &self.apps {
            store.upsert_app(id, key).await?;
        }
        store.seal_app_keys().await?;
        let listener = tokio::net::TcpListener::bind(self.listen).await?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(state::AppState {
            store,
            base_url: match &self.public_url {
                Some(url) => crate::public_url::checked(url).map_err(EmulatorError::Config)?,
                None => format!("http://{local_addr}"),
            },
            social: state::SocialSettings {
                test_idp: self.social.test_idp
                    || self.social.auto_consent
                    || !self.social.identities.is_empty(),
                ..self.social
            },
            baasbox: self.baasbox,
            test_hooks: self.test_hooks,
            apps: self.apps.into_iter().collect(), // only these are served
            master_keys: self.master_keys,
            max_body: self.max_body_bytes,
            file_limits: self.file_limits,
            default_file_limit: self.max_file_bytes,
            _files_temp: files_temp,
            snippets: snippets::Snippets::new(self.snippets, node),
            record_requests: self.record_requests,
            recorded: Mutex::new(hooks::RecordLog::default()),
            password_policy: self.password_policy,
            hashing: password::HashGate::per_core(),
            delay_ms: AtomicU64::new(0),
            faults: Mutex::new(Vec::new()),
        });
        let (stop, task) = serve(
            listener,
            Arc::clone(&shared),
            self.limits,
            &self.cors,
            self.dashboard,
        );
        Ok(Emulator {
            local_addr,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    fn validate(&self) -> Result<(), EmulatorError> {
        self.limits.validate().map_err(EmulatorError::Config)?;
        self.cors.validate().map_err(EmulatorError::Config)?;
        let dashboard = self.dashboard.validate(self.listen);
        dashboard.map_err(EmulatorError::Config)?;
        if let Some(url) = &self.public_url {
            crate::public_url::checked(url).map_err(EmulatorError::Config)?;
        }
        if self.password_policy.min_len == 0 {
            return Err(EmulatorError::Config(
                "the minimum password length must be at least 1".into(),
            ));
        }
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
        for (app, master) in &self.master_keys {
            match self.apps.iter().find(|(id, _)| id == app) {
                None => {
                    return Err(EmulatorError::Config(format!(
                        "a master key is given for {app:?}, which is not an app"
                    )));
                }
                Some((_, key)) if key == master || master.is_empty() => {
                    return Err(EmulatorError::Config(format!(
                        "the master key of {app:?} must be non-empty and differ from its API key"
                    )));
                }
                Some(_) => {}
            }
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

    /// Opens the database the builder names: PostgreSQL for a
    /// `postgres://` URL, else SQLite (with the temporary files directory
    /// to remove with the emulator, if one was made).
    async fn open_store(
        &self,
    ) -> Result<(Arc<dyn store::Store>, Option<tempfile::TempDir>), EmulatorError> {
        if let Some(url) = self
            .database
            .to_str()
            .filter(|d| store::postgres::is_postgres_url(d))
        {
            return Ok((Arc::new(store::postgres::Pg::connect(url).await?), None));
        }
        let (files_dir, files_temp) = self.files_location()?;
        let store = store::sqlite::SqliteStore::open(&self.database, &files_dir).await?;
        Ok((Arc::new(store), files_temp))
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
    cors: &cors::CorsSettings,
    dash: dashboard::Settings,
) -> (oneshot::Sender<()>, JoinHandle<std::io::Result<()>>) {
    let store = Arc::clone(&shared.store);
    let routes = router::app(Arc::clone(&shared));
    // Around the whole router, so it sees (and can rewrite) every request
    // before routing.
    let app = tower::Layer::layer(
        &axum::middleware::from_fn_with_state(Arc::clone(&shared), middleware::intercept),
        routes,
    );
    // Outermost: a preflight is answered before the key is looked for.
    let app = tower::Layer::layer(&cors.layer(), app);
    // The dashboard, when on, answers its own paths before the API (no
    // CloudMine header plays a part there) and records the API's requests.
    if dash.enabled() {
        let app = health::Probes::new(dashboard::wrap(app, dash, shared), store);
        return serve::spawn(listener, app, limits);
    }
    // In front of everything: the probes need no key and log nothing.
    let app = health::Probes::new(app, store);
    serve::spawn(listener, app, limits)
}
