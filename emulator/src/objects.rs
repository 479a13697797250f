//! The objects endpoints (`text`, `data`, `search`, `run`): server params,
//! paging and sorting, the CloudMine envelope, and `f=` snippets.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::SnippetInput;
use crate::db::Written;
use crate::hooks::RecordedRequest;
use crate::query;
use crate::server::{Fail, SERVER_PARAMS, Shared, blocking, json_response};

/// The server params of a request.
pub(crate) struct ServerParams {
    limit: i64,
    skip: usize,
    pub(crate) count: bool,
    sort: Vec<(String, bool)>,
    snippet: Option<String>,
    snippet_params: Value,
    result_only: bool,
}

fn flag(name: &str, value: &str) -> Result<bool, Fail> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(Fail::new(
            StatusCode::BAD_REQUEST,
            format!("invalid {name}: {other:?} is not true or false"),
        )),
    }
}

impl ServerParams {
    pub(crate) fn parse(query: &[(String, String)]) -> Result<Self, Fail> {
        let mut p = ServerParams {
            limit: 50,
            skip: 0,
            count: false,
            sort: Vec::new(),
            snippet: None,
            snippet_params: Value::Null,
            result_only: false,
        };
        let number_error = |name: &str, v: &str| {
            Fail::new(
                StatusCode::BAD_REQUEST,
                format!("invalid {name}: {v:?} is not a number"),
            )
        };
        for (name, value) in query {
            match name.as_str() {
                "limit" => {
                    p.limit = value.parse().map_err(|_| number_error("limit", value))?;
                    if p.limit < -1 {
                        return Err(Fail::new(
                            StatusCode::BAD_REQUEST,
                            format!("invalid limit: {value} (use -1 for no limit)"),
                        ));
                    }
                }
                "skip" => p.skip = value.parse().map_err(|_| number_error("skip", value))?,
                "count" => p.count = flag("count", value)?,
                "result_only" => p.result_only = flag("result_only", value)?,
                "sort" => {
                    let (field, desc) = match value.rsplit_once(':') {
                        Some((f, "desc")) => (f, true),
                        Some((f, "asc")) => (f, false),
                        _ => (value.as_str(), false),
                    };
                    if field.is_empty() {
                        return Err(Fail::new(
                            StatusCode::BAD_REQUEST,
                            "invalid sort: empty field",
                        ));
                    }
                    p.sort.push((field.to_owned(), desc));
                }
                "f" => p.snippet = Some(value.clone()),
                "params" => {
                    p.snippet_params = serde_json::from_str(value).map_err(|e| {
                        Fail::new(
                            StatusCode::BAD_REQUEST,
                            format!("invalid params: not JSON: {e}"),
                        )
                    })?;
                }
                _ => {}
            }
        }
        Ok(p)
    }

    /// Sorts, counts and pages a list.
    pub(crate) fn page(&self, mut items: Vec<(String, Value)>) -> (Vec<(String, Value)>, usize) {
        if !self.sort.is_empty() {
            items.sort_by(|(ka, a), (kb, b)| {
                for (field, desc) in &self.sort {
                    let va = query::sort_value(ka, a, field);
                    let vb = query::sort_value(kb, b, field);
                    let ord = query::compare(va.as_ref(), vb.as_ref());
                    let ord = if *desc { ord.reverse() } else { ord };
                    if ord.is_ne() {
                        return ord;
                    }
                }
                ka.cmp(kb)
            });
        }
        let total = items.len();
        let page = items.into_iter().skip(self.skip);
        let page = match usize::try_from(self.limit) {
            Ok(n) => page.take(n).collect(),
            Err(_) => page.collect(), // -1: no limit
        };
        (page, total)
    }
}

/// One objects request, once the app, key and level are checked.
pub(crate) struct Ctx {
    pub(crate) shared: Arc<Shared>,
    pub(crate) app_id: String,
    pub(crate) owner: String,
    pub(crate) user_id: Option<String>,
    pub(crate) params: ServerParams,
    pub(crate) request: RecordedRequest,
    pub(crate) body: Vec<u8>,
}

fn key_error(message: &str) -> Value {
    json!({ "code": 404, "message": message })
}

impl Ctx {
    fn json_body(&self) -> Result<Value, Fail> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Fail::new(StatusCode::BAD_REQUEST, format!("malformed JSON body: {e}")))
    }

    fn keys_param(&self) -> Result<Option<Vec<String>>, Fail> {
        let values = self.request.query_values("keys");
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
    fn envelope(
        &self,
        status: StatusCode,
        success: Map<String, Value>,
        errors: Map<String, Value>,
        count: Option<usize>,
    ) -> Result<Response, Fail> {
        let mut body = json!({ "success": success, "errors": errors });
        if let Some(n) = count.filter(|_| self.params.count) {
            body["count"] = json!(n);
        }
        if let Some(name) = &self.params.snippet {
            let output =
                self.call_snippet(name, self.params.snippet_params.clone(), Some(body.clone()))?;
            if self.params.result_only {
                body = json!({ "result": output });
            } else {
                body["result"] = output;
            }
        }
        Ok(json_response(status, body))
    }

    fn call_snippet(
        &self,
        name: &str,
        params: Value,
        response: Option<Value>,
    ) -> Result<Value, Fail> {
        let snippet =
            self.shared.snippets.get(name).ok_or_else(|| {
                Fail::new(StatusCode::NOT_FOUND, format!("unknown snippet: {name}"))
            })?;
        snippet(SnippetInput {
            params,
            response,
            user_id: self.user_id.clone(),
        })
        .map_err(|message| Fail::new(StatusCode::BAD_REQUEST, message))
    }

    async fn load(&self, keys: Option<Vec<String>>) -> Result<Vec<(String, Value)>, Fail> {
        let (app, owner) = (self.app_id.clone(), self.owner.clone());
        blocking(&self.shared.db, move |db| {
            db.get_objects(&app, &owner, keys.as_deref())
        })
        .await
    }

    pub(crate) async fn get_text(self) -> Result<Response, Fail> {
        let keys = self.keys_param()?;
        let mut errors = Map::new();
        let (found, total) = match keys {
            Some(keys) => {
                let found = self.load(Some(keys.clone())).await?;
                for key in keys {
                    if !found.iter().any(|(k, _)| *k == key) {
                        errors.insert(key, key_error("key does not exist"));
                    }
                }
                let total = found.len();
                (found, total)
            }
            None => {
                let all = self.load(None).await?;
                self.params.page(all)
            }
        };
        self.envelope(
            StatusCode::OK,
            found.into_iter().collect(),
            errors,
            Some(total),
        )
    }

    pub(crate) async fn put_text(self, merge: bool) -> Result<Response, Fail> {
        let Value::Object(objects) = self.json_body()? else {
            return Err(Fail::new(
                StatusCode::BAD_REQUEST,
                "the body must be a JSON object of {key: value}",
            ));
        };
        if objects.is_empty() {
            return Err(Fail::new(StatusCode::BAD_REQUEST, "the body has no keys"));
        }
        if objects.keys().any(String::is_empty) {
            return Err(Fail::new(
                StatusCode::BAD_REQUEST,
                "a key must not be empty",
            ));
        }
        let (app, owner) = (self.app_id.clone(), self.owner.clone());
        let written = blocking(&self.shared.db, move |db| {
            db.put_objects(&app, &owner, &objects, merge)
        })
        .await?;
        let all_created = written.iter().all(|(_, w)| *w == Written::Created);
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
        self.envelope(status, success, Map::new(), None)
    }

    pub(crate) async fn delete_data(self) -> Result<Response, Fail> {
        let keys = if let Some(keys) = self.keys_param()? {
            keys
        } else if self.request.query_value("all") == Some("true") {
            self.load(None).await?.into_iter().map(|(k, _)| k).collect()
        } else if let Some(q) = self.request.query_value("q") {
            let query = query::parse(q).map_err(|e| Fail::new(StatusCode::BAD_REQUEST, e))?;
            self.load(None)
                .await?
                .into_iter()
                .filter(|(k, v)| query.matches(k, v))
                .map(|(k, _)| k)
                .collect()
        } else {
            return Err(Fail::new(
                StatusCode::BAD_REQUEST,
                "specify keys, all=true or q",
            ));
        };
        let (app, owner) = (self.app_id.clone(), self.owner.clone());
        let deleted = blocking(&self.shared.db, move |db| {
            db.delete_objects(&app, &owner, &keys)
        })
        .await?;
        let mut success = Map::new();
        let mut errors = Map::new();
        for (key, existed) in deleted {
            if existed {
                success.insert(key, Value::from("deleted"));
            } else {
                errors.insert(key, key_error("key does not exist"));
            }
        }
        self.envelope(StatusCode::OK, success, errors, None)
    }

    pub(crate) async fn search(self, post: bool) -> Result<Response, Fail> {
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
            self.request
                .query_value("q")
                .ok_or_else(|| Fail::new(StatusCode::BAD_REQUEST, "missing query parameter q"))?
                .to_owned()
        };
        let query = query::parse(&q).map_err(|e| Fail::new(StatusCode::BAD_REQUEST, e))?;
        let matching: Vec<(String, Value)> = self
            .load(None)
            .await?
            .into_iter()
            .filter(|(k, v)| query.matches(k, v))
            .collect();
        let (page, total) = self.params.page(matching);
        self.envelope(
            StatusCode::OK,
            page.into_iter().collect(),
            Map::new(),
            Some(total),
        )
    }

    pub(crate) fn run(self, name: &str, post: bool) -> Result<Response, Fail> {
        let params = if post {
            if self.body.iter().all(u8::is_ascii_whitespace) {
                Value::Null
            } else {
                self.json_body()?
            }
        } else {
            Value::Object(
                self.request
                    .query
                    .iter()
                    .filter(|(n, _)| !SERVER_PARAMS.contains(&n.as_str()))
                    .map(|(n, v)| (n.clone(), Value::from(v.as_str())))
                    .collect(),
            )
        };
        let output = self.call_snippet(name, params, None)?;
        Ok(json_response(StatusCode::OK, json!({ "result": output })))
    }
}
