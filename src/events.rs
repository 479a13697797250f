//! Typed events, handlers and the [`EventEmitter`] trait shared by every call.
//!
//! Events follow the CloudMine JavaScript SDK: for a call that succeeds, the
//! status-named event (`ok`, `created`…), the numeric status event
//! ([`Event::Status`]), then [`Event::Success`]; then [`Event::Meta`] and
//! [`Event::Result`] when the answer has them; then, for each failed status
//! group, its named and numeric events followed by one [`Event::Error`]; and
//! always, exactly once and last, [`Event::Complete`].

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::Error;
use crate::request_info::RequestInfo;

/// An event a call can fire. Typed, never a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Event {
    /// The call produced success data (a 2xx answer, possibly with per-key errors).
    Success,
    /// The call failed, wholly or for some keys. Data: the failures grouped by
    /// code (`{"404": {...}}`, `{"timeout": {"errors": [..]}}`).
    Error,
    /// Fires exactly once, last, whatever happened.
    Complete,
    /// The answer carried `meta` data.
    Meta,
    /// The answer carried a `result` (the output of a server-side snippet).
    Result,
    /// The call was cancelled before it completed (its future was dropped,
    /// or its [`AbortHandle`](crate::AbortHandle) aborted it).
    Abort,
    /// A social login's URL is ready. Data: `{"url": …, "opened": bool,
    /// "reason": …}`; when `opened` is false, show the URL to the user.
    /// The URL can carry the API key and, when linking, the session token:
    /// show it to the user, never log it.
    Open,
    /// A file transfer moved on. Data: `{"done": bytes, "total": bytes or
    /// null}` (read it with [`Progress::from_data`]). Fires at most once per
    /// progress interval, and once more with the final count before
    /// `success`.
    Progress,
    /// An idempotent call is about to be sent again (see
    /// [`RetryPolicy`](crate::RetryPolicy)). Data: `{"attempt": n,
    /// "delay_ms": ms, "reason": "503"}` (read it with
    /// [`RetryNotice::from_data`](crate::RetryNotice::from_data)); fires
    /// before the wait, before any answer event.
    Retry,
    /// HTTP 200.
    Ok,
    /// HTTP 201.
    Created,
    /// HTTP 400.
    BadRequest,
    /// HTTP 401.
    Unauthorized,
    /// HTTP 404.
    NotFound,
    /// HTTP 409.
    Conflict,
    /// HTTP 500.
    ServerError,
    /// A numeric status event; fires after the named one, for every status.
    Status(u16),
}

/// Every named event an answer can fire (not `Open` or `Progress`, no
/// `Status`): for the unit tests and the fuzz target, which listen to all.
#[cfg(any(test, fuzzing))]
pub(crate) const ANSWER_EVENTS: [Event; 13] = [
    Event::Success,
    Event::Error,
    Event::Complete,
    Event::Meta,
    Event::Result,
    Event::Abort,
    Event::Ok,
    Event::Created,
    Event::BadRequest,
    Event::Unauthorized,
    Event::NotFound,
    Event::Conflict,
    Event::ServerError,
];

impl Event {
    /// The named event for an HTTP status, when CloudMine names it.
    pub fn named(status: u16) -> Option<Event> {
        Some(match status {
            200 => Event::Ok,
            201 => Event::Created,
            400 => Event::BadRequest,
            401 => Event::Unauthorized,
            404 => Event::NotFound,
            409 => Event::Conflict,
            500 => Event::ServerError,
            _ => return None,
        })
    }

    /// The CloudMine name of the event (`"success"`, `"notfound"`, `"404"`…).
    pub fn name(&self) -> String {
        match self {
            Event::Success => "success".into(),
            Event::Error => "error".into(),
            Event::Complete => "complete".into(),
            Event::Meta => "meta".into(),
            Event::Result => "result".into(),
            Event::Abort => "abort".into(),
            Event::Open => "open".into(),
            Event::Progress => "progress".into(),
            Event::Retry => "retry".into(),
            Event::Ok => "ok".into(),
            Event::Created => "created".into(),
            Event::BadRequest => "badrequest".into(),
            Event::Unauthorized => "unauthorized".into(),
            Event::NotFound => "notfound".into(),
            Event::Conflict => "conflict".into(),
            Event::ServerError => "servererror".into(),
            Event::Status(code) => code.to_string(),
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// The data of an [`Event::Progress`]: bytes moved so far, and the total
/// when it is known (a download with a `Content-Length`, an upload from a
/// path, bytes, or a reader of known length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes sent or received so far.
    pub done: u64,
    /// All the bytes of the transfer, when known.
    pub total: Option<u64>,
}

impl Progress {
    /// Reads a progress event's data; `None` for other data.
    ///
    /// ```
    /// use cloudmine::Progress;
    /// let data = serde_json::json!({"done": 512, "total": 1024});
    /// assert_eq!(Progress::from_data(&data), Some(Progress { done: 512, total: Some(1024) }));
    /// ```
    pub fn from_data(data: &Value) -> Option<Progress> {
        Some(Progress {
            done: data.get("done")?.as_u64()?,
            total: data.get("total").and_then(Value::as_u64),
        })
    }

    /// The event data for this progress.
    pub fn to_data(&self) -> Value {
        serde_json::json!({ "done": self.done, "total": self.total })
    }
}

/// What a handler learns about the call besides the event's data: the
/// second argument of every handler, like the JS SDK's `apicall`.
#[derive(Debug, Clone, Default)]
pub struct CallInfo {
    pub(crate) method: String,
    pub(crate) url: String,
    pub(crate) status: Option<u16>,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) count: Option<u64>,
    pub(crate) has_errors: bool,
    /// Attempts before this one (set by the retry loop; a `u16` fits in the
    /// padding next to `status`, so the call future does not grow).
    pub(crate) retries: u16,
    pub(crate) error: Option<Arc<Error>>,
    /// Nanoseconds (584 years fit): 8 bytes less than a `Duration` keeps
    /// the boxed call future under 1 KiB.
    pub(crate) elapsed_nanos: u64,
    pub(crate) request: Option<Arc<RequestInfo>>,
}

impl CallInfo {
    /// The HTTP method.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// How many times the call was sent again before the attempt this
    /// information describes (see [`RetryPolicy`](crate::RetryPolicy)); 0
    /// without retries.
    pub fn retries(&self) -> u16 {
        self.retries
    }

    /// The request URL without its query string (it may carry user data).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The HTTP status, once an answer arrived.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// A response header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The response headers.
    pub fn headers(&self) -> &reqwest::header::HeaderMap {
        &self.headers
    }

    /// The total count the server reported (when the `count` option was set).
    pub fn count(&self) -> Option<u64> {
        self.count
    }

    /// True when the call had errors (whole or per key).
    pub fn has_errors(&self) -> bool {
        self.has_errors
    }

    /// The typed error, when the call failed wholly.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_deref()
    }

    /// The request as it was sent (secrets redacted, see [`RequestInfo`]);
    /// `None` when the call failed before a request was built (an invalid
    /// option), and for calls other than [`ApiCall`](crate::ApiCall).
    pub fn request(&self) -> Option<&RequestInfo> {
        self.request.as_deref()
    }

    /// Time from sending the request to the answer (zero when nothing was sent).
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.elapsed_nanos)
    }

    pub(crate) fn set_elapsed(&mut self, elapsed: Duration) {
        self.elapsed_nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
    }
}

/// One fired event, as delivered to channel handlers.
#[derive(Debug, Clone)]
pub struct EventMessage {
    /// Which event.
    pub event: Event,
    /// The event's data.
    pub data: Value,
    /// The call's details at the time the event fired.
    pub call: CallInfo,
}

/// Something that receives events: a closure `FnMut(&Value, &CallInfo)`, a
/// `std::sync::mpsc::Sender<EventMessage>` or a
/// `tokio::sync::mpsc::UnboundedSender<EventMessage>`.
///
/// Closures name their argument types (`|data: &Value, call: &CallInfo|`):
/// Rust cannot infer them through a trait that channel senders implement too.
///
/// ```
/// use cloudmine::{CallInfo, EventHandler, EventMessage};
/// use serde_json::Value;
///
/// fn takes_handler(_h: impl EventHandler) {}
/// takes_handler(|data: &Value, call: &CallInfo| println!("{data} {:?}", call.status()));
/// let (tx, _rx) = std::sync::mpsc::channel::<EventMessage>();
/// takes_handler(tx);
/// ```
pub trait EventHandler: Send + 'static {
    /// Called for each event the handler was registered for.
    fn handle(&mut self, event: Event, data: &Value, call: &CallInfo);
}

impl<F> EventHandler for F
where
    F: FnMut(&Value, &CallInfo) + Send + 'static,
{
    fn handle(&mut self, _event: Event, data: &Value, call: &CallInfo) {
        self(data, call)
    }
}

impl EventHandler for std::sync::mpsc::Sender<EventMessage> {
    fn handle(&mut self, event: Event, data: &Value, call: &CallInfo) {
        // A receiver that went away is not the call's problem.
        let _ = self.send(EventMessage {
            event,
            data: data.clone(),
            call: call.clone(),
        });
    }
}

impl EventHandler for tokio::sync::mpsc::UnboundedSender<EventMessage> {
    fn handle(&mut self, event: Event, data: &Value, call: &CallInfo) {
        let _ = self.send(EventMessage {
            event,
            data: data.clone(),
            call: call.clone(),
        });
    }
}

struct Entry {
    id: u64,
    event: Event,
    once: bool,
    spent: bool,
    handler: Box<dyn EventHandler>,
}

/// The handler list behind an [`EventEmitter`].
///
/// Implementors of [`EventEmitter`] keep one and delegate to it. A handler
/// that panics is caught and logged; the other handlers and `complete` still
/// run.
#[derive(Default)]
pub struct Handlers {
    entries: Vec<Entry>,
}

/// The next [`HandlerId`]: one counter for the process, so an id names one
/// handler of one call, never a handler of another call.
static NEXT_HANDLER_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Names one registered handler, for [`EventEmitter::unsubscribe`]: returned
/// by [`EventEmitter::subscribe`] and [`EventEmitter::subscribe_once`]. Ids
/// are unique in the process and never reused, so another call's id
/// removes nothing here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HandlerId(u64);

impl fmt::Debug for Handlers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|e| e.event))
            .finish()
    }
}

impl Handlers {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a handler for every firing of `event`; the id removes it again.
    pub fn on(&mut self, event: Event, handler: impl EventHandler) -> HandlerId {
        self.push(event, handler, false)
    }

    /// Adds a handler for the next firing of `event` only; the id removes
    /// it before it fired.
    pub fn once(&mut self, event: Event, handler: impl EventHandler) -> HandlerId {
        self.push(event, handler, true)
    }

    fn push(&mut self, event: Event, handler: impl EventHandler, once: bool) -> HandlerId {
        let id = NEXT_HANDLER_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.entries.push(Entry {
            id,
            event,
            once,
            spent: false,
            handler: Box::new(handler),
        });
        HandlerId(id)
    }

    /// Removes the one handler `id` names; false when it is not in this
    /// list (already removed, a `once` handler that fired, or another
    /// call's id).
    pub fn remove(&mut self, id: HandlerId) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.id != id.0);
        self.entries.len() != before
    }

    /// Removes every handler registered for `event`.
    pub fn off(&mut self, event: Event) {
        self.entries.retain(|e| e.event != event);
    }

    /// True when no handler is registered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Calls the handlers registered for `event`, in registration order.
    pub fn emit(&mut self, event: Event, data: &Value, call: &CallInfo) {
        for entry in self
            .entries
            .iter_mut()
            .filter(|e| e.event == event && !e.spent)
        {
            if entry.once {
                entry.spent = true;
            }
            let handler = &mut entry.handler;
            let outcome = catch_unwind(AssertUnwindSafe(|| handler.handle(event, data, call)));
            if outcome.is_err() {
                tracing::error!(event = %event, "an event handler panicked; the call goes on");
            }
        }
        self.entries.retain(|e| !e.spent);
    }
}

/// Implements [`EventEmitter`] for a type that keeps its [`Handlers`] in a
/// field: `handlers` unless a path is given (`transfer.handlers`), and for a
/// generic type with `impl<T> Type<T>, field`.
macro_rules! impl_event_emitter {
    (@impl [$($g:ident)?] $ty:ty, $($field:ident).+) => {
        impl<$($g)?> $crate::events::EventEmitter for $ty {
            fn on(mut self, event: $crate::Event, handler: impl $crate::EventHandler) -> Self {
                self.$($field).+.on(event, handler);
                self
            }

            fn once(mut self, event: $crate::Event, handler: impl $crate::EventHandler) -> Self {
                self.$($field).+.once(event, handler);
                self
            }

            fn subscribe(
                &mut self,
                event: $crate::Event,
                handler: impl $crate::EventHandler,
            ) -> $crate::HandlerId {
                self.$($field).+.on(event, handler)
            }

            fn subscribe_once(
                &mut self,
                event: $crate::Event,
                handler: impl $crate::EventHandler,
            ) -> $crate::HandlerId {
                self.$($field).+.once(event, handler)
            }

            fn unsubscribe(&mut self, id: $crate::HandlerId) -> bool {
                self.$($field).+.remove(id)
            }

            fn off(mut self, event: $crate::Event) -> Self {
                self.$($field).+.off(event);
                self
            }

            fn emit(&mut self, event: $crate::Event, data: &serde_json::Value) {
                self.$($field).+
                    .emit(event, data, &$crate::CallInfo::default());
            }
        }
    };
    (impl<$g:ident> $ty:ty, $($field:ident).+) => {
        $crate::events::impl_event_emitter!(@impl [$g] $ty, $($field).+);
    };
    ($ty:ty, $($field:ident).+) => {
        $crate::events::impl_event_emitter!(@impl [] $ty, $($field).+);
    };
    ($ty:ty) => {
        $crate::events::impl_event_emitter!(@impl [] $ty, handlers);
    };
}
pub(crate) use impl_event_emitter;

/// The event interface of calls: register handlers before awaiting.
///
/// ```no_run
/// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
/// use cloudmine::{CallInfo, Event, EventEmitter};
/// use serde_json::Value;
/// let response = ws
///     .objects()
///     .get(["car"])
///     .on(Event::Success, |data: &Value, _call: &CallInfo| println!("got {data}"))
///     .on(Event::NotFound, |data: &Value, _call: &CallInfo| eprintln!("missing: {data}"))
///     .once(Event::Complete, |_data: &Value, call: &CallInfo| println!("done: {:?}", call.status()))
///     .await?;
/// # Ok(()) }
/// ```
pub trait EventEmitter: Sized {
    /// Calls `handler` every time `event` fires.
    fn on(self, event: Event, handler: impl EventHandler) -> Self;
    /// Calls `handler` the first time `event` fires.
    fn once(self, event: Event, handler: impl EventHandler) -> Self;
    /// Removes every handler of `event` (also those added with
    /// [`subscribe`](Self::subscribe)).
    fn off(self, event: Event) -> Self;
    /// Calls `handler` every time `event` fires, like [`on`](Self::on), and
    /// returns the id that [`unsubscribe`](Self::unsubscribe) takes to
    /// remove this one handler (`off` removes all of an event's).
    ///
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// use cloudmine::{CallInfo, Event, EventEmitter};
    /// use serde_json::Value;
    /// let mut call = ws.objects().get(["car"]);
    /// let noisy = call.subscribe(Event::Success, |d: &Value, _: &CallInfo| println!("{d}"));
    /// call.subscribe(Event::Success, |_: &Value, _: &CallInfo| println!("got it"));
    /// assert!(call.unsubscribe(noisy)); // only "got it" prints
    /// assert!(!call.unsubscribe(noisy)); // already gone
    /// call.await?;
    /// # Ok(()) }
    /// ```
    fn subscribe(&mut self, event: Event, handler: impl EventHandler) -> HandlerId;
    /// Calls `handler` the first time `event` fires, like
    /// [`once`](Self::once); the id removes it before then.
    fn subscribe_once(&mut self, event: Event, handler: impl EventHandler) -> HandlerId;
    /// Removes the one handler `id` names. True when it was removed; false
    /// when it was not registered here (removed already, a once-handler
    /// that has fired, or an id from another call).
    fn unsubscribe(&mut self, id: HandlerId) -> bool;
    /// Fires `event` with `data` now, as the call would.
    fn emit(&mut self, event: Event, data: &Value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn recorder(log: &Arc<Mutex<Vec<String>>>, tag: &'static str) -> impl EventHandler {
        let log = Arc::clone(log);
        move |_: &Value, _: &CallInfo| log.lock().unwrap().push(tag.to_string())
    }

    #[test]
    fn on_once_off_and_panics() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut h = Handlers::new();
        h.on(Event::Success, recorder(&log, "a"));
        h.once(Event::Success, recorder(&log, "b"));
        h.on(Event::Success, |_: &Value, _: &CallInfo| panic!("boom"));
        h.on(Event::Success, recorder(&log, "c"));
        h.on(Event::Error, recorder(&log, "e"));
        let info = CallInfo::default();
        h.emit(Event::Success, &Value::Null, &info);
        h.emit(Event::Success, &Value::Null, &info);
        h.off(Event::Error);
        h.emit(Event::Error, &Value::Null, &info);
        assert_eq!(*log.lock().unwrap(), ["a", "b", "c", "a", "c"]);
    }

    #[test]
    fn remove_takes_out_one_handler_once() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut h = Handlers::new();
        let a = h.on(Event::Success, recorder(&log, "a"));
        let b = h.once(Event::Success, recorder(&log, "b"));
        h.on(Event::Success, recorder(&log, "c"));
        assert!(h.remove(a));
        assert!(!h.remove(a));
        h.emit(Event::Success, &Value::Null, &CallInfo::default());
        // A fired once-handler is gone: removing it is false.
        assert!(!h.remove(b));
        assert_eq!(*log.lock().unwrap(), ["b", "c"]);
    }

    #[test]
    fn channel_handlers_receive_messages() {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut h = Handlers::new();
        h.on(Event::Status(404), tx);
        h.emit(Event::Status(404), &Value::from(1), &CallInfo::default());
        let msg = rx.try_recv().unwrap();
        assert_eq!(msg.event, Event::Status(404));
        assert_eq!(msg.data, Value::from(1));
    }

    #[test]
    fn names() {
        assert_eq!(Event::named(201), Some(Event::Created));
        assert_eq!(Event::named(418), None);
        assert_eq!(Event::NotFound.to_string(), "notfound");
        assert_eq!(Event::Status(409).to_string(), "409");
    }
}
