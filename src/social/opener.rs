//! How the login URL reaches a browser.

use std::sync::{Arc, mpsc};
use std::time::Duration;

use super::handoff;
#[cfg(all(unix, not(target_os = "macos")))]
use super::wsl;

/// Opens the login URL in a browser.
///
/// When `open` fails, the login does not: the URL is emitted as an
/// [`Event::Open`](crate::Event::Open) with `"opened": false` (a CLI prints
/// "Open this URL to continue"), and the listener keeps waiting until the
/// timeout. Implement it to open a particular browser, print a QR code…
/// Embedded web views are out of scope (RFC 8252 §8.12).
///
/// `open` may block (launching a browser starts a process): the SDK calls
/// it on a Tokio blocking thread (`spawn_blocking`), never on the async
/// runtime's worker threads. An opener that panics counts as a browser that
/// did not open (`"reason": "the browser opener panicked"`).
///
/// The URL is a secret for as long as the login runs: whoever loads it
/// first can finish the login as themselves. Never put it on a command line
/// (other local users can read every process's arguments) or in a log: hand
/// it over through a file only this user can read, a pipe or an API, as
/// [`SystemBrowser`] does.
pub trait BrowserOpener: Send + Sync + 'static {
    /// Opens `url`; `Err` says why it could not.
    fn open(&self, url: &str) -> Result<(), String>;
}

/// The system's default browser, through the `webbrowser` crate (which
/// honours `$BROWSER`).
///
/// On Linux with no `$DISPLAY`, `$WAYLAND_DISPLAY` or `$BROWSER` it refuses at
/// once (the URL goes out in the `open` event for the app to show), except
/// under WSL, where the crate opens the Windows browser without a display.
///
/// The browser is not given the URL itself, which would sit on the
/// launcher's command line where any local user can read it: it gets the
/// path of a page that redirects to the URL, readable only by this user
/// (`0600`, in a fresh `0700` directory under `$CLOUDMINE_LOGIN_PAGE_DIR` or
/// the temporary directory), and removed when the login ends. See
/// `docs/SOCIAL_LOGIN.md` for browsers that cannot read that directory.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemBrowser;

/// How long a browser launcher may take before the login goes on without it
/// (a text-mode browser would otherwise hold the caller).
const LAUNCH_WAIT: Duration = Duration::from_secs(10);

/// Runs `opener` on a blocking thread (`spawn_blocking`): launching a
/// browser starts processes, and an app's opener may block too. An opener
/// that panics is a browser that could not be opened.
pub(crate) async fn open_off_runtime(
    opener: &Arc<dyn BrowserOpener>,
    url: &str,
) -> Result<(), String> {
    let (opener, url) = (Arc::clone(opener), url.to_owned());
    tokio::task::spawn_blocking(move || opener.open(&url))
        .await
        .unwrap_or_else(|e| {
            Err(if e.is_panic() {
                "the browser opener panicked".into()
            } else {
                "the browser opener's thread was cancelled".into()
            })
        })
}

/// Refuses anything but an `http(s)` URL without control characters.
pub(crate) fn check_url(url: &str) -> Result<(), String> {
    if url.chars().any(char::is_control) {
        return Err("the URL contains control characters".into());
    }
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
        Ok(u) => Err(format!("refusing to open a {:?} URL", u.scheme())),
        Err(e) => Err(format!("not a URL: {e}")),
    }
}

impl BrowserOpener for SystemBrowser {
    fn open(&self, url: &str) -> Result<(), String> {
        check_url(url)?;
        // Under WSL the crate opens Windows' browser without a display.
        #[cfg(all(unix, not(target_os = "macos")))]
        if wsl::from_system() == wsl::Launch::Headless {
            return Err(wsl::HEADLESS.into());
        }
        // The launcher's command line gets the page's path, never the URL.
        let page = handoff::write(url)?;
        let url = url::Url::from_file_path(&page)
            .map_err(|()| format!("the login page path {} is not absolute", page.display()))?
            .to_string();
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("cloudmine-browser-launch".into())
            .spawn(move || {
                let _ = tx.send(webbrowser::open(&url).map_err(|e| e.to_string()));
            })
            .map_err(|e| format!("cannot start the browser launcher: {e}"))?;
        match rx.recv_timeout(LAUNCH_WAIT) {
            Ok(result) => result,
            // Still running (a browser that blocks its launcher): it is open.
            Err(mpsc::RecvTimeoutError::Timeout) => Ok(()),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err("the browser launcher failed".into()),
        }
    }
}

/// Follows the login with plain HTTP requests, as a browser that clicks
/// nothing would: for servers that approve without a page (the emulator's
/// auto-consent mode), headless demos and tests. Needs a Tokio runtime.
#[derive(Debug, Clone)]
pub struct HttpOpener {
    client: reqwest::Client,
}

impl Default for HttpOpener {
    fn default() -> Self {
        HttpOpener {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::limited(10))
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
        }
    }
}

impl HttpOpener {
    /// An opener with its own HTTP client.
    pub fn new() -> Self {
        Self::default()
    }
}

impl BrowserOpener for HttpOpener {
    fn open(&self, url: &str) -> Result<(), String> {
        check_url(url)?;
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| "HttpOpener needs a Tokio runtime".to_string())?;
        let client = self.client.clone();
        let url = url.to_owned();
        handle.spawn(async move {
            match client.get(&url).send().await {
                Ok(response) => {
                    tracing::debug!(status = response.status().as_u16(), "HTTP opener finished")
                }
                Err(e) => tracing::debug!(error = %e.without_url(), "HTTP opener failed"),
            }
        });
        Ok(())
    }
}

/// Opens nothing: the URL only goes out as an [`Event::Open`](crate::Event::Open),
/// for apps that show it themselves.
#[derive(Debug, Clone, Copy, Default)]
pub struct ManualOpener;

impl BrowserOpener for ManualOpener {
    fn open(&self, _url: &str) -> Result<(), String> {
        Err("not opened: the app shows the URL itself".into())
    }
}

impl<F> BrowserOpener for F
where
    F: Fn(&str) -> Result<(), String> + Send + Sync + 'static,
{
    fn open(&self, url: &str) -> Result<(), String> {
        self(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_are_opened() {
        assert!(check_url("http://127.0.0.1:1/x").is_ok());
        assert!(check_url("https://example.com/").is_ok());
        assert!(check_url("file:///etc/passwd").is_err());
        assert!(check_url("javascript:alert(1)").is_err());
        assert!(check_url("http://x/\n").is_err());
        assert!(SystemBrowser.open("file:///etc/passwd").is_err());
        assert!(ManualOpener.open("http://x/").is_err());
    }
}
