//! When `SystemBrowser` tries a browser (issue 16 item 3): refused at once
//! on a Linux box with no display, no `$BROWSER` and no WSL; a fake
//! `$BROWSER` is still launched with no display. The decision table itself
//! is unit-tested in `src/social/wsl.rs`. Its own test binary: it changes
//! the environment, in one test so nothing reads it concurrently.
#![cfg(target_os = "linux")]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use cloudmine::{BrowserOpener, SystemBrowser};

const URL: &str = "http://127.0.0.1:9/v1/app/a/account/social/login?apikey=SECRETKEY";

fn env(name: &str, value: Option<&Path>) {
    // SAFETY: this binary has this one test; nothing else reads the
    // environment concurrently.
    unsafe {
        match value {
            Some(v) => std::env::set_var(name, v),
            None => std::env::remove_var(name),
        }
    }
}

/// Waits (up to 20 s) for the script's record.
fn wait_for(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with("END\n")
        {
            return text;
        }
        assert!(Instant::now() < deadline, "the browser script never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn is_wsl_here() -> bool {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    kernel.to_ascii_lowercase().contains("microsoft") || kernel.contains("WSL")
}

#[test]
fn headless_is_refused_and_a_fake_browser_still_opens() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "BROWSER",
        "DISPLAY",
        "WAYLAND_DISPLAY",
        "WSL_DISTRO_NAME",
        "WSL_INTEROP",
    ] {
        env(name, None);
    }
    env("CLOUDMINE_LOGIN_PAGE_DIR", Some(dir.path()));

    // No display, no $BROWSER, not WSL: refused at once, saying why.
    if is_wsl_here() {
        eprintln!("SKIPPED the headless refusal: this machine is WSL");
    } else {
        let e = SystemBrowser.open(URL).unwrap_err();
        assert!(e.contains("no display and no $BROWSER"), "{e}");
        assert!(!e.contains("SECRETKEY"), "{e}");
    }

    // Still no display, but a $BROWSER: launched, with a page path.
    let script = dir.path().join("browser.sh");
    let log = dir.path().join("browser.log");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf 'arg %s\\n' \"$1\" >> \"{log}\"\necho END >> \"{log}\"\n",
            log = log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    env("BROWSER", Some(&script));
    SystemBrowser
        .open(URL)
        .expect("the fake browser is launched");
    let record = wait_for(&log);
    assert!(record.starts_with("arg file://"), "{record}");
    assert!(
        !record.contains("SECRETKEY"),
        "the URL is not on its command line"
    );
}
