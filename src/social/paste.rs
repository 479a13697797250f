//! Paste-back ([`SocialLoginCall::paste_back`](super::SocialLoginCall::paste_back)):
//! the code the server's last page shows, read from the app's input and
//! checked like a loopback callback (it must name this login's challenge;
//! the status call then needs the PKCE verifier).

use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

use crate::{Error, Result};

/// The longest line a paste may be (a code is 43 characters).
pub const MAX_PASTE_BYTES: usize = 4096;

/// Where the pasted code is read from: one line.
pub(crate) type PasteReader = Box<dyn AsyncBufRead + Unpin + Send>;

/// The reader, taken out once by the login (a `Mutex` so the settings stay
/// `Sync`).
#[derive(Default)]
pub(crate) struct PasteSource(Mutex<Option<PasteReader>>);

impl PasteSource {
    pub(crate) fn new(reader: PasteReader) -> Self {
        PasteSource(Mutex::new(Some(reader)))
    }

    pub(crate) fn is_set(&self) -> bool {
        self.0.lock().is_ok_and(|r| r.is_some())
    }

    pub(crate) fn take(&self) -> Option<PasteReader> {
        self.0.lock().ok().and_then(|mut r| r.take())
    }
}

fn refused(code: &str, description: &str) -> Error {
    Error::Login {
        code: code.into(),
        description: description.into(),
    }
}

/// Reads one line (at most [`MAX_PASTE_BYTES`], within `timeout`) and
/// checks it names `challenge`. `Ok(false)` only for a timeout.
pub(crate) async fn read_code(
    reader: &mut PasteReader,
    challenge: &str,
    timeout: Duration,
) -> Result<bool> {
    let mut line = Vec::new();
    let limit = u64::try_from(MAX_PASTE_BYTES + 1).unwrap_or(u64::MAX);
    let mut bounded = reader.take(limit);
    let read = tokio::time::timeout(timeout, bounded.read_until(b'\n', &mut line)).await;
    let n = match read {
        Err(_) => return Ok(false),
        Ok(Err(e)) => {
            return Err(refused(
                "paste_unreadable",
                &format!("the pasted code could not be read: {e}"),
            ));
        }
        Ok(Ok(n)) => n,
    };
    if n == 0 {
        return Err(refused(
            "paste_invalid",
            "the input ended before a code was pasted",
        ));
    }
    if line.len() > MAX_PASTE_BYTES {
        return Err(refused(
            "paste_too_long",
            &format!("the pasted text is longer than {MAX_PASTE_BYTES} bytes: paste only the code"),
        ));
    }
    check(&line, challenge)?;
    Ok(true)
}

/// The status call after a paste: an unknown login (404) is a stale or
/// replayed paste.
pub(crate) fn stale(e: Error) -> Error {
    if e.is_not_found() {
        refused(
            "paste_stale",
            "the pasted code's sign-in expired or was already used: sign in again",
        )
    } else {
        e
    }
}

/// The pasted bytes, trimmed, must be a code, and this login's.
fn check(line: &[u8], challenge: &str) -> Result<()> {
    let text = std::str::from_utf8(line).map_err(|_| {
        refused(
            "paste_invalid",
            "the pasted text is not a code from the sign-in page",
        )
    })?;
    let code = text.trim();
    let well_formed = (32..=128).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(refused(
            "paste_invalid",
            "the pasted text is not a code from the sign-in page",
        ));
    }
    if !super::pkce::constant_time_eq(code, challenge) {
        return Err(refused(
            "paste_foreign",
            "the pasted code belongs to another sign-in: paste the code of this one",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_checked() {
        let c = "A".repeat(43);
        assert!(check(format!("  {c}\r\n").as_bytes(), &c).is_ok());
        let e = check("B".repeat(43).as_bytes(), &c).unwrap_err();
        assert!(e.to_string().contains("another sign-in"), "{e}");
        for bad in [
            &b"hello"[..],
            &[0xff, 0xfe][..],
            "<script>".repeat(9).as_bytes(),
        ] {
            assert!(check(bad, &c).is_err());
        }
    }
}
