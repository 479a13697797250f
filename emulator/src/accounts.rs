//! The users API (PROTOCOL.md §2.4, plus `account/me` from §2.7): accounts
//! with argon2 password hashes, sessions with an enforced expiry, password
//! resets through an outbox that tests read.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::db::now_ms;
use crate::objects::ServerParams;
use crate::provider::random_hex;
use crate::query;
use crate::server::{Fail, Shared, blocking, json_response, sha256_hex};

/// How long a password session lasts.
const SESSION_TTL_MS: i64 = 14 * 24 * 3600 * 1000;
/// How long a reset token lasts.
const RESET_TTL_MS: i64 = 3600 * 1000;
/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;

/// A mail the emulator "sent": password resets land here instead of a mailbox.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mail {
    /// The application that sent it.
    pub app_id: String,
    /// The recipient.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The text, which includes the token.
    pub body: String,
    /// The reset token, for tests.
    pub token: String,
}

fn bad(message: impl Into<String>) -> Fail {
    Fail::new(StatusCode::BAD_REQUEST, message)
}

fn unauthorized(message: &str) -> Fail {
    Fail::new(StatusCode::UNAUTHORIZED, message)
}

fn str_field<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

pub(crate) fn check_password(password: &str) -> Result<(), Fail> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(bad(format!(
            "the password must be at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    if password.len() > 1024 {
        return Err(bad("the password must be at most 1024 bytes"));
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

struct Request<'a> {
    shared: &'a Arc<Shared>,
    app_id: &'a str,
    session: Option<&'a str>,
    query: &'a [(String, String)],
    body: &'a [u8],
}

impl Request<'_> {
    fn json(&self) -> Result<Value, Fail> {
        match serde_json::from_slice::<Value>(self.body) {
            Ok(v @ Value::Object(_)) => Ok(v),
            Ok(_) => Err(bad("the body must be a JSON object")),
            Err(e) => Err(bad(format!("malformed JSON body: {e}"))),
        }
    }

    /// The logged-in user, or 401.
    async fn user(&self) -> Result<String, Fail> {
        let token = self
            .session
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthorized("a valid session token is required"))?;
        let (app, hash) = (self.app_id.to_owned(), sha256_hex(token));
        blocking(&self.shared.db, move |db| db.session_user(&app, &hash))
            .await?
            .ok_or_else(|| unauthorized("the session is invalid or expired"))
    }

    /// The user matching `{email|username, password}`, or 401.
    async fn authenticate(&self, body: &Value, password_field: &str) -> Result<String, Fail> {
        let email = str_field(body, "email").map(str::to_owned);
        let username = str_field(body, "username").map(str::to_owned);
        if email.is_none() && username.is_none() {
            return Err(bad("an email or a username is required"));
        }
        let password = str_field(body, password_field)
            .ok_or_else(|| bad("the password is required"))?
            .to_owned();
        let app = self.app_id.to_owned();
        let found = blocking(&self.shared.db, move |db| {
            db.find_login(&app, email.as_deref(), username.as_deref())
        })
        .await?;
        match found {
            // Verify off the async threads: argon2 takes tens of milliseconds.
            Some((id, hash)) => {
                let ok = tokio::task::spawn_blocking(move || {
                    verify_password(&password, hash.as_deref())
                })
                .await
                .unwrap_or(false);
                if ok {
                    Ok(id)
                } else {
                    Err(unauthorized("wrong email, username or password"))
                }
            }
            None => Err(unauthorized("wrong email, username or password")),
        }
    }

    async fn profile(&self, user_id: &str) -> Result<Value, Fail> {
        let (app, user) = (self.app_id.to_owned(), user_id.to_owned());
        blocking(&self.shared.db, move |db| db.user_profile(&app, &user))
            .await?
            .ok_or_else(|| Fail::new(StatusCode::NOT_FOUND, "no such user"))
    }

    async fn profiles(&self) -> Result<Vec<(String, Value)>, Fail> {
        let app = self.app_id.to_owned();
        let ids = blocking(&self.shared.db, move |db| db.user_ids(&app)).await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let profile = self.profile(&id).await?;
            out.push((id, profile));
        }
        Ok(out)
    }
}

async fn hash_off_thread(password: String) -> Result<String, Fail> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|_| Fail::new(StatusCode::INTERNAL_SERVER_ERROR, "password hashing failed"))?
}

fn envelope(items: Vec<(String, Value)>, count: Option<usize>) -> Response {
    let mut body =
        json!({ "success": Value::Object(items.into_iter().collect::<Map<_, _>>()), "errors": {} });
    if let Some(n) = count {
        body["count"] = json!(n);
    }
    json_response(StatusCode::OK, body)
}

/// Routes `account…` (API key already checked). `None`: not an account route.
pub(crate) async fn route(
    shared: &Arc<Shared>,
    app_id: &str,
    method: &Method,
    words: &[&str],
    session: Option<&str>,
    query: &[(String, String)],
    body: &[u8],
) -> Option<Result<Response, Fail>> {
    let r = Request {
        shared,
        app_id,
        session,
        query,
        body,
    };
    Some(match (words, method) {
        (["account", "create"], &Method::POST) => create(&r).await,
        (["account", "login"], &Method::POST) => login(&r).await,
        (["account", "logout"], &Method::POST) => logout(&r).await,
        (["account", "me"], &Method::GET) => match r.user().await {
            Ok(user) => r
                .profile(&user)
                .await
                .map(|p| json_response(StatusCode::OK, p)),
            Err(e) => Err(e),
        },
        (["account"], &Method::POST) => update(&r).await,
        (["account"], &Method::GET) => list(&r, None).await,
        (["account"], &Method::DELETE) => delete(&r).await,
        (["account", "search"], &Method::GET) => {
            match r
                .query
                .iter()
                .find(|(k, _)| k == "p")
                .map(|(_, v)| v.clone())
            {
                Some(p) => list(&r, Some(&p)).await,
                None => Err(bad("missing query parameter p")),
            }
        }
        (["account", "password", "change"], &Method::POST) => change_password(&r).await,
        (["account", "credentials"], &Method::POST) => change_credentials(&r).await,
        (["account", "password", "reset"], &Method::POST) => reset(&r).await,
        (["account", "password", "reset", token], &Method::POST) => confirm_reset(&r, token).await,
        (["account", id], &Method::GET) => match r.profile(id).await {
            Ok(p) => Ok(envelope(vec![((*id).to_owned(), p)], None)),
            Err(e) => Err(e),
        },
        _ => return None,
    })
}

async fn create(r: &Request<'_>) -> Result<Response, Fail> {
    let body = r.json()?;
    let credentials = body.get("credentials").cloned().unwrap_or(Value::Null);
    let email = str_field(&credentials, "email").map(str::to_owned);
    let username = str_field(&credentials, "username").map(str::to_owned);
    if email.is_none() && username.is_none() {
        return Err(bad("an email or a username is required"));
    }
    if email.as_deref().is_some_and(|e| !e.contains('@')) {
        return Err(bad("the email address is not valid"));
    }
    let password =
        str_field(&credentials, "password").ok_or_else(|| bad("the password is required"))?;
    check_password(password)?;
    let profile = match body.get("profile") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(p @ Value::Object(_)) => p.clone(),
        Some(_) => return Err(bad("profile must be a JSON object")),
    };
    let hash = hash_off_thread(password.to_owned()).await?;
    let id = random_hex(16);
    let (app, uid) = (r.app_id.to_owned(), id.clone());
    let created = blocking(&r.shared.db, move |db| {
        db.create_account(
            &app,
            &uid,
            email.as_deref(),
            username.as_deref(),
            &hash,
            &profile,
        )
    })
    .await?;
    if !created {
        return Err(Fail::new(
            StatusCode::CONFLICT,
            "a user with this email or username already exists",
        ));
    }
    Ok(json_response(StatusCode::CREATED, r.profile(&id).await?))
}

/// A new session for `user`: `{session_token, expires, profile}`.
async fn session_for(r: &Request<'_>, user: &str) -> Result<Value, Fail> {
    let token = random_hex(32);
    if token.is_empty() {
        return Err(Fail::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the OS random generator failed",
        ));
    }
    let expires_ms = now_ms().saturating_add(SESSION_TTL_MS);
    let (app, uid, hash) = (r.app_id.to_owned(), user.to_owned(), sha256_hex(&token));
    blocking(&r.shared.db, move |db| {
        db.create_session(&hash, &app, &uid, expires_ms)
    })
    .await?;
    let expires = std::time::SystemTime::UNIX_EPOCH
        + std::time::Duration::from_millis(u64::try_from(expires_ms).unwrap_or(0));
    Ok(json!({
        "session_token": token,
        "expires": httpdate::fmt_http_date(expires),
        "profile": r.profile(user).await?,
    }))
}

async fn login(r: &Request<'_>) -> Result<Response, Fail> {
    let body = r.json()?;
    let user = r.authenticate(&body, "password").await?;
    Ok(json_response(StatusCode::OK, session_for(r, &user).await?))
}

async fn logout(r: &Request<'_>) -> Result<Response, Fail> {
    r.user().await?;
    let hash = sha256_hex(r.session.unwrap_or_default());
    blocking(&r.shared.db, move |db| db.delete_session(&hash)).await?;
    Ok(json_response(StatusCode::OK, json!({})))
}

async fn update(r: &Request<'_>) -> Result<Response, Fail> {
    let user = r.user().await?;
    let mut patch = r.json()?;
    if let Value::Object(m) = &mut patch {
        for reserved in ["__id__", "__type__", "__services__", "email", "username"] {
            m.remove(reserved);
        }
    }
    let (app, uid) = (r.app_id.to_owned(), user.clone());
    blocking(&r.shared.db, move |db| {
        db.update_profile(&app, &uid, &patch)
    })
    .await?;
    Ok(envelope(
        vec![(user.clone(), r.profile(&user).await?)],
        None,
    ))
}

async fn list(r: &Request<'_>, filter: Option<&str>) -> Result<Response, Fail> {
    let params = ServerParams::parse(r.query)?;
    let mut users = r.profiles().await?;
    if let Some(q) = filter {
        let q = query::parse(q).map_err(bad)?;
        users.retain(|(id, profile)| q.matches(id, profile));
    }
    let (page, total) = params.page(users);
    Ok(envelope(page, params.count.then_some(total)))
}

async fn change_password(r: &Request<'_>) -> Result<Response, Fail> {
    let body = r.json()?;
    let new = body
        .get("credentials")
        .and_then(|c| str_field(c, "password"))
        .ok_or_else(|| bad("credentials.password (the new password) is required"))?
        .to_owned();
    let user = r.authenticate(&body, "password").await?;
    check_password(&new)?;
    let hash = hash_off_thread(new).await?;
    let app = r.app_id.to_owned();
    blocking(&r.shared.db, move |db| db.set_password(&app, &user, &hash)).await?;
    Ok(json_response(StatusCode::OK, json!({})))
}

async fn change_credentials(r: &Request<'_>) -> Result<Response, Fail> {
    let body = r.json()?;
    let user = r.authenticate(&body, "password").await?;
    let credentials = body.get("credentials").cloned().unwrap_or(Value::Null);
    let email = str_field(&credentials, "email").map(str::to_owned);
    let username = str_field(&credentials, "username").map(str::to_owned);
    let password = str_field(&credentials, "password").map(str::to_owned);
    if email.is_none() && username.is_none() && password.is_none() {
        return Err(bad(
            "credentials must change an email, a username or a password",
        ));
    }
    if email.as_deref().is_some_and(|e| !e.contains('@')) {
        return Err(bad("the email address is not valid"));
    }
    if let Some(p) = &password {
        check_password(p)?;
    }
    let (app, uid) = (r.app_id.to_owned(), user.clone());
    let ok = blocking(&r.shared.db, move |db| {
        db.set_credentials(&app, &uid, email.as_deref(), username.as_deref())
    })
    .await?;
    if !ok {
        return Err(Fail::new(
            StatusCode::CONFLICT,
            "a user with this email or username already exists",
        ));
    }
    if let Some(p) = password {
        let hash = hash_off_thread(p).await?;
        let app = r.app_id.to_owned();
        blocking(&r.shared.db, move |db| db.set_password(&app, &user, &hash)).await?;
    }
    Ok(json_response(StatusCode::OK, json!({})))
}

async fn delete(r: &Request<'_>) -> Result<Response, Fail> {
    let body = r.json()?;
    let user = r.authenticate(&body, "password").await?;
    let app = r.app_id.to_owned();
    blocking(&r.shared.db, move |db| db.delete_user(&app, &user)).await?;
    Ok(json_response(StatusCode::OK, json!({})))
}

async fn reset(r: &Request<'_>) -> Result<Response, Fail> {
    let body = r.json()?;
    let email = str_field(&body, "email")
        .ok_or_else(|| bad("email is required"))?
        .to_owned();
    let app = r.app_id.to_owned();
    let lookup = email.clone();
    let found = blocking(&r.shared.db, move |db| {
        db.find_login(&app, Some(&lookup), None)
    })
    .await?;
    // The same answer whether or not the address is known: no account probing.
    if let Some((user, _)) = found {
        let token = random_hex(24);
        let (app, hash) = (r.app_id.to_owned(), sha256_hex(&token));
        let expires = now_ms().saturating_add(RESET_TTL_MS);
        blocking(&r.shared.db, move |db| {
            db.create_reset(&hash, &app, &user, expires)
        })
        .await?;
        r.shared
            .outbox
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Mail {
                app_id: r.app_id.to_owned(),
                to: email,
                subject: "Reset your password".into(),
                body: format!("Use this code to choose a new password within an hour: {token}"),
                token,
            });
    }
    Ok(json_response(StatusCode::OK, json!({})))
}

async fn confirm_reset(r: &Request<'_>, token: &str) -> Result<Response, Fail> {
    let body = r.json()?;
    let password = str_field(&body, "password")
        .ok_or_else(|| bad("password is required"))?
        .to_owned();
    check_password(&password)?;
    let (app, hash) = (r.app_id.to_owned(), sha256_hex(token));
    let user = blocking(&r.shared.db, move |db| db.take_reset(&hash, &app))
        .await?
        .ok_or_else(|| Fail::new(StatusCode::NOT_FOUND, "unknown or expired reset token"))?;
    let hash = hash_off_thread(password).await?;
    let app = r.app_id.to_owned();
    blocking(&r.shared.db, move |db| db.set_password(&app, &user, &hash)).await?;
    Ok(json_response(StatusCode::OK, json!({})))
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
