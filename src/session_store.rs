//! Where a login is kept between runs: the [`SessionStore`] trait and its
//! stores. What is stored: the session token, the user id, the expiry —
//! nothing else. Entries are keyed by API root and app id, so two apps never
//! see each other's session.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Map, Value, json};

use crate::secret::SessionToken;
use crate::{Error, Result};

/// A saved login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// The session token (redacted in `Debug`).
    pub session_token: SessionToken,
    /// The user's id, when known.
    pub user_id: Option<String>,
    /// When the session expires (an HTTP date), when known.
    pub expires: Option<String>,
    /// The email the session's login used, when it used one.
    pub email: Option<String>,
    /// The username the session's login used, when it used one.
    pub username: Option<String>,
}

impl StoredSession {
    /// The stored form: `{"session_token", "user_id", "expires", "email",
    /// "username"}` (the last two only when known).
    fn to_json(&self) -> Value {
        let mut out = json!({
            "session_token": self.session_token.secret(),
            "user_id": self.user_id,
            "expires": self.expires,
        });
        for (name, value) in [("email", &self.email), ("username", &self.username)] {
            if let Some(v) = value {
                out[name] = Value::from(v.as_str());
            }
        }
        out
    }

    /// Reads the stored form; `None` when it has no token.
    fn from_json(value: &Value) -> Option<Self> {
        let token = value
            .get("session_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())?;
        let text = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
        Some(StoredSession {
            session_token: SessionToken::new(token),
            user_id: text("user_id"),
            expires: text("expires"),
            email: text("email"),
            username: text("username"),
        })
    }
}

/// Which entry a client uses: its API root and app id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoreKey {
    api_root: String,
    app_id: String,
}

impl StoreKey {
    /// The key for an API root and app id.
    pub fn new(api_root: impl Into<String>, app_id: impl Into<String>) -> Self {
        StoreKey {
            api_root: api_root.into().trim_end_matches('/').to_owned(),
            app_id: app_id.into(),
        }
    }

    /// The API root.
    pub fn api_root(&self) -> &str {
        &self.api_root
    }

    /// The app id.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// One string for stores keyed by text: `{app_id}@{api_root}`.
    pub fn as_account(&self) -> String {
        format!("{}@{}", self.app_id, self.api_root)
    }
}

/// Keeps logins between runs. Calls may block (a keychain is IPC): the SDK
/// calls stores off the async runtime's threads.
pub trait SessionStore: Send + Sync + 'static {
    /// A short name for errors ("file", "keyring", "memory").
    fn name(&self) -> &'static str;
    /// The saved session for `key`, if any. A store that cannot be read is an
    /// [`Error::SessionStore`], never "nothing saved".
    fn load(&self, key: &StoreKey) -> Result<Option<StoredSession>>;
    /// Saves (replaces) the session for `key`.
    fn save(&self, key: &StoreKey, session: &StoredSession) -> Result<()>;
    /// Forgets the session for `key` (nothing saved is fine).
    fn clear(&self, key: &StoreKey) -> Result<()>;
}

/// A shared store: several clients (or a client and the app) can use one.
impl<S: SessionStore + ?Sized> SessionStore for std::sync::Arc<S> {
    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn load(&self, key: &StoreKey) -> Result<Option<StoredSession>> {
        (**self).load(key)
    }

    fn save(&self, key: &StoreKey, session: &StoredSession) -> Result<()> {
        (**self).save(key, session)
    }

    fn clear(&self, key: &StoreKey) -> Result<()> {
        (**self).clear(key)
    }
}

pub(crate) fn store_error(store: &'static str, message: impl Into<String>) -> Error {
    Error::session_store(store, message)
}

/// Sessions in memory, for tests and short-lived programs.
#[derive(Debug, Default)]
pub struct MemoryStore {
    sessions: Mutex<HashMap<StoreKey, StoredSession>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl SessionStore for MemoryStore {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn load(&self, key: &StoreKey) -> Result<Option<StoredSession>> {
        Ok(self
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned())
    }

    fn save(&self, key: &StoreKey, session: &StoredSession) -> Result<()> {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), session.clone());
        Ok(())
    }

    fn clear(&self, key: &StoreKey) -> Result<()> {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
        Ok(())
    }
}

/// Sessions in one JSON file, for machines without a keychain (servers,
/// containers). The file is created with mode 0600 and replaced atomically
/// (write a temporary file, then rename). A file that cannot be parsed is an
/// error on load and is left as it is until a new login replaces it.
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
}

impl FileStore {
    /// A store in the file at `path` (created on first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileStore { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<Map<String, Value>> {
        let text = match fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
            Err(e) => {
                return Err(store_error(
                    "file",
                    format!("cannot read {}: {e}", self.path.display()),
                ));
            }
        };
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(mut root)) => match root.remove("sessions") {
                Some(Value::Object(sessions)) => Ok(sessions),
                None => Ok(Map::new()),
                Some(_) => Err(self.corrupt("\"sessions\" is not an object")),
            },
            Ok(_) => Err(self.corrupt("it is not a JSON object")),
            Err(e) => Err(self.corrupt(&e.to_string())),
        }
    }

    fn corrupt(&self, why: &str) -> Error {
        store_error(
            "file",
            format!(
                "{} is not a session file ({why}); it is left untouched until the next login replaces it",
                self.path.display()
            ),
        )
    }

    fn write(&self, sessions: Map<String, Value>) -> Result<()> {
        let fail = |what: &str, e: std::io::Error| {
            store_error(
                "file",
                format!("cannot {what} {}: {e}", self.path.display()),
            )
        };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| fail("create the folder of", e))?;
        }
        let tmp = self
            .path
            .with_extension(format!("tmp{}", std::process::id()));
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let body = json!({ "sessions": sessions }).to_string();
        let mut file = options.open(&tmp).map_err(|e| fail("write", e))?;
        file.write_all(body.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| fail("write", e))?;
        drop(file);
        fs::rename(&tmp, &self.path).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            fail("replace", e)
        })
    }
}

impl SessionStore for FileStore {
    fn name(&self) -> &'static str {
        "file"
    }

    fn load(&self, key: &StoreKey) -> Result<Option<StoredSession>> {
        let sessions = self.read()?;
        let Some(entry) = sessions.get(&key.as_account()) else {
            return Ok(None);
        };
        StoredSession::from_json(entry)
            .map(Some)
            .ok_or_else(|| self.corrupt("an entry has no session_token"))
    }

    fn save(&self, key: &StoreKey, session: &StoredSession) -> Result<()> {
        // A login just succeeded: a corrupt file is replaced now.
        let mut sessions = self.read().unwrap_or_default();
        sessions.insert(key.as_account(), session.to_json());
        self.write(sessions)
    }

    fn clear(&self, key: &StoreKey) -> Result<()> {
        let mut sessions = self.read()?;
        if sessions.remove(&key.as_account()).is_some() {
            self.write(sessions)?;
        }
        Ok(())
    }
}

/// Sessions in the OS keychain, through the `keyring` crate: Keychain on
/// macOS, Credential Manager on Windows, the Secret Service (GNOME Keyring,
/// KWallet) on Linux. One item per app: service `cloudmine` (or your own),
/// account `{app_id}@{api_root}`, secret `{"session_token", "user_id", "expires"}`.
///
/// A keychain that is absent, locked, or refuses access is an
/// [`Error::SessionStore`] that says so; nothing falls back to a file.
/// On headless Linux the Secret Service needs a D-Bus session and an
/// unlocked collection (`dbus-run-session` and
/// `gnome-keyring-daemon --unlock --components=secrets`).
#[cfg(feature = "keyring")]
#[cfg_attr(docsrs, doc(cfg(feature = "keyring")))]
#[derive(Debug, Clone)]
pub struct KeyringStore {
    service: String,
}

#[cfg(feature = "keyring")]
impl Default for KeyringStore {
    fn default() -> Self {
        KeyringStore {
            service: "cloudmine".into(),
        }
    }
}

#[cfg(feature = "keyring")]
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

    fn entry(&self, key: &StoreKey) -> Result<keyring::Entry> {
        keyring::Entry::new(&self.service, &key.as_account()).map_err(keyring_error)
    }
}

/// A keyring error as ours. Some variants carry the stored bytes: their text
/// is never used.
#[cfg(feature = "keyring")]
fn keyring_error(e: keyring::Error) -> Error {
    use keyring::Error as K;
    let message = match e {
        K::NoDefaultStore => "no keychain is available here (on Linux: a Secret Service such as \
             gnome-keyring, running in a D-Bus session)"
            .to_owned(),
        K::NoStorageAccess(p) => format!("the keychain refused access (is it locked?): {p}"),
        K::PlatformFailure(p) => format!("the keychain failed: {p}"),
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

#[cfg(feature = "keyring")]
impl SessionStore for KeyringStore {
    fn name(&self) -> &'static str {
        "keyring"
    }

    fn load(&self, key: &StoreKey) -> Result<Option<StoredSession>> {
        let text = match self.entry(key)?.get_password() {
            Ok(t) => t,
            Err(keyring::Error::NoEntry) => return Ok(None),
            Err(e) => return Err(keyring_error(e)),
        };
        let value: Value = serde_json::from_str(&text)
            .map_err(|_| store_error("keyring", "the stored item is not a cloudmine session"))?;
        StoredSession::from_json(&value)
            .map(Some)
            .ok_or_else(|| store_error("keyring", "the stored item has no session token"))
    }

    fn save(&self, key: &StoreKey, session: &StoredSession) -> Result<()> {
        let secret = session.to_json().to_string();
        self.entry(key)?
            .set_password(&secret)
            .map_err(keyring_error)
    }

    fn clear(&self, key: &StoreKey) -> Result<()> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(token: &str) -> StoredSession {
        StoredSession {
            session_token: SessionToken::new(token),
            user_id: Some("u1".into()),
            expires: None,
            email: Some("ada@example.com".into()),
            username: None,
        }
    }

    #[test]
    fn memory_store_keys_by_root_and_app() {
        let store = MemoryStore::new();
        let a = StoreKey::new("http://h/", "app1");
        let b = StoreKey::new("http://h", "app2");
        let c = StoreKey::new("http://other", "app1");
        store.save(&a, &session("t1")).unwrap();
        assert_eq!(
            store.load(&StoreKey::new("http://h", "app1")).unwrap(),
            Some(session("t1"))
        );
        assert_eq!(store.load(&b).unwrap(), None);
        assert_eq!(store.load(&c).unwrap(), None);
        store.clear(&a).unwrap();
        assert_eq!(store.load(&a).unwrap(), None);
    }

    #[cfg(unix)]
    #[test]
    fn file_store_is_private_atomic_and_refuses_corrupt_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("sessions.json");
        let store = FileStore::new(&path);
        let key = StoreKey::new("http://h", "app");
        assert_eq!(store.load(&key).unwrap(), None, "no file: nothing saved");
        store.save(&key, &session("secret-token")).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(store.load(&key).unwrap(), Some(session("secret-token")));
        let other = StoreKey::new("http://h", "other-app");
        store.save(&other, &session("t2")).unwrap();
        store.clear(&key).unwrap();
        assert_eq!(store.load(&key).unwrap(), None);
        assert_eq!(store.load(&other).unwrap(), Some(session("t2")));
        assert!(
            fs::read_dir(path.parent().unwrap()).unwrap().count() == 1,
            "no temporary file left"
        );

        fs::write(&path, "{not json").unwrap();
        let e = store.load(&other).unwrap_err();
        assert!(
            matches!(e, Error::SessionStore { store: "file", .. }),
            "{e}"
        );
        assert!(store.clear(&other).is_err());
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "{not json",
            "left untouched"
        );
        store.save(&other, &session("t3")).unwrap();
        assert_eq!(
            store.load(&other).unwrap(),
            Some(session("t3")),
            "a new login replaces it"
        );
        assert!(!format!("{e}").contains("t2"));
    }
}
