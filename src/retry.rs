//! The retry loop of idempotent calls: which requests may be sent again,
//! why an outcome is worth another attempt, and how long to wait (see
//! [`RetryPolicy`] for the rules).

use std::future::Future;
use std::time::{Duration, SystemTime};

use futures_util::future::Either;

use reqwest::Method;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::error::{Error, Result};
use crate::events::{CallInfo, Event, Handlers};
use crate::options::DEFAULT_TIMEOUT;
use crate::retry_policy::{DEFAULT_MAX_ANSWER_BYTES, RetryNotice, RetryPolicy};
use crate::transport::{Answer, exchange};

/// Whether a request is idempotent, so may be retried: `GET`/`HEAD` except
/// a snippet run directly, and `PUT text` (whole objects replaced).
pub(crate) fn retryable(method: &Method, segments: &[String]) -> bool {
    let first = segments.first().map(String::as_str);
    if *method == Method::GET || *method == Method::HEAD {
        return first != Some("run");
    }
    *method == Method::PUT && segments.len() == 1 && first == Some("text")
}

/// How a call's request is sent: what is used up before the answer
/// arrives, so that the call's future does not keep it across the wait.
/// `None` (no allocation) for the usual call: the default
/// `max_answer_bytes` and no retries. (The timeout is the request's own.)
pub(crate) struct Sending {
    extra: Option<Box<Extra>>,
}

/// A call's less usual sending settings.
struct Extra {
    limit: u64,
    /// Only for a retryable request with the `retry` option set.
    retry: Option<RetryPolicy>,
}

impl Sending {
    pub(crate) fn new(limit: u64, retry: Option<RetryPolicy>) -> Self {
        let usual = limit == DEFAULT_MAX_ANSWER_BYTES && retry.is_none();
        Sending {
            extra: (!usual).then(|| Box::new(Extra { limit, retry })),
        }
    }
}

/// Sends a call's request once, or through [`exchange_retrying`] (boxed)
/// when it may be retried. A plain function: the request is handed to
/// reqwest here, so the returned future keeps only what waits.
pub(crate) fn send<'a>(
    http: &'a reqwest::Client,
    request: reqwest::Request,
    sending: Sending,
    info: &'a mut CallInfo,
    handlers: &'a mut Handlers,
) -> impl Future<Output = Result<Answer>> + Send + 'a {
    let timeout = request.timeout().copied().unwrap_or(DEFAULT_TIMEOUT);
    let (limit, retry) = match sending.extra {
        None => (DEFAULT_MAX_ANSWER_BYTES, None),
        Some(extra) => (extra.limit, extra.retry),
    };
    match retry {
        // Started inside the runtime (reqwest needs it for the timeout);
        // only the small pending future is kept.
        None => Either::Left(exchange(http.execute(request), timeout, limit, info)),
        Some(policy) => Either::Right(Box::pin(exchange_retrying(
            http, request, limit, policy, info, handlers,
        ))),
    }
}

/// Sends `request` until it succeeds, fails for a reason not worth
/// retrying, or the policy's budget is spent; the last outcome is returned.
/// Fires `retry` on `handlers` before each wait.
pub(crate) async fn exchange_retrying(
    http: &reqwest::Client,
    mut request: reqwest::Request,
    limit: u64,
    policy: RetryPolicy,
    info: &mut CallInfo,
    handlers: &mut Handlers,
) -> Result<Answer> {
    let mut number = 1u32;
    let mut waited = Duration::ZERO;
    loop {
        // `None` for a body that cannot be replayed: sent once.
        let again = request.try_clone();
        let timeout = request.timeout().copied().unwrap_or(DEFAULT_TIMEOUT);
        let pending = http.execute(request);
        let outcome = exchange(pending, timeout, limit, info).await;
        let (Some(next), Some(reason)) = (again, reason(&outcome)) else {
            return outcome;
        };
        if number >= policy.attempts() {
            return outcome;
        }
        let delay = match outcome.as_ref().ok().and_then(|a| retry_after(&a.headers)) {
            Some(asked) => policy.capped(asked),
            None => policy.backoff(number, random()),
        };
        if waited.saturating_add(delay) > policy.total_delay() {
            return outcome;
        }
        waited += delay;
        number += 1;
        info.retries = u16::try_from(number - 1).unwrap_or(u16::MAX);
        if let Ok(answer) = &outcome {
            info.status = Some(answer.status);
        }
        let notice = RetryNotice {
            attempt: number,
            delay,
            reason,
        };
        tracing::debug!(method = %info.method, url = %info.url, attempt = number, delay_ms = delay.as_millis() as u64, reason = %notice.reason, "cloudmine call retried");
        handlers.emit(Event::Retry, &notice.to_data(), info);
        tokio::time::sleep(delay).await;
        request = next;
    }
}

/// Why an outcome is worth another attempt: a connection that could not be
/// made, or HTTP 429, 502, 503, 504.
fn reason(outcome: &Result<Answer>) -> Option<String> {
    match outcome {
        Ok(answer) => {
            matches!(answer.status, 429 | 502 | 503 | 504).then(|| answer.status.to_string())
        }
        Err(Error::Transport {
            source: Some(source),
            ..
        }) => source
            .downcast_ref::<reqwest::Error>()
            .is_some_and(reqwest::Error::is_connect)
            .then(|| "connect".to_owned()),
        Err(_) => None,
    }
}

/// A `Retry-After` header: seconds, or an HTTP date (a past one is zero).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// A random number for the jitter; without the OS's randomness, the top of
/// the span (no jitter, still bounded).
fn random() -> u64 {
    getrandom::u64().unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn segments(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn only_idempotent_requests_are_retried() {
        assert!(retryable(&Method::GET, &segments(&["text"])));
        assert!(retryable(&Method::GET, &segments(&["search"])));
        assert!(retryable(&Method::HEAD, &segments(&["text"])));
        assert!(retryable(&Method::PUT, &segments(&["text"])));
        assert!(!retryable(&Method::GET, &segments(&["run", "snippet"])));
        assert!(!retryable(&Method::POST, &segments(&["text"])));
        assert!(!retryable(&Method::POST, &segments(&["account", "login"])));
        assert!(!retryable(&Method::PUT, &segments(&["access"])));
        assert!(!retryable(&Method::PUT, &segments(&["binary", "k"])));
        assert!(!retryable(&Method::DELETE, &segments(&["data"])));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO), "a past date");
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        let wait = retry_after(&h).unwrap();
        assert!(wait > Duration::from_secs(3000) && wait <= Duration::from_secs(3600));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }
}
