//! [`Store`] for SQLite: each method copies its arguments and runs the
//! synchronous [`Db`] method on a blocking thread ([`SqliteStore::run`], the
//! only place that hops threads).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::db::Db;
use super::file_identity::FileIdentity;
use super::pool;
use crate::model::Identity;
use crate::store::{
    AclWrite, BbLink, BbUser, FileBody, FileMeta, LinkOutcome, LoginOutcome, NewAcl, NewLogin,
    ObjectSearch, PendingLogin, SearchPage, SharedObject, SocialUser, Store, StoreError,
    StoreResult, UnlinkOutcome, Written,
};

/// The SQLite [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    db: Arc<Db>,
    /// The database file, checked by `ping`.
    file: Option<FileIdentity>,
}

impl SqliteStore {
    /// Opens (creating and migrating) the database at `path` (`:memory:`
    /// for one in memory), with file contents under `files_dir`.
    pub async fn open(path: &Path, files_dir: &Path) -> StoreResult<Self> {
        let (path, files_dir) = (path.to_path_buf(), files_dir.to_path_buf());
        let (db, file) = tokio::task::spawn_blocking(move || {
            let db = Db::open(&path)?.with_files_dir(&files_dir)?;
            Ok::<_, StoreError>((db, FileIdentity::of(&path)?))
        })
        .await
        .map_err(|e| StoreError::Invalid(format!("the database task failed: {e}")))??;
        Ok(SqliteStore {
            db: Arc::new(db),
            file,
        })
    }

    /// Runs `f` on the database on a blocking thread: SQLite calls and file
    /// moves block, and must not stall the async workers.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Db) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| StoreError::Invalid(format!("the database task failed: {e}")))?
    }

    /// Runs a short call (a session, objects by key, a small write) on the
    /// calling async worker when its connection is free at once: it takes
    /// microseconds (reads never wait for the writer over WAL; checkpoints
    /// run elsewhere), so it does not pay for two thread switches. `None`,
    /// with nothing done, when the connection is busy: the caller then goes
    /// through [`SqliteStore::run`].
    fn now<T>(&self, f: impl FnOnce(&Db) -> StoreResult<T>) -> Option<StoreResult<T>> {
        pool::without_waiting(|| f(&self.db))
    }
}

/// The most keys a `get_objects` or `put_objects` handles on the async
/// worker (more is not a short call).
const SHORT: usize = 64;

fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_owned)
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        let file = self.file.clone();
        self.run(move |db| {
            db.ping()?;
            file.map_or(Ok(()), |f| f.check())
        })
        .await
    }

    async fn upsert_app(&self, app_id: &str, api_key: &str) -> StoreResult<()> {
        let (a, k) = (app_id.to_owned(), api_key.to_owned());
        self.run(move |db| db.upsert_app(&a, &k)).await
    }

    async fn seal_app_keys(&self) -> StoreResult<()> {
        self.run(|db| db.seal_app_keys()).await
    }

    async fn create_user(&self, app_id: &str, id: &str, email: &str) -> StoreResult<()> {
        let (a, i, e) = (app_id.to_owned(), id.to_owned(), email.to_owned());
        self.run(move |db| db.create_user(&a, &i, &e)).await
    }

    async fn create_account(
        &self,
        app_id: &str,
        id: &str,
        email: Option<&str>,
        username: Option<&str>,
        password_hash: &str,
        profile: &Value,
    ) -> StoreResult<bool> {
        let (a, i, e, u) = (
            app_id.to_owned(),
            id.to_owned(),
            owned(email),
            owned(username),
        );
        let (h, p) = (password_hash.to_owned(), profile.clone());
        self.run(move |db| db.create_account(&a, &i, e.as_deref(), u.as_deref(), &h, &p))
            .await
    }

    async fn find_login(
        &self,
        app_id: &str,
        email: Option<&str>,
        username: Option<&str>,
    ) -> StoreResult<Vec<(String, Option<String>)>> {
        let (a, e, u) = (app_id.to_owned(), owned(email), owned(username));
        self.run(move |db| db.find_login(&a, e.as_deref(), u.as_deref()))
            .await
    }

    async fn update_profile(&self, app_id: &str, user_id: &str, patch: &Value) -> StoreResult<()> {
        let (a, u, p) = (app_id.to_owned(), user_id.to_owned(), patch.clone());
        self.run(move |db| db.update_profile(&a, &u, &p)).await
    }

    async fn replace_profile(
        &self,
        app_id: &str,
        user_id: &str,
        profile: &Value,
    ) -> StoreResult<bool> {
        let (a, u, p) = (app_id.to_owned(), user_id.to_owned(), profile.clone());
        self.run(move |db| db.replace_profile(&a, &u, &p)).await
    }

    async fn set_password(&self, app_id: &str, user_id: &str, hash: &str) -> StoreResult<()> {
        let (a, u, h) = (app_id.to_owned(), user_id.to_owned(), hash.to_owned());
        self.run(move |db| db.set_password(&a, &u, &h)).await
    }

    async fn set_credentials(
        &self,
        app_id: &str,
        user_id: &str,
        email: Option<&str>,
        username: Option<&str>,
    ) -> StoreResult<bool> {
        let (a, i, e, u) = (
            app_id.to_owned(),
            user_id.to_owned(),
            owned(email),
            owned(username),
        );
        self.run(move |db| db.set_credentials(&a, &i, e.as_deref(), u.as_deref()))
            .await
    }

    async fn delete_user(&self, app_id: &str, user_id: &str) -> StoreResult<()> {
        let (a, u) = (app_id.to_owned(), user_id.to_owned());
        self.run(move |db| db.delete_user(&a, &u)).await
    }

    async fn user_ids(&self, app_id: &str) -> StoreResult<Vec<String>> {
        let a = app_id.to_owned();
        self.run(move |db| db.user_ids(&a)).await
    }

    async fn user_profile(&self, app_id: &str, user_id: &str) -> StoreResult<Option<Value>> {
        let (a, u) = (app_id.to_owned(), user_id.to_owned());
        self.run(move |db| db.user_profile(&a, &u)).await
    }

    async fn create_session(
        &self,
        token_sha256: &str,
        app_id: &str,
        user_id: &str,
        expires_ms: i64,
    ) -> StoreResult<()> {
        let (t, a, u) = (
            token_sha256.to_owned(),
            app_id.to_owned(),
            user_id.to_owned(),
        );
        self.run(move |db| db.create_session(&t, &a, &u, expires_ms))
            .await
    }

    async fn session_user(&self, app_id: &str, token_sha256: &str) -> StoreResult<Option<String>> {
        if let Some(done) = self.now(|db| db.session_user(app_id, token_sha256)) {
            return done;
        }
        let (a, t) = (app_id.to_owned(), token_sha256.to_owned());
        self.run(move |db| db.session_user(&a, &t)).await
    }

    async fn delete_session(&self, token_sha256: &str) -> StoreResult<()> {
        let t = token_sha256.to_owned();
        self.run(move |db| db.delete_session(&t)).await
    }

    async fn user_sessions(
        &self,
        app_id: &str,
        user_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<(String, i64)>> {
        let (a, u) = (app_id.to_owned(), user_id.to_owned());
        self.run(move |db| db.user_sessions(&a, &u, limit)).await
    }

    async fn create_reset(
        &self,
        token_sha256: &str,
        app_id: &str,
        user_id: &str,
        expires_ms: i64,
    ) -> StoreResult<()> {
        let (t, a, u) = (
            token_sha256.to_owned(),
            app_id.to_owned(),
            user_id.to_owned(),
        );
        self.run(move |db| db.create_reset(&t, &a, &u, expires_ms))
            .await
    }

    async fn take_reset(&self, token_sha256: &str, app_id: &str) -> StoreResult<Option<String>> {
        let (t, a) = (token_sha256.to_owned(), app_id.to_owned());
        self.run(move |db| db.take_reset(&t, &a)).await
    }

    async fn get_objects(
        &self,
        app_id: &str,
        owner: &str,
        keys: Option<&[String]>,
    ) -> StoreResult<Vec<(String, Value)>> {
        if keys.is_some_and(|k| k.len() <= SHORT)
            && let Some(done) = self.now(|db| db.get_objects(app_id, owner, keys))
        {
            return done;
        }
        let (a, o, k) = (
            app_id.to_owned(),
            owner.to_owned(),
            keys.map(<[String]>::to_vec),
        );
        self.run(move |db| db.get_objects(&a, &o, k.as_deref()))
            .await
    }

    async fn search_objects(
        &self,
        app_id: &str,
        owner: &str,
        search: &ObjectSearch,
    ) -> StoreResult<SearchPage> {
        let (a, o, s) = (app_id.to_owned(), owner.to_owned(), search.clone());
        self.run(move |db| db.search_objects(&a, &o, &s)).await
    }

    async fn put_objects(
        &self,
        app_id: &str,
        owner: &str,
        objects: &Map<String, Value>,
        merge: bool,
    ) -> StoreResult<Vec<(String, Written)>> {
        if objects.len() <= SHORT
            && let Some(done) = self.now(|db| db.put_objects(app_id, owner, objects, merge))
        {
            return done;
        }
        let (a, o, m) = (app_id.to_owned(), owner.to_owned(), objects.clone());
        self.run(move |db| db.put_objects(&a, &o, &m, merge)).await
    }

    async fn delete_objects(
        &self,
        app_id: &str,
        owner: &str,
        keys: &[String],
    ) -> StoreResult<Vec<(String, bool)>> {
        let (a, o, k) = (app_id.to_owned(), owner.to_owned(), keys.to_vec());
        self.run(move |db| db.delete_objects(&a, &o, &k)).await
    }

    async fn upload_path(&self) -> StoreResult<PathBuf> {
        self.run(|db| db.upload_path()).await
    }

    async fn commit_file(
        &self,
        app_id: &str,
        owner: &str,
        meta: &FileMeta,
        tmp: &Path,
    ) -> StoreResult<Written> {
        let (a, o, m, t) = (
            app_id.to_owned(),
            owner.to_owned(),
            meta.clone(),
            tmp.to_path_buf(),
        );
        self.run(move |db| db.commit_file(&a, &o, &m, &t)).await
    }

    async fn open_file(
        &self,
        app_id: &str,
        owner: &str,
        key: &str,
    ) -> StoreResult<Option<(FileMeta, FileBody)>> {
        let (a, o, k) = (app_id.to_owned(), owner.to_owned(), key.to_owned());
        let found = self.run(move |db| db.open_file(&a, &o, &k)).await?;
        Ok(found.map(|(meta, file)| {
            let body: FileBody = Box::pin(tokio::fs::File::from_std(file));
            (meta, body)
        }))
    }

    async fn social_user(
        &self,
        app_id: &str,
        identity: &Identity,
        link_user: Option<&str>,
    ) -> StoreResult<SocialUser> {
        let (a, i, l) = (app_id.to_owned(), identity.clone(), owned(link_user));
        self.run(move |db| db.social_user(&a, &i, l.as_deref()))
            .await
    }

    async fn insert_login(&self, login: &NewLogin) -> StoreResult<bool> {
        let l = login.clone();
        self.run(move |db| db.insert_login(&l)).await
    }

    async fn login_by_state(&self, state: &str) -> StoreResult<Option<PendingLogin>> {
        let s = state.to_owned();
        self.run(move |db| db.login_by_state(&s)).await
    }

    async fn settle_login(
        &self,
        challenge: &str,
        outcome: &LoginOutcome,
        token_sha256: Option<&str>,
    ) -> StoreResult<bool> {
        let (c, o, t) = (challenge.to_owned(), outcome.clone(), owned(token_sha256));
        self.run(move |db| db.settle_login(&c, &o, t.as_deref()))
            .await
    }

    async fn take_login(&self, app_id: &str, challenge: &str) -> StoreResult<Option<PendingLogin>> {
        let (a, c) = (app_id.to_owned(), challenge.to_owned());
        self.run(move |db| db.take_login(&a, &c)).await
    }

    async fn social_logins(
        &self,
        app_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<crate::store::LoginSummary>> {
        let a = app_id.to_owned();
        self.run(move |db| db.social_logins(&a, limit)).await
    }

    async fn put_provider_token(
        &self,
        app_id: &str,
        user_id: &str,
        network: &str,
        token: &str,
    ) -> StoreResult<()> {
        let (a, u) = (app_id.to_owned(), user_id.to_owned());
        let (n, t) = (network.to_owned(), token.to_owned());
        self.run(move |db| db.put_provider_token(&a, &u, &n, &t))
            .await
    }

    async fn provider_token(
        &self,
        app_id: &str,
        user_id: &str,
        network: &str,
    ) -> StoreResult<Option<String>> {
        let (a, u, n) = (app_id.to_owned(), user_id.to_owned(), network.to_owned());
        self.run(move |db| db.provider_token(&a, &u, &n)).await
    }

    async fn bb_create_user(&self, user: &BbUser) -> StoreResult<bool> {
        let u = user.clone();
        self.run(move |db| db.bb_create_user(&u)).await
    }

    async fn bb_user(&self, username: &str) -> StoreResult<Option<BbUser>> {
        let u = username.to_owned();
        self.run(move |db| db.bb_user(&u)).await
    }

    async fn bb_create_session(
        &self,
        token_sha256: &str,
        username: &str,
        expires_ms: i64,
    ) -> StoreResult<()> {
        let (t, u) = (token_sha256.to_owned(), username.to_owned());
        self.run(move |db| db.bb_create_session(&t, &u, expires_ms))
            .await
    }

    async fn bb_session_user(&self, token_sha256: &str) -> StoreResult<Option<String>> {
        let t = token_sha256.to_owned();
        self.run(move |db| db.bb_session_user(&t)).await
    }

    async fn bb_delete_session(&self, token_sha256: &str) -> StoreResult<()> {
        let t = token_sha256.to_owned();
        self.run(move |db| db.bb_delete_session(&t)).await
    }

    async fn bb_links(&self, username: &str) -> StoreResult<Vec<BbLink>> {
        let u = username.to_owned();
        self.run(move |db| db.bb_links(&u)).await
    }

    async fn bb_social_login(
        &self,
        link: &BbLink,
        new_user: &BbUser,
    ) -> StoreResult<(String, bool)> {
        let (l, u) = (link.clone(), new_user.clone());
        self.run(move |db| db.bb_social_login(&l, &u)).await
    }

    async fn bb_link(&self, username: &str, link: &BbLink) -> StoreResult<LinkOutcome> {
        let (u, l) = (username.to_owned(), link.clone());
        self.run(move |db| db.bb_link(&u, &l)).await
    }

    async fn bb_unlink(&self, username: &str, network: &str) -> StoreResult<UnlinkOutcome> {
        let (u, n) = (username.to_owned(), network.to_owned());
        self.run(move |db| db.bb_unlink(&u, &n)).await
    }

    async fn put_acl(
        &self,
        app_id: &str,
        owner: &str,
        acl: &NewAcl,
        create: bool,
    ) -> StoreResult<AclWrite> {
        let (a, o, acl) = (app_id.to_owned(), owner.to_owned(), acl.clone());
        self.run(move |db| db.put_acl(&a, &o, &acl, create)).await
    }

    async fn acls(
        &self,
        app_id: &str,
        owner: &str,
        ids: Option<&[String]>,
    ) -> StoreResult<Vec<(String, Value)>> {
        let (a, o, i) = (
            app_id.to_owned(),
            owner.to_owned(),
            ids.map(<[String]>::to_vec),
        );
        self.run(move |db| db.acls(&a, &o, i.as_deref())).await
    }

    async fn delete_acl(&self, app_id: &str, owner: &str, id: &str) -> StoreResult<bool> {
        let (a, o, i) = (app_id.to_owned(), owner.to_owned(), id.to_owned());
        self.run(move |db| db.delete_acl(&a, &o, &i)).await
    }

    async fn shared_objects(
        &self,
        app_id: &str,
        member: &str,
        keys: Option<&[String]>,
    ) -> StoreResult<Vec<SharedObject>> {
        let (a, m, k) = (
            app_id.to_owned(),
            member.to_owned(),
            keys.map(<[String]>::to_vec),
        );
        self.run(move |db| db.shared_objects(&a, &m, k.as_deref()))
            .await
    }
}
