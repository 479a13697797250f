//! The emulator's refusals: a status and a message, answered as CloudMine
//! does, `{"errors": [message]}`.

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::EmulatorError;
use crate::store::StoreError;

/// A refusal: status and message, sent as `{"errors": [message]}`.
#[derive(Debug)]
pub(crate) struct Fail(pub(crate) StatusCode, pub(crate) String);

impl Fail {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Fail(status, message.into())
    }

    /// 400 with `message`.
    pub(crate) fn bad(message: impl Into<String>) -> Self {
        Fail::new(StatusCode::BAD_REQUEST, message)
    }

    /// A 500 whose cause is logged, not shown.
    pub(crate) fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Fail::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error in the emulator",
        )
    }
}

impl From<EmulatorError> for Fail {
    fn from(e: EmulatorError) -> Self {
        Fail::internal(&e)
    }
}

impl Fail {
    /// The one answer to a storage failure, for every front end (JSON, the
    /// sign-in pages, BaasBox): text the database cannot keep is a 400 and
    /// a database that gave up waiting a 503, both saying so; anything
    /// else a 500 whose cause is logged with `what` failed.
    pub(crate) fn storage(what: &str, e: StoreError) -> Self {
        match e {
            StoreError::Unstorable(message) => Fail::bad(message),
            StoreError::Busy(message) => {
                tracing::warn!(reason = %message, "{what}: storage busy");
                Fail::new(StatusCode::SERVICE_UNAVAILABLE, message)
            }
            other => Fail::internal(&format_args!("{what}: {other}")),
        }
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::storage("request", e)
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let mut response = json_response(self.0, json!({ "errors": [self.1] }));
        retry_after(&mut response);
        response
    }
}

/// A busy server (503) says when to come back: `Retry-After: 1`.
pub(crate) fn retry_after(response: &mut Response) {
    if response.status() == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("1"),
        );
    }
}

/// A JSON answer.
pub(crate) fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// 404 for a path no route serves: `no such endpoint: {method} {path}`
/// (the percent-decoded path).
pub(crate) fn no_endpoint(method: &Method, path: &str) -> Fail {
    Fail::new(
        StatusCode::NOT_FOUND,
        format!("no such endpoint: {method} {path}"),
    )
}

/// 405 for a known resource and another method.
pub(crate) fn not_allowed(method: &Method, resource: &str) -> Fail {
    Fail::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} is not allowed on {resource}"),
    )
}
