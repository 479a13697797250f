//! The dashboard (`/_dashboard/...`): server-rendered pages over the store
//! for a person running the emulator. [`Service`] wraps the whole API
//! service: dashboard paths go to the dashboard's own router (CloudMine's
//! middleware, API keys and sessions play no part there), every other
//! request goes on to the API and is recorded in the [`activity`] log.
//! Off unless the builder enables it ([`Settings`]). Nothing below the
//! builder imports this module.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};

use crate::serve::App;
use crate::state::AppState;

mod activity;
mod apps;
mod auth;
mod chart;
mod csrf;
mod files;
mod host;
mod layout;
mod log;
mod login;
mod objects;
mod outbox;
mod scope;
mod session;
mod shared;
mod sites;
mod snippets;
mod social;
mod users;

use activity::Activity;
use shared::{Dash, PREFIX};

/// The largest form body a dashboard page accepts (an object's JSON).
const FORM_LIMIT: usize = 1024 * 1024;

/// How the dashboard is enabled: not at all, open (no login, loopback
/// only), or behind a password.
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    /// `--dashboard`: served without a login (refused off loopback).
    pub open: bool,
    /// `--dashboard-password`: a login form with this password.
    pub password: Option<String>,
}

impl Settings {
    /// Whether the dashboard is served at all.
    pub(crate) fn enabled(&self) -> bool {
        self.open || self.password.is_some()
    }

    /// Refuses an open dashboard on an address others can reach, and an
    /// empty password.
    pub(crate) fn validate(&self, listen: SocketAddr) -> Result<(), String> {
        if self.password.as_deref() == Some("") {
            return Err("the dashboard password must not be empty".into());
        }
        if self.open && self.password.is_none() && !listen.ip().is_loopback() {
            return Err(format!(
                "--dashboard (no login) is only served on a loopback address, not {listen}: \
                 listen on 127.0.0.1 or ::1, or set --dashboard-password"
            ));
        }
        Ok(())
    }
}

/// The API service with the dashboard in front of it.
#[derive(Clone)]
pub(crate) struct Service<S> {
    inner: S,
    pages: Router,
    activity: Arc<Activity>,
}

/// `inner` with the dashboard in front, as `settings` enable it.
pub(crate) fn wrap<S>(inner: S, settings: Settings, app: Arc<AppState>) -> Service<S> {
    let activity = Arc::new(Activity::default());
    let dash = Arc::new(Dash {
        secure: app.base_url.starts_with("https://"),
        app,
        auth: auth::Auth::new(settings.password),
        activity: Arc::clone(&activity),
    });
    Service {
        inner,
        pages: routes(dash),
        activity,
    }
}

/// Whether a request path is the dashboard's.
fn is_dashboard(path: &str) -> bool {
    path == PREFIX
        || path
            .strip_prefix(PREFIX)
            .is_some_and(|r| r.starts_with('/'))
}

fn routes(dash: Arc<Dash>) -> Router {
    let app = |p: &str| format!("{PREFIX}/app/{{app}}/{p}");
    let mut router = Router::new();
    // The outbox holds reset tokens: only where the test hooks serve it.
    if dash.app.test_hooks {
        router = router.route(&app("outbox"), get(outbox::page_handler));
    }
    router
        .route(PREFIX, get(|| async { Redirect::to("/_dashboard/") }))
        .route(&format!("{PREFIX}/"), get(apps::index))
        .route(
            &format!("{PREFIX}/login"),
            get(login::form).post(login::login),
        )
        .route(&format!("{PREFIX}/logout"), post(login::logout))
        .route(&format!("{PREFIX}/static/style.css"), get(layout::css))
        .route(&format!("{PREFIX}/activity"), get(log::page_handler))
        .route(&format!("{PREFIX}/snippets"), get(snippets::page_handler))
        .route(&app("objects"), get(objects::list))
        .route(
            &app("objects/{key}"),
            get(objects::view).post(objects::save),
        )
        .route(
            &app("objects/{key}/delete"),
            get(objects::confirm).post(objects::delete),
        )
        .route(&app("files"), get(files::list))
        .route(&app("files/{key}"), get(files::download))
        .route(&app("users"), get(users::list))
        .route(&app("users/{id}"), get(users::view))
        .route(&app("users/{id}/end-session"), post(users::end_session))
        .route(
            &app("users/{id}/delete"),
            get(users::confirm).post(users::delete),
        )
        .route(&app("social"), get(social::page_handler))
        .route(&app("users/{id}/objects"), get(objects::list))
        .route(
            &app("users/{id}/objects/{key}"),
            get(objects::view).post(objects::save),
        )
        .route(
            &app("users/{id}/objects/{key}/delete"),
            get(objects::confirm).post(objects::delete),
        )
        .route(&app("users/{id}/files"), get(files::list))
        .route(&app("users/{id}/files/{key}"), get(files::download))
        .fallback(layout::not_found)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&dash),
            host::check,
        ))
        .layer(axum::middleware::from_fn(sites::check))
        .layer(axum::middleware::map_response(layout::secure_headers))
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
        .with_state(dash)
}

type Answer = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl<S: App> tower::Service<Request> for Service<S> {
    type Response = Response;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Answer {
        if is_dashboard(request.uri().path()) {
            // A router is always ready.
            let mut pages = self.pages.clone();
            return Box::pin(async move { tower::Service::call(&mut pages, request).await });
        }
        let started = Instant::now();
        let method = request.method().to_string();
        let path = request.uri().path().to_owned();
        let activity = Arc::clone(&self.activity);
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = answer.await?;
            activity.record(
                &method,
                &path,
                response.status().as_u16(),
                started.elapsed(),
            );
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_prefix_and_below_are_the_dashboard() {
        assert!(is_dashboard("/_dashboard"));
        assert!(is_dashboard("/_dashboard/app/a/objects"));
        assert!(!is_dashboard("/_dashboardx"));
        assert!(!is_dashboard("/v1/app/a/text"));
    }
}
