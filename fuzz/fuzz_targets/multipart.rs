//! The emulator's multipart reader (`POST binary` with a multipart
//! `Content-Type`): the boundary from the header value, then the body. The
//! same body read in one piece and in the input's pieces gives the same
//! answer.
//!
//! Input: byte 0 is the piece size (1 + value * 5 bytes); then the
//! `Content-Type` value up to the first `\n`; the rest is the body.
#![no_main]

use std::sync::LazyLock;

use cloudmine_emulator::fuzzing::{MULTIPART_LIMIT, multipart};
use libfuzzer_sys::fuzz_target;

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime")
});

/// What `HeaderValue::to_str` accepts: visible ASCII, space and tab.
fn header_text(bytes: &[u8]) -> Option<&str> {
    bytes
        .iter()
        .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
        .then(|| std::str::from_utf8(bytes).ok())
        .flatten()
}

fuzz_target!(|data: &[u8]| {
    let [piece, rest @ ..] = data else {
        return;
    };
    let (line, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => return,
    };
    let Some(content_type) = header_text(line) else {
        return;
    };
    let piece = 1 + usize::from(*piece) * 5;
    let whole = RUNTIME.block_on(multipart(content_type, body.to_vec(), body.len()));
    let pieces = RUNTIME.block_on(multipart(content_type, body.to_vec(), piece));
    match (&whole, &pieces) {
        (Ok(a), Ok(b)) => {
            assert!(a.bytes.len() as u64 <= MULTIPART_LIMIT);
            assert_eq!(
                (&a.content_type, &a.filename, &a.bytes),
                (&b.content_type, &b.filename, &b.bytes)
            );
        }
        (Err(_), Err(_)) => {}
        _ => panic!("pieces of {piece} changed the answer: {whole:?} vs {pieces:?}"),
    }
});
