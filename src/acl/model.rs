//! The typed ACL: [`Acl`], its [`Permissions`] and [`Segments`], as the
//! `access` endpoints send and take it.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One permission an ACL grants its members on the objects that list it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// `c`: create objects under the owner's keys.
    Create,
    /// `r`: read the objects (seen with the `shared`/`shared_only` options).
    Read,
    /// `u`: update the objects.
    Update,
    /// `d`: delete the objects.
    Delete,
}

impl Permission {
    /// Every permission, in CloudMine's order (`c`, `r`, `u`, `d`).
    pub const ALL: [Permission; 4] = [
        Permission::Create,
        Permission::Read,
        Permission::Update,
        Permission::Delete,
    ];

    /// The letter CloudMine writes it as.
    /// ```
    /// assert_eq!(cloudmine::Permission::Update.letter(), "u");
    /// ```
    pub fn letter(self) -> &'static str {
        match self {
            Permission::Create => "c",
            Permission::Read => "r",
            Permission::Update => "u",
            Permission::Delete => "d",
        }
    }

    /// The permission a letter stands for.
    /// ```
    /// use cloudmine::Permission;
    /// assert_eq!(Permission::from_letter("d"), Some(Permission::Delete));
    /// assert_eq!(Permission::from_letter("x"), None);
    /// ```
    pub fn from_letter(letter: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.letter() == letter)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of [`Permission`]s, sent as CloudMine's list of letters
/// (`["r", "u"]`), always in the order `c`, `r`, `u`, `d`, each once.
///
/// ```
/// use cloudmine::{Permission, Permissions};
/// let read_write: Permissions = [Permission::Read, Permission::Update].into_iter().collect();
/// assert!(read_write.contains(Permission::Read));
/// assert!(!read_write.contains(Permission::Delete));
/// assert_eq!(serde_json::to_value(read_write).unwrap(), serde_json::json!(["r", "u"]));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Permissions(u8);

impl Permissions {
    /// No permission.
    pub const NONE: Permissions = Permissions(0);
    /// All four permissions.
    pub const ALL: Permissions = Permissions(0b1111);

    /// Whether the set grants `permission`.
    /// ```
    /// use cloudmine::{Permission, Permissions};
    /// assert!(Permissions::ALL.contains(Permission::Create));
    /// ```
    pub fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    /// The set with `permission` added.
    #[must_use]
    /// ```
    /// use cloudmine::{Permission, Permissions};
    /// let rw = Permissions::NONE.with(Permission::Read).with(Permission::Update);
    /// assert_eq!(rw.iter().count(), 2);
    /// ```
    pub fn with(self, permission: Permission) -> Permissions {
        Permissions(self.0 | permission.bit())
    }

    /// The set with `permission` removed.
    #[must_use]
    /// ```
    /// use cloudmine::{Permission, Permissions};
    /// assert!(!Permissions::ALL.without(Permission::Delete).contains(Permission::Delete));
    /// ```
    pub fn without(self, permission: Permission) -> Permissions {
        Permissions(self.0 & !permission.bit())
    }

    /// True when nothing is granted.
    /// ```
    /// assert!(cloudmine::Permissions::NONE.is_empty());
    /// ```
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The permissions granted, in CloudMine's order.
    /// ```
    /// use cloudmine::{Permission, Permissions};
    /// let all: Vec<Permission> = Permissions::ALL.iter().collect();
    /// assert_eq!(all, Permission::ALL);
    /// ```
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }
}

impl fmt::Debug for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl FromIterator<Permission> for Permissions {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        iter.into_iter().fold(Permissions::NONE, Permissions::with)
    }
}

impl From<Permission> for Permissions {
    fn from(permission: Permission) -> Self {
        Permissions::NONE.with(permission)
    }
}

impl Serialize for Permissions {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for p in self.iter() {
            seq.serialize_element(p.letter())?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Permissions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Letters;
        impl<'de> Visitor<'de> for Letters {
            type Value = Permissions;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of permission letters (\"c\", \"r\", \"u\", \"d\")")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Permissions, A::Error> {
                let mut set = Permissions::NONE;
                while let Some(letter) = seq.next_element::<String>()? {
                    let p = Permission::from_letter(&letter).ok_or_else(|| {
                        de::Error::custom(format!("unknown permission {letter:?}"))
                    })?;
                    set = set.with(p);
                }
                Ok(set)
            }
        }
        deserializer.deserialize_seq(Letters)
    }
}

/// Groups of users an ACL shares with besides its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Segments {
    /// Everyone, logged in or not.
    #[serde(default)]
    pub public: bool,
    /// Every logged-in user of the app.
    #[serde(default)]
    pub logged_in: bool,
}

/// An access control list: who (its `members`, or the [`Segments`]) may do
/// what ([`Permissions`]) with the owner's objects whose `__access__` lists
/// its id. Saved with [`Acls::save`](crate::Acls::save).
///
/// ```
/// use cloudmine::{Acl, Permission};
/// let acl = Acl::new(["user-id-of-bob"], Permission::Read.into());
/// assert!(acl.id.is_none()); // saving creates it; the answer has its id
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Acl {
    /// `__id__`: `None` for an ACL not saved yet; saving with an id replaces
    /// that ACL.
    #[serde(rename = "__id__", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The user ids it grants to.
    #[serde(default)]
    pub members: Vec<String>,
    /// What it grants.
    #[serde(default)]
    pub permissions: Permissions,
    /// The groups it also grants to.
    #[serde(default)]
    pub segments: Segments,
    /// Every other field, kept as the server shows it (not `__type__`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Acl {
    /// A new ACL granting `permissions` to the users `members`.
    /// ```
    /// use cloudmine::{Acl, Permissions};
    /// let acl = Acl::new(["bob-id", "carol-id"], Permissions::ALL);
    /// assert_eq!(acl.members.len(), 2);
    /// ```
    pub fn new<I, S>(members: I, permissions: Permissions) -> Acl
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Acl {
            members: members.into_iter().map(Into::into).collect(),
            permissions,
            ..Acl::default()
        }
    }

    /// The body `PUT access` takes: the fields plus `"__type__": "acl"`.
    pub(crate) fn to_body(&self) -> Result<Value, serde_json::Error> {
        let mut value = serde_json::to_value(self)?;
        if let Value::Object(map) = &mut value {
            map.insert("__type__".into(), Value::String("acl".into()));
        }
        Ok(value)
    }

    /// An ACL as an answer shows it.
    pub(crate) fn from_answer(value: &Value) -> Result<Acl, serde_json::Error> {
        let mut acl = Acl::deserialize(value)?;
        acl.extra.remove("__type__");
        Ok(acl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn permissions_round_trip_in_order() {
        let set: Permissions = [Permission::Delete, Permission::Create, Permission::Delete]
            .into_iter()
            .collect();
        assert_eq!(serde_json::to_value(set).unwrap(), json!(["c", "d"]));
        let back: Permissions = serde_json::from_value(json!(["u", "r", "u"])).unwrap();
        assert_eq!(
            back,
            Permissions::NONE
                .with(Permission::Read)
                .with(Permission::Update)
        );
        assert!(serde_json::from_value::<Permissions>(json!(["x"])).is_err());
        assert!(serde_json::from_value::<Permissions>(json!("r")).is_err());
        assert_eq!(Permissions::ALL.without(Permission::Read).iter().count(), 3);
        assert_eq!(
            format!("{:?}", Permissions::from(Permission::Read)),
            "{Read}"
        );
    }

    #[test]
    fn an_acl_keeps_extra_fields_but_not_its_type() {
        let acl = Acl::from_answer(&json!({
            "__id__": "a1", "__type__": "acl", "members": ["u"],
            "permissions": ["r"], "segments": {"public": true}, "note": "x"
        }))
        .unwrap();
        assert_eq!(acl.id.as_deref(), Some("a1"));
        assert!(acl.segments.public && !acl.segments.logged_in);
        assert_eq!(acl.extra, json!({"note": "x"}).as_object().unwrap().clone());
        let body = acl.to_body().unwrap();
        assert_eq!(body["__type__"], "acl");
        assert_eq!(body["permissions"], json!(["r"]));
        assert_eq!(body["note"], "x");
    }
}
