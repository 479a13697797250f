//! The users API (PROTOCOL.md §2.4, plus `account/me` from §2.7): accounts
//! with argon2 password hashes, sessions with an enforced expiry, password
//! resets through an outbox that tests read.

use std::sync::Arc;

use axum::body::{Bytes, to_bytes};
use axum::extract::{FromRequest, FromRequestParts, Request as HttpRequest, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::crypto::{random_hex, sha256_hex};
use crate::extract::{Caller, PathParams, header, query_pairs};
use crate::fail::{Fail, json_response};
use crate::model::Mail;
use crate::params::ServerParams;
use crate::query;
use crate::state::AppState;
use crate::store::now_ms;

/// How long a password session lasts.
const SESSION_TTL_MS: i64 = 14 * 24 * 3600 * 1000;
/// How long a reset token lasts.
const RESET_TTL_MS: i64 = 3600 * 1000;

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

/// An account request: the app checked by its API key, the session token
/// if one was sent, the query and the body.
pub(crate) struct Request {
    state: Arc<AppState>,
    app_id: String,
    session: Option<String>,
    query: Vec<(String, String)>,
    body: Bytes,
}

impl FromRequest<Arc<AppState>> for Request {
    type Rejection = Fail;

    async fn from_request(req: HttpRequest, state: &Arc<AppState>) -> Result<Self, Fail> {
        let (mut parts, body) = req.into_parts();
        let caller =
            Caller::<crate::extract::AppLevel>::from_request_parts(&mut parts, state).await?;
        let body = to_bytes(body, usize::MAX)
            .await
            .map_err(|e| Fail::bad(format!("the request body could not be read: {e}")))?;
        Ok(Request {
            state: Arc::clone(state),
            app_id: caller.app_id,
            session: header(&parts.headers, "x-cloudmine-sessiontoken").map(String::from),
            query: query_pairs(parts.uri.query()),
            body,
        })
    }
}

/// A users-API body as a JSON object, or 400 saying what is wrong.
pub(crate) fn json_object(body: &[u8]) -> Result<Value, Fail> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(bad("the body must be a JSON object")),
        Err(e) => Err(bad(format!("malformed JSON body: {e}"))),
    }
}

impl Request {
    fn json(&self) -> Result<Value, Fail> {
        json_object(&self.body)
    }

    /// The logged-in user, or 401.
    async fn user(&self) -> Result<String, Fail> {
        let token = self
            .session
            .as_deref()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthorized("a valid session token is required"))?;
        let (app, hash) = (self.app_id.clone(), sha256_hex(token));
        self.state
            .store
            .session_user(&app, &hash)
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
        let found = self
            .state
            .store
            .find_login(&app, email.as_deref(), username.as_deref())
            .await?;
        match <[_; 1]>::try_from(found) {
            // Verified off the async threads: argon2 takes tens of milliseconds.
            Ok([(id, hash)]) => {
                if self.state.hashing.verify(password, hash).await? {
                    Ok(id)
                } else {
                    Err(unauthorized("wrong email, username or password"))
                }
            }
            Err(found) if found.is_empty() => {
                Err(unauthorized("wrong email, username or password"))
            }
            // Never whichever row comes first.
            Err(_) => Err(bad(
                "the email and the username belong to different users; send one of them",
            )),
        }
    }

    async fn profile(&self, user_id: &str) -> Result<Value, Fail> {
        let (app, user) = (self.app_id.to_owned(), user_id.to_owned());
        self.state
            .store
            .user_profile(&app, &user)
            .await?
            .ok_or_else(|| Fail::new(StatusCode::NOT_FOUND, "no such user"))
    }

    async fn profiles(&self) -> Result<Vec<(String, Value)>, Fail> {
        let app = self.app_id.to_owned();
        let ids = self.state.store.user_ids(&app).await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let profile = self.profile(&id).await?;
            out.push((id, profile));
        }
        Ok(out)
    }
}

fn envelope(items: Vec<(String, Value)>, count: Option<usize>) -> Response {
    let mut body =
        json!({ "success": Value::Object(items.into_iter().collect::<Map<_, _>>()), "errors": {} });
    if let Some(n) = count {
        body["count"] = json!(n);
    }
    json_response(StatusCode::OK, body)
}

/// `POST account/create`.
pub(crate) async fn create(r: Request) -> Result<Response, Fail> {
    create_account(&r).await
}

/// `POST account/login`.
pub(crate) async fn login(r: Request) -> Result<Response, Fail> {
    let body = r.json()?;
    let user = r.authenticate(&body, "password").await?;
    Ok(json_response(StatusCode::OK, session_for(&r, &user).await?))
}

/// `GET account/me`.
pub(crate) async fn me(r: Request) -> Result<Response, Fail> {
    let user = r.user().await?;
    Ok(json_response(StatusCode::OK, r.profile(&user).await?))
}

/// `GET account`: every user.
pub(crate) async fn list_all(r: Request) -> Result<Response, Fail> {
    list(&r, None).await
}

/// `GET account/search?p=`.
pub(crate) async fn search(r: Request) -> Result<Response, Fail> {
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

/// `GET account/{id}`.
pub(crate) async fn by_id(path: PathParams, r: Request) -> Result<Response, Fail> {
    let id = path.get("id");
    Ok(envelope(vec![(id.to_owned(), r.profile(id).await?)], None))
}

/// `GET account/{id}` for a path another route owns for other methods
/// (`account/create`...): CloudMine reads the word as a user id.
pub(crate) async fn profile_answer(
    state: &Arc<AppState>,
    app_id: &str,
    id: &str,
) -> Result<Response, Fail> {
    let (app, user) = (app_id.to_owned(), id.to_owned());
    let profile = state
        .store
        .user_profile(&app, &user)
        .await?
        .ok_or_else(|| Fail::new(StatusCode::NOT_FOUND, "no such user"))?;
    Ok(envelope(vec![(id.to_owned(), profile)], None))
}

/// `POST account/password/reset/{token}`.
pub(crate) async fn confirm_reset(path: PathParams, r: Request) -> Result<Response, Fail> {
    confirm(&r, path.get("token")).await
}

/// Test hook: `/_emulator/{app}/outbox` lists the mails sent for an app
/// (password resets), behind that app's API key.
pub(crate) async fn outbox(
    caller: Caller,
    State(state): State<Arc<AppState>>,
) -> Result<Response, Fail> {
    let mails = crate::sent::mails(&*state.store, Some(&caller.app_id)).await?;
    let pushes = crate::sent::pushes(&*state.store, Some(&caller.app_id)).await?;
    Ok(json_response(
        StatusCode::OK,
        json!({ "mails": mails, "pushes": pushes }),
    ))
}

async fn create_account(r: &Request) -> Result<Response, Fail> {
    let body = r.json()?;
    let credentials = body.get("credentials").cloned().unwrap_or(Value::Null);
    let email = str_field(&credentials, "email").map(str::to_owned);
    let username = str_field(&credentials, "username").map(str::to_owned);
    if email.is_none() && username.is_none() {
        return Err(bad("an email or a username is required"));
    }
    if email.as_deref().is_some_and(|e| !valid_email(e)) {
        return Err(bad("the email address is not valid"));
    }
    let password =
        str_field(&credentials, "password").ok_or_else(|| bad("the password is required"))?;
    r.state.password_policy.check(password)?;
    let profile = match body.get("profile") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(p @ Value::Object(_)) => p.clone(),
        Some(_) => return Err(bad("profile must be a JSON object")),
    };
    let hash = r.state.hashing.hash(password.to_owned()).await?;
    let id = random_hex(16);
    let created = r
        .state
        .store
        .create_account(
            &r.app_id,
            &id,
            email.as_deref(),
            username.as_deref(),
            &hash,
            &profile,
        )
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
async fn session_for(r: &Request, user: &str) -> Result<Value, Fail> {
    let token = random_hex(32);
    if token.is_empty() {
        return Err(Fail::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the OS random generator failed",
        ));
    }
    let expires_ms = now_ms().saturating_add(SESSION_TTL_MS);
    let (app, uid, hash) = (r.app_id.to_owned(), user.to_owned(), sha256_hex(&token));
    r.state
        .store
        .create_session(&hash, &app, &uid, expires_ms)
        .await?;
    let expires = std::time::SystemTime::UNIX_EPOCH
        + std::time::Duration::from_millis(u64::try_from(expires_ms).unwrap_or(0));
    Ok(json!({
        "session_token": token,
        "expires": httpdate::fmt_http_date(expires),
        "profile": r.profile(user).await?,
    }))
}

/// `account` route.
pub(crate) async fn logout(r: Request) -> Result<Response, Fail> {
    let r = &r;
    r.user().await?;
    let hash = sha256_hex(r.session.as_deref().unwrap_or_default());
    r.state.store.delete_session(&hash).await?;
    Ok(json_response(StatusCode::OK, json!({})))
}

/// `account` route.
pub(crate) async fn update(r: Request) -> Result<Response, Fail> {
    let r = &r;
    let user = r.user().await?;
    let mut patch = r.json()?;
    strip_reserved(&mut patch);
    let (app, uid) = (r.app_id.to_owned(), user.clone());
    r.state.store.update_profile(&app, &uid, &patch).await?;
    Ok(envelope(
        vec![(user.clone(), r.profile(&user).await?)],
        None,
    ))
}

/// Removes the fields a profile write may not set: the id, the type, the
/// linked services and the credentials (changed through their own calls).
pub(crate) fn strip_reserved(profile: &mut Value) {
    if let Value::Object(m) = profile {
        for reserved in ["__id__", "__type__", "__services__", "email", "username"] {
            m.remove(reserved);
        }
    }
}

async fn list(r: &Request, filter: Option<&str>) -> Result<Response, Fail> {
    let params = ServerParams::parse(&r.query)?;
    let mut users = r.profiles().await?;
    if let Some(q) = filter {
        let q = query::parse(q).map_err(bad)?;
        users.retain(|(id, profile)| q.matches(id, profile));
    }
    let (page, total) = params.page(users);
    Ok(envelope(page, params.count.then_some(total)))
}

/// `account` route.
pub(crate) async fn change_password(r: Request) -> Result<Response, Fail> {
    let r = &r;
    let body = r.json()?;
    let new = body
        .get("credentials")
        .and_then(|c| str_field(c, "password"))
        .ok_or_else(|| bad("credentials.password (the new password) is required"))?
        .to_owned();
    let user = r.authenticate(&body, "password").await?;
    r.state.password_policy.check(&new)?;
    let hash = r.state.hashing.hash(new).await?;
    let app = r.app_id.to_owned();
    r.state.store.set_password(&app, &user, &hash).await?;
    Ok(json_response(StatusCode::OK, json!({})))
}

/// `account` route.
pub(crate) async fn change_credentials(r: Request) -> Result<Response, Fail> {
    let r = &r;
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
    if email.as_deref().is_some_and(|e| !valid_email(e)) {
        return Err(bad("the email address is not valid"));
    }
    if let Some(p) = &password {
        r.state.password_policy.check(p)?;
    }
    let (app, uid) = (r.app_id.to_owned(), user.clone());
    let ok = r
        .state
        .store
        .set_credentials(&app, &uid, email.as_deref(), username.as_deref())
        .await?;
    if !ok {
        return Err(Fail::new(
            StatusCode::CONFLICT,
            "a user with this email or username already exists",
        ));
    }
    if let Some(p) = password {
        let hash = r.state.hashing.hash(p).await?;
        let app = r.app_id.to_owned();
        r.state.store.set_password(&app, &user, &hash).await?;
    }
    Ok(json_response(StatusCode::OK, json!({})))
}

/// `account` route.
pub(crate) async fn delete(r: Request) -> Result<Response, Fail> {
    let r = &r;
    let body = r.json()?;
    let user = r.authenticate(&body, "password").await?;
    let app = r.app_id.to_owned();
    r.state.store.delete_user(&app, &user).await?;
    Ok(json_response(StatusCode::OK, json!({})))
}

/// `account` route.
pub(crate) async fn reset(r: Request) -> Result<Response, Fail> {
    let r = &r;
    let body = r.json()?;
    let email = str_field(&body, "email")
        .ok_or_else(|| bad("email is required"))?
        .to_owned();
    let app = r.app_id.to_owned();
    let lookup = email.clone();
    let found = r
        .state
        .store
        .find_login(&app, Some(lookup.as_str()), None)
        .await?;
    // The same answer whether or not the address is known: no account probing.
    if let Some((user, _)) = found.into_iter().next() {
        let token = random_hex(24);
        let (app, hash) = (r.app_id.to_owned(), sha256_hex(&token));
        let expires = now_ms().saturating_add(RESET_TTL_MS);
        r.state
            .store
            .create_reset(&hash, &app, &user, expires)
            .await?;
        let mail = Mail {
            app_id: r.app_id.to_owned(),
            to: email,
            subject: "Reset your password".into(),
            body: format!("Use this code to choose a new password within an hour: {token}"),
            token,
        };
        crate::sent::record_mail(&*r.state.store, &mail).await?;
    }
    Ok(json_response(StatusCode::OK, json!({})))
}

async fn confirm(r: &Request, token: &str) -> Result<Response, Fail> {
    let body = r.json()?;
    let password = str_field(&body, "password")
        .ok_or_else(|| bad("password is required"))?
        .to_owned();
    r.state.password_policy.check(&password)?;
    let (app, hash) = (r.app_id.to_owned(), sha256_hex(token));
    let user = r
        .state
        .store
        .take_reset(&hash, &app)
        .await?
        .ok_or_else(|| Fail::new(StatusCode::NOT_FOUND, "unknown or expired reset token"))?;
    let hash = r.state.hashing.hash(password).await?;
    let app = r.app_id.to_owned();
    r.state.store.set_password(&app, &user, &hash).await?;
    Ok(json_response(StatusCode::OK, json!({})))
}

/// An `@`, and no blank or control character anywhere: `" a@b.c"` would
/// be a second email next to `a@b.c` (emails are compared only without
/// regard to ASCII case).
fn valid_email(email: &str) -> bool {
    email.contains('@') && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}
