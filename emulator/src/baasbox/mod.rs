//! The BaasBox front end (PROTOCOL.md §6): `POST /login`, `POST /logout`,
//! `GET /me`, `POST /user` and the four social routes, under a configurable
//! prefix, with BaasBox's envelope and error body.
//!
//! Social tokens are validated against the built-in identity provider (the
//! one the CloudMine broker uses). Where BaasBox was wrong this does better,
//! and `docs/PROTOCOL.md` lists each difference: linking an identity another
//! user owns is a 409, an unknown network or a missing / non-JSON body is a
//! 400, unlink leaves no trace, sessions persist in SQLite and expire.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Bytes, to_bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::crypto::{constant_time_eq, random_hex, sha256_hex};
use crate::extract::{PathParams, query_pairs, segments};
use crate::fail::Fail;
use crate::state::{AppState, BaasBoxSettings};

mod social;
use crate::store::StoreError;
use crate::store::{BbUser, now_ms};

/// The networks the BaasBox front end knows.
pub const BAASBOX_NETWORKS: &[&str] = &["facebook", "google", "github"];

const SESSION_HEADER: &str = "x-bb-session";
const APPCODE_HEADER: &str = "x-baasbox-appcode";
/// BaasBox's code for an invalid or expired session.
const BB_SESSION_INVALID: &str = "40101";

/// A refusal in BaasBox's error shape.
struct BbError {
    status: StatusCode,
    message: String,
    bb_code: Option<&'static str>,
}

fn error(status: StatusCode, message: impl Into<String>) -> BbError {
    BbError {
        status,
        message: message.into(),
        bb_code: None,
    }
}

impl From<StoreError> for BbError {
    fn from(e: StoreError) -> Self {
        Fail::from(e).into()
    }
}

impl From<Fail> for BbError {
    fn from(f: Fail) -> Self {
        error(f.0, f.1)
    }
}

const SECRET_HEADERS: &[&str] = &[SESSION_HEADER, APPCODE_HEADER, "authorization", "cookie"];

impl BbError {
    fn into_response(
        self,
        method: &Method,
        headers: &[(String, String)],
        resource: &str,
    ) -> Response {
        // BaasBox echoed the request headers, secrets included; ours are
        // redacted.
        let headers: Map<String, Value> = headers
            .iter()
            .map(|(n, v)| {
                let v = if SECRET_HEADERS.contains(&n.as_str()) {
                    "[redacted]"
                } else {
                    v.as_str()
                };
                (n.clone(), Value::from(v))
            })
            .collect();
        let mut body = json!({
            "result": "error",
            "message": self.message,
            "resource": resource,
            "method": method.as_str(),
            "request_header": headers,
            "API_version": "0.9.5",
            "http_code": self.status.as_u16(),
        });
        if let Some(code) = self.bb_code {
            body["bb_code"] = Value::from(code);
        }
        let mut response = (self.status, axum::Json(body)).into_response();
        crate::fail::retry_after(&mut response);
        response
    }
}

fn ok(status: StatusCode, data: Value, session: Option<&str>) -> Response {
    let body = json!({ "result": "ok", "data": data, "http_code": status.as_u16() });
    let mut response = (status, axum::Json(body)).into_response();
    if let Some(token) = session.and_then(|t| HeaderValue::from_str(t).ok()) {
        response.headers_mut().insert(SESSION_HEADER, token);
    }
    response
}

/// A request under the BaasBox prefix, as the handlers read it.
pub(crate) struct BbCall {
    state: Arc<AppState>,
    method: Method,
    /// Headers as text (invalid UTF-8 replaced), in order.
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    /// The path under the prefix, e.g. `/social/github`.
    resource: String,
    /// The `{network}` of the social routes.
    network: String,
    body: Bytes,
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (n.as_str().to_owned(), value)
        })
        .collect()
}

fn resource_of(rest: &[String]) -> String {
    format!("/{}", rest.join("/"))
}

impl FromRequest<Arc<AppState>> for BbCall {
    type Rejection = Response;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let network = PathParams::from_request_parts(&mut parts, state)
            .await
            .map_or_else(|e| match e {}, |p| p.get("network").to_owned());
        // Nested under the prefix: the URI is the path below it.
        let resource = resource_of(&segments(parts.uri.path()));
        let headers = header_pairs(&parts.headers);
        let body = match to_bytes(body, usize::MAX).await {
            Ok(body) => body,
            Err(e) => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    format!("the body could not be read: {e}"),
                )
                .into_response(&parts.method, &headers, &resource));
            }
        };
        Ok(BbCall {
            state: Arc::clone(state),
            method: parts.method,
            headers,
            query: query_pairs(parts.uri.query()),
            resource,
            network,
            body,
        })
    }
}

impl BbCall {
    fn answer(&self, outcome: Result<Response, BbError>) -> Response {
        outcome.unwrap_or_else(|e| e.into_response(&self.method, &self.headers, &self.resource))
    }
}

/// `POST /login`.
pub(crate) async fn login(c: BbCall) -> Response {
    c.answer(c.login().await)
}

/// `POST /logout`.
pub(crate) async fn logout(c: BbCall) -> Response {
    c.answer(c.logout().await)
}

/// `GET /me`.
pub(crate) async fn me(c: BbCall) -> Response {
    c.answer(c.me().await)
}

/// `POST /user`: sign up.
pub(crate) async fn signup(c: BbCall) -> Response {
    c.answer(c.signup().await)
}

/// `GET /social`: the user's links.
pub(crate) async fn links(c: BbCall) -> Response {
    c.answer(c.list().await)
}

/// `POST /social/{network}`: log in with a provider's token.
pub(crate) async fn social_login(c: BbCall) -> Response {
    c.answer(c.social_login(&c.network).await)
}

/// `PUT /social/{network}`: link.
pub(crate) async fn link(c: BbCall) -> Response {
    c.answer(c.link(&c.network).await)
}

/// `DELETE /social/{network}`: unlink.
pub(crate) async fn unlink(c: BbCall) -> Response {
    c.answer(c.unlink(&c.network).await)
}

/// What the front end answers for a path or method it does not serve;
/// `rest` is the decoded path below the prefix.
pub(crate) fn miss(method: &Method, headers: &HeaderMap, rest: &[String]) -> Response {
    let resource = resource_of(rest);
    let words: Vec<&str> = rest.iter().map(String::as_str).collect();
    let e = match words.as_slice() {
        ["login" | "logout" | "me" | "user" | "social"] | ["social", _] => error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} is not allowed on {resource}"),
        ),
        _ => error(
            StatusCode::NOT_FOUND,
            format!("no such resource: {resource}"),
        ),
    };
    e.into_response(method, &header_pairs(headers), &resource)
}

fn session_ttl_ms(settings: &BaasBoxSettings) -> i64 {
    i64::try_from(settings.session_ttl.as_millis()).unwrap_or(i64::MAX)
}

impl BbCall {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn settings(&self) -> &BaasBoxSettings {
        &self.state.baasbox
    }

    fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Checks the app code (header, or query `X-BAASBOX-APPCODE`/`appcode`,
    /// or `fallback` from a login body).
    fn app_code(&self, fallback: Option<&str>) -> Result<(), BbError> {
        let given = self
            .header(APPCODE_HEADER)
            .or_else(|| self.query(APPCODE_HEADER))
            .or_else(|| self.query("appcode"))
            .or(fallback);
        let expected = self.settings().app_code.as_deref().unwrap_or_default();
        match given {
            None => Err(error(
                StatusCode::BAD_REQUEST,
                "the X-BAASBOX-APPCODE header is missing",
            )),
            Some(code) if constant_time_eq(code.as_bytes(), expected.as_bytes()) => Ok(()),
            Some(_) => Err(error(StatusCode::UNAUTHORIZED, "invalid app code")),
        }
    }

    /// The session's user name (or HTTP Basic credentials' with the app code).
    async fn user(&self) -> Result<String, BbError> {
        self.app_code(None)?;
        if let Some(token) = self
            .header(SESSION_HEADER)
            .or_else(|| self.query(SESSION_HEADER))
        {
            let hash = sha256_hex(token);
            let user = self.state.store.bb_session_user(&hash).await?;
            return user.ok_or(BbError {
                status: StatusCode::UNAUTHORIZED,
                message: "the session is invalid or expired".into(),
                bb_code: Some(BB_SESSION_INVALID),
            });
        }
        if let Some((username, password)) = self.basic() {
            let name = username.clone();
            let user = self.state.store.bb_user(&name).await?;
            if let Some(user) = user
                && self
                    .state
                    .hashing
                    .verify(password, user.password_hash.clone())
                    .await?
            {
                return Ok(user.username);
            }
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "wrong user name or password",
            ));
        }
        Err(error(
            StatusCode::UNAUTHORIZED,
            "the X-BB-SESSION header is missing",
        ))
    }

    fn basic(&self) -> Option<(String, String)> {
        let encoded = self.header("authorization")?.strip_prefix("Basic ")?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, password) = text.split_once(':')?;
        Some((user.to_owned(), password.to_owned()))
    }

    /// Fields from a JSON or form body.
    fn fields(&self) -> Result<Map<String, Value>, BbError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(error(StatusCode::BAD_REQUEST, "the request has no body"));
        }
        let is_form = self
            .header("content-type")
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            return Ok(form_urlencoded::parse(&self.body)
                .map(|(k, v)| (k.into_owned(), Value::from(v.into_owned())))
                .collect());
        }
        match serde_json::from_slice(&self.body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(error(
                StatusCode::BAD_REQUEST,
                "the body must be a JSON object",
            )),
            Err(e) => Err(error(
                StatusCode::BAD_REQUEST,
                format!("the body is not valid JSON: {e}"),
            )),
        }
    }

    async fn start_session(&self, username: &str) -> Result<String, BbError> {
        let token = random_hex(32);
        if token.is_empty() {
            return Err(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the OS random generator failed",
            ));
        }
        let (hash, user) = (sha256_hex(&token), username.to_owned());
        let expires = now_ms().saturating_add(session_ttl_ms(self.settings()));
        self.state
            .store
            .bb_create_session(&hash, &user, expires)
            .await?;
        Ok(token)
    }

    async fn profile(&self, username: &str) -> Result<Value, BbError> {
        let name = username.to_owned();
        let user = self.state.store.bb_user(&name).await?;
        let links = self.state.store.bb_links(&name).await?;
        let user = user.ok_or_else(|| error(StatusCode::NOT_FOUND, "the user no longer exists"))?;
        let social: Map<String, Value> = links
            .iter()
            .map(|l| (l.network.clone(), json!({ "id": l.provider_id })))
            .collect();
        let mut visible_by_user = Map::new();
        if let Some(email) = &user.email {
            visible_by_user.insert("email".into(), Value::from(email.as_str()));
        }
        let mut registered = Map::new();
        if !social.is_empty() {
            registered.insert("_social".into(), Value::Object(social));
        }
        Ok(json!({
            "user": {
                "name": user.username,
                "status": "ACTIVE",
                "roles": [{ "name": "registered" }],
            },
            "id": user.id,
            "signUpDate": httpdate::fmt_http_date(
                std::time::UNIX_EPOCH + Duration::from_millis(u64::try_from(user.created).unwrap_or(0))
            ),
            "visibleByAnonymousUsers": {},
            "visibleByTheUser": visible_by_user,
            "visibleByFriends": {},
            "visibleByRegisteredUsers": registered,
            "generated_username": user.generated,
        }))
    }

    /// A login answer: the profile plus the session, also as a header.
    async fn logged_in(&self, username: &str, status: StatusCode) -> Result<Response, BbError> {
        let token = self.start_session(username).await?;
        let mut data = self.profile(username).await?;
        data["X-BB-SESSION"] = Value::from(token.as_str());
        Ok(ok(status, data, Some(&token)))
    }

    async fn login(&self) -> Result<Response, BbError> {
        let fields = self.fields()?;
        let field = |name: &str| text_field(&fields, name);
        self.app_code(field("appcode").as_deref())?;
        let (Some(username), Some(password)) = (field("username"), field("password")) else {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "username and password are required",
            ));
        };
        let name = username.clone();
        let user = self.state.store.bb_user(&name).await?;
        let verified = match user {
            Some(u) => self
                .state
                .hashing
                .verify(password, u.password_hash.clone())
                .await?
                .then_some(u),
            None => None,
        };
        match verified {
            Some(user) => self.logged_in(&user.username, StatusCode::OK).await,
            None => Err(error(
                StatusCode::UNAUTHORIZED,
                "wrong user name or password",
            )),
        }
    }

    async fn signup(&self) -> Result<Response, BbError> {
        self.app_code(None)?;
        let fields = self.fields()?;
        let field = |name: &str| text_field(&fields, name);
        let (Some(username), Some(password)) = (field("username"), field("password")) else {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "username and password are required",
            ));
        };
        self.state.password_policy.check(&password)?;
        let hash = self.state.hashing.hash(password).await?;
        let user = BbUser {
            username: username.clone(),
            id: random_hex(16),
            password_hash: Some(hash),
            generated: false,
            email: field("email"),
            created: now_ms(),
        };
        let created = self.state.store.bb_create_user(&user).await?;
        if !created {
            return Err(error(
                StatusCode::CONFLICT,
                format!("the user name {username:?} is taken"),
            ));
        }
        self.logged_in(&username, StatusCode::CREATED).await
    }

    async fn logout(&self) -> Result<Response, BbError> {
        self.app_code(None)?;
        let Some(token) = self
            .header(SESSION_HEADER)
            .or_else(|| self.query(SESSION_HEADER))
        else {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "the X-BB-SESSION header is missing",
            ));
        };
        let hash = sha256_hex(token);
        self.state.store.bb_delete_session(&hash).await?;
        Ok(ok(StatusCode::OK, Value::from("user logged out"), None))
    }

    async fn me(&self) -> Result<Response, BbError> {
        let user = self.user().await?;
        Ok(ok(StatusCode::OK, self.profile(&user).await?, None))
    }
}

/// A non-empty string field of a body.
fn text_field(fields: &Map<String, Value>, name: &str) -> Option<String> {
    fields
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A generated user name: a UUID-shaped random value, as BaasBox makes.
fn uuid_like() -> String {
    let h = random_hex(16);
    if h.len() < 32 {
        return h;
    }
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
