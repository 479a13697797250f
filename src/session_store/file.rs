//! [`FileStore`]: sessions in one private JSON file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::base::{SessionStore, StoreKey, StoredSession, store_error};
use crate::{Error, Result};

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
        let body = json!({ "sessions": sessions }).to_string();
        let mut file = create_private(&tmp).map_err(|e| fail("write", e))?;
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

/// Creates `tmp` afresh, mode 0600: never through a file or symlink already
/// there (another user may have planted one to read the sessions or to make
/// this write over a file of the victim's). A leftover is removed first; one
/// that cannot be removed (another user's, in a shared folder) is an error.
fn create_private(tmp: &std::path::Path) -> std::io::Result<fs::File> {
    let open = || {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::session_store::base::sample_session as session;

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
