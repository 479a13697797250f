//! Entry points for `cargo fuzz` (`fuzz/`), compiled only with
//! `--cfg fuzzing`: thin wrappers that make the crate's decoders of remote
//! input callable from the fuzz targets. Not part of the public API.
#![cfg(fuzzing)]
#![doc(hidden)]

use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::envelope::{Processed, Processor, parse_body};
use crate::events::{ANSWER_EVENTS, CallInfo, Event, Handlers};
use crate::{Response, Result};

/// What the SDK made of one answer.
#[derive(Debug)]
pub struct Decoded {
    /// The names of the events fired, in order.
    pub events: Vec<String>,
    /// The value the call's `.await` would give.
    pub result: Result<Response>,
}

/// Decodes an answer's body exactly as every CloudMine call does: the body
/// parsed (`parse_body`), processed into success, meta, result, count and
/// per-key errors (`Processed::from_http`, by the `Basic` processor of the
/// account endpoints or the `Text` envelope of the others), the events
/// fired to handlers of each kind, and the awaited value made.
pub fn envelope(status: u16, body: &[u8], basic: bool, snippet_set: bool) -> Decoded {
    let processor = if basic {
        Processor::Basic
    } else {
        Processor::Text
    };
    let url = "http://127.0.0.1/v1/app/fuzz/text";
    let processed =
        Processed::from_http(status, parse_body(body), processor, snippet_set, "GET", url);
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut handlers = Handlers::new();
    let mut events = ANSWER_EVENTS.to_vec();
    events.push(Event::Status(status));
    events.extend([200, 400, 401, 404, 409].map(Event::Status));
    for event in events {
        let log = Arc::clone(&log);
        handlers.on(event, move |data: &Value, _: &CallInfo| {
            // Handlers see the data as JSON text too: make sure it prints.
            let _ = data.to_string();
            log.lock().map(|mut l| l.push(event.name())).ok();
        });
    }
    processed.fire(&mut handlers, &CallInfo::default());
    let result = processed.into_result(Default::default());
    let events = log.lock().map(|l| l.clone()).unwrap_or_default();
    Decoded { events, result }
}

/// What the social login's loopback listener decided on a request head.
#[derive(Debug, PartialEq, Eq)]
pub enum Head {
    /// Read on: not a whole head yet.
    Incomplete,
    /// The login's callback.
    Callback,
    /// Refused with this status.
    Refused(u16),
}

/// The listener's decision on `bytes` (everything read so far on one
/// connection), for a login on `port` waiting for `param` = `value`.
pub fn loopback(bytes: &[u8], port: u16, state: bool, value: &str) -> Head {
    use crate::social::listener::{Expected, Verdict, judge};
    let expect = Expected {
        port,
        param: if state { "state" } else { "challenge" },
        value: value.to_string(),
    };
    match judge(bytes, &expect) {
        Verdict::Incomplete => Head::Incomplete,
        Verdict::Callback(_) => Head::Callback,
        Verdict::Refuse { status, .. } => Head::Refused(status),
    }
}

/// The listener's cap on a request head.
pub const LOOPBACK_MAX_HEAD: usize = crate::social::listener::MAX_HEAD_BYTES;
