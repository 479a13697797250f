//! [`Credentials`] and [`NewCredentials`]: who signs in, and what changes.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::secret::Password;

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
    pub(crate) fn to_json(&self, password_field: &str) -> Map<String, Value> {
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

    pub(crate) fn check(&self) -> Result<()> {
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

/// New credentials for [`Users::change_credentials`](crate::Users::change_credentials): any of email,
/// username, password.
#[derive(Debug, Clone, Default)]
pub struct NewCredentials {
    pub(crate) email: Option<String>,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<Password>,
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
