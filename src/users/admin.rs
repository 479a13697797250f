//! Master-key administration of users by id (the JS SDK's
//! `updateUserMaster`, `replaceUserMaster`, `changePasswordMaster` and
//! `deleteUser` with a master key): [`UserAdmin`].

use reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};

use crate::Response;
use crate::call::{ApiCall, Request, Steps};
use crate::client::Client;
use crate::envelope::{Processed, Processor};
use crate::error::{Error, Result};
use crate::secret::Password;
use crate::session;

/// The master-key calls of the users API, from
/// [`Users::admin`](crate::Users::admin): a user's profile, password or
/// account changed by id, without the user's session.
///
/// These calls, and only these, send the application's master key (as
/// `X-CloudMine-ApiKey`, marked sensitive) instead of the API key; set it
/// on the client with [`WebServiceBuilder::master_key`](crate::WebServiceBuilder::master_key)
/// or for one call with [`CallOptions::master_key`](crate::CallOptions::master_key).
/// Without one, a call fails with [`Error::MasterKeyRequired`] before
/// anything is sent. They never send the client's session token.
///
/// ```no_run
/// # async fn demo(user_id: &str) -> cloudmine::Result<()> {
/// let ws = cloudmine::WebService::builder()
///     .app_id("my-app")
///     .api_key("my-api-key")
///     .master_key("my-master-key")
///     .build()?;
/// let admin = ws.users().admin();
/// admin.update(user_id, serde_json::json!({"plan": "pro"})).await?;
/// admin.change_password(user_id, "a new password").await?;
/// admin.delete(user_id).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Copy)]
pub struct UserAdmin<'a> {
    client: &'a Client,
}

impl std::fmt::Debug for UserAdmin<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserAdmin").finish_non_exhaustive()
    }
}

/// `account/{id}[/…]` at the app root, sent with the master key.
fn by_id(method: Method, id: &str, rest: &[&str]) -> Result<Request> {
    if id.is_empty() {
        return Err(Error::invalid_argument("id", "must not be empty"));
    }
    let mut segments = vec!["account", id];
    segments.extend_from_slice(rest);
    let mut r = Request::new(method, &segments).app_level();
    r.master = true;
    Ok(r)
}

/// A profile as a JSON object.
fn profile_object(profile: impl Serialize) -> Result<Value> {
    let value = serde_json::to_value(profile).map_err(|e| {
        Error::invalid_argument("profile", format!("cannot be encoded as JSON: {e}"))
    })?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(Error::invalid_argument("profile", "must be a JSON object"))
    }
}

/// Deleting a user: when it is the client's own user, its session died
/// with the account, so the client forgets it.
const DELETE_BY_ID: Steps<Response> = Steps {
    before: |_, _| Ok(()),
    after: forget_if_own,
    output: |response, _| Ok(response),
    store: true,
};

fn forget_if_own(client: &Client, processed: &mut Processed) -> Option<Response> {
    let deleted = processed.carry.take();
    let deleted = deleted.as_deref().and_then(Value::as_str);
    let own = client.snapshot().options.user_id.as_deref() == deleted;
    if processed.failure.is_none()
        && own
        && let Err(e) = session::forget(client, false)
    {
        *processed = Processed::from_failure(e);
    }
    None
}

impl<'a> UserAdmin<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        UserAdmin { client }
    }

    /// Merges fields into a user's profile (`POST account/{id}`, the JS
    /// SDK's `updateUserMaster`). The answer is the profile, keyed by id.
    /// Credentials and reserved fields (`__id__`, `email`…) in `profile`
    /// are ignored by the server.
    pub fn update(&self, id: &str, profile: impl Serialize) -> ApiCall {
        let request =
            profile_object(profile).and_then(|p| by_id(Method::POST, id, &[]).map(|r| r.json(&p)));
        ApiCall::new(self.client, request)
    }

    /// Replaces a user's profile fields (`PUT account/{id}`, the JS SDK's
    /// `replaceUserMaster`); credentials stay. The answer is the profile,
    /// keyed by id.
    pub fn replace(&self, id: &str, profile: impl Serialize) -> ApiCall {
        let request =
            profile_object(profile).and_then(|p| by_id(Method::PUT, id, &[]).map(|r| r.json(&p)));
        ApiCall::new(self.client, request)
    }

    /// Sets a user's password without the old one
    /// (`POST account/{id}/password/change` `{"password": …}`, the JS SDK's
    /// `changePasswordMaster`). The server ends the user's sessions.
    pub fn change_password(&self, id: &str, new_password: impl Into<Password>) -> ApiCall {
        let new_password = new_password.into();
        let request = by_id(Method::POST, id, &["password", "change"]).map(|mut r| {
            r.processor = Processor::Basic;
            r.json(&json!({ "password": new_password.secret() }))
        });
        ApiCall::new(self.client, request)
    }

    /// Deletes a user with their data (`DELETE account/{id}`, the JS SDK's
    /// `deleteUser` with a master key). Deleting the client's own user
    /// also forgets its session, as [`Users::delete`](crate::Users::delete) does.
    pub fn delete(&self, id: &str) -> ApiCall {
        let request = by_id(Method::DELETE, id, &[]).map(|mut r| {
            r.processor = Processor::Basic;
            r.carry = Some(Box::new(Value::from(id)));
            r
        });
        ApiCall::with_steps(self.client, request, &DELETE_BY_ID)
    }
}
