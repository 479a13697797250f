//! Passwords: the length rule and argon2 hashing, shared by the CloudMine
//! users API and the BaasBox front end.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::http::StatusCode;

use crate::fail::Fail;

/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;

pub(crate) fn check_password(password: &str) -> Result<(), Fail> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(Fail::bad(format!(
            "the password must be at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    if password.len() > 1024 {
        return Err(Fail::bad("the password must be at most 1024 bytes"));
    }
    Ok(())
}

pub(crate) fn hash_password(password: &str) -> Result<String, Fail> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| Fail::new(StatusCode::INTERNAL_SERVER_ERROR, "password hashing failed"))
}

pub(crate) fn verify_password(password: &str, hash: Option<&str>) -> bool {
    hash.and_then(|h| PasswordHash::new(h).ok())
        .is_some_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = hash_password("correct horse").unwrap();
        let b = hash_password("correct horse").unwrap();
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$"));
        assert!(!a.contains("correct horse"));
        assert!(verify_password("correct horse", Some(&a)));
        assert!(!verify_password("wrong horse", Some(&a)));
        assert!(!verify_password("correct horse", None));
        assert!(check_password("short").is_err());
        assert!(check_password("long enough").is_ok());
    }
}
