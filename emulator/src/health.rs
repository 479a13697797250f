//! The probes of a load balancer or orchestrator, outside every app:
//! `GET /healthz` (the process serves; touches nothing) and `GET /readyz`
//! (the store answers [`Store::ping`] within [`READY_DEADLINE`]). Both also
//! answer `HEAD`. [`Probes`] wraps the whole service, so a probe skips the
//! middleware: no API key, no request log line, no recorded request, no
//! injected delay or fault, no body read. Other methods on these paths go
//! on to the router (and its usual 404).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::Semaphore;

use crate::fail::{Fail, json_response};
use crate::serve::App;
use crate::store::Store;

/// How long `/readyz` waits for the store before answering 503.
pub const READY_DEADLINE: Duration = Duration::from_secs(2);

/// Readiness checks running at once; a check that outlives its deadline
/// keeps its slot until the store answers, so a hung database holds at
/// most this many tasks.
const MAX_CHECKS: usize = 4;

/// The service with the probes in front of it.
#[derive(Clone)]
pub(crate) struct Probes<S> {
    inner: S,
    store: Arc<dyn Store>,
    checks: Arc<Semaphore>,
}

impl<S> Probes<S> {
    /// `inner` with `/healthz` and `/readyz` answered before it.
    pub(crate) fn new(inner: S, store: Arc<dyn Store>) -> Self {
        Probes {
            inner,
            store,
            checks: Arc::new(Semaphore::new(MAX_CHECKS)),
        }
    }
}

/// Which probe a request is, if any.
enum Probe {
    Live,
    Ready,
}

fn probe_of(request: &Request) -> Option<Probe> {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return None;
    }
    match request.uri().path() {
        "/healthz" => Some(Probe::Live),
        "/readyz" => Some(Probe::Ready),
        _ => None,
    }
}

type Answer = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl<S: App> tower::Service<Request> for Probes<S> {
    type Response = Response;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Answer {
        let head = request.method() == Method::HEAD;
        match probe_of(&request) {
            None => Box::pin(self.inner.call(request)),
            Some(Probe::Live) => Box::pin(async move { Ok(bodiless(head, ok_answer("alive"))) }),
            Some(Probe::Ready) => {
                let (store, checks) = (Arc::clone(&self.store), Arc::clone(&self.checks));
                Box::pin(async move { Ok(bodiless(head, readiness(store, checks).await)) })
            }
        }
    }
}

fn ok_answer(status: &str) -> Response {
    json_response(StatusCode::OK, json!({ "status": status }))
}

/// A `HEAD` answer keeps the status and headers, not the body.
fn bodiless(head: bool, response: Response) -> Response {
    if !head {
        return response;
    }
    let (parts, _) = response.into_parts();
    Response::from_parts(parts, Body::empty())
}

/// 200 when the store answers in time; 503 with a reason otherwise. The
/// store's error goes to the log only (it may name a host or a path).
async fn readiness(store: Arc<dyn Store>, checks: Arc<Semaphore>) -> Response {
    let check = async move {
        let permit = checks
            .acquire_owned()
            .await
            .map_err(|_| "the readiness check is shutting down".to_owned())?;
        // Its own task: one past the deadline runs on, holding its slot.
        let ping = tokio::spawn(async move {
            let _permit = permit;
            store.ping().await
        });
        match ping.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness check: the database failed");
                Err("the database is unavailable (see the server log)".to_owned())
            }
            Err(_) => Err("the readiness check failed".to_owned()),
        }
    };
    let outcome = match tokio::time::timeout(READY_DEADLINE, check).await {
        Ok(outcome) => outcome,
        Err(_) => {
            tracing::warn!("readiness check: the database did not answer in time");
            Err(format!(
                "the database did not answer within {} ms",
                READY_DEADLINE.as_millis()
            ))
        }
    };
    match outcome {
        Ok(()) => ok_answer("ready"),
        Err(reason) => Fail::new(StatusCode::SERVICE_UNAVAILABLE, reason).into_response(),
    }
}
