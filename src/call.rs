//! [`ApiCall`]: one request, awaitable and an event emitter.

use std::borrow::Cow;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use url::Url;

use crate::Response;
use crate::abort::AbortHandle;
use crate::api_version::ApiVersion;
use crate::client::{
    Client, HEADER_API_KEY, HEADER_SESSION, base_headers, base_url, master_header, secret_header,
};
pub(crate) use crate::completion::Completion;
use crate::envelope::{Processed, Processor, parse_body};
use crate::error::{Error, Result};
use crate::events::{CallInfo, Handlers};
use crate::options::{CallOptions, Options, Patch};
pub(crate) use crate::request::{Body, Request};
use crate::request_info::RequestInfo;
use crate::retry::{Sending, retryable, send};
use crate::retry_policy::{DEFAULT_MAX_ANSWER_BYTES, RetryPolicy};
use crate::session::{self, Holder};
use crate::transport::{Answer, transport_error};

/// What a call does around its exchange, given by the module that makes the
/// call (the users API gives its session steps); this file runs them
/// without knowing what they mean. Plain functions, so a call stays small.
pub(crate) struct Steps<T> {
    /// Before the request is prepared: may change it, or the client.
    pub before: fn(&Client, &mut Request) -> Result<()>,
    /// Once the answer is processed, before any event fires, on every
    /// outcome: may act on the client, change what handlers see, and
    /// decode the call's value.
    pub after: fn(&Client, &mut Processed) -> Option<T>,
    /// After the events: the awaited value, from the response and what
    /// `after` decoded.
    pub output: fn(Response, Option<T>) -> Result<T>,
    /// `before` or `after` may use the client's session store: when the
    /// client has one, they run on a blocking thread (a store may block).
    pub store: bool,
}

impl<T> Clone for Steps<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Steps<T> {}

impl Steps<Response> {
    /// A plain call: nothing before or after; the value is the response.
    pub(crate) const PLAIN: Steps<Response> = Steps {
        before: |_, _| Ok(()),
        after: |_, _| None,
        output: |response, _| Ok(response),
        store: false,
    };
}

/// One API call. Register handlers with the [`EventEmitter`](crate::EventEmitter) methods, set
/// per-call options with [`options`](Self::options), then `.await` it.
///
/// Nothing is sent until the call is awaited. From the moment it is awaited
/// (turned into a future), `complete` fires exactly once, last — also when it
/// fails before sending (invalid options), on transport errors and timeouts,
/// and when the future is dropped before it finished (then `abort`, `error`
/// and `complete` fire, and the request is cancelled). A call that is dropped
/// without ever being awaited fires nothing. [`abort_handle`](Self::abort_handle)
/// cancels it from elsewhere, with the same events;
/// [`request_info`](Self::request_info) shows what it sends, and
/// [`Response::raw`] / [`Error::raw_body`] what came back.
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
pub struct ApiCall<T: 'static = Response> {
    client: Client,
    request: Result<Request>,
    overrides: Option<Box<Patch>>,
    handlers: Handlers,
    /// A `'static` reference: the future keeps one pointer, not the steps.
    steps: &'static Steps<T>,
    /// Made on the first [`abort_handle`](Self::abort_handle) call.
    abort: Option<AbortHandle>,
}

impl<T> std::fmt::Debug for ApiCall<T> {
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
    pub(crate) fn new(client: &Client, request: Result<Request>) -> Self {
        ApiCall::with_steps(client, request, &Steps::PLAIN)
    }

    /// A plain call not yet sent, taken apart (for `paging.rs`, which sends
    /// it once per page); it has no handlers yet.
    pub(crate) fn into_parts(self) -> (Client, Result<Request>, Patch) {
        let patch = self.overrides.map(|p| *p).unwrap_or_default();
        (self.client, self.request, patch)
    }
}

impl<T> ApiCall<T> {
    pub(crate) fn with_steps(
        client: &Client,
        request: Result<Request>,
        steps: &'static Steps<T>,
    ) -> Self {
        ApiCall {
            client: client.clone(),
            request,
            overrides: None,
            handlers: Handlers::new(),
            steps,
            abort: None,
        }
    }

    /// A handle that cancels this call from any task or thread, before or
    /// while it runs (see [`AbortHandle`] for what an abort does and the
    /// events it fires). Every handle of one call aborts that call.
    ///
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) {
    /// let mut call = ws.objects().get(["car"]);
    /// let handle = call.abort_handle();
    /// handle.abort();
    /// assert!(call.await.unwrap_err().is_aborted()); // nothing was sent
    /// # }
    /// ```
    pub fn abort_handle(&mut self) -> AbortHandle {
        self.abort.get_or_insert_with(AbortHandle::default).clone()
    }

    /// The request this call would send now, for debugging: method, full
    /// URL (a password-reset token in it redacted), headers with secrets
    /// redacted, body (see [`RequestInfo`]). Built
    /// from the client's current options and this call's overrides, so an
    /// invalid option or argument is the same error awaiting would give.
    /// What a call's own session step adds when it is sent (a logout's
    /// session header) is not shown; handlers see the request as sent in
    /// [`CallInfo::request`].
    ///
    /// ```no_run
    /// # fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// let info = ws.objects().get(["car"]).request_info()?;
    /// eprintln!("{info}");
    /// # Ok(()) }
    /// ```
    pub fn request_info(&self) -> Result<RequestInfo> {
        let request = self.request.clone()?;
        prepare(&self.client, request, self.overrides.as_deref()).map(|p| p.info())
    }

    /// The `reqwest::Request` this call would send now (unit tests only).
    #[cfg(test)]
    pub(crate) fn built(&self) -> Result<reqwest::Request> {
        let request = self.request.clone()?;
        let prepared = prepare(&self.client, request, self.overrides.as_deref())?;
        let (request, _, _) = prepared.into_request(self.client.http(), "")?;
        Ok(request)
    }

    /// Overrides options for this call only (on top of earlier overrides).
    pub fn options(mut self, options: CallOptions) -> Self {
        self.overrides
            .get_or_insert_with(Box::default)
            .merge(options.patch);
        self
    }

    /// Adds an endpoint query parameter (for [`WebService::api`](crate::WebService::api)
    /// and [`WebService::run`](crate::WebService::run) calls); the name may be
    /// a `&'static str` or an owned `String`.
    pub fn query(mut self, name: impl Into<Cow<'static, str>>, value: impl Into<String>) -> Self {
        if let Ok(request) = &mut self.request {
            request.query.push((name.into(), value.into()));
        }
        self
    }

    /// Sends `body` with this content type (for [`WebService::api`](crate::WebService::api) calls).
    pub fn body(mut self, bytes: impl Into<Vec<u8>>, content_type: &'static str) -> Self {
        if let Ok(request) = &mut self.request {
            request.body = Some(Body {
                bytes: bytes.into(),
                content_type,
            });
        }
        self
    }

    /// Sends `value` as a JSON body (for [`WebService::api`](crate::WebService::api) calls).
    pub fn json(mut self, value: &Value) -> Self {
        if let Ok(request) = self.request {
            self.request = Ok(request.json(value));
        }
        self
    }
}

crate::events::impl_event_emitter!(impl<T> ApiCall<T>, handlers);

impl<T: Send + 'static> IntoFuture for ApiCall<T> {
    type Output = Result<T>;
    type IntoFuture = CallFuture<T>;

    fn into_future(self) -> Self::IntoFuture {
        // Everything synchronous happens here, so that the boxed future holds
        // only what lives across the network wait (it stays small).
        let ApiCall {
            client,
            request,
            overrides,
            handlers,
            steps,
            abort,
        } = self;
        let aborted = abort.as_ref().is_some_and(AbortHandle::is_aborted);
        let request = if aborted {
            Err(Error::Aborted)
        } else {
            request
        };
        let mut completion = Completion::new(handlers);
        // A call whose steps use the client's store has a future of its own
        // that runs them on blocking threads (so this one stays small).
        if steps.store && client.store().is_some() {
            let call = Box::pin(store_call(client, request, overrides, completion, steps));
            return abortable(call, abort);
        }
        let mut carry = None;
        let before = Some(steps.before);
        let overrides = overrides.as_deref();
        let ready = ready_up(
            &client,
            request,
            overrides,
            before,
            &mut completion,
            &mut carry,
        );
        // An `async move` block rather than an `async fn`, with the answer
        // processed inline: its captures are stored once, which keeps the
        // boxed future under 1 KiB.
        let call = Box::pin(async move {
            let mut processed = match ready {
                Err(error) => Processed::from_failure(error),
                Ok((request, sending, reading)) => {
                    let info = &mut completion.info;
                    let handlers = &mut completion.handlers;
                    let outcome = send(client.http(), request, sending, info, handlers).await;
                    match outcome {
                        Ok(answer) => reading.process(answer, info),
                        Err(error) => Processed::from_failure(error),
                    }
                }
            };
            processed.carry = carry;
            let value = (steps.after)(&client, &mut processed);
            let response = completion.finish(processed)?;
            (steps.output)(response, value)
        });
        abortable(call, abort)
    }
}

/// The boxed future of a call.
type CallFuture<T> = Pin<Box<dyn Future<Output = Result<T>> + Send>>;

/// An abortable call gets a second box (an abort drops `call`, whose
/// `Completion` then fires `abort`, `error`, `complete`); the others none.
fn abortable<T: Send + 'static>(call: CallFuture<T>, abort: Option<AbortHandle>) -> CallFuture<T> {
    match abort {
        None => call,
        Some(handle) => {
            Box::pin(async move { handle.run(call).await.unwrap_or(Err(Error::Aborted)) })
        }
    }
}

/// A call whose steps use the client's session store: as the plain call,
/// with `before` and `after` on a blocking thread (a store may block).
async fn store_call<T: Send + 'static>(
    client: Client,
    request: Result<Request>,
    overrides: Option<Box<Patch>>,
    mut completion: Completion,
    steps: &'static Steps<T>,
) -> Result<T> {
    let mut carry = None;
    let request = before_off_runtime(&client, request, steps.before).await;
    let overrides = overrides.as_deref();
    let ready = ready_up(
        &client,
        request,
        overrides,
        None,
        &mut completion,
        &mut carry,
    );
    let mut processed = match ready {
        Err(error) => Processed::from_failure(error),
        Ok((request, sending, reading)) => {
            let info = &mut completion.info;
            let outcome = send(
                client.http(),
                request,
                sending,
                info,
                &mut completion.handlers,
            )
            .await;
            match outcome {
                Ok(answer) => reading.process(answer, info),
                Err(error) => Processed::from_failure(error),
            }
        }
    };
    processed.carry = carry;
    let (processed, value) = after_off_runtime(&client, processed, steps.after).await;
    let response = completion.finish(processed)?;
    (steps.output)(response, value)
}

/// A request ready to send, and how to read its answer.
type Ready = Result<(reqwest::Request, Sending, Reading)>;

/// Runs the `before` step (when given), then prepares the request; what
/// handlers see of it goes to `completion`, the step's carry to `carry`.
fn ready_up(
    client: &Client,
    request: Result<Request>,
    overrides: Option<&Patch>,
    before: Option<fn(&Client, &mut Request) -> Result<()>>,
    completion: &mut Completion,
    carry: &mut Option<Box<Value>>,
) -> Ready {
    request
        .and_then(|mut r| match before {
            Some(before) => before(client, &mut r).map(|()| r),
            None => Ok(r),
        })
        .map(|mut r| {
            *carry = r.carry.take();
            r
        })
        .and_then(|r| prepare(client, r, overrides))
        .and_then(|mut prepared| {
            completion.info.method = prepared.method.as_str().to_owned();
            completion.info.url = std::mem::take(&mut prepared.display_url);
            if !completion.handlers.is_empty() {
                completion.info.request = Some(Arc::new(prepared.info()));
            }
            prepared.into_request(client.http(), &completion.info.url)
        })
}

/// The `before` step of a call that uses the store, on a blocking thread.
async fn before_off_runtime(
    client: &Client,
    request: Result<Request>,
    before: fn(&Client, &mut Request) -> Result<()>,
) -> Result<Request> {
    let mut request = request?;
    session::off_runtime(client, move |c| before(c, &mut request).map(|()| request)).await?
}

/// The `after` step of a call that uses the store, on a blocking thread; a
/// store that panicked fails the call.
async fn after_off_runtime<T: Send + 'static>(
    client: &Client,
    mut processed: Processed,
    after: fn(&Client, &mut Processed) -> Option<T>,
) -> (Processed, Option<T>) {
    let work = move |c: &Client| {
        let value = after(c, &mut processed);
        (processed, value)
    };
    match session::off_runtime(client, work).await {
        Ok(done) => done,
        Err(e) => (Processed::from_failure(e), None),
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
    pub(crate) max_answer_bytes: u64,
    /// Only for a retryable request with the `retry` option set.
    retry: Option<RetryPolicy>,
}

/// Merges options, picks the level, and builds URL and headers.
pub(crate) fn prepare(
    client: &Client,
    request: Request,
    overrides: Option<&Patch>,
) -> Result<Prepared> {
    let snapshot = client.snapshot();
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
    let is_account = request.segments.first().is_some_and(|s| s == "account");
    let user = user_mode && !is_account;
    // `{api_root}/v1/app/{appid}/[user/]` is built once per options change.
    let version = request.version.or(options.version).unwrap_or_default();
    let mut url = match (&options, version) {
        (Cow::Borrowed(_), ApiVersion::V1) => snapshot.base(user)?.clone(),
        _ => base_url(&options, version.as_str(), user)?,
    };
    url.path_segments_mut()
        .map_err(|()| Error::invalid_option("api_root", "cannot hold a path"))?
        .pop_if_empty()
        .extend(&request.segments);
    // What events, errors and logs show: no query yet, no reset token.
    let display_url = crate::trace::loggable(url.as_str()).into_owned();

    // Endpoint parameters first, then the server params.
    let mut server: Vec<(&'static str, String)> = Vec::new();
    options.server_params(&mut server);
    if !request.query.is_empty() || !server.is_empty() {
        url.query_pairs_mut()
            .extend_pairs(request.query.iter().map(|(k, v)| (k.as_ref(), v.as_str())))
            .extend_pairs(server.iter().map(|(k, v)| (*k, v.as_str())));
    }

    let session = match &request.session {
        Some(token) => Some(token),
        None if user_mode => options.session_token.as_ref(),
        None => None,
    };
    if let Some(token) = session {
        headers.insert(
            HeaderName::from_static(HEADER_SESSION),
            secret_header(token.secret(), "session_token")?,
        );
    }
    if request.master {
        headers.insert(
            HeaderName::from_static(HEADER_API_KEY),
            master_header(&options)?,
        );
    }
    if let Some(body) = &request.body {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(body.content_type));
    }

    let retry = options
        .retry
        .filter(|_| retryable(&request.method, &request.segments));
    Ok(Prepared {
        retry,
        max_answer_bytes: options.max_answer_bytes.unwrap_or(DEFAULT_MAX_ANSWER_BYTES),
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

/// How to read the answer of a sent request.
struct Reading {
    processor: Processor,
    snippet_set: bool,
}

impl Prepared {
    /// The request as [`RequestInfo`] shows it (secrets redacted).
    fn info(&self) -> RequestInfo {
        let body = self
            .body
            .as_ref()
            .map(|b| (b.bytes.as_slice(), b.content_type));
        // A reset token in the path is a secret too (`trace::loggable`).
        let url = crate::trace::loggable(self.url.as_str());
        RequestInfo::new(self.method.as_str(), &url, &self.headers, body)
    }

    /// The reqwest request, built before anything is awaited.
    fn into_request(
        self,
        client: &reqwest::Client,
        display_url: &str,
    ) -> Result<(reqwest::Request, Sending, Reading)> {
        let mut builder = client
            .request(self.method.clone(), self.url)
            .timeout(self.timeout);
        if let Some(body) = self.body {
            builder = builder.body(body.bytes);
        }
        let mut request = builder
            .build()
            .map_err(|e| transport_error(e, self.method.as_str(), display_url, self.timeout))?;
        // The builder's `headers()` would re-insert each one into an empty map.
        *request.headers_mut() = self.headers;
        let reading = Reading {
            processor: self.processor,
            snippet_set: self.snippet_set,
        };
        let sending = Sending::new(self.max_answer_bytes, self.retry);
        Ok((request, sending, reading))
    }
}

impl Reading {
    /// Decodes an answer (CloudMine's envelope); its headers go to `info`.
    fn process(self, answer: Answer, info: &mut CallInfo) -> Processed {
        info.headers = answer.headers;
        let mut processed = Processed::from_http(
            answer.status,
            parse_body(&answer.body),
            self.processor,
            self.snippet_set,
            &info.method,
            &info.url,
        );
        processed.set_raw(answer.body);
        processed
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
        eprintln!("SIZE {size}");
        assert!(size < 1024, "the call future grew to {size} bytes");
    }
}
