//! An ACL body as `PUT`/`POST user/access` takes it, checked: members,
//! permission letters, segments, and the extra fields it keeps.

use serde_json::{Map, Value, json};

use crate::fail::Fail;

/// The most members one ACL may name.
pub(crate) const MAX_MEMBERS: usize = 1000;
/// The longest member id accepted, in bytes.
pub(crate) const MAX_MEMBER_LEN: usize = 256;
/// The permission letters, in the order they are stored: create, read,
/// update, delete (CloudMine's samples grant `c`; see docs/EMULATOR.md).
pub(crate) const LETTERS: [char; 4] = ['c', 'r', 'u', 'd'];
/// The segments an ACL may set.
const SEGMENTS: [&str; 2] = ["public", "logged_in"];

/// A checked ACL body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AclBody {
    /// `__id__`: the ACL to replace; `None` creates one.
    pub(crate) id: Option<String>,
    pub(crate) members: Vec<String>,
    /// The letters granted, in [`LETTERS`] order, each once.
    pub(crate) permissions: String,
    pub(crate) segments: Map<String, Value>,
    /// Every other field, kept and shown as given.
    pub(crate) extra: Map<String, Value>,
}

impl AclBody {
    /// Checks a request body; every refusal says what is wrong.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, Fail> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| Fail::bad(format!("malformed JSON body: {e}")))?;
        let Value::Object(mut fields) = value else {
            return Err(Fail::bad(
                "the body must be an ACL object: {\"members\": [...], \"permissions\": [...]}",
            ));
        };
        match fields.remove("__type__") {
            None => {}
            Some(Value::String(t)) if t == "acl" => {}
            Some(other) => {
                return Err(Fail::bad(format!("__type__ must be \"acl\", not {other}")));
            }
        }
        let id = match fields.remove("__id__") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) if !id.is_empty() => Some(id),
            Some(_) => return Err(Fail::bad("__id__ must be a non-empty string")),
        };
        Ok(AclBody {
            id,
            members: members(fields.remove("members"))?,
            permissions: permissions(fields.remove("permissions"))?,
            segments: segments(fields.remove("segments"))?,
            extra: fields,
        })
    }

    /// Whether a segment shares with every user of the app.
    pub(crate) fn everyone(&self) -> bool {
        self.segments.values().any(|v| *v == Value::Bool(true))
    }

    /// The ACL as the `access` endpoints show it, under `id`.
    pub(crate) fn to_value(&self, id: &str) -> Value {
        let mut out = self.extra.clone();
        out.insert("__id__".into(), json!(id));
        out.insert("__type__".into(), json!("acl"));
        out.insert("members".into(), json!(self.members));
        let letters: Vec<String> = self.permissions.chars().map(String::from).collect();
        out.insert("permissions".into(), json!(letters));
        out.insert("segments".into(), Value::Object(self.segments.clone()));
        Value::Object(out)
    }
}

fn members(value: Option<Value>) -> Result<Vec<String>, Fail> {
    let list = match value {
        None => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(Fail::bad("members must be a list of user ids")),
    };
    if list.len() > MAX_MEMBERS {
        return Err(Fail::bad(format!(
            "members lists {} users; an ACL may name at most {MAX_MEMBERS}",
            list.len()
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for member in list {
        match member {
            Value::String(id) if !id.is_empty() && id.len() <= MAX_MEMBER_LEN => {
                if !out.contains(&id) {
                    out.push(id);
                }
            }
            _ => {
                return Err(Fail::bad(format!(
                    "members must be user ids: non-empty strings of at most \
                     {MAX_MEMBER_LEN} bytes"
                )));
            }
        }
    }
    Ok(out)
}

fn permissions(value: Option<Value>) -> Result<String, Fail> {
    let Some(Value::Array(list)) = value else {
        return Err(Fail::bad(
            "permissions must be a list of letters: \"c\", \"r\", \"u\", \"d\"",
        ));
    };
    let mut granted = [false; 4];
    for letter in &list {
        let position = letter.as_str().and_then(|s| {
            LETTERS
                .iter()
                .position(|l| s.len() == 1 && s.starts_with(*l))
        });
        match position {
            Some(i) => granted[i] = true,
            None => {
                return Err(Fail::bad(format!(
                    "unknown permission {letter}: use \"c\", \"r\", \"u\" or \"d\""
                )));
            }
        }
    }
    Ok(LETTERS
        .iter()
        .zip(granted)
        .filter(|(_, g)| *g)
        .map(|(l, _)| *l)
        .collect())
}

fn segments(value: Option<Value>) -> Result<Map<String, Value>, Fail> {
    let segments = match value {
        None | Some(Value::Null) => return Ok(Map::new()),
        Some(Value::Object(s)) => s,
        Some(_) => {
            return Err(Fail::bad(
                "segments must be an object: {\"public\": bool, \"logged_in\": bool}",
            ));
        }
    };
    for (name, v) in &segments {
        if !SEGMENTS.contains(&name.as_str()) {
            return Err(Fail::bad(format!(
                "unknown segment {name:?}: use \"public\" or \"logged_in\""
            )));
        }
        if !v.is_boolean() {
            return Err(Fail::bad(format!("segment {name:?} must be true or false")));
        }
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> Result<AclBody, String> {
        AclBody::parse(v.to_string().as_bytes()).map_err(|f| f.1)
    }

    #[test]
    fn a_body_is_checked_and_shown_back() {
        let acl = parse(json!({
            "members": ["b", "a", "b"], "permissions": ["u", "r", "u"],
            "segments": {"public": false}, "__type__": "acl", "note": 1
        }))
        .unwrap();
        assert_eq!(acl.members, ["b", "a"]);
        assert_eq!(acl.permissions, "ru");
        assert!(!acl.everyone());
        let shown = acl.to_value("x");
        assert_eq!(shown["permissions"], json!(["r", "u"]));
        assert_eq!(shown["note"], 1);
        assert_eq!(shown["__id__"], "x");
    }

    #[test]
    fn malformed_bodies_are_refused() {
        let refused = |v: Value, what: &str| {
            let e = parse(v).unwrap_err();
            assert!(e.contains(what), "{e}");
        };
        refused(
            json!({"members": [], "permissions": ["x"]}),
            "unknown permission",
        );
        refused(
            json!({"members": [], "permissions": ["ru"]}),
            "unknown permission",
        );
        refused(
            json!({"members": "a", "permissions": []}),
            "members must be a list",
        );
        refused(
            json!({"members": [1], "permissions": []}),
            "members must be user ids",
        );
        refused(json!({"members": []}), "permissions must be a list");
        refused(
            json!({"permissions": [], "segments": {"all": true}}),
            "unknown segment",
        );
        refused(json!({"permissions": [], "__type__": "file"}), "__type__");
        refused(json!([]), "must be an ACL object");
        let many: Vec<String> = (0..=MAX_MEMBERS).map(|i| i.to_string()).collect();
        refused(json!({"members": many, "permissions": []}), "at most");
    }
}
