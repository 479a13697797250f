//! Login answers, decoded once, in one place: CloudMine's
//! `{session_token, expires, profile}` (password and social logins) and
//! BaasBox's `X-BB-SESSION` (header or `data`) with `data.user.name`.
//! The token leaves the answer here: what handlers and callers see of it
//! says `"[redacted]"`.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::secret::SessionToken;
use crate::session_store::StoredSession;

const REDACTED: &str = "[redacted]";

/// The logged-in user's profile, from a login.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    id: String,
    services: Vec<String>,
    fields: Map<String, Value>,
}

impl Profile {
    /// The user id (`__id__`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The networks linked to this user (`__services__`).
    pub fn services(&self) -> &[String] {
        &self.services
    }

    /// Every profile field, as sent (including `__id__` and `__services__`).
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }
}

/// A completed login (password or social). The session is also set on the
/// client, so later calls work on this user's data.
#[derive(Debug, Clone)]
pub struct Login {
    session_token: SessionToken,
    expires: Option<String>,
    profile: Profile,
    raw: Value,
}

impl Login {
    /// The new session token (redacted in `Debug`).
    pub fn session_token(&self) -> &SessionToken {
        &self.session_token
    }

    /// When the session expires (an HTTP date), if the server said.
    pub fn expires(&self) -> Option<&str> {
        self.expires.as_deref()
    }

    /// The user's profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The answer as JSON, with `session_token` replaced by `"[redacted]"`.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// Decodes CloudMine's login answer: a non-empty `session_token`, and a
    /// `profile` object with its `__id__`; `expires` when sent.
    pub(crate) fn from_cloudmine(mut body: Value) -> Result<Login> {
        let token = body
            .get("session_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::decode("the login answer", "no session_token"))?
            .to_owned();
        let expires = body
            .get("expires")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let fields = body
            .get("profile")
            .and_then(Value::as_object)
            .cloned()
            .ok_or_else(|| Error::decode("the login answer", "no profile object"))?;
        let id = fields
            .get("__id__")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::decode("the login profile", "no __id__"))?
            .to_owned();
        let services = fields
            .get("__services__")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if let Some(slot) = body.get_mut("session_token") {
            *slot = Value::from(REDACTED);
        }
        Ok(Login {
            session_token: SessionToken::new(token),
            expires,
            profile: Profile {
                id,
                services,
                fields,
            },
            raw: body,
        })
    }

    /// The session to keep: token, user id, expiry.
    pub(crate) fn session(&self) -> StoredSession {
        StoredSession {
            session_token: self.session_token.clone(),
            user_id: Some(self.profile.id.clone()),
            expires: self.expires.clone(),
            email: None,
            username: None,
        }
    }
}

/// Decodes BaasBox's login answer: the token from the `X-BB-SESSION` header,
/// else from `data`; the user name from `data.user.name` (kept as the
/// session's user id). Redacts the token in `data`.
pub(crate) fn baasbox_session(header: Option<&str>, data: &mut Value) -> Result<StoredSession> {
    let token = header
        .or_else(|| data.get("X-BB-SESSION").and_then(Value::as_str))
        .filter(|t| !t.is_empty())
        .map(SessionToken::new);
    let username = data
        .pointer("/user/name")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let (Some(session_token), Some(username)) = (token, username) else {
        return Err(Error::decode(
            "the BaasBox login answer",
            "no X-BB-SESSION or user name",
        ));
    };
    if let Some(slot) = data.get_mut("X-BB-SESSION") {
        *slot = Value::from(REDACTED);
    }
    Ok(StoredSession {
        session_token,
        user_id: Some(username),
        expires: None,
        email: None,
        username: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_redacts_the_cloudmine_answer() {
        let login = Login::from_cloudmine(json!({
            "finished": true, "session_token": "tok-secret", "expires": "Fri, 31 Aug 2012 19:08:37 GMT",
            "profile": {"__id__": "u1", "__type__": "user", "__services__": ["github", "google"], "name": "Ada"}
        }))
        .unwrap();
        assert_eq!(login.session_token().secret(), "tok-secret");
        assert_eq!(login.profile().id(), "u1");
        assert_eq!(login.profile().services(), ["github", "google"]);
        assert_eq!(login.raw()["session_token"], "[redacted]");
        assert_eq!(login.session().user_id.as_deref(), Some("u1"));
        assert!(!format!("{login:?}").contains("tok-secret"));
        for bad in [
            json!({"finished": true}),
            json!({"session_token": "", "profile": {"__id__": "u"}}),
            json!({"session_token": "t"}),
            json!({"session_token": "t", "profile": {}}),
        ] {
            assert!(Login::from_cloudmine(bad).unwrap_err().is_decode());
        }
    }

    #[test]
    fn baasbox_token_from_header_or_data() {
        let mut data = json!({"user": {"name": "ada"}, "X-BB-SESSION": "in-data"});
        let s = baasbox_session(Some("in-header"), &mut data).unwrap();
        assert_eq!(s.session_token.secret(), "in-header");
        assert_eq!(s.user_id.as_deref(), Some("ada"));
        assert_eq!(data["X-BB-SESSION"], "[redacted]");
        let mut data = json!({"user": {"name": "ada"}, "X-BB-SESSION": "in-data"});
        let s = baasbox_session(None, &mut data).unwrap();
        assert_eq!(s.session_token.secret(), "in-data");
        let mut no_user = json!({"X-BB-SESSION": "t"});
        assert!(baasbox_session(None, &mut no_user).unwrap_err().is_decode());
    }
}
