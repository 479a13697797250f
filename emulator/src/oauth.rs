//! The built-in identity provider's codes and tokens in flight, kept in the
//! database ([`InFlight`](crate::store::InFlight)) by their SHA-256, so a
//! code issued by one instance is redeemed by any other serving the same
//! database. The HTTP side is `provider.rs`.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::crypto::{constant_time_eq, sha256_hex, try_random_hex};
use crate::model::Identity;
use crate::store::{Grant, Store, StoreError, StoreResult, now_ms};

const CODE_TTL: Duration = Duration::from_secs(300);
/// How long an access token of the built-in provider lasts.
pub(crate) const TOKEN_TTL: Duration = Duration::from_secs(3600);
/// The most codes kept at once (the oldest go first).
const MAX_CODES: usize = 10_000;
/// The most access tokens kept at once (the oldest go first).
const MAX_TOKENS: usize = 100_000;

fn expiry(ttl: Duration) -> i64 {
    now_ms().saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
}

fn random(bytes: usize) -> StoreResult<String> {
    try_random_hex(bytes).map_err(StoreError::Invalid)
}

/// Issues a single-use authorization code.
pub(crate) async fn issue_code(
    store: &dyn Store,
    client_id: &str,
    redirect_uri: &str,
    identity: Identity,
    code_challenge: Option<String>,
) -> StoreResult<String> {
    let code = random(24)?;
    let grant = Grant {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        identity,
        code_challenge,
    };
    store
        .grant_issue(&sha256_hex(&code), &grant, expiry(CODE_TTL), MAX_CODES)
        .await?;
    Ok(code)
}

/// Redeems a code (once). `Err` is the OAuth error code.
pub(crate) async fn redeem(
    store: &dyn Store,
    code: &str,
    redirect_uri: &str,
    client_id: &str,
    verifier: Option<&str>,
) -> Result<Identity, &'static str> {
    let grant = match store.grant_take(&sha256_hex(code), now_ms()).await {
        Ok(Some(grant)) => grant,
        Ok(None) => return Err("invalid_grant"),
        Err(e) => {
            tracing::error!(error = %e, "provider code storage error");
            return Err("server_error");
        }
    };
    if grant.redirect_uri != redirect_uri || grant.client_id != client_id {
        return Err("invalid_grant");
    }
    if let Some(challenge) = &grant.code_challenge {
        let expected = verifier.map(|v| URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())));
        if !expected.is_some_and(|e| constant_time_eq(e.as_bytes(), challenge.as_bytes())) {
            return Err("invalid_grant");
        }
    }
    Ok(grant.identity)
}

/// Issues an access token for `identity`.
pub(crate) async fn token_for(store: &dyn Store, identity: &Identity) -> StoreResult<String> {
    let token = random(32)?;
    store
        .idp_token_issue(&sha256_hex(&token), identity, expiry(TOKEN_TTL), MAX_TOKENS)
        .await?;
    Ok(token)
}

/// The identity of a live access token; `None` when it is unknown, expired,
/// or the database failed (logged).
pub(crate) async fn identity_for_token(store: &dyn Store, token: &str) -> Option<Identity> {
    match store.idp_token_identity(&sha256_hex(token), now_ms()).await {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error = %e, "provider token storage error");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    #[tokio::test]
    async fn codes_are_single_use_and_bound() {
        let dir = tempfile::tempdir().unwrap();
        let state = SqliteStore::open(":memory:".as_ref(), dir.path())
            .await
            .unwrap();
        let id = Identity::new("github", "Ada", "ada@example.com");
        assert_eq!(id.id.len(), 16);
        let issue = |challenge: Option<&str>| {
            issue_code(
                &state,
                "app",
                "http://h/cb",
                id.clone(),
                challenge.map(str::to_owned),
            )
        };
        let code = issue(None).await.unwrap();
        let other = redeem(&state, &code, "http://other/cb", "app", None).await;
        assert_eq!(other, Err("invalid_grant"));
        let code = issue(None).await.unwrap();
        let ok = redeem(&state, &code, "http://h/cb", "app", None).await;
        assert_eq!(ok, Ok(id.clone()));
        let again = redeem(&state, &code, "http://h/cb", "app", None).await;
        assert_eq!(again, Err("invalid_grant"));
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        let code = issue(Some(challenge)).await.unwrap();
        let wrong = redeem(&state, &code, "http://h/cb", "app", Some("wrong")).await;
        assert_eq!(wrong, Err("invalid_grant"));
        let code = issue(Some(challenge)).await.unwrap();
        let right = redeem(&state, &code, "http://h/cb", "app", Some(verifier)).await;
        assert_eq!(right, Ok(id.clone()));
        let token = token_for(&state, &id).await.unwrap();
        assert_eq!(identity_for_token(&state, &token).await, Some(id));
        assert_eq!(identity_for_token(&state, "nope").await, None);
    }
}
