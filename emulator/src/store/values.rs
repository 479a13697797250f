//! Backend-neutral value logic both backends share: reading a stored JSON
//! text, CloudMine's deep merge, a user's profile as CloudMine shows it,
//! how an API key is stored, and a file's content as a streamed body.

use std::pin::Pin;

use serde_json::{Map, Value};

/// A file's content, read as a stream (never whole in memory).
pub type FileBody = Pin<Box<dyn tokio::io::AsyncRead + Send>>;

/// A stored JSON text (always written by the emulator, so valid; a text
/// that is not comes back as a string rather than failing the request).
pub(crate) fn parse_stored(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// CloudMine's update: nested objects merge recursively; arrays, scalars and
/// non-object patches replace; `{}` changes nothing.
pub(crate) fn deep_merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                match t.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => {
                        deep_merge(existing, v)
                    }
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

/// The columns of a stored user that its profile is made of.
pub(crate) struct StoredUser<'a> {
    /// The user's id.
    pub id: &'a str,
    /// Its email, if any.
    pub email: Option<String>,
    /// Its username, if any.
    pub username: Option<String>,
    /// The stored profile text.
    pub profile: &'a str,
    /// The networks of its social identities, sorted.
    pub services: Vec<String>,
}

/// A user's profile as CloudMine shows it: the stored fields, `email`,
/// `username`, `__id__`, `__type__` and `__services__`.
pub(crate) fn user_profile_value(user: StoredUser<'_>) -> Value {
    let mut out = match serde_json::from_str::<Value>(user.profile) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    if let Some(email) = user.email {
        out.insert("email".into(), Value::from(email));
    }
    if let Some(username) = user.username {
        out.insert("username".into(), Value::from(username));
    }
    out.insert("__id__".into(), Value::from(user.id));
    out.insert("__type__".into(), Value::from("user"));
    out.insert("__services__".into(), Value::from(user.services));
    Value::Object(out)
}

/// How an API key is stored: `sha256:` and its SHA-256 in hex.
pub(crate) fn sealed_key(api_key: &str) -> String {
    format!("sha256:{}", crate::crypto::sha256_hex(api_key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_rules() {
        let mut v = json!({"a": {"b": 1, "c": [1, 2]}, "d": 1});
        deep_merge(&mut v, &json!({"a": {"c": [3], "e": 2}, "d": {"x": 1}}));
        assert_eq!(v, json!({"a": {"b": 1, "c": [3], "e": 2}, "d": {"x": 1}}));
        let before = v.clone();
        deep_merge(&mut v, &json!({}));
        assert_eq!(v, before);
        deep_merge(&mut v, &json!(5));
        assert_eq!(v, json!(5));
    }

    #[test]
    fn stored_text_that_is_not_json_is_a_string() {
        assert_eq!(parse_stored("{\"a\":1}"), json!({"a": 1}));
        assert_eq!(parse_stored("{oops"), json!("{oops"));
    }

    #[test]
    fn profile_has_the_cloudmine_fields() {
        let v = user_profile_value(StoredUser {
            id: "u1",
            email: Some("a@b.c".into()),
            username: None,
            profile: "{\"age\":3}",
            services: vec!["github".into()],
        });
        assert_eq!(
            v,
            json!({"age": 3, "email": "a@b.c", "__id__": "u1", "__type__": "user",
                   "__services__": ["github"]})
        );
    }
}
