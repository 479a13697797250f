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
mod access;
mod accounts;
mod accounts_admin;
mod baasbox;
mod broker;
mod device;
mod elasticsearch;
mod files;
mod idp_api;
mod objects;
mod provider;
mod provider_config;
mod push;
mod social_query;
mod social_ticket;
mod upstream;
// The HTTP plumbing around them.
mod health;
mod middleware;
mod miss;
mod router;
mod serve;
// Bottom modules: import no handler.
mod cors;
mod crypto;
mod extract;
mod fail;
pub mod fuzzing; // only with `--cfg fuzzing`, for `cargo fuzz` (fuzz/)
mod geo_search;
mod hooks;
mod model;
mod oauth;
mod pages;
mod params;
mod password;
mod public_url;
pub mod query;
mod sent;
mod snippets;
mod social_forward;
mod state;
mod store;
mod tickets;
// The dashboard, over the store and the API service.
mod dashboard;
// Settings and start, on top of everything above.
mod builder;

use std::net::SocketAddr;
use std::sync::{Arc, atomic::Ordering};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use baasbox::BAASBOX_NETWORKS;
pub use builder::{DEFAULT_MAX_BODY_BYTES, EmulatorBuilder};
pub use files::DEFAULT_MAX_FILE_BYTES;
pub use health::READY_DEADLINE;
pub use hooks::{Fault, RecordedRequest};
pub use model::{Mail, OUTBOX_CAP, Push};
pub use password::DEFAULT_MIN_PASSWORD_LEN;
pub use provider::is_loopback_redirect;
pub use provider_config::ProviderConfig;
pub use serve::{
    DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_SHUTDOWN_GRACE,
};
pub use snippets::{
    DEFAULT_MAX_SNIPPET_PROCESSES, DEFAULT_SNIPPET_MEMORY_MIB, DEFAULT_SNIPPET_OUTPUT_BYTES,
    DEFAULT_SNIPPET_QUEUE, DEFAULT_SNIPPET_TIMEOUT, SnippetInput,
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
            store::StoreError::Unstorable(message) | store::StoreError::Busy(message) => {
                EmulatorError::Storage(message.into())
            }
        }
    }
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
        EmulatorBuilder::new()
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

    /// The mails sent so far (password resets), oldest first: the last
    /// [`OUTBOX_CAP`]. Read from the database, so it holds the mails of
    /// every instance serving it.
    pub async fn outbox(&self) -> Result<Vec<Mail>, EmulatorError> {
        Ok(sent::mails(&*self.shared.store, None).await?)
    }

    /// The push notifications sent so far (every app's), oldest first: the
    /// last [`OUTBOX_CAP`], from the database like [`Emulator::outbox`].
    pub async fn pushes(&self) -> Result<Vec<Push>, EmulatorError> {
        Ok(sent::pushes(&*self.shared.store, None).await?)
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
    pub async fn provider_token(
        &self,
        network: &str,
        name: &str,
        email: &str,
    ) -> Result<String, EmulatorError> {
        let identity = model::Identity::new(&network.to_ascii_lowercase(), name, email);
        Ok(oauth::token_for(&*self.shared.store, &identity).await?)
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
