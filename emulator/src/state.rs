//! What every handler shares: settings, storage, the provider's codes and
//! the test hooks' state. Imports no handler.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::ProviderConfig;
use crate::hooks::{Fault, RecordLog};
use crate::password::{HashGate, PasswordPolicy};

pub(crate) use crate::snippets::Snippet;
use crate::store::Store;

/// Social-login settings of an emulator.
#[derive(Debug, Clone, Default)]
pub(crate) struct SocialSettings {
    pub auto_consent: bool,
    /// Whether the built-in test identity provider (`/idp`) is served, for
    /// networks without a configured provider (opt-in: it authenticates
    /// nobody).
    pub test_idp: bool,
    pub identities: Vec<(String, String)>,
    pub redirect_support: bool,
    /// App → enabled networks; an app not listed has every network.
    pub networks: HashMap<String, HashSet<String>>,
    pub providers: HashMap<String, ProviderConfig>,
    /// Social graph queries: deadline, answer cap, built-in API roots.
    pub query: crate::social_forward::QuerySettings,
}

/// The BaasBox front end's settings.
#[derive(Debug, Clone)]
pub(crate) struct BaasBoxSettings {
    /// Where it is mounted, e.g. `/baasbox` (no trailing slash).
    pub prefix: String,
    /// The app code clients must send; `None`: the front end is off.
    pub app_code: Option<String>,
    /// How long a session lasts.
    pub session_ttl: Duration,
}

/// The state behind every route.
pub(crate) struct AppState {
    /// Every read and write; handlers never see the backend behind it.
    /// What is in flight between requests (link tickets, device logins,
    /// the built-in provider's codes and tokens, mails and pushes sent)
    /// lives there too, so instances sharing a database share it.
    pub store: Arc<dyn Store>,
    /// `http://127.0.0.1:PORT`, for absolute URLs in redirects.
    pub base_url: String,
    pub social: SocialSettings,
    pub baasbox: BaasBoxSettings,
    /// Whether `/_emulator/...` is served over HTTP (opt-in).
    pub test_hooks: bool,
    /// App id → API key; apps are only added at start, so this is read-only.
    pub apps: HashMap<String, String>,
    /// App id → master key, for the apps that have one (in memory only).
    pub master_keys: HashMap<String, String>,
    pub max_body: usize,
    /// Largest file per app, and the default for apps not listed.
    pub file_limits: HashMap<String, u64>,
    pub default_file_limit: u64,
    /// A temporary files directory (for an in-memory database), removed
    /// when the server goes away.
    pub _files_temp: Option<tempfile::TempDir>,
    /// Closures from the builder, then `DIR/NAME.js` files run by node.
    pub snippets: crate::snippets::Snippets,
    /// Whether requests are recorded (the in-process harness: yes; the
    /// binary: only with `--test-hooks`).
    pub record_requests: bool,
    pub recorded: Mutex<RecordLog>,
    /// The length rule for new passwords.
    pub password_policy: PasswordPolicy,
    /// Bounds the argon2 work running at once.
    pub hashing: HashGate,
    pub delay_ms: AtomicU64,
    pub faults: Mutex<Vec<Fault>>,
}

impl AppState {
    /// The largest file `app_id` may upload.
    pub(crate) fn file_limit(&self, app_id: &str) -> u64 {
        self.file_limits
            .get(app_id)
            .copied()
            .unwrap_or(self.default_file_limit)
    }
}
