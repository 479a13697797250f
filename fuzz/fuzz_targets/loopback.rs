//! The SDK's social-login loopback listener: what it decides on the bytes of
//! one request head (`judge`), fed as they could arrive on a socket.
//!
//! Input: byte 0 picks the parameter (`challenge` or `state`); the rest is
//! what a local process sends. The login waits on port 4321 for the value
//! `V4lue-0f-the-login`.
#![no_main]

use cloudmine::fuzzing::{Head, LOOPBACK_MAX_HEAD, loopback};
use libfuzzer_sys::fuzz_target;

const PORT: u16 = 4321;
const VALUE: &str = "V4lue-0f-the-login";

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    let state = first & 1 == 1;
    let whole = loopback(bytes, PORT, state, VALUE);
    // A callback needs the value itself, on a GET.
    if whole == Head::Callback {
        assert!(
            contains(bytes, VALUE.as_bytes()),
            "callback without the value"
        );
        assert!(bytes.starts_with(b"GET "), "callback that is not a GET");
    }
    // Nothing past the head cap is still "read on".
    if bytes.len() > LOOPBACK_MAX_HEAD + 1 {
        assert_ne!(whole, Head::Incomplete, "over the cap and still reading");
    }
    // The same bytes arriving in pieces: every prefix is judged (as the
    // listener does while reading), and a refusal is never a callback.
    for cut in [1, 7, 64, 512, 2100, 8192] {
        if cut < bytes.len() {
            let part = loopback(&bytes[..cut], PORT, state, VALUE);
            if part == Head::Callback {
                assert!(contains(&bytes[..cut], VALUE.as_bytes()));
            }
        }
    }
});
