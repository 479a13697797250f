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

/// An id for one answer (`x-request-id`): 32 hex digits, a random prefix
/// drawn once per process then a counter, unique without a call to the OS
/// generator per answer (the id is a label, not a secret).
pub(crate) fn request_id() -> String {
    static PREFIX: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| {
        let mut buf = [0u8; 8];
        // Without the OS generator the ids stay unique within the process.
        let _ = getrandom::fill(&mut buf);
        u64::from_le_bytes(buf)
    });
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix:016x}{n:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_32_hex_digits_and_never_repeat() {
        let ids: Vec<String> = (0..1000).map(|_| request_id()).collect();
        assert!(
            ids.iter()
                .all(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        );
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        assert_eq!(ids[0][..16], ids[999][..16], "one prefix per process");
    }
}
