//! Uploads: [`UploadCall`], and sending its body while reporting progress.

use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};

use super::model::Uploaded;
use super::progress::{Tracker, timeout_error};
use super::source::Source;
use super::transfer::{BoxFuture, Transfer, check_key, read_answer, transfer_builder};
use crate::call::{Completion, Prepared, Request};
use crate::client::Client;
use crate::envelope::Processed;
use crate::options::CallOptions;
use crate::transport::transport_error;
use crate::{Error, Result};

/// An upload, from [`Files::upload`]: awaitable to [`Uploaded`], and an
/// [`EventEmitter`](crate::EventEmitter) (`progress`, `success`, `error`,
/// `complete`…). Dropping it mid-transfer cancels the upload (`abort`,
/// `error` and `complete` fire) and the server discards what it received.
///
/// [`Files::upload`]: crate::Files::upload
#[must_use = "an upload does nothing until it is awaited"]
pub struct UploadCall {
    transfer: Transfer,
    source: Source,
    key: Option<String>,
    content_type: Option<String>,
    filename: Option<String>,
}

impl std::fmt::Debug for UploadCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadCall")
            .field("source", &self.source)
            .field("key", &self.key)
            .field("content_type", &self.content_type)
            .field("filename", &self.filename)
            .finish_non_exhaustive()
    }
}

transfer_builder!(UploadCall);

impl UploadCall {
    pub(super) fn new(ws: &Client, source: Source) -> Self {
        UploadCall {
            transfer: Transfer::new(ws),
            source,
            key: None,
            content_type: None,
            filename: None,
        }
    }

    /// The file's key (default: the server assigns one).
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// The content type (default: guessed from the file name, else
    /// `application/octet-stream`).
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// The file name stored with the file (default: the source file's name,
    /// else the key).
    pub fn filename(mut self, name: impl Into<String>) -> Self {
        self.filename = Some(name.into());
        self
    }
}

/// The content type for a file name: the user's, else a guess, else bytes.
fn content_type_for(given: Option<String>, filename: Option<&str>) -> Result<HeaderValue> {
    let chosen = match given {
        Some(ct) => ct,
        None => filename
            .and_then(super::mime::guess)
            .unwrap_or("application/octet-stream")
            .to_owned(),
    };
    HeaderValue::from_str(&chosen).map_err(|_| {
        Error::invalid_argument("content_type", format!("{chosen:?} is not a valid header"))
    })
}

impl IntoFuture for UploadCall {
    type Output = Result<Uploaded>;
    type IntoFuture = BoxFuture<Result<Uploaded>>;

    fn into_future(self) -> Self::IntoFuture {
        let UploadCall {
            transfer,
            source,
            key,
            content_type,
            filename,
        } = self;
        let filename = filename.or_else(|| source.file_name());
        let mut segments = vec!["binary"];
        segments.extend(key.as_deref());
        let mut request = Request::new(Method::POST, &segments);
        if let Some(name) = &filename {
            request = request.query("filename", name.clone());
        }
        let (ws, mut completion, prepared, interval) = transfer.start(request);
        let ready = key
            .as_deref()
            .map_or(Ok(()), check_key)
            .and_then(|()| content_type_for(content_type, filename.as_deref()))
            .and_then(|content_type| prepared.map(|p| (p, content_type)));
        Box::pin(async move {
            let processed = match ready {
                Ok((prepared, content_type)) => {
                    upload(
                        &ws,
                        prepared,
                        source,
                        content_type,
                        interval,
                        &mut completion,
                    )
                    .await
                }
                Err(e) => Processed::from_failure(e),
            };
            let response = completion.finish(processed)?;
            response.get_as::<Uploaded>()
        })
    }
}

async fn upload(
    ws: &Client,
    prepared: Prepared,
    source: Source,
    content_type: HeaderValue,
    interval: Duration,
    completion: &mut Completion,
) -> Processed {
    let sent = Arc::new(AtomicU64::new(0));
    // Dropped with this future: the body then fails (see `Counted`).
    let (_cancel, cancel) = tokio::sync::oneshot::channel::<()>();
    let (body, len) = match source.into_body(Arc::clone(&sent), cancel) {
        Ok(b) => b,
        Err(e) => return Processed::from_failure(e),
    };
    let mut headers = prepared.headers;
    headers.insert(CONTENT_TYPE, content_type);
    if let Some(len) = len {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    }
    let request = ws
        .http()
        .request(prepared.method, prepared.url)
        .headers(headers)
        .body(body)
        .build();
    let request = match request {
        Ok(r) => r,
        Err(e) => {
            let error = transport_error(
                e,
                &completion.info.method,
                &completion.info.url,
                prepared.timeout,
            );
            return Processed::from_failure(error);
        }
    };
    let mut tracker = Tracker::new(interval, prepared.timeout, len);
    let started = Instant::now();
    let answer = send(ws, request, &sent, &mut tracker, completion).await;
    completion.info.set_elapsed(started.elapsed());
    let response = match answer {
        Ok(r) => r,
        Err(e) => return Processed::from_failure(e),
    };
    if response.status().is_success() {
        tracker.update(sent.load(Ordering::Relaxed), completion);
        tracker.finish(completion);
    }
    read_answer(response, prepared.timeout, completion).await
}

/// Sends a request and waits for the answer's headers, reporting upload
/// progress from `sent` meanwhile; fails when nothing moves for `stall`.
async fn send(
    ws: &Client,
    request: reqwest::Request,
    sent: &AtomicU64,
    tracker: &mut Tracker,
    completion: &mut Completion,
) -> std::result::Result<reqwest::Response, Error> {
    let method = completion.info.method.clone();
    let url = completion.info.url.clone();
    let mut pending = std::pin::pin!(ws.http().execute(request));
    // `interval` panics on zero; a zero progress interval means "every tick".
    let period = tracker
        .interval
        .min(tracker.stall)
        .max(Duration::from_millis(1));
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let step = std::future::poll_fn(|cx| {
            if let Poll::Ready(answer) = pending.as_mut().poll(cx) {
                return Poll::Ready(Some(answer));
            }
            if ticker.poll_tick(cx).is_ready() {
                return Poll::Ready(None);
            }
            Poll::Pending
        })
        .await;
        match step {
            Some(answer) => {
                return answer.map_err(|e| transport_error(e, &method, &url, tracker.stall));
            }
            None => {
                tracker.update(sent.load(Ordering::Relaxed), completion);
                if tracker.stalled() {
                    return Err(timeout_error(completion, tracker.stall));
                }
            }
        }
    }
}
