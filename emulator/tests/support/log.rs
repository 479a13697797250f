//! Log lines captured for a test: a `tracing` subscriber, set as the
//! default of the current thread, that keeps every line it writes. Use it
//! from a `current_thread` test alone in its test binary (`tracing` caches
//! per-callsite interest globally).

use std::sync::{Arc, Mutex};

use tracing::subscriber::DefaultGuard;

/// A log writer that keeps every line.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Everything logged so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Starts capturing every level on this thread until the guard drops.
pub fn capture() -> (Captured, DefaultGuard) {
    let log = Captured::default();
    let writer = log.clone();
    let guard = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish(),
    );
    (log, guard)
}
