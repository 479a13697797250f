//! [`RetryPolicy`]: when and how long an idempotent call waits before it is
//! sent again, and [`RetryNotice`], the data of the `retry` event.
//!
//! The loop that uses them is `retry.rs`; this file only holds the settings
//! and the arithmetic, so the options table can name the type.

use std::time::Duration;

use serde_json::Value;

/// The default cap on the size of an answer read into memory: 64 MiB (the
/// `max_answer_bytes` option).
pub const DEFAULT_MAX_ANSWER_BYTES: u64 = 64 * 1024 * 1024;

/// The most attempts a [`RetryPolicy`] may allow.
pub const MAX_RETRY_ATTEMPTS: u32 = 20;

/// Retries for idempotent calls (the `retry` option, off by default): a
/// call is sent again after a connection could not be made, or after an
/// answer with HTTP 429, 502, 503 or 504, waiting between attempts.
///
/// The wait is the server's `Retry-After` (seconds or an HTTP date),
/// capped by [`retry_after_cap`](Self::retry_after_cap); without one it is
/// exponential backoff with full jitter: a random time between zero and
/// `base_delay × 2^(retry − 1)`, at most [`max_delay`](Self::max_delay).
/// Two budgets end the retries, and the call then fails with the last
/// attempt's error: [`max_attempts`](Self::max_attempts) (the first one
/// included) and [`max_total_delay`](Self::max_total_delay) (a wait that
/// would pass it is not waited). Each wait fires an
/// [`Event::Retry`](crate::Event::Retry) first.
///
/// Only idempotent calls are retried: `GET` and `HEAD` calls (gets,
/// listings, searches, `account/me`…) except server snippets run directly
/// (`run`, which may have side effects), and `PUT text` (the objects API's
/// `set`, which replaces whole objects). Never a `POST` (logins, creates,
/// updates, `searchES`), a `DELETE`, any other `PUT`, nor a file transfer
/// (an upload from a reader cannot be replayed).
///
/// ```no_run
/// # async fn demo() -> cloudmine::Result<()> {
/// use std::time::Duration;
/// use cloudmine::{CallOptions, RetryPolicy, WebService};
/// let ws = WebService::builder()
///     .app_id("app")
///     .api_key("key")
///     .retry(RetryPolicy::new().max_attempts(4).max_total_delay(Duration::from_secs(10)))
///     .build()?;
/// let cars = ws.objects().search(r#"[__class__ = "car"]"#).await?;
/// // This one call is sent once, whatever happens:
/// let once = ws.objects().get(["car"]).options(CallOptions::new().no_retry()).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_total_delay: Duration,
    retry_after_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            max_total_delay: Duration::from_secs(20),
            retry_after_cap: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// 3 attempts, backoff from 100 ms up to 5 s per wait, 20 s of waiting
    /// in all, `Retry-After` honoured up to 30 s.
    pub fn new() -> Self {
        Self::default()
    }

    /// The most attempts, the first one included (1 to
    /// [`MAX_RETRY_ATTEMPTS`]; other values are refused when the call is
    /// prepared, as an invalid `retry` option).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// The backoff before the first retry (before jitter); it doubles each retry.
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The longest backoff wait (before jitter).
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The most time spent waiting between the attempts of one call.
    pub fn max_total_delay(mut self, delay: Duration) -> Self {
        self.max_total_delay = delay;
        self
    }

    /// The longest a server's `Retry-After` is waited; a longer one waits this long.
    pub fn retry_after_cap(mut self, cap: Duration) -> Self {
        self.retry_after_cap = cap;
        self
    }

    /// The configured attempt budget.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The configured total-delay budget.
    pub fn total_delay(&self) -> Duration {
        self.max_total_delay
    }

    /// Why these settings cannot be used, if they cannot.
    pub(crate) fn problem(&self) -> Option<String> {
        if self.max_attempts == 0 || self.max_attempts > MAX_RETRY_ATTEMPTS {
            return Some(format!(
                "max_attempts must be 1 to {MAX_RETRY_ATTEMPTS} (1: no retries), not {}",
                self.max_attempts
            ));
        }
        None
    }

    /// The wait before retry number `retry` (1 for the first), with no
    /// `Retry-After`: full jitter over the capped exponential backoff,
    /// `random` picking the point.
    pub(crate) fn backoff(&self, retry: u32, random: u64) -> Duration {
        let shift = retry.saturating_sub(1).min(31);
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << shift)
            .min(self.max_delay);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        match nanos.checked_add(1) {
            Some(span) => Duration::from_nanos(random % span),
            None => Duration::from_nanos(random),
        }
    }

    /// A server's `Retry-After`, capped.
    pub(crate) fn capped(&self, retry_after: Duration) -> Duration {
        retry_after.min(self.retry_after_cap)
    }
}

/// The data of an [`Event::Retry`](crate::Event::Retry): the call is about
/// to wait `delay` and then send attempt number `attempt` (2 for the first
/// retry), because of `reason` (`"connect"`, or the status: `"503"`…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryNotice {
    /// The attempt about to be sent (2 for the first retry).
    pub attempt: u32,
    /// How long the call waits first.
    pub delay: Duration,
    /// `"connect"` for a connection that could not be made, else the HTTP
    /// status that was answered (`"429"`, `"502"`, `"503"`, `"504"`).
    pub reason: String,
}

impl RetryNotice {
    /// Reads a retry event's data; `None` for other data.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cloudmine::RetryNotice;
    /// let data = serde_json::json!({"attempt": 2, "delay_ms": 250, "reason": "503"});
    /// let notice = RetryNotice::from_data(&data).unwrap();
    /// assert_eq!(notice.delay, Duration::from_millis(250));
    /// assert_eq!(notice.to_data(), data);
    /// ```
    pub fn from_data(data: &Value) -> Option<RetryNotice> {
        Some(RetryNotice {
            attempt: u32::try_from(data.get("attempt")?.as_u64()?).ok()?,
            delay: Duration::from_millis(data.get("delay_ms")?.as_u64()?),
            reason: data.get("reason")?.as_str()?.to_owned(),
        })
    }

    /// The event data for this notice (the delay in whole milliseconds).
    pub fn to_data(&self) -> Value {
        let millis = u64::try_from(self.delay.as_millis()).unwrap_or(u64::MAX);
        serde_json::json!({ "attempt": self.attempt, "delay_ms": millis, "reason": self.reason })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_capped_and_jittered() {
        let p = RetryPolicy::new()
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(350));
        assert_eq!(p.backoff(1, 0), Duration::ZERO);
        assert_eq!(p.backoff(1, 100_000_000), Duration::from_millis(100));
        assert_eq!(p.backoff(2, 200_000_000), Duration::from_millis(200));
        // 400 ms capped to 350 ms: the top of the span is the cap.
        assert_eq!(p.backoff(3, 350_000_000), Duration::from_millis(350));
        assert!(p.backoff(40, u64::MAX) <= Duration::from_millis(350));
        assert_eq!(
            p.capped(Duration::from_secs(99)),
            Duration::from_secs(30),
            "Retry-After is capped"
        );
    }

    #[test]
    fn attempts_are_checked() {
        assert!(RetryPolicy::new().max_attempts(0).problem().is_some());
        assert!(RetryPolicy::new().max_attempts(21).problem().is_some());
        assert!(RetryPolicy::new().max_attempts(1).problem().is_none());
    }
}
