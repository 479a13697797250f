//! [`Store`] for PostgreSQL: each method forwards to an async method of
//! [`Pg`] (in `users.rs`, `sessions.rs`, `objects.rs`, `files.rs`, and for
//! social logins, provider tokens, BaasBox and ACLs in their own files).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::db::Pg;
use crate::model::Identity;
use crate::store::{
    AclWrite, BbLink, BbUser, FileBody, FileMeta, LinkOutcome, LoginOutcome, NewAcl, NewLogin,
    PendingLogin, SharedObject, SocialUser, Store, StoreResult, UnlinkOutcome, Written,
};

#[async_trait::async_trait]
impl Store for Pg {
    async fn ping(&self) -> StoreResult<()> {
        Pg::ping(self).await
    }

    async fn upsert_app(&self, app_id: &str, api_key: &str) -> StoreResult<()> {
        self.upsert_app_row(app_id, api_key).await
    }

    async fn seal_app_keys(&self) -> StoreResult<()> {
        self.seal_keys().await
    }

    async fn create_user(&self, app_id: &str, id: &str, email: &str) -> StoreResult<()> {
        self.insert_user(app_id, id, email).await
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
        self.insert_account(app_id, id, email, username, password_hash, profile)
            .await
    }

    async fn find_login(
        &self,
        app_id: &str,
        email: Option<&str>,
        username: Option<&str>,
    ) -> StoreResult<Vec<(String, Option<String>)>> {
        self.login_rows(app_id, email, username).await
    }

    async fn update_profile(&self, app_id: &str, user_id: &str, patch: &Value) -> StoreResult<()> {
        self.merge_profile(app_id, user_id, patch).await
    }

    async fn replace_profile(
        &self,
        app_id: &str,
        user_id: &str,
        profile: &Value,
    ) -> StoreResult<bool> {
        self.put_profile(app_id, user_id, profile).await
    }

    async fn set_password(&self, app_id: &str, user_id: &str, hash: &str) -> StoreResult<()> {
        self.put_password(app_id, user_id, hash).await
    }

    async fn set_credentials(
        &self,
        app_id: &str,
        user_id: &str,
        email: Option<&str>,
        username: Option<&str>,
    ) -> StoreResult<bool> {
        self.put_credentials(app_id, user_id, email, username).await
    }

    async fn delete_user(&self, app_id: &str, user_id: &str) -> StoreResult<()> {
        self.remove_user(app_id, user_id).await
    }

    async fn user_ids(&self, app_id: &str) -> StoreResult<Vec<String>> {
        self.all_user_ids(app_id).await
    }

    async fn user_profile(&self, app_id: &str, user_id: &str) -> StoreResult<Option<Value>> {
        self.profile_of(app_id, user_id).await
    }

    async fn create_session(
        &self,
        token_sha256: &str,
        app_id: &str,
        user_id: &str,
        expires_ms: i64,
    ) -> StoreResult<()> {
        self.insert_session(token_sha256, app_id, user_id, expires_ms)
            .await
    }

    async fn session_user(&self, app_id: &str, token_sha256: &str) -> StoreResult<Option<String>> {
        self.live_session_user(app_id, token_sha256).await
    }

    async fn delete_session(&self, token_sha256: &str) -> StoreResult<()> {
        self.remove_session(token_sha256).await
    }

    async fn user_sessions(
        &self,
        app_id: &str,
        user_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<(String, i64)>> {
        self.live_sessions_of(app_id, user_id, limit).await
    }

    async fn create_reset(
        &self,
        token_sha256: &str,
        app_id: &str,
        user_id: &str,
        expires_ms: i64,
    ) -> StoreResult<()> {
        self.insert_reset(token_sha256, app_id, user_id, expires_ms)
            .await
    }

    async fn take_reset(&self, token_sha256: &str, app_id: &str) -> StoreResult<Option<String>> {
        self.consume_reset(token_sha256, app_id).await
    }

    async fn get_objects(
        &self,
        app_id: &str,
        owner: &str,
        keys: Option<&[String]>,
    ) -> StoreResult<Vec<(String, Value)>> {
        self.read_objects(app_id, owner, keys).await
    }

    async fn search_objects(
        &self,
        app_id: &str,
        owner: &str,
        search: &crate::store::ObjectSearch,
    ) -> StoreResult<crate::store::SearchPage> {
        self.search(app_id, owner, search).await
    }

    async fn put_objects(
        &self,
        app_id: &str,
        owner: &str,
        objects: &Map<String, Value>,
        merge: bool,
    ) -> StoreResult<Vec<(String, Written)>> {
        self.write_objects(app_id, owner, objects, merge).await
    }

    async fn delete_objects(
        &self,
        app_id: &str,
        owner: &str,
        keys: &[String],
    ) -> StoreResult<Vec<(String, bool)>> {
        self.remove_objects(app_id, owner, keys).await
    }

    async fn upload_path(&self) -> StoreResult<PathBuf> {
        self.spool_path()
    }

    async fn commit_file(
        &self,
        app_id: &str,
        owner: &str,
        meta: &FileMeta,
        tmp: &Path,
    ) -> StoreResult<Written> {
        self.store_file(app_id, owner, meta, tmp).await
    }

    async fn open_file(
        &self,
        app_id: &str,
        owner: &str,
        key: &str,
    ) -> StoreResult<Option<(FileMeta, FileBody)>> {
        self.read_file(app_id, owner, key).await
    }

    async fn social_user(
        &self,
        app_id: &str,
        identity: &Identity,
        link_user: Option<&str>,
    ) -> StoreResult<SocialUser> {
        Pg::social_user(self, app_id, identity, link_user).await
    }

    async fn insert_login(&self, login: &NewLogin) -> StoreResult<bool> {
        Pg::insert_login(self, login).await
    }

    async fn login_by_state(&self, state: &str) -> StoreResult<Option<PendingLogin>> {
        Pg::login_by_state(self, state).await
    }

    async fn settle_login(
        &self,
        challenge: &str,
        outcome: &LoginOutcome,
        token_sha256: Option<&str>,
    ) -> StoreResult<bool> {
        Pg::settle_login(self, challenge, outcome, token_sha256).await
    }

    async fn take_login(&self, app_id: &str, challenge: &str) -> StoreResult<Option<PendingLogin>> {
        Pg::take_login(self, app_id, challenge).await
    }

    async fn social_logins(
        &self,
        app_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<crate::store::LoginSummary>> {
        self.list_social_logins(app_id, limit).await
    }

    async fn put_provider_token(
        &self,
        app_id: &str,
        user_id: &str,
        network: &str,
        token: &str,
    ) -> StoreResult<()> {
        Pg::put_provider_token(self, app_id, user_id, network, token).await
    }

    async fn provider_token(
        &self,
        app_id: &str,
        user_id: &str,
        network: &str,
    ) -> StoreResult<Option<String>> {
        Pg::provider_token(self, app_id, user_id, network).await
    }

    async fn bb_create_user(&self, user: &BbUser) -> StoreResult<bool> {
        Pg::bb_create_user(self, user).await
    }

    async fn bb_user(&self, username: &str) -> StoreResult<Option<BbUser>> {
        Pg::bb_user(self, username).await
    }

    async fn bb_create_session(
        &self,
        token_sha256: &str,
        username: &str,
        expires_ms: i64,
    ) -> StoreResult<()> {
        Pg::bb_create_session(self, token_sha256, username, expires_ms).await
    }

    async fn bb_session_user(&self, token_sha256: &str) -> StoreResult<Option<String>> {
        Pg::bb_session_user(self, token_sha256).await
    }

    async fn bb_delete_session(&self, token_sha256: &str) -> StoreResult<()> {
        Pg::bb_delete_session(self, token_sha256).await
    }

    async fn bb_links(&self, username: &str) -> StoreResult<Vec<BbLink>> {
        Pg::bb_links(self, username).await
    }

    async fn bb_social_login(
        &self,
        link: &BbLink,
        new_user: &BbUser,
    ) -> StoreResult<(String, bool)> {
        Pg::bb_social_login(self, link, new_user).await
    }

    async fn bb_link(&self, username: &str, link: &BbLink) -> StoreResult<LinkOutcome> {
        Pg::bb_link(self, username, link).await
    }

    async fn bb_unlink(&self, username: &str, network: &str) -> StoreResult<UnlinkOutcome> {
        Pg::bb_unlink(self, username, network).await
    }

    async fn put_acl(
        &self,
        app_id: &str,
        owner: &str,
        acl: &NewAcl,
        create: bool,
    ) -> StoreResult<AclWrite> {
        Pg::put_acl(self, app_id, owner, acl, create).await
    }

    async fn acls(
        &self,
        app_id: &str,
        owner: &str,
        ids: Option<&[String]>,
    ) -> StoreResult<Vec<(String, Value)>> {
        Pg::acls(self, app_id, owner, ids).await
    }

    async fn delete_acl(&self, app_id: &str, owner: &str, id: &str) -> StoreResult<bool> {
        Pg::delete_acl(self, app_id, owner, id).await
    }

    async fn shared_objects(
        &self,
        app_id: &str,
        member: &str,
        keys: Option<&[String]>,
    ) -> StoreResult<Vec<SharedObject>> {
        Pg::shared_objects(self, app_id, member, keys).await
    }
}
