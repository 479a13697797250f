//! The default opener (`SystemBrowser`, the `webbrowser` crate) with
//! `$BROWSER` pointing at a script that runs headless Chromium against an
//! auto-consent emulator. Its own test binary: it sets `$BROWSER`.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use cloudmine::SocialNetwork;
use support::browser::{CHROMIUM_FLAGS, which};
use support::*;

/// True when CI runs the tests: `CI` set to anything but empty, `false` or `0`.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "false" | "0"))
}

/// The page the browser ended on, as Chromium's `--dump-dom` printed it once
/// it exited (polled for up to 30 s: the script returned before Chromium did).
async fn dumped_page(dom: &std::path::Path, log: &std::path::Path) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let page = std::fs::read_to_string(dom).unwrap_or_default();
        if page.contains("</html>") {
            return page;
        }
        if std::time::Instant::now() > deadline {
            let out = std::fs::read_to_string(log).unwrap_or_default();
            panic!("no page dumped within 30 s: {page:?}\nbrowser output:\n{out}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_browser_through_browser_env() {
    let Some(chromium) = which("chromium").or_else(|| which("chromium-browser")) else {
        assert!(!in_ci(), "CI is set but chromium is not installed");
        // Written to the process's stderr, past the test harness's capture,
        // so the skip shows in a passing run.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: system_browser_through_browser_env: chromium is not installed"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("browser.sh");
    let log = dir.path().join("browser.log");
    let dom = dir.path().join("page.html");
    // Chromium loads the URL, follows the redirects to the listener, prints
    // the DOM of the page it ends on and exits; the script returns at once,
    // as a GUI browser would. The DOM goes to its own file, written whole
    // when Chromium exits.
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprofile=$(mktemp -d)\n(\"{}\" {} --user-data-dir=\"$profile\" --dump-dom \"$1\" > \"{dom}.tmp\" 2> \"{}\"; mv \"{dom}.tmp\" \"{dom}\") &\n",
            chromium.display(),
            CHROMIUM_FLAGS.join(" "),
            log.display(),
            dom = dom.display(),
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
    // The browser really fetched the listener's success page, naming who
    // signed in.
    let page = dumped_page(&dom, &log).await;
    assert!(page.contains("<title>Signed in</title>"), "{page}");
    assert!(page.contains(r#"data-status="success""#), "{page}");
    assert!(
        page.contains("Signed in as Ada Lovelace &lt;ada@example.com&gt;."),
        "{page}"
    );
}
