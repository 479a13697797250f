//! The one rule for tests that need something this machine may not have
//! (Chromium, a Secret Service, node, jQuery, PostgreSQL): on CI a missing
//! dependency fails the test; elsewhere the test skips, visibly.
//!
//! CI is `$CI` set to any value except empty, `false` or `0` (any case).
//! A skip prints `SKIPPED: <test>: <reason>` straight to the process's
//! stderr, past the test harness's capture, so it shows in the run's output
//! even though the test is reported as passed.

use std::io::Write as _;

/// Whether a value of `$CI` (`None`: unset) means the tests run on CI.
pub fn is_ci_value(value: Option<&str>) -> bool {
    match value.map(str::trim) {
        None | Some("") | Some("0") => false,
        Some(v) => !v.eq_ignore_ascii_case("false"),
    }
}

/// Whether the tests run on CI (see [`is_ci_value`]).
pub fn in_ci() -> bool {
    is_ci_value(std::env::var("CI").ok().as_deref())
}

/// The running test's name (libtest names each test's thread after it).
pub fn current_test() -> String {
    std::thread::current().name().unwrap_or("a test").to_owned()
}

/// Prints `SKIPPED: <test>: <reason>` to stderr, uncaptured.
pub fn print(reason: &str) {
    let line = format!("SKIPPED: {}: {reason}\n", current_test());
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// A dependency is missing: fails the test on CI, else prints the skip.
/// The caller returns right after it.
pub fn skip_or_fail(reason: &str) {
    assert!(
        !in_ci(),
        "CI is set, so this cannot be skipped: {} ({reason})",
        current_test()
    );
    print(reason);
}
