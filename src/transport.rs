//! The one place a request is sent and its answer read, for CloudMine and
//! BaasBox calls alike, and the one mapping of reqwest's errors to ours.
//!
//! Streaming transfers (`files/`) send their own bodies and read their
//! answers chunk by chunk, but report failures through [`transport_error`].

use std::error::Error as _;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::HeaderMap;

use crate::error::Error;
use crate::events::CallInfo;

/// An HTTP answer, read whole.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Why reading an answer stopped: reqwest's error, or more than the cap.
enum Failure {
    Http(reqwest::Error),
    TooLarge,
}

impl From<reqwest::Error> for Failure {
    fn from(err: reqwest::Error) -> Self {
        Failure::Http(err)
    }
}

/// Waits for `pending` (a request already handed to reqwest) and reads the
/// whole body, at most `limit` bytes: a larger `Content-Length` is refused
/// before any of the body is read, a longer body as soon as it passes the
/// limit (`Error::AnswerTooLarge`; the connection is dropped, the rest is
/// never read). Sets `info`'s elapsed time; the method and URL in `info` name
/// the call in errors and logs. Never panics.
pub(crate) async fn exchange<F>(
    pending: F,
    timeout: Duration,
    limit: u64,
    info: &mut CallInfo,
) -> Result<Answer, Error>
where
    F: Future<Output = reqwest::Result<reqwest::Response>>,
{
    let started = Instant::now();
    let read = async {
        let mut response = pending.await?;
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(Failure::TooLarge);
        }
        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        // `chunk()` borrows the response; `bytes()` would move it into a
        // future several times its size. One chunk (the usual small answer)
        // is kept as it came; one loop, one await point, keeps the future
        // small.
        let mut body = Bytes::new();
        let mut more: Option<Vec<u8>> = None;
        while let Some(chunk) = response.chunk().await? {
            // What was read so far, counted from what is kept (no counter
            // of its own: the call's future stays small).
            let kept = more.as_ref().map_or(body.len(), Vec::len);
            if (kept as u64).saturating_add(chunk.len() as u64) > limit {
                return Err(Failure::TooLarge);
            }
            match &mut more {
                None if body.is_empty() => body = chunk,
                None => {
                    let mut all = Vec::with_capacity(body.len() + chunk.len());
                    all.extend_from_slice(&body);
                    all.extend_from_slice(&chunk);
                    more = Some(all);
                }
                Some(all) => all.extend_from_slice(&chunk),
            }
        }
        if let Some(all) = more {
            body = all.into();
        }
        Ok::<_, Failure>(Answer {
            status,
            headers,
            body,
        })
    };
    // The span goes in a second box, and only when a subscriber wants it:
    // inline it would push the boxed call future past 1 KiB (see
    // `call::tests`); without a subscriber nothing is allocated.
    let outcome = if crate::trace::calls_traced() {
        let status = |o: &Result<Answer, Failure>| o.as_ref().ok().map(|a| a.status);
        crate::trace::traced_call(read, info, status).await
    } else {
        read.await
    };
    info.set_elapsed(started.elapsed());
    finish(outcome, info, timeout, limit)
}

/// Logs how a call ended and turns a reading failure into our error.
fn finish(
    outcome: Result<Answer, Failure>,
    info: &CallInfo,
    timeout: Duration,
    limit: u64,
) -> Result<Answer, Error> {
    match outcome {
        Ok(answer) => {
            tracing::debug!(
                method = %info.method,
                url = %info.url,
                status = answer.status,
                elapsed_ms = info.elapsed().as_millis() as u64,
                "cloudmine call"
            );
            Ok(answer)
        }
        Err(failure) => {
            let error = match failure {
                Failure::Http(err) => transport_error(err, &info.method, &info.url, timeout),
                Failure::TooLarge => Error::AnswerTooLarge {
                    method: info.method.clone(),
                    url: info.url.clone(),
                    limit,
                },
            };
            tracing::debug!(method = %info.method, url = %info.url, error = %error, "cloudmine call failed");
            Err(error)
        }
    }
}

/// A reqwest error as ours, with no URL (it may carry a query) in the text.
pub(crate) fn transport_error(
    err: reqwest::Error,
    method: &str,
    url: &str,
    timeout: Duration,
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

/// A header value for a secret: marked sensitive, so reqwest and hyper never
/// print it. `None` when the secret is not a valid header value.
pub(crate) fn secret_header(value: &str) -> Option<reqwest::header::HeaderValue> {
    let mut v = reqwest::header::HeaderValue::from_str(value).ok()?;
    v.set_sensitive(true);
    Some(v)
}
