//! [`Completion`]: a call's final events, fired exactly once.

use std::sync::Arc;

use crate::Response;
use crate::envelope::Processed;
use crate::error::{Error, Result};
use crate::events::{CallInfo, Handlers};

/// Fires the final events exactly once: from `finish`, or from `Drop` when the
/// future is dropped mid-flight.
pub(crate) struct Completion {
    pub(crate) handlers: Handlers,
    pub(crate) info: CallInfo,
    pub(crate) done: bool,
}

impl Completion {
    pub(crate) fn new(handlers: Handlers) -> Self {
        Completion {
            handlers,
            info: CallInfo::default(),
            done: false,
        }
    }

    pub(crate) fn finish(mut self, processed: Processed) -> Result<Response> {
        self.done = true;
        self.info.status = processed.status;
        self.info.count = processed.count;
        self.info.has_errors = !processed.errors.is_empty();
        self.info.error = processed.failure.clone().map(Arc::new);
        processed.fire(&mut self.handlers, &self.info);
        processed.into_result(std::mem::take(&mut self.info.headers))
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        if !self.done {
            self.done = true;
            let processed = Processed::from_failure(Error::Aborted);
            self.info.has_errors = true;
            self.info.error = Some(Arc::new(Error::Aborted));
            processed.fire(&mut self.handlers, &self.info);
        }
    }
}
