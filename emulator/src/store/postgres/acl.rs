//! ACLs on PostgreSQL. Not implemented in this file yet: every method
//! refuses and [`sync_access`] keeps no index (the real one replaces this
//! file).

use serde_json::Value;
use tokio_postgres::Transaction;

use super::db::Pg;
use crate::store::{AclWrite, NewAcl, SharedObject, StoreError, StoreResult};

fn not_yet<T>() -> StoreResult<T> {
    Err(StoreError::Invalid("not implemented yet".into()))
}

/// Makes the `__access__` index of one object match its new value.
pub(super) async fn sync_access(
    _tx: &Transaction<'_>,
    _app_id: &str,
    _owner: &str,
    _key: &str,
    _value: Option<&Value>,
) -> StoreResult<()> {
    Ok(())
}

impl Pg {
    /// Creates or replaces an ACL of `owner`.
    pub async fn put_acl(
        &self,
        _app_id: &str,
        _owner: &str,
        _acl: &NewAcl,
        _create: bool,
    ) -> StoreResult<AclWrite> {
        not_yet()
    }

    /// The ACLs of `owner` by id.
    pub async fn acls(
        &self,
        _app_id: &str,
        _owner: &str,
        _ids: Option<&[String]>,
    ) -> StoreResult<Vec<(String, Value)>> {
        not_yet()
    }

    /// Deletes the owner's ACL; `false` when it has no ACL of that id.
    pub async fn delete_acl(&self, _app_id: &str, _owner: &str, _id: &str) -> StoreResult<bool> {
        not_yet()
    }

    /// Other users' objects that ACLs share with `member`.
    pub async fn shared_objects(
        &self,
        _app_id: &str,
        _member: &str,
        _keys: Option<&[String]>,
    ) -> StoreResult<Vec<SharedObject>> {
        not_yet()
    }
}
