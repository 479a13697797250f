//! Storage behind a trait: every read and write the handlers make, as async
//! methods of [`Store`], and the data they exchange (`types.rs`). Handlers
//! hold an `Arc<dyn Store>` and never see a backend's types; the SQLite
//! backend is in `sqlite/`. A second backend (PostgreSQL) implements
//! [`Store`] and is chosen in `Emulator::start`; no handler changes.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::model::Identity;

mod acl;
pub(crate) mod decide;
mod error;
mod flight;
mod login_list;
pub mod postgres;
mod search;
pub mod sqlite;
mod types;
pub(crate) mod values;

pub(crate) use acl::access_ids;
pub use acl::{AclWrite, NewAcl, SharedObject};
pub use error::{StoreError, StoreResult};
pub use flight::{
    DeviceEntry, DeviceLimits, Grant, InFlight, NewTicket, Reserved, SentKind, TicketLimits,
    TicketOf,
};
pub(crate) use flight::{as_i64, identity_json, identity_of};
pub(crate) use login_list::LISTED_COLUMNS;
pub use login_list::{LoginState, LoginSummary};
pub use search::{ObjectSearch, SearchPage};
pub(crate) use types::now_ms;
pub use types::{
    BbLink, BbUser, FileMeta, LinkOutcome, LoginOutcome, NewLogin, PendingLogin, SocialUser,
    UnlinkOutcome, Written,
};
pub use values::FileBody;

/// Every read and write the emulator makes. Methods are async; each write is
/// atomic (one transaction where it touches several rows). Session and reset
/// tokens arrive as their SHA-256 only. What is in flight between requests
/// (tickets, device logins, provider codes, the outbox) is [`InFlight`].
#[async_trait::async_trait]
pub trait Store: InFlight + Send + Sync {
    /// Whether the database answers (for `/readyz`).
    async fn ping(&self) -> StoreResult<()>;

    /// Creates or replaces an app (storing only the key's SHA-256).
    async fn upsert_app(&self, app_id: &str, api_key: &str) -> StoreResult<()>;
    /// Replaces API keys stored in plain text with their SHA-256.
    async fn seal_app_keys(&self) -> StoreResult<()>;

    /// Creates a user with an email and no password.
    async fn create_user(&self, app_id: &str, id: &str, email: &str) -> StoreResult<()>;
    /// A user with credentials; `false` when the email or username is taken.
    async fn create_account(
        &self,
        app_id: &str,
        id: &str,
        email: Option<&str>,
        username: Option<&str>,
        password_hash: &str,
        profile: &Value,
    ) -> StoreResult<bool>;
    /// The id and password hash of the users with this email or username
    /// (at most two: the email one user's, the username another's).
    async fn find_login(
        &self,
        app_id: &str,
        email: Option<&str>,
        username: Option<&str>,
    ) -> StoreResult<Vec<(String, Option<String>)>>;
    /// Deep-merges `patch` into a user's profile.
    async fn update_profile(&self, app_id: &str, user_id: &str, patch: &Value) -> StoreResult<()>;
    /// Replaces a user's profile fields (credentials and services stay);
    /// false when there is no such user.
    async fn replace_profile(
        &self,
        app_id: &str,
        user_id: &str,
        profile: &Value,
    ) -> StoreResult<bool>;
    /// Replaces a user's password hash and ends all the user's sessions.
    async fn set_password(&self, app_id: &str, user_id: &str, hash: &str) -> StoreResult<()>;
    /// Changes email and/or username; `false` when one is taken.
    async fn set_credentials(
        &self,
        app_id: &str,
        user_id: &str,
        email: Option<&str>,
        username: Option<&str>,
    ) -> StoreResult<bool>;
    /// Deletes a user with everything that is theirs.
    async fn delete_user(&self, app_id: &str, user_id: &str) -> StoreResult<()>;
    /// Every user id of an app, sorted.
    async fn user_ids(&self, app_id: &str) -> StoreResult<Vec<String>>;
    /// A user's profile as CloudMine shows it (`__id__`, `__services__`...).
    async fn user_profile(&self, app_id: &str, user_id: &str) -> StoreResult<Option<Value>>;

    /// Stores a session; an error when the user does not exist.
    async fn create_session(
        &self,
        token_sha256: &str,
        app_id: &str,
        user_id: &str,
        expires_ms: i64,
    ) -> StoreResult<()>;
    /// The user of a live session of `app_id`.
    async fn session_user(&self, app_id: &str, token_sha256: &str) -> StoreResult<Option<String>>;
    /// Ends a session.
    async fn delete_session(&self, token_sha256: &str) -> StoreResult<()>;
    /// A user's live sessions of `app_id`: each token's SHA-256 with its
    /// expiry (ms since the epoch), soonest first, at most `limit`.
    async fn user_sessions(
        &self,
        app_id: &str,
        user_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<(String, i64)>>;
    /// Stores a password-reset token.
    async fn create_reset(
        &self,
        token_sha256: &str,
        app_id: &str,
        user_id: &str,
        expires_ms: i64,
    ) -> StoreResult<()>;
    /// Consumes a live reset token; returns its user.
    async fn take_reset(&self, token_sha256: &str, app_id: &str) -> StoreResult<Option<String>>;

    /// Objects (and files, as their metadata) of one owner, by key: all, or
    /// the given keys that exist.
    async fn get_objects(
        &self,
        app_id: &str,
        owner: &str,
        keys: Option<&[String]>,
    ) -> StoreResult<Vec<(String, Value)>>;
    /// One page of the namespace's objects (and files) that match, sorted,
    /// with the number of matches. By default the whole namespace is loaded
    /// and evaluated in Rust; a backend may narrow it in SQL first, but the
    /// Rust evaluator decides what matches.
    async fn search_objects(
        &self,
        app_id: &str,
        owner: &str,
        search: &ObjectSearch,
    ) -> StoreResult<SearchPage> {
        let mut collector = search.collector();
        for (key, value) in self.get_objects(app_id, owner, None).await? {
            collector.offer(key, value);
        }
        Ok(collector.finish())
    }
    /// Writes objects; `merge` deep-merges into existing values.
    async fn put_objects(
        &self,
        app_id: &str,
        owner: &str,
        objects: &Map<String, Value>,
        merge: bool,
    ) -> StoreResult<Vec<(String, Written)>>;
    /// Deletes objects and files; each key with whether it existed.
    async fn delete_objects(
        &self,
        app_id: &str,
        owner: &str,
        keys: &[String],
    ) -> StoreResult<Vec<(String, bool)>>;

    /// A fresh path for an upload in progress.
    async fn upload_path(&self) -> StoreResult<PathBuf>;
    /// Makes the upload at `tmp` the content of `meta.key`.
    async fn commit_file(
        &self,
        app_id: &str,
        owner: &str,
        meta: &FileMeta,
        tmp: &Path,
    ) -> StoreResult<Written>;
    /// A file's metadata with its content as a stream (`meta.size` bytes).
    async fn open_file(
        &self,
        app_id: &str,
        owner: &str,
        key: &str,
    ) -> StoreResult<Option<(FileMeta, FileBody)>>;

    /// The user of a social identity: found, linked to `link_user`, or new.
    async fn social_user(
        &self,
        app_id: &str,
        identity: &Identity,
        link_user: Option<&str>,
    ) -> StoreResult<SocialUser>;
    /// Stores a pending login; `false` when its challenge is taken.
    async fn insert_login(&self, login: &NewLogin) -> StoreResult<bool>;
    /// The live login with this provider `state`.
    async fn login_by_state(&self, state: &str) -> StoreResult<Option<PendingLogin>>;
    /// Records a pending login's outcome; `false` if it is no longer pending.
    async fn settle_login(
        &self,
        challenge: &str,
        outcome: &LoginOutcome,
        token_sha256: Option<&str>,
    ) -> StoreResult<bool>;
    /// The live login with this challenge; a settled one is consumed.
    async fn take_login(&self, app_id: &str, challenge: &str) -> StoreResult<Option<PendingLogin>>;
    /// The social logins of `app_id` the store still keeps (pending ones,
    /// and settled ones until the client collects them or they expire),
    /// latest expiry first, at most `limit`; nothing secret in them.
    async fn social_logins(&self, app_id: &str, limit: usize) -> StoreResult<Vec<LoginSummary>>;

    /// Keeps the provider's access token of a user's social login at
    /// `network` (replacing an older one); deleted with the user.
    async fn put_provider_token(
        &self,
        app_id: &str,
        user_id: &str,
        network: &str,
        token: &str,
    ) -> StoreResult<()>;
    /// The kept provider access token of a user at `network`.
    async fn provider_token(
        &self,
        app_id: &str,
        user_id: &str,
        network: &str,
    ) -> StoreResult<Option<String>>;

    /// Creates a BaasBox user; `false` when the name is taken.
    async fn bb_create_user(&self, user: &BbUser) -> StoreResult<bool>;
    /// A BaasBox user by name.
    async fn bb_user(&self, username: &str) -> StoreResult<Option<BbUser>>;
    /// Starts a BaasBox session.
    async fn bb_create_session(
        &self,
        token_sha256: &str,
        username: &str,
        expires_ms: i64,
    ) -> StoreResult<()>;
    /// The user of a live BaasBox session.
    async fn bb_session_user(&self, token_sha256: &str) -> StoreResult<Option<String>>;
    /// Ends a BaasBox session.
    async fn bb_delete_session(&self, token_sha256: &str) -> StoreResult<()>;
    /// A BaasBox user's links, by network.
    async fn bb_links(&self, username: &str) -> StoreResult<Vec<BbLink>>;
    /// Logs in with an identity: its user, or `new_user` linked to it.
    async fn bb_social_login(
        &self,
        link: &BbLink,
        new_user: &BbUser,
    ) -> StoreResult<(String, bool)>;
    /// Links an identity to a user.
    async fn bb_link(&self, username: &str, link: &BbLink) -> StoreResult<LinkOutcome>;
    /// Unlinks a network, unless it is the user's only way to log in.
    async fn bb_unlink(&self, username: &str, network: &str) -> StoreResult<UnlinkOutcome>;

    /// Creates an ACL of `owner`, or replaces the owner's ACL of that id
    /// (`create`: a new id; otherwise an id that is not the owner's is
    /// [`AclWrite::Unknown`]).
    async fn put_acl(
        &self,
        app_id: &str,
        owner: &str,
        acl: &NewAcl,
        create: bool,
    ) -> StoreResult<AclWrite>;
    /// The ACLs of `owner` by id, ordered by id: all, or those of `ids`
    /// that exist and are the owner's.
    async fn acls(
        &self,
        app_id: &str,
        owner: &str,
        ids: Option<&[String]>,
    ) -> StoreResult<Vec<(String, Value)>>;
    /// Deletes the owner's ACL; `false` when it has no ACL of that id.
    async fn delete_acl(&self, app_id: &str, owner: &str, id: &str) -> StoreResult<bool>;
    /// Other users' objects that ACLs share with `member` (by naming them
    /// or by a segment), ordered by key then owner: all, or those under
    /// `keys`. Found through the member's ACLs and an index of `__access__`
    /// lists, never by reading every user's data.
    async fn shared_objects(
        &self,
        app_id: &str,
        member: &str,
        keys: Option<&[String]>,
    ) -> StoreResult<Vec<SharedObject>>;
}
