//! What every transfer call shares: the client, per-call options and
//! handlers ([`Transfer`]), the builder methods they all have, and reading
//! an answer's body as the call's outcome.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde_json::Value;

use super::progress::{DEFAULT_PROGRESS_INTERVAL, timeout_error};
use crate::call::{Completion, Prepared, Request, prepare};
use crate::client::Client;
use crate::envelope::{Processed, Processor, parse_body};
use crate::events::Handlers;
use crate::options::{CallOptions, Patch};
use crate::transport::transport_error;
use crate::{Error, Result};

/// The most of an error answer's body that is read.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

pub(super) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What every transfer call holds: client, per-call options, handlers.
pub(super) struct Transfer {
    pub(super) ws: Client,
    overrides: Option<Box<Patch>>,
    pub(super) handlers: Handlers,
    pub(super) interval: Duration,
}

impl Transfer {
    pub(super) fn new(ws: &Client) -> Self {
        Transfer {
            ws: ws.clone(),
            overrides: None,
            handlers: Handlers::new(),
            interval: DEFAULT_PROGRESS_INTERVAL,
        }
    }

    pub(super) fn options(&mut self, options: CallOptions) {
        self.overrides
            .get_or_insert_with(Box::default)
            .merge(options.patch);
    }

    /// Builds the request's URL and headers, and the completion guard that
    /// fires `complete` whatever happens from here on.
    pub(super) fn start(
        self,
        request: Request,
    ) -> (Client, Completion, Result<Prepared>, Duration) {
        let Transfer {
            ws,
            overrides,
            handlers,
            interval,
        } = self;
        let mut completion = Completion::new(handlers);
        let prepared = prepare(&ws, request, overrides.as_deref());
        if let Ok(p) = &prepared {
            completion.info.method = p.method.to_string();
            completion.info.url = p.display_url.clone();
        }
        (ws, completion, prepared, interval)
    }
}

macro_rules! transfer_builder {
    ($ty:ty) => {
        impl $ty {
            /// Overrides options for this call only (level, session, and
            /// `timeout`, which for transfers is the longest wait for the
            /// next bytes, not a limit on the whole transfer).
            pub fn options(mut self, options: CallOptions) -> Self {
                self.transfer.options(options);
                self
            }

            /// The shortest time between two progress events (default
            /// [`DEFAULT_PROGRESS_INTERVAL`](crate::DEFAULT_PROGRESS_INTERVAL)).
            pub fn progress_interval(mut self, interval: Duration) -> Self {
                self.transfer.interval = interval;
                self
            }
        }

        crate::events::impl_event_emitter!($ty, transfer.handlers);
    };
}
pub(super) use transfer_builder;

/// Reads an answer's body (keeping at most `ERROR_BODY_LIMIT` bytes, with
/// `stall` as the longest wait for the next bytes) and processes it as the
/// call's outcome. An error answer is reported with whatever of its body
/// arrived; a success must arrive whole.
pub(super) async fn read_answer(
    mut response: reqwest::Response,
    stall: Duration,
    completion: &mut Completion,
) -> Processed {
    let status = response.status().as_u16();
    let success = response.status().is_success();
    completion.info.headers = std::mem::take(response.headers_mut());
    let mut body = Vec::new();
    loop {
        match tokio::time::timeout(stall, response.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                if body.len() < ERROR_BODY_LIMIT {
                    body.extend_from_slice(&chunk);
                } else if !success {
                    break;
                }
            }
            Ok(Ok(None)) => break,
            _ if !success => break,
            Ok(Err(e)) => {
                let (method, url) = (&completion.info.method, &completion.info.url);
                return Processed::from_failure(transport_error(e, method, url, stall));
            }
            Err(_) => return Processed::from_failure(timeout_error(completion, stall)),
        }
    }
    body.truncate(ERROR_BODY_LIMIT);
    Processed::from_http(
        status,
        parse_body(&body),
        Processor::Basic,
        false,
        &completion.info.method,
        &completion.info.url,
    )
}

pub(super) fn success(status: u16, data: Value) -> Processed {
    Processed {
        status: Some(status),
        success: Some(data),
        ..Processed::default()
    }
}

pub(super) fn check_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid_argument("key", "must not be empty"));
    }
    Ok(())
}
