//! What is in flight between requests, kept in the database so any
//! instance serving it can pick it up: link tickets, device and paste-back
//! logins, the built-in identity provider's codes and access tokens, and
//! what the emulator "sent" (mails, pushes).
//!
//! [`InFlight`] is a supertrait of [`Store`](super::Store). Its methods
//! are plain storage: each is atomic (one transaction), bounded by the
//! limits it is given, and takes expiry as milliseconds since the epoch.
//! Secrets (tickets, challenges, codes, tokens) arrive as their SHA-256
//! only. What is checked and what a refusal says stays in the handler-side
//! layers (`tickets.rs`, `device.rs`, `oauth.rs`), once for every backend.

use serde_json::Value;

use super::error::{StoreError, StoreResult};
use crate::model::Identity;

/// A link ticket to keep (PROTOCOL.md §4).
#[derive(Debug, Clone)]
pub struct NewTicket {
    /// SHA-256 of the ticket (the ticket itself is never kept).
    pub ticket_sha256: String,
    /// The app it was issued in.
    pub app_id: String,
    /// What redeeming it gives.
    pub of: TicketOf,
    /// When it stops being redeemable.
    pub expires_ms: i64,
}

/// What a redeemed link ticket stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketOf {
    /// The user the ticket was issued to.
    pub user_id: String,
    /// SHA-256 of the session it was issued for (still to be checked).
    pub session_sha256: String,
}

/// How many link tickets are kept: beyond either bound the oldest (of that
/// user, or of all) is dropped to make room.
#[derive(Debug, Clone, Copy)]
pub struct TicketLimits {
    /// Per user of an app.
    pub per_user: usize,
    /// In the whole database.
    pub total: usize,
}

/// A device or paste-back login to keep.
#[derive(Debug, Clone)]
pub struct DeviceEntry {
    /// SHA-256 of the login's challenge.
    pub challenge_sha256: String,
    /// The app it was started in.
    pub app_id: String,
    /// `device` or `paste`.
    pub kind: String,
    /// The PKCE code challenge its status calls must match.
    pub code_challenge: String,
    /// When it is forgotten.
    pub expires_ms: i64,
}

/// Bounds on device and paste-back logins kept.
#[derive(Debug, Clone, Copy)]
pub struct DeviceLimits {
    /// Not yet settled, per app.
    pub pending_per_app: usize,
    /// Settled or not, per app.
    pub kept_per_app: usize,
    /// In the whole database.
    pub total: usize,
}

/// What [`InFlight::device_reserve`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    /// Kept.
    Yes,
    /// Not kept: a bound of [`DeviceLimits`] is reached.
    Full,
    /// Not kept: this challenge is already there.
    Taken,
}

/// An authorization code of the built-in identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The client it was issued to.
    pub client_id: String,
    /// The redirect URI it was issued for.
    pub redirect_uri: String,
    /// Who consented.
    pub identity: Identity,
    /// The PKCE challenge the code's redemption must match, if any.
    pub code_challenge: Option<String>,
}

/// Which log of things "sent" an item belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentKind {
    /// Mails (password resets).
    Mail,
    /// Push notifications.
    Push,
}

impl SentKind {
    /// The name stored with each item.
    pub fn as_str(self) -> &'static str {
        match self {
            SentKind::Mail => "mail",
            SentKind::Push => "push",
        }
    }
}

/// What is in flight between requests (see the module's documentation).
#[async_trait::async_trait]
pub trait InFlight: Send + Sync {
    /// Keeps a link ticket (dropping expired ones, and the oldest beyond
    /// `limits`).
    async fn ticket_issue(
        &self,
        ticket: &NewTicket,
        limits: TicketLimits,
        now_ms: i64,
    ) -> StoreResult<()>;
    /// Takes a live ticket of `app_id` out, once. A ticket of another app
    /// stays where it is.
    async fn ticket_redeem(
        &self,
        app_id: &str,
        ticket_sha256: &str,
        now_ms: i64,
    ) -> StoreResult<Option<TicketOf>>;

    /// Keeps a device or paste-back login within `limits` (expired ones
    /// dropped first).
    async fn device_reserve(
        &self,
        entry: &DeviceEntry,
        limits: DeviceLimits,
        now_ms: i64,
    ) -> StoreResult<Reserved>;
    /// Forgets a login (of `app_id` only, when given).
    async fn device_forget(&self, app_id: Option<&str>, challenge_sha256: &str) -> StoreResult<()>;
    /// Marks a live login of `app_id` settled; its kind.
    async fn device_settle(
        &self,
        app_id: &str,
        challenge_sha256: &str,
        now_ms: i64,
    ) -> StoreResult<Option<String>>;
    /// The code challenge of a login of `app_id`, if it is one.
    async fn device_code_challenge(
        &self,
        app_id: &str,
        challenge_sha256: &str,
    ) -> StoreResult<Option<String>>;
    /// Counts a wrong verifier; at `max_attempts` the login is forgotten and
    /// `true` returned.
    async fn device_miss(
        &self,
        app_id: &str,
        challenge_sha256: &str,
        max_attempts: u32,
    ) -> StoreResult<bool>;

    /// Keeps a provider code (expired ones dropped, the oldest beyond `cap`).
    async fn grant_issue(
        &self,
        code_sha256: &str,
        grant: &Grant,
        expires_ms: i64,
        cap: usize,
    ) -> StoreResult<()>;
    /// Takes a live provider code out, once.
    async fn grant_take(&self, code_sha256: &str, now_ms: i64) -> StoreResult<Option<Grant>>;
    /// Keeps a provider access token (expired ones dropped, the oldest
    /// beyond `cap`).
    async fn idp_token_issue(
        &self,
        token_sha256: &str,
        identity: &Identity,
        expires_ms: i64,
        cap: usize,
    ) -> StoreResult<()>;
    /// The identity of a live provider access token.
    async fn idp_token_identity(
        &self,
        token_sha256: &str,
        now_ms: i64,
    ) -> StoreResult<Option<Identity>>;

    /// Appends to a log of things sent, keeping the newest `cap` of that kind.
    async fn sent_append(
        &self,
        kind: SentKind,
        app_id: &str,
        item: &Value,
        cap: usize,
    ) -> StoreResult<()>;
    /// The items of a log (of `app_id`, or every app's), oldest first.
    async fn sent_read(&self, kind: SentKind, app_id: Option<&str>) -> StoreResult<Vec<Value>>;
}

/// An [`Identity`] as stored: a JSON object.
pub(crate) fn identity_json(identity: &Identity) -> String {
    serde_json::json!({
        "id": identity.id,
        "name": identity.name,
        "email": identity.email,
        "network": identity.network,
    })
    .to_string()
}

/// An [`Identity`] read back; an error for a malformed row.
pub(crate) fn identity_of(text: &str) -> StoreResult<Identity> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| StoreError::Invalid(format!("a stored identity: {e}")))?;
    let field = |name: &str| {
        v.get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| StoreError::Invalid(format!("a stored identity lacks {name}")))
    };
    Ok(Identity {
        id: field("id")?,
        name: field("name")?,
        email: field("email")?,
        network: field("network")?,
    })
}

/// A count bound as SQL's integer.
pub(crate) fn as_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
