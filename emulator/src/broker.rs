//! The social-login broker (PROTOCOL.md §4–5): start, provider callback,
//! the "complete" page, and the one-time status call.
//!
//! Pending logins (at most ten minutes), users, linked identities and
//! sessions are all in SQLite.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::db::{Db, LoginOutcome, NewLogin, PendingLogin, SocialUser, now_ms};
use crate::pages;
use crate::provider::{self, Identity, random_hex, with_query};
use crate::server::{Shared, sha256_hex};
use crate::{EmulatorError, ProviderConfig};

const LOGIN_TTL_MS: i64 = 10 * 60 * 1000;
const SESSION_TTL_MS: i64 = 14 * 24 * 3600 * 1000;

/// Social-login settings of an emulator.
#[derive(Debug, Clone, Default)]
pub(crate) struct SocialSettings {
    pub auto_consent: bool,
    pub identities: Vec<(String, String)>,
    pub redirect_support: bool,
    /// App → enabled networks; an app not listed has every network.
    pub networks: HashMap<String, HashSet<String>>,
    pub providers: HashMap<String, ProviderConfig>,
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// An `http` URI on a loopback host (RFC 8252 §7.3), any port and path.
pub fn is_loopback_redirect(uri: &str) -> bool {
    let Ok(u) = url::Url::parse(uri) else {
        return false;
    };
    u.scheme() == "http"
        && u.username().is_empty()
        && u.password().is_none()
        && u.fragment().is_none()
        && matches!(
            u.host(),
            Some(url::Host::Ipv4(ip)) if ip == std::net::Ipv4Addr::LOCALHOST
        ) | matches!(u.host(), Some(url::Host::Ipv6(ip)) if ip == std::net::Ipv6Addr::LOCALHOST)
            | matches!(u.host(), Some(url::Host::Domain("localhost")))
}

fn valid_challenge(c: &str) -> bool {
    (32..=128).contains(&c.len())
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

async fn blocking<T: Send + 'static>(
    db: &Arc<Db>,
    f: impl FnOnce(&Db) -> Result<T, EmulatorError> + Send + 'static,
) -> Result<T, Response> {
    let db = Arc::clone(db);
    match tokio::task::spawn_blocking(move || f(&db)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "social login database error");
            Err(pages::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal error in the emulator.",
            ))
        }
        Err(_) => Err(pages::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error in the emulator.",
        )),
    }
}

fn callback_url(shared: &Shared, app_id: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    let encoded: String = percent_encoding::utf8_percent_encode(app_id, SEGMENT).collect();
    format!(
        "{}/v1/app/{encoded}/account/social/callback",
        shared.base_url
    )
}

/// `GET account/social/login`: checks everything, then sends the browser to
/// the provider.
pub(crate) async fn start(
    shared: &Arc<Shared>,
    app_id: &str,
    api_key: &str,
    query: &[(String, String)],
    header_key: Option<&str>,
) -> Response {
    let given = param(query, "apikey").or(header_key).unwrap_or("");
    if !crate::server::constant_time_eq(given.as_bytes(), api_key.as_bytes()) {
        return pages::error(StatusCode::UNAUTHORIZED, "Invalid or missing API key.");
    }
    let Some(network) = param(query, "service").map(str::to_ascii_lowercase) else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "The service parameter (the network) is missing.",
        );
    };
    if let Some(enabled) = shared.social.networks.get(app_id)
        && !enabled.contains(&network)
    {
        return pages::error(
            StatusCode::BAD_REQUEST,
            &format!("The network {network} is not enabled for this app."),
        );
    }
    let Some(challenge) = param(query, "challenge").filter(|c| valid_challenge(c)) else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "The challenge must be 32 to 128 characters of letters, digits, '-' and '_'.",
        );
    };
    let (redirect_uri, code_challenge) = if shared.social.redirect_support {
        let redirect_uri = param(query, "redirect_uri");
        if let Some(uri) = redirect_uri
            && !is_loopback_redirect(uri)
        {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "redirect_uri must be an http URI on 127.0.0.1, [::1] or localhost.",
            );
        }
        let code_challenge = param(query, "code_challenge");
        if let Some(cc) = code_challenge {
            if param(query, "code_challenge_method") != Some("S256") {
                return pages::error(
                    StatusCode::BAD_REQUEST,
                    "code_challenge_method must be S256.",
                );
            }
            if cc.len() != 43
                || !cc
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return pages::error(
                    StatusCode::BAD_REQUEST,
                    "code_challenge must be 43 base64url characters.",
                );
            }
        }
        (
            redirect_uri.map(str::to_owned),
            code_challenge.map(str::to_owned),
        )
    } else {
        (None, None)
    };
    let link_user = match param(query, "session_token") {
        None => None,
        Some(token) => {
            let (app, hash) = (app_id.to_owned(), sha256_hex(token));
            match blocking(&shared.db, move |db| db.session_user(&app, &hash)).await {
                Ok(Some(user)) => Some(user),
                Ok(None) => {
                    return pages::error(
                        StatusCode::UNAUTHORIZED,
                        "The session to link to is invalid or expired.",
                    );
                }
                Err(page) => return page,
            }
        }
    };
    let state = random_hex(16);
    if state.is_empty() {
        return pages::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The OS random generator failed.",
        );
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
    match blocking(&shared.db, move |db| db.insert_login(&login)).await {
        Ok(true) => {}
        Ok(false) => {
            return pages::error(StatusCode::BAD_REQUEST, "This challenge was already used.");
        }
        Err(page) => return page,
    }
    let scope = param(query, "scope").unwrap_or("");
    let callback = callback_url(shared, app_id);
    let location = match shared.social.providers.get(&network) {
        Some(p) => with_query(
            &p.authorize_url,
            &[
                ("response_type", "code"),
                ("client_id", &p.client_id),
                ("redirect_uri", &callback),
                ("state", &state),
                ("scope", scope),
            ],
        ),
        None => with_query(
            &format!("{}/idp/{network}/authorize", shared.base_url),
            &[
                ("response_type", "code"),
                ("client_id", app_id),
                ("redirect_uri", &callback),
                ("state", &state),
                ("scope", scope),
            ],
        ),
    };
    match location {
        Some(l) => pages::redirect(&l),
        None => pages::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The provider's authorize URL is not a URL.",
        ),
    }
}

/// Sends a request to a provider and reads its JSON answer; errors carry no URL.
async fn fetch_json(request: reqwest::RequestBuilder) -> Result<Value, String> {
    request
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?
        .json()
        .await
        .map_err(|e| e.without_url().to_string())
}

/// Exchanges the code with a configured real provider.
async fn exchange_real(
    p: &ProviderConfig,
    network: &str,
    code: &str,
    redirect_uri: &str,
) -> Result<Identity, String> {
    let http = provider_client()?;
    let token = fetch_json(http.post(&p.token_url).form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("client_id", &p.client_id),
        ("client_secret", &p.client_secret),
    ]))
    .await?;
    let access = token["access_token"]
        .as_str()
        .ok_or("the provider gave no access_token")?;
    identity_for_token(&http, p, network, access).await
}

/// An HTTP client for talking to real providers: no redirects, a deadline.
pub(crate) fn provider_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .map_err(|e| e.to_string())
}

/// The identity behind an access token of a configured real provider (its
/// userinfo endpoint's `id` or `sub`, `name` and `email`).
pub(crate) async fn identity_for_token(
    http: &reqwest::Client,
    p: &ProviderConfig,
    network: &str,
    access: &str,
) -> Result<Identity, String> {
    let info = fetch_json(http.get(&p.userinfo_url).bearer_auth(access)).await?;
    let id = info["id"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| info["sub"].as_str().map(str::to_owned))
        .or_else(|| info["id"].as_i64().map(|n| n.to_string()))
        .ok_or("the provider's userinfo has no id")?;
    Ok(Identity {
        id,
        name: info["name"].as_str().unwrap_or_default().to_owned(),
        email: info["email"].as_str().unwrap_or_default().to_owned(),
        network: network.to_owned(),
    })
}

/// `GET account/social/callback`: the provider sends the browser back here.
pub(crate) async fn callback(
    shared: &Arc<Shared>,
    app_id: &str,
    query: &[(String, String)],
) -> Response {
    let Some(state) = param(query, "state").map(str::to_owned) else {
        return pages::error(StatusCode::BAD_REQUEST, "The state parameter is missing.");
    };
    let login = match blocking(&shared.db, move |db| db.login_by_state(&state)).await {
        Ok(Some(login)) => login,
        Ok(None) => {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "This sign-in is unknown or expired.",
            );
        }
        Err(page) => return page,
    };
    if login.app_id != app_id || login.outcome != LoginOutcome::Pending {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "This sign-in is unknown or finished.",
        );
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
    let token_hash = match &outcome {
        LoginOutcome::Finished { token, .. } => Some(sha256_hex(token)),
        _ => None,
    };
    let (challenge, settled) = (login.challenge.clone(), outcome.clone());
    let stored = blocking(&shared.db, move |db| {
        let stored = db.settle_login(&challenge, &settled, token_hash.as_deref())?;
        if !stored && let Some(hash) = &token_hash {
            // Settled meanwhile by another callback: this session is nobody's.
            db.delete_session(hash)?;
        }
        Ok(stored)
    })
    .await;
    match stored {
        Ok(true) => {}
        Ok(false) => {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "This sign-in is unknown or finished.",
            );
        }
        Err(page) => return page,
    }
    let challenge = login.challenge.as_str();
    let location = match (&outcome, &login.redirect_uri) {
        (LoginOutcome::Failed { error, description }, Some(uri)) => with_query(
            uri,
            &[
                ("challenge", challenge),
                ("error", error),
                ("error_description", description),
            ],
        ),
        (_, Some(uri)) => with_query(uri, &[("challenge", challenge)]),
        (_, None) => Some(
            callback_url(shared, app_id)
                .replace("/account/social/callback", "/account/social/login/complete"),
        ),
    };
    match location {
        Some(l) => pages::redirect(&l),
        None => pages::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The redirect URI is not a URL.",
        ),
    }
}

fn failed(error: &str, description: &str) -> LoginOutcome {
    LoginOutcome::Failed {
        error: error.to_owned(),
        description: description.to_owned(),
    }
}

async fn finish(shared: &Arc<Shared>, login: &PendingLogin, code: &str) -> LoginOutcome {
    let callback = callback_url(shared, &login.app_id);
    let identity = match shared.social.providers.get(&login.network) {
        Some(p) => exchange_real(p, &login.network, code, &callback).await,
        None => provider::exchange_builtin(shared, code, &callback, &login.app_id)
            .map_err(str::to_owned),
    };
    let identity = match identity {
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
    let result = blocking(&shared.db, move |db| {
        let user = db.social_user(&app, &identity, link.as_deref())?;
        if let SocialUser::Found(user_id) = &user {
            db.create_session(&hash, &app, user_id, expires_ms)?;
        }
        Ok(user)
    })
    .await;
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
        Err(_) => failed("server_error", "the emulator's database failed"),
    }
}

/// `GET account/social/login/complete`.
pub(crate) fn complete() -> Response {
    pages::page(
        StatusCode::OK,
        "Login complete",
        "<h1 id=\"status\" data-status=\"complete\">Login complete</h1><p>You can close this window.</p>",
    )
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "errors": [message] }))).into_response()
}

/// `GET account/social/login/status/{challenge}` (API key already checked).
pub(crate) async fn status(
    shared: &Arc<Shared>,
    app_id: &str,
    challenge: &str,
    query: &[(String, String)],
) -> Response {
    let internal = || {
        json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error in the emulator",
        )
    };
    let (app, c) = (app_id.to_owned(), challenge.to_owned());
    let login = match blocking(&shared.db, move |db| db.take_login(&app, &c)).await {
        Ok(Some(login)) => login,
        Ok(None) => return json_error(StatusCode::NOT_FOUND, "unknown or expired login challenge"),
        Err(_) => return internal(),
    };
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
                    .is_some_and(|g| crate::server::constant_time_eq(g.as_bytes(), cc.as_bytes()));
                if !matches {
                    let hash = sha256_hex(&token);
                    if blocking(&shared.db, move |db| db.delete_session(&hash))
                        .await
                        .is_err()
                    {
                        return internal();
                    }
                    return json_error(StatusCode::UNAUTHORIZED, "invalid code_verifier");
                }
            }
            let (app, user) = (app_id.to_owned(), user_id);
            let profile = match blocking(&shared.db, move |db| db.user_profile(&app, &user)).await {
                Ok(Some(p)) => p,
                _ => return internal(),
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
    fn only_loopback_http_redirects() {
        for ok in [
            "http://127.0.0.1:1234/callback",
            "http://[::1]:9/x",
            "http://localhost:80/",
            "http://127.0.0.1/",
        ] {
            assert!(is_loopback_redirect(ok), "{ok}");
        }
        for bad in [
            "https://127.0.0.1/cb",
            "http://evil.example/cb",
            "http://10.0.0.1/cb",
            "http://127.0.0.1.evil.com/cb",
            "javascript:alert(1)",
            "http://user@127.0.0.1/cb",
            "http://127.0.0.1/cb#frag",
            "http://127.0.0.2/cb",
            "http://0.0.0.0/cb",
            "not a url",
            "http://localhost.evil.com/",
        ] {
            assert!(!is_loopback_redirect(bad), "{bad}");
        }
    }

    #[test]
    fn challenges() {
        assert!(valid_challenge(&"a".repeat(32)));
        assert!(valid_challenge(&"A-_9".repeat(11)));
        assert!(!valid_challenge(&"a".repeat(31)));
        assert!(!valid_challenge(&"a".repeat(129)));
        assert!(!valid_challenge(&format!("{}!", "a".repeat(32))));
    }
}
