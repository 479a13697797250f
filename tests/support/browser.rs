//! Real headless Chromium over WebDriver (Debian's `chromium` and
//! `chromium-driver`). On a developer machine without them the tests that
//! need a browser skip visibly; on CI a missing browser is a failure
//! (`support::skip`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The flags every Chromium here runs with (no network beyond loopback).
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// An executable on `$PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The Chromium binary and its driver, or `None` (skip) on a developer
/// machine without them. Panics in CI.
pub fn chromium_and_driver() -> Option<(PathBuf, PathBuf)> {
    let chromium = which("chromium").or_else(|| which("chromium-browser"));
    let driver = which("chromedriver");
    match (chromium, driver) {
        (Some(c), Some(d)) => Some((c, d)),
        _ => {
            super::skip::skip_or_fail(
                "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)",
            );
            None
        }
    }
}

/// A chromedriver process and a WebDriver session in a fresh profile.
pub struct Browser {
    pub client: fantoccini::Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless session.
    pub async fn start() -> Option<Browser> {
        let (chromium, driver_bin) = chromium_and_driver()?;
        let port = super::closed_port();
        let mut driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if reqwest::get(format!("{url}/status")).await.is_ok() {
                break;
            }
            if Instant::now() > deadline {
                let _ = driver.kill();
                panic!("chromedriver did not start within 20 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().expect("a profile directory");
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": chromium, "args": args }),
        );
        let client = fantoccini::ClientBuilder::rustls()
            .expect("a TLS connector")
            .capabilities(caps)
            .connect(&url)
            .await
            .expect("a WebDriver session");
        Some(Browser {
            client,
            driver,
            _profile: profile,
        })
    }

    /// Ends the session and the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// Where tests leave artifacts (screenshots).
pub fn artifact(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("artifacts");
    let _ = std::fs::create_dir_all(&dir);
    dir.join(name)
}

/// An opener that hands the login URL to the test (which drives the
/// browser) instead of opening anything.
pub fn url_catcher() -> (
    impl Fn(&str) -> Result<(), String> + Send + Sync + 'static,
    tokio::sync::oneshot::Receiver<String>,
) {
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let tx = std::sync::Arc::new(std::sync::Mutex::new(Some(tx)));
    let opener = move |url: &str| {
        if let Some(tx) = tx.lock().unwrap().take() {
            let _ = tx.send(url.to_owned());
        }
        Ok(())
    };
    (opener, rx)
}

/// Waits (15 s at most) for the identity provider's consent button
/// `continue-{index}`, checks it names `who`, and clicks it.
pub async fn consent_as(c: &fantoccini::Client, index: usize, who: &str) {
    let button = c
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(fantoccini::Locator::Id(&format!("continue-{index}")))
        .await
        .unwrap();
    assert_eq!(button.text().await.unwrap(), format!("Continue as {who}"));
    button.click().await.unwrap();
}

/// Waits (15 s at most) for the page that ends a login and returns its
/// `#status` element once it carries `data-status`.
pub async fn login_status(c: &fantoccini::Client) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(15))
        .for_element(fantoccini::Locator::Css("#status[data-status]"))
        .await
        .unwrap()
}
