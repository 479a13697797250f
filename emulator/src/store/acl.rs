//! The storage's ACL data: what an ACL write answers, and an object shared
//! with a user (by an ACL naming them, or one for every user).

use serde_json::Value;

/// The ACL ids an object's `__access__` lists: a string, or the strings
/// of a list; anything else lists none. Both backends index these.
pub(crate) fn access_ids(value: &Value) -> Vec<&str> {
    match value.get("__access__") {
        Some(Value::String(id)) => vec![id.as_str()],
        Some(Value::Array(ids)) => ids.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// An ACL as it is written: its id, the members it names, the permission
/// letters it grants, whether it grants them to every user of the app, and
/// the whole ACL as the `access` endpoints show it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAcl {
    /// The ACL's id (`__id__`).
    pub id: String,
    /// The user ids it grants the permissions to.
    pub members: Vec<String>,
    /// The permission letters it grants, e.g. `"ru"`.
    pub permissions: String,
    /// True when a segment (`public`, `logged_in`) shares with every user.
    pub everyone: bool,
    /// The ACL as shown (`__id__`, `__type__`, members, permissions...).
    pub value: Value,
}

/// What writing an ACL did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclWrite {
    /// A new ACL.
    Created,
    /// The owner's ACL of that id was replaced.
    Updated,
    /// No ACL of that id belongs to the writer: nothing was written.
    Unknown,
}

/// Another user's object that an ACL shares with a user.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedObject {
    /// The object's owner.
    pub owner: String,
    /// Its key in the owner's data.
    pub key: String,
    /// Its value.
    pub value: Value,
    /// Every permission letter the user's ACLs on it grant together.
    pub permissions: String,
}

impl SharedObject {
    /// Whether the user's grants include `letter` (`r`, `u`, `d`, `c`).
    pub fn allows(&self, letter: char) -> bool {
        self.permissions.contains(letter)
    }
}
