//! [`KeyringStore`]: sessions in the OS keychain. Keychain on macOS and
//! Credential Manager on Windows through the `keyring` crate; the Secret
//! Service elsewhere through libsecret's `secret-tool` ([`super::secret_tool`]),
//! which keeps a D-Bus stack and a second async runtime out of the build.

use serde_json::Value;

use super::base::{SessionStore, StoreKey, StoredSession, store_error};
use crate::Result;

/// Sessions in the OS keychain: Keychain on macOS, Credential Manager on
/// Windows (both through the `keyring` crate), the Secret Service (GNOME
/// Keyring, KWallet) on Linux and the BSDs (through libsecret's
/// `secret-tool`, which must be installed: package `libsecret-tools` on
/// Debian and Ubuntu, `libsecret` elsewhere). One item per app: service
/// `cloudmine` (or your own), account (attribute `username`)
/// `{app_id}@{api_root}`, secret `{"session_token", "user_id", "expires"}`.
///
/// A keychain that is absent, locked, or refuses access is an
/// [`Error::SessionStore`](crate::Error::SessionStore) that says so and what
/// to do; nothing falls back to a file unless the app chains one
/// ([`ChainStore`](crate::ChainStore)). On headless Linux the Secret Service
/// needs a D-Bus session and an unlocked collection (`dbus-run-session` and
/// `gnome-keyring-daemon --unlock --components=secrets`).
///
/// ```no_run
/// use cloudmine::{KeyringStore, WebService};
/// # fn demo() -> cloudmine::Result<()> {
/// let ws = WebService::builder()
///     .app_id("my-app-id")
///     .api_key("my-api-key")
///     .savelogin(true)
///     .session_store(KeyringStore::with_service("my-app"))
///     .build()?;
/// # Ok(()) }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "keyring")))]
#[derive(Debug, Clone)]
pub struct KeyringStore {
    service: String,
}

impl Default for KeyringStore {
    fn default() -> Self {
        KeyringStore {
            service: "cloudmine".into(),
        }
    }
}

impl KeyringStore {
    /// Items under the service name `cloudmine`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Items under another service name (one per application, say).
    pub fn with_service(service: impl Into<String>) -> Self {
        KeyringStore {
            service: service.into(),
        }
    }

    /// The service name items are stored under.
    pub fn service(&self) -> &str {
        &self.service
    }
}

impl SessionStore for KeyringStore {
    fn name(&self) -> &'static str {
        "keyring"
    }

    fn load(&self, key: &StoreKey) -> Result<Option<StoredSession>> {
        let Some(text) = backend::lookup(&self.service, &key.as_account())? else {
            return Ok(None);
        };
        let value: Value = serde_json::from_str(&text)
            .map_err(|_| store_error("keyring", "the stored item is not a cloudmine session"))?;
        StoredSession::from_json(&value)
            .map(Some)
            .ok_or_else(|| store_error("keyring", "the stored item has no session token"))
    }

    fn save(&self, key: &StoreKey, session: &StoredSession) -> Result<()> {
        let secret = session.to_json().to_string();
        backend::store(&self.service, &key.as_account(), &secret)
    }

    fn clear(&self, key: &StoreKey) -> Result<()> {
        backend::clear(&self.service, &key.as_account())
    }
}

#[cfg(not(any(target_os = "macos", target_os = "windows")))]
use super::secret_tool as backend;

/// The platform keychain through the `keyring` crate.
#[cfg(any(target_os = "macos", target_os = "windows"))]
mod backend {
    use crate::session_store::base::store_error;
    use crate::{Error, Result};

    const NO_KEYCHAIN_HELP: &str = "unlock the keychain, or keep sessions in a file with \
        FileStore, or fall back to one explicitly with ChainStore::new([keyring, file])";

    fn entry(service: &str, account: &str) -> Result<keyring::Entry> {
        keyring::Entry::new(service, account).map_err(keyring_error)
    }

    /// A keyring error as ours. Some variants carry the stored bytes: their
    /// text is never used.
    fn keyring_error(e: keyring::Error) -> Error {
        use keyring::Error as K;
        let message = match e {
            K::NoDefaultStore => format!("no keychain is available here; {NO_KEYCHAIN_HELP}"),
            K::NoStorageAccess(p) => {
                format!("the keychain refused access (is it locked?): {p}; {NO_KEYCHAIN_HELP}")
            }
            K::PlatformFailure(p) => format!("the keychain failed: {p}; {NO_KEYCHAIN_HELP}"),
            K::BadEncoding(_) | K::BadDataFormat(..) => {
                "the stored item is not a cloudmine session".to_owned()
            }
            K::TooLong(what, max) => format!("{what} is longer than the keychain allows ({max})"),
            K::Ambiguous(_) => "several keychain items match this app".to_owned(),
            K::Invalid(what, why) => format!("{what} is invalid: {why}"),
            _ => "the keychain failed".to_owned(),
        };
        store_error("keyring", message)
    }

    pub(super) fn lookup(service: &str, account: &str) -> Result<Option<String>> {
        match entry(service, account)?.get_password() {
            Ok(t) => Ok(Some(t)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(e)),
        }
    }

    pub(super) fn store(service: &str, account: &str, secret: &str) -> Result<()> {
        entry(service, account)?
            .set_password(secret)
            .map_err(keyring_error)
    }

    pub(super) fn clear(service: &str, account: &str) -> Result<()> {
        match entry(service, account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(e)),
        }
    }
}
