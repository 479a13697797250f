//! The HTTP side: one handler that records, delays or faults a request, then
//! routes it under `/v1/app/{appid}/[user/]`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::db::Db;
use crate::hooks::{Fault, RECORDED_BODY_LIMIT, RecordedRequest};
use crate::objects::{Ctx, ServerParams};
use crate::{EmulatorError, SnippetInput};

/// A server-side snippet.
pub(crate) type Snippet = Arc<dyn Fn(SnippetInput) -> Result<Value, String> + Send + Sync>;

const MAX_RECORDED: usize = 10_000;
pub(crate) const SERVER_PARAMS: &[&str] = &[
    "limit",
    "skip",
    "count",
    "sort",
    "f",
    "params",
    "async",
    "result_only",
    "shared",
    "shared_only",
    "extended_responses",
    "distance",
    "units",
    "userid",
];

pub(crate) struct Shared {
    pub db: Arc<Db>,
    /// `http://127.0.0.1:PORT`, for absolute URLs in redirects.
    pub base_url: String,
    pub social: crate::broker::SocialSettings,
    pub baasbox: crate::baasbox::BaasBoxSettings,
    pub provider: crate::provider::ProviderState,
    pub outbox: Mutex<Vec<crate::accounts::Mail>>,
    /// App id → API key; apps are only added at start, so this is read-only.
    pub apps: HashMap<String, String>,
    pub max_body: usize,
    /// Largest file per app, and the default for apps not listed.
    pub file_limits: HashMap<String, u64>,
    pub default_file_limit: u64,
    /// A temporary files directory (for an in-memory database), removed
    /// when the server goes away.
    pub _files_temp: Option<tempfile::TempDir>,
    pub snippets: HashMap<String, Snippet>,
    pub recorded: Mutex<VecDeque<RecordedRequest>>,
    pub delay_ms: AtomicU64,
    pub faults: Mutex<Vec<Fault>>,
}

impl Shared {
    /// The largest file `app_id` may upload.
    pub(crate) fn file_limit(&self, app_id: &str) -> u64 {
        self.file_limits
            .get(app_id)
            .copied()
            .unwrap_or(self.default_file_limit)
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// A refusal: status and message, sent as `{"errors": [message]}`.
#[derive(Debug)]
pub(crate) struct Fail(pub(crate) StatusCode, pub(crate) String);

impl Fail {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Fail(status, message.into())
    }
}

impl From<EmulatorError> for Fail {
    fn from(e: EmulatorError) -> Self {
        tracing::error!(error = %e, "internal error");
        Fail::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error in the emulator",
        )
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        (self.0, axum::Json(json!({ "errors": [self.1] }))).into_response()
    }
}

pub(crate) fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn request_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        return "0".repeat(32);
    }
    hex::encode(bytes)
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let mut response = match dispatch(&shared, req).await {
        Ok(r) => r,
        Err(fail) => fail.into_response(),
    };
    if let Ok(v) = HeaderValue::from_str(&request_id()) {
        response.headers_mut().insert("x-request-id", v);
    }
    tracing::info!(
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

pub(crate) async fn blocking<T: Send + 'static>(
    db: &Arc<Db>,
    f: impl FnOnce(&Db) -> Result<T, EmulatorError> + Send + 'static,
) -> Result<T, Fail> {
    let db = Arc::clone(db);
    tokio::task::spawn_blocking(move || f(&db))
        .await
        .map_err(|e| Fail::from(EmulatorError::Config(format!("database task failed: {e}"))))?
        .map_err(Fail::from)
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

async fn dispatch(shared: &Arc<Shared>, req: Request) -> Result<Response, Fail> {
    let (parts, body) = req.into_parts();
    let raw_path = parts.uri.path().to_owned();
    let raw_query = parts.uri.query().map(str::to_owned);
    let query: Vec<(String, String)> = raw_query
        .as_deref()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let declared_len = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let too_large = || {
        Fail::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body exceeds {} bytes", shared.max_body),
        )
    };
    let mut record = RecordedRequest {
        method: parts.method.to_string(),
        path: decode(&raw_path),
        raw_query,
        query,
        headers,
        body: Vec::new(),
    };
    let segments: Vec<String> = raw_path.split('/').skip(1).map(decode).collect();
    // File uploads stream to disk; everything else is read whole, up to the limit.
    let (body, upload) = if is_upload(&segments, &parts.method) {
        (Some(axum::body::Bytes::new()), Some(body))
    } else if declared_len.is_some_and(|n| n > shared.max_body) {
        (None, None)
    } else {
        (to_bytes(body, shared.max_body).await.ok(), None)
    };
    if let Some(bytes) = &body {
        record.body = bytes[..bytes.len().min(RECORDED_BODY_LIMIT)].to_vec();
    }
    let request = record.clone();
    {
        let mut recorded = shared.recorded.lock().unwrap_or_else(|p| p.into_inner());
        if recorded.len() == MAX_RECORDED {
            recorded.pop_front();
        }
        recorded.push_back(record);
    }
    let delay = shared.delay_ms.load(Ordering::Relaxed);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let fault = {
        let mut faults = shared.faults.lock().unwrap_or_else(|p| p.into_inner());
        faults
            .iter()
            .position(|f| f.applies_to(&request.path))
            .map(|i| faults.remove(i))
    };
    if let Some(fault) = fault {
        let status =
            StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Ok(json_response(status, fault.body));
    }
    let body = body.ok_or_else(too_large)?;

    if segments.first().map(String::as_str) == Some("idp") {
        let rest: Vec<&str> = segments[1..].iter().map(String::as_str).collect();
        return Ok(crate::provider::route(
            shared,
            &parts.method,
            &rest,
            &request.query,
            &body,
            request.header("authorization"),
        ));
    }
    if shared.baasbox.app_code.is_some() {
        let prefix: Vec<&str> = shared
            .baasbox
            .prefix
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        if segments.len() >= prefix.len() && segments.iter().zip(&prefix).all(|(a, b)| a == b) {
            let rest: Vec<&str> = segments[prefix.len()..]
                .iter()
                .map(String::as_str)
                .collect();
            return Ok(crate::baasbox::route(shared, &parts.method, &rest, &request, &body).await);
        }
    }
    // Test hook: `GET /_emulator/{app}/outbox` lists the mails sent for an
    // app (password resets), behind that app's API key.
    if let ["_emulator", app, "outbox"] = segments
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        let Some(key) = shared.apps.get(*app) else {
            return Err(Fail::new(StatusCode::NOT_FOUND, "unknown application"));
        };
        let given = request.header("x-cloudmine-apikey").unwrap_or("");
        if !constant_time_eq(given.as_bytes(), key.as_bytes()) {
            return Err(Fail::new(
                StatusCode::UNAUTHORIZED,
                "invalid or missing API key",
            ));
        }
        let mails: Vec<crate::accounts::Mail> = shared
            .outbox
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|m| m.app_id == *app)
            .cloned()
            .collect();
        return Ok(json_response(
            StatusCode::OK,
            serde_json::json!({ "mails": mails }),
        ));
    }
    let [v1, app_word, app_id, rest @ ..] = segments.as_slice() else {
        return Err(no_endpoint(&parts.method, &request.path));
    };
    if v1 != "v1" || app_word != "app" || rest.is_empty() {
        return Err(no_endpoint(&parts.method, &request.path));
    }

    let Some(api_key) = shared.apps.get(app_id) else {
        // The browser-facing social routes answer with a page, not JSON.
        if let ["account", "social", "login" | "callback"]
        | ["account", "social", "login", "complete"] = rest
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            return Ok(crate::pages::error(
                StatusCode::NOT_FOUND,
                "This application is unknown.",
            ));
        }
        return Err(Fail::new(StatusCode::NOT_FOUND, "unknown application"));
    };
    // Browser-facing social routes: the key (when needed) is a query parameter.
    let words: Vec<&str> = rest.iter().map(String::as_str).collect();
    match (words.as_slice(), &parts.method) {
        (["account", "social", "login"], &Method::GET) => {
            return Ok(crate::broker::start(
                shared,
                app_id,
                api_key,
                &request.query,
                request.header("x-cloudmine-apikey"),
            )
            .await);
        }
        (["account", "social", "callback"], &Method::GET) => {
            return Ok(crate::broker::callback(shared, app_id, &request.query).await);
        }
        (["account", "social", "login", "complete"], &Method::GET) => {
            return Ok(crate::broker::complete());
        }
        _ => {}
    }

    let given = request.header("x-cloudmine-apikey").unwrap_or("");
    if !constant_time_eq(given.as_bytes(), api_key.as_bytes()) {
        return Err(Fail::new(
            StatusCode::UNAUTHORIZED,
            "invalid or missing API key",
        ));
    }

    if let (["account", "social", "login", "status", challenge], &Method::GET) =
        (words.as_slice(), &parts.method)
    {
        return Ok(crate::broker::status(shared, app_id, challenge, &request.query).await);
    }

    if words.first() == Some(&"account")
        && let Some(answer) = crate::accounts::route(
            shared,
            app_id,
            &parts.method,
            &words,
            request.header("x-cloudmine-sessiontoken"),
            &request.query,
            &body,
        )
        .await
    {
        return answer;
    }

    let (user_id, rest) = if rest[0] == "user" {
        let token = request
            .header("x-cloudmine-sessiontoken")
            .unwrap_or("")
            .to_owned();
        let app = app_id.clone();
        let user = if token.is_empty() {
            None
        } else {
            let hash = sha256_hex(&token);
            blocking(&shared.db, move |db| db.session_user(&app, &hash)).await?
        };
        match user {
            Some(user) => (Some(user), &rest[1..]),
            None => {
                return Err(Fail::new(
                    StatusCode::UNAUTHORIZED,
                    "a valid session token is required for user-level data",
                ));
            }
        }
    } else {
        (None, rest)
    };

    let owner = user_id.clone().unwrap_or_default();
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    match (rest.as_slice(), &parts.method, upload) {
        (["binary"], _, Some(body)) | (["binary", _], _, Some(body)) => {
            return crate::files::Upload {
                shared,
                app_id,
                owner: &owner,
                key: rest.get(1).copied(),
                headers: &parts.headers,
                filename: request.query_value("filename"),
                body,
            }
            .run()
            .await;
        }
        (["binary", key], &Method::GET, _) => {
            let force = request.query_value("force_download") == Some("true");
            return crate::files::download(shared, app_id, &owner, key, force).await;
        }
        (["binary"] | ["binary", _], m, _) => {
            return Err(Fail::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("method {m} is not allowed on {}", rest.join("/")),
            ));
        }
        _ => {}
    }
    let ctx = Ctx {
        shared: Arc::clone(shared),
        app_id: app_id.clone(),
        owner,
        user_id,
        params: ServerParams::parse(&request.query)?,
        request,
        body: body.to_vec(),
    };
    let method = parts.method;
    match (rest.as_slice(), &method) {
        (["text"], &Method::GET) => ctx.get_text().await,
        (["text"], &Method::PUT) => ctx.put_text(false).await,
        (["text"], &Method::POST) => ctx.put_text(true).await,
        (["data"], &Method::DELETE) => ctx.delete_data().await,
        (["search"], &Method::GET | &Method::POST) => ctx.search(method == Method::POST).await,
        (["run", name], &Method::GET | &Method::POST) => ctx.run(name, method == Method::POST),
        (["text" | "data" | "search"] | ["run", _], m) => Err(Fail::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("method {m} is not allowed on {}", rest.join("/")),
        )),
        _ => Err(no_endpoint(&method, &ctx.request.path)),
    }
}

/// `POST|PUT /v1/app/{id}/[user/]binary[/{key}]`: a file upload, streamed.
fn is_upload(segments: &[String], method: &Method) -> bool {
    if *method != Method::POST && *method != Method::PUT {
        return false;
    }
    let rest = match segments {
        [v1, app, _, rest @ ..] if v1 == "v1" && app == "app" => rest,
        _ => return false,
    };
    let rest = match rest {
        [user, rest @ ..] if user == "user" => rest,
        rest => rest,
    };
    matches!(rest, [b] | [b, _] if b == "binary")
}

fn no_endpoint(method: &Method, path: &str) -> Fail {
    Fail::new(
        StatusCode::NOT_FOUND,
        format!("no such endpoint: {method} {path}"),
    )
}
