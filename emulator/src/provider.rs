//! The built-in OAuth 2 identity provider, usable for every network name.
//!
//! `GET /idp/{network}/authorize` shows a consent screen ("Continue as …" for
//! the seeded identities, a form for another identity, and Deny), or with
//! auto-consent approves at once. `POST /idp/{network}/consent` issues a
//! single-use authorization code; `POST /idp/token` exchanges it (PKCE S256
//! when the code was issued with a challenge); `GET /idp/userinfo` returns
//! the identity for a bearer token.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::pages::{self, escape};
use crate::server::Shared;

const CODE_TTL: Duration = Duration::from_secs(300);
const TOKEN_TTL: Duration = Duration::from_secs(3600);

/// A person at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The provider's user id: the first 16 hex digits of SHA-256(email).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// The network the identity signed in with.
    pub network: String,
}

impl Identity {
    /// The identity for an email at a network.
    pub fn new(network: &str, name: &str, email: &str) -> Self {
        let digest = hex::encode(Sha256::digest(email.trim().to_ascii_lowercase().as_bytes()));
        Identity {
            id: digest[..16].to_owned(),
            name: name.trim().to_owned(),
            email: email.trim().to_owned(),
            network: network.to_owned(),
        }
    }
}

struct Grant {
    client_id: String,
    redirect_uri: String,
    identity: Identity,
    code_challenge: Option<String>,
    expires: Instant,
}

/// Codes and tokens in flight (memory only: they live minutes).
#[derive(Default)]
pub(crate) struct ProviderState {
    codes: Mutex<HashMap<String, Grant>>,
    tokens: Mutex<HashMap<String, (Identity, Instant)>>,
}

pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    if getrandom::fill(&mut buf).is_err() {
        // Never hand out a predictable value: an empty one fails every check.
        return String::new();
    }
    hex::encode(buf)
}

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

fn valid_redirect(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https") && u.fragment().is_none() && u.host_str().is_some()
    })
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

/// Routes `/idp/...`.
pub(crate) fn route(
    shared: &Shared,
    method: &Method,
    rest: &[&str],
    query: &[(String, String)],
    body: &[u8],
    authorization: Option<&str>,
) -> Response {
    match (rest, method) {
        ([network, "authorize"], &Method::GET) => authorize(shared, network, query),
        ([network, "consent"], &Method::POST) => {
            let form: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
            consent(shared, network, &form)
        }
        (["token"], &Method::POST) => {
            let form: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
            token(shared, &form)
        }
        (["userinfo"], &Method::GET) => userinfo(shared, authorization),
        _ => pages::error(
            StatusCode::NOT_FOUND,
            "No such page at the test identity provider.",
        ),
    }
}

/// `client_id`, `redirect_uri` and `state`, checked, or what is wrong.
fn grant_params(pairs: &[(String, String)]) -> Result<(&str, &str, &str), &'static str> {
    let (Some(client_id), Some(redirect_uri), Some(state)) = (
        param(pairs, "client_id"),
        param(pairs, "redirect_uri"),
        param(pairs, "state"),
    ) else {
        return Err("client_id, redirect_uri and state are required.");
    };
    if !valid_redirect(redirect_uri) {
        return Err("redirect_uri must be an http(s) URL without a fragment.");
    }
    Ok((client_id, redirect_uri, state))
}

fn title_case(network: &str) -> String {
    let mut c = network.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn authorize(shared: &Shared, network: &str, q: &[(String, String)]) -> Response {
    let (client_id, redirect_uri, state) = match grant_params(q) {
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
        let code = shared.provider.issue_code(
            client_id,
            redirect_uri,
            identity,
            code_challenge.map(str::to_owned),
        );
        return match with_query(redirect_uri, &[("code", &code), ("state", state)]) {
            Some(location) => pages::redirect(&location),
            None => pages::error(StatusCode::BAD_REQUEST, "redirect_uri is not a URL."),
        };
    }
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

fn consent(shared: &Shared, network: &str, form: &[(String, String)]) -> Response {
    let (client_id, redirect_uri, state) = match grant_params(form) {
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
        let code = shared.provider.issue_code(
            client_id,
            redirect_uri,
            identity,
            param(form, "code_challenge").map(str::to_owned),
        );
        with_query(redirect_uri, &[("code", &code), ("state", state)])
    };
    match location {
        Some(location) => pages::redirect(&location),
        None => pages::error(StatusCode::BAD_REQUEST, "redirect_uri is not a URL."),
    }
}

fn token(shared: &Shared, form: &[(String, String)]) -> Response {
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
    match shared
        .provider
        .redeem(code, redirect_uri, client_id, param(form, "code_verifier"))
    {
        Ok(identity) => {
            let token = shared.provider.token_for(identity);
            axum::Json(json!({ "access_token": token, "token_type": "bearer", "expires_in": TOKEN_TTL.as_secs() }))
                .into_response()
        }
        Err(error) => invalid(error),
    }
}

fn userinfo(shared: &Shared, authorization: Option<&str>) -> Response {
    let identity = authorization
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .and_then(|t| shared.provider.identity_for_token(t.trim()));
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
/// stands for (the broker's server-side step).
pub(crate) fn exchange_builtin(
    shared: &Shared,
    code: &str,
    redirect_uri: &str,
    client_id: &str,
) -> Result<Identity, &'static str> {
    let identity = shared
        .provider
        .redeem(code, redirect_uri, client_id, None)?;
    // Through a token, as a real provider would be used.
    let token = shared.provider.token_for(identity);
    shared
        .provider
        .identity_for_token(&token)
        .ok_or("invalid_token")
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
