//! The default opener (`SystemBrowser`, the `webbrowser` crate) with
//! `$BROWSER` pointing at a script that runs headless Chromium against an
//! auto-consent emulator. Its own test binary: it sets `$BROWSER`.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use cloudmine::SocialNetwork;
use support::browser::{CHROMIUM_FLAGS, chromium_and_driver};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_browser_through_browser_env() {
    let Some((chromium, _)) = chromium_and_driver() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("browser.sh");
    let log = dir.path().join("browser.log");
    // Chromium loads the URL, follows the redirects to the listener, prints
    // the DOM and exits; the script returns at once, as a GUI browser would.
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprofile=$(mktemp -d)\n\"{}\" {} --user-data-dir=\"$profile\" --dump-dom \"$1\" > \"{}\" 2>&1 &\n",
            chromium.display(),
            CHROMIUM_FLAGS.join(" "),
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    // SAFETY: this test binary has this one test; nothing else reads the
    // environment concurrently.
    unsafe { std::env::set_var("BROWSER", &script) };

    let emu = auto_emulator().await;
    let login = client(&emu)
        .login_social(SocialNetwork::Google)
        .timeout(Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| {
            let out = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("login failed: {e}\nbrowser output:\n{out}")
        });
    assert_eq!(login.profile().services(), ["google"]);
}
