//! Whose data an objects or files page shows: an app's own (app level) or
//! one user's (user level). The same page code serves both; the scope
//! gives it the store's user id (`""` for app level), its URLs, its
//! navigation and its titles.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::apps::unknown;
use super::layout::{app_nav, failed, refusal, segment};
use super::session::Session;
use super::shared::{Dash, PREFIX};

/// An app, and the user whose data is shown (`None`: the app's own).
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    /// The application.
    pub app: String,
    /// The user, for user-level data.
    pub user: Option<String>,
}

impl Scope {
    /// The scope of `app`'s own data, or the 404 page of an unknown app
    /// (boxed: a response is large).
    pub(crate) fn app(dash: &Dash, app: String, session: &Session) -> Result<Scope, Box<Response>> {
        match unknown(dash, &app, session) {
            Some(refused) => Err(Box::new(refused)),
            None => Ok(Scope { app, user: None }),
        }
    }

    /// The scope of one user's data; the 404 page of an unknown app or
    /// user.
    pub(crate) async fn user(
        dash: &Dash,
        app: String,
        user: String,
        session: &Session,
    ) -> Result<Scope, Box<Response>> {
        if let Some(refused) = unknown(dash, &app, session) {
            return Err(Box::new(refused));
        }
        match dash.app.store.user_profile(&app, &user).await {
            Ok(Some(_)) => Ok(Scope {
                app,
                user: Some(user),
            }),
            Ok(None) => {
                let message = format!("There is no user {user:?} in {app:?}.");
                Err(Box::new(refusal(
                    StatusCode::NOT_FOUND,
                    "No such user",
                    &message,
                    Some(session),
                )))
            }
            Err(e) => Err(Box::new(failed(&e, session))),
        }
    }

    /// The store's user id: `""` for app-level data.
    pub(crate) fn user_id(&self) -> &str {
        self.user.as_deref().unwrap_or("")
    }

    /// The URL under which this scope's `area` (`objects`, `files`) is.
    pub(crate) fn base(&self, area: &str) -> String {
        let app = format!("{PREFIX}/app/{}", segment(&self.app));
        match &self.user {
            None => format!("{app}/{area}"),
            Some(user) => format!("{app}/users/{}/{area}", segment(user)),
        }
    }

    /// Where the data is, for messages: `"app"` or `user "u" of "app"`.
    pub(crate) fn whose(&self) -> String {
        match &self.user {
            None => format!("{:?}", self.app),
            Some(user) => format!("the data of user {user:?} in {:?}", self.app),
        }
    }

    /// "Objects of APP" or "Objects of user U in APP".
    pub(crate) fn title(&self, what: &str) -> String {
        match &self.user {
            None => format!("{what} of {}", self.app),
            Some(user) => format!("{what} of user {user} in {}", self.app),
        }
    }

    /// The app's navigation, plus the user's own links at user level.
    pub(crate) fn nav(&self) -> Markup {
        html! {
            (app_nav(&self.app))
            @if let Some(user) = &self.user {
                (user_nav(&self.app, user))
            }
        }
    }
}

/// A page's visitor and the [`Scope`] its path names: `{app}`, and `{id}`
/// for one user's data (`…/users/{id}/objects…`). Refused as the pages
/// are: the login redirect without a session (first), then the 404 page
/// of an unknown app or user.
pub(crate) struct InScope(pub Session, pub Scope);

impl FromRequestParts<Arc<Dash>> for InScope {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, dash: &Arc<Dash>) -> Result<Self, Response> {
        let session = Session::from_request_parts(parts, dash).await?;
        let Path(mut params) = Path::<HashMap<String, String>>::from_request_parts(parts, dash)
            .await
            .map_err(IntoResponse::into_response)?;
        let app = params.remove("app").unwrap_or_default();
        let scope = match params.remove("id") {
            None => Scope::app(dash, app, &session),
            Some(user) => Scope::user(dash, app, user, &session).await,
        };
        scope
            .map(|scope| InScope(session, scope))
            .map_err(|refused| *refused)
    }
}

/// The `{key}` of an object's or a file's path (the path's other
/// parameters are [`InScope`]'s).
#[derive(serde::Deserialize)]
pub(crate) struct Key {
    pub key: String,
}

/// The links between one user's pages.
pub(crate) fn user_nav(app: &str, user: &str) -> Markup {
    let base = format!("{PREFIX}/app/{}/users/{}", segment(app), segment(user));
    html! {
        p class="subnav" id="user-nav" {
            a href=(base) { "Profile" }
            a href={ (base) "/objects" } { "Their objects" }
            a href={ (base) "/files" } { "Their files" }
        }
    }
}
