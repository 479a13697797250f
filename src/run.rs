//! [`Run`]: running a server-side snippet directly (CloudMine's `run`,
//! `GET|POST|PUT run/{name}`).

use std::borrow::Cow;

use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use crate::call::{ApiCall, Request};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::options::CallOptions;

/// A snippet call being built, from [`WebService::run`](crate::WebService::run).
///
/// Finish it with [`get`](Self::get) (the parameters go in the query),
/// [`post`](Self::post) or [`put`](Self::put) (a JSON body); each gives an
/// [`ApiCall`] for handlers, options and `.await`. The snippet's output is
/// the response's [`result`](crate::Response::result), typed with
/// [`result_as`](crate::Response::result_as).
///
/// Like CloudMine's JS SDK, a run never sends the client's `snippet` (`f`)
/// or `params` options: the snippet is the one named here.
///
/// ```no_run
/// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
/// let sum = ws.run("add").param("a", "2").param("b", "3").get().await?;
/// let n: i64 = sum.result_as()?;
/// let echoed = ws.run("echo").post(serde_json::json!({"x": [1, 2]})).await?;
/// ws.run("cleanup").dont_wait(true).get().await?; // does not wait for the snippet
/// # Ok(()) }
/// ```
#[must_use = "a snippet runs only once get(), post() or put() is awaited"]
pub struct Run<'a> {
    client: &'a Client,
    name: String,
    params: Vec<(String, String)>,
    options: CallOptions,
}

impl std::fmt::Debug for Run<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<'a> Run<'a> {
    pub(crate) fn new(client: &'a Client, name: impl Into<String>) -> Self {
        Run {
            client,
            name: name.into(),
            params: Vec::new(),
            options: CallOptions::new().unset_snippet().unset_params(),
        }
    }

    /// Adds a query parameter for [`get`](Self::get) (the snippet reads it
    /// as `data.params[name]`). Names and values may be owned strings.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// Only the snippet's `result` in the answer (`result_only`).
    pub fn result_only(mut self, yes: bool) -> Self {
        self.options = self.options.resultsonly(yes);
        self
    }

    /// Do not wait for the snippet to finish (`async`): when the server runs
    /// it in the background, the answer is empty and has no `result`.
    pub fn dont_wait(mut self, yes: bool) -> Self {
        self.options = self.options.dontwait(yes);
        self
    }

    /// `GET run/{name}` with the parameters in the query.
    pub fn get(self) -> ApiCall {
        self.build(Method::GET, None)
    }

    /// `POST run/{name}` with `body` as JSON (the snippet's `data.params`).
    /// Parameters set with [`param`](Self::param) go in the query.
    pub fn post(self, body: impl Serialize) -> ApiCall {
        self.build(Method::POST, Some(encode(body)))
    }

    /// `PUT run/{name}` with `body` as JSON, as [`post`](Self::post).
    pub fn put(self, body: impl Serialize) -> ApiCall {
        self.build(Method::PUT, Some(encode(body)))
    }

    fn build(self, method: Method, body: Option<Result<Value>>) -> ApiCall {
        let Run {
            client,
            name,
            params,
            options,
        } = self;
        let request = request(method, &name).and_then(|mut r| {
            if let Some(body) = body {
                r = r.json(&body?);
            }
            r.query
                .extend(params.into_iter().map(|(k, v)| (Cow::Owned(k), v)));
            Ok(r)
        });
        ApiCall::new(client, request).options(options)
    }
}

fn encode(body: impl Serialize) -> Result<Value> {
    serde_json::to_value(body)
        .map_err(|e| Error::invalid_argument("body", format!("cannot be encoded as JSON: {e}")))
}

fn request(method: Method, name: &str) -> Result<Request> {
    if name.trim().is_empty() {
        return Err(Error::invalid_argument("name", "must not be empty"));
    }
    if name.contains('/') || name == "." || name == ".." {
        return Err(Error::invalid_argument(
            "name",
            format!("{name:?} is not a snippet name: no '/', '.' or '..'"),
        ));
    }
    Ok(Request::new(method, &["run", name]))
}
