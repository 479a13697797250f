//! The objects endpoints (`text`, `data`, `search`, `run`): the CloudMine
//! envelope, keys, queries and `f=` snippets, at app or user level.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::access::sharing;
use crate::extract::{Caller, Level, PathParams, check_key, first, query_pairs};
use crate::fail::{Fail, json_response};
use crate::geo_search::GeoSearch;
use crate::params::{SERVER_PARAMS, ServerParams};
use crate::query;
use crate::snippets::SnippetCall;
use crate::state::AppState;
use crate::store::Written;

/// One objects request, once the app, key and level are checked and the
/// server params parsed (in that order, each with its own refusal).
pub(crate) struct Ctx {
    state: Arc<AppState>,
    app_id: String,
    owner: String,
    user_id: Option<String>,
    /// The session token of a user-level call, for JavaScript snippets.
    session_token: Option<String>,
    params: ServerParams,
    query: Vec<(String, String)>,
    body: Bytes,
}

/// The objects extractor: the caller at level `L`, then the server params.
pub(crate) struct Objects<L>(Ctx, std::marker::PhantomData<fn() -> L>);

impl<L: Level> FromRequestParts<Arc<AppState>> for Objects<L> {
    type Rejection = Fail;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Fail> {
        let caller = Caller::<L>::from_request_parts(parts, state).await?;
        let query = query_pairs(parts.uri.query());
        let session_token = caller
            .user_id
            .as_ref()
            .and_then(|_| parts.headers.get("x-cloudmine-sessiontoken"))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let ctx = Ctx {
            session_token,
            state: Arc::clone(state),
            owner: caller.owner().to_owned(),
            app_id: caller.app_id,
            user_id: caller.user_id,
            params: ServerParams::parse(&query)?,
            query,
            body: Bytes::new(),
        };
        Ok(Objects(ctx, std::marker::PhantomData))
    }
}

impl<L> Objects<L> {
    fn with_body(self, body: Bytes) -> Ctx {
        Ctx { body, ..self.0 }
    }
}

/// `GET text`.
pub(crate) async fn get_text<L>(call: Objects<L>) -> Result<Response, Fail> {
    call.0.get_text().await
}

/// `PUT text`: replace.
pub(crate) async fn put_text<L>(call: Objects<L>, body: Bytes) -> Result<Response, Fail> {
    call.with_body(body).put_text(false).await
}

/// `POST text`: merge.
pub(crate) async fn merge_text<L>(call: Objects<L>, body: Bytes) -> Result<Response, Fail> {
    call.with_body(body).put_text(true).await
}

/// `DELETE data`.
pub(crate) async fn delete_data<L>(call: Objects<L>) -> Result<Response, Fail> {
    call.0.delete_data().await
}

/// `GET search?q=`.
pub(crate) async fn search<L>(call: Objects<L>) -> Result<Response, Fail> {
    call.0.search(false).await
}

/// `POST search` with `{"q": ...}`.
pub(crate) async fn search_post<L>(call: Objects<L>, body: Bytes) -> Result<Response, Fail> {
    call.with_body(body).search(true).await
}

/// `GET run/{name}`: the snippet with the query parameters.
pub(crate) async fn run<L>(call: Objects<L>, path: PathParams) -> Result<Response, Fail> {
    call.0.run(path.get("name"), false).await
}

/// `POST` or `PUT run/{name}`: the snippet with the JSON body.
pub(crate) async fn run_post<L>(
    call: Objects<L>,
    path: PathParams,
    body: Bytes,
) -> Result<Response, Fail> {
    call.with_body(body).run(path.get("name"), true).await
}

fn key_error(message: &str) -> Value {
    json!({ "code": 404, "message": message })
}

impl Ctx {
    fn query_values(&self, name: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn json_body(&self) -> Result<Value, Fail> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Fail::new(StatusCode::BAD_REQUEST, format!("malformed JSON body: {e}")))
    }

    fn keys_param(&self) -> Result<Option<Vec<String>>, Fail> {
        let values = self.query_values("keys");
        if values.is_empty() {
            return Ok(None);
        }
        let keys: Vec<String> = values
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::to_owned)
            .collect();
        if keys.iter().any(String::is_empty) {
            return Err(Fail::new(
                StatusCode::BAD_REQUEST,
                "keys: a key must not be empty",
            ));
        }
        Ok(Some(keys))
    }

    /// Builds `{success, errors[, count]}` and applies an `f=` snippet.
    async fn envelope(
        &self,
        status: StatusCode,
        success: Map<String, Value>,
        errors: Map<String, Value>,
        count: Option<usize>,
    ) -> Result<Response, Fail> {
        self.envelope_meta(status, success, errors, count, Map::new())
            .await
    }

    /// [`Ctx::envelope`] with a `meta` object (left out when empty).
    async fn envelope_meta(
        &self,
        status: StatusCode,
        success: Map<String, Value>,
        errors: Map<String, Value>,
        count: Option<usize>,
        meta: Map<String, Value>,
    ) -> Result<Response, Fail> {
        let mut body = json!({ "success": success, "errors": errors });
        if let Some(n) = count.filter(|_| self.params.count) {
            body["count"] = json!(n);
        }
        if !meta.is_empty() {
            body["meta"] = Value::Object(meta);
        }
        if let Some(name) = &self.params.snippet {
            let params = self.params.snippet_params.clone();
            let output = self.call_snippet(name, params, Some(body.clone())).await?;
            match output {
                Some(output) if self.params.result_only => body = json!({ "result": output }),
                Some(output) => body["result"] = output,
                None => {} // async=true: the snippet runs in the background
            }
        }
        Ok(json_response(status, body))
    }

    /// Runs a snippet; `None` when it runs in the background (`async=true`).
    async fn call_snippet(
        &self,
        name: &str,
        params: Value,
        response: Option<Value>,
    ) -> Result<Option<Value>, Fail> {
        let call = SnippetCall {
            name: name.to_owned(),
            params,
            response,
            user_id: self.user_id.clone(),
            session_token: self.session_token.clone(),
            background: self.params.dont_wait,
        };
        self.state.snippets.call(call).await
    }

    async fn load(&self, keys: Option<Vec<String>>) -> Result<Vec<(String, Value)>, Fail> {
        let (app, owner) = (self.app_id.clone(), self.owner.clone());
        self.state
            .store
            .get_objects(&app, &owner, keys.as_deref())
            .await
            .map_err(Fail::from)
    }

    /// The caller's objects plus, with `shared`/`shared_only`, the ones
    /// ACLs share with them ([`sharing::visible`]).
    async fn load_visible(&self) -> Result<Vec<(String, Value)>, Fail> {
        let own = self.load(None).await?;
        let user = self.user_id.as_deref();
        sharing::visible(&self.state, &self.app_id, user, &self.query, own).await
    }

    /// Whether the listing includes objects ACLs share with the caller.
    fn includes_shared(&self) -> Result<bool, Fail> {
        sharing::includes_shared(self.user_id.as_deref(), &self.query)
    }

    /// One sorted page of the caller's own matches, searched by the store.
    async fn search_own(
        &self,
        query: Option<query::Query>,
    ) -> Result<(Vec<(String, Value)>, usize), Fail> {
        let search = self.params.search(query);
        let page = (self.state.store)
            .search_objects(&self.app_id, &self.owner, &search)
            .await?;
        Ok((page.items, page.total))
    }

    /// The keys of all the caller's own objects that match `query`.
    async fn matching_keys(&self, query: query::Query) -> Result<Vec<String>, Fail> {
        let search = crate::store::ObjectSearch {
            query: Some(query),
            sort: Vec::new(),
            skip: 0,
            limit: None,
            count: false,
        };
        let page = (self.state.store)
            .search_objects(&self.app_id, &self.owner, &search)
            .await?;
        Ok(page.items.into_iter().map(|(k, _)| k).collect())
    }

    /// Objects shared with the caller under the `keys` not in `found`.
    async fn shared_keys(
        &self,
        keys: &[String],
        found: &[(String, Value)],
    ) -> Result<Vec<(String, Value)>, Fail> {
        let missing: Vec<String> = (keys.iter())
            .filter(|k| !found.iter().any(|(f, _)| f == *k))
            .cloned()
            .collect();
        let user = self.user_id.as_deref();
        sharing::read_keys(&self.state, &self.app_id, user, &missing).await
    }

    async fn get_text(self) -> Result<Response, Fail> {
        let keys = self.keys_param()?;
        let mut errors = Map::new();
        let (found, total) = match keys {
            Some(keys) => {
                let mut found = self.load(Some(keys.clone())).await?;
                found.extend(self.shared_keys(&keys, &found).await?);
                for key in keys {
                    if !found.iter().any(|(k, _)| *k == key) {
                        errors.insert(key, key_error("key does not exist"));
                    }
                }
                let total = found.len();
                (found, total)
            }
            None if !self.includes_shared()? => self.search_own(None).await?,
            None => {
                let all = self.load_visible().await?;
                self.params.page(all)
            }
        };
        self.envelope(
            StatusCode::OK,
            found.into_iter().collect(),
            errors,
            Some(total),
        )
        .await
    }

    async fn put_text(self, merge: bool) -> Result<Response, Fail> {
        if let Some(number) = inexact_integer(&self.body) {
            return Err(Fail::bad(format!(
                "the number {number} cannot be stored exactly (integers must fit in 64 bits, \
                 and -0 is not kept): send it as a string"
            )));
        }
        let Value::Object(objects) = self.json_body()? else {
            return Err(Fail::new(
                StatusCode::BAD_REQUEST,
                "the body must be a JSON object of {key: value}",
            ));
        };
        if objects.is_empty() {
            return Err(Fail::new(StatusCode::BAD_REQUEST, "the body has no keys"));
        }
        for key in objects.keys() {
            check_key(key)?;
        }
        let (app, owner) = (self.app_id.clone(), self.owner.clone());
        let (written, errors) = sharing::write(&self.state, &app, &owner, &objects, merge).await?;
        let all_created =
            !written.is_empty() && written.iter().all(|(_, w)| *w == Written::Created);
        let success = written
            .into_iter()
            .map(|(k, w)| {
                let word = if w == Written::Created {
                    "created"
                } else {
                    "updated"
                };
                (k, Value::from(word))
            })
            .collect();
        let status = if all_created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        self.envelope(status, success, errors, None).await
    }

    async fn delete_data(self) -> Result<Response, Fail> {
        let keys = if let Some(keys) = self.keys_param()? {
            keys
        } else if first(&self.query, "all") == Some("true") {
            self.load(None).await?.into_iter().map(|(k, _)| k).collect()
        } else if let Some(q) = first(&self.query, "q") {
            let query = query::parse(q).map_err(|e| Fail::new(StatusCode::BAD_REQUEST, e))?;
            self.matching_keys(query).await?
        } else {
            return Err(Fail::new(
                StatusCode::BAD_REQUEST,
                "specify keys, all=true or q",
            ));
        };
        let (app, owner) = (self.app_id.clone(), self.owner.clone());
        let (success, errors) = sharing::delete(&self.state, &app, &owner, &keys).await?;
        self.envelope(StatusCode::OK, success, errors, None).await
    }

    async fn search(self, post: bool) -> Result<Response, Fail> {
        let q = if post {
            match self.json_body()? {
                Value::Object(mut o) => match o.remove("q") {
                    Some(Value::String(q)) => q,
                    _ => {
                        return Err(Fail::new(
                            StatusCode::BAD_REQUEST,
                            "the body needs a string \"q\"",
                        ));
                    }
                },
                _ => {
                    return Err(Fail::new(
                        StatusCode::BAD_REQUEST,
                        "the body must be {\"q\": \"<query>\"}",
                    ));
                }
            }
        } else {
            first(&self.query, "q")
                .ok_or_else(|| Fail::new(StatusCode::BAD_REQUEST, "missing query parameter q"))?
                .to_owned()
        };
        let query = query::parse(&q).map_err(|e| Fail::new(StatusCode::BAD_REQUEST, e))?;
        let geo = GeoSearch::parse(&self.query)?;
        if !query.has_near() && !self.includes_shared()? {
            let (page, total) = self.search_own(Some(query)).await?;
            let success = page.into_iter().collect();
            return self
                .envelope(StatusCode::OK, success, Map::new(), Some(total))
                .await;
        }
        let (matching, distances) = geo.filter(&query, self.load_visible().await?);
        let (page, total) = self.params.page(matching);
        let meta = geo.meta(&page, &distances);
        let success = page.into_iter().collect();
        self.envelope_meta(StatusCode::OK, success, Map::new(), Some(total), meta)
            .await
    }

    async fn run(self, name: &str, post: bool) -> Result<Response, Fail> {
        let params = if post {
            if self.body.iter().all(u8::is_ascii_whitespace) {
                Value::Null
            } else {
                self.json_body()?
            }
        } else {
            Value::Object(
                self.query
                    .iter()
                    .filter(|(n, _)| !SERVER_PARAMS.contains(&n.as_str()))
                    .map(|(n, v)| (n.clone(), Value::from(v.as_str())))
                    .collect(),
            )
        };
        let body = match self.call_snippet(name, params, None).await? {
            Some(output) => json!({ "result": output }),
            None => json!({}), // async=true: nothing to wait for
        };
        Ok(json_response(StatusCode::OK, body))
    }
}
/// The first integer in a JSON text that parsing would not keep exactly:
/// beyond `i64`/`u64` (it would become the nearest double) or `-0` (it
/// would become `0`). Strings are skipped; fractions and exponents are
/// doubles by definition and pass.
pub(crate) fn inexact_integer(json: &[u8]) -> Option<String> {
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            b'"' => {
                i += 1;
                while i < json.len() && json[i] != b'"' {
                    i += if json[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < json.len()
                    && matches!(json[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                let token = String::from_utf8_lossy(&json[start..i]);
                // Not a number at all: the JSON parser says what is wrong.
                let integer = !token.contains(['.', 'e', 'E']) && token.parse::<f64>().is_ok();
                let exact = token.parse::<i64>().is_ok() || token.parse::<u64>().is_ok();
                if integer && (token == "-0" || !exact) {
                    return Some(token.into_owned());
                }
            }
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::inexact_integer;

    #[test]
    fn integers_that_would_change_are_found() {
        let found = |s: &str| inexact_integer(s.as_bytes());
        assert_eq!(
            found(r#"{"a": 18446744073709551616}"#).as_deref(),
            Some("18446744073709551616")
        );
        assert_eq!(
            found(r#"{"a": -9223372036854775809}"#).as_deref(),
            Some("-9223372036854775809")
        );
        assert_eq!(found(r#"{"a": [1, -0]}"#).as_deref(), Some("-0"));
        assert_eq!(
            found(r#"{"a": 18446744073709551615, "b": -9223372036854775808}"#),
            None
        );
        assert_eq!(
            found(r#"{"99999999999999999999": "x\" 99999999999999999999", "c": 1e400, "d": -0.0}"#),
            None
        );
        assert_eq!(found(r#"{"a": --1}"#), None, "left to the JSON parser");
    }
}
