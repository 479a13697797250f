//! Random values from the OS generator: login challenge and PKCE (RFC 7636).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// `n` bytes from the OS random generator.
fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| Error::Transport {
        method: String::new(),
        url: String::new(),
        message: format!("the OS random generator failed: {e}"),
        source: None,
    })?;
    Ok(bytes)
}

/// A login challenge: 256 random bits, base64url (43 characters).
pub(crate) fn challenge() -> Result<String> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// A PKCE code verifier (32 random bytes, base64url: 43 characters) and its
/// S256 code challenge.
pub(crate) fn verifier_and_challenge() -> Result<(String, String)> {
    let verifier = URL_SAFE_NO_PAD.encode(random_bytes::<32>()?);
    let challenge = s256(&verifier);
    Ok((verifier, challenge))
}

/// `BASE64URL(SHA256(verifier))`.
pub(crate) fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Equality that takes the same time wherever the inputs differ.
pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn values_are_fresh_and_sized() {
        let (v1, c1) = verifier_and_challenge().unwrap();
        let (v2, _) = verifier_and_challenge().unwrap();
        assert_eq!(v1.len(), 43);
        assert_eq!(c1.len(), 43);
        assert_ne!(v1, v2);
        assert_eq!(challenge().unwrap().len(), 43);
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}
