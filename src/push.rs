//! Push notifications: [`Notification`], sent with
//! [`WebService::push`](crate::WebService::push) (`POST [user/]push`).

use reqwest::Method;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::call::Request;
use crate::error::{Error, Result};

/// A push notification (CloudMine's notification object): the message, and
/// whom it goes to. With no channel, users or device ids it goes to **every**
/// user of the app.
///
/// ```no_run
/// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
/// use cloudmine::Notification;
/// let n = Notification::new("Your order shipped")
///     .user_email("ada@example.com")
///     .user_id("4d81718682b64e42a39b6c6606397821")
///     .badge(1)
///     .sound("ding.aiff")
///     .payload(serde_json::json!({"order": 15732}));
/// ws.push(n).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Notification {
    text: String,
    channel: Option<String>,
    users: Vec<Value>,
    device_ids: Vec<String>,
    badge: Option<u32>,
    sound: Option<String>,
    payload: Option<Result<Value>>,
}

impl Notification {
    /// A notification with this message (`text`, required, not blank).
    pub fn new(text: impl Into<String>) -> Self {
        Notification {
            text: text.into(),
            channel: None,
            users: Vec::new(),
            device_ids: Vec::new(),
            badge: None,
            sound: None,
            payload: None,
        }
    }

    /// Sends to the subscribers of this channel (`channel`).
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = Some(channel.into());
        self
    }

    /// Adds a user by id (`users: ["<id>"]`).
    pub fn user_id(mut self, id: impl Into<String>) -> Self {
        self.users.push(Value::String(id.into()));
        self
    }

    /// Adds a user by email (`users: [{"email": …}]`).
    pub fn user_email(self, email: impl Into<String>) -> Self {
        self.user_by("email", email.into())
    }

    /// Adds a user by username (`users: [{"username": …}]`).
    pub fn user_username(self, username: impl Into<String>) -> Self {
        self.user_by("username", username.into())
    }

    fn user_by(mut self, field: &str, value: String) -> Self {
        let mut m = Map::new();
        m.insert(field.to_owned(), Value::String(value));
        self.users.push(Value::Object(m));
        self
    }

    /// Adds a device (`device_ids`).
    pub fn device_id(mut self, id: impl Into<String>) -> Self {
        self.device_ids.push(id.into());
        self
    }

    /// The badge number on the app's icon (`badge`, iOS).
    pub fn badge(mut self, badge: u32) -> Self {
        self.badge = Some(badge);
        self
    }

    /// The sound to play (`sound`, iOS).
    pub fn sound(mut self, sound: impl Into<String>) -> Self {
        self.sound = Some(sound.into());
        self
    }

    /// Extra data for the app (`payload`); must encode to a JSON object.
    pub fn payload(mut self, payload: impl Serialize) -> Self {
        let value = serde_json::to_value(payload)
            .map_err(|e| {
                Error::invalid_argument("payload", format!("cannot be encoded as JSON: {e}"))
            })
            .and_then(|v| match v {
                Value::Object(_) => Ok(v),
                _ => Err(Error::invalid_argument("payload", "must be a JSON object")),
            });
        self.payload = Some(value);
        self
    }

    /// The JSON body, checked: a non-blank text and an object payload.
    pub(crate) fn to_json(&self) -> Result<Value> {
        if self.text.trim().is_empty() {
            return Err(Error::invalid_argument("text", "must not be blank"));
        }
        let mut body = Map::new();
        body.insert("text".into(), Value::from(self.text.as_str()));
        if let Some(c) = &self.channel {
            body.insert("channel".into(), Value::from(c.as_str()));
        }
        if !self.users.is_empty() {
            body.insert("users".into(), Value::Array(self.users.clone()));
        }
        if !self.device_ids.is_empty() {
            body.insert("device_ids".into(), Value::from(self.device_ids.clone()));
        }
        if let Some(b) = self.badge {
            body.insert("badge".into(), Value::from(b));
        }
        if let Some(s) = &self.sound {
            body.insert("sound".into(), Value::from(s.as_str()));
        }
        if let Some(p) = &self.payload {
            body.insert("payload".into(), p.clone()?);
        }
        Ok(Value::Object(body))
    }

    /// The request: `POST push` (at user level when a user is logged in).
    pub(crate) fn request(&self) -> Result<Request> {
        self.to_json()
            .map(|body| Request::new(Method::POST, &["push"]).json(&body))
    }
}
