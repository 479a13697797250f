//! [`BbCall`]: one BaasBox request, awaitable to its typed result and an
//! event emitter. Sent through the one transport ([`crate::transport`]);
//! what a call does to the session is the session core's work.

use std::collections::BTreeMap;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;

use reqwest::Method;
use reqwest::header::HeaderName;
use serde_json::Value;

use super::client::{APPCODE_HEADER, BaasBox, SESSION_HEADER};
use crate::call::Completion;
use crate::envelope::{Code, Processed, parse_body};
use crate::error::{Error, Result};
use crate::events::Handlers;
use crate::secret::SessionToken;
use crate::session::{self, Holder, login::baasbox_session};
use crate::session_store::StoredSession;
use crate::transport::{Answer, exchange, secret_header, transport_error};

/// What a request does to the client's session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionStep {
    /// Nothing.
    None,
    /// A login: keep (and save) the session from the answer.
    Adopt,
    /// Logout: forget the session (and the saved one) before sending.
    ForgetFirst,
    /// `restore()`: load the saved session first; forget it on a 401.
    Restore,
}

#[derive(Debug, Clone)]
pub(crate) struct BbRequest {
    pub method: Method,
    pub segments: Vec<String>,
    pub body: Option<Value>,
    /// Sends the session header (and fails without a session).
    pub session: bool,
    pub step: SessionStep,
    /// `GET /social`: 404 means "nothing linked", an empty list.
    pub empty_on_404: bool,
}

impl BbRequest {
    pub(crate) fn new(method: Method, segments: &[&str]) -> Self {
        BbRequest {
            method,
            segments: segments.iter().map(|s| (*s).to_owned()).collect(),
            body: None,
            session: false,
            step: SessionStep::None,
            empty_on_404: false,
        }
    }

    pub(crate) fn with_session(mut self) -> Self {
        self.session = true;
        self
    }
}

/// One BaasBox call: awaitable to its typed result, and an
/// [`EventEmitter`](crate::EventEmitter). Events: the status-named and
/// numeric events, `success` (with BaasBox's `data`) or `error`, and
/// `complete` last, exactly once, also when the call is dropped mid-flight.
#[must_use = "a call does nothing until it is awaited"]
pub struct BbCall<T> {
    bb: BaasBox,
    request: Result<BbRequest>,
    handlers: Handlers,
    decode: fn(&Value) -> Result<T>,
    _out: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for BbCall<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("BbCall");
        match &self.request {
            Ok(r) => d
                .field("method", &r.method)
                .field("path", &r.segments.join("/")),
            Err(e) => d.field("error", e),
        };
        d.finish_non_exhaustive()
    }
}

crate::events::impl_event_emitter!(impl<T> BbCall<T>, handlers);

impl<T> BbCall<T> {
    pub(crate) fn new(
        bb: &BaasBox,
        request: Result<BbRequest>,
        decode: fn(&Value) -> Result<T>,
    ) -> Self {
        BbCall {
            bb: bb.clone(),
            request,
            handlers: Handlers::new(),
            decode,
            _out: PhantomData,
        }
    }
}

impl<T: Send + 'static> IntoFuture for BbCall<T> {
    type Output = Result<T>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<T>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        let BbCall {
            bb,
            request,
            handlers,
            decode,
            ..
        } = self;
        let mut completion = Completion::new(handlers);
        Box::pin(async move {
            let processed = match request {
                Ok(request) => execute(&bb, request, &mut completion).await,
                Err(e) => Processed::from_failure(e),
            };
            // Decoded once, before the events: a body that does not decode
            // fires `error`, not `success`.
            let (processed, value) = match &processed.success {
                Some(data) if processed.failure.is_none() => match decode(data) {
                    Ok(value) => (processed, Some(value)),
                    Err(e) => (Processed::from_failure(e), None),
                },
                _ => (processed, None),
            };
            let response = completion.finish(processed)?;
            match value {
                Some(value) => Ok(value),
                None => decode(response.success()),
            }
        })
    }
}

/// A non-2xx answer as the call's failure: BaasBox's `message` is the
/// error's message, and the whole body is kept.
fn failure(status: u16, body: Value, method: &str, url: &str) -> Processed {
    let message = body
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| body.as_str().map(str::to_owned));
    let error = Error::Status {
        status,
        messages: message.into_iter().collect(),
        body: Box::new(body.clone()),
        raw: bytes::Bytes::new(),
        method: method.to_owned(),
        url: url.to_owned(),
    };
    Processed {
        status: Some(status),
        errors: BTreeMap::from([(Code::Http(status), body)]),
        failure: Some(error),
        ..Processed::default()
    }
}

async fn execute(bb: &BaasBox, request: BbRequest, completion: &mut Completion) -> Processed {
    // Session steps that use the store run on a blocking thread.
    let offload = bb.store().is_some() && (request.step != SessionStep::None || request.session);
    let step = request.step;
    let before = if offload {
        session::off_runtime(bb, move |bb| session_before(bb, step)).await
    } else {
        Ok(session_before(bb, step))
    };
    let token = match before.and_then(|token| token) {
        Ok(token) => token,
        Err(e) => return Processed::from_failure(e),
    };
    let http_request = match prepare(bb, &request, token.as_ref(), completion) {
        Ok(ready) => ready,
        Err(e) => return Processed::from_failure(e),
    };
    let pending = bb.http().execute(http_request);
    let limit = crate::retry_policy::DEFAULT_MAX_ANSWER_BYTES;
    let answer = match exchange(pending, bb.timeout(), limit, &mut completion.info).await {
        Ok(answer) => answer,
        Err(e) => return Processed::from_failure(e),
    };
    let (processed, after) = process(&request, answer, token.is_some(), completion);
    let Some(after) = after else {
        return processed;
    };
    let done = if offload {
        session::off_runtime(bb, move |bb| session_after(bb, after)).await
    } else {
        Ok(session_after(bb, after))
    };
    match done.and_then(|done| done) {
        Ok(()) => processed,
        Err(e) => Processed::from_failure(e),
    }
}

/// What the session core does once the answer is in.
enum After {
    /// Keep (and save) the login's session.
    Adopt(StoredSession),
    /// The server no longer knows the session: forget it (`always`: also
    /// from the store of a client without `savelogin`, for `restore()`).
    Forget { always: bool },
}

/// The session step that comes before sending; the session that goes out
/// with the request (read before logout forgets it: the server ends that
/// session).
fn session_before(bb: &BaasBox, step: SessionStep) -> Result<Option<SessionToken>> {
    if step == SessionStep::Restore {
        session::restore(bb)?;
    }
    let token = bb.session_token();
    if step == SessionStep::ForgetFirst {
        session::forget(bb, false)?;
    }
    Ok(token)
}

/// The session step that follows the answer. Forgetting a dead session
/// cannot fail the call; saving a login can.
fn session_after(bb: &BaasBox, after: After) -> Result<()> {
    match after {
        After::Adopt(kept) => session::adopt(bb, &kept, true),
        After::Forget { always } => {
            let _ = session::forget(bb, always);
            Ok(())
        }
    }
}

/// Builds the request, with `token` as its session.
fn prepare(
    bb: &BaasBox,
    request: &BbRequest,
    token: Option<&SessionToken>,
    completion: &mut Completion,
) -> Result<reqwest::Request> {
    let url = bb.url(&request.segments)?;
    completion.info.method = request.method.to_string();
    completion.info.url = url.to_string();
    build(bb, request, url, token)
}

fn build(
    bb: &BaasBox,
    request: &BbRequest,
    url: url::Url,
    token: Option<&SessionToken>,
) -> Result<reqwest::Request> {
    let shown = url.as_str().to_owned();
    let mut builder = bb
        .http()
        .request(request.method.clone(), url)
        .timeout(bb.timeout());
    let code = secret_header(bb.app_code())
        .ok_or_else(|| Error::invalid_option("app_code", "is not a valid header value"))?;
    builder = builder.header(HeaderName::from_static(APPCODE_HEADER), code);
    if request.session {
        let token = token.ok_or(Error::NoSession)?;
        let value = secret_header(token.secret())
            .ok_or_else(|| Error::invalid_option("session_token", "is not a valid header value"))?;
        builder = builder.header(HeaderName::from_static(SESSION_HEADER), value);
    }
    if let Some(body) = &request.body {
        builder = builder.json(body);
    }
    builder
        .build()
        .map_err(|e| transport_error(e, request.method.as_str(), &shown, bb.timeout()))
}

/// BaasBox's envelope: `data` on success; the session step that follows
/// the answer (adopt a login, forget a session the server no longer knows).
fn process(
    request: &BbRequest,
    answer: Answer,
    had_session: bool,
    completion: &mut Completion,
) -> (Processed, Option<After>) {
    let Answer {
        status,
        mut headers,
        body,
    } = answer;
    let body = parse_body(&body);
    let session_header = headers.remove(SESSION_HEADER);
    completion.info.headers = headers;
    if !(200..300).contains(&status) {
        if status == 404 && request.empty_on_404 {
            let empty = Processed {
                status: Some(200),
                success: Some(Value::Array(Vec::new())),
                ..Processed::default()
            };
            return (empty, None);
        }
        // The server no longer knows the session: forget it.
        let after = (status == 401 && had_session && request.session).then_some(After::Forget {
            always: request.step == SessionStep::Restore,
        });
        let info = &completion.info;
        return (failure(status, body, &info.method, &info.url), after);
    }
    let mut data = body.get("data").cloned().unwrap_or(Value::Null);
    let mut after = None;
    if request.step == SessionStep::Adopt {
        let header = session_header.as_ref().and_then(|v| v.to_str().ok());
        match baasbox_session(header, &mut data) {
            Ok(kept) => after = Some(After::Adopt(kept)),
            Err(e) => return (Processed::from_failure(e), None),
        }
    }
    let processed = Processed {
        status: Some(status),
        success: Some(data),
        ..Processed::default()
    };
    (processed, after)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The app code and the session token are marked sensitive on the
    /// request a BaasBox call sends (reqwest and hyper never print them).
    #[test]
    fn baasbox_secret_headers_are_marked_sensitive() {
        let bb = BaasBox::builder()
            .base_url("http://127.0.0.1:1")
            .app_code("the-app-code")
            .build()
            .unwrap();
        let request = BbRequest::new(Method::GET, &["me"]).with_session();
        let url = bb.url(&request.segments).unwrap();
        let token = SessionToken::new("the-session-token");
        let built = build(&bb, &request, url, Some(&token)).unwrap();
        for (name, secret) in [
            (APPCODE_HEADER, "the-app-code"),
            (SESSION_HEADER, "the-session-token"),
        ] {
            let value = built.headers().get(name).expect(name);
            assert_eq!(value.as_bytes(), secret.as_bytes());
            assert!(value.is_sensitive(), "{name}");
        }
        let shown = format!("{:?}", built.headers());
        assert!(!shown.contains("the-app-code") && !shown.contains("the-session-token"));
    }
}
