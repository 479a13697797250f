//! One database for several emulators, on the backend the tests run on
//! (`CLOUDMINE_TEST_DB`): a SQLite file in a temporary directory, or one
//! fresh schema of the test PostgreSQL server whose URL every instance is
//! given. Two instances on it behave as two behind a load balancer.

use cloudmine_emulator::EmulatorBuilder;

use super::postgres;

/// A database several instances open: its `--db` value, and the directory
/// that holds a SQLite file (removed when this is dropped).
pub struct SharedDb {
    /// The `--db` value (a file path or a `postgres://` URL).
    pub db: String,
    /// Whether it is PostgreSQL.
    pub postgres: bool,
    _dir: tempfile::TempDir,
}

impl SharedDb {
    /// A fresh database on the tests' backend (PostgreSQL when
    /// `CLOUDMINE_TEST_DB=postgres` and one can be started, else SQLite).
    pub fn new() -> SharedDb {
        let dir = tempfile::tempdir().unwrap();
        if postgres::requested()
            && let Some(url) = postgres::fresh_url()
        {
            return SharedDb {
                db: url,
                postgres: true,
                _dir: dir,
            };
        }
        let file = dir.path().join("shared.db");
        SharedDb {
            db: file.to_str().expect("a UTF-8 temporary path").to_owned(),
            postgres: false,
            _dir: dir,
        }
    }

    /// A fresh PostgreSQL schema whatever the tests' backend, for the tests
    /// that are about PostgreSQL; `None` outside CI when none can be
    /// started (on CI that panics, see [`postgres::fresh_url`]).
    pub fn postgres() -> Option<SharedDb> {
        let url = postgres::fresh_url()?;
        Some(SharedDb {
            db: url,
            postgres: true,
            _dir: tempfile::tempdir().unwrap(),
        })
    }

    /// `Emulator::builder()` on this database.
    pub fn builder(&self) -> EmulatorBuilder {
        cloudmine_emulator::Emulator::builder().database(self.db.as_str())
    }

    /// The schema of a PostgreSQL URL (from its `search_path` option).
    pub fn schema(&self) -> Option<&str> {
        let (_, rest) = self.db.split_once("search_path%3D")?;
        Some(rest.split('&').next().unwrap_or(rest))
    }
}

/// Two instances on one [`SharedDb`]; B's public URL is A's, so both put
/// the same callback in their redirects, as behind one load balancer.
pub struct Pair {
    /// The first instance.
    pub a: cloudmine_emulator::Emulator,
    /// The second instance.
    pub b: cloudmine_emulator::Emulator,
    /// Their database (kept for as long as they run).
    pub db: SharedDb,
}

impl Pair {
    /// Starts A, then B, each from `configure(builder on the database)`.
    pub async fn start(configure: impl Fn(EmulatorBuilder) -> EmulatorBuilder) -> Pair {
        let db = SharedDb::new();
        let a = configure(db.builder()).start().await.unwrap();
        let b = configure(db.builder())
            .public_url(a.base_url())
            .start()
            .await
            .unwrap();
        Pair { a, b, db }
    }

    /// `url` (on A, as every redirect names A) sent to B instead.
    pub fn on_b(&self, url: &str) -> String {
        assert!(url.starts_with(&self.a.base_url()), "{url}");
        url.replacen(&self.a.base_url(), &self.b.base_url(), 1)
    }
}
