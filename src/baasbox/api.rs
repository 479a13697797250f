//! The BaasBox endpoints: password and token logins, signup, logout, the
//! user, and the linked social networks.

use reqwest::Method;
use serde_json::{Value, json};

use super::call::{BbCall, BbRequest, SessionStep};
use super::client::BaasBox;
use super::model::{BbUser, SocialAccount};
use crate::error::{Error, Result};
use crate::secret::{OAuthSecret, OAuthToken, Password};

pub(crate) fn check_network(network: &str) -> Result<String> {
    let network = network.trim().to_ascii_lowercase();
    if network.is_empty()
        || !network
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(Error::invalid_argument(
            "network",
            format!("{network:?} is not a network name"),
        ));
    }
    Ok(network)
}

fn token_body(token: &OAuthToken, secret: &OAuthSecret) -> Result<Value> {
    if token.secret().is_empty() || secret.secret().is_empty() {
        return Err(Error::invalid_argument(
            "oauth_token",
            "the token and the secret must not be empty (OAuth 2: pass the access token as both)",
        ));
    }
    Ok(json!({ "oauth_token": token.secret(), "oauth_secret": secret.secret() }))
}

impl BaasBox {
    fn call<T>(&self, request: Result<BbRequest>, decode: fn(&Value) -> Result<T>) -> BbCall<T> {
        BbCall::new(self, request, decode)
    }

    /// A login-like request: user name and password (plus `extra` fields)
    /// to `path`, keeping the session from the answer.
    fn credentials(
        &self,
        path: &str,
        username: &str,
        password: Password,
        extra: &[(&str, &str)],
    ) -> BbCall<BbUser> {
        let request = if username.is_empty() || password.secret().is_empty() {
            Err(Error::invalid_argument(
                "credentials",
                "the user name and password must not be empty",
            ))
        } else {
            let mut body = json!({ "username": username, "password": password.secret() });
            for (name, value) in extra {
                body[*name] = Value::from(*value);
            }
            let mut r = BbRequest::new(Method::POST, &[path]);
            r.body = Some(body);
            r.step = SessionStep::Adopt;
            Ok(r)
        };
        self.call(request, BbUser::from_data)
    }

    /// Logs in with a user name and password (`POST /login`) and keeps the
    /// session.
    pub fn login(&self, username: &str, password: impl Into<Password>) -> BbCall<BbUser> {
        let app_code = self.app_code().to_owned();
        self.credentials(
            "login",
            username,
            password.into(),
            &[("appcode", &app_code)],
        )
    }

    /// Creates a user with a password (`POST /user`) and keeps its session.
    pub fn signup(&self, username: &str, password: impl Into<Password>) -> BbCall<BbUser> {
        self.credentials("user", username, password.into(), &[])
    }

    /// Logs out (`POST /logout`): the session is forgotten locally and in
    /// the store first, so it is gone even when the server call fails.
    pub fn logout(&self) -> BbCall<()> {
        let mut r = BbRequest::new(Method::POST, &["logout"]).with_session();
        r.step = SessionStep::ForgetFirst;
        self.call(Ok(r), |_| Ok(()))
    }

    /// The logged-in user (`GET /me`).
    pub fn me(&self) -> BbCall<BbUser> {
        let r = BbRequest::new(Method::GET, &["me"]).with_session();
        self.call(Ok(r), BbUser::from_data)
    }

    /// Loads the saved session and checks it with `GET /me`; a session the
    /// server no longer knows (401) is forgotten, locally and in the store.
    pub fn restore(&self) -> BbCall<BbUser> {
        let mut r = BbRequest::new(Method::GET, &["me"]).with_session();
        r.step = SessionStep::Restore;
        self.call(Ok(r), BbUser::from_data)
    }

    /// The networks linked to the logged-in user (`GET /social`). Nothing
    /// linked (BaasBox's 404) is an empty list.
    pub fn social_logins(&self) -> BbCall<Vec<SocialAccount>> {
        let mut r = BbRequest::new(Method::GET, &["social"]).with_session();
        r.empty_on_404 = true;
        self.call(Ok(r), SocialAccount::list_from)
    }

    /// Logs in with a token from a social network (`POST /social/{network}`);
    /// the first time creates a user with a generated name. For OAuth 2
    /// networks pass the access token as both `token` and `secret`.
    pub fn login_with_token(
        &self,
        network: &str,
        token: impl Into<OAuthToken>,
        secret: impl Into<OAuthSecret>,
    ) -> BbCall<BbUser> {
        let (token, secret) = (token.into(), secret.into());
        let request = check_network(network).and_then(|network| {
            let mut r = BbRequest::new(Method::POST, &["social", &network]);
            r.body = Some(token_body(&token, &secret)?);
            r.step = SessionStep::Adopt;
            Ok(r)
        });
        self.call(request, BbUser::from_data)
    }

    /// Links a network to the logged-in user (`PUT /social/{network}`). An
    /// identity that belongs to another user is a 409.
    pub fn link(
        &self,
        network: &str,
        token: impl Into<OAuthToken>,
        secret: impl Into<OAuthSecret>,
    ) -> BbCall<()> {
        let (token, secret) = (token.into(), secret.into());
        let request = check_network(network).and_then(|network| {
            let mut r = BbRequest::new(Method::PUT, &["social", &network]).with_session();
            r.body = Some(token_body(&token, &secret)?);
            Ok(r)
        });
        self.call(request, |_| Ok(()))
    }

    /// Unlinks a network (`DELETE /social/{network}`): 404 when it is not
    /// linked, 409 when it is the user's only way to log in.
    pub fn unlink(&self, network: &str) -> BbCall<()> {
        let request = check_network(network)
            .map(|network| BbRequest::new(Method::DELETE, &["social", &network]).with_session());
        self.call(request, |_| Ok(()))
    }
}
