//! The social-login broker (PROTOCOL.md §4–5): start, provider callback,
//! the "complete" page, and the one-time status call.
//!
//! Pending logins (at most ten minutes), users, linked identities and
//! sessions are all in SQLite.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::crypto::{constant_time_eq, random_hex, sha256_hex};
use crate::device;
use crate::extract::{Caller, KnownApp, PathParams, QueryPairs, header};
use crate::fail::Fail;
use crate::pages;
use crate::provider::{self, broker_callback, is_loopback_redirect, with_query};
use crate::state::AppState;
use crate::store::{LoginOutcome, NewLogin, PendingLogin, SocialUser, StoreError, now_ms};
use crate::upstream;

/// How long a social login waits for the provider (device logins use the
/// same ten minutes); the dashboard derives a login's start from it.
pub(crate) const LOGIN_TTL_MS: i64 = 10 * 60 * 1000;
const SESSION_TTL_MS: i64 = 14 * 24 * 3600 * 1000;

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn valid_challenge(c: &str) -> bool {
    (32..=128).contains(&c.len())
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A storage failure, as the browser's error page.
fn storage_page(e: StoreError) -> Response {
    pages::storage_failed("social login", e)
}

/// `GET account/social/login`: checks everything, then sends the browser to
/// the provider.
pub(crate) async fn start(
    State(state): State<Arc<AppState>>,
    app: KnownApp,
    QueryPairs(query): QueryPairs,
    headers: HeaderMap,
) -> Response {
    begin(&state, &app, &query, &headers)
        .await
        .unwrap_or_else(|page| page)
}

async fn begin(
    shared: &AppState,
    app: &KnownApp,
    query: &[(String, String)],
    headers: &HeaderMap,
) -> Result<Response, Response> {
    let header_key = header(headers, "x-cloudmine-apikey");
    let given = param(query, "apikey")
        .or(header_key.as_deref())
        .unwrap_or("");
    if !constant_time_eq(given.as_bytes(), app.api_key.as_bytes()) {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "Invalid or missing API key.",
        ));
    }
    let app_id = app.app_id.as_str();
    let Some(network) = param(query, "service").map(str::to_ascii_lowercase) else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "The service parameter (the network) is missing.",
        ));
    };
    if let Some(enabled) = shared.social.networks.get(app_id)
        && !enabled.contains(&network)
    {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            &format!("The network {network} is not enabled for this app."),
        ));
    }
    if !shared.social.providers.contains_key(&network) && !shared.social.test_idp {
        return Err(refuse(StatusCode::BAD_REQUEST, &no_provider(&network)));
    }
    let Some(challenge) = param(query, "challenge").filter(|c| valid_challenge(c)) else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "The challenge must be 32 to 128 characters of letters, digits, '-' and '_'.",
        ));
    };
    let device = device::requested(query).map_err(|why| refuse(StatusCode::BAD_REQUEST, why))?;
    let (redirect_uri, code_challenge) = if let Some(d) = &device {
        (None, Some(d.code_challenge.clone()))
    } else if shared.social.redirect_support {
        loopback_options(query).map_err(|why| refuse(StatusCode::BAD_REQUEST, why))?
    } else {
        (None, None)
    };
    let link_user = user_to_link(shared, app_id, query).await?;
    let state = random_hex(16);
    if state.is_empty() {
        return Err(refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The OS random generator failed.",
        ));
    }
    let login = NewLogin {
        challenge: challenge.to_owned(),
        app_id: app_id.to_owned(),
        network: network.clone(),
        redirect_uri,
        code_challenge,
        link_user,
        scope: param(query, "scope").map(str::to_owned),
        state: state.clone(),
        expires_ms: now_ms().saturating_add(LOGIN_TTL_MS),
    };
    let stored = device::insert_login(&*shared.store, device.as_ref(), &login);
    if !stored.await? {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "This challenge was already used.",
        ));
    }
    let scope = param(query, "scope").unwrap_or("");
    let onward = to_provider(shared, app_id, &network, &state, scope);
    Ok(device::onward(device.as_ref(), onward))
}

/// Why a network without a configured provider cannot log in.
fn no_provider(network: &str) -> String {
    format!(
        "No identity provider is configured for the network {network}. Configure one with \
         --provider-config, or start the emulator with --test-idp to use the built-in test \
         provider (it authenticates nobody: for tests only)."
    )
}

fn refuse(status: StatusCode, message: &str) -> Response {
    pages::error(status, message)
}

/// The loopback extension's `redirect_uri` and PKCE `code_challenge`,
/// checked; `Err` is why they are refused (a 400).
fn loopback_options(
    query: &[(String, String)],
) -> Result<(Option<String>, Option<String>), &'static str> {
    let redirect_uri = param(query, "redirect_uri");
    if let Some(uri) = redirect_uri
        && !is_loopback_redirect(uri)
    {
        return Err("redirect_uri must be an http URI on 127.0.0.1, [::1] or localhost.");
    }
    let code_challenge = param(query, "code_challenge");
    if let Some(cc) = code_challenge {
        if param(query, "code_challenge_method") != Some("S256") {
            return Err("code_challenge_method must be S256.");
        }
        if cc.len() != 43
            || !cc
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("code_challenge must be 43 base64url characters.");
        }
    }
    Ok((
        redirect_uri.map(str::to_owned),
        code_challenge.map(str::to_owned),
    ))
}

/// The user to link the identity to: the one of the `ticket` parameter (a
/// link ticket, redeemed here, once; what this emulator's SDK sends), or of
/// the `session_token` parameter (what CloudMine's JavaScript SDK sends).
async fn user_to_link(
    shared: &AppState,
    app_id: &str,
    query: &[(String, String)],
) -> Result<Option<String>, Response> {
    let (user, hash) = if let Some(ticket) = param(query, "ticket") {
        let redeemed = crate::tickets::redeem(&*shared.store, app_id, ticket).await;
        let Some(redeemed) = redeemed.map_err(|e| pages::storage_failed("link ticket", e))? else {
            return Err(refuse(
                StatusCode::UNAUTHORIZED,
                "The link ticket is invalid, expired or already used: ask for a new one.",
            ));
        };
        (Some(redeemed.user_id), redeemed.session_sha256)
    } else if let Some(token) = param(query, "session_token") {
        (None, sha256_hex(token))
    } else {
        return Ok(None);
    };
    // The session must still be live (a ticket outlives no logout).
    let live = shared
        .store
        .session_user(app_id, &hash)
        .await
        .map_err(storage_page)?;
    match live {
        Some(found) if user.as_ref().is_none_or(|u| *u == found) => Ok(Some(found)),
        _ => Err(refuse(
            StatusCode::UNAUTHORIZED,
            "The session to link to is invalid or expired.",
        )),
    }
}

/// The redirect to the network's authorize page (a configured real
/// provider's, or the built-in one's).
fn to_provider(
    shared: &AppState,
    app_id: &str,
    network: &str,
    state: &str,
    scope: &str,
) -> Response {
    let callback = broker_callback(&shared.base_url, app_id);
    let location = match shared.social.providers.get(network) {
        Some(p) => with_query(
            &p.authorize_url,
            &[
                ("response_type", "code"),
                ("client_id", &p.client_id),
                ("redirect_uri", &callback),
                ("state", state),
                ("scope", scope),
            ],
        ),
        None => with_query(
            &format!("{}/idp/{network}/authorize", shared.base_url),
            &[
                ("response_type", "code"),
                ("client_id", app_id),
                ("redirect_uri", &callback),
                ("state", state),
                ("scope", scope),
            ],
        ),
    };
    match location {
        Some(l) => pages::redirect(&l),
        None => refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The provider's authorize URL is not a URL.",
        ),
    }
}

/// `GET account/social/callback`: the provider sends the browser back here.
pub(crate) async fn callback(
    State(state): State<Arc<AppState>>,
    app: KnownApp,
    QueryPairs(query): QueryPairs,
) -> Response {
    called_back(&state, &app.app_id, &query)
        .await
        .unwrap_or_else(|page| page)
}

async fn called_back(
    shared: &AppState,
    app_id: &str,
    query: &[(String, String)],
) -> Result<Response, Response> {
    let Some(state) = param(query, "state").map(str::to_owned) else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "The state parameter is missing.",
        ));
    };
    // Ours are 32 hex digits: anything else was never stored.
    let ours = (1..=64).contains(&state.len()) && state.bytes().all(|b| b.is_ascii_hexdigit());
    let found = match ours {
        true => shared
            .store
            .login_by_state(&state)
            .await
            .map_err(storage_page)?,
        false => None,
    };
    let Some(login) = found else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "This sign-in is unknown or expired.",
        ));
    };
    if login.app_id != app_id || login.outcome != LoginOutcome::Pending {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "This sign-in is unknown or finished.",
        ));
    }
    let outcome = match (param(query, "error"), param(query, "code")) {
        (Some("access_denied"), _) => failed("access_denied", "the user denied access"),
        (Some(error), _) => failed("server_error", &format!("the provider answered {error}")),
        (None, Some(code)) => finish(shared, &login, code).await,
        (None, None) => failed(
            "server_error",
            "the provider sent neither a code nor an error",
        ),
    };
    if !settle(shared, &login, &outcome).await? {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "This sign-in is unknown or finished.",
        ));
    }
    if let Some(page) = device::landing(&*shared.store, app_id, &login.challenge, &outcome).await {
        return Ok(page);
    }
    Ok(back_to_client(shared, app_id, &login, &outcome))
}

/// Stores the outcome; false when another callback settled the login first
/// (the session this one made is then deleted: it is nobody's).
async fn settle(
    shared: &AppState,
    login: &PendingLogin,
    outcome: &LoginOutcome,
) -> Result<bool, Response> {
    let token_hash = match outcome {
        LoginOutcome::Finished { token, .. } => Some(sha256_hex(token)),
        _ => None,
    };
    let store = &shared.store;
    let stored = store
        .settle_login(&login.challenge, outcome, token_hash.as_deref())
        .await
        .map_err(storage_page)?;
    if !stored && let Some(hash) = &token_hash {
        store.delete_session(hash).await.map_err(storage_page)?;
    }
    Ok(stored)
}

/// The redirect that ends the browser's part: to the client's loopback
/// `redirect_uri`, or to the "login complete" page.
fn back_to_client(
    shared: &AppState,
    app_id: &str,
    login: &PendingLogin,
    outcome: &LoginOutcome,
) -> Response {
    let challenge = login.challenge.as_str();
    let location = match (outcome, &login.redirect_uri) {
        (LoginOutcome::Failed { error, description }, Some(uri)) => with_query(
            uri,
            &[
                ("challenge", challenge),
                ("error", error),
                ("error_description", description),
            ],
        ),
        (_, Some(uri)) => with_query(uri, &[("challenge", challenge)]),
        // No loopback client to tell: the browser shows the refusal.
        (LoginOutcome::Failed { error, description }, None) => {
            return refuse(failure_status(error), description);
        }
        (_, None) => Some(
            broker_callback(&shared.base_url, app_id)
                .replace("/account/social/callback", "/account/social/login/complete"),
        ),
    };
    match location {
        Some(l) => pages::redirect(&l),
        None => refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The redirect URI is not a URL.",
        ),
    }
}

/// The status of the page that shows a failed login: 409 when the
/// identity or its email belongs to another user.
fn failure_status(error: &str) -> StatusCode {
    match error {
        "identity_conflict" | "email_taken" => StatusCode::CONFLICT,
        "access_denied" => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_GATEWAY,
    }
}

fn failed(error: &str, description: &str) -> LoginOutcome {
    LoginOutcome::Failed {
        error: error.to_owned(),
        description: description.to_owned(),
    }
}

async fn finish(shared: &AppState, login: &PendingLogin, code: &str) -> LoginOutcome {
    let callback = broker_callback(&shared.base_url, &login.app_id);
    let identity = match shared.social.providers.get(&login.network) {
        Some(p) => upstream::exchange(p, &login.network, code, &callback).await,
        None if shared.social.test_idp => {
            provider::exchange_builtin(shared, code, &callback, &login.app_id)
                .await
                .map_err(str::to_owned)
        }
        None => Err(no_provider(&login.network)),
    };
    let (identity, access) = match identity {
        Ok(i) => i,
        Err(e) => {
            return failed(
                "server_error",
                &format!("the code exchange with the provider failed: {e}"),
            );
        }
    };
    let token = random_hex(32);
    if token.is_empty() {
        return failed("server_error", "the OS random generator failed");
    }
    let (app, link, hash) = (
        login.app_id.clone(),
        login.link_user.clone(),
        sha256_hex(&token),
    );
    let expires_ms = now_ms().saturating_add(SESSION_TTL_MS);
    let result = match shared
        .store
        .social_user(&app, &identity, link.as_deref())
        .await
    {
        Ok(SocialUser::Found(user_id)) => {
            let store = &shared.store;
            match store
                .put_provider_token(&app, &user_id, &login.network, &access)
                .await
            {
                Ok(()) => {
                    store
                        .create_session(&hash, &app, &user_id, expires_ms)
                        .await
                }
                Err(e) => Err(e),
            }
            .map(|()| SocialUser::Found(user_id))
        }
        other => other,
    };
    match result {
        Ok(SocialUser::Found(user_id)) => LoginOutcome::Finished {
            user_id,
            token,
            expires_ms,
        },
        Ok(SocialUser::Conflict) => failed(
            "identity_conflict",
            &format!(
                "this {} identity is already linked to another user",
                login.network
            ),
        ),
        Ok(SocialUser::EmailTaken) => failed(
            "email_taken",
            &format!(
                "another user already has the email of this {} identity: log in as that user \
                 and link {} to it instead",
                login.network, login.network
            ),
        ),
        Err(StoreError::Unstorable(why)) => failed("server_error", &why),
        Err(e) => {
            tracing::error!(error = %e, "social login: storing the user failed");
            failed("server_error", "the emulator's database failed")
        }
    }
}

/// `GET account/social/login/complete`.
pub(crate) async fn complete(_: KnownApp) -> Response {
    pages::login_complete()
}

/// `GET account/social/login/status/{challenge}` (API key already checked).
pub(crate) async fn status(
    caller: Caller,
    State(shared): State<Arc<AppState>>,
    path: PathParams,
    QueryPairs(query): QueryPairs,
) -> Response {
    let (app_id, challenge, query) = (caller.app_id.as_str(), path.get("challenge"), &query);
    let unknown =
        || Fail::new(StatusCode::NOT_FOUND, "unknown or expired login challenge").into_response();
    if !valid_challenge(challenge) {
        // Never stored: no lookup for it (whatever it holds).
        return unknown();
    }
    if let Some(refusal) = device::gate(&*shared.store, app_id, challenge, query).await {
        return refusal;
    }
    let (app, c) = (app_id.to_owned(), challenge.to_owned());
    let login = match shared.store.take_login(&app, &c).await {
        Ok(Some(login)) => login,
        Ok(None) => return unknown(),
        Err(e) => return Fail::storage("social login status", e).into_response(),
    };
    if login.outcome != LoginOutcome::Pending {
        device::forget(&*shared.store, Some(app_id), challenge).await;
    }
    match login.outcome {
        LoginOutcome::Pending => axum::Json(json!({ "finished": false })).into_response(),
        LoginOutcome::Failed { error, description } => axum::Json(
            json!({ "finished": false, "error": error, "error_description": description }),
        )
        .into_response(),
        LoginOutcome::Finished {
            user_id,
            token,
            expires_ms,
        } => {
            if let Some(cc) = &login.code_challenge {
                let given = param(query, "code_verifier")
                    .map(|v| URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())));
                let matches = given
                    .as_deref()
                    .is_some_and(|g| constant_time_eq(g.as_bytes(), cc.as_bytes()));
                if !matches {
                    let hash = sha256_hex(&token);
                    if let Err(e) = shared.store.delete_session(&hash).await {
                        return Fail::storage("social login status", e).into_response();
                    }
                    return Fail::new(StatusCode::UNAUTHORIZED, "invalid code_verifier")
                        .into_response();
                }
            }
            let (app, user) = (app_id.to_owned(), user_id);
            let profile = match shared.store.user_profile(&app, &user).await {
                Ok(Some(p)) => p,
                Ok(None) => {
                    return Fail::internal(&"a social login's user is gone").into_response();
                }
                Err(e) => return Fail::storage("social login status", e).into_response(),
            };
            let expires = SystemTime::UNIX_EPOCH
                + Duration::from_millis(u64::try_from(expires_ms).unwrap_or(0));
            axum::Json(json!({
                "finished": true,
                "session_token": token,
                "expires": httpdate::fmt_http_date(expires),
                "profile": profile,
            }))
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert!(valid_challenge(&"a".repeat(32)));
        assert!(valid_challenge(&"A-_9".repeat(11)));
        assert!(!valid_challenge(&"a".repeat(31)));
        assert!(!valid_challenge(&"a".repeat(129)));
        assert!(!valid_challenge(&format!("{}!", "a".repeat(32))));
    }
}
