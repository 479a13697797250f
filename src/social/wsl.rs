//! Whether [`SystemBrowser`](crate::SystemBrowser) may try to launch a
//! browser: a Linux box with no display and no `$BROWSER` is refused at
//! once (the app shows the URL instead), but under WSL the `webbrowser`
//! crate opens the Windows browser without any display, so there it decides.

use std::io::Read;

/// What the environment allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Launch {
    /// A display, `$BROWSER`, or WSL: let the `webbrowser` crate try.
    Try,
    /// No display, no `$BROWSER`, not WSL: nothing could show a page.
    Headless,
}

/// The refusal's text when [`Launch::Headless`].
pub(crate) const HEADLESS: &str = "no display and no $BROWSER: open the URL yourself";

/// The variables any one of which says a browser can be shown.
const DISPLAY_VARS: [&str; 3] = ["BROWSER", "DISPLAY", "WAYLAND_DISPLAY"];
/// The variables WSL sets in its shells.
const WSL_VARS: [&str; 2] = ["WSL_DISTRO_NAME", "WSL_INTEROP"];
/// The most bytes read from a kernel description file.
const KERNEL_TEXT_MAX: u64 = 4096;

/// The decision, from which variables are set (non-empty) and the kernel's
/// description (`/proc/sys/kernel/osrelease` and `/proc/version`).
pub(crate) fn decide(is_set: impl Fn(&str) -> bool, kernel: &str) -> Launch {
    if DISPLAY_VARS.iter().any(|v| is_set(v)) || is_wsl(&is_set, kernel) {
        Launch::Try
    } else {
        Launch::Headless
    }
}

/// WSL 1 and 2 name Microsoft in their kernel release
/// (`…-microsoft-standard-WSL2`, `…-Microsoft`) and set `WSL_DISTRO_NAME` /
/// `WSL_INTEROP` in their shells.
pub(crate) fn is_wsl(is_set: impl Fn(&str) -> bool, kernel: &str) -> bool {
    let kernel = kernel.to_ascii_lowercase();
    WSL_VARS.iter().any(|v| is_set(v)) || kernel.contains("microsoft") || kernel.contains("wsl")
}

/// The decision for this process.
pub(crate) fn from_system() -> Launch {
    let is_set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    let kernel = ["/proc/sys/kernel/osrelease", "/proc/version"]
        .iter()
        .map(|path| read_bounded(path))
        .collect::<Vec<_>>()
        .join("\n");
    decide(is_set, &kernel)
}

/// A small system file's text, or nothing when it cannot be read.
fn read_bounded(path: &str) -> String {
    let mut text = String::new();
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.take(KERNEL_TEXT_MAX).read_to_string(&mut text);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINUX: &str =
        "6.1.0-18-amd64\nLinux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org)";
    const WSL2: &str = "5.15.153.1-microsoft-standard-WSL2";
    const WSL1: &str = "4.4.0-19041-Microsoft";

    fn with(vars: &'static [&'static str]) -> impl Fn(&str) -> bool {
        move |name| vars.contains(&name)
    }

    #[test]
    fn the_decision_table() {
        let table: &[(&[&str], &str, Launch)] = &[
            (&[], LINUX, Launch::Headless),
            (&[], "", Launch::Headless),
            (&["DISPLAY"], LINUX, Launch::Try),
            (&["WAYLAND_DISPLAY"], LINUX, Launch::Try),
            (&["BROWSER"], LINUX, Launch::Try),
            (&["BROWSER", "DISPLAY"], LINUX, Launch::Try),
            // WSL without WSLg: no display, the crate opens Windows' browser.
            (&[], WSL2, Launch::Try),
            (&[], WSL1, Launch::Try),
            (&["WSL_DISTRO_NAME"], LINUX, Launch::Try),
            (&["WSL_INTEROP"], "", Launch::Try),
            // WSLg: a display as well.
            (&["DISPLAY", "WAYLAND_DISPLAY"], WSL2, Launch::Try),
            // Variables that say nothing about a browser.
            (&["TERM", "SSH_CONNECTION", "HOME"], LINUX, Launch::Headless),
        ];
        for (vars, kernel, expected) in table {
            let is_set = |name: &str| vars.contains(&name);
            assert_eq!(decide(is_set, kernel), *expected, "{vars:?} on {kernel:?}");
        }
    }

    #[test]
    fn wsl_is_recognised_by_kernel_or_variables() {
        assert!(is_wsl(with(&[]), WSL2));
        assert!(is_wsl(with(&[]), WSL1));
        assert!(is_wsl(
            with(&[]),
            "Linux version 5.10.16.3-microsoft-standard-WSL2"
        ));
        assert!(is_wsl(with(&["WSL_DISTRO_NAME"]), LINUX));
        assert!(!is_wsl(with(&["DISPLAY"]), LINUX));
        assert!(!is_wsl(with(&[]), ""));
    }

    #[test]
    fn this_machine_is_decided_without_failing() {
        // Whatever it finds, reading the system never panics.
        let _ = from_system();
        assert!(read_bounded("/nonexistent/cloudmine").is_empty());
    }
}
