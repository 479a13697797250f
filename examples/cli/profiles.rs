//! Profiles: several accounts side by side in one session store, and the
//! small config file that names them and says which one is the default.
//!
//! A profile's session is its own store entry: the profile name is folded
//! into the [`StoreKey`]'s app id (`{app_id}#profile={name}`), so the OS
//! keychain and a `--session-file` both keep one entry per profile without
//! knowing about profiles. The profile `default` uses the plain key, so a
//! session saved before profiles existed is still found. The config file
//! holds profile names only, never a token.

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cloudmine::{SessionStore, StoreKey, StoredSession};
use serde_json::{Value, json};

/// The profile used when none is given and none was made the default.
pub const DEFAULT_PROFILE: &str = "default";
/// The longest profile name.
const MAX_NAME: usize = 32;
/// The largest config file read (it holds a few names).
const MAX_CONFIG_BYTES: u64 = 64 * 1024;

/// Checks a profile name: 1 to 32 ASCII letters, digits, `-` or `_`,
/// starting with a letter or digit.
pub fn check_name(name: &str) -> Result<&str, String> {
    let ok = (1..=MAX_NAME).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(name)
    } else {
        Err(format!(
            "invalid profile name {name:?}: use 1 to {MAX_NAME} ASCII letters, digits, '-' or '_', starting with a letter or digit"
        ))
    }
}

/// The store key of `profile` for a client whose own key is `key`.
pub fn profile_key(key: &StoreKey, profile: &str) -> StoreKey {
    if profile == DEFAULT_PROFILE {
        return key.clone();
    }
    StoreKey::new(
        key.api_root(),
        format!("{}#profile={profile}", key.app_id()),
    )
}

/// A store that keeps one profile's session in another store.
pub struct ProfileStore {
    inner: Arc<dyn SessionStore>,
    profile: String,
}

impl ProfileStore {
    /// `profile`'s entries in `inner`.
    pub fn new(inner: Arc<dyn SessionStore>, profile: &str) -> Self {
        ProfileStore {
            inner,
            profile: profile.to_owned(),
        }
    }
}

impl SessionStore for ProfileStore {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn load(&self, key: &StoreKey) -> cloudmine::Result<Option<StoredSession>> {
        self.inner.load(&profile_key(key, &self.profile))
    }

    fn save(&self, key: &StoreKey, session: &StoredSession) -> cloudmine::Result<()> {
        self.inner.save(&profile_key(key, &self.profile), session)
    }

    fn clear(&self, key: &StoreKey) -> cloudmine::Result<()> {
        self.inner.clear(&profile_key(key, &self.profile))
    }
}

/// Who a saved session is, for people: "email (user id)", or what is known.
pub fn describe(session: &StoredSession) -> String {
    let name = session.email.as_deref().or(session.username.as_deref());
    match (name, session.user_id.as_deref()) {
        (Some(n), Some(id)) => format!("{n} ({id})"),
        (Some(n), None) => n.to_owned(),
        (None, Some(id)) => id.to_owned(),
        (None, None) => "?".to_owned(),
    }
}

/// Where the config file is: `explicit`, else next to the session file
/// (`session.json` → `session.profiles.json`), else the user's config dir.
pub fn config_path(
    explicit: Option<&Path>,
    session_file: Option<&Path>,
) -> Result<PathBuf, String> {
    if let Some(path) = explicit {
        return Ok(path.to_owned());
    }
    if let Some(file) = session_file {
        let stem = file.file_stem().unwrap_or_default().to_string_lossy();
        return Ok(file.with_file_name(format!("{stem}.profiles.json")));
    }
    let env_dir = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let dir = env_dir("XDG_CONFIG_HOME")
        .or_else(|| env_dir("APPDATA"))
        .or_else(|| env_dir("HOME").map(|h| h.join(".config")))
        .ok_or("no config directory: set XDG_CONFIG_HOME or pass --config FILE")?;
    Ok(dir.join("cloudmine-cli").join("profiles.json"))
}

/// The profiles that are logged in, and the default one.
#[derive(Debug, Default)]
pub struct Config {
    path: PathBuf,
    /// The profile commands use without `--profile`.
    pub default: Option<String>,
    /// The profiles logged in through this CLI.
    pub profiles: BTreeSet<String>,
}

impl Config {
    /// Reads the file at `path` (none yet: no profiles).
    pub fn load(path: PathBuf) -> Result<Config, String> {
        let file = match fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Config {
                    path,
                    ..Config::default()
                });
            }
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let mut text = String::new();
        file.take(MAX_CONFIG_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if text.len() as u64 > MAX_CONFIG_BYTES {
            return Err(format!(
                "{} is over {MAX_CONFIG_BYTES} bytes",
                path.display()
            ));
        }
        let bad = |why: &str| format!("{} is not a profiles file: {why}", path.display());
        let value: Value = serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
        let names = |v: Option<&Value>| -> Option<BTreeSet<String>> {
            v?.as_array()?
                .iter()
                .map(|n| {
                    n.as_str()
                        .filter(|n| check_name(n).is_ok())
                        .map(str::to_owned)
                })
                .collect()
        };
        let profiles = names(value.get("profiles"))
            .ok_or_else(|| bad("\"profiles\" is not a list of names"))?;
        let default = match value.get("default") {
            None | Some(Value::Null) => None,
            Some(Value::String(d)) if check_name(d).is_ok() => Some(d.clone()),
            Some(_) => return Err(bad("\"default\" is not a profile name")),
        };
        Ok(Config {
            path,
            default,
            profiles,
        })
    }

    /// The profile commands use without `--profile`.
    pub fn default_profile(&self) -> &str {
        self.default.as_deref().unwrap_or(DEFAULT_PROFILE)
    }

    /// Whether `name` can be used by commands other than `login`.
    pub fn knows(&self, name: &str) -> bool {
        name == DEFAULT_PROFILE || self.profiles.contains(name)
    }

    /// The error for a profile this CLI never logged in.
    pub fn unknown(&self, name: &str) -> String {
        let known: Vec<&str> = self.profiles.iter().map(String::as_str).collect();
        let known = if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        };
        format!(
            "unknown profile {name:?} (known profiles: {known}); log in with `login --profile {name}`"
        )
    }

    /// Writes the file (private, replaced atomically).
    pub fn save(&self) -> Result<(), String> {
        let fail =
            |what: &str, e: std::io::Error| format!("cannot {what} {}: {e}", self.path.display());
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| fail("create the folder of", e))?;
        }
        let text = json!({"default": self.default, "profiles": self.profiles}).to_string();
        let tmp = self
            .path
            .with_extension(format!("tmp{}", std::process::id()));
        let mut file = create_private(&tmp).map_err(|e| fail("write", e))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| fail("write", e))?;
        drop(file);
        fs::rename(&tmp, &self.path).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            fail("replace", e)
        })
    }
}

/// Creates `tmp` afresh, mode 0600, never through a file or symlink that
/// someone planted there (a leftover is removed first; one that cannot be
/// removed is an error).
fn create_private(tmp: &Path) -> std::io::Result<fs::File> {
    let open = || {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(tmp)
    };
    match open() {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            fs::remove_file(tmp)?;
            open()
        }
        other => other,
    }
}
