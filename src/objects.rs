//! The objects API: CloudMine's key/value store of JSON values.

use reqwest::Method;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::call::{ApiCall, Request};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::paging::Pages;

/// Confirms [`Objects::destroy_all`]: it deletes every object **and file** at
/// the level the call works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DestroyAll {
    /// Yes: delete all objects and files.
    ObjectsAndFiles,
}

/// The objects API, from [`WebService::objects`](crate::WebService::objects).
///
/// Every method returns an [`ApiCall`]. Calls work on the logged-in user's
/// objects when a session token is set and on application objects otherwise
/// (see [`AppLevel`](crate::AppLevel)).
#[derive(Clone, Copy)]
pub struct Objects<'a> {
    client: &'a Client,
}

impl std::fmt::Debug for Objects<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Objects").finish_non_exhaustive()
    }
}

/// A new random key: 32 lower-case hex characters (a UUID v4 without dashes).
pub(crate) fn new_key() -> String {
    crate::random_id::new_id()
}

pub(crate) fn join_keys<I, K>(keys: I) -> Result<String>
where
    I: IntoIterator<Item = K>,
    K: AsRef<str>,
{
    let mut joined = String::new();
    for key in keys {
        let key = key.as_ref();
        if key.is_empty() {
            return Err(Error::invalid_argument("keys", "a key must not be empty"));
        }
        if key.contains(',') {
            return Err(Error::invalid_argument(
                "keys",
                format!(
                    "key {key:?} contains a comma, which the `keys` parameter cannot carry; \
                     use search(r#\"[__id__ = \"...\"]\"#) instead"
                ),
            ));
        }
        if !joined.is_empty() {
            joined.push(',');
        }
        joined.push_str(key);
    }
    if joined.is_empty() {
        return Err(Error::invalid_argument(
            "keys",
            "no keys given; use get_all() or destroy_all()",
        ));
    }
    Ok(joined)
}

fn object_body(objects: impl Serialize) -> Result<Value> {
    let value = serde_json::to_value(objects).map_err(|e| {
        Error::invalid_argument("objects", format!("cannot be encoded as JSON: {e}"))
    })?;
    match &value {
        Value::Object(map) if map.is_empty() => Err(Error::invalid_argument(
            "objects",
            "no objects given: pass a map of at least one key",
        )),
        Value::Object(map) if map.keys().any(String::is_empty) => Err(Error::invalid_argument(
            "objects",
            "a key must not be empty",
        )),
        Value::Object(_) => Ok(value),
        _ => Err(Error::invalid_argument(
            "objects",
            "must encode to a JSON object of {key: value}",
        )),
    }
}

fn single(key: impl Into<String>, value: impl Serialize) -> Result<Value> {
    let value = serde_json::to_value(value)
        .map_err(|e| Error::invalid_argument("value", format!("cannot be encoded as JSON: {e}")))?;
    let mut map = Map::new();
    map.insert(key.into(), value);
    object_body(Value::Object(map))
}

impl<'a> Objects<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Objects { client }
    }

    /// Gets the objects stored under `keys` (`GET text?keys=…`). Keys that do
    /// not exist come back as per-key 404 errors; when none exists the call
    /// fails with [`Error::Keys`].
    pub fn get<I, K>(&self, keys: I) -> ApiCall
    where
        I: IntoIterator<Item = K>,
        K: AsRef<str>,
    {
        ApiCall::new(
            self.client,
            join_keys(keys).map(|keys| Request::new(Method::GET, &["text"]).query("keys", keys)),
        )
    }

    /// Gets all objects, one page at a time: use the `limit`, `skip`, `sort`
    /// and `count` options.
    pub fn get_all(&self) -> ApiCall {
        ApiCall::new(self.client, Ok(Request::new(Method::GET, &["text"])))
    }

    /// Every object, page by page as a stream (see [`Pages`]).
    ///
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// use futures_util::TryStreamExt;
    /// let all: Vec<(String, serde_json::Value)> =
    ///     ws.objects().get_all_pages().page_size(200).into_stream().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn get_all_pages(&self) -> Pages {
        Pages::from_call(self.get_all())
    }

    /// Creates or replaces the object under `key` (`PUT text`).
    pub fn set(&self, key: impl Into<String>, value: impl Serialize) -> ApiCall {
        self.put(Method::PUT, single(key, value))
    }

    /// Creates or replaces several objects: `objects` encodes to `{key: value, …}`.
    pub fn set_many(&self, objects: impl Serialize) -> ApiCall {
        self.put(Method::PUT, object_body(objects))
    }

    /// Stores `value` under a new random key (see [`WebService::keygen`](crate::WebService::keygen)); the
    /// key is the one key of the response.
    pub fn create(&self, value: impl Serialize) -> ApiCall {
        self.set(new_key(), value)
    }

    /// Merges `partial` into the object under `key` (`POST text`): nested
    /// objects merge, arrays and scalars replace. Creates it when absent.
    pub fn update(&self, key: impl Into<String>, partial: impl Serialize) -> ApiCall {
        self.put(Method::POST, single(key, partial))
    }

    /// Merges several objects: `objects` encodes to `{key: partial, …}`.
    pub fn update_many(&self, objects: impl Serialize) -> ApiCall {
        self.put(Method::POST, object_body(objects))
    }

    /// Creates or replaces the object under `key` (a JSON object) with its
    /// `__access__` set to `acl_ids`: the members of those ACLs (see
    /// [`Acls`](crate::Acls)) get what each grants. An empty list shares
    /// with no one. Only user-level objects are shared.
    ///
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// ws.objects().set_with_access("note", serde_json::json!({"text": "hi"}), ["acl-id"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn set_with_access<I, S>(
        &self,
        key: impl Into<String>,
        value: impl Serialize,
        acl_ids: I,
    ) -> ApiCall
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let value = with_access(value, acl_ids);
        self.put(Method::PUT, value.and_then(|v| single(key, v)))
    }

    fn put(&self, method: Method, body: Result<Value>) -> ApiCall {
        ApiCall::new(
            self.client,
            body.map(|body| Request::new(method, &["text"]).json(&body)),
        )
    }

    /// Deletes the objects (or files) under `keys` (`DELETE data?keys=…`).
    pub fn destroy<I, K>(&self, keys: I) -> ApiCall
    where
        I: IntoIterator<Item = K>,
        K: AsRef<str>,
    {
        ApiCall::new(
            self.client,
            join_keys(keys).map(|keys| Request::new(Method::DELETE, &["data"]).query("keys", keys)),
        )
    }

    /// Deletes every object and file at this call's level (`DELETE data?all=true`).
    pub fn destroy_all(&self, confirm: DestroyAll) -> ApiCall {
        let DestroyAll::ObjectsAndFiles = confirm;
        ApiCall::new(
            self.client,
            Ok(Request::new(Method::DELETE, &["data"]).query("all", "true")),
        )
    }

    /// Deletes the objects matching a CloudMine query (`DELETE data?q=…`).
    pub fn destroy_where(&self, query: impl Into<String>) -> ApiCall {
        ApiCall::new(
            self.client,
            non_empty_query(query.into())
                .map(|q| Request::new(Method::DELETE, &["data"]).query("q", q)),
        )
    }

    /// Searches with a CloudMine query, passed through as given
    /// (`GET search?q=…`), e.g. `[__class__ = "car", price < 20000]`.
    pub fn search(&self, query: impl Into<String>) -> ApiCall {
        ApiCall::new(
            self.client,
            non_empty_query(query.into())
                .map(|q| Request::new(Method::GET, &["search"]).query("q", q)),
        )
    }

    /// The results of [`search`](Self::search), page by page as a stream
    /// (see [`Pages`]).
    ///
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// use futures_util::TryStreamExt;
    /// let mut cars = ws.objects().search_pages(r#"[__class__ = "car"]"#).into_stream();
    /// while let Some((key, car)) = cars.try_next().await? {
    ///     println!("{key}: {car}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn search_pages(&self, query: impl Into<String>) -> Pages {
        Pages::from_call(self.search(query))
    }

    /// Like [`search`](Self::search), with the query in a POST body
    /// (`{"q": …}`), for queries too long for a URL.
    pub fn search_post(&self, query: impl Into<String>) -> ApiCall {
        ApiCall::new(
            self.client,
            non_empty_query(query.into()).map(|q| {
                Request::new(Method::POST, &["search"]).json(&serde_json::json!({ "q": q }))
            }),
        )
    }
}

/// `value` (a JSON object) with `__access__` set to the ACL ids.
fn with_access<I, S>(value: impl Serialize, acl_ids: I) -> Result<Value>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut value = serde_json::to_value(value)
        .map_err(|e| Error::invalid_argument("value", format!("cannot be encoded as JSON: {e}")))?;
    let ids: Vec<Value> = acl_ids
        .into_iter()
        .map(|id| match id.as_ref() {
            "" => Err(Error::invalid_argument(
                "acl_ids",
                "an ACL id must not be empty",
            )),
            id => Ok(Value::String(id.to_owned())),
        })
        .collect::<Result<_>>()?;
    let Value::Object(map) = &mut value else {
        return Err(Error::invalid_argument(
            "value",
            "only a JSON object can carry __access__",
        ));
    };
    map.insert("__access__".into(), Value::Array(ids));
    Ok(value)
}

fn non_empty_query(query: String) -> Result<String> {
    if query.trim().is_empty() {
        Err(Error::invalid_argument("query", "must not be empty"))
    } else {
        Ok(query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        assert_eq!(join_keys(["a", "b"]).unwrap(), "a,b");
        assert!(join_keys(Vec::<String>::new()).unwrap_err().is_invalid());
        assert!(join_keys(["a", ""]).unwrap_err().is_invalid());
        let e = join_keys(["a,b"]).unwrap_err();
        assert!(e.to_string().contains("comma"), "{e}");
    }

    #[test]
    fn bodies_must_be_objects() {
        assert!(object_body(serde_json::json!([1])).is_err());
        assert!(object_body(serde_json::json!({})).is_err());
        assert!(object_body(serde_json::json!({"": 1})).is_err());
        assert_eq!(single("k", 5).unwrap(), serde_json::json!({"k": 5}));
    }
}
