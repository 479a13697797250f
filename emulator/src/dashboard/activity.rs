//! What the API served lately, for the dashboard's request log and chart:
//! a bounded ring of the last [`LOG_CAPACITY`] requests (method, path
//! without its query and with the same redaction as the server log,
//! status, latency) and per-[`BUCKET_SECS`]-second counts and latency
//! samples over the last [`BUCKETS`] intervals. In memory, per instance.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use crate::middleware::loggable;
use crate::store::now_ms;

/// Requests kept in the log.
pub(crate) const LOG_CAPACITY: usize = 1000;
/// Seconds per chart interval.
pub(crate) const BUCKET_SECS: i64 = 10;
/// Intervals in the chart (10 minutes).
pub(crate) const BUCKETS: usize = 60;
/// Latency samples kept per interval (the percentiles of a busier
/// interval are those of its first samples).
const SAMPLES_PER_BUCKET: usize = 4096;
/// The longest path kept, in characters.
const MAX_PATH_CHARS: usize = 200;

/// One request of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// When it was answered (ms since the epoch).
    pub at_ms: i64,
    pub method: String,
    /// The path, redacted, without its query string.
    pub path: String,
    pub status: u16,
    /// Microseconds until the answer's head was ready.
    pub latency_us: u64,
}

/// One interval of the chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Point {
    /// Requests answered in it.
    pub count: u64,
    /// Median and 99th percentile latency, in microseconds.
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
}

#[derive(Debug, Default, Clone)]
struct Bucket {
    /// Which interval (ms since the epoch / 1000 / [`BUCKET_SECS`]).
    slot: i64,
    count: u64,
    samples: Vec<u64>,
}

#[derive(Debug, Default)]
struct Inner {
    log: VecDeque<Entry>,
    buckets: Vec<Bucket>,
}

/// The request log and the chart's intervals.
#[derive(Debug, Default)]
pub(crate) struct Activity {
    inner: Mutex<Inner>,
}

fn slot_of(ms: i64) -> i64 {
    ms.div_euclid(1000 * BUCKET_SECS)
}

impl Activity {
    /// Records one answered request.
    pub(crate) fn record(&self, method: &str, path: &str, status: u16, latency: Duration) {
        self.record_at(now_ms(), method, path, status, latency);
    }

    fn record_at(&self, at_ms: i64, method: &str, path: &str, status: u16, latency: Duration) {
        let latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        let path: String = loggable(path).chars().take(MAX_PATH_CHARS).collect();
        let entry = Entry {
            at_ms,
            method: method.chars().take(16).collect(),
            path,
            status,
            latency_us,
        };
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.log.len() == LOG_CAPACITY {
            inner.log.pop_front();
        }
        inner.log.push_back(entry);
        if inner.buckets.is_empty() {
            inner.buckets = vec![Bucket::default(); BUCKETS];
        }
        let slot = slot_of(at_ms);
        let bucket = &mut inner.buckets[slot.rem_euclid(BUCKETS as i64) as usize];
        if bucket.slot != slot {
            *bucket = Bucket {
                slot,
                ..Bucket::default()
            };
        }
        bucket.count += 1;
        if bucket.samples.len() < SAMPLES_PER_BUCKET {
            bucket.samples.push(latency_us);
        }
    }

    /// The latest `n` requests, newest first.
    pub(crate) fn latest(&self, n: usize) -> Vec<Entry> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.log.iter().rev().take(n).cloned().collect()
    }

    /// The last [`BUCKETS`] intervals, oldest first, the current one last.
    pub(crate) fn series(&self) -> Vec<Point> {
        self.series_at(now_ms())
    }

    fn series_at(&self, now_ms: i64) -> Vec<Point> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let last = slot_of(now_ms);
        (0..BUCKETS as i64)
            .map(|back| last - (BUCKETS as i64 - 1) + back)
            .map(|slot| {
                let i = slot.rem_euclid(BUCKETS as i64) as usize;
                match inner.buckets.get(i).filter(|b| b.slot == slot) {
                    Some(b) => point_of(b),
                    None => Point {
                        count: 0,
                        p50_us: None,
                        p99_us: None,
                    },
                }
            })
            .collect()
    }
}

fn point_of(bucket: &Bucket) -> Point {
    let mut sorted = bucket.samples.clone();
    sorted.sort_unstable();
    let at = |q: f64| {
        let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len().max(1)) - 1;
        sorted.get(i).copied()
    };
    Point {
        count: bucket.count,
        p50_us: at(0.50),
        p99_us: at(0.99),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_a_bounded_ring_newest_first() {
        let a = Activity::default();
        for i in 0..LOG_CAPACITY + 5 {
            a.record_at(0, "GET", &format!("/p{i}"), 200, Duration::ZERO);
        }
        let latest = a.latest(usize::MAX);
        assert_eq!(latest.len(), LOG_CAPACITY);
        assert_eq!(latest[0].path, format!("/p{}", LOG_CAPACITY + 4));
    }

    #[test]
    fn secrets_in_paths_are_redacted() {
        let a = Activity::default();
        a.record_at(
            0,
            "POST",
            "/v1/app/a/account/password/reset/tok",
            200,
            Duration::ZERO,
        );
        assert_eq!(
            a.latest(1)[0].path,
            "/v1/app/a/account/password/reset/[redacted]"
        );
    }

    #[test]
    fn intervals_count_and_rank_latencies() {
        let a = Activity::default();
        let now = 1_000_000_000;
        for ms in 1..=100u64 {
            a.record_at(now, "GET", "/", 200, Duration::from_millis(ms));
        }
        a.record_at(
            now - 1000 * BUCKET_SECS * 3,
            "GET",
            "/",
            200,
            Duration::ZERO,
        );
        // Older than the window: not shown.
        a.record_at(
            now - 1000 * BUCKET_SECS * 100,
            "GET",
            "/",
            200,
            Duration::ZERO,
        );
        let s = a.series_at(now);
        assert_eq!(s.len(), BUCKETS);
        let last = &s[BUCKETS - 1];
        assert_eq!(last.count, 100);
        assert_eq!(last.p50_us, Some(50_000));
        assert_eq!(last.p99_us, Some(99_000));
        assert_eq!(s[BUCKETS - 4].count, 1);
        assert_eq!(s.iter().map(|p| p.count).sum::<u64>(), 101);
    }
}
