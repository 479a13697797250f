//! Hashing, constant-time comparison and randomness: the small helpers every
//! other module uses. Imports nothing from the crate.

use sha2::{Digest, Sha256};

/// Compares two secrets in time that depends only on their lengths.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The SHA-256 of a text, as lowercase hex.
pub(crate) fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// `bytes` random bytes as hex, or the OS generator's error as text.
pub(crate) fn try_random_hex(bytes: usize) -> Result<String, String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| format!("the OS random generator failed: {e}"))?;
    Ok(hex::encode(buf))
}

/// `bytes` random bytes as hex. Never a predictable value: when the OS
/// generator fails this is empty, which fails every check it is used in.
pub(crate) fn random_hex(bytes: usize) -> String {
    try_random_hex(bytes).unwrap_or_default()
}

/// An id for one answer (`x-request-id`).
pub(crate) fn request_id() -> String {
    try_random_hex(16).unwrap_or_else(|_| "0".repeat(32))
}
