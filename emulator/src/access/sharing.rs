//! Objects shared through ACLs, as the objects endpoints see them: what a
//! user may read of other users' objects (`shared`, `shared_only`, keys
//! named in `?keys=`), and writes and deletes that reach another user's
//! object when an ACL grants `u` or `d` on it.
//!
//! Keys are per user in the emulator (CloudMine's were app-wide): a key the
//! caller owns is always the caller's object; a key the caller does not own
//! names an object shared with them under that key (the first owner by id
//! when several share the same key).

use serde_json::{Map, Value, json};

use crate::extract::first;
use crate::fail::Fail;
use crate::state::AppState;
use crate::store::{SharedObject, Written};

/// The most ACL ids one object's `__access__` may list.
pub(crate) const MAX_ACCESS_IDS: usize = 100;

fn permission_denied() -> Value {
    json!({"code": 401, "message": "permission denied"})
}

fn flag(query: &[(String, String)], name: &str) -> Result<bool, Fail> {
    match first(query, name) {
        None | Some("false" | "0") => Ok(false),
        Some("true" | "1") => Ok(true),
        Some(other) => Err(Fail::bad(format!(
            "invalid {name}: {other:?} is not true or false"
        ))),
    }
}

/// The first shared object under `key` that allows `letter`, else whether
/// any object is shared under it at all (`Err(true)`: known, not allowed).
fn pick<'a>(shared: &'a [SharedObject], key: &str, letter: char) -> Result<&'a SharedObject, bool> {
    let mut under = shared.iter().filter(|s| s.key == key).peekable();
    let known = under.peek().is_some();
    under.find(|s| s.allows(letter)).ok_or(known)
}

/// Whether objects of several owners are shared with the caller under
/// `key`: a write or delete by that key cannot say whose object it means,
/// and any member of the app may add one (an ACL names anyone), so it is
/// refused rather than sent to the first owner.
fn ambiguous(shared: &[SharedObject], key: &str) -> bool {
    let mut owners = shared.iter().filter(|s| s.key == key).map(|s| &s.owner);
    owners
        .next()
        .is_some_and(|first| owners.any(|other| other != first))
}

fn ambiguous_error(key: &str) -> Value {
    let message = format!(
        "objects of several users are shared with you under {key:?}: \
         a write or delete by key cannot tell which one it means"
    );
    json!({"code": 409, "message": message})
}

/// Whether a listing or search includes objects shared with the caller
/// (`shared`/`shared_only` at user level); a wrong flag value is refused.
pub(crate) fn includes_shared(
    user: Option<&str>,
    query: &[(String, String)],
) -> Result<bool, Fail> {
    let (include, only) = (flag(query, "shared")?, flag(query, "shared_only")?);
    Ok(user.is_some() && (include || only))
}

/// The objects a listing or search starts from: the caller's own, plus
/// (`shared=true`) or only (`shared_only=true`) the other users' objects
/// shared with the caller for reading. App level: the own objects.
pub(crate) async fn visible(
    state: &AppState,
    app_id: &str,
    user: Option<&str>,
    query: &[(String, String)],
    own: Vec<(String, Value)>,
) -> Result<Vec<(String, Value)>, Fail> {
    let (include, only) = (flag(query, "shared")?, flag(query, "shared_only")?);
    let Some(user) = user.filter(|_| include || only) else {
        return Ok(own);
    };
    let mut out = if only { Vec::new() } else { own };
    let shared = state.store.shared_objects(app_id, user, None).await?;
    for object in shared.into_iter().filter(|s| s.allows('r')) {
        if !out.iter().any(|(k, _)| *k == object.key) {
            out.push((object.key, object.value));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Objects shared with `user` for reading under `keys` (keys the caller
/// does not own), as `(key, value)`.
pub(crate) async fn read_keys(
    state: &AppState,
    app_id: &str,
    user: Option<&str>,
    keys: &[String],
) -> Result<Vec<(String, Value)>, Fail> {
    let Some(user) = user.filter(|_| !keys.is_empty()) else {
        return Ok(Vec::new());
    };
    let shared = state.store.shared_objects(app_id, user, Some(keys)).await?;
    Ok(keys
        .iter()
        .filter_map(|k| pick(&shared, k, 'r').ok())
        .map(|s| (s.key.clone(), s.value.clone()))
        .collect())
}

/// A user-level object's `__access__`: absent, a string or a list of at
/// most [`MAX_ACCESS_IDS`] strings.
fn check_access(key: &str, value: &Value) -> Result<(), Fail> {
    match value.get("__access__") {
        None | Some(Value::String(_)) => Ok(()),
        Some(Value::Array(ids))
            if ids.len() <= MAX_ACCESS_IDS && ids.iter().all(Value::is_string) =>
        {
            Ok(())
        }
        Some(_) => Err(Fail::bad(format!(
            "{key}: __access__ must be an ACL id or a list of at most {MAX_ACCESS_IDS} ACL ids"
        ))),
    }
}

/// A member's write to a shared object, as the owner's object will take
/// it: its `__access__` stays the owner's, whatever the member sent.
fn member_value(stored: &Value, value: &Value, merge: bool) -> Option<(Value, bool)> {
    let Value::Object(fields) = value else {
        return None;
    };
    let mut fields = fields.clone();
    fields.remove("__access__");
    if let Some(access) = stored.get("__access__").filter(|_| !merge) {
        fields.insert("__access__".into(), access.clone());
    }
    Some((Value::Object(fields), merge))
}

/// Writes `objects` for the caller (`owner`, `""` at app level). A key the
/// caller does not own but an ACL shares with them is written to its owner
/// when the grants include `u`, and refused (401 in `errors`) otherwise.
pub(crate) async fn write(
    state: &AppState,
    app_id: &str,
    owner: &str,
    objects: &Map<String, Value>,
    merge: bool,
) -> Result<(Vec<(String, Written)>, Map<String, Value>), Fail> {
    let mut errors = Map::new();
    if owner.is_empty() {
        let written = state
            .store
            .put_objects(app_id, owner, objects, merge)
            .await?;
        return Ok((written, errors));
    }
    for (key, value) in objects {
        check_access(key, value)?;
    }
    let keys: Vec<String> = objects.keys().cloned().collect();
    let owned = state.store.get_objects(app_id, owner, Some(&keys)).await?;
    let others: Vec<String> = keys
        .into_iter()
        .filter(|k| !owned.iter().any(|(o, _)| o == k))
        .collect();
    let shared = if others.is_empty() {
        Vec::new()
    } else {
        state
            .store
            .shared_objects(app_id, owner, Some(&others))
            .await?
    };
    let mut own = Map::new();
    let mut written = Vec::new();
    for (key, value) in objects {
        if !others.contains(key) {
            own.insert(key.clone(), value.clone());
            continue;
        }
        if ambiguous(&shared, key) {
            errors.insert(key.clone(), ambiguous_error(key));
            continue;
        }
        match pick(&shared, key, 'u') {
            Ok(target) => match member_value(&target.value, value, merge) {
                Some((value, merge)) => {
                    let one: Map<String, Value> = [(key.clone(), value)].into_iter().collect();
                    let w = state
                        .store
                        .put_objects(app_id, &target.owner, &one, merge)
                        .await?;
                    written.extend(w);
                }
                None => {
                    let message = "a shared object can only be written with an object \
                                   (its owner's __access__ stays on it)";
                    errors.insert(key.clone(), json!({"code": 400, "message": message}));
                }
            },
            Err(true) => {
                errors.insert(key.clone(), permission_denied());
            }
            Err(false) => {
                own.insert(key.clone(), value.clone());
            }
        }
    }
    if !own.is_empty() {
        written.extend(state.store.put_objects(app_id, owner, &own, merge).await?);
    }
    Ok((written, errors))
}

/// Deletes `keys` for the caller: their own objects, else objects shared
/// with them whose grants include `d` (401 in `errors` when the grants do
/// not), else "key does not exist". Returns `(success, errors)`.
pub(crate) async fn delete(
    state: &AppState,
    app_id: &str,
    owner: &str,
    keys: &[String],
) -> Result<(Map<String, Value>, Map<String, Value>), Fail> {
    let deleted = state.store.delete_objects(app_id, owner, keys).await?;
    let missing: Vec<String> = deleted
        .iter()
        .filter(|(_, existed)| !existed)
        .map(|(k, _)| k.clone())
        .collect();
    let shared = if owner.is_empty() || missing.is_empty() {
        Vec::new()
    } else {
        state
            .store
            .shared_objects(app_id, owner, Some(&missing))
            .await?
    };
    let (mut success, mut errors) = (Map::new(), Map::new());
    for (key, existed) in deleted {
        if existed {
            success.insert(key, Value::from("deleted"));
            continue;
        }
        if ambiguous(&shared, &key) {
            errors.insert(key.clone(), ambiguous_error(&key));
            continue;
        }
        match pick(&shared, &key, 'd') {
            Ok(target) => {
                let one = std::slice::from_ref(&key);
                state
                    .store
                    .delete_objects(app_id, &target.owner, one)
                    .await?;
                success.insert(key, Value::from("deleted"));
            }
            Err(true) => {
                errors.insert(key, permission_denied());
            }
            Err(false) => {
                errors.insert(key, json!({"code": 404, "message": "key does not exist"}));
            }
        }
    }
    Ok((success, errors))
}
