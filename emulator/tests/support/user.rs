//! A user of an app with a session: signed up and logged in through the
//! real `account/create` and `account/login`, or seeded through the
//! emulator's own hooks; and the user-level calls made with its session.

use std::time::Duration;

use cloudmine_emulator::Emulator;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{App, json_of};

/// The password [`User::sign_up`] gives a user.
pub const PASSWORD: &str = "pw";

/// How long a seeded user's session lasts.
pub const SEEDED_SESSION: Duration = Duration::from_secs(600);

/// A logged-in user of an app: its id and session token.
pub struct User {
    pub app: App,
    pub id: String,
    pub token: String,
}

impl User {
    /// Signs up `email` with [`PASSWORD`] and no profile, then logs in.
    pub async fn sign_up(emu: &Emulator, app: App, email: &str) -> User {
        User::sign_up_with(emu, app, email, PASSWORD, None).await
    }

    /// Signs up `email` with `password` and an optional `profile`, then
    /// logs in; both calls must succeed.
    pub async fn sign_up_with(
        emu: &Emulator,
        app: App,
        email: &str,
        password: &str,
        profile: Option<Value>,
    ) -> User {
        let mut body = json!({"credentials": {"email": email, "password": password}});
        if let Some(profile) = profile {
            body["profile"] = profile;
        }
        let (s, created) = app
            .call(emu, Method::POST, "account/create", Some(&body.to_string()))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        User {
            app,
            id: created["__id__"].as_str().unwrap().to_owned(),
            token: login_ok(emu, app, email, password).await,
        }
    }

    /// A user and a [`SEEDED_SESSION`] made by the emulator's hooks
    /// (`create_user`, `create_session`), without the account API.
    pub async fn seeded(emu: &Emulator, app: App, email: &str) -> User {
        let id = emu.create_user(app.0, email).await.unwrap();
        let token = emu
            .create_session(app.0, &id, SEEDED_SESSION)
            .await
            .unwrap();
        User { app, id, token }
    }

    /// A user-level call (`/user/{path}`) with the session and an optional
    /// JSON body.
    pub async fn call(
        &self,
        emu: &Emulator,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .app
            .request(emu, method, &format!("user/{path}"))
            .header("x-cloudmine-sessiontoken", &self.token);
        if let Some(body) = body {
            req = req.body(body.to_string());
        }
        json_of(req.send().await.unwrap()).await
    }
}

/// `account/login`'s status and body.
pub async fn login_answer(
    emu: &Emulator,
    app: App,
    email: &str,
    password: &str,
) -> (StatusCode, Value) {
    let body = json!({"email": email, "password": password}).to_string();
    app.call(emu, Method::POST, "account/login", Some(&body))
        .await
}

/// Logs in; the session token, or `None` when the login is refused.
pub async fn login(emu: &Emulator, app: App, email: &str, password: &str) -> Option<String> {
    let (status, body) = login_answer(emu, app, email, password).await;
    (status == StatusCode::OK).then(|| body["session_token"].as_str().unwrap().to_owned())
}

/// Logs in, which must succeed; the session token.
pub async fn login_ok(emu: &Emulator, app: App, email: &str, password: &str) -> String {
    let (status, body) = login_answer(emu, app, email, password).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["session_token"].as_str().unwrap().to_owned()
}

/// The status of `account/me` with session `token`.
pub async fn me(emu: &Emulator, app: App, token: &str) -> StatusCode {
    app.request(emu, Method::GET, "account/me")
        .header("x-cloudmine-sessiontoken", token)
        .send()
        .await
        .unwrap()
        .status()
}
