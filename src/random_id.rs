//! Random identifiers (object keys, the client's `user_token`): 32
//! lower-case hex characters, the form of a version-4 UUID without dashes.
//! Not secrets. Read from the OS's random source; if that ever fails, from
//! the standard library's randomly keyed hasher rather than a panic.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// A new random id: 128 bits with the UUID v4 version and variant bits set,
/// as 32 lower-case hex characters.
pub(crate) fn new_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        bytes = fallback_bytes();
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 16 bytes from two randomly keyed hashes of a counter.
fn fallback_bytes() -> [u8; 16] {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut out = [0u8; 16];
    for half in out.chunks_mut(8) {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        half.copy_from_slice(&hasher.finish().to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v4_shaped_hex_and_differ() {
        let a = new_id();
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
            "{a}"
        );
        assert_eq!(&a[12..13], "4", "version nibble: {a}");
        assert!(matches!(&a[16..17], "8" | "9" | "a" | "b"), "variant: {a}");
        assert_ne!(a, new_id());
        assert_ne!(fallback_bytes(), fallback_bytes());
    }
}
