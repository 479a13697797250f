//! The SDK's decoding of every CloudMine answer: the body parsed, the
//! envelope read into success/meta/result/count/per-key errors, the events
//! fired, the awaited value made. Any body, any status.
//!
//! Input: byte 0 chooses the processor (bit 0: the account endpoints'
//! `Basic`, else the `Text` envelope) and bit 1 a snippet call; bytes 1–2
//! the status (100 + big-endian value mod 900); the rest is the body.
#![no_main]

use cloudmine::fuzzing::envelope;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [flags, hi, lo, body @ ..] = data else {
        return;
    };
    let status = 100 + u16::from_be_bytes([*hi, *lo]) % 900;
    let decoded = envelope(status, body, flags & 1 == 1, flags & 2 == 2);
    // `complete` fires exactly once, last.
    assert_eq!(decoded.events.last().map(String::as_str), Some("complete"));
    let completes = decoded.events.iter().filter(|e| *e == "complete").count();
    assert_eq!(completes, 1, "{:?}", decoded.events);
    match decoded.result {
        Ok(response) => {
            assert!((200..300).contains(&status), "{status} succeeded");
            assert_eq!(response.status(), status);
            let _ = response.require_all().map_err(|e| e.to_string());
        }
        Err(error) => {
            if !(200..300).contains(&status) {
                assert_eq!(error.status(), Some(status));
            }
            let _ = (error.to_string(), format!("{error:?}"));
        }
    }
});
