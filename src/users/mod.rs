//! The users API: accounts, password logins, profiles (CloudMine's
//! `account/…` endpoints, always at the application root).

mod admin;
mod credentials;
mod steps;
mod verify;

use reqwest::Method;
use serde::Serialize;
use serde_json::{Map, Value, json};

pub use admin::UserAdmin;
pub use credentials::{Credentials, NewCredentials};

use crate::call::{ApiCall, Request};
use crate::client::Client;
use crate::envelope::Processor;
use crate::error::Error;
use crate::paging::Pages;
use crate::secret::Password;
use crate::session::login::Login;

/// The users API, from [`WebService::users`](crate::WebService::users).
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
#[derive(Clone, Copy)]
pub struct Users<'a> {
    client: &'a Client,
}

impl std::fmt::Debug for Users<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Users").finish_non_exhaustive()
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

impl<'a> Users<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Users { client }
    }

    /// The master-key calls on users by id ([`UserAdmin`]): update, replace,
    /// set the password, delete. Only they send the master key.
    pub fn admin(&self) -> UserAdmin<'a> {
        UserAdmin::new(self.client)
    }

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
        ApiCall::new(self.client, request)
    }

    /// Logs in with a password (`POST account/login`). On success the client
    /// keeps the session: later calls work on this user's data. The answer
    /// is a [`Login`]: the session token (the client holds it; the events'
    /// data shows `"[redacted]"`), its expiry and the user's profile.
    ///
    /// The email or username it used is kept next to the user id
    /// ([`Options::email`](crate::Options::email),
    /// [`Options::username`](crate::Options::username)), saved with the
    /// session, and cleared on logout.
    pub fn login(&self, credentials: Credentials) -> ApiCall<Login> {
        let request = credentials.check().map(|()| {
            let mut body = credentials.to_json("password");
            let mut r = basic(Method::POST, &["login"], &Value::Object(body.clone()));
            body.remove("password");
            r.carry = Some(Box::new(Value::Object(body)));
            r
        });
        ApiCall::with_steps(self.client, request, &steps::LOGIN)
    }

    /// Checks credentials without logging in with them (`POST account/login`):
    /// `Ok(true)` when they open an account, `Ok(false)` when the server
    /// refuses them (401). The client's session, its user id and the saved
    /// session stay as they were; the answer's session token is dropped
    /// before any handler sees it (the events' data is `{"valid": true|false}`;
    /// a refusal fires `unauthorized` and `401`, then `success`, not `error`).
    /// Any other failure (transport, 400, 5xx) is an `Err`.
    ///
    /// CloudMine has no check-only endpoint: the server still opens a
    /// session for valid credentials, which this client never uses.
    ///
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// use cloudmine::Credentials;
    /// if ws.users().verify(Credentials::email("ada@example.com", "analytical engine")).await? {
    ///     println!("the password is right");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn verify(&self, credentials: Credentials) -> ApiCall<bool> {
        let request = credentials.check().map(|()| {
            basic(
                Method::POST,
                &["login"],
                &Value::Object(credentials.to_json("password")),
            )
        });
        ApiCall::with_steps(self.client, request, &verify::VERIFY)
    }

    /// Logs out (`POST account/logout`): the server ends the session, and the
    /// client forgets it first, so it is gone locally even if the call fails.
    pub fn logout(&self) -> ApiCall {
        let mut r = account(Method::POST, &["logout"]).app_level();
        r.processor = Processor::Basic;
        ApiCall::with_steps(self.client, Ok(r), &steps::LOGOUT)
    }

    /// The logged-in user's profile (`GET account/me`; 401 without a session).
    pub fn me(&self) -> ApiCall {
        ApiCall::new(self.client, Ok(account(Method::GET, &["me"])))
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
        ApiCall::new(self.client, request)
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
        ApiCall::new(self.client, request)
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
        ApiCall::new(self.client, request)
    }

    /// Deletes the account these credentials open (`DELETE account`), with
    /// its data. A deleted user's session is gone, so the client forgets it.
    pub fn delete(&self, credentials: Credentials) -> ApiCall {
        let request = credentials.check().map(|()| {
            basic(
                Method::DELETE,
                &[],
                &Value::Object(credentials.to_json("password")),
            )
        });
        ApiCall::with_steps(self.client, request, &steps::DELETE_ACCOUNT)
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
        ApiCall::new(self.client, request)
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
        ApiCall::new(self.client, request)
    }

    /// Loads the session saved by an earlier run (see
    /// [`session_store`](crate::WebServiceBuilder::session_store)) and checks
    /// it with `account/me`. The answer is the user's profile. When the
    /// server says the session is no longer valid (401), it is forgotten
    /// here and in the store. Nothing saved: [`Error::NoSession`].
    pub fn restore(&self) -> ApiCall {
        let r = account(Method::GET, &["me"]);
        ApiCall::with_steps(self.client, Ok(r), &steps::RESTORE)
    }

    /// Every user, paged with the `limit`/`skip`/`sort`/`count` options (`GET account`).
    pub fn list(&self) -> ApiCall {
        ApiCall::new(self.client, Ok(account(Method::GET, &[])))
    }

    /// Every user, page by page as a stream (see [`Pages`]).
    ///
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// use futures_util::TryStreamExt;
    /// let mut users = ws.users().list_pages().page_size(100).into_stream();
    /// while let Some((id, profile)) = users.try_next().await? {
    ///     println!("{id}: {profile}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_pages(&self) -> Pages {
        Pages::from_call(self.list())
    }

    /// The users [`search`](Self::search) finds, page by page as a stream
    /// (see [`Pages`]).
    ///
    /// ```no_run
    /// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
    /// use futures_util::TryStreamExt;
    /// let admins: Vec<_> = ws.users().search_pages("[role = \"admin\"]").into_stream().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn search_pages(&self, query: impl Into<String>) -> Pages {
        Pages::from_call(self.search(query))
    }

    /// One user by id (`GET account/{id}`).
    pub fn get(&self, id: &str) -> ApiCall {
        let request = if id.is_empty() {
            Err(Error::invalid_argument("id", "must not be empty"))
        } else {
            Ok(account(Method::GET, &[id]))
        };
        ApiCall::new(self.client, request)
    }

    /// Users matching a CloudMine query (`GET account/search?p=…`).
    pub fn search(&self, query: impl Into<String>) -> ApiCall {
        let query = query.into();
        let request = if query.trim().is_empty() {
            Err(Error::invalid_argument("query", "must not be empty"))
        } else {
            Ok(account(Method::GET, &["search"]).query("p", query))
        };
        ApiCall::new(self.client, request)
    }
}
