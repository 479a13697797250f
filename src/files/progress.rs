//! Progress events at a bounded rate, and stall detection (the `timeout`
//! option of a transfer is the longest wait for the next bytes).

use std::time::{Duration, Instant};

use crate::Error;
use crate::call::Completion;
use crate::events::{Event, Progress};

/// The default shortest time between two [`Event::Progress`] events.
pub const DEFAULT_PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// Fires progress events at most once per interval, and notices stalls.
pub(super) struct Tracker {
    pub(super) interval: Duration,
    pub(super) stall: Duration,
    total: Option<u64>,
    pub(super) done: u64,
    reported: Option<u64>,
    last_report: Option<Instant>,
    last_change: Instant,
}

impl Tracker {
    pub(super) fn new(interval: Duration, stall: Duration, total: Option<u64>) -> Self {
        Tracker {
            interval,
            stall,
            total,
            done: 0,
            reported: None,
            last_report: None,
            last_change: Instant::now(),
        }
    }

    fn emit(&mut self, completion: &mut Completion, now: Instant) {
        let data = Progress {
            done: self.done,
            total: self.total,
        }
        .to_data();
        completion
            .handlers
            .emit(Event::Progress, &data, &completion.info);
        self.reported = Some(self.done);
        self.last_report = Some(now);
    }

    /// Records `done` bytes; reports them if the interval has passed.
    pub(super) fn update(&mut self, done: u64, completion: &mut Completion) {
        let now = Instant::now();
        if done != self.done {
            self.done = done;
            self.last_change = now;
        }
        let due = self
            .last_report
            .is_none_or(|t| now.duration_since(t) >= self.interval);
        if due && self.done > 0 && self.reported != Some(self.done) {
            self.emit(completion, now);
        }
    }

    /// True when nothing moved for longer than the stall timeout.
    pub(super) fn stalled(&self) -> bool {
        self.last_change.elapsed() >= self.stall
    }

    /// The final report, unless it was already made.
    pub(super) fn finish(&mut self, completion: &mut Completion) {
        if self.reported != Some(self.done) {
            self.emit(completion, Instant::now());
        }
    }
}

pub(super) fn timeout_error(completion: &Completion, after: Duration) -> Error {
    Error::Timeout {
        method: completion.info.method.clone(),
        url: completion.info.url.clone(),
        after,
    }
}
