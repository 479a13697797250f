//! Log capture for the redaction tests: everything the SDK (and the
//! emulator in the same process) logs, spans and their fields included.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::fmt::format::FmtSpan;

/// A log writer that keeps everything written to it.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    /// Everything captured so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// A subscriber at TRACE that writes every event and every span's opening
/// and closing (with all its fields, recorded ones included) to `capture`,
/// each line with the name of the thread that logged it.
fn subscriber(capture: &Capture) -> impl tracing::Subscriber + Send + Sync + 'static {
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::NEW | FmtSpan::CLOSE)
        .with_writer(move || writer.clone())
        .with_thread_names(true)
        .with_ansi(false)
        .finish()
}

/// Everything logged on this thread, until the guard drops. Misses what
/// other threads log (spawned tasks on a multi-thread runtime, listener
/// threads): use [`capture_global`] in a test binary of its own for those.
pub fn capture_logs() -> (Capture, tracing::subscriber::DefaultGuard) {
    let capture = Capture::default();
    let guard = tracing::subscriber::set_default(subscriber(&capture));
    (capture, guard)
}

/// Everything logged by every thread of this test binary, from the first
/// call on (one capture per process: a global subscriber is set once).
pub fn capture_global() -> Capture {
    static GLOBAL: OnceLock<Capture> = OnceLock::new();
    GLOBAL
        .get_or_init(|| {
            let capture = Capture::default();
            tracing::subscriber::set_global_default(subscriber(&capture))
                .expect("no other global subscriber in this test binary");
            capture
        })
        .clone()
}
