//! The built-in OAuth 2 identity provider, usable for every network name,
//! served only when asked (`--test-idp`, `Emulator::builder().test_idp(true)`,
//! implied by auto-consent and seeded identities): it authenticates nobody.
//! It sends codes only to the broker's own callback.
//!
//! `GET /idp/{network}/authorize` shows a consent screen ("Continue as …" for
//! the seeded identities, a form for another identity, and Deny), or with
//! auto-consent approves at once. `POST /idp/{network}/consent` issues a
//! single-use authorization code; `POST /idp/token` exchanges it (PKCE S256
//! when the code was issued with a challenge); `GET /idp/userinfo` returns
//! the identity for a bearer token. Codes and tokens live in `oauth.rs`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::extract::{PathParams, QueryPairs, header};
use crate::model::Identity;
use crate::oauth::{self, TOKEN_TTL};
use crate::pages::{self, escape};
use crate::state::AppState;

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// `url` with query pairs appended.
pub(crate) fn with_query(url: &str, pairs: &[(&str, &str)]) -> Option<String> {
    let mut u = url::Url::parse(url).ok()?;
    {
        let mut q = u.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    Some(u.into())
}

/// The broker's callback for `app_id`: the one `redirect_uri` the
/// built-in provider sends codes to.
pub(crate) fn broker_callback(base_url: &str, app_id: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    let encoded: String = percent_encoding::utf8_percent_encode(app_id, SEGMENT).collect();
    format!("{base_url}/v1/app/{encoded}/account/social/callback")
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

/// True when the provider may send a code to `uri`: the broker's own
/// callback for the app `client_id`, or a native client's loopback URI
/// (RFC 8252, as the BaasBox client uses) when the grant has a PKCE
/// challenge, so a code seen by another local process is useless. A code
/// sent anywhere else would sign a stranger in.
fn valid_redirect(shared: &AppState, client_id: &str, uri: &str, pkce: bool) -> bool {
    let broker =
        shared.apps.contains_key(client_id) && uri == broker_callback(&shared.base_url, client_id);
    broker || (pkce && is_loopback_redirect(uri))
}

/// What `/idp/...` answers for a page it does not have.
pub(crate) fn no_page() -> Response {
    pages::error(
        StatusCode::NOT_FOUND,
        "No such page at the test identity provider (served only with --test-idp).",
    )
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// `GET /idp/{network}/authorize`.
pub(crate) async fn authorize(
    State(state): State<Arc<AppState>>,
    path: PathParams,
    QueryPairs(query): QueryPairs,
) -> Response {
    authorize_page(&state, path.get("network"), &query).await
}

/// `POST /idp/{network}/consent` (a form).
pub(crate) async fn consent(
    State(state): State<Arc<AppState>>,
    path: PathParams,
    body: Bytes,
) -> Response {
    consent_answer(&state, path.get("network"), &form(&body)).await
}

/// `POST /idp/token` (a form).
pub(crate) async fn token(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    token_answer(&state, &form(&body)).await
}

/// `GET /idp/userinfo` with a bearer token.
pub(crate) async fn userinfo(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    userinfo_answer(&state, header(&headers, "authorization").as_deref()).await
}

/// `client_id`, `redirect_uri` and `state`, checked, or what is wrong.
fn grant_params<'a>(
    shared: &AppState,
    pairs: &'a [(String, String)],
) -> Result<(&'a str, &'a str, &'a str), &'static str> {
    let (Some(client_id), Some(redirect_uri), Some(state)) = (
        param(pairs, "client_id"),
        param(pairs, "redirect_uri"),
        param(pairs, "state"),
    ) else {
        return Err("client_id, redirect_uri and state are required.");
    };
    let pkce = param(pairs, "code_challenge").is_some();
    if !valid_redirect(shared, client_id, redirect_uri, pkce) {
        return Err(
            "redirect_uri must be this emulator's social-login callback for the app client_id, \
             or a loopback URI with a PKCE code_challenge: the test identity provider sends codes \
             nowhere else.",
        );
    }
    Ok((client_id, redirect_uri, state))
}

fn title_case(network: &str) -> String {
    let mut c = network.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

async fn authorize_page(shared: &AppState, network: &str, q: &[(String, String)]) -> Response {
    let (client_id, redirect_uri, state) = match grant_params(shared, q) {
        Ok(p) => p,
        Err(why) => return pages::error(StatusCode::BAD_REQUEST, why),
    };
    let code_challenge = param(q, "code_challenge");
    if code_challenge.is_some() && param(q, "code_challenge_method") != Some("S256") {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "code_challenge_method must be S256.",
        );
    }
    if shared.social.auto_consent {
        let (name, email) = shared
            .social
            .identities
            .first()
            .cloned()
            .unwrap_or_else(|| ("Test User".into(), "test.user@example.com".into()));
        let identity = Identity::new(network, &name, &email);
        let code = oauth::issue_code(
            &*shared.store,
            client_id,
            redirect_uri,
            identity,
            code_challenge.map(str::to_owned),
        );
        let code = match code.await {
            Ok(code) => code,
            Err(e) => return pages::storage_failed("provider code", e),
        };
        return match with_query(redirect_uri, &[("code", &code), ("state", state)]) {
            Some(location) => pages::redirect(&location),
            None => pages::error(StatusCode::BAD_REQUEST, "redirect_uri is not a URL."),
        };
    }
    consent_page(shared, network, q)
}

/// The consent screen: "Continue as" each seeded identity, another
/// identity's form, and Deny; every form carries the grant's parameters.
fn consent_page(shared: &AppState, network: &str, q: &[(String, String)]) -> Response {
    let hidden: String = [
        "client_id",
        "redirect_uri",
        "state",
        "scope",
        "code_challenge",
        "code_challenge_method",
    ]
    .iter()
    .filter_map(|name| param(q, name).map(|v| (name, v)))
    .map(|(name, v)| {
        format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            escape(v)
        )
    })
    .collect();
    let network_title = escape(&title_case(network));
    let action = format!("/idp/{}/consent", escape(network));
    let mut body = format!(
        "<h1>Sign in with {network_title}</h1><p class=\"sub\">cloudmine-emulator test identity provider</p>"
    );
    if let Some(scope) = param(q, "scope") {
        body.push_str(&format!(
            "<p>The app asks for: <code>{}</code></p>",
            escape(scope)
        ));
    }
    for (i, (name, email)) in shared.social.identities.iter().enumerate() {
        body.push_str(&format!(
            "<form method=\"post\" action=\"{action}\">{hidden}<input type=\"hidden\" name=\"action\" value=\"allow\">\
             <input type=\"hidden\" name=\"identity\" value=\"{e}\">\
             <button class=\"primary\" id=\"continue-{i}\" type=\"submit\">Continue as {n}</button></form>",
            n = escape(name),
            e = escape(email),
        ));
    }
    body.push_str(&format!(
        "<fieldset><legend>Use another account</legend><form method=\"post\" action=\"{action}\">{hidden}\
         <input type=\"hidden\" name=\"action\" value=\"allow\">\
         <input id=\"other-name\" name=\"name\" placeholder=\"Name\"><input id=\"other-email\" name=\"email\" type=\"email\" placeholder=\"Email\">\
         <button id=\"other-continue\" type=\"submit\">Continue</button></form></fieldset>\
         <form method=\"post\" action=\"{action}\">{hidden}<button id=\"deny\" name=\"action\" value=\"deny\" type=\"submit\">Deny</button></form>"
    ));
    pages::page(
        StatusCode::OK,
        &format!("Sign in with {}", title_case(network)),
        &body,
    )
}

async fn consent_answer(shared: &AppState, network: &str, form: &[(String, String)]) -> Response {
    let (client_id, redirect_uri, state) = match grant_params(shared, form) {
        Ok(p) => p,
        Err(why) => return pages::error(StatusCode::BAD_REQUEST, why),
    };
    let location = if param(form, "action") == Some("deny") {
        with_query(
            redirect_uri,
            &[("error", "access_denied"), ("state", state)],
        )
    } else {
        // A seeded identity by its email, or the "another account" form.
        let seeded = param(form, "identity").map(|chosen| {
            shared
                .social
                .identities
                .iter()
                .find(|(_, email)| email.eq_ignore_ascii_case(chosen.trim()))
        });
        let identity = match seeded {
            Some(Some((name, email))) => Identity::new(network, name, email),
            Some(None) => {
                return pages::error(StatusCode::BAD_REQUEST, "Unknown test identity.");
            }
            None => {
                let Some(email) = param(form, "email").filter(|e| e.contains('@')) else {
                    return pages::error(StatusCode::BAD_REQUEST, "An email address is required.");
                };
                Identity::new(network, param(form, "name").unwrap_or(email), email)
            }
        };
        let code = oauth::issue_code(
            &*shared.store,
            client_id,
            redirect_uri,
            identity,
            param(form, "code_challenge").map(str::to_owned),
        );
        let code = match code.await {
            Ok(code) => code,
            Err(e) => return pages::storage_failed("provider code", e),
        };
        with_query(redirect_uri, &[("code", &code), ("state", state)])
    };
    match location {
        Some(location) => pages::redirect(&location),
        None => pages::error(StatusCode::BAD_REQUEST, "redirect_uri is not a URL."),
    }
}

async fn token_answer(shared: &AppState, form: &[(String, String)]) -> Response {
    let invalid = |error: &str| {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "error": error })),
        )
            .into_response()
    };
    if param(form, "grant_type") != Some("authorization_code") {
        return invalid("unsupported_grant_type");
    }
    let (Some(code), Some(redirect_uri), Some(client_id)) = (
        param(form, "code"),
        param(form, "redirect_uri"),
        param(form, "client_id"),
    ) else {
        return invalid("invalid_request");
    };
    let verifier = param(form, "code_verifier");
    match oauth::redeem(&*shared.store, code, redirect_uri, client_id, verifier).await {
        Ok(identity) => {
            let Ok(token) = oauth::token_for(&*shared.store, &identity).await else {
                return invalid("server_error");
            };
            axum::Json(json!({ "access_token": token, "token_type": "bearer", "expires_in": TOKEN_TTL.as_secs() }))
                .into_response()
        }
        Err(error) => invalid(error),
    }
}

async fn userinfo_answer(shared: &AppState, authorization: Option<&str>) -> Response {
    let token = authorization.and_then(|h| {
        h.strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
    });
    let identity = match token {
        Some(t) => oauth::identity_for_token(&*shared.store, t.trim()).await,
        None => None,
    };
    match identity {
        Some(i) => axum::Json(
            json!({ "id": i.id, "name": i.name, "email": i.email, "network": i.network }),
        )
        .into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({ "error": "invalid_token" })),
        )
            .into_response(),
    }
}

/// Exchanges a code with the built-in provider and returns the identity it
/// stands for and its access token (the broker's server-side step).
pub(crate) async fn exchange_builtin(
    shared: &AppState,
    code: &str,
    redirect_uri: &str,
    client_id: &str,
) -> Result<(Identity, String), &'static str> {
    let store = &*shared.store;
    let identity = oauth::redeem(store, code, redirect_uri, client_id, None).await?;
    // Through a token, as a real provider would be used.
    let token = oauth::token_for(store, &identity)
        .await
        .map_err(|_| "server_error")?;
    let identity = oauth::identity_for_token(store, &token)
        .await
        .ok_or("invalid_token")?;
    Ok((identity, token))
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
}
