//! [`SocialQuery`]: a social graph query (the JS SDK's `socialQuery`),
//! `{METHOD} [v1]/app/{appid}/user/social/{network}/{endpoint}`: the server
//! calls the network's API with the user's provider token and passes its
//! answer back.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde_json::{Map, Value};

use super::network::SocialNetwork;
use super::query_answer::SocialAnswer;
use crate::call::{Completion, Prepared, Request, prepare};
use crate::client::Client;
use crate::envelope::{Processed, Processor, parse_body};
use crate::error::{Error, Result};
use crate::events::Handlers;
use crate::options::{AppLevel, CallOptions, Patch};
use crate::transport::{Answer, exchange, transport_error};

/// The content type of a body set without one (the JS SDK's).
const OCTET_STREAM: &str = "application/octet-stream";

/// A social graph query being built, from
/// [`WebService::social_query`](crate::WebService::social_query); `.await`
/// it for the network's [`SocialAnswer`].
///
/// The method is `GET` unless set. Extra query parameters
/// ([`param`](Self::param)) and headers ([`header`](Self::header)) for the
/// network travel as the JS SDK sends them: the query parameters `params`
/// and `headers`, each a JSON object (the server adds them to its call to
/// the network; it refuses headers it controls). A [`body`](Self::body) is
/// sent as `application/octet-stream` unless a content type is given.
///
/// It needs a logged-in user: without a session token it fails before
/// sending with [`Error::NotLoggedIn`]. The events are those of every call
/// (`success` with the body, as JSON when it is JSON, else as a string;
/// `error`, the status, `complete` last). A non-2xx answer (the network's,
/// or the server's own refusal) is an [`Error::Status`].
///
/// ```no_run
/// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
/// use cloudmine::{Method, SocialNetwork};
/// let me: serde_json::Value = ws
///     .social_query(SocialNetwork::Github, "user")
///     .header("Accept", "application/json")
///     .await?
///     .json()?;
/// ws.social_query(SocialNetwork::Twitter, "statuses/update.json")
///     .method(Method::POST)
///     .param("status", "Hello")
///     .body("status=Hello", "application/x-www-form-urlencoded")
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a social query does nothing until it is awaited"]
pub struct SocialQuery {
    client: Client,
    network: String,
    endpoint: String,
    method: Method,
    params: Map<String, Value>,
    headers: Map<String, Value>,
    body: Option<(Vec<u8>, String)>,
    overrides: Patch,
    handlers: Handlers,
}

impl std::fmt::Debug for SocialQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocialQuery")
            .field("method", &self.method)
            .field("network", &self.network)
            .field("endpoint", &self.endpoint)
            .field("param_names", &self.params.keys().collect::<Vec<_>>())
            .field("header_names", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.as_ref().map(|(b, _)| b.len()))
            .finish_non_exhaustive()
    }
}

crate::events::impl_event_emitter!(SocialQuery, handlers);

impl SocialQuery {
    pub(crate) fn new(client: &Client, network: SocialNetwork, endpoint: &str) -> Self {
        SocialQuery {
            client: client.clone(),
            network: network.as_str().to_owned(),
            endpoint: endpoint.to_owned(),
            method: Method::GET,
            params: Map::new(),
            headers: Map::new(),
            body: None,
            overrides: Patch::default(),
            handlers: Handlers::new(),
        }
    }

    /// The HTTP method of the call to the network (`GET` by default).
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// A query parameter for the network (strings, numbers or booleans).
    pub fn param(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.params.insert(name.into(), value.into());
        self
    }

    /// A header for the network (the server refuses the ones it controls:
    /// `Authorization`, `Host`, `Cookie`…).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers
            .insert(name.into(), Value::String(value.into()));
        self
    }

    /// The body, with its content type (the JS SDK's default is
    /// `application/octet-stream`; an empty `content_type` means that one).
    pub fn body(mut self, bytes: impl Into<Vec<u8>>, content_type: impl Into<String>) -> Self {
        self.body = Some((bytes.into(), content_type.into()));
        self
    }

    /// Overrides options for this call only (the session token, timeout…).
    /// The call is always at user level.
    pub fn options(mut self, options: CallOptions) -> Self {
        self.overrides.merge(options.patch);
        self
    }

    /// The request to send: at user level with the session, without the
    /// server params (the JS SDK sends only `headers` and `params`).
    fn request(&mut self) -> Result<Request> {
        let mut options = self.client.snapshot().options.clone();
        options.apply(&self.overrides);
        let session = options.session_token().cloned().ok_or(Error::NotLoggedIn {
            action: "perform a social query",
        })?;
        let mut segments = vec!["social", self.network.as_str()];
        segments.extend(self.endpoint.trim_start_matches('/').split('/'));
        if self.endpoint.trim_matches('/').is_empty()
            || segments
                .iter()
                .any(|s| s.is_empty() || *s == "." || *s == "..")
        {
            return Err(Error::invalid_argument(
                "endpoint",
                format!(
                    "{:?} is empty or has an empty, '.' or '..' segment",
                    self.endpoint
                ),
            ));
        }
        let mut request = Request::new(self.method.clone(), &segments);
        request.session = Some(session);
        for (name, map) in [("headers", &self.headers), ("params", &self.params)] {
            if !map.is_empty() {
                request = request.query(name, Value::Object(map.clone()).to_string());
            }
        }
        self.overrides.merge(no_server_params().patch);
        Ok(request)
    }
}

/// The call's fixed options: user level, no server params.
fn no_server_params() -> CallOptions {
    CallOptions::new()
        .applevel(AppLevel::User)
        .sort(Vec::<String>::new())
        .unset_limit()
        .unset_skip()
        .unset_count()
        .unset_snippet()
        .unset_params()
        .unset_dontwait()
        .unset_resultsonly()
        .unset_shared()
        .unset_shared_only()
        .unset_extended_responses()
        .unset_distance()
        .unset_units()
}

/// The `reqwest` request, with the body and its content type.
fn build(
    client: &Client,
    prepared: Prepared,
    body: Option<(Vec<u8>, String)>,
    url: &str,
) -> Result<reqwest::Request> {
    let Prepared {
        method,
        url: target,
        mut headers,
        timeout,
        ..
    } = prepared;
    let mut builder = client
        .http()
        .request(method.clone(), target)
        .timeout(timeout);
    if let Some((bytes, content_type)) = body {
        let content_type = if content_type.is_empty() {
            OCTET_STREAM.to_owned()
        } else {
            content_type
        };
        let value = HeaderValue::from_str(&content_type)
            .map_err(|_| Error::invalid_argument("content_type", "is not a valid header value"))?;
        headers.insert(CONTENT_TYPE, value);
        builder = builder.body(bytes);
    }
    let mut request = builder
        .build()
        .map_err(|e| transport_error(e, method.as_str(), url, timeout))?;
    *request.headers_mut() = headers;
    Ok(request)
}

impl IntoFuture for SocialQuery {
    type Output = Result<SocialAnswer>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<SocialAnswer>> + Send>>;

    fn into_future(mut self) -> Self::IntoFuture {
        let ready = self.request();
        let SocialQuery {
            client,
            body,
            overrides,
            handlers,
            ..
        } = self;
        let mut completion = Completion::new(handlers);
        let ready = ready
            .and_then(|r| prepare(&client, r, Some(&overrides)))
            .and_then(|mut prepared| {
                completion.info.method = prepared.method.as_str().to_owned();
                completion.info.url = std::mem::take(&mut prepared.display_url);
                let timeout = prepared.timeout;
                let limit = prepared.max_answer_bytes;
                build(&client, prepared, body, &completion.info.url).map(|r| (r, timeout, limit))
            });
        Box::pin(async move {
            let (processed, body) = match ready {
                Err(error) => (Processed::from_failure(error), None),
                Ok((request, timeout, limit)) => {
                    let pending = client.http().execute(request);
                    match exchange(pending, timeout, limit, &mut completion.info).await {
                        Ok(answer) => process(answer, &mut completion),
                        Err(error) => (Processed::from_failure(error), None),
                    }
                }
            };
            let response = completion.finish(processed)?;
            Ok(SocialAnswer {
                status: response.status(),
                headers: response.headers().clone(),
                body: body.unwrap_or_default(),
            })
        })
    }
}

/// The answer's events data (its body as JSON, or as a string), and its
/// bytes kept as they came.
fn process(answer: Answer, completion: &mut Completion) -> (Processed, Option<bytes::Bytes>) {
    let info = &mut completion.info;
    info.headers = answer.headers;
    let processed = Processed::from_http(
        answer.status,
        parse_body(&answer.body),
        Processor::Basic,
        false,
        &info.method,
        &info.url,
    );
    (processed, Some(answer.body))
}
