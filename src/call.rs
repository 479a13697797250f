//! [`ApiCall`]: one request, awaitable and an event emitter.

use std::borrow::Cow;
use std::error::Error as _;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use url::Url;

use crate::envelope::{Processed, Processor, parse_body};
use crate::events::{CallInfo, Handlers};
use crate::options::{CallOptions, Options, Patch};
use crate::{Error, Response, Result, WebService};

pub(crate) const HEADER_API_KEY: &str = "x-cloudmine-apikey";
pub(crate) const HEADER_AGENT: &str = "x-cloudmine-agent";
pub(crate) const HEADER_USER_TOKEN: &str = "x-cloudmine-ut";
pub(crate) const HEADER_UNIQUE_ID: &str = "x-unique-id";
pub(crate) const HEADER_SESSION: &str = "x-cloudmine-sessiontoken";

/// What an endpoint sends, before options are merged in.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: Method,
    /// Path segments under `/{version}/app/{appid}/` (encoded when the URL is built).
    pub segments: Vec<String>,
    /// Endpoint parameters; the server params follow them.
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Body>,
    pub processor: Processor,
    /// Account endpoints that always use the app level and never send the session.
    pub force_app: bool,
    /// Send the session header even at app level (logout).
    pub send_session: bool,
    /// What the call does to the client's session.
    pub hook: Option<Hook>,
    pub version: &'static str,
}

/// What a call does to the client's session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hook {
    /// A login: keep the returned session (its token is redacted in the
    /// events and the response; the client holds it).
    StoreSession,
    /// Logout: forget the session before the request goes out, so it is
    /// gone locally even when the server call fails.
    ClearSessionFirst,
    /// Deleting one's account: forget the session once it succeeded.
    ClearSessionOnSuccess,
    /// `restore()`: load the saved session before sending; forget it if the
    /// server says it is no longer valid.
    Restore,
}

#[derive(Debug, Clone)]
pub(crate) struct Body {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

impl Request {
    pub(crate) fn new(method: Method, segments: &[&str]) -> Self {
        Request {
            method,
            segments: segments.iter().map(|s| (*s).to_owned()).collect(),
            query: Vec::new(),
            body: None,
            processor: Processor::Text,
            force_app: false,
            send_session: false,
            hook: None,
            version: "v1",
        }
    }

    pub(crate) fn app_level(mut self) -> Self {
        self.force_app = true;
        self
    }

    pub(crate) fn query(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.query.push((name, value.into()));
        self
    }

    pub(crate) fn json(mut self, value: &Value) -> Self {
        self.body = Some(Body {
            bytes: value.to_string().into_bytes(),
            content_type: "application/json",
        });
        self
    }
}

/// One API call. Register handlers with the [`EventEmitter`](crate::EventEmitter) methods, set
/// per-call options with [`options`](Self::options), then `.await` it.
///
/// Nothing is sent until the call is awaited. From the moment it is awaited
/// (turned into a future), `complete` fires exactly once, last — also when it
/// fails before sending (invalid options), on transport errors and timeouts,
/// and when the future is dropped before it finished (then `abort`, `error`
/// and `complete` fire, and the request is cancelled). A call that is dropped
/// without ever being awaited fires nothing.
///
/// ```no_run
/// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
/// use cloudmine::{CallOptions, Event, EventEmitter};
/// let response = ws
///     .objects()
///     .search(r#"[__class__ = "car", price < 20000]"#)
///     .options(CallOptions::new().limit(5).count(true))
///     .on(Event::Error, |errors: &serde_json::Value, _call: &cloudmine::CallInfo| eprintln!("failed: {errors}"))
///     .await?;
/// println!("{} of {:?} cars", response.keys().len(), response.count());
/// # Ok(()) }
/// ```
#[must_use = "a call does nothing until it is awaited"]
pub struct ApiCall {
    ws: WebService,
    request: Result<Request>,
    overrides: Option<Box<Patch>>,
    handlers: Handlers,
}

impl std::fmt::Debug for ApiCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("ApiCall");
        match &self.request {
            Ok(r) => d
                .field("method", &r.method)
                .field("path", &r.segments.join("/")),
            Err(e) => d.field("error", e),
        };
        d.field("handlers", &self.handlers).finish_non_exhaustive()
    }
}

impl ApiCall {
    pub(crate) fn new(ws: WebService, request: Result<Request>) -> Self {
        ApiCall {
            ws,
            request,
            overrides: None,
            handlers: Handlers::new(),
        }
    }

    #[cfg(feature = "blocking")]
    pub(crate) fn runtime(&self) -> Result<std::sync::Arc<crate::blocking::Runtime>> {
        self.ws.blocking_runtime()
    }

    /// Overrides options for this call only (on top of earlier overrides).
    pub fn options(mut self, options: CallOptions) -> Self {
        self.overrides
            .get_or_insert_with(Box::default)
            .merge(options.patch);
        self
    }

    /// Adds an endpoint query parameter (for [`WebService::api`] calls).
    pub fn query(mut self, name: &'static str, value: impl Into<String>) -> Self {
        if let Ok(request) = &mut self.request {
            request.query.push((name, value.into()));
        }
        self
    }

    /// Sends `body` with this content type (for [`WebService::api`] calls).
    pub fn body(mut self, bytes: impl Into<Vec<u8>>, content_type: &'static str) -> Self {
        if let Ok(request) = &mut self.request {
            request.body = Some(Body {
                bytes: bytes.into(),
                content_type,
            });
        }
        self
    }

    /// Sends `value` as a JSON body (for [`WebService::api`] calls).
    pub fn json(mut self, value: &Value) -> Self {
        if let Ok(request) = self.request {
            self.request = Ok(request.json(value));
        }
        self
    }
}

crate::events::impl_event_emitter!(ApiCall);

impl IntoFuture for ApiCall {
    type Output = Result<Response>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Response>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        // Everything synchronous happens here, so that the boxed future holds
        // only what lives across the network wait (it stays small).
        let ApiCall {
            ws,
            request,
            overrides,
            handlers,
        } = self;
        let mut completion = Completion {
            handlers,
            info: CallInfo::default(),
            done: false,
        };
        let hook = request.as_ref().ok().and_then(|r| r.hook);
        let request = match hook {
            Some(Hook::Restore) => request.and_then(|r| load_saved_session(&ws).map(|()| r)),
            _ => request,
        };
        let ready = request
            .and_then(|r| prepare(&ws, r, overrides.as_deref()))
            .and_then(|prepared| {
                completion.info.method = prepared.method.to_string();
                completion.info.url = prepared.display_url.clone();
                prepared.into_request(ws.client())
            });
        if hook == Some(Hook::ClearSessionFirst) {
            ws.clear_session_token();
        }
        // An `async move` block rather than an `async fn`: its captures are
        // stored once, which keeps the boxed future under 1 KiB.
        Box::pin(async move {
            let mut processed = match ready {
                Err(error) => Processed::from_failure(error),
                Ok((request, reading)) => {
                    // Started inside the runtime (reqwest needs it for the
                    // timeout); only the small pending future is kept.
                    let pending = ws.client().execute(request);
                    execute(pending, reading, &mut completion.info).await
                }
            };
            match hook {
                Some(Hook::StoreSession) => store_session(&ws, &mut processed),
                Some(Hook::ClearSessionFirst) => {
                    if let Err(e) = ws.forget_saved_session(false) {
                        processed = Processed::from_failure(e);
                    }
                }
                Some(Hook::ClearSessionOnSuccess) if processed.failure.is_none() => {
                    ws.clear_session_token();
                    if let Err(e) = ws.forget_saved_session(false) {
                        processed = Processed::from_failure(e);
                    }
                }
                Some(Hook::Restore)
                    if processed
                        .failure
                        .as_ref()
                        .is_some_and(Error::is_unauthorized) =>
                {
                    ws.clear_session_token();
                    let _ = ws.forget_saved_session(true);
                }
                _ => {}
            }
            completion.finish(processed)
        })
    }
}

/// Keeps the session a login returned, and redacts its token in the data
/// handlers and the caller see (the client holds it).
fn store_session(ws: &WebService, processed: &mut Processed) {
    if processed.failure.is_some() {
        return;
    }
    let Some(success) = processed.success.as_ref() else {
        return;
    };
    let token = success
        .get("session_token")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let expires = success
        .get("expires")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let user_id = success
        .pointer("/profile/__id__")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let Some(token) = token else {
        *processed = Processed::from_failure(Error::decode("the login answer", "no session_token"));
        return;
    };
    if let Err(e) = ws.adopt_session(token.into(), user_id, expires, true) {
        *processed = Processed::from_failure(e);
        return;
    }
    if let Some(slot) = processed
        .success
        .as_mut()
        .and_then(|s| s.get_mut("session_token"))
    {
        *slot = Value::from("[redacted]");
    }
}

/// Puts the saved session on the client, for `restore()`.
fn load_saved_session(ws: &WebService) -> Result<()> {
    let store = ws
        .store()
        .ok_or_else(|| Error::invalid_option("session_store", "restore() needs a session store"))?;
    let saved = store.load(&ws.store_key())?.ok_or(Error::NoSession)?;
    ws.adopt_session(saved.session_token, saved.user_id, saved.expires, false)
}

/// Fires the final events exactly once: from `finish`, or from `Drop` when the
/// future is dropped mid-flight.
pub(crate) struct Completion {
    pub(crate) handlers: Handlers,
    pub(crate) info: CallInfo,
    pub(crate) done: bool,
}

impl Completion {
    pub(crate) fn new(handlers: Handlers) -> Self {
        Completion {
            handlers,
            info: CallInfo::default(),
            done: false,
        }
    }

    pub(crate) fn finish(mut self, processed: Processed) -> Result<Response> {
        self.done = true;
        self.info.status = processed.status;
        self.info.count = processed.count;
        self.info.has_errors = !processed.errors.is_empty();
        self.info.error = processed.failure.clone().map(Arc::new);
        processed.fire(&mut self.handlers, &self.info);
        processed.into_result(std::mem::take(&mut self.info.headers))
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        if !self.done {
            self.done = true;
            let processed = Processed::from_failure(Error::Aborted);
            self.info.has_errors = true;
            self.info.error = Some(Arc::new(Error::Aborted));
            processed.fire(&mut self.handlers, &self.info);
        }
    }
}

pub(crate) struct Prepared {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) display_url: String,
    pub(crate) headers: HeaderMap,
    body: Option<Body>,
    processor: Processor,
    snippet_set: bool,
    pub(crate) timeout: std::time::Duration,
}

/// Merges options, picks the level, and builds URL and headers.
pub(crate) fn prepare(
    ws: &WebService,
    request: Request,
    overrides: Option<&Patch>,
) -> Result<Prepared> {
    let snapshot = ws.snapshot();
    let (options, mut headers): (Cow<'_, Options>, HeaderMap) =
        match overrides.filter(|o| !o.is_empty()) {
            None => (Cow::Borrowed(&snapshot.options), snapshot.headers.clone()),
            Some(overrides) => {
                let mut merged = snapshot.options.clone();
                merged.apply(overrides);
                merged.validate()?;
                let headers = base_headers(&merged)?;
                (Cow::Owned(merged), headers)
            }
        };
    let user_mode = !request.force_app && !options.is_application_data();

    let mut url = options.api_root.clone();
    {
        let mut path = url
            .path_segments_mut()
            .map_err(|()| Error::invalid_option("api_root", "cannot hold a path"))?;
        path.pop_if_empty()
            .extend([request.version, "app", &options.app_id]);
        let is_account = request.segments.first().is_some_and(|s| s == "account");
        if user_mode && !is_account {
            path.push("user");
        }
        path.extend(&request.segments);
    }
    let display_url = url.as_str().to_owned();

    let mut params: Vec<(&'static str, String)> = request.query;
    options.server_params(&mut params);
    if !params.is_empty() {
        url.query_pairs_mut()
            .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
    }

    if (user_mode || request.send_session)
        && let Some(token) = &options.session_token
    {
        headers.insert(
            HeaderName::from_static(HEADER_SESSION),
            secret_header(token.secret(), "session_token")?,
        );
    }
    if let Some(body) = &request.body {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(body.content_type));
    }

    Ok(Prepared {
        method: request.method,
        url,
        display_url,
        headers,
        body: request.body,
        processor: request.processor,
        snippet_set: options.snippet.is_some(),
        timeout: options.timeout,
    })
}

/// The headers every call of these options carries: API key, agent, user
/// token and unique id. Computed once per options change.
pub(crate) fn base_headers(options: &Options) -> Result<HeaderMap> {
    let mut headers = HeaderMap::with_capacity(6);
    headers.insert(
        HeaderName::from_static(HEADER_API_KEY),
        secret_header(options.api_key.secret(), "api_key")?,
    );
    headers.insert(
        HeaderName::from_static(HEADER_AGENT),
        header_value(&options.agent(), "app_name")?,
    );
    headers.insert(
        HeaderName::from_static(HEADER_USER_TOKEN),
        header_value(&options.user_token, "user_token")?,
    );
    if let Some(id) = &options.unique_id {
        headers.insert(
            HeaderName::from_static(HEADER_UNIQUE_ID),
            header_value(id, "unique_id")?,
        );
    }
    Ok(headers)
}

fn header_value(value: &str, option: &'static str) -> Result<HeaderValue> {
    HeaderValue::from_str(value)
        .map_err(|_| Error::invalid_option(option, "is not a valid HTTP header value"))
}

fn secret_header(value: &str, option: &'static str) -> Result<HeaderValue> {
    let mut v = header_value(value, option)?;
    v.set_sensitive(true);
    Ok(v)
}

/// How to read the answer of a sent request.
struct Reading {
    processor: Processor,
    snippet_set: bool,
    timeout: std::time::Duration,
}

impl Prepared {
    /// The reqwest request, built before anything is awaited.
    fn into_request(self, client: &reqwest::Client) -> Result<(reqwest::Request, Reading)> {
        let mut builder = client
            .request(self.method.clone(), self.url)
            .headers(self.headers)
            .timeout(self.timeout);
        if let Some(body) = self.body {
            builder = builder.body(body.bytes);
        }
        let request = builder.build().map_err(|e| {
            transport_error(e, self.method.as_str(), &self.display_url, self.timeout)
        })?;
        let reading = Reading {
            processor: self.processor,
            snippet_set: self.snippet_set,
            timeout: self.timeout,
        };
        Ok((request, reading))
    }
}

/// Sends the request and processes the answer; never panics.
async fn execute<F>(pending: F, reading: Reading, info: &mut CallInfo) -> Processed
where
    F: Future<Output = reqwest::Result<reqwest::Response>>,
{
    let started = Instant::now();
    let outcome = async {
        let mut response = pending.await?;
        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        // `chunk()` borrows the response; `bytes()` would move it into a
        // future several times its size.
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            bytes.extend_from_slice(&chunk);
        }
        Ok::<_, reqwest::Error>((status, headers, bytes))
    }
    .await;
    info.elapsed = started.elapsed();
    match outcome {
        Ok((status, headers, bytes)) => {
            tracing::debug!(
                method = %info.method,
                url = %info.url,
                status,
                elapsed_ms = info.elapsed.as_millis() as u64,
                "cloudmine call"
            );
            info.headers = headers;
            Processed::from_http(
                status,
                parse_body(&bytes),
                reading.processor,
                reading.snippet_set,
                &info.method,
                &info.url,
            )
        }
        Err(err) => {
            let error = transport_error(err, &info.method, &info.url, reading.timeout);
            tracing::debug!(method = %info.method, url = %info.url, error = %error, "cloudmine call failed");
            Processed::from_failure(error)
        }
    }
}

/// A reqwest error as ours, with no URL (it may carry a query) in the text.
pub(crate) fn transport_error(
    err: reqwest::Error,
    method: &str,
    url: &str,
    timeout: std::time::Duration,
) -> Error {
    if err.is_timeout() {
        return Error::Timeout {
            method: method.to_owned(),
            url: url.to_owned(),
            after: timeout,
        };
    }
    let err = err.without_url();
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    Error::Transport {
        method: method.to_owned(),
        url: url.to_owned(),
        message,
        source: Some(Arc::new(err)),
    }
}

#[cfg(test)]
mod tests {
    use std::future::IntoFuture;

    /// The future is boxed once per call. Under 1 KiB it is served from
    /// the allocator's per-thread cache; past that, glibc consolidates its
    /// free lists on every call, which measurably cut throughput (see
    /// docs/PERFORMANCE.md). This guards the layout, not a timing.
    #[test]
    fn boxed_call_future_stays_under_1_kib() {
        let ws = crate::WebService::new("a", "k").unwrap();
        let future = ws.objects().get(["x"]).into_future();
        let size = std::mem::size_of_val(&*future);
        assert!(size < 1024, "the call future grew to {size} bytes");
    }
}
