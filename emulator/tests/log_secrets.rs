//! Request log lines, captured: no secret in them. Alone in its test
//! binary: `tracing` caches per-callsite interest globally, so a test
//! running at the same time without the capturing subscriber could hide
//! the lines.

use reqwest::Method;

mod support;
use support::App;
use support::log::capture;

const APP: App = App("app", "key");

/// Request paths are logged; a reset token or a social-login challenge in
/// one must not be (the token resets a password, the challenge collects a
/// session).
#[tokio::test(flavor = "current_thread")]
async fn secrets_in_paths_stay_out_of_the_log() {
    let (log, _guard) = capture();
    let emu = support::builder().app(APP.0, APP.1).start().await.unwrap();
    let token = "S3cretResetTokenS3cretResetToken";
    let challenge = "C".repeat(64);
    for path in [
        format!("account/password/reset/{token}"),
        format!("account/password/%72eset/{token}"),
        format!("account/social/login/status/{challenge}"),
    ] {
        let method = if path.contains("reset") {
            Method::POST
        } else {
            Method::GET
        };
        let r = APP.request(&emu, method, &path).send().await.unwrap();
        assert!(r.status().is_client_error(), "{path}");
    }
    emu.shutdown().await.unwrap();
    let text = log.text();
    assert!(text.contains("[redacted]"), "{text}");
    for secret in [token, challenge.as_str(), APP.1] {
        assert!(!text.contains(secret), "{secret} logged:\n{text}");
    }
}
