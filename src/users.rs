//! The users API: accounts, password logins, profiles (CloudMine's
//! `account/…` endpoints, always at the application root).

use reqwest::Method;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::call::{ApiCall, Hook, Request};
use crate::envelope::Processor;
use crate::secret::Password;
use crate::{Error, Result, WebService};

/// Who signs in: an email or a username, and a password (redacted in `Debug`).
#[derive(Debug, Clone)]
pub struct Credentials {
    email: Option<String>,
    username: Option<String>,
    password: Password,
}

impl Credentials {
    /// Sign in with an email address.
    pub fn email(email: impl Into<String>, password: impl Into<Password>) -> Self {
        Credentials {
            email: Some(email.into()),
            username: None,
            password: password.into(),
        }
    }

    /// Sign in with a username.
    pub fn username(username: impl Into<String>, password: impl Into<Password>) -> Self {
        Credentials {
            email: None,
            username: Some(username.into()),
            password: password.into(),
        }
    }

    /// Adds a username to email credentials (for accounts that have both).
    pub fn with_username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// `{email?, username?, <password_field>: password}`.
    fn to_json(&self, password_field: &str) -> Map<String, Value> {
        let mut m = Map::new();
        if let Some(e) = &self.email {
            m.insert("email".into(), Value::from(e.as_str()));
        }
        if let Some(u) = &self.username {
            m.insert("username".into(), Value::from(u.as_str()));
        }
        m.insert(password_field.into(), Value::from(self.password.secret()));
        m
    }

    fn check(&self) -> Result<()> {
        if self.email.as_deref().is_none_or(str::is_empty)
            && self.username.as_deref().is_none_or(str::is_empty)
        {
            return Err(Error::invalid_argument(
                "credentials",
                "an email or a username is required",
            ));
        }
        if self.password.secret().is_empty() {
            return Err(Error::invalid_argument(
                "credentials",
                "the password must not be empty",
            ));
        }
        Ok(())
    }
}

/// New credentials for [`Users::change_credentials`]: any of email,
/// username, password.
#[derive(Debug, Clone, Default)]
pub struct NewCredentials {
    email: Option<String>,
    username: Option<String>,
    password: Option<Password>,
}

impl NewCredentials {
    /// Nothing changes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new email address.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// A new username.
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// A new password.
    pub fn password(mut self, password: impl Into<Password>) -> Self {
        self.password = Some(password.into());
        self
    }
}

/// The users API, from [`WebService::users`].
///
/// ```no_run
/// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
/// use cloudmine::Credentials;
/// ws.users().create(Credentials::email("ada@example.com", "analytical engine"), serde_json::json!({"name": "Ada"})).await?;
/// ws.users().login(Credentials::email("ada@example.com", "analytical engine")).await?;
/// let me = ws.users().me().await?;               // the logged-in user's profile
/// ws.objects().set("note", "mine").await?;       // user data from now on
/// ws.users().logout().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Users<'a> {
    ws: &'a WebService,
}

impl WebService {
    /// The users API.
    pub fn users(&self) -> Users<'_> {
        Users { ws: self }
    }
}

fn account(method: Method, segments: &[&str]) -> Request {
    let mut all = vec!["account"];
    all.extend_from_slice(segments);
    Request::new(method, &all)
}

/// An account endpoint whose answer is the data itself, at the app root
/// with no session header.
fn basic(method: Method, segments: &[&str], body: &Value) -> Request {
    let mut r = account(method, segments).app_level().json(body);
    r.processor = Processor::Basic;
    r
}

impl Users<'_> {
    /// Creates a user (`POST account/create`, HTTP 201): credentials and a
    /// profile object (`Value::Null` for none). The answer is the user.
    pub fn create(&self, credentials: Credentials, profile: impl Serialize) -> ApiCall {
        let request = credentials.check().and_then(|()| {
            let profile = serde_json::to_value(profile).map_err(|e| {
                Error::invalid_argument("profile", format!("cannot be encoded as JSON: {e}"))
            })?;
            if !(profile.is_object() || profile.is_null()) {
                return Err(Error::invalid_argument("profile", "must be a JSON object"));
            }
            let body =
                json!({ "credentials": credentials.to_json("password"), "profile": profile });
            Ok(basic(Method::POST, &["create"], &body))
        });
        self.ws.call(request)
    }

    /// Logs in with a password (`POST account/login`). On success the client
    /// keeps the session: later calls work on this user's data. The answer
    /// is `{session_token: "[redacted]", expires, profile}`.
    pub fn login(&self, credentials: Credentials) -> ApiCall {
        let request = credentials.check().map(|()| {
            let mut r = basic(
                Method::POST,
                &["login"],
                &Value::Object(credentials.to_json("password")),
            );
            r.hook = Some(Hook::StoreSession);
            r
        });
        self.ws.call(request)
    }

    /// Logs out (`POST account/logout`): the server ends the session, and the
    /// client forgets it first, so it is gone locally even if the call fails.
    pub fn logout(&self) -> ApiCall {
        let mut r = account(Method::POST, &["logout"]).app_level();
        r.processor = Processor::Basic;
        r.send_session = true;
        r.hook = Some(Hook::ClearSessionFirst);
        self.ws.call(Ok(r))
    }

    /// The logged-in user's profile (`GET account/me`; 401 without a session).
    pub fn me(&self) -> ApiCall {
        self.ws.call(Ok(account(Method::GET, &["me"])))
    }

    /// Merges fields into the logged-in user's profile (`POST account`).
    pub fn update(&self, profile: impl Serialize) -> ApiCall {
        let request = serde_json::to_value(profile)
            .map_err(|e| {
                Error::invalid_argument("profile", format!("cannot be encoded as JSON: {e}"))
            })
            .and_then(|p| match p {
                Value::Object(_) => Ok(account(Method::POST, &[]).json(&p)),
                _ => Err(Error::invalid_argument("profile", "must be a JSON object")),
            });
        self.ws.call(request)
    }

    /// Changes the password (`POST account/password/change`).
    pub fn change_password(
        &self,
        current: Credentials,
        new_password: impl Into<Password>,
    ) -> ApiCall {
        let new_password = new_password.into();
        let request = current.check().map(|()| {
            let mut body = current.to_json("password");
            body.insert(
                "credentials".into(),
                json!({ "password": new_password.secret() }),
            );
            basic(Method::POST, &["password", "change"], &Value::Object(body))
        });
        self.ws.call(request)
    }

    /// Changes email, username and/or password (`POST account/credentials`).
    pub fn change_credentials(&self, current: Credentials, new: NewCredentials) -> ApiCall {
        let request = current.check().and_then(|()| {
            let mut changes = Map::new();
            if let Some(e) = new.email {
                changes.insert("email".into(), Value::from(e));
            }
            if let Some(u) = new.username {
                changes.insert("username".into(), Value::from(u));
            }
            if let Some(p) = new.password {
                changes.insert("password".into(), Value::from(p.secret()));
            }
            if changes.is_empty() {
                return Err(Error::invalid_argument("new", "nothing to change"));
            }
            let mut body = current.to_json("password");
            body.insert("credentials".into(), Value::Object(changes));
            Ok(basic(Method::POST, &["credentials"], &Value::Object(body)))
        });
        self.ws.call(request)
    }

    /// Deletes the account these credentials open (`DELETE account`), with
    /// its data. A deleted user's session is gone, so the client forgets it.
    pub fn delete(&self, credentials: Credentials) -> ApiCall {
        let request = credentials.check().map(|()| {
            let mut r = basic(
                Method::DELETE,
                &[],
                &Value::Object(credentials.to_json("password")),
            );
            r.hook = Some(Hook::ClearSessionOnSuccess);
            r
        });
        self.ws.call(request)
    }

    /// Asks for a password-reset mail (`POST account/password/reset`). The
    /// answer is the same whether or not the address is known.
    pub fn reset_password(&self, email: impl Into<String>) -> ApiCall {
        let email = email.into();
        let request = if email.trim().is_empty() {
            Err(Error::invalid_argument("email", "must not be empty"))
        } else {
            Ok(basic(
                Method::POST,
                &["password", "reset"],
                &json!({ "email": email }),
            ))
        };
        self.ws.call(request)
    }

    /// Sets a new password with the token from the reset mail
    /// (`POST account/password/reset/{token}`); nobody is logged in after it.
    pub fn confirm_reset(
        &self,
        token: impl Into<String>,
        new_password: impl Into<Password>,
    ) -> ApiCall {
        let token = token.into();
        let new_password = new_password.into();
        let request = if token.is_empty() {
            Err(Error::invalid_argument("token", "must not be empty"))
        } else {
            Ok(basic(
                Method::POST,
                &["password", "reset", &token],
                &json!({ "password": new_password.secret() }),
            ))
        };
        self.ws.call(request)
    }

    /// Loads the session saved by an earlier run (see
    /// [`session_store`](crate::WebServiceBuilder::session_store)) and checks
    /// it with `account/me`. The answer is the user's profile. When the
    /// server says the session is no longer valid (401), it is forgotten
    /// here and in the store. Nothing saved: [`Error::NoSession`].
    pub fn restore(&self) -> ApiCall {
        let mut r = account(Method::GET, &["me"]);
        r.hook = Some(Hook::Restore);
        self.ws.call(Ok(r))
    }

    /// Every user, paged with the `limit`/`skip`/`sort`/`count` options (`GET account`).
    pub fn list(&self) -> ApiCall {
        self.ws.call(Ok(account(Method::GET, &[])))
    }

    /// One user by id (`GET account/{id}`).
    pub fn get(&self, id: &str) -> ApiCall {
        let request = if id.is_empty() {
            Err(Error::invalid_argument("id", "must not be empty"))
        } else {
            Ok(account(Method::GET, &[id]))
        };
        self.ws.call(request)
    }

    /// Users matching a CloudMine query (`GET account/search?p=…`).
    pub fn search(&self, query: impl Into<String>) -> ApiCall {
        let query = query.into();
        let request = if query.trim().is_empty() {
            Err(Error::invalid_argument("query", "must not be empty"))
        } else {
            Ok(account(Method::GET, &["search"]).query("p", query))
        };
        self.ws.call(request)
    }
}
