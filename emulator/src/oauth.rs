//! The built-in identity provider's codes and tokens in flight (memory
//! only: they live minutes). The HTTP side is `provider.rs`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::crypto::random_hex;
use crate::model::Identity;

const CODE_TTL: Duration = Duration::from_secs(300);
/// How long an access token of the built-in provider lasts.
pub(crate) const TOKEN_TTL: Duration = Duration::from_secs(3600);

struct Grant {
    client_id: String,
    redirect_uri: String,
    identity: Identity,
    code_challenge: Option<String>,
    expires: Instant,
}

/// Codes and tokens in flight.
#[derive(Default)]
pub(crate) struct ProviderState {
    codes: Mutex<HashMap<String, Grant>>,
    tokens: Mutex<HashMap<String, (Identity, Instant)>>,
}

impl ProviderState {
    /// Issues a single-use authorization code.
    pub(crate) fn issue_code(
        &self,
        client_id: &str,
        redirect_uri: &str,
        identity: Identity,
        code_challenge: Option<String>,
    ) -> String {
        let code = random_hex(24);
        let mut codes = self.codes.lock().unwrap_or_else(|p| p.into_inner());
        codes.retain(|_, g| g.expires > Instant::now());
        codes.insert(
            code.clone(),
            Grant {
                client_id: client_id.to_owned(),
                redirect_uri: redirect_uri.to_owned(),
                identity,
                code_challenge,
                expires: Instant::now() + CODE_TTL,
            },
        );
        code
    }

    /// Redeems a code (once). `Err` is the OAuth error code.
    pub(crate) fn redeem(
        &self,
        code: &str,
        redirect_uri: &str,
        client_id: &str,
        verifier: Option<&str>,
    ) -> Result<Identity, &'static str> {
        let grant = self
            .codes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(code)
            .ok_or("invalid_grant")?;
        if grant.expires <= Instant::now()
            || grant.redirect_uri != redirect_uri
            || grant.client_id != client_id
        {
            return Err("invalid_grant");
        }
        if let Some(challenge) = &grant.code_challenge {
            let expected = verifier.map(|v| URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())));
            if expected.as_deref() != Some(challenge.as_str()) {
                return Err("invalid_grant");
            }
        }
        Ok(grant.identity)
    }

    pub(crate) fn token_for(&self, identity: Identity) -> String {
        let token = random_hex(32);
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        tokens.retain(|_, (_, exp)| *exp > Instant::now());
        tokens.insert(token.clone(), (identity, Instant::now() + TOKEN_TTL));
        token
    }

    pub(crate) fn identity_for_token(&self, token: &str) -> Option<Identity> {
        let tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        tokens
            .get(token)
            .filter(|(_, exp)| *exp > Instant::now())
            .map(|(i, _)| i.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_single_use_and_bound() {
        let state = ProviderState::default();
        let id = Identity::new("github", "Ada", "ada@example.com");
        assert_eq!(id.id.len(), 16);
        let code = state.issue_code("app", "http://h/cb", id.clone(), None);
        assert_eq!(
            state.redeem(&code, "http://other/cb", "app", None),
            Err("invalid_grant")
        );
        let code = state.issue_code("app", "http://h/cb", id.clone(), None);
        assert_eq!(
            state.redeem(&code, "http://h/cb", "app", None),
            Ok(id.clone())
        );
        assert_eq!(
            state.redeem(&code, "http://h/cb", "app", None),
            Err("invalid_grant")
        );
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let code = state.issue_code(
            "app",
            "http://h/cb",
            id.clone(),
            Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        );
        assert_eq!(
            state.redeem(&code, "http://h/cb", "app", Some("wrong")),
            Err("invalid_grant")
        );
        let code = state.issue_code(
            "app",
            "http://h/cb",
            id.clone(),
            Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        );
        assert_eq!(
            state.redeem(&code, "http://h/cb", "app", Some(verifier)),
            Ok(id)
        );
    }
}
